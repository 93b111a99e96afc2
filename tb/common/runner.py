"""pytest-side helpers: named configurations, one build per (simulator, DUT, config), run cocotb.

Every pytest runner in tb/ goes through :func:`run_cocotb`, so the toolchain quirks
(tb.toolchain), build-folder naming (xdist-safe), waves, coverage files, seeds and the
"zero tests ran" check live in one place.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import random
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.etree import ElementTree

from cocotb_tools.check_results import get_results
from cocotb_tools.runner import Runner, Verilator, get_runner

from golden.config import CONFIG_FILE, read_config_table
from tb.ipcore import CORE
from tb.settings import check_configs, check_sim, check_waves
from tb.toolchain import ROOT, apply_simulator_env, sim_build_root

RTL_DIR = ROOT / "rtl"
# Every module of the core, in dependency order (the package first: Icarus needs it compiled
# before any module imports it). Their one home is rtl/flexcim.core (tb.ipcore).
CORE_MODULES = CORE.modules("default")


def current_sim() -> str:
    """Simulator chosen by the SIM environment variable (default verilator), checked."""
    return check_sim(os.environ.get("SIM", "verilator"))


def load_configs(path: Path = CONFIG_FILE) -> dict[str, dict[str, int]]:
    """Named RTL configurations from configs/flexcim.yaml (each checked, golden.config)."""
    return read_config_table(path)


def rtl_dir() -> Path:
    """The RTL folder: rtl/, or FLEXCIM_RTL_DIR (tb.mutation points it at a mutated copy)."""
    return Path(os.environ.get("FLEXCIM_RTL_DIR", str(RTL_DIR)))


def _existing(paths: list[Path]) -> list[Path]:
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise FileNotFoundError(f"RTL sources missing: {', '.join(missing)}")
    return paths


def rtl_sources(*modules: str) -> list[Path]:
    """Paths of <rtl_dir>/<module>.sv for the given module names, checked to exist."""
    return _existing([rtl_dir() / f"{module}.sv" for module in modules])


class PortsOnlyVerilator(Verilator):
    """cocotb's Verilator runner without its blanket ``--public-flat-rw``.

    cocotb 2.1's runner adds ``--public-flat-rw`` to every build, which keeps every signal of
    every module visible (and unoptimised): the paper-size core ran ~4x slower through cocotb
    and ~19x slower in a plain C++ loop. What VPI may see comes from the control file that
    :func:`run_cocotb` writes instead (:func:`public_control_file`).
    """

    def _build_command(self) -> list[list[str]]:
        commands = super()._build_command()
        commands[0] = [arg for arg in commands[0] if arg != "--public-flat-rw"]
        return commands


class PortParseError(ValueError):
    """A module header could not be read as an ANSI port list."""


def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", "", text, flags=re.S))


def _balanced(text: str, start: int) -> tuple[str, int]:
    """The text inside the parenthesis opened at ``text[start]`` and the index after it."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return text[start + 1 : i], i + 1
    raise PortParseError("unbalanced parentheses")


def module_ports(source: Path, module: str) -> list[str]:
    """Port names of ``module`` in ``source`` (ANSI header, the RTL convention)."""
    text = _strip_comments(Path(source).read_text())
    head = re.search(rf"\bmodule\s+{re.escape(module)}\b", text)
    if head is None:
        raise PortParseError(f"module {module} not found in {source}")
    pos = head.end()
    rest = text[pos:].lstrip()
    pos = len(text) - len(rest)
    if rest.startswith("#"):
        pos = text.index("(", pos)
        _, pos = _balanced(text, pos)
        pos = text.index("(", pos)
    elif rest.startswith("("):
        pos = text.index("(", pos)
    else:
        return []  # no port list
    body, _ = _balanced(text, pos)
    ports, depth, item = [], 0, ""
    for char in body + ",":
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            names = re.findall(r"[A-Za-z_]\w*", re.sub(r"\[[^\]]*\]", "", item))
            if not names:
                raise PortParseError(f"{module} in {source}: cannot read port {item.strip()!r}")
            ports.append(names[-1])
            item = ""
        else:
            item += char
    return ports


# Internal signals cocotb reads, by the module that holds them: any build whose sources include
# the module makes them VPI-visible (tb.common.assertions reads the RTL checker's log).
READ_INSIDE: dict[str, tuple[str, ...]] = {"flexcim_core_assert": ("fail_count", "first_fail")}


def public_control_file(
    toplevel: str, sources: Sequence[Path], public: Sequence[tuple[str, str]] = ()
) -> str:
    """Verilator control file making the top level's ports (and ``public``) VPI-visible.

    ``public`` names internal signals a test reads as (module, signal) pairs; every other
    signal stays private so Verilator optimises it as it would without cocotb.
    """
    top = [path for path in sources if path.stem == toplevel]
    if len(top) != 1:
        raise PortParseError(f"expected one source named {toplevel}.sv, got {top}")
    lines = ["`verilator_config"]
    lines += [
        f'public_flat_rw -module "{toplevel}" -var "{port}"'
        for port in module_ports(top[0], toplevel)
    ]
    inside = [
        (m, v)
        for path in sources
        for m, names in READ_INSIDE.items()
        if path.stem == m
        for v in names
    ]
    lines += [
        f'public_flat_rw -module "{module}" -var "{var}"' for module, var in [*inside, *public]
    ]
    return "\n".join(lines) + "\n"


def failure_report(results_xml: Path) -> str:
    """The failed cocotb tests of a results file with their first message lines."""
    try:
        root = ElementTree.parse(results_xml).getroot()
    except (OSError, ElementTree.ParseError) as err:
        return f"the simulator stopped without results ({results_xml}: {err})"
    failures = []
    for case in root.iter("testcase"):
        for child in case:
            if child.tag in ("failure", "error"):
                text = (child.get("message") or child.text or "").strip().splitlines()
                failures.append(f"{case.get('name')}: {text[0] if text else child.tag}")
    return "; ".join(failures) or "the simulator failed after its tests passed"


def verilator_build_args(coverage: bool = False) -> list[str]:
    """Verilator options of every build (cocotb runs and bench.ceiling's C++ driver)."""
    args = ["-Wall", "--assert", "-Wno-fatal", "-O2", "--x-assign", "unique"]
    # Split the generated C++ into small functions/files: unsplit, the paper-size core
    # made one cc1plus take >11 GB and get OOM-killed next to other builds.
    args += ["--output-split", "20000", "--output-split-cfuncs", "2000"]
    if coverage:
        # --coverage-user counts the RTL checker's cover points (one per assertion trigger).
        args += ["--coverage-line", "--coverage-toggle", "--coverage-user"]
    return args


def _runner(sim: str) -> Runner:
    return PortsOnlyVerilator() if sim == "verilator" else get_runner(sim)


def selected_configs(available: Sequence[str]) -> list[str]:
    """The configurations to run: CONFIG=a,b (`make sim CONFIG=tiny`) or CORE_CONFIGS=a,b,
    kept in the order of `available`; unset means all of them. Unknown names raise
    tb.settings.SettingError."""
    var = "CONFIG" if os.environ.get("CONFIG") else "CORE_CONFIGS"
    names = check_configs(os.environ.get(var, ""), var)
    return [c for c in available if not names or c in names]


def stimulus_env() -> dict[str, str]:
    """STIMULUS=<path> made absolute: the simulator runs in the build folder, not here."""
    given = os.environ.get("STIMULUS")
    if not given:
        return {}
    path = Path(given).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"STIMULUS={given}: no such file ({path})")
    return {"STIMULUS": str(path)}


def core_sources(target: str = "default") -> list[Path]:
    """The core's RTL files under rtl_dir(), in order: rtl/flexcim.core's ``target``
    (default: everything a simulation needs; synth: the synthesizable files)."""
    return _existing([rtl_dir() / path for path in CORE.files(target)])


def print_seed(seed: int | None = None) -> int:
    """`seed`, else COCOTB_RANDOM_SEED (SEED=... make sim), else a fresh one; always printed."""
    if seed is None:
        seed = int(os.environ.get("COCOTB_RANDOM_SEED") or random.SystemRandom().getrandbits(31))
    print(f"COCOTB_RANDOM_SEED={seed}")
    return seed


def build_dir_for(sim: str, toplevel: str, tag: str) -> Path:
    """Unique build folder per simulator x DUT x configuration (safe under pytest-xdist)."""
    return sim_build_root() / sim / f"{toplevel}-{tag}"


def _build_digest(
    sim: str,
    toplevel: str,
    sources: Sequence[Path],
    includes: Sequence[Path],
    parameters: Mapping[str, int],
    build_args: Sequence[str],
    waves: bool,
) -> str:
    """Hash of everything that shapes a simulator build: sources, headers, options, tool."""
    digest = hashlib.sha256()
    tool = shutil.which(sim if sim == "verilator" else "iverilog") or sim
    head = [sim, toplevel, tool, str(sorted(parameters.items())), *build_args, str(waves)]
    digest.update("\0".join(head).encode())
    headers = [path for folder in includes for path in sorted(Path(folder).glob("*.sv*"))]
    for path in [*sources, *headers]:
        digest.update(str(path).encode())
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def run_cocotb(
    *,
    toplevel: str,
    sources: Sequence[Path],
    test_module: str,
    parameters: Mapping[str, int],
    tag: str,
    sim: str | None = None,
    testcase: str | Sequence[str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    coverage: bool = False,
    seed: int | None = None,
    results_name: str | None = None,
    includes: Sequence[Path] | None = None,
    public: Sequence[tuple[str, str]] = (),
    run_dir: Path | None = None,
    toggle_max_width: int | None = None,
) -> int:
    """Build (incrementally) and run ``test_module`` on ``toplevel``; return the tests run.

    Raises AssertionError when a cocotb test failed or when no test ran at all.
    ``coverage=True`` builds Verilator with line+toggle coverage and writes
    ``<build_dir>/coverage_<results_name>.dat``. ``includes`` are `include search folders.
    Verilator builds make only the top level's ports visible to cocotb, plus the internal
    signals named in ``public`` as (module, signal) pairs (see :class:`PortsOnlyVerilator`).
    ``run_dir`` is the simulator's working folder (default: a fresh folder beside the build,
    removed after a passing run) and holds the run's results XML; runs with their own
    ``run_dir`` share one build in parallel (with coverage, also their own ``results_name``).
    ``toggle_max_width`` raises Verilator's limit (256 bits) on the signals toggle coverage
    counts (silicon.gatesim needs every bit of a core's widest stream port).
    """
    sim = sim or current_sim()
    apply_simulator_env(sim)
    waves = check_waves(os.environ.get("WAVES", "0"))
    build_tag = f"{tag}-cov" if coverage else tag
    build_dir = build_dir_for(sim, toplevel, build_tag)
    build_args = verilator_build_args(coverage) if sim == "verilator" else ["-g2012"]
    if coverage and toggle_max_width is not None and sim == "verilator":
        build_args += ["--coverage-max-width", str(toggle_max_width)]
    # Another process (a second `make sim`, xdist workers, tb.replay's workers) may use the
    # same build folder. Runs share it under a shared lock; a build takes the lock exclusively
    # (it waits for every run to finish), or one process's make deletes the precompiled
    # header / executable another is using.
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    with (build_dir.parent / f"{build_dir.name}.lock").open("w") as lock:
        runner = _runner(sim)
        stamp = build_dir / ".build-stamp"
        sources = list(sources)
        control = build_dir / "public.vlt"
        text = ""
        if sim == "verilator":
            # Control files first: Verilator applies them to the files read after them.
            text = public_control_file(toplevel, sources, public)
            sources.insert(0, control)

        def fresh() -> bool:
            # cocotb's Verilator runner re-translates and re-makes on every call; skip it when
            # nothing that shapes the model changed (Icarus' runner has its own mtime check).
            return (
                sim == "verilator"
                and (build_dir / toplevel).is_file()
                and control.is_file()
                and control.read_text() == text
                and stamp.is_file()
                and stamp.read_text()
                == _build_digest(
                    sim, toplevel, sources, includes or [], parameters, build_args, waves
                )
            )

        fcntl.flock(lock, fcntl.LOCK_SH)
        if not fresh():
            fcntl.flock(lock, fcntl.LOCK_EX)  # not atomic: check again once exclusive
            if not fresh():
                if sim == "verilator":
                    build_dir.mkdir(parents=True, exist_ok=True)
                    control.write_text(text)
                digest = _build_digest(
                    sim, toplevel, sources, includes or [], parameters, build_args, waves
                )
                # The stamp goes before a build and comes back after it: a build that was
                # interrupted (or failed) is never trusted. Icarus' runner trusts any sim.vvp
                # newer than the sources, so without a stamp it must rebuild from scratch.
                built = stamp.is_file() and stamp.read_text() == digest
                stamp.unlink(missing_ok=True)
                runner.build(
                    sources=sources,
                    includes=list(includes or []),
                    hdl_toplevel=toplevel,
                    parameters=dict(parameters),
                    build_dir=build_dir,
                    build_args=build_args,
                    timescale=("1ns", "1ps"),
                    waves=waves,
                    always=sim != "verilator" and not built,
                )
                stamp.write_text(digest)
            fcntl.flock(lock, fcntl.LOCK_SH)
        name = results_name or build_tag
        # A working folder of the run's own: runs share the build, and a run's files (the fast
        # path's $readmemh/$writememh hex files, waves) must not meet another run's.
        own_dir = run_dir is None
        if own_dir:
            runs = build_dir.parent / f"{build_dir.name}-runs"
            runs.mkdir(parents=True, exist_ok=True)
            test_dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=runs))
        else:
            test_dir = run_dir
        test_dir.mkdir(parents=True, exist_ok=True)
        env = {f"PARAM_{name}": str(value) for name, value in parameters.items()}
        env.update(extra_env or {})
        plusargs: list[str] = []
        if coverage and sim == "verilator":
            plusargs.append(f"+verilator+coverage+file+{build_dir / f'coverage_{name}.dat'}")
        # The results file lives in the run's own folder: two processes (xdist workers running
        # tb.replay) can give their runs the same results name on one shared build.
        results_xml = test_dir / f"{name}.result.xml"
        try:
            results = runner.test(
                test_module=test_module,
                hdl_toplevel=toplevel,
                hdl_toplevel_lang="verilog",  # build() may have been skipped: say it explicitly
                build_dir=build_dir,
                test_dir=test_dir,
                testcase=testcase,
                extra_env=env,
                plusargs=plusargs,
                waves=waves,
                seed=seed,
                results_xml=str(results_xml),
            )
        except SystemExit as stop:
            # cocotb's runner exits under pytest when a test failed: report which and why.
            raise AssertionError(
                f"{test_module} on {toplevel}: {failure_report(results_xml)} (seed {seed}; "
                f"log above; run folder {test_dir})"
            ) from stop
        n_tests, n_failed = get_results(results)
        report = failure_report(Path(results)) if n_failed else ""
        if own_dir and not waves:
            shutil.rmtree(test_dir, ignore_errors=True)
    assert n_tests > 0, f"{test_module} on {toplevel}: no cocotb test ran"
    assert n_failed == 0, (
        f"{test_module} on {toplevel}: {n_failed} of {n_tests} tests failed: {report}"
    )
    return n_tests

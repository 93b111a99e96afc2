"""pytest-side helpers: named configurations, one build per (simulator, DUT, config), run cocotb.

Every pytest runner in tb/ goes through :func:`run_cocotb`, so the toolchain quirks
(tb.toolchain), build-folder naming (xdist-safe), waves, coverage files, seeds and the
"zero tests ran" check live in one place.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml
from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

from tb.toolchain import apply_simulator_env

ROOT = Path(__file__).resolve().parents[2]
RTL_DIR = ROOT / "rtl"
CONFIG_FILE = ROOT / "configs" / "flexcim.yaml"
# Every module of the core, in dependency order (lint, smoke tests and builds share it;
# the package comes first: Icarus needs it compiled before any module imports it).
CORE_MODULES = (
    "flexcim_pkg",
    "flexcim_cell",
    "flexcim_adder_tree",
    "flexcim_submacro",
    "flexcim_distribution",
    "flexcim_merge",
    "flexcim_ctrl",
    "flexcim_axil",
    "flexcim_core_assert",
    "flexcim_core",
)


def current_sim() -> str:
    """Simulator chosen by the SIM environment variable (default verilator)."""
    return os.environ.get("SIM", "verilator")


def load_configs(path: Path = CONFIG_FILE) -> dict[str, dict[str, int]]:
    """Named RTL configurations from configs/flexcim.yaml."""
    with path.open() as handle:
        data = yaml.safe_load(handle)
    return {
        name: {key: int(value) for key, value in params.items()} for name, params in data.items()
    }


def rtl_dir() -> Path:
    """The RTL folder: rtl/, or FLEXCIM_RTL_DIR (tb.mutation points it at a mutated copy)."""
    return Path(os.environ.get("FLEXCIM_RTL_DIR", str(RTL_DIR)))


def sim_build_root() -> Path:
    """Root of the build folders: sim_build/, or FLEXCIM_SIM_BUILD (mutants build apart)."""
    return Path(os.environ.get("FLEXCIM_SIM_BUILD", str(ROOT / "sim_build")))


def rtl_sources(*modules: str) -> list[Path]:
    """Paths of <rtl_dir>/<module>.sv for the given module names, checked to exist."""
    paths = [rtl_dir() / f"{module}.sv" for module in modules]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise FileNotFoundError(f"RTL sources missing: {', '.join(missing)}")
    return paths


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
) -> int:
    """Build (incrementally) and run ``test_module`` on ``toplevel``; return the tests run.

    Raises AssertionError when a cocotb test failed or when no test ran at all.
    ``coverage=True`` builds Verilator with line+toggle coverage and writes
    ``<build_dir>/coverage_<results_name>.dat``. ``includes`` are `include search folders.
    """
    sim = sim or current_sim()
    apply_simulator_env(sim)
    waves = os.environ.get("WAVES", "0") == "1"
    build_tag = f"{tag}-cov" if coverage else tag
    build_dir = build_dir_for(sim, toplevel, build_tag)
    build_args: list[str] = []
    if sim == "verilator":
        build_args = ["-Wall", "--assert", "-Wno-fatal", "-O2", "--x-assign", "unique"]
        # Split the generated C++ into small functions/files: unsplit, the paper-size core
        # made one cc1plus take >11 GB and get OOM-killed next to other builds.
        build_args += ["--output-split", "20000", "--output-split-cfuncs", "2000"]
        if coverage:
            # --coverage-user counts the RTL checker's cover points (one per assertion trigger).
            build_args += ["--coverage-line", "--coverage-toggle", "--coverage-user"]
    else:
        build_args = ["-g2012"]
    # Another pytest process (a second `make sim`, xdist workers of another session) may use
    # the same build folder: hold an exclusive lock over build + run, or one process's make
    # deletes the precompiled header / executable the other is using.
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    with (build_dir.parent / f"{build_dir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        runner = get_runner(sim)
        stamp = build_dir / ".build-stamp"
        digest = _build_digest(
            sim, toplevel, sources, includes or [], parameters, build_args, waves
        )
        # cocotb's Verilator runner re-translates and re-makes on every call; skip it when
        # nothing that shapes the model changed (Icarus' runner has its own mtime check).
        fresh = (
            sim == "verilator"
            and (build_dir / toplevel).is_file()
            and stamp.is_file()
            and stamp.read_text() == digest
        )
        if not fresh:
            stamp.unlink(missing_ok=True)
            runner.build(
                sources=list(sources),
                includes=list(includes or []),
                hdl_toplevel=toplevel,
                parameters=dict(parameters),
                build_dir=build_dir,
                build_args=build_args,
                timescale=("1ns", "1ps"),
                waves=waves,
            )
            stamp.write_text(digest)
        env = {f"PARAM_{name}": str(value) for name, value in parameters.items()}
        env.update(extra_env or {})
        name = results_name or build_tag
        plusargs: list[str] = []
        if coverage and sim == "verilator":
            plusargs.append(f"+verilator+coverage+file+{build_dir / f'coverage_{name}.dat'}")
        results = runner.test(
            test_module=test_module,
            hdl_toplevel=toplevel,
            hdl_toplevel_lang="verilog",  # build() may have been skipped: say it explicitly
            build_dir=build_dir,
            test_dir=build_dir,
            testcase=testcase,
            extra_env=env,
            plusargs=plusargs,
            waves=waves,
            seed=seed,
            results_xml=str(build_dir / f"{name}.result.xml"),
        )
    n_tests, n_failed = get_results(results)
    assert n_tests > 0, f"{test_module} on {toplevel}: no cocotb test ran"
    assert n_failed == 0, f"{test_module} on {toplevel}: {n_failed} of {n_tests} tests failed"
    return n_tests

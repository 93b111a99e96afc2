"""`make lint-rtl`: Verilator ``--lint-only -Wall`` and Icarus ``-g2012`` on every rtl/ module.

Each module is linted as its own top level, with only the files it needs plus
``rtl/lint/verilator.vlt``, once per named configuration in ``configs/flexcim.yaml``
(parameters passed with ``-G`` / ``-P``). The whole core is linted with rtl/flexcim.core's
lint target: its files, waiver file and parameter names. Any warning or error fails: the exit
code is non-zero and the tool messages are printed. Run ``python -m tb.lint --help`` for options.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from golden.cli import OneLineParser, checked_configs
from golden.config import HwConfig
from tb.common.runner import RTL_DIR, load_configs
from tb.ipcore import CORE
from tb.toolchain import SIMULATORS, simulator_env

# The waiver file and the core's sources and parameters: rtl/flexcim.core's lint target.
(WAIVERS,) = (RTL_DIR / path for path in CORE.files("lint", "vlt", tool="verilator"))
TOP = CORE.toplevel("lint")
# paper_g1_rpb32: G = 1 and RPB = R; then the three baselines (dense, fixed 1:2, fixed 2:4).
LINT_CONFIGS = (
    "default",
    "paper",
    "paper_g1_rpb32",
    "paper_dense",
    "paper_fixed12",
    "paper_fixed24",
)


@dataclass(frozen=True)
class LintTarget:
    """One module linted as top: the files it needs and its parameters per configuration."""

    top: str
    deps: tuple[str, ...]
    params: Callable[[dict[str, int]], dict[str, int]]

    def sources(self) -> list[Path]:
        return [RTL_DIR / f"{name}.sv" for name in (*self.deps, self.top)]


def _pick(*names: str) -> Callable[[dict[str, int]], dict[str, int]]:
    return lambda cfg: {name: cfg[name] for name in names}


def _meta(cfg: dict[str, int]) -> int:
    """The cells' META parameter: 0 on the dense DCiM baseline (no metadata bit), else 1."""
    return int(HwConfig(**cfg).has_meta)


TARGETS: tuple[LintTarget, ...] = (
    LintTarget("flexcim_cell", (), lambda cfg: {**_pick("WB", "AB")(cfg), "META": _meta(cfg)}),
    LintTarget(
        "flexcim_adder_tree",
        (),
        lambda cfg: {"N_IN": cfg["R"], "IW": cfg["WB"] + cfg["AB"], "LANES": cfg["C"]},
    ),
    LintTarget("flexcim_distribution", (), _pick("P", "AB", "C", "G", "FIXED_N", "FIXED_M")),
    LintTarget(
        "flexcim_submacro",
        ("flexcim_cell", "flexcim_adder_tree"),
        lambda cfg: {**_pick("R", "C", "WB", "AB", "G")(cfg), "META": _meta(cfg)},
    ),
    LintTarget(
        "flexcim_merge",
        ("flexcim_adder_tree",),
        _pick("P", "R", "C", "WB", "AB", "ACC", "MAX_TOK"),
    ),
    LintTarget(
        "flexcim_ctrl",
        ("flexcim_pkg",),
        _pick("P", "R", "C", "MAX_TOK", "G", "RPB", "FIXED_N", "FIXED_M"),
    ),
    LintTarget("flexcim_axil", (), lambda cfg: {}),
    LintTarget(
        "flexcim_core_assert",
        (),
        lambda cfg: {
            "C": cfg["C"],
            "ACC": cfg["ACC"],
            "W_TDATA": HwConfig(**cfg).W_TDATA,
            "A_TDATA": HwConfig(**cfg).A_TDATA,
        },
    ),
    LintTarget(
        TOP,
        tuple(m for m in CORE.modules("lint") if m != TOP),
        _pick(*CORE.target_parameters("lint")),
    ),
)


def _run(cmd: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = subprocess.run(list(cmd), env=env, cwd=cwd, capture_output=True, text=True, check=False)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def verilator_lint(target: LintTarget, params: dict[str, int], env: dict[str, str]) -> str:
    """Messages of a failing ``verilator --lint-only -Wall`` run, or '' when clean."""
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", target.top, str(WAIVERS)]
    cmd += [f"-G{name}={value}" for name, value in params.items()]
    cmd += [str(path) for path in target.sources()]
    with tempfile.TemporaryDirectory() as tmp:
        code, out = _run(cmd, env, Path(tmp))
    # Verilator prints its run report on stderr even when clean; only %Warning/%Error count.
    bad = [line for line in out.splitlines() if line.startswith(("%Warning", "%Error"))]
    if code != 0 or bad:
        return out
    return ""


def icarus_compile(target: LintTarget, params: dict[str, int], env: dict[str, str]) -> str:
    """Messages of a failing or chatty ``iverilog -g2012`` compile, or '' when clean."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["iverilog", "-g2012", "-Wall", "-o", str(Path(tmp) / "a.vvp"), "-s", target.top]
        cmd += [f"-P{target.top}.{name}={value}" for name, value in params.items()]
        cmd += [str(path) for path in target.sources()]
        code, out = _run(cmd, env, Path(tmp))
        if code == 0 and not out:
            # Elaboration-time checks ($fatal in initial blocks) run at time 0.
            code, out = _run(["vvp", "-n", str(Path(tmp) / "a.vvp")], env, Path(tmp))
            out = "" if code == 0 and "FATAL" not in out and "ERROR" not in out else out
            return "" if code == 0 and not out else out or f"vvp exit {code}"
    return out or f"iverilog exit {code}"


def lint(configs: Sequence[str], tools: Sequence[str]) -> list[str]:
    """Lint every module for every configuration; return one failure report per problem."""
    all_cfgs = load_configs()
    failures: list[str] = []
    ver_env = simulator_env("verilator") if "verilator" in tools else {}
    ica_env = simulator_env("icarus") if "icarus" in tools else {}
    for name in configs:
        cfg = HwConfig(**all_cfgs[name]).params()  # every parameter, G = C filled in
        for target in TARGETS:
            params = target.params(cfg)
            if "verilator" in tools:
                out = verilator_lint(target, params, ver_env)
                if out:
                    failures.append(f"verilator {target.top} [{name}] {params}:\n{out}")
            if "icarus" in tools:
                out = icarus_compile(target, params, ica_env)
                if out:
                    failures.append(f"iverilog {target.top} [{name}] {params}:\n{out}")
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m tb.lint", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", action="append", help=f"named configuration (default: {LINT_CONFIGS})"
    )
    parser.add_argument("--tool", action="append", choices=SIMULATORS, help="default: both")
    args = parser.parse_args(argv)
    configs = checked_configs(args.config or list(LINT_CONFIGS), parser.prog, "--config")
    tools = args.tool or list(SIMULATORS)
    failures = lint(configs, tools)
    for failure in failures:
        print(failure, file=sys.stderr)
    checks = len(configs) * len(TARGETS) * len(tools)
    if failures:
        print(f"lint-rtl: {len(failures)} of {checks} checks failed", file=sys.stderr)
        return 1
    print(f"lint-rtl: {checks} checks clean ({', '.join(tools)}; configs {', '.join(configs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

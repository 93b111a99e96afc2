"""The parameter limits have one home in RTL (rtl/flexcim_pkg.sv); golden.HwConfig agrees.

Reads the package's localparams, checks HwConfig accepts exactly the RTL's range, and
elaborates flexcim_ctrl under Icarus just past each limit: its $fatal must name the parameter.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from golden.config import HwConfig
from tb.common.runner import RTL_DIR
from tb.toolchain import simulator_env


def package_limits() -> dict[str, int]:
    text = (RTL_DIR / "flexcim_pkg.sv").read_text()
    found = re.findall(r"localparam int (\w+)\s*=\s*(\d+);", text)
    return {name: int(value) for name, value in found}


def test_golden_accepts_exactly_the_rtl_range() -> None:
    lim = package_limits()
    assert {"P_MIN", "P_MAX", "R_MIN", "R_MAX", "C_MAX", "MAX_TOK_MAX"} <= lim.keys()
    HwConfig(P=lim["P_MAX"], R=lim["R_MAX"], C=lim["C_MAX"], MAX_TOK=lim["MAX_TOK_MAX"], ACC=64)
    HwConfig(P=lim["P_MIN"], R=lim["R_MIN"], C=1, MAX_TOK=1)
    for bad in (
        {"P": 2 * lim["P_MAX"]},
        {"P": lim["P_MIN"] // 2},
        {"R": 2 * lim["R_MAX"]},
        {"C": lim["C_MAX"] + 1},
        {"MAX_TOK": lim["MAX_TOK_MAX"] + 1},
    ):
        with pytest.raises(ValueError):
            HwConfig(**bad)


def _elaborate_ctrl(params: dict[str, int]) -> str:
    """Icarus compile + time-0 run of flexcim_ctrl with `params`; the simulator's output."""
    env = simulator_env("icarus")
    sources = [str(RTL_DIR / f"{m}.sv") for m in ("flexcim_pkg", "flexcim_ctrl")]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "a.vvp"
        cmd = ["iverilog", "-g2012", "-o", str(out), "-s", "flexcim_ctrl"]
        cmd += [f"-Pflexcim_ctrl.{k}={v}" for k, v in params.items()] + sources
        subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
        run = subprocess.run(["vvp", "-n", str(out)], env=env, capture_output=True, text=True)
    return run.stdout + run.stderr


def _golden_accepts(params: dict[str, int]) -> bool:
    try:
        HwConfig(**params)
    except ValueError:
        return False
    return True


# The baseline cores (FIXED_N, FIXED_M): rtl/flexcim_pkg.sv fixed_ok and ctrl's G = 1 rule
# for 2:4 accept exactly what HwConfig accepts, over a grid around the legal points.
FIXED_GRID = sorted(
    {
        (p, g, n, m)
        for p in (2, 4, 8)
        for n, m in ((0, 0), (p, p), (1, 2), (2, 4), (1, 4), (2, 2), (4, 8), (0, 2), (p, 2 * p))
        for g in (1, 4)
    }
)


@pytest.mark.parametrize(("p", "g", "n", "m"), FIXED_GRID)
def test_ctrl_and_golden_agree_on_baseline_cores(p: int, g: int, n: int, m: int) -> None:
    params = {"P": p, "R": 4, "C": 4, "MAX_TOK": 4, "G": g, "FIXED_N": n, "FIXED_M": m}
    log = _elaborate_ctrl(params)
    refused = "FATAL" in log
    assert refused == (not _golden_accepts(params)), (params, log)
    if refused:
        assert "FIXED_N" in log or "G (" in log, log


@pytest.mark.parametrize(
    ("override", "name"),
    [
        ({"P": 128}, "P"),
        ({"R": 256}, "R"),
        ({"C": 256}, "C"),
        ({"MAX_TOK": 256}, "MAX_TOK"),
        ({"G": 5}, "G"),  # G must divide C (16); golden refuses the same (test_select_sharing)
        ({"G": 32}, "G"),
    ],
)
def test_ctrl_refuses_parameters_past_the_limits(override: dict[str, int], name: str) -> None:
    params = {"P": 4, "R": 16, "C": 16, "MAX_TOK": 16, **override}
    env = simulator_env("icarus")
    sources = [str(RTL_DIR / f"{m}.sv") for m in ("flexcim_pkg", "flexcim_ctrl")]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "a.vvp"
        cmd = ["iverilog", "-g2012", "-o", str(out), "-s", "flexcim_ctrl"]
        cmd += [f"-Pflexcim_ctrl.{k}={v}" for k, v in params.items()] + sources
        subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
        run = subprocess.run(["vvp", "-n", str(out)], env=env, capture_output=True, text=True)
    log = run.stdout + run.stderr
    assert "FATAL" in log and f"{name} (" in log, log

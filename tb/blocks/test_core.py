"""pytest runner of the flexcim_core smoke test (tb/blocks/cocotb_core.py)."""

from __future__ import annotations

import pytest

from tb.blocks.cases import CASES, run_block
from tb.common.runner import CORE_MODULES


@pytest.mark.parametrize(("sim", "config"), CASES)
def test_core(sim: str, config: str) -> None:
    run_block("flexcim_core", CORE_MODULES, "tb.blocks.cocotb_core", sim, config)


@pytest.mark.slow
def test_core_paper_one_tile() -> None:
    """The authors' geometry (P=4, 32 x 32) builds under Verilator and runs one 2:4 tile.

    Slow: the paper-size build alone takes minutes of C++ compile on 2 cores.
    """
    run_block(
        "flexcim_core",
        CORE_MODULES,
        "tb.blocks.cocotb_core",
        "verilator",
        "paper",
        testcase="tiles_match_golden",
        extra_env={"FLEXCIM_PATTERNS": "2:4"},
    )

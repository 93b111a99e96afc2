"""pytest runner of the flexcim_cell smoke test (tb/blocks/cocotb_cell.py)."""

from __future__ import annotations

import pytest

from tb.blocks.cases import LIGHT_CASES, run_block


@pytest.mark.parametrize(("sim", "config"), LIGHT_CASES)
def test_cell(sim: str, config: str) -> None:
    run_block(
        "flexcim_cell",
        ["flexcim_cell"],
        "tb.blocks.cocotb_cell",
        sim,
        config,
        params=lambda cfg: {"WB": cfg["WB"], "AB": cfg["AB"]},
    )

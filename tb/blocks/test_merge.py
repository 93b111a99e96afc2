"""pytest runner of the flexcim_merge smoke test (tb/blocks/cocotb_merge.py)."""

from __future__ import annotations

import pytest

from tb.blocks.cases import LIGHT_CASES, run_block


@pytest.mark.parametrize(("sim", "config"), LIGHT_CASES)
def test_merge(sim: str, config: str) -> None:
    run_block(
        "flexcim_merge",
        ["flexcim_adder_tree", "flexcim_merge"],
        "tb.blocks.cocotb_merge",
        sim,
        config,
    )

"""pytest runner of the flexcim_submacro smoke test (tb/blocks/cocotb_submacro.py)."""

from __future__ import annotations

import pytest

from tb.blocks.cases import G_CASES, LIGHT_CASES, run_block, with_g


@pytest.mark.parametrize(("sim", "config"), [*LIGHT_CASES, *G_CASES])
def test_submacro(sim: str, config: str) -> None:
    run_block(
        "flexcim_submacro",
        ["flexcim_cell", "flexcim_adder_tree", "flexcim_submacro"],
        "tb.blocks.cocotb_submacro",
        sim,
        config,
        params=lambda cfg: with_g(cfg, "R", "C", "WB", "AB"),
    )

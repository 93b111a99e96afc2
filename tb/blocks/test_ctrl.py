"""pytest runner of the flexcim_ctrl smoke test (tb/blocks/cocotb_ctrl.py)."""

from __future__ import annotations

import pytest

from tb.blocks.cases import LIGHT_CASES, run_block


@pytest.mark.parametrize(("sim", "config"), LIGHT_CASES)
def test_ctrl(sim: str, config: str) -> None:
    run_block(
        "flexcim_ctrl",
        ["flexcim_pkg", "flexcim_ctrl"],
        "tb.blocks.cocotb_ctrl",
        sim,
        config,
        params=lambda cfg: {k: cfg[k] for k in ("P", "R", "C", "MAX_TOK", "G", "RPB") if k in cfg},
    )

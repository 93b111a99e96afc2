"""pytest runner of the flexcim_distribution smoke test (tb/blocks/cocotb_distribution.py)."""

from __future__ import annotations

import pytest

from tb.blocks.cases import G_CASES, LIGHT_CASES, run_block, with_g


@pytest.mark.parametrize(("sim", "config"), [*LIGHT_CASES, *G_CASES])
def test_distribution(sim: str, config: str) -> None:
    run_block(
        "flexcim_distribution",
        ["flexcim_distribution"],
        "tb.blocks.cocotb_distribution",
        sim,
        config,
        params=lambda cfg: with_g(cfg, "P", "AB", "C"),
    )

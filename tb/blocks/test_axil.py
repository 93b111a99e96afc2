"""pytest runner of the flexcim_axil smoke test (no configuration parameters: small only)."""

from __future__ import annotations

import pytest

from tb.blocks.cases import SMALL_CASES, run_block


@pytest.mark.parametrize(("sim", "config"), SMALL_CASES)
def test_axil(sim: str, config: str) -> None:
    run_block(
        "flexcim_axil",
        ["flexcim_axil"],
        "tb.blocks.cocotb_axil",
        sim,
        config,
        params=lambda cfg: {},
    )

"""pytest runner of the flexcim_adder_tree smoke test: the column-tree and merge-tree shapes."""

from __future__ import annotations

import pytest

from tb.blocks.cases import LIGHT_CASES, SMALL_CASES, run_block

SHAPES = {
    # sub-macro column trees: R inputs of WB+AB bits, C lanes
    "col": lambda cfg: {"N_IN": cfg["R"], "IW": cfg["WB"] + cfg["AB"], "LANES": cfg["C"]},
    # merge trees: P inputs of the column-sum width, C lanes
    "merge": lambda cfg: {
        "N_IN": cfg["P"],
        "IW": cfg["WB"] + cfg["AB"] + cfg["R"].bit_length() - 1,
        "LANES": cfg["C"],
    },
}


@pytest.mark.parametrize(
    ("sim", "config", "shape"),
    [pytest.param(*case.values, "col", id=f"{case.id}-col") for case in LIGHT_CASES]
    + [pytest.param(*case.values, "merge", id=f"{case.id}-merge") for case in SMALL_CASES],
)
def test_adder_tree(sim: str, config: str, shape: str) -> None:
    run_block(
        "flexcim_adder_tree",
        ["flexcim_adder_tree"],
        "tb.blocks.cocotb_adder_tree",
        sim,
        config,
        params=SHAPES[shape],
        tag=f"{config}-{shape}",
    )

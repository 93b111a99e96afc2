"""silicon.compose and silicon.compose_paper's pure parts against hand-computed cases."""

from __future__ import annotations

import pytest

from golden.config import HwConfig
from silicon.blocks import CLOCK, FRONT_END, INPUTS
from silicon.compose import (
    RULES,
    CompositionError,
    Units,
    Work,
    block_units,
    characterise,
    compose,
    in_parts_of,
    split_parts,
)
from silicon.layer_work import LayerShape, layer_work, tile_passes

CELLS = "cells (weight regs + multipliers)"
TREES = "column adder trees"
DIST = "distribution"
# Two blocks, parts by hand: rule (unit, count) per part.
RULES_2 = {
    "a": {"clock": ("flops", "cycles"), "data": ("cells", "cycles")},
    "b": {"clock": ("flops", "cycles"), "data": ("cells", "issues")},
}


def test_two_blocks_known_joules() -> None:
    small = {"a": {"clock": 2.0, "data": 8.0}, "b": {"clock": 1.0, "data": 6.0}}
    units = {"a": Units(cells=20, flops=10), "b": Units(cells=30, flops=5)}
    rates = characterise(small, units, Work(cycles=100, issues=40), RULES_2)
    # a: clock 2 / (10 x 100), data 8 / (20 x 100); b: clock 1 / (5 x 100), data 6 / (30 x 40)
    assert rates["a"] == pytest.approx({"clock": 0.002, "data": 0.004})
    assert rates["b"] == pytest.approx({"clock": 0.002, "data": 0.005})
    target = {"a": Units(cells=80, flops=40), "b": Units(cells=90, flops=15)}
    out = compose(rates, target, Work(cycles=50, issues=400), RULES_2)
    # a: 0.002 x 40 x 50 = 4, 0.004 x 80 x 50 = 16; b: 0.002 x 15 x 50 = 1.5, 0.005 x 90 x 400
    assert out["a"] == pytest.approx({"clock": 4.0, "data": 16.0})
    assert out["b"] == pytest.approx({"clock": 1.5, "data": 180.0})


def test_block_with_zero_units_at_target_costs_nothing() -> None:
    rates = {"a": {"clock": 0.5, "data": 0.25}}
    out = compose(rates, {"a": Units(0, 0)}, Work(cycles=10, issues=10), RULES_2)
    assert out == {"a": {"clock": 0.0, "data": 0.0}}


def test_zero_units_with_energy_is_refused() -> None:
    with pytest.raises(CompositionError, match=r"'a' part data: 3 J over zero cells x cycles"):
        characterise({"a": {"data": 3.0}}, {"a": Units(0, 4)}, Work(10, 1), RULES_2)


def test_missing_units_name_the_block() -> None:
    energy = {"a": {"clock": 1.0, "data": 1.0}, "b": {"clock": 1.0, "data": 1.0}}
    with pytest.raises(CompositionError, match=r"characterisation: no scaling units .*\['b'\]"):
        characterise(energy, {"a": Units(1, 1)}, Work(1, 1), RULES_2)
    rates = characterise(energy, {"a": Units(1, 1), "b": Units(1, 1)}, Work(1, 1), RULES_2)
    with pytest.raises(CompositionError, match=r"target: no scaling units .*\['b'\]"):
        compose(rates, {"a": Units(1, 1)}, Work(1, 1), RULES_2)
    target = {"a": Units(1, 1), "b": Units(1, 1), "c": Units(7, 0)}
    with pytest.raises(CompositionError, match=r"characterisation lacks target blocks \['c'\]"):
        compose(rates, target, Work(1, 1), RULES_2)


def test_clock_net_scales_by_core_flops() -> None:
    rows = [
        {"module": "flexcim_core", "instances": 1, "cells": 100, "flops": 10},
        {"module": "flexcim_cell", "instances": 16, "cells": 50, "flops": 9},
        {"module": "flexcim_adder_tree in flexcim_submacro", "instances": 4, "cells": 30,
         "flops": 2},
    ]  # fmt: skip
    units = block_units(rows)
    assert units[CELLS] == Units(800, 144)
    assert units[TREES] == Units(120, 8)
    assert units[FRONT_END] == Units(100, 10)
    assert units[CLOCK].flops == 10 + 144 + 8
    assert units[INPUTS].get("core") == 1
    # Characterised on 162 flops: 3.24 J over 10 cycles is 2 mJ per flop-cycle, so 500 flops
    # for 20 cycles cost 20 J.
    rule = RULES["issue"]
    rates = characterise({CLOCK: {"clock": 3.24}}, {CLOCK: units[CLOCK]}, Work(10, 0), rule)
    out = compose(rates, {CLOCK: Units(0, 500)}, Work(20, 0), rule)
    assert out[CLOCK]["clock"] == pytest.approx(20.0)


def test_unknown_module_is_named() -> None:
    with pytest.raises(CompositionError, match="module 'flexcim_new' has no block"):
        block_units([{"module": "flexcim_new", "instances": 1, "cells": 1, "flops": 0}])


def test_issue_rule_scales_array_data_by_issues_and_front_end_by_cycles() -> None:
    rule = RULES["issue"]
    assert rule[CELLS]["data"] == ("cells", "issues")
    assert rule[DIST]["data"] == ("cells", "issues")
    assert rule[FRONT_END]["data"] == ("cells", "cycles")
    assert all(r["data"][1] == "cycles" for r in RULES["cycle"].values())


def test_split_parts_takes_the_clock_out() -> None:
    blocks = {"a": {"switching": 1.0, "internal": 5.0, "leakage": 0.5}}
    out = split_parts(blocks, {"a": 0.02}, cycles=100)
    assert out == {"a": pytest.approx({"clock": 2.0, "leakage": 0.5, "data": 4.0})}
    with pytest.raises(CompositionError, match="block 'a': clock energy 12 J exceeds"):
        split_parts(blocks, {"a": 0.12}, cycles=100)


def test_layer_work_matches_the_replayed_paper_cycles() -> None:
    # docs/results/replay/paper_g1_rpb32: block1.q_proj (4:8, 576 x 576, 16 tokens) took 18
    # jobs and 8,226 RTL cycles: 18 tiles x (3 passes x (4 x 32 + 16 x 1) + 9 + 16).
    cfg = HwConfig.named("paper_g1_rpb32")
    work = layer_work(LayerShape("block1.q_proj", 4, 8, 576, 576, 16), cfg)
    assert (work.jobs, work.job_cycles, work.issues) == (18, 8226, 18 * 3 * 16)
    # 4:6 down_proj: 21,186 cycles = 18 x (8 x 144 + 25): ceil(1536 / 6 / 32) = 8 passes.
    down = layer_work(LayerShape("block0.down_proj", 4, 6, 576, 1536, 16), cfg)
    assert down.job_cycles == 21186


def test_baselines_run_other_patterns_dense() -> None:
    layer = LayerShape("x", 4, 8, 8, 576, 8)
    assert tile_passes(layer, HwConfig.named("small_dense")) == 36  # 576 / 16
    assert tile_passes(layer, HwConfig.named("small_fixed24")) == 36
    assert tile_passes(layer, HwConfig.named("small_g1")) == 18
    assert tile_passes(LayerShape("x", 2, 4, 8, 576, 8), HwConfig.named("small_fixed24")) == 18
    # every 2:8 mask is 2:4-compliant: the 2:4 core's rate, not dense, not 2:8's own
    assert tile_passes(LayerShape("x", 2, 8, 8, 576, 8), HwConfig.named("small_fixed24")) == 18
    assert tile_passes(LayerShape("x", 2, 8, 8, 576, 8), HwConfig.named("small_fixed12")) == 36
    with pytest.raises(CompositionError, match="G=4: FlexCiM passes at G > 1"):
        tile_passes(layer, HwConfig.named("small"))


def test_derived_units_scale_the_base_by_the_small_ratio() -> None:
    from silicon.design_units import derived_units

    base = {CELLS: Units(1000, 300), DIST: Units(0, 0)}
    small = {CELLS: Units(110, 36), DIST: Units(20, 0)}
    small_base = {CELLS: Units(100, 30), DIST: Units(0, 0)}
    with pytest.raises(CompositionError, match="block 'distribution' missing in the base"):
        derived_units({CELLS: Units(1000, 300)}, small, small_base)
    small[DIST] = Units(0, 0)
    assert derived_units(base, small, small_base) == {CELLS: Units(1100, 360), DIST: Units(0, 0)}


def test_block_rule_scales_whole_blocks_per_cell_cycle() -> None:
    rule = RULES["block"]
    energy = {CELLS: {"total": 8.0}, CLOCK: {"total": 4.0}}
    units = {CELLS: Units(100, 10), CLOCK: Units(0, 40)}
    rates = characterise(energy, units, Work(cycles=200, issues=1), rule)
    out = compose(rates, {CELLS: Units(400, 0), CLOCK: Units(0, 80)}, Work(50, 7), rule)
    # cells: 8 / (100 x 200) x 400 x 50 = 8; clock: 4 / (40 x 200) x 80 x 50 = 2
    assert out == {CELLS: {"total": pytest.approx(8.0)}, CLOCK: {"total": pytest.approx(2.0)}}


def test_the_block_rule_takes_each_block_whole() -> None:
    """compose_paper runs every rule on one split characterisation: the `block` rule must see
    each block's parts summed (it has one part, "total"), the split rules the parts as split."""
    split = {"column adder trees": {"clock": 1.0, "leakage": 0.5, "data": 2.5}}
    assert in_parts_of(split, RULES["block"]) == {"column adder trees": {"total": 4.0}}
    assert in_parts_of(split, RULES["issue"]) == split


def _layer(name: str, masks: list[list[int]], k: int = 64):
    """A 2:4 layer whose column c keeps, in every group of 4 inputs, the offsets masks[c]."""
    import numpy as np

    from golden.stimulus import StimulusLayer

    mask = np.zeros((len(masks), k), dtype=bool)
    for c, keep in enumerate(masks):
        for offset in keep:
            mask[c, offset::4] = True
    weight = np.where(mask, 3, 0).astype(np.int8)
    return StimulusLayer(
        name=name,
        n=2,
        m=4,
        outlier_ratio=0.0,
        locality=0.0,
        weight=weight,
        scale=np.ones(len(masks), np.float32),
        mask=mask,
        act=np.ones((5, k), np.int8),
        act_scale=1.0,
    )


def test_shared_selects_cost_passes_only_when_the_columns_masks_differ() -> None:
    """`small` (P 4, R 4, C 4) shares one pair select across its 4 columns. 2:4 over K = 64 is
    16 groups, 8 per pass at n_hw 2: 2 passes when every column keeps one element of each pair
    (offsets 0 and 2: one slot per pair, the G = 1 rate); when columns keep whole, different
    pairs (0,1 / 2,3) the shared select needs both pairs' two slots per group: 4 passes, the
    dense rate. The table records the mapper's count and checks G = 1 against the formula."""
    from golden.stimulus import Stimulus
    from silicon.layer_work import pass_geometry, passes_per_tile
    from silicon.model_layers import table_of

    same = _layer("b0.q_proj", [[0, 2]] * 4)
    apart = _layer("b0.k_proj", [[0, 1], [2, 3], [0, 1], [2, 3]])
    table = table_of(Stimulus("hand", {}, [same, apart]), "0" * 64, ["small"], "small_g1")
    rows = {r["name"]: r for r in table["layers"]}
    assert rows["b0.q_proj"]["passes"] == {"small": [2]}
    assert rows["b0.k_proj"]["passes"] == {"small": [4]}
    assert (rows["b0.k_proj"]["cout"], rows["b0.k_proj"]["k"], rows["b0.k_proj"]["tokens"]) == (
        4,
        64,
        5,
    )
    cfg = HwConfig.named("small")
    shape = LayerShape("b0.k_proj", 2, 4, 4, 64, 5, {pass_geometry(cfg): (4,)})
    assert passes_per_tile(shape, cfg) == [4]
    with pytest.raises(CompositionError, match="depend on the masks"):
        passes_per_tile(LayerShape("b0.k_proj", 2, 4, 4, 64, 5), cfg)
    with pytest.raises(CompositionError, match="1 tiles' passes for 2 tiles"):
        passes_per_tile(LayerShape("x", 2, 4, 8, 64, 5, {pass_geometry(cfg): (4,)}), cfg)


def test_a_slice_layer_takes_the_model_layers_size_and_its_passes_only_if_same_pattern() -> None:
    from silicon.layer_work import with_full_size

    geo = (4, 32, 32, 32)
    model = {
        "b1.q_proj": LayerShape("b1.q_proj", 4, 8, 576, 576, 16, {geo: (9,) * 18}),
        "b2.q_proj": LayerShape("b2.q_proj", 4, 6, 576, 576, 16, {geo: (12,) * 18}),
    }
    extract = [LayerShape("b1.q_proj", 4, 8, 8, 576, 8), LayerShape("b2.q_proj", 4, 8, 8, 576, 8)]
    full = with_full_size(extract, model)
    assert [(s.n, s.m, s.cout, s.tokens) for s in full] == [(4, 8, 576, 16), (4, 8, 576, 16)]
    assert full[0].passes == {geo: (9,) * 18} and full[1].passes == {}
    with pytest.raises(CompositionError, match=r"b3\.q_proj: not a layer"):
        with_full_size([LayerShape("b3.q_proj", 4, 8, 8, 576, 8)], model)
    with pytest.raises(CompositionError, match="K=1536, model table K=576"):
        with_full_size([LayerShape("b1.q_proj", 4, 8, 8, 1536, 8)], model)

"""The real default model (SmolLM2-135M GGUF): loads offline, 30 LLaMA blocks, selection works.

Loading alone takes ~30 s on 2 shared cores, so this is `slow` as well as `model`."""

from __future__ import annotations

import pytest

from flow.choices import DEFAULT_TEXT
from flow.data import make_windows
from flow.models import decoder_blocks, default_model_path, load_model
from flow.pipeline import collect_stats, select_flow
from flow.select import FlowParams


@pytest.mark.model
@pytest.mark.slow
def test_smollm2_select() -> None:
    if not DEFAULT_TEXT.is_file():
        pytest.skip(f"corpus not present at {DEFAULT_TEXT}")
    lm = load_model(default_model_path())
    assert lm.family == "llama"
    assert len(decoder_blocks(lm.model, lm.family)) == 30
    win = make_windows(lm.tokenizer, DEFAULT_TEXT, 2, 64, 1)
    stats = collect_stats(lm, win.calib, 2, [5.0])
    sel = select_flow(stats, FlowParams(), P=4)
    assert len(sel.patterns) == 30 and sel.exact
    assert sel.achieved == pytest.approx(0.5)
    assert all(0.0 < s.outlier_ratio["5"] < 20.0 for s in stats)


@pytest.mark.model
@pytest.mark.slow
def test_smollm2_measured_cost_keeps_block0_densest() -> None:
    """On the real model block 0 is by far the most damaging block to prune (docs/
    FLOW_RESULTS.md): a measured-cost selection, even from a short calibration, keeps it at
    least as dense as every other block and meets the target exactly."""
    from flow.measured import measure_costs, operating_point, select_measured
    from flow.options import measured_candidates
    from flow.prune import PrunePlan
    from flow.select import sparsity

    if not DEFAULT_TEXT.is_file():
        pytest.skip(f"corpus not present at {DEFAULT_TEXT}")
    lm = load_model(default_model_path())
    win = make_windows(lm.tokenizer, DEFAULT_TEXT, 4, 128, 0)
    cands = measured_candidates(4)
    op = operating_point(cands, 0.5)
    table = measure_costs(lm, win.calib, 4, cands, op, PrunePlan([]), 2, 128)
    costs = table.matrix
    sens = costs[:, cands.index((1, 8))] - costs[:, cands.index((4, 4))]
    assert int(sens.argmax()) == 0
    sel = select_measured(table, cands, 0.5, "layer", 4)
    assert sel.exact
    sp = [sparsity(p) for p in sel.patterns]
    assert sp[0] == min(sp)

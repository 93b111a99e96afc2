"""The real default model (SmolLM2-135M GGUF): loads offline, 30 LLaMA blocks, selection works.

Loading alone takes ~30 s on 2 shared cores, so this is `slow` as well as `model`."""

from __future__ import annotations

import pytest

from flow.data import DEFAULT_TEXT, make_windows
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

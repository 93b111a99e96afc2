"""`python -m bench flow_scale` on the tiny size, on the CPU (the GPU sizes run on a GPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import flow_scale


def test_tiny_size_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "tiny.json"
    row = flow_scale.main(["--size", "tiny", "--device", "cpu", "--json", str(out)])
    assert json.loads(out.read_text()) == row
    assert row["blocks"] == 4 and len(row["patterns"]) == 4
    assert row["dtype"] == "float32" and row["host_syncs"] is None
    assert 0 < row["stats_s"] < row["wall_s"] and row["prune_s"] > 0
    assert row["s_per_block"] == pytest.approx(row["wall_s"] / 4, abs=2e-3)
    assert row["floor_s"] > 0 and row["floor_ratio"] == pytest.approx(
        row["wall_s"] / row["floor_s"], rel=0.05
    )
    assert 0.3 < row["zero_fraction"] < 0.7  # target 0.5 as a layer mean


def test_forward_flops_count_every_linear_and_attention() -> None:
    lm = flow_scale.build_model("tiny", 2, 16, flow_scale.DTYPE_NAMES["float32"], "cpu", 0)
    shape = flow_scale.SIZES["tiny"]
    h, f = int(shape["hidden_size"]), int(shape["intermediate_size"])
    kv = h // int(shape["num_attention_heads"]) * int(shape["num_key_value_heads"])
    per_block = 2 * h * h + 2 * h * kv + 3 * h * f
    tokens = 3 * 16
    expected = 2 * 2 * per_block * tokens + 2 * 3 * 2 * 16 * 16 * h
    assert flow_scale.forward_flops(lm, 3, 16) == expected
    with pytest.raises(ValueError, match=r"--blocks must be in 1\.\.4"):
        flow_scale.build_model("tiny", 9, 16, flow_scale.DTYPE_NAMES["float32"], "cpu", 0)

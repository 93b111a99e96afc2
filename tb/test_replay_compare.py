"""tb.replay_compare without a simulator: job shapes per alternative, the shape layers, and the
checks that keep a composed RTL figure honest."""

from __future__ import annotations

import json

import numpy as np
import pytest

from golden.config import HwConfig
from golden.cycle_model import dense_dcim_cycles, fixed_pattern_cycles, job_cycles
from golden.masks import nm_mask
from golden.nm_format import group_nnz
from golden.stimulus import synthetic_stimulus
from tb import replay_compare as rc


def _layer(n: int, m: int, cout: int = 70, k: int = 100, tokens: int = 6, seed: int = 0):
    stim = synthetic_stimulus(np.random.default_rng(seed), [(n, m)], cout, k, tokens)
    return stim.layers[0]


def test_alternatives_equal_the_cycle_model_baselines() -> None:
    """Shape cycles x job counts reproduce golden.cycle_model's dense and fixed-pattern
    formulas for compliant and non-compliant layers (the composition is the model's)."""
    cfg = HwConfig.named("small")
    for n, m in [(2, 4), (1, 8), (4, 6)]:
        layer = _layer(n, m)
        jobs = rc.layer_jobs(layer, cfg)
        cycles = {
            alt: sum(job_cycles(s.passes, s.tokens, cfg).total for s in js)
            for alt, js in jobs.items()
        }
        cout, k = layer.mask.shape
        t = layer.act.shape[0]
        assert cycles["dense DCiM"] == dense_dcim_cycles(cout, k, t, cfg).total
        for fn, fm in rc.fixed_patterns(cfg):
            same = fixed_pattern_cycles(layer.mask, fn, fm, t, cfg).total
            assert cycles[f"fixed {fn}:{fm}, this model"] == same
            uniform = fixed_pattern_cycles(nm_mask(np.ones((cout, k)), fn, fm), fn, fm, t, cfg)
            assert cycles[f"fixed {fn}:{fm}, uniform {fn}:{fm} model"] == uniform.total
    # a 1:8 layer is 2:4-compliant only by accident; a 4:6 one never: it runs dense there
    layer = _layer(4, 6)
    assert (
        rc.layer_jobs(layer, cfg)["fixed 2:4, this model"]
        == rc.layer_jobs(layer, cfg)["dense DCiM"]
    )


def test_shape_layers_run_at_full_speed_on_any_select_width() -> None:
    cfg = HwConfig.named("small")
    shapes = rc.distinct_shapes(
        synthetic_stimulus(np.random.default_rng(1), [(2, 4)], 9, 40, 5), cfg
    )
    stim = rc.shape_stimulus(shapes, cfg)
    assert [ly.name for ly in stim.layers] == [s.name for s in shapes]
    for s, layer in zip(shapes, stim.layers, strict=True):
        assert layer.mask.shape == (cfg.C, s.k) and layer.act.shape == (s.tokens, s.k)
        assert (layer.mask == layer.mask[0]).all(), "one mask shared by every row"
        assert np.all(group_nnz(layer.mask, s.m) <= s.n)


def test_a_shape_whose_rtl_cycles_differ_from_the_model_is_refused() -> None:
    cfg = HwConfig.named("small")
    shape = rc.Shape(k=40, n=2, m=4, tokens=4, passes=3)
    good = job_cycles(3, 4, cfg).total
    record = {
        "layer": shape.name,
        "jobs": 1,
        "rtl_cycles": good,
        "value_mismatches": 0,
        "cycle_mismatches": 0,
    }
    assert rc.check_shapes([record], [shape], cfg) == {shape: good}
    with pytest.raises(ValueError, match=r"RTL .* cycles, model"):
        rc.check_shapes([record | {"rtl_cycles": good + 1}], [shape], cfg)
    with pytest.raises(ValueError, match="no single-job RTL record"):
        rc.check_shapes([], [shape], cfg)


def test_study_perplexities_are_used_only_for_the_same_windows(tmp_path) -> None:
    windows = {
        "text_sha256": "abc",
        "calib_range": [0, 100],
        "eval_range": [500, 600],
        "seqlen": 50,
    }
    data = {
        "windows": windows,
        "summary": {
            "dense_ppl": 30.0,
            "methods": [
                {
                    "metric": "sparsegpt",
                    "mask": "standard",
                    "label": "uniform 2:4",
                    "seeds": [0, 1],
                    "ppl": [88.0, 90.0],
                },
                {
                    "metric": "wanda",
                    "mask": "standard",
                    "label": "uniform 2:4",
                    "seeds": [0],
                    "ppl": [180.0],
                },
            ],
        },
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    ppl = rc.Perplexities.from_study(66.0, path, "sparsegpt", "standard", windows)
    assert ppl.dense == 30.0 and ppl.uniform == {"2:4": 88.0}
    other = rc.Perplexities.from_study(
        66.0, path, "sparsegpt", "standard", windows | {"eval_range": [0, 100]}
    )
    assert other.dense is None and other.uniform == {} and "other windows" in other.source
    # an export pruned with levers the study's uniform models lack: their perplexities would
    # understate what a fixed core's model reaches, so only the dense one is kept
    levered = rc.Perplexities.from_study(
        55.0, path, "sparsegpt", "standard", windows, levers={"permute": "balanced"}
    )
    assert levered.dense == 30.0 and levered.uniform == {}
    assert "permute balanced (study: none)" in levered.source

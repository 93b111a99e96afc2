"""Pruning keeps exactly N of every M per row; pair-shared groups fit the hardware slots."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from flow.prune import PrunePlan, layer_mask, nm_mask_torch, prune_sublayer, wanda_metric
from flow.stats import outlier_locality, outlier_positions, outlier_summary
from golden.masks import nm_mask
from golden.nm_format import check_nm


def _linear(rows: int, k: int, seed: int) -> nn.Linear:
    torch.manual_seed(seed)
    lin = nn.Linear(k, rows, bias=False)
    with torch.no_grad():
        lin.weight.add_(0.01)  # no exact zeros before pruning
    return lin


@pytest.mark.parametrize(("n", "m"), [(2, 4), (1, 4), (4, 8), (2, 8), (1, 8)])
@pytest.mark.parametrize("metric", ["wanda", "magnitude"])
def test_exactly_n_of_m_kept(n: int, m: int, metric: str) -> None:
    lin = _linear(12, 32, seed=n * 10 + m)
    sq = torch.rand(32) + 0.1
    w0 = lin.weight.detach().clone()
    mask = prune_sublayer(lin, n, m, PrunePlan([(n, m)], metric), sq).numpy()
    w = lin.weight.detach().numpy()
    groups = (w != 0).reshape(12, 32 // m, m).sum(-1)
    assert (groups == n).all()
    assert ((w != 0) == mask).all()
    # The kept entries are the n largest of the metric in each group.
    score = (wanda_metric(w0, sq) if metric == "wanda" else w0.abs()).numpy()
    g = score.reshape(12, -1, m)
    kth = np.sort(g, axis=-1)[..., m - n]
    kept = np.where(mask.reshape(12, -1, m), g, np.inf).min(-1)
    assert (kept >= kth - 1e-12).all()


def test_wanda_uses_activation_scale() -> None:
    # Column 1 has a small weight but a huge activation: Wanda keeps it, magnitude does not.
    lin = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 0.1, 0.5, 0.4]]))
    sq = torch.tensor([1.0, 1e4, 1.0, 1.0])
    mask = prune_sublayer(lin, 2, 4, PrunePlan([(2, 4)], "wanda"), sq)
    assert mask.tolist() == [[True, True, False, False]]


@pytest.mark.parametrize(("n", "m"), [(2, 4), (1, 4), (4, 8), (2, 8), (1, 8)])
def test_pair_shared_fits_n_slots(n: int, m: int) -> None:
    rng = np.random.default_rng(n + m)
    metric = rng.random((40, 64))
    c = 16
    mask = layer_mask(torch.from_numpy(metric), n, m, "pair-shared", c).numpy()
    check_nm(mask.astype(np.int8), n, m)  # also a valid n:m mask
    padded = np.pad(mask, [(0, -40 % c), (0, 0)]).reshape(-1, c, 64 // m, m // 2, 2)
    need = padded.sum(-1).max(axis=1)  # per tile, group, pair: max non-zeros over columns
    assert (need.sum(-1) <= n).all()


def test_dense_pattern_keeps_everything_and_bad_plans_fail() -> None:
    lin = _linear(4, 8, seed=1)
    assert prune_sublayer(lin, 4, 4, PrunePlan([(4, 4)]), torch.ones(8)).all()
    with pytest.raises(ValueError, match="unknown metric"):
        PrunePlan([(2, 4)], metric="random")
    with pytest.raises(ValueError, match="needs calibration"):
        prune_sublayer(lin, 2, 4, PrunePlan([(2, 4)]), None)


@pytest.mark.parametrize(("n", "m"), [(2, 4), (1, 4), (4, 8), (2, 8), (1, 8), (4, 4), (3, 5)])
@pytest.mark.parametrize("seed", [0, 1])
def test_device_mask_equals_golden_mask(n: int, m: int, seed: int) -> None:
    # Small integers make many ties (golden: ties go to the lower index); K is not a multiple
    # of m, so the padded last group is covered too.
    rng = np.random.default_rng(seed)
    metric = rng.integers(0, 4, size=(9, 37)).astype(np.float32)
    got = nm_mask_torch(torch.from_numpy(metric), n, m).numpy()
    assert (got == nm_mask(metric, n, m)).all()
    smooth = rng.random((9, 40)).astype(np.float32)
    assert (nm_mask_torch(torch.from_numpy(smooth), n, m).numpy() == nm_mask(smooth, n, m)).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_metric_is_float32_whatever_the_weight_dtype(dtype: torch.dtype) -> None:
    w = torch.randn(6, 16).to(dtype)
    sq = torch.rand(16) + 0.5
    metric = wanda_metric(w, sq)
    assert metric.dtype == torch.float32
    expected = w.float().abs().numpy() * np.sqrt(sq.numpy())[None, :]
    np.testing.assert_allclose(metric.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("hyper_m", [0.5, 2.0, 5.0, 50.0])
def test_device_outlier_summary_equals_numpy(hyper_m: float) -> None:
    rng = np.random.default_rng(7)
    metric = (rng.standard_exponential(20_000) ** 3).astype(np.float32)  # heavy tail
    count, locality = outlier_summary(torch.from_numpy(metric), hyper_m)
    assert int(count) == outlier_positions(metric, hyper_m).size
    assert float(locality) == pytest.approx(outlier_locality(metric, hyper_m), rel=1e-12)


def test_device_outlier_summary_with_fewer_than_two_outliers() -> None:
    one = torch.zeros(100)
    one[42] = 1.0
    count, locality = outlier_summary(one, 5.0)
    assert int(count) == 1 and float(locality) == 0.0
    with pytest.raises(ValueError, match="empty metric"):
        outlier_summary(torch.zeros(0), 5.0)

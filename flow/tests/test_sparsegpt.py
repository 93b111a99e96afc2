"""SparseGPT pruning: N:M legality, the authors' algorithm, and what reconstruction buys."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flow.sparsegpt import sparsegpt_prune, sparsegpt_prune_patterns
from golden.masks import nm_mask
from golden.nm_format import group_nnz


def _reference_fasterprune(
    W: torch.Tensor,
    H: torch.Tensor,
    prunen: int,
    prunem: int,
    blocksize: int = 128,
    percdamp: float = 0.01,
) -> torch.Tensor:
    """A literal transcription of the authors' row-major `fasterprune` (prunen pruned of every
    prunem), the oracle for the column-major implementation."""
    W = W.clone().float()
    H = H.clone()
    cols = W.shape[1]
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    H += percdamp * torch.mean(torch.diag(H)) * torch.eye(cols)
    H = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    Hinv = H
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        mask1 = torch.zeros_like(W1, dtype=torch.bool)
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            if i % prunem == 0:
                tmp = (
                    W1[:, i : i + prunem] ** 2
                    / (torch.diag(Hinv1)[i : i + prunem].reshape(1, -1)) ** 2
                )
                mask1.scatter_(1, i + torch.topk(tmp, prunen, dim=1, largest=False)[1], True)
            q = w.clone()
            q[mask1[:, i]] = 0
            Q1[:, i] = q
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        W[:, i1:i2] = Q1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    return W


def _problem(
    rows: int, cols: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(cols, cols, generator=g) / cols**0.5
    X = torch.randn(512, cols, generator=g) @ (torch.eye(cols) + mix)  # correlated inputs
    W = torch.randn(rows, cols, generator=g)
    return W, 2.0 / X.shape[0] * X.T @ X, X


@pytest.mark.parametrize(("n", "m"), [(2, 4), (4, 8), (1, 4), (2, 8)])
def test_matches_the_authors_algorithm(n: int, m: int) -> None:
    W, H, _ = _problem(24, 64)
    ours, keep = sparsegpt_prune(W, H, n, m, blocksize=32)
    ref = _reference_fasterprune(W, H, m - n, m, blocksize=32)
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)
    assert np.array_equal(keep, ref.numpy() != 0)


def test_one_sweep_for_several_patterns_matches_the_authors_algorithm_per_pattern() -> None:
    """The measured-cost pass prunes a block to every candidate in one stacked sweep: each
    pattern's result must be the authors' algorithm on that pattern alone (M = 6 and 8 mixed,
    so the lazy block is a multiple of 24; dense candidates come back untouched)."""
    W, H, _ = _problem(16, 96, seed=3)
    patterns = [(4, 8), (4, 4), (1, 6), (2, 8), (4, 6)]
    results = sparsegpt_prune_patterns(W, H, patterns, blocksize=48)
    for (n, m), (new, keep) in zip(patterns, results, strict=True):
        if n == m:
            assert torch.equal(new, W) and keep.all()
            continue
        ref = _reference_fasterprune(W, H, m - n, m, blocksize=48)
        torch.testing.assert_close(new, ref, rtol=1e-4, atol=1e-5)
        assert np.array_equal(keep, ref.numpy() != 0), f"{n}:{m}"


def test_several_patterns_pair_shared_masks_are_legal() -> None:
    W, H, _ = _problem(32, 48)
    patterns = [(2, 8), (4, 6)]
    results = sparsegpt_prune_patterns(W, H, patterns, "pair-shared", 8)
    for (n, m), (new, keep) in zip(patterns, results, strict=True):
        pairs = keep.reshape(4, 8, 48 // m, m // 2, 2)
        assert np.all(pairs.sum(axis=-1).max(axis=1).sum(axis=-1) <= n)
        assert np.all(new.numpy()[~keep] == 0)


@pytest.mark.parametrize(("n", "m"), [(2, 4), (4, 8), (4, 6), (2, 6), (1, 8)])
@pytest.mark.parametrize("mode", ["standard", "pair-shared"])
def test_masks_are_legal(n: int, m: int, mode: str) -> None:
    W, H, _ = _problem(32, 48)
    new, keep = sparsegpt_prune(W, H, n, m, mode, c_tile=8)
    assert np.all(group_nnz(keep, m) <= n)
    assert np.all(new.numpy()[~keep] == 0)
    if mode == "pair-shared":  # every (8-row tile, group) needs at most n slots
        pairs = keep.reshape(4, 8, 48 // m, m // 2, 2)
        slots = pairs.sum(axis=-1).max(axis=1).sum(axis=-1)  # max nnz over rows, per pair
        assert np.all(slots <= n)


def test_short_last_group_keeps_at_most_n() -> None:
    W, H, _ = _problem(8, 40)  # 40 = 6 groups of 6 + 4
    _, keep = sparsegpt_prune(W, H, 4, 6)
    assert np.all(group_nnz(keep, 6) <= 4)
    assert keep[:, 36:].sum(axis=1).tolist() == [4] * 8


def test_uncorrelated_inputs_reduce_to_magnitude_pruning() -> None:
    """With a diagonal Hessian no error can be spread: the result is the magnitude mask of
    |w| / diag(H^-1) (here diag(H) is constant, so plain magnitude) with the kept weights
    unchanged."""
    W, _, _ = _problem(16, 32)
    H = 3.0 * torch.eye(32)
    new, keep = sparsegpt_prune(W, H, 2, 4)
    assert np.array_equal(keep, nm_mask(W.abs().numpy(), 2, 4))
    torch.testing.assert_close(new, W * torch.from_numpy(keep))


def test_reconstruction_beats_mask_only_on_correlated_inputs() -> None:
    W, H, X = _problem(64, 128, seed=3)
    new, keep = sparsegpt_prune(W, H, 2, 4)
    masked = W * torch.from_numpy(keep)
    err_rec = torch.linalg.norm(X @ (W - new).T)
    err_mask = torch.linalg.norm(X @ (W - masked).T)
    assert err_rec < 0.9 * err_mask


def test_dense_is_unchanged_and_bad_shapes_are_refused() -> None:
    W, H, _ = _problem(4, 16)
    new, keep = sparsegpt_prune(W, H, 4, 4)
    assert torch.equal(new, W) and keep.all()
    with pytest.raises(ValueError, match="hessian"):
        sparsegpt_prune(W, H[:8, :8], 2, 4)
    with pytest.raises(ValueError, match="N <= M"):
        sparsegpt_prune(W, H, 5, 4)

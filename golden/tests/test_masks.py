"""nm_mask and pair_shared_mask: validity, hand-worked cases, greedy optimality."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from golden.masks import nm_mask, pair_shared_mask
from golden.nm_format import check_nm


def _slots(mask: np.ndarray, m: int, c_tile: int) -> np.ndarray:
    """Hardware slots per (tile, group): sum over pairs of max over the tile's rows of nnz."""
    rows, k = mask.shape
    mm = np.pad(mask, [(0, -rows % c_tile), (0, -k % m)])
    t = mm.reshape(-1, c_tile, mm.shape[1] // m, m // 2, 2).sum(-1)
    return t.max(axis=1).sum(-1)


def test_nm_mask_hand_worked() -> None:
    metric = np.array([[0.1, 0.9, 0.5, 0.2, 1.0, 1.0, 1.0, 0.0, 3.0]])
    got = nm_mask(metric, 2, 4)
    # group 0 keeps 0.9, 0.5; group 1 ties keep the lower indices; short group 2 keeps 3.0.
    assert got.tolist() == [[False, True, True, False, True, True, False, False, True]]


def test_nm_mask_is_top_n() -> None:
    rng = np.random.default_rng(0)
    metric = rng.random((20, 48))
    for n, m in [(1, 2), (2, 4), (2, 8), (4, 8), (3, 6), (8, 8)]:
        mask = nm_mask(metric, n, m)
        check_nm(mask, n, m)
        g = metric.reshape(20, -1, m)
        km = mask.reshape(20, -1, m)
        assert np.all(km.sum(-1) == n)
        kept_min = np.where(km, g, np.inf).min(-1)
        dropped_max = np.where(km, -np.inf, g).max(-1)
        assert np.all(kept_min >= dropped_max)


def test_pair_shared_hand_worked() -> None:
    # One tile of 2 rows, 2:4. Gains: 1st slot pair0 = 9+1 = 10, pair1 = 8+8 = 16;
    # 2nd slot pair0 = 0+0, pair1 = 6+7 = 13 -> the two best are 16, 13: pair1 gets both.
    metric = np.array([[9.0, 0.0, 8.0, 6.0], [0.0, 1.0, 8.0, 7.0]])
    got = pair_shared_mask(metric, 2, 4, c_tile=2)
    assert got.tolist() == [[False, False, True, True], [False, False, True, True]]
    # Per-channel: row 0 keeps 9 and 8 (pairs 0, 1), row 1 both of pair 1 -> 1 + 2 = 3 slots.
    assert _slots(nm_mask(metric, 2, 4), 4, 2).tolist() == [[3]]
    # Tile of 1 row: row 0 keeps 9 (pair 0) and 8 (pair 1).
    got1 = pair_shared_mask(metric, 2, 4, c_tile=1)
    assert got1[0].tolist() == [True, False, True, False]


@pytest.mark.parametrize(("n", "m"), [(1, 2), (1, 4), (2, 4), (1, 8), (2, 8), (4, 8), (2, 6)])
def test_pair_shared_fits_and_is_optimal(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 100 + m)
    c_tile = 4
    metric = rng.random((10, 3 * m + 1)) ** 3  # 10 rows: last tile partial; short last group
    mask = pair_shared_mask(metric, n, m, c_tile)
    check_nm(mask, n, m)
    assert np.all(_slots(mask, m, c_tile) <= n)
    # Brute force on the first tile / group: no slot allocation keeps more metric.
    tile = metric[:c_tile, :m].reshape(c_tile, m // 2, 2)
    best = 0.0
    for alloc in itertools.product(range(3), repeat=m // 2):
        if sum(alloc) != min(n, m):
            continue
        kept = sum(
            (tile[:, j].max(-1).sum() if a >= 1 else 0)
            + (tile[:, j].min(-1).sum() if a == 2 else 0)
            for j, a in enumerate(alloc)
        )
        best = max(best, kept)
    assert np.isclose((metric[:c_tile, :m] * mask[:c_tile, :m]).sum(), best)


def test_mask_bad_input() -> None:
    with pytest.raises(ValueError, match="even"):
        pair_shared_mask(np.ones((2, 6)), 1, 3, 2)
    with pytest.raises(ValueError, match="c_tile"):
        pair_shared_mask(np.ones((2, 4)), 1, 2, 0)
    with pytest.raises(ValueError, match="NaN"):
        nm_mask(np.array([[np.nan, 1.0]]), 1, 2)
    with pytest.raises(ValueError):
        nm_mask(np.ones((2, 4)), 3, 2)
    assert nm_mask(np.ones((2, 5)), 4, 4).all()

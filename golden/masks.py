"""N:M masks from an importance metric: standard per-channel and FlexCiM pair-shared.

Both keep the same convention as golden.nm_format: K is zero-padded to a multiple of `m`
(padding never appears in the returned mask). Ties go to the lower index.
"""

from __future__ import annotations

import numpy as np

from golden.nm_format import check_nm_args, pad_k


def _as_metric(metric: np.ndarray) -> np.ndarray:
    a = np.asarray(metric)
    if a.ndim != 2:
        raise ValueError(f"metric must be 2-D (rows, K), got shape {a.shape}")
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise TypeError(f"metric must be numeric, got {a.dtype}")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("metric has NaN or infinite entries")
    return a


def nm_mask(metric: np.ndarray, n: int, m: int) -> np.ndarray:
    """Bool mask keeping the `n` largest entries of every row's group of `m` (per channel)."""
    check_nm_args(n, m)
    a = _as_metric(metric)
    rows, k = a.shape
    if n == m:
        return np.ones((rows, k), dtype=bool)
    # Padding sorts last (-inf), so a short last group keeps only real entries.
    g = np.pad(a, [(0, 0), (0, -k % m)], constant_values=-np.inf).reshape(rows, -1, m)
    top = np.argsort(-g, axis=-1, kind="stable")[..., :n]
    mask = np.zeros(g.shape, dtype=bool)
    np.put_along_axis(mask, top, True, axis=-1)
    return mask.reshape(rows, -1)[:, :k]


def pair_shared_mask(metric: np.ndarray, n: int, m: int, c_tile: int) -> np.ndarray:
    """Bool N:M mask whose every (column tile, group) needs at most `n` hardware slots.

    Per tile of `c_tile` consecutive rows and group, the `n` slots go to pairs greedily by
    marginal gain: a pair's 1st slot gains the sum over the tile's rows of the pair's larger
    metric, its 2nd slot the sum of the smaller one. A 2nd-slot gain never exceeds the 1st, so
    taking the `n` largest of all gains (1st slots before 2nd slots on ties) is the greedy
    optimum and never takes a 2nd slot without the 1st. Each row then keeps the better element
    of a 1-slot pair and both elements of a 2-slot pair. The result is also a valid n:m mask.
    """
    check_nm_args(n, m)
    if m % 2:
        raise ValueError(f"m={m}: pair-shared masks need an even m (groups of pairs)")
    if not isinstance(c_tile, int) or c_tile < 1:
        raise ValueError(f"c_tile={c_tile!r}: must be an int >= 1")
    a = _as_metric(metric)
    rows, k = a.shape
    if n == m:
        return np.ones((rows, k), dtype=bool)
    # Zero padding (rows to whole tiles, K to whole groups) adds nothing to any gain.
    a = pad_k(a, m)
    a = np.pad(a, [(0, -rows % c_tile), (0, 0)])
    h = m // 2
    t = a.reshape(-1, c_tile, a.shape[1] // m, h, 2)  # tile, row, group, pair, element
    larger = t.max(axis=-1)
    gains = np.concatenate([larger.sum(axis=1), t.min(axis=-1).sum(axis=1)], axis=-1)
    chosen = np.zeros(gains.shape, dtype=bool)
    top = np.argsort(-gains, axis=-1, kind="stable")[..., :n]
    np.put_along_axis(chosen, top, True, axis=-1)
    slots = chosen[..., :h].astype(np.int8) + chosen[..., h:]  # (tile, group, pair)
    best = np.argmax(t, axis=-1)  # per row; first (element 0) on ties
    keep_one = np.stack([best == 0, best == 1], axis=-1)
    s = slots[:, None, :, :, None]
    mask = (s == 2) | ((s == 1) & keep_one)
    return mask.reshape(-1, mask.shape[2] * m)[:rows, :k]

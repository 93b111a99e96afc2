"""N:M sparse format: check, compress / decompress, int8 per-channel quantisation.

Groups are `m` consecutive entries of one row (one output channel) along K. A K that is not a
multiple of `m` is treated as zero-padded to the next multiple (the mapper pads the same way),
so the last, shorter group simply has fewer entries; `NMCompressed.k` keeps the true width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class NMViolation(ValueError):
    """A matrix that is not N:M; the message names the first offending row and group."""


def check_nm_args(n: int, m: int) -> None:
    """Raise ValueError unless `1 <= n <= m` are ints."""
    for name, v in (("n", n), ("m", m)):
        if not isinstance(v, int | np.integer) or isinstance(v, bool):
            raise ValueError(f"{name} must be an int, got {v!r}")
    if n < 1:
        raise ValueError(f"n={n}: must be >= 1")
    if m < n:
        raise ValueError(f"m={m} < n={n}: need 1 <= n <= m")


def _as_int_matrix(a: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{what} must be 2-D (rows, K), got shape {a.shape}")
    if not (np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_):
        raise TypeError(f"{what} must have an integer or bool dtype, got {a.dtype}")
    return a


def pad_k(a: np.ndarray, m: int) -> np.ndarray:
    """Zero-pad the last axis to a multiple of `m`."""
    extra = -a.shape[-1] % m
    if extra == 0:
        return a
    pad = [(0, 0)] * (a.ndim - 1) + [(0, extra)]
    return np.pad(a, pad)


def group_nnz(a: np.ndarray, m: int) -> np.ndarray:
    """Non-zeros per (row, group) of a 2-D array, K zero-padded to a multiple of `m`."""
    g = pad_k(a != 0, m)
    return g.reshape(a.shape[0], -1, m).sum(axis=-1)


def check_nm(weight: np.ndarray, n: int, m: int) -> None:
    """Raise `NMViolation` unless every group of `m` along K of every row has <= `n` non-zeros.

    Accepts integer or bool arrays (a mask checks the same way); floats are refused because a
    tiny float that prints as 0 would silently count as a non-zero.
    """
    check_nm_args(n, m)
    w = _as_int_matrix(weight, "weight")
    if w.size == 0:
        return
    nnz = group_nnz(w, m)
    bad = np.argwhere(nnz > n)
    if bad.size:
        row, grp = (int(v) for v in bad[0])
        raise NMViolation(
            f"not {n}:{m}: row {row}, group {grp} (k {grp * m}..{grp * m + m - 1}) has "
            f"{int(nnz[row, grp])} non-zeros > {n} ({len(bad)} offending groups in all)"
        )


@dataclass(frozen=True)
class NMCompressed:
    """Compressed N:M matrix: `n` (value, in-group index) slots per row and group.

    Groups with fewer than `n` non-zeros fill the spare slots with value 0 at unused indices;
    indices of a group are distinct and ascending, so decompression is a plain scatter.
    """

    values: np.ndarray  # (rows, groups, n), dtype of the input
    indices: np.ndarray  # (rows, groups, n) uint8, 0..m-1
    n: int
    m: int
    k: int  # true K (groups * m - k padding columns are dropped on decompress)


def compress_nm(weight: np.ndarray, n: int, m: int) -> NMCompressed:
    """Compress an N:M integer matrix (raises `NMViolation` if it is not N:M)."""
    check_nm(weight, n, m)
    if m > 256:
        raise ValueError(f"m={m}: in-group indices are stored as uint8, need m <= 256")
    w = np.asarray(weight)
    rows, k = w.shape
    g = pad_k(w, m).reshape(rows, -1, m)
    # Non-zeros first (stable keeps index order), then the first n, re-sorted ascending.
    order = np.argsort(g == 0, axis=-1, kind="stable")[..., :n]
    idx = np.sort(order, axis=-1)
    vals = np.take_along_axis(g, idx, axis=-1)
    return NMCompressed(values=vals, indices=idx.astype(np.uint8), n=n, m=m, k=k)


def decompress_nm(c: NMCompressed) -> np.ndarray:
    """Inverse of `compress_nm` (exact)."""
    rows, groups, n = c.values.shape
    if c.indices.shape != c.values.shape or n != c.n:
        raise ValueError(f"values {c.values.shape} / indices {c.indices.shape} / n={c.n} disagree")
    if c.indices.size and int(c.indices.max()) >= c.m:
        raise ValueError(f"an in-group index is >= m={c.m}")
    if not (groups - 1) * c.m < c.k <= groups * c.m and not (groups == 0 and c.k == 0):
        raise ValueError(f"k={c.k} does not match {groups} groups of {c.m}")
    out = np.zeros((rows, groups, c.m), dtype=c.values.dtype)
    np.put_along_axis(out, c.indices.astype(np.intp), c.values, axis=-1)
    return out.reshape(rows, groups * c.m)[:, : c.k]


def quantize_per_channel(w: np.ndarray, bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row quantisation: `w ~= q * scale[:, None]`, `|q| <= 2**(bits-1) - 1`.

    Zeros stay zeros (the N:M mask survives); an all-zero row gets scale 1.0.
    Returns (int8 q, float32 scales).
    """
    if not 2 <= bits <= 8:
        raise ValueError(f"bits={bits}: must be in 2..8 (the result is int8)")
    w = np.asarray(w)
    if w.ndim != 2 or not np.issubdtype(w.dtype, np.floating):
        raise TypeError(f"w must be a 2-D float array, got {w.dtype} {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("w has non-finite entries")
    qmax = 2 ** (bits - 1) - 1
    amax = np.max(np.abs(w), axis=1) if w.shape[1] else np.zeros(w.shape[0])
    scales = np.where(amax > 0, amax / qmax, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scales[:, None].astype(np.float64)), -qmax, qmax).astype(np.int8)
    return q, scales


def dequantize_per_channel(q: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """float32 `q * scales[:, None]`."""
    q = np.asarray(q)
    scales = np.asarray(scales)
    if q.ndim != 2 or scales.shape != (q.shape[0],):
        raise ValueError(f"q {q.shape} and scales {scales.shape} do not match")
    return q.astype(np.float32) * scales.astype(np.float32)[:, None]

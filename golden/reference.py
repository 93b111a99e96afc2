"""Plain bit-exact reference: `y = x @ W.T` in exact integer arithmetic.

No overflow, by bound. For signed WB = AB = 8 bits, |w * x| <= 128 * 128 = 2**14, so
|y| <= K * 2**14: an int32 accumulator (FLEXCIM.md §2, ACC = 32) is exact up to
K = 2**31 / 2**14 = 131072, and int64 up to K = 2**49. This function checks the actual bound
`K * max|W| * max|x|` and picks the path:
- below 2**53 it uses float64 BLAS: every partial sum of integers below 2**53 is an exact
  float64, whatever order BLAS adds in, so the result is exact (and ~100x faster than int64);
- below 2**63 it uses int64 matmul;
- above, it refuses (OverflowError) rather than return a wrong number.
"""

from __future__ import annotations

import numpy as np

_FLOAT64_EXACT = 2**53
_INT64_LIMIT = 2**63


def wrap_signed(y: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement wrap of int64 values to `bits` bits (2..64), as int64."""
    if not 2 <= bits <= 64:
        raise ValueError(f"bits={bits}: must be in 2..64")
    y = np.asarray(y, dtype=np.int64)
    if bits == 64:
        return y.copy()
    half = np.int64(1) << np.int64(bits - 1)
    mask = (np.int64(1) << np.int64(bits)) - np.int64(1)
    return ((y + half) & mask) - half


def _as_int2d(a: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{what} must be 2-D, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{what} must have an integer dtype, got {a.dtype}")
    return a


def _max_abs(a: np.ndarray) -> int:
    return int(np.max(np.abs(a.astype(np.int64)))) if a.size else 0


def reference_matmul(weight: np.ndarray, x: np.ndarray, acc_bits: int | None = None) -> np.ndarray:
    """`x @ weight.T` exactly: weight (Cout, K), x (T, K) integer -> int64 (T, Cout).

    With `acc_bits`, the result is wrapped to that many bits, two's complement (what the
    core's ACC-bit accumulator returns).
    """
    w = _as_int2d(weight, "weight")
    xa = _as_int2d(x, "x")
    if w.shape[1] != xa.shape[1]:
        raise ValueError(f"K mismatch: weight {w.shape} vs x {xa.shape}")
    bound = w.shape[1] * _max_abs(w) * _max_abs(xa)
    if bound < _FLOAT64_EXACT:
        y = (xa.astype(np.float64) @ w.astype(np.float64).T).astype(np.int64)
    elif bound < _INT64_LIMIT:
        y = xa.astype(np.int64) @ w.astype(np.int64).T
    else:
        raise OverflowError(f"|y| may reach {bound} >= 2**63; int64 cannot hold it")
    return y if acc_bits is None else wrap_signed(y, acc_bits)

"""Exact reference matmul: hand-worked values, both arithmetic paths, wrap, overflow bound."""

from __future__ import annotations

import numpy as np
import pytest

from golden.reference import reference_matmul, wrap_signed


def test_hand_worked() -> None:
    w = np.array([[1, -2, 3], [-128, -128, -128]], np.int8)
    x = np.array([[4, 5, 6], [-128, 127, 0]], np.int8)
    y = reference_matmul(w, x)
    assert y.dtype == np.int64
    # 4 - 10 + 18 = 12; -128 * 15 = -1920; -128 - 254 = -382; -128 * -1 = 128 * 128 - 128 * 127.
    assert y.tolist() == [[12, -1920], [-382, 128]]


def test_worst_case_k_131072_fits_int32() -> None:
    # FLEXCIM §2 widths: |w x| <= 2**14, so K = 2**17 gives exactly 2**31: the first K that
    # does not fit int32 is 131072 (all -128 * -128), while K = 131071 still does.
    k = 131072
    w = np.full((1, k), -128, np.int8)
    x = np.full((1, k), -128, np.int8)
    assert reference_matmul(w, x)[0, 0] == 2**31
    assert reference_matmul(w, x, acc_bits=32)[0, 0] == -(2**31)  # wraps exactly once
    assert reference_matmul(w[:, 1:], x[:, 1:], acc_bits=32)[0, 0] == 2**31 - 2**14


def test_int64_path_agrees_with_python_ints() -> None:
    rng = np.random.default_rng(0)
    w = rng.integers(-(2**31), 2**31, (3, 40))  # bound > 2**53 -> int64 path
    x = rng.integers(-(2**20), 2**20, (2, 40))
    want = [[sum(int(a) * int(b) for a, b in zip(xr, wr, strict=True)) for wr in w] for xr in x]
    assert reference_matmul(w, x).tolist() == want
    with pytest.raises(OverflowError):
        reference_matmul(np.full((1, 4), 2**40), np.full((1, 4), 2**30))


def test_float_path_equals_int64_path() -> None:
    rng = np.random.default_rng(1)
    w = rng.integers(-128, 128, (64, 2000), dtype=np.int8)
    x = rng.integers(-128, 128, (8, 2000), dtype=np.int8)
    assert np.array_equal(reference_matmul(w, x), x.astype(np.int64) @ w.astype(np.int64).T)


def test_wrap_signed() -> None:
    v = np.array([0, 127, 128, -129, 255, 256, -(2**40)])
    assert wrap_signed(v, 8).tolist() == [0, 127, -128, 127, -1, 0, 0]
    assert wrap_signed(np.array([2**63 - 1]), 64).tolist() == [2**63 - 1]
    with pytest.raises(ValueError):
        wrap_signed(v, 1)


def test_bad_input() -> None:
    with pytest.raises(TypeError, match="integer"):
        reference_matmul(np.zeros((2, 3)), np.zeros((1, 3), np.int8))
    with pytest.raises(ValueError, match="K mismatch"):
        reference_matmul(np.zeros((2, 3), np.int8), np.zeros((1, 4), np.int8))
    with pytest.raises(ValueError, match="2-D"):
        reference_matmul(np.zeros(3, np.int8), np.zeros((1, 3), np.int8))

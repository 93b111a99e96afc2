"""N:M check, compress / decompress round trips, per-channel quantisation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden.masks import nm_mask
from golden.nm_format import (
    NMViolation,
    check_nm,
    compress_nm,
    decompress_nm,
    dequantize_per_channel,
    quantize_per_channel,
)


def test_check_nm_names_first_offender() -> None:
    w = np.zeros((3, 8), dtype=np.int8)
    w[2, 4:7] = 1  # row 2, group 1 has 3 non-zeros
    w[1, 0:2] = 5  # row 1, group 0 has 2: fine for 2:4
    check_nm(w, 3, 4)
    with pytest.raises(NMViolation, match=r"row 2, group 1 .* 3 non-zeros > 2"):
        check_nm(w, 2, 4)


def test_check_nm_pads_short_last_group() -> None:
    w = np.array([[1, 0, 0, 0, 1, 1]], dtype=np.int16)  # K=6, last group of 4 is [1, 1, 0, 0]
    check_nm(w, 2, 4)
    with pytest.raises(NMViolation, match="row 0, group 1"):
        check_nm(w, 1, 4)


@pytest.mark.parametrize(("n", "m"), [(0, 4), (3, 2), (-1, 2)])
def test_bad_args(n: int, m: int) -> None:
    with pytest.raises(ValueError):
        check_nm(np.zeros((2, 4), np.int8), n, m)


def test_float_rejected() -> None:
    with pytest.raises(TypeError, match="integer or bool"):
        check_nm(np.zeros((2, 4)), 2, 4)
    with pytest.raises(ValueError, match="2-D"):
        check_nm(np.zeros(4, np.int8), 2, 4)


def test_compress_hand_worked() -> None:
    w = np.array([[0, 7, 0, -3, 0, 0, 0, 0]], dtype=np.int8)
    c = compress_nm(w, 2, 4)
    assert c.values.tolist() == [[[7, -3], [0, 0]]]
    assert c.indices.tolist() == [[[1, 3], [0, 1]]]  # spare slots take unused low indices
    assert np.array_equal(decompress_nm(c), w)


@settings(derandomize=True, deadline=None, max_examples=60)
@given(
    rows=st.integers(1, 9),
    k=st.integers(1, 40),
    nm=st.sampled_from([(1, 2), (1, 4), (2, 4), (4, 4), (2, 8), (4, 8), (3, 5), (8, 8)]),
    seed=st.integers(0, 2**32 - 1),
)
def test_compress_round_trip(rows: int, k: int, nm: tuple[int, int], seed: int) -> None:
    n, m = nm
    rng = np.random.default_rng(seed)
    mask = nm_mask(rng.random((rows, k)), n, m) & (rng.random((rows, k)) < 0.8)
    w = np.where(mask, rng.integers(-128, 128, (rows, k)), 0).astype(np.int8)
    c = compress_nm(w, n, m)
    assert c.values.shape == (rows, -(-k // m), n)
    assert np.all(np.diff(c.indices.astype(int), axis=-1) > 0)  # distinct, ascending
    back = decompress_nm(c)
    assert back.dtype == w.dtype and np.array_equal(back, w)


def test_compress_rejects_violation() -> None:
    with pytest.raises(NMViolation):
        compress_nm(np.ones((1, 4), np.int8), 2, 4)


def test_quantize_hand_worked() -> None:
    w = np.array([[0.0, 1.27, -0.635, 0.0], [0.0, 0.0, 0.0, 0.0]])
    q, s = quantize_per_channel(w)
    assert q.dtype == np.int8 and s.dtype == np.float32
    assert q.tolist() == [[0, 127, -64, 0], [0, 0, 0, 0]]  # -0.635/0.01 = -63.5 -> -64 (even)
    assert s[0] == np.float32(0.01) and s[1] == 1.0
    assert np.allclose(dequantize_per_channel(q, s), w, atol=0.005)


def test_quantize_preserves_zeros_and_bounds() -> None:
    rng = np.random.default_rng(3)
    w = rng.standard_normal((16, 64)) * (rng.random((16, 64)) < 0.5)
    for bits in (4, 8):
        q, s = quantize_per_channel(w, bits)
        assert np.array_equal(q != 0, np.abs(w / s[:, None]) >= 0.5)
        assert np.abs(q).max() == 2 ** (bits - 1) - 1  # every row's max hits qmax
        err = np.abs(dequantize_per_channel(q, s) - w)
        assert np.all(err <= s[:, None] / 2 + 1e-6)
    with pytest.raises(ValueError, match="non-finite"):
        quantize_per_channel(np.array([[np.nan]]))
    with pytest.raises(TypeError):
        quantize_per_channel(np.ones((2, 2), np.int8))

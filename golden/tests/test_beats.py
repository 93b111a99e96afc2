"""§3 beat encodings: hand-encoded beats and round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden.beats import (
    activation_beats,
    decode_activation_beat,
    decode_output_beat,
    decode_weight_beat,
    encode_output_beat,
    to_bytes,
    weight_beats,
)
from golden.config import HwConfig
from golden.mapper import TileImage, gather_activations, map_layer
from golden.masks import nm_mask

TINY = HwConfig(P=2, R=4, C=4, MAX_TOK=4)


def _tile(cfg: HwConfig, w: np.ndarray, meta: np.ndarray, q: np.ndarray) -> TileImage:
    passes = w.shape[0]
    return TileImage(
        n_hw=1,
        m_hw=2,
        passes=passes,
        col_start=0,
        cols=cfg.C,
        weight=w,
        meta=meta,
        q=q,
        window=np.zeros((passes, cfg.R, cfg.P), np.int32),
        groups=1,
        positions=1,
        slots_used=1,
    )


def test_weight_beat_hand_encoded() -> None:
    w = np.zeros((1, 2, 4, 4), np.int8)
    meta = np.zeros((1, 2, 4, 4), np.uint8)
    q = np.zeros((1, 2, 4), np.uint8)
    w[0, 1, 2] = [1, -1, 0, -128]
    meta[0, 1, 2] = [1, 0, 0, 1]
    q[0, 1, 2] = 1
    beats = weight_beats(_tile(TINY, w, meta, q), TINY)
    assert TINY.W_TDATA == 40 and len(beats) == 1 and len(beats[0]) == 8
    want = 0x01 | 0xFF << 8 | 0x80 << 24 | 1 << 32 | 1 << 35 | 1 << 36
    assert beats[0][1 * 4 + 2] == want  # beat = p * R + r
    assert all(b == 0 for i, b in enumerate(beats[0]) if i != 6)
    got_w, got_b, got_q = decode_weight_beat(want, TINY)
    assert (got_w.tolist(), got_b.tolist(), got_q) == ([1, -1, 0, -128], [1, 0, 0, 1], 1)
    assert to_bytes(want, 40) == bytes([0x01, 0xFF, 0x00, 0x80, 0x19])
    with pytest.raises(ValueError, match="padding"):
        decode_weight_beat(1 << 39, TINY)


def test_activation_and_output_hand_encoded() -> None:
    rows = np.zeros((1, 1, 4, 8), np.int8)
    rows[0, 0, 3, [0, 7]] = [-2, 5]
    beats = activation_beats(rows, TINY)
    assert beats[0][0][3] == 0xFE | 5 << 56 and beats[0][0][0] == 0
    y = np.array([-1, 2, 0, -(2**31)])
    tdata = encode_output_beat(y, TINY)
    assert tdata == 0xFFFFFFFF | 2 << 32 | 0x80000000 << 96
    assert decode_output_beat(tdata, TINY).tolist() == y.tolist()
    with pytest.raises(ValueError, match="ACC=32"):
        encode_output_beat(np.array([2**31, 0, 0, 0]), TINY)
    with pytest.raises(ValueError):
        decode_output_beat(1 << 128, TINY)
    with pytest.raises(ValueError):
        to_bytes(256, 8)


@settings(derandomize=True, deadline=None, max_examples=40)
@given(
    P=st.sampled_from([2, 4, 8]),
    R=st.sampled_from([4, 16]),
    C=st.sampled_from([4, 16, 32]),
    seed=st.integers(0, 2**32 - 1),
)
def test_round_trips(P: int, R: int, C: int, seed: int) -> None:
    cfg = HwConfig(P=P, R=R, C=C)
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 60))
    mask = nm_mask(rng.random((C, k)), 1, 2)
    w = np.where(mask, rng.integers(-128, 128, mask.shape), 0).astype(np.int8)
    tile = map_layer(w, 1, 2, cfg).tiles[0]
    beats = weight_beats(tile, cfg)
    for ps, pass_beats in enumerate(beats):
        for i, tdata in enumerate(pass_beats):
            assert tdata < 1 << cfg.W_TDATA
            dw, db, dq = decode_weight_beat(tdata, cfg)
            p, r = divmod(i, R)
            assert dw.tolist() == tile.weight[ps, p, r].tolist()
            assert db.tolist() == tile.meta[ps, p, r].tolist() and dq == tile.q[ps, p, r]
    rows = gather_activations(tile, rng.integers(-128, 128, (3, k)).astype(np.int8), cfg)
    abeats = activation_beats(rows, cfg)
    for ps in range(tile.passes):
        for t in range(3):
            for r in range(R):
                assert (
                    decode_activation_beat(abeats[ps][t][r], cfg).tolist()
                    == rows[ps, t, r].tolist()
                )
    y = rng.integers(-(2**31), 2**31, C)
    assert decode_output_beat(encode_output_beat(y, cfg), cfg).tolist() == y.tolist()
    assert int.from_bytes(to_bytes(beats[0][0], cfg.W_TDATA), "little") == beats[0][0]


def test_per_column_tile_has_no_encoding() -> None:
    w = np.array([[1, 0, 0, 1]], np.int8)
    tile = map_layer(w, 1, 2, TINY, mode="per-column").tiles[0]
    with pytest.raises(ValueError, match="4 pair selects per slot row"):
        weight_beats(tile, TINY)

"""Mapper: hand-worked images, statistics, refusals, and mapping properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden.config import HwConfig, UnsupportedPattern, supported_patterns
from golden.mapper import gather_activations, map_layer
from golden.masks import nm_mask, pair_shared_mask
from golden.nm_format import NMViolation

# Group 0: column 0 uses both elements of pair 0, column 1 pair 0 and pair 1 -> the pairs
# need 2 + 1 = 3 slots > N = 2 -> two positions. Group 1: columns need different pairs,
# one element each -> 2 slots, one position.
W = np.array([[5, -7, 0, 0, 0, 4, 0, 0], [3, 0, 9, 0, 0, 0, 0, -2]], dtype=np.int8)
CFG = HwConfig(P=4, R=4, C=2)


def test_hand_worked_pair_shared() -> None:
    mp = map_layer(W, 2, 4, CFG)
    (t,) = mp.tiles
    assert (mp.n_hw, mp.m_hw, mp.k_padded) == (2, 4, 8)
    assert (t.groups, t.positions, t.slots_used, t.passes) == (2, 3, 5, 1)
    assert mp.effective_speedup == pytest.approx(8 / (3 * 2))
    # Positions in order pos = r * 2 + s: group 0 at (r0, s0), (r0, s1); group 1 at (r1, s0).
    assert t.window[0].tolist() == [[0, 0], [1, -1], [-1, -1], [-1, -1]]
    # (sub-macro p, row r) -> (q, column weights, column b); p = s * N_hw + slot-in-set.
    want = {
        (0, 0): (0, [5, 3], [0, 0]),  # pair 0, element 0
        (1, 0): (0, [-7, 0], [1, 1]),  # pair 0, element 1
        (2, 0): (1, [0, 9], [0, 0]),  # pair 1: col 1's k=2 is element 0
        (0, 1): (0, [4, 0], [1, 0]),  # group 1 pair 0: col 0's k=5 is element 1
        (1, 1): (1, [0, -2], [0, 1]),  # group 1 pair 1: col 1's k=7 is element 1
    }
    for p in range(4):
        for r in range(4):
            q, w, b = want.get((p, r), (0, [0, 0], [0, 0]))
            assert t.q[0, p, r] == q, (p, r)
            assert t.weight[0, p, r].tolist() == w, (p, r)
            assert t.meta[0, p, r].tolist() == b, (p, r)
    assert mp.csr(0, 3) == {"N": 2, "M": 4, "PASSES": 1, "TOKENS": 3}


def test_hand_worked_per_column() -> None:
    mp = map_layer(W, 2, 4, CFG, mode="per-column")
    (t,) = mp.tiles
    assert (t.positions, t.slots_used) == (2, 3)
    assert t.q.shape == (1, 4, 4, 2)
    # Group 0 slot 0: col 0 k=0 (q0 b0), col 1 k=0; slot 1: col 0 k=1 (q0 b1), col 1 k=2 (q1 b0).
    assert t.weight[0, :2, 0].tolist() == [[5, 3], [-7, 9]]
    assert t.q[0, :2, 0].tolist() == [[0, 0], [0, 1]]
    assert t.meta[0, :2, 0].tolist() == [[0, 0], [1, 0]]
    # Group 1 at position 1 = (r0, s1) -> sub-macro 2: col 0 k=5 (q0 b1), col 1 k=7 (q1 b1).
    assert (t.weight[0, 2, 0].tolist(), t.q[0, 2, 0].tolist(), t.meta[0, 2, 0].tolist()) == (
        [4, -2],
        [0, 1],
        [1, 1],
    )
    assert t.window[0, 0].tolist() == [0, 1]


def test_gather_hand_worked() -> None:
    mp = map_layer(W, 2, 4, CFG)
    x = np.arange(1, 17, dtype=np.int8).reshape(2, 8)
    rows = gather_activations(mp.tiles[0], x, CFG)
    assert rows.shape == (1, 2, 4, 32)
    # Row 0: sets 0 and 1 both hold group 0 (lanes 0..3 and 8..11); row 1 set 0 group 1.
    assert rows[0, 1, 0, :12].tolist() == [9, 10, 11, 12, 0, 0, 0, 0, 9, 10, 11, 12]
    assert rows[0, 1, 1, :4].tolist() == [13, 14, 15, 16]
    assert not rows[0, :, 1, 4:].any() and not rows[0, :, 2:].any()


def test_dense_and_padding() -> None:
    cfg = HwConfig(P=4, R=4, C=4)
    w = np.full((6, 37), -128, np.int8)
    mp = map_layer(w, 8, 8, cfg)
    assert (mp.n_hw, mp.m_hw, mp.k_padded, len(mp.tiles)) == (4, 4, 40, 2)
    assert mp.tiles[1].cols == 2 and not mp.tiles[1].weight[..., 2:].any()
    # Dense: 10 groups of 4, one per position, 4 positions (rows) per pass -> 3 passes.
    assert [t.passes for t in mp.tiles] == [3, 3]
    assert mp.tiles[0].positions == 10 and mp.effective_speedup == pytest.approx(1.0)


def test_all_zero_groups_take_a_position() -> None:
    w = np.zeros((4, 16), np.int8)
    mp = map_layer(w, 1, 4, HwConfig(P=4, R=4, C=4))
    assert mp.tiles[0].positions == 4 and mp.tiles[0].slots_used == 0
    assert mp.effective_speedup == pytest.approx(4.0)


def test_refusals() -> None:
    with pytest.raises(NMViolation, match="row 0, group 0"):
        map_layer(np.ones((2, 4), np.int8), 2, 4, CFG)
    with pytest.raises(UnsupportedPattern, match="power of two"):
        map_layer(np.zeros((2, 8), np.int8), 3, 8, CFG)
    with pytest.raises(UnsupportedPattern, match="2P"):
        map_layer(np.zeros((2, 10), np.int8), 1, 10, CFG)
    with pytest.raises(ValueError, match="mode"):
        map_layer(np.zeros((2, 4), np.int8), 2, 4, CFG, mode="ideal")
    with pytest.raises(TypeError, match="integer"):
        map_layer(np.zeros((2, 4)), 2, 4, CFG)
    with pytest.raises(ValueError, match="WB=8"):
        map_layer(np.array([[200, 0, 0, 0]]), 2, 4, CFG)
    with pytest.raises(ValueError, match="2-D"):
        map_layer(np.zeros(4, np.int8), 2, 4, CFG)
    mp = map_layer(W, 2, 4, CFG)
    with pytest.raises(ValueError, match="groups"):
        gather_activations(mp.tiles[0], np.zeros((1, 12), np.int8), CFG)


def test_map_1536x576_is_fast_enough_to_use() -> None:
    # Not a timing assertion: it maps the bench-size layer and checks the statistics agree.
    rng = np.random.default_rng(0)
    metric = rng.random((1536, 576))
    w = np.where(pair_shared_mask(metric, 2, 4, 16), 1, 0).astype(np.int8)
    mp = map_layer(w, 2, 4, HwConfig())
    assert len(mp.tiles) == 96 and mp.effective_speedup == pytest.approx(2.0)


@st.composite
def _layer(draw: st.DrawFn) -> tuple:
    P = draw(st.sampled_from([2, 4, 8]))
    R = draw(st.sampled_from([4, 16, 64]))
    C = draw(st.sampled_from([4, 16, 32]))
    n, m = draw(st.sampled_from(supported_patterns(P)))
    cout, k = draw(st.integers(1, 70)), draw(st.integers(1, 90))
    seed = draw(st.integers(0, 2**32 - 1))
    return HwConfig(P=P, R=R, C=C), n, m, cout, k, np.random.default_rng(seed)


@settings(derandomize=True, deadline=None, max_examples=150)
@given(_layer())
def test_per_column_positions_equal_groups(layer: tuple) -> None:
    cfg, n, m, cout, k, rng = layer
    mask = nm_mask(rng.random((cout, k)), n, m)
    w = np.where(mask, rng.integers(-128, 128, mask.shape), 0).astype(np.int8)
    ideal = map_layer(w, n, m, cfg, mode="per-column")
    shared = map_layer(w, n, m, cfg)
    for ti, ts in zip(ideal.tiles, shared.tiles, strict=True):
        assert ti.positions == ti.groups <= ts.positions
        assert ti.slots_used <= ts.slots_used
        assert ts.slots_used <= ts.positions * ts.n_hw
        assert ts.passes == -(-ts.positions // (cfg.R * cfg.P // ts.n_hw))
    assert ideal.effective_speedup == pytest.approx(ideal.m_hw / ideal.n_hw)
    assert shared.effective_speedup <= ideal.effective_speedup + 1e-12


@settings(derandomize=True, deadline=None, max_examples=150)
@given(_layer())
def test_pair_shared_masks_always_fit(layer: tuple) -> None:
    cfg, n, m, cout, k, rng = layer
    if m % 2:
        return  # odd-M dense layers have no pairs; per-channel covers them
    mask = pair_shared_mask(rng.random((cout, k)), n, m, cfg.C)
    w = np.where(mask, rng.integers(-128, 128, mask.shape), 0).astype(np.int8)
    mp = map_layer(w, n, m, cfg)
    for t in mp.tiles:
        assert t.positions == t.groups
        assert t.slots_used <= t.groups * t.n_hw
    assert mp.effective_speedup == pytest.approx(mp.m_hw / mp.n_hw)
    # Every non-zero weight appears exactly once in the images (none lost, none duplicated).
    total = sum(int(np.count_nonzero(t.weight)) for t in mp.tiles)
    assert total == np.count_nonzero(w)

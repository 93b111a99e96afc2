"""Select-sharing width G (columns sharing one pair select): config, mapper, beats, datapath.

G = C is today's core (one select per slot row), G = 1 one select per cell (the per-column
mode as real hardware). Every G must compute exactly `reference_matmul`, masks shared over
G columns must map with no spill, and a finer G never needs more positions.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden.beats import decode_weight_beat, weight_beats
from golden.config import HwConfig, supported_patterns
from golden.cycle_model import job_cycles, layer_cycles
from golden.datapath import layer_forward
from golden.mapper import map_layer
from golden.masks import nm_mask, pair_shared_mask
from golden.reference import reference_matmul

SMALL = HwConfig(P=4, R=4, C=4, MAX_TOK=4)


def test_g_defaults_to_c_and_must_divide_c() -> None:
    assert HwConfig().G == 16 and HwConfig(C=12).G == 12
    assert HwConfig(C=12, G=3).SELS == 4
    for bad in (0, 5, 32, -4):
        with pytest.raises(ValueError, match=f"G={bad}: must divide C=16"):
            HwConfig(G=bad)


def test_w_tdata_grows_by_one_select_per_group() -> None:
    # roundup8(C*WB + C + (C/G)*QW): 16*8 + 16 + {1, 4, 16}*2 = 146, 152, 176 bits.
    assert [HwConfig(G=g).W_TDATA for g in (16, 4, 1)] == [152, 152, 176]
    assert [HwConfig(P=4, R=4, C=4, G=g).W_TDATA for g in (4, 2, 1)] == [40, 40, 48]


def test_hand_worked_g2_fits_where_g4_spills() -> None:
    # Columns 0 and 1 use pair 0 only, columns 2 and 3 pair 1 only: with one select per two
    # columns every group fits N_hw = 2 slots; one select for all four needs 4 slots.
    w = np.array([[1, 2, 0, 0], [3, 4, 0, 0], [0, 0, 5, 6], [0, 0, 0, 8]], np.int8)
    shared = map_layer(w, 2, 4, SMALL)
    assert shared.tiles[0].positions == 2 and shared.effective_speedup == 1.0
    mp = map_layer(w, 2, 4, HwConfig(P=4, R=4, C=4, G=2))
    t = mp.tiles[0]
    assert (t.positions, t.q.shape, mp.effective_speedup) == (1, (1, 4, 4, 2), 2.0)
    assert t.q[0, :2, 0].tolist() == [[0, 1], [0, 1]]  # slots p=0, 1 of row 0
    assert t.weight[0, :2, 0].tolist() == [[1, 3, 5, 0], [2, 4, 6, 8]]
    assert t.meta[0, :2, 0].tolist() == [[0, 0, 0, 0], [1, 1, 1, 1]]
    assert t.cell_q()[0, 1, 0].tolist() == [0, 0, 1, 1]


def test_per_column_mode_is_g1() -> None:
    rng = np.random.default_rng(7)
    w = np.where(nm_mask(rng.random((9, 40)), 2, 8), rng.integers(-128, 128, (9, 40)), 0)
    ideal = map_layer(w.astype(np.int8), 2, 8, SMALL, mode="per-column")
    real = map_layer(w.astype(np.int8), 2, 8, HwConfig(P=4, R=4, C=4, G=1))
    for a, b in zip(ideal.tiles, real.tiles, strict=True):
        for name in ("weight", "meta", "q", "window"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
    with pytest.raises(ValueError, match="4 pair selects per slot row, the core G=4 takes 1"):
        weight_beats(ideal.tiles[0], SMALL)
    assert weight_beats(real.tiles[0], HwConfig(P=4, R=4, C=4, G=1))


@pytest.mark.parametrize("g", [16, 4, 1])
def test_beats_carry_one_select_per_group(g: int) -> None:
    cfg = HwConfig(G=g)
    rng = np.random.default_rng(g)
    w = np.where(nm_mask(rng.random((16, 256)), 2, 4), rng.integers(-128, 128, (16, 256)), 0)
    tile = map_layer(w.astype(np.int8), 2, 4, cfg).tiles[0]
    beats = weight_beats(tile, cfg)
    for ps in range(tile.passes):
        for p in range(cfg.P):
            for r in range(cfg.R):
                tdata = beats[ps][p * cfg.R + r]
                assert tdata < 1 << cfg.W_TDATA
                wt, meta, q = decode_weight_beat(tdata, cfg)
                assert wt.tolist() == tile.weight[ps, p, r].tolist()
                assert meta.tolist() == tile.meta[ps, p, r].tolist()
                assert np.atleast_1d(q).tolist() == np.atleast_1d(tile.q[ps, p, r]).tolist()
                # Select g sits at [C*WB + C + g*QW +: QW] and serves columns g*G .. g*G+G-1.
                base = cfg.C * cfg.WB + cfg.C
                for s in range(cfg.SELS):
                    raw = (tdata >> (base + s * cfg.QW)) & ((1 << cfg.QW) - 1)
                    assert raw == tile.cell_q()[ps, p, r, s * g]


def test_finer_g_never_needs_more_positions_and_cycles_follow() -> None:
    rng = np.random.default_rng(3)
    cfg16 = HwConfig()
    for n, m in ((2, 4), (1, 8), (2, 8), (4, 8)):
        w = np.where(nm_mask(rng.random((48, 512)), n, m), rng.integers(1, 128, (48, 512)), 0)
        w = w.astype(np.int8)
        maps = {g: map_layer(w, n, m, HwConfig(G=g)) for g in (16, 8, 4, 2, 1)}
        pos = [maps[g].positions for g in (16, 8, 4, 2, 1)]
        assert pos == sorted(pos, reverse=True), (n, m, pos)
        assert maps[1].effective_speedup == pytest.approx(m / n)  # G = 1 never spills
        assert pos[0] > pos[-1], (n, m)  # random per-channel masks do spill at G = C
        for g, mp in maps.items():
            cyc = layer_cycles(mp, 20, HwConfig(G=g))
            want = sum(job_cycles(p, t, cfg16).total for p in mp.passes for t in (16, 4))
            assert cyc.total == want


@pytest.mark.parametrize("g", [16, 4, 1])
@pytest.mark.parametrize(("n", "m"), [(1, 4), (2, 4), (2, 8), (4, 8)])
def test_masks_shared_over_g_columns_map_without_spill(g: int, n: int, m: int) -> None:
    cfg = HwConfig(G=g)
    rng = np.random.default_rng(n * 10 + m + g)
    mask = pair_shared_mask(rng.random((40, 300)), n, m, g)
    w = np.where(mask, rng.integers(1, 128, mask.shape), 0).astype(np.int8)
    mp = map_layer(w, n, m, cfg)
    assert all(t.positions == t.groups for t in mp.tiles)  # one position per group
    assert mp.effective_speedup == pytest.approx(m / n)
    x = rng.integers(-128, 128, (3, 300)).astype(np.int8)
    want = reference_matmul(w, x, acc_bits=cfg.ACC)
    assert np.array_equal(layer_forward(mp, x, cfg), want)
    assert np.array_equal(layer_forward(mp, x, cfg, stages=True), want)


@settings(derandomize=True, deadline=None, max_examples=150)
@given(
    P=st.sampled_from((2, 4, 8)),
    R=st.sampled_from((4, 16)),
    CG=st.sampled_from(((4, 4), (4, 2), (4, 1), (16, 16), (16, 4), (16, 1), (12, 3))),
    pattern_i=st.integers(0, 100),
    cout=st.integers(1, 40),
    k=st.integers(1, 130),
    tokens=st.integers(1, 5),
    worst=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_g_equals_reference_with_width_proof(
    P: int,
    R: int,
    CG: tuple[int, int],
    pattern_i: int,
    cout: int,
    k: int,
    tokens: int,
    worst: bool,
    seed: int,
) -> None:
    """Both datapath paths, any G; `worst` drives every product to +2**14 at the narrowest
    legal ACC, so the stage model's width checks and the ACC wrap really run."""
    c, g = CG
    cfg = HwConfig(P=P, R=R, C=c, G=g)
    if worst:
        cfg = HwConfig(P=P, R=R, C=c, G=g, ACC=cfg.merge_bits)
    n, m = supported_patterns(P)[pattern_i % len(supported_patterns(P))]
    rng = np.random.default_rng(seed)
    mask = nm_mask(rng.random((cout, k)), n, m)
    w = np.where(mask, rng.integers(-128, 128, mask.shape), 0).astype(np.int8)
    x = rng.integers(-128, 128, (tokens, k)).astype(np.int8)
    if worst:
        w, x = np.where(mask, -128, 0).astype(np.int8), np.full((tokens, k), -128, np.int8)
    mp = map_layer(w, n, m, cfg)
    want = reference_matmul(w, x, acc_bits=cfg.ACC)
    assert np.array_equal(layer_forward(mp, x, cfg, stages=True), want)
    assert np.array_equal(layer_forward(mp, x, cfg), want)

"""The structured datapath model equals the plain reference, for every kind of input.

`test_structured_equals_reference_10k` is the issue's required evidence: >= 10,000 random
cases over every supported (N, M) and P in {2, 4, 8}, R in {4, 16, 64}, C in {4, 16, 32}.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden.config import HwConfig, supported_patterns
from golden.datapath import layer_forward, structured_forward, tile_weight_matrix
from golden.mapper import gather_activations, map_layer
from golden.masks import nm_mask, pair_shared_mask
from golden.reference import reference_matmul

PS, RS, CS = (2, 4, 8), (4, 16, 64), (4, 16, 32)
MASK_MODES = ("per-channel", "pair-shared", "per-channel-thinned")


def _case(
    rng: np.random.Generator,
    cfg: HwConfig,
    n: int,
    m: int,
    mask_mode: str,
    cout: int,
    k: int,
    tokens: int,
    worst: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Random n:m layer; `worst` makes every kept product +2**14 so sums reach the ACC limit."""
    metric = rng.random((cout, k))
    if mask_mode == "pair-shared" and m % 2 == 0:
        mask = pair_shared_mask(metric, n, m, cfg.C)
    else:
        mask = nm_mask(metric, n, m)
    if mask_mode == "per-channel-thinned":
        mask &= rng.random(mask.shape) < 0.6
    # Extremes (-128, 127) a quarter of the time so products hit their widest values.
    vals = np.where(
        rng.random(mask.shape) < 0.25,
        rng.choice([-128, 127], mask.shape),
        rng.integers(-128, 128, mask.shape),
    )
    w = np.where(mask, vals, 0).astype(np.int8)
    x = np.where(rng.random((tokens, k)) < 0.25, -128, rng.integers(-128, 128, (tokens, k)))
    if worst:
        w, x = np.where(mask, -128, 0), np.full((tokens, k), -128)
    return w.astype(np.int8), x.astype(np.int8)


def test_structured_equals_reference_10k() -> None:
    rng = np.random.default_rng(20250710)
    configs = [HwConfig(P=p, R=r, C=c) for p in PS for r in RS for c in CS]
    cases, multi_pass, wrapped, seen = 0, 0, 0, set()
    start = time.perf_counter()
    while cases < 10_000:
        cfg = configs[cases % len(configs)]
        patterns = supported_patterns(cfg.P)
        n, m = patterns[int(rng.integers(len(patterns)))]
        mask_mode = MASK_MODES[int(rng.integers(3))]
        map_mode = "per-column" if rng.random() < 0.25 else "pair-shared"
        worst = rng.random() < 0.1  # narrowest legal accumulator, largest sums: really wraps
        if worst:
            cfg = dataclasses.replace(cfg, ACC=cfg.merge_bits)
        cout, k, tokens = (int(v) for v in rng.integers(1, [2 * cfg.C + 1, 80, 5]))
        w, x = _case(rng, cfg, n, m, mask_mode, cout, k, tokens, worst)
        mapping = map_layer(w, n, m, cfg, map_mode)
        got = layer_forward(mapping, x, cfg, stages=True)
        exact = reference_matmul(w, x)
        want = reference_matmul(w, x, acc_bits=cfg.ACC)
        assert np.array_equal(got, want), (cfg, n, m, mask_mode, map_mode, cout, k, tokens)
        fast = layer_forward(mapping, x, cfg)  # dense matrix rebuilt from the images
        assert np.array_equal(fast, want), ("image rebuild", cfg, n, m, map_mode, cout, k)
        multi_pass += max(mapping.passes) > 1
        wrapped += not np.array_equal(exact, want)
        seen.add((cfg.P, cfg.R, cfg.C, n, m))
        cases += 1
    elapsed = time.perf_counter() - start
    every = {(p, r, c, n, m) for p in PS for r in RS for c in CS for n, m in supported_patterns(p)}
    assert cases >= 10_000
    assert seen == every, f"combinations never drawn: {sorted(every - seen)[:5]}"
    assert multi_pass > 500 and wrapped > 50  # accumulation across passes and ACC wrap ran
    print(
        f"\nstructured == reference on {cases} random cases "
        f"({len(seen)} (P, R, C, N, M) combinations, {multi_pass} multi-pass, "
        f"{wrapped} with ACC wrap) in {elapsed:.1f} s"
    )


@settings(derandomize=True, deadline=None, max_examples=200)
@given(
    P=st.sampled_from(PS),
    R=st.sampled_from(RS),
    C=st.sampled_from(CS),
    pattern_i=st.integers(0, 100),
    mask_mode=st.sampled_from(MASK_MODES),
    map_mode=st.sampled_from(["pair-shared", "per-column"]),
    cout=st.integers(1, 70),
    k=st.integers(1, 130),
    tokens=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_structured_equals_reference_property(
    P: int,
    R: int,
    C: int,
    pattern_i: int,
    mask_mode: str,
    map_mode: str,
    cout: int,
    k: int,
    tokens: int,
    seed: int,
) -> None:
    cfg = HwConfig(P=P, R=R, C=C)
    patterns = supported_patterns(P)
    n, m = patterns[pattern_i % len(patterns)]
    w, x = _case(np.random.default_rng(seed), cfg, n, m, mask_mode, cout, k, tokens)
    mapping = map_layer(w, n, m, cfg, map_mode)
    want = reference_matmul(w, x, acc_bits=cfg.ACC)
    assert np.array_equal(layer_forward(mapping, x, cfg, stages=True), want)
    assert np.array_equal(layer_forward(mapping, x, cfg), want)


def test_stale_lanes_cannot_leak() -> None:
    # Garbage in every lane the distribution must ignore (k >= M_hw, sets >= P/N_hw, empty
    # positions) changes nothing; garbage in a used lane does change the output.
    cfg = HwConfig(P=4, R=4, C=4)
    rng = np.random.default_rng(5)
    w, x = _case(rng, cfg, 1, 4, "per-channel", 4, 24, 2)
    tile = map_layer(w, 1, 4, cfg).tiles[0]
    rows = gather_activations(tile, x, cfg)
    clean = structured_forward(tile, rows, cfg)
    noisy = rows.reshape(tile.passes, 2, cfg.R, cfg.P, 2 * cfg.P).copy()
    used = np.zeros(noisy.shape, bool)
    for ps, r, s in zip(*np.nonzero(tile.window >= 0), strict=True):
        used[ps, :, r, s, : tile.m_hw] = True
    noisy[~used] = rng.integers(-128, 128, int((~used).sum()))
    noisy = noisy.reshape(rows.shape)
    assert np.array_equal(structured_forward(tile, noisy, cfg), clean)
    assert np.array_equal(clean, reference_matmul(w, x)[:, :4])


def test_checker_catches_a_mutated_image() -> None:
    # Negative test: flip one metadata bit of a used cell -> the comparison must fail.
    cfg = HwConfig(P=2, R=4, C=4)
    rng = np.random.default_rng(9)
    w, x = _case(rng, cfg, 1, 2, "per-channel", 4, 16, 3)
    x[x == 0] = 1
    tile = map_layer(w, 1, 2, cfg).tiles[0]
    ps, p, r, c = (int(v[0]) for v in np.nonzero(tile.weight))
    meta = tile.meta.copy()
    meta[ps, p, r, c] ^= 1
    bad = dataclasses.replace(tile, meta=meta)
    rows = gather_activations(tile, x, cfg)
    want = reference_matmul(w, x)
    assert np.array_equal(structured_forward(tile, rows, cfg), want)
    assert not np.array_equal(structured_forward(bad, rows, cfg), want)


def test_rows_shape_checked() -> None:
    cfg = HwConfig(P=2, R=4, C=4)
    tile = map_layer(np.ones((4, 2), np.int8) * np.array([1, 0], np.int8), 1, 2, cfg).tiles[0]
    with pytest.raises(ValueError, match="lanes"):
        structured_forward(tile, np.zeros((1, 1, 4, 7), np.int8), cfg)


def test_image_rebuild_reads_only_the_images() -> None:
    """layer_forward's fast path sees what the RTL sees: corrupt one image cell, the result
    changes exactly as the stage-by-stage model's does."""
    cfg = HwConfig(P=4, R=4, C=4)
    rng = np.random.default_rng(3)
    w, x = _case(rng, cfg, 2, 4, "per-channel", 6, 40, 3)
    mapping = map_layer(w, 2, 4, cfg)
    tile = mapping.tiles[0]
    cell = tuple(int(i) for i in np.argwhere(tile.weight != 0)[0])
    tile.meta[cell] ^= 1  # the cell now multiplies the other element of its pair
    fast, staged = layer_forward(mapping, x, cfg), layer_forward(mapping, x, cfg, stages=True)
    assert np.array_equal(fast, staged)
    assert not np.array_equal(fast, reference_matmul(w, x, acc_bits=cfg.ACC))


@pytest.mark.parametrize("image", ["meta", "q", "window"])
def test_image_rebuild_follows_every_image(image: str) -> None:
    """Corrupt one live cell's metadata bit, its row's pair select, or its row's window entry:
    the fast rebuild changes exactly as the stage-by-stage model does (q and window are read
    per row, so a bug in that indexing shows up here)."""
    cfg = HwConfig(P=4, R=4, C=4)
    rng = np.random.default_rng(11)
    w, x = _case(rng, cfg, 2, 8, "per-channel", 7, 64, 3)
    x[x == 0] = 1
    mapping = map_layer(w, 2, 8, cfg)
    tile = mapping.tiles[0]
    ps, p, r, c = (int(i) for i in np.argwhere(tile.weight != 0)[0])
    if image == "meta":
        tile.meta[ps, p, r, c] ^= 1
    elif image == "q":
        tile.q[ps, p, r] = (int(tile.q[ps, p, r]) + 1) % (tile.m_hw // 2)
    else:
        tile.window[ps, r, p // tile.n_hw] = -1  # the position now reads zero
    fast, staged = layer_forward(mapping, x, cfg), layer_forward(mapping, x, cfg, stages=True)
    assert np.array_equal(fast, staged)
    assert not np.array_equal(fast, reference_matmul(w, x, acc_bits=cfg.ACC))


def test_tile_weight_matrix_is_what_the_job_computes() -> None:
    cfg = HwConfig(P=4, R=4, C=4)
    rng = np.random.default_rng(12)
    w, x = _case(rng, cfg, 1, 4, "per-channel", 6, 40, 3)
    mapping = map_layer(w, 1, 4, cfg)
    for tile in mapping.tiles:
        dense = tile_weight_matrix(tile, mapping.k, cfg)
        rows = gather_activations(tile, x, cfg)
        assert np.array_equal(reference_matmul(dense, x), structured_forward(tile, rows, cfg))
        assert np.array_equal(dense[: tile.cols], w[tile.col_start : tile.col_start + tile.cols])

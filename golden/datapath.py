"""Structured datapath model: computes from the tile images and activation lanes only.

Stage by stage as the RTL does it (FLEXCIM.md §3, ARCHITECTURE §1): the distribution gives
the cells of slot (p, r) in select group g (G columns) pair q[g] of the group in its set's
lanes (q >= M_hw/2 reads zero), each cell multiplies its weight by element b of the pair, a
column adder tree sums R rows, a merge tree sums P sub-macros, and the accumulator adds passes
wrapping to ACC bits. Every adder level asserts its values fit the RTL width, so a width
mistake in the spec shows up here first.

On a baseline core (`HwConfig.FIXED_N/FIXED_M`, ARCHITECTURE §1) `wired_selects` replaces the
stored selects by the core's wiring: the dense DCiM ignores q and b (slot p takes pair p // 2,
element p % 2), the fixed 1:2 core ignores q (pair 0 of its set), the fixed 2:4 core reads
only q's low bit (a 2:1 pair mux).
"""

from __future__ import annotations

import numpy as np

from golden.config import HwConfig
from golden.mapper import LayerMapping, TileImage, cell_selects, gather_activations
from golden.reference import reference_matmul, wrap_signed


def _fits(v: np.ndarray, bits: int, what: str) -> None:
    lim = 1 << (bits - 1)
    if v.size and (int(v.min()) < -lim or int(v.max()) >= lim):
        raise AssertionError(f"{what} overflows its {bits}-bit register")


def _adder_tree(v: np.ndarray, axis: int, in_bits: int, what: str) -> np.ndarray:
    """Pairwise binary tree over `axis` (a power of two), one level per register stage."""
    v = np.moveaxis(v, axis, -1)
    bits = in_bits
    while v.shape[-1] > 1:
        v = v[..., 0::2] + v[..., 1::2]
        bits += 1
        _fits(v, bits, what)
    return v[..., 0]


def wired_selects(q: np.ndarray, meta: np.ndarray, cfg: HwConfig) -> tuple[np.ndarray, np.ndarray]:
    """The pair select and element every cell really uses on cfg's core.

    q, meta: [..., P, R, C] (the stored selects per cell and metadata bits). FlexCiM uses them
    as stored; the dense DCiM wires slot p to pair p // 2, element p % 2 (it stores neither);
    the fixed 1:2 core wires pair 0 (no q storage); the fixed 2:4 core has a 2:1 pair mux
    (q's low bit) and b.
    """
    kind = cfg.core_kind
    if kind == "flexcim":
        return q, meta
    if kind == "dense":
        p = np.arange(cfg.P).reshape(-1, 1, 1)
        return np.broadcast_to(p // 2, q.shape), np.broadcast_to(p % 2, meta.shape)
    if cfg.fixed_pattern == (1, 2):
        return np.zeros_like(q), meta
    return q & 1, meta


def check_served(n_hw: int, m_hw: int, cfg: HwConfig) -> None:
    """A baseline core runs its own hardware pattern only (the RTL refuses others: code 6)."""
    if cfg.fixed_pattern is not None and (n_hw, m_hw) != cfg.fixed_pattern:
        raise ValueError(
            f"{n_hw}:{m_hw} images on a {cfg.core_kind} core serving only "
            f"{cfg.FIXED_N}:{cfg.FIXED_M} (the start fails with code 6)"
        )


def distribute(tile: TileImage, rows: np.ndarray, cfg: HwConfig) -> np.ndarray:
    """Activation each cell sees: rows [passes, T, R, A_LANES] -> int64 [passes, T, P, R, C]."""
    P, R = cfg.P, cfg.R
    if rows.shape[0] != tile.passes or rows.shape[2:] != (R, cfg.A_LANES):
        raise ValueError(
            f"rows {rows.shape} do not match {tile.passes} passes x R={R} x {cfg.A_LANES} lanes"
        )
    # Lane s*2P + 2q + e is element e of pair q of set s; the gate zeroes pairs q >= M_hw/2.
    pairs = rows.astype(np.int64).reshape(tile.passes, -1, R, P, P, 2)
    pairs[:, :, :, :, tile.m_hw // 2 :, :] = 0
    if tile.meta.shape[3] % tile.sels:
        raise ValueError(f"q {tile.q.shape}: {tile.sels} selects do not divide the columns")
    q = tile.cell_q()  # select group g of G columns: every cell of it sees select g
    if q.shape != tile.meta.shape or int(q.max(initial=0)) >= P:
        raise ValueError(f"q {tile.q.shape} does not fit the images or selects >= P")
    check_served(tile.n_hw, tile.m_hw, cfg)
    q, b = wired_selects(q, tile.meta, cfg)  # a baseline's wiring (FlexCiM: as stored)
    ps, p, r, _ = np.indices(tile.meta.shape, sparse=True)
    s = p // tile.n_hw  # set of sub-macro p
    a = pairs[ps, :, r, s, q, b]  # [passes, P, R, C, T]
    return np.moveaxis(a, -1, 1)


def structured_forward(tile: TileImage, rows: np.ndarray, cfg: HwConfig) -> np.ndarray:
    """One job: int64 (T, C) outputs, wrapped to ACC bits, from the images and lanes only."""
    a = distribute(tile, rows, cfg)
    prod = tile.weight.astype(np.int64)[:, None] * a  # [passes, T, P, R, C]
    _fits(prod, cfg.product_bits, "cell product")
    col = _adder_tree(prod, 3, cfg.product_bits, "column adder tree")  # [passes, T, P, C]
    merged = _adder_tree(col, 2, cfg.column_bits, "merge tree")  # [passes, T, C]
    acc = np.zeros(merged.shape[1:], np.int64)
    for ps in range(tile.passes):  # acc[t] = first pass ? sum : acc[t] + sum, ACC bits
        acc = wrap_signed(acc + merged[ps], cfg.ACC)
    return acc


def _stacked_cells(
    tiles: list[TileImage],
    n_hw: int,
    m_hw: int,
    k: int,
    channel_of_column: np.ndarray,
    cfg: HwConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """(flat (channel * k + input index), weight) of every cell of `tiles`, dead cells zeroed.

    Cell (pass, p, r, c) multiplies activation 2q + b of the group at window (pass, r, set
    of p), exactly as `distribute` routes it; a pair select q >= M_hw/2, an empty window, an
    input index in the K padding or a padding column reads zero, so such a cell gets weight 0
    (and index 0). The tiles' images are stacked along the pass axis and handled in one
    broadcast pass: per-row quantities stay per row, only the last steps are per cell.
    `channel_of_column` [passes, C] is each column's output channel, -1 for padding.
    """
    one = len(tiles) == 1
    weight = tiles[0].weight if one else np.concatenate([t.weight for t in tiles])
    meta = tiles[0].meta if one else np.concatenate([t.meta for t in tiles])
    window = tiles[0].window if one else np.concatenate([t.window for t in tiles])
    q_img = tiles[0].q if one else np.concatenate([t.q for t in tiles])
    _, P, _, _ = weight.shape
    # Group of every (pass, p, r) row: window [pass, r, set of p] -> [pass, p, r, 1].
    group = np.swapaxes(window[:, :, np.arange(P) // n_hw], 1, 2)[..., None].astype(np.int32)
    q = cell_selects(q_img, weight.shape[3]).astype(np.int32)  # q of G columns, per cell
    check_served(n_hw, m_hw, cfg)
    q, meta = wired_selects(q, meta, cfg)  # a baseline's wiring (FlexCiM: as stored)
    col_k = group * m_hw + 2 * q + meta
    channel = channel_of_column[:, None, None, :]
    live = (group >= 0) & (q < m_hw // 2) & (col_k < k) & (channel >= 0)
    flat = np.where(live, channel.astype(np.int64) * k + col_k, 0)
    return flat.ravel(), np.where(live, weight, 0).ravel()


def _dense_from_cells(flat: np.ndarray, w: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Sum the cells' weights into a dense int64 matrix (cells sharing an entry add up)."""
    dense = np.bincount(flat, weights=w, minlength=shape[0] * shape[1])
    return dense.astype(np.int64).reshape(shape)  # sums of int8 weights: exact in float64


def _channels(tiles: list[TileImage], C: int, offset: bool) -> np.ndarray:
    """Output channel of every column of every pass [passes, C]; -1 for padding columns."""
    c = np.arange(C)
    per_tile = [
        np.broadcast_to(np.where(c < t.cols, c + (t.col_start if offset else 0), -1), (t.passes, C))
        for t in tiles
    ]
    return np.concatenate(per_tile)


def tile_weight_matrix(tile: TileImage, k: int, cfg: HwConfig) -> np.ndarray:
    """The dense int64 (C, K) matrix one job computes, rebuilt from its images only."""
    C = tile.weight.shape[3]
    channels = _channels([tile], C, offset=False)
    cells = _stacked_cells([tile], tile.n_hw, tile.m_hw, k, channels, cfg)
    return _dense_from_cells(*cells, (C, k))


def layer_forward(
    mapping: LayerMapping, x: np.ndarray, cfg: HwConfig, stages: bool = False
) -> np.ndarray:
    """All jobs of a layer: x (T, K) -> int64 (T, Cout), each output wrapped to ACC bits.

    Computed from the tile images only. By default all tiles' images are turned back into
    the dense matrix the jobs compute (one broadcast pass over the stacked images, as
    `tile_weight_matrix` does for one tile) and one exact matmul runs per layer: the RTL's
    adder trees never overflow (`structured_forward` proves the widths) and wrapping once
    equals wrapping per pass, so the result is bit-identical. `stages=True` runs the
    stage-by-stage model (`structured_forward`) per tile instead: slower, for width proofs.
    """
    xa = np.asarray(x)
    if xa.ndim != 2 or xa.shape[1] != mapping.k:
        raise ValueError(f"x must be (T, K={mapping.k}), got {xa.shape}")
    if not stages:
        tiles = mapping.tiles
        channels = _channels(tiles, tiles[0].weight.shape[3], offset=True)
        cells = _stacked_cells(tiles, mapping.n_hw, mapping.m_hw, mapping.k, channels, cfg)
        dense = _dense_from_cells(*cells, (mapping.cout, mapping.k))
        return reference_matmul(dense, xa, acc_bits=cfg.ACC)
    y = np.zeros((xa.shape[0], mapping.cout), np.int64)
    for tile in mapping.tiles:
        rows = gather_activations(tile, xa, cfg)
        y[:, tile.col_start : tile.col_start + tile.cols] = structured_forward(tile, rows, cfg)[
            :, : tile.cols
        ]
    return y

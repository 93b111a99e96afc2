"""Layer -> per-job hardware images (docs/ARCHITECTURE.md §2) and the activation gather.

One column tile of C output channels is one job. Its groups of M_hw inputs get slots
(pair-shared: per pair, the most non-zeros any column of the tile has in it), the slots fill
positions (N_hw slots each) in order, positions fill rows and sets in order, and R * P / N_hw
positions make a pass. The images are exactly what the RTL loads.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from golden.config import HwConfig, UnsupportedPattern, hw_pattern
from golden.nm_format import check_nm, group_nnz, pad_k

MODES = ("pair-shared", "per-column")
# Modes of a baseline core's mapping (map_layer_fixed): "fixed" is a compliant layer at the
# core's fixed sparse pattern (one position per group); "dense" places element k of each
# group at slot k, uncompressed (the dense DCiM, or a non-compliant layer on a fixed core).
FIXED_MODES = ("fixed", "dense")


@dataclass(frozen=True)
class TileImage:
    """Images of one column tile (one job).

    `q` holds one pair select per (slot row, select group of G columns): [passes, P, R] when
    one select serves all C columns (G = C, today's core), else [passes, P, R, C / G]
    (mode "per-column" is G = 1: [passes, P, R, C]).
    """

    n_hw: int
    m_hw: int
    passes: int
    col_start: int
    cols: int  # valid columns (<= C); the rest are zero padding
    weight: np.ndarray  # int8 [passes, P, R, C]
    meta: np.ndarray  # uint8 [passes, P, R, C], 0/1
    q: np.ndarray  # uint8 [passes, P, R] (G = C) or [passes, P, R, C / G]
    window: np.ndarray  # int32 [passes, R, P // n_hw], group index or -1
    groups: int
    positions: int
    slots_used: int
    # Input channel order of the layer (int (K,), None: identity): group g of the tile holds
    # the channels perm[g*M_hw : (g+1)*M_hw]; gather_activations streams x[:, perm].
    perm: np.ndarray | None = None

    @property
    def sels(self) -> int:
        """Pair selects per slot row (C / G of the mapping)."""
        return 1 if self.q.ndim == 3 else int(self.q.shape[3])

    def cell_q(self) -> np.ndarray:
        """The pair select every cell sees: uint8 [passes, P, R, C] (q repeated over G)."""
        return cell_selects(self.q, self.weight.shape[3])


def cell_selects(q: np.ndarray, columns: int) -> np.ndarray:
    """q images [.., P, R] or [.., P, R, C/G] -> the select of every cell [.., P, R, C].

    The one home of q indexing (`TileImage.cell_q`; golden.datapath applies it to the images
    of a whole layer stacked along the pass axis).
    """
    q = q if q.ndim == 4 else q[..., None]
    return np.repeat(q, columns // q.shape[3], axis=3)


@dataclass(frozen=True)
class LayerMapping:
    n: int
    m: int
    n_hw: int
    m_hw: int
    mode: str
    cout: int
    k: int
    k_padded: int
    tiles: list[TileImage]
    effective_speedup: float  # K_padded / (positions * N_hw), mean over tiles
    perm: np.ndarray | None = None  # input channel order (None: identity), as in TileImage

    @property
    def passes(self) -> list[int]:
        return [t.passes for t in self.tiles]

    @property
    def positions(self) -> int:
        return sum(t.positions for t in self.tiles)

    @property
    def slots_used(self) -> int:
        return sum(t.slots_used for t in self.tiles)

    @property
    def groups(self) -> int:
        """Groups per tile (every tile has the same K)."""
        return self.k_padded // self.m_hw

    def csr(self, tile: int, tokens: int) -> dict[str, int]:
        """CSR values of job `tile` with `tokens` tokens (§3)."""
        return {"N": self.n_hw, "M": self.m_hw, "PASSES": self.tiles[tile].passes, "TOKENS": tokens}


def _check_weight(weight: np.ndarray, cfg: HwConfig) -> np.ndarray:
    w = np.asarray(weight)
    if w.ndim != 2 or min(w.shape) < 1:
        raise ValueError(f"weight must be a non-empty 2-D (Cout, K) array, got shape {w.shape}")
    if not np.issubdtype(w.dtype, np.integer):
        raise TypeError(f"weight must be an integer array, got {w.dtype}")
    lo, hi = -(1 << (cfg.WB - 1)), (1 << (cfg.WB - 1)) - 1
    if w.min() < lo or w.max() > hi:
        raise ValueError(f"weight values must fit WB={cfg.WB} signed bits ({lo}..{hi})")
    return w


def _shared_slots(wt: np.ndarray, width: int) -> tuple[np.ndarray, ...]:
    """Slots of one tile when every `width` consecutive columns share one pair select.

    wt: (C, groups, h, 2). Per select group (`width` columns) and pair j of a group,
    `need = max over its columns of nnz(column in pair j)` (0, 1 or 2); the select group's
    slots run in pair order (a 2-slot pair: element 0 then 1; a 1-slot pair: each column its
    non-zero, 0 if none). A group takes the slots of its widest select group; the other select
    groups leave their spare slots empty (w = 0, b = 0, q = 0). width = C is today's core,
    width = 1 one select per cell (slot k holds each column's k-th non-zero).
    Returns (group of each slot, q (C/width, S), b (C, S), w (C, S), slots per group).
    """
    c, g, h, _ = wt.shape
    sels = c // width
    nz = wt != 0
    need = nz.reshape(sels, width, g, h, 2).sum(-1).max(axis=1)  # (sels, groups, h)
    s_g = need.sum(-1).max(axis=0)  # (groups,): the widest select group's slots
    slot_first = np.cumsum(s_g) - s_g
    in_group = np.cumsum(need, -1) - need  # first slot of pair j inside its select group
    sel, grp, pair, nth = np.nonzero(need[..., None] > np.arange(2))
    slot = slot_first[grp] + in_group[sel, grp, pair] + nth
    total = int(s_g.sum())
    q = np.zeros((sels, total), np.int64)
    q[sel, slot] = pair
    col = sel[:, None] * width + np.arange(width)[None, :]  # (entries, width)
    two = (need[sel, grp, pair] == 2)[:, None]
    bb = np.where(two, nth[:, None], nz[col, grp[:, None], pair[:, None], 1].astype(np.int64))
    b = np.zeros((c, total), np.int64)
    w = np.zeros((c, total), wt.dtype)
    b[col, slot[:, None]] = bb
    w[col, slot[:, None]] = wt[col, grp[:, None], pair[:, None], bb]
    return np.repeat(np.arange(g), s_g), q, b, w, s_g


def _place_slots(
    cfg: HwConfig,
    n_hw: int,
    m_hw: int,
    col_start: int,
    cols: int,
    pos: np.ndarray,
    k_in_group: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    q_slot: np.ndarray,
    npos: np.ndarray,
    slots_used: int,
) -> TileImage:
    """One tile's image from its slots. Slot s sits at position pos[s] and is the
    k_in_group[s]-th slot of its group; w, b: (C, S) weight and element bit per column;
    q_slot: (selects, S) pair select; npos: positions per group (groups in order)."""
    P, R, C = cfg.P, cfg.R, cfg.C
    sets = P // n_hw
    per_pass = R * sets
    positions = int(npos.sum())
    passes = -(-positions // per_pass)
    # Position -> (pass, row, set); slot -> sub-macro p = set * N_hw + slot-in-set.
    ps, rest = pos // per_pass, pos % per_pass
    r, p = rest // sets, (rest % sets) * n_hw + k_in_group % n_hw
    weight = np.zeros((passes, P, R, C), np.int8)
    meta = np.zeros((passes, P, R, C), np.uint8)
    weight[ps, p, r] = w.T
    meta[ps, p, r] = b.T
    if q_slot.shape[0] == 1:  # one select per slot row (G = C): today's [passes, P, R]
        q = np.zeros((passes, P, R), np.uint8)
        q[ps, p, r] = q_slot[0]
    else:
        q = np.zeros((passes, P, R, q_slot.shape[0]), np.uint8)
        q[ps, p, r] = q_slot.T
    window = np.full(passes * per_pass, -1, np.int32)
    window[:positions] = np.repeat(np.arange(npos.size), npos)
    return TileImage(
        n_hw=n_hw,
        m_hw=m_hw,
        passes=passes,
        col_start=col_start,
        cols=cols,
        weight=weight,
        meta=meta,
        q=q,
        window=window.reshape(passes, R, sets),
        groups=int(npos.size),
        positions=positions,
        slots_used=slots_used,
    )


def _map_tile(
    wt: np.ndarray, n_hw: int, m_hw: int, cfg: HwConfig, mode: str, col_start: int, cols: int
) -> TileImage:
    width = cfg.sel_width if mode == "pair-shared" else 1
    grp, q_slot, b, w, s_g = _shared_slots(wt, width)
    if np.any(s_g > n_hw) and width == 1:  # a valid N:M mask never does this
        raise AssertionError("per-column slots exceed N_hw")
    npos = np.maximum(1, -(-s_g // n_hw))  # all-zero groups still take a position
    pos_start = np.cumsum(npos) - npos
    slot_first = np.cumsum(s_g) - s_g
    k_in_group = np.arange(grp.size) - slot_first[grp]
    pos = pos_start[grp] + k_in_group // n_hw
    return _place_slots(
        cfg, n_hw, m_hw, col_start, cols, pos, k_in_group, w, b, q_slot, npos, int(s_g.sum())
    )


def check_perm(perm: np.ndarray | None, k: int) -> np.ndarray | None:
    """`perm` as an int64 permutation of range(k) (None stays None); ValueError otherwise."""
    if perm is None:
        return None
    p = np.asarray(perm)
    if p.shape != (k,) or not np.issubdtype(p.dtype, np.integer):
        raise ValueError(f"perm must be an integer ({k},) array, got {p.dtype} {p.shape}")
    if not np.array_equal(np.sort(p), np.arange(k)):
        raise ValueError(f"perm is not a permutation of range({k})")
    return p.astype(np.int64)


def map_layer(
    weight: np.ndarray,
    n: int,
    m: int,
    cfg: HwConfig,
    mode: str = "pair-shared",
    perm: np.ndarray | None = None,
) -> LayerMapping:
    """Map an n:m integer weight matrix (Cout, K) onto jobs of the core.

    With `perm` (a permutation of range(K), issue 18), the core sees the input channels in that
    order: `weight[:, perm]` must be n:m and is what the jobs hold, and every tile carries the
    permutation so gather_activations streams x[:, perm]; the outputs stay y = W x.

    Raises UnsupportedPattern (pattern the macro cannot run), NMViolation (weight not n:m in
    the core's order), ValueError / TypeError (bad mode, shape, dtype, permutation or values
    wider than WB).
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: must be one of {MODES}")
    if cfg.fixed_pattern is not None:
        raise ValueError(
            f"the config is a {cfg.core_kind} baseline core ({cfg.FIXED_N}:{cfg.FIXED_M}): "
            "its images come from map_layer_fixed"
        )
    w = _check_weight(weight, cfg)
    n_hw, m_hw = hw_pattern(n, m, cfg.P)
    p = check_perm(perm, w.shape[1])
    if p is not None:
        w = w[:, p]
    check_nm(w, n, m)
    cout, k = w.shape
    C = cfg.C
    wp = pad_k(w, m_hw)
    k_padded = wp.shape[1]
    wp = np.pad(wp, [(0, -cout % C), (0, 0)])
    tiles_w = wp.reshape(-1, C, k_padded // m_hw, m_hw // 2, 2)
    tiles = [
        _map_tile(tw, n_hw, m_hw, cfg, mode, i * C, min(C, cout - i * C))
        for i, tw in enumerate(tiles_w)
    ]
    if p is not None:
        tiles = [replace(t, perm=p) for t in tiles]
    speedup = float(np.mean([k_padded / (t.positions * n_hw) for t in tiles]))
    return LayerMapping(
        n=n,
        m=m,
        n_hw=n_hw,
        m_hw=m_hw,
        mode=mode,
        cout=cout,
        k=k,
        k_padded=k_padded,
        tiles=tiles,
        effective_speedup=speedup,
        perm=p,
    )


def baseline_patterns(P: int) -> tuple[tuple[int, int], ...]:
    """The hardware patterns of the baseline cores at P: dense (P, P), fixed 1:2 and 2:4."""
    return ((P, P), (1, 2), (2, 4))


def _dense_tile(
    wt: np.ndarray, n_hw: int, m_hw: int, cfg: HwConfig, col_start: int, cols: int
) -> TileImage:
    """Uncompressed image of one tile under hardware pattern (n_hw, m_hw): element k of group
    g sits at slot k of the group (pair q = k // 2, element b = k % 2), so a group takes
    m_hw / n_hw positions whatever its values. wt: (C, groups, m_hw)."""
    g = wt.shape[1]
    per_group = m_hw // n_hw  # n_hw divides m_hw for every baseline pattern
    grp = np.repeat(np.arange(g), m_hw)
    k = np.tile(np.arange(m_hw), g)
    slots = (cfg.C, k.size)
    return _place_slots(
        cfg,
        n_hw,
        m_hw,
        col_start,
        cols,
        pos=grp * per_group + k // n_hw,
        k_in_group=k,
        w=wt[:, grp, k],
        b=np.broadcast_to(k % 2, slots),
        q_slot=np.broadcast_to(k // 2, (cfg.SELS, k.size)),
        npos=np.full(g, per_group),
        slots_used=g * m_hw,
    )


def map_layer_fixed(
    weight: np.ndarray, cfg: HwConfig, pattern: tuple[int, int] | None = None
) -> LayerMapping:
    """Map ANY integer weight matrix (Cout, K) onto a baseline core's one hardware pattern.

    `pattern` is the core's (N_hw, M_hw): by default `cfg.fixed_pattern`; else one of
    `baseline_patterns(P)` (the cycle model maps a flexible config's geometry this way).
    Dense (P, P): element k of each group of P at slot k, no compression (mode "dense").
    Fixed n_f:m_f (1:2, 2:4): a weight whose non-zeros are n_f:m_f-compliant (every row,
    groups of m_f) takes one position per group (mode "fixed": 1:2 one wired pair, q = 0,
    b = the non-zero's index; 2:4 the per-cell selects of mode "per-column", G = 1); any other
    runs dense under the fixed pattern (mode "dense", m_f / n_f positions per group), i.e.
    ceil(K / (P*R)) passes, golden.cycle_model.dense_passes.
    """
    pat = cfg.fixed_pattern if pattern is None else tuple(pattern)
    if pat is None:
        raise ValueError("map_layer_fixed needs a baseline config (FIXED_N, FIXED_M) or pattern")
    if pat not in baseline_patterns(cfg.P):
        raise UnsupportedPattern(
            f"{pat[0]}:{pat[1]}: a baseline core at P={cfg.P} runs one of "
            f"{', '.join(f'{n}:{m}' for n, m in baseline_patterns(cfg.P))}"
        )
    if cfg.fixed_pattern is not None and pat != cfg.fixed_pattern:
        raise UnsupportedPattern(f"{pat[0]}:{pat[1]} is not this core's {cfg.fixed_pattern}")
    n_hw, m_hw = pat
    w = _check_weight(weight, cfg)
    cout, k = w.shape
    C = cfg.C
    dense = n_hw == m_hw or not bool(np.all(group_nnz(w, m_hw) <= n_hw))
    wp = pad_k(w, m_hw)
    k_padded = wp.shape[1]
    wp = np.pad(wp, [(0, -cout % C), (0, 0)])
    groups = k_padded // m_hw
    tiles = []
    for i, tw in enumerate(wp.reshape(-1, C, groups, m_hw)):
        cols = min(C, cout - i * C)
        if dense:
            tiles.append(_dense_tile(tw, n_hw, m_hw, cfg, i * C, cols))
        else:
            mode = "pair-shared" if pat == (1, 2) else "per-column"
            tw4 = tw.reshape(C, groups, m_hw // 2, 2)
            tiles.append(_map_tile(tw4, n_hw, m_hw, cfg, mode, i * C, cols))
    speedup = float(np.mean([k_padded / (t.positions * n_hw) for t in tiles]))
    return LayerMapping(
        n=n_hw,
        m=m_hw,
        n_hw=n_hw,
        m_hw=m_hw,
        mode="dense" if dense else "fixed",
        cout=cout,
        k=k,
        k_padded=k_padded,
        tiles=tiles,
        effective_speedup=speedup,
    )


def gather_activations(tile: TileImage, x: np.ndarray, cfg: HwConfig) -> np.ndarray:
    """Activation beat lanes of one job: x (T, K) int8 -> int8 [passes, T, R, A_LANES].

    Lane s * 2P + k of row r holds activation k of the group at position (r, s); lanes of
    empty positions, of k >= M_hw and of sets s >= P / N_hw are zero. A tile with a
    permutation groups x[:, perm] (the host streams the channels in the core's order).
    """
    xa = np.asarray(x)
    if xa.ndim != 2 or not np.issubdtype(xa.dtype, np.integer):
        raise ValueError(f"x must be a 2-D integer (T, K) array, got {xa.dtype} {xa.shape}")
    lo, hi = -(1 << (cfg.AB - 1)), (1 << (cfg.AB - 1)) - 1
    if xa.size and (xa.min() < lo or xa.max() > hi):
        raise ValueError(f"activations must fit AB={cfg.AB} signed bits ({lo}..{hi})")
    if -(-xa.shape[1] // tile.m_hw) != tile.groups:
        raise ValueError(f"x has K={xa.shape[1]}, the tile has {tile.groups} groups of {tile.m_hw}")
    if tile.perm is not None:
        if tile.perm.shape != (xa.shape[1],):
            raise ValueError(f"x has K={xa.shape[1]}, the tile's perm has {tile.perm.size}")
        xa = xa[:, tile.perm]
    t = xa.shape[0]
    P = cfg.P
    xg = pad_k(xa.astype(np.int8), tile.m_hw).reshape(t, tile.groups, tile.m_hw)
    xg = np.concatenate([xg, np.zeros((t, 1, tile.m_hw), np.int8)], axis=1)  # -1 -> zero group
    win = np.where(tile.window < 0, tile.groups, tile.window)  # [passes, R, sets]
    sets = win.shape[-1]
    out = np.zeros((tile.passes, t, cfg.R, P, 2 * P), np.int8)
    out[:, :, :, :sets, : tile.m_hw] = np.moveaxis(xg[:, win], 0, 1)
    return out.reshape(tile.passes, t, cfg.R, cfg.A_LANES)

"""Layer -> per-job hardware images (docs/ARCHITECTURE.md §2) and the activation gather.

One column tile of C output channels is one job. Its groups of M_hw inputs get slots
(pair-shared: per pair, the most non-zeros any column of the tile has in it), the slots fill
positions (N_hw slots each) in order, positions fill rows and sets in order, and R * P / N_hw
positions make a pass. The images are exactly what the RTL loads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from golden.config import HwConfig, hw_pattern
from golden.nm_format import check_nm, pad_k

MODES = ("pair-shared", "per-column")


@dataclass(frozen=True)
class TileImage:
    """Images of one column tile (one job). In mode "per-column" `q` is per cell [.., C]."""

    n_hw: int
    m_hw: int
    passes: int
    col_start: int
    cols: int  # valid columns (<= C); the rest are zero padding
    weight: np.ndarray  # int8 [passes, P, R, C]
    meta: np.ndarray  # uint8 [passes, P, R, C], 0/1
    q: np.ndarray  # uint8 [passes, P, R] (per-column mode: [passes, P, R, C])
    window: np.ndarray  # int32 [passes, R, P // n_hw], group index or -1
    groups: int
    positions: int
    slots_used: int


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


def _pair_shared_slots(wt: np.ndarray, n_hw: int) -> tuple[np.ndarray, ...]:
    """Slots of one tile, pair-shared. wt: (C, G, h, 2) -> per-slot arrays in slot order.

    Returns (group, pair, per-column b (C, S), per-column w (C, S), slots per group).
    """
    c, g, h, _ = wt.shape
    nz = wt != 0
    need = nz.sum(-1).max(axis=0)  # (G, h): 0, 1 or 2 slots per pair
    flat_need = need.ravel()
    pair_of_slot = np.repeat(np.arange(g * h), flat_need)
    first_slot = np.cumsum(flat_need) - flat_need
    nth = np.arange(pair_of_slot.size) - first_slot[pair_of_slot]  # 0 or 1 inside the pair
    grp, pair = pair_of_slot // h, pair_of_slot % h
    two = flat_need[pair_of_slot] == 2
    # 2-slot pair: slot nth takes element nth; 1-slot pair: each column its non-zero (0 if none).
    b = np.where(two[None, :], nth[None, :], nz[:, grp, pair, 1].astype(np.int64))
    w = wt[:, grp, pair, :][np.arange(c)[:, None], np.arange(grp.size)[None, :], b]
    return grp, pair, b, w, need.sum(-1)


def _per_column_slots(wt: np.ndarray, n_hw: int) -> tuple[np.ndarray, ...]:
    """Slots of one tile, one pair select per cell: slot k of a group holds each column's
    k-th non-zero. Returns (group, per-column q (C, S), b (C, S), w (C, S), slots per group)."""
    c, g, h, _ = wt.shape
    flat = wt.reshape(c, g, 2 * h)
    nz = flat != 0
    s_g = nz.sum(-1).max(axis=0)  # (G,)
    if np.any(s_g > n_hw):  # a valid N:M mask never does this; refuse rather than mis-map
        raise AssertionError("per-column slots exceed N_hw")
    order = np.argsort(~nz, axis=-1, kind="stable")[..., :n_hw]  # (C, G, n_hw) non-zeros first
    valid = np.take_along_axis(nz, order, -1)
    w = np.where(valid, np.take_along_axis(flat, order, -1), 0)
    q = np.where(valid, order // 2, 0)
    b = np.where(valid, order % 2, 0)
    keep = np.arange(n_hw)[None, :] < s_g[:, None]  # (G, n_hw): slots that exist
    grp = np.repeat(np.arange(g), s_g)
    return grp, q[:, keep], b[:, keep], w[:, keep], s_g


def _map_tile(
    wt: np.ndarray, n_hw: int, m_hw: int, cfg: HwConfig, mode: str, col_start: int, cols: int
) -> TileImage:
    P, R, C = cfg.P, cfg.R, cfg.C
    g = wt.shape[1]
    sets = P // n_hw
    per_pass = R * sets
    if mode == "pair-shared":
        grp, pair, b, w, s_g = _pair_shared_slots(wt, n_hw)
        q_slot = pair
    else:
        grp, q_slot, b, w, s_g = _per_column_slots(wt, n_hw)
    npos = np.maximum(1, -(-s_g // n_hw))  # all-zero groups still take a position
    pos_start = np.cumsum(npos) - npos
    slot_first = np.cumsum(s_g) - s_g
    k_in_group = np.arange(grp.size) - slot_first[grp]
    pos = pos_start[grp] + k_in_group // n_hw
    positions = int(npos.sum())
    passes = -(-positions // per_pass)
    # Position -> (pass, row, set); slot -> sub-macro p = set * N_hw + slot-in-set.
    ps, rest = pos // per_pass, pos % per_pass
    r, p = rest // sets, (rest % sets) * n_hw + k_in_group % n_hw
    weight = np.zeros((passes, P, R, C), np.int8)
    meta = np.zeros((passes, P, R, C), np.uint8)
    weight[ps, p, r] = w.T
    meta[ps, p, r] = b.T
    if mode == "pair-shared":
        q = np.zeros((passes, P, R), np.uint8)
        q[ps, p, r] = q_slot
    else:
        q = np.zeros((passes, P, R, C), np.uint8)
        q[ps, p, r] = q_slot.T
    window = np.full(passes * per_pass, -1, np.int32)
    window[:positions] = np.repeat(np.arange(g), npos)
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
        groups=g,
        positions=positions,
        slots_used=int(s_g.sum()),
    )


def map_layer(
    weight: np.ndarray, n: int, m: int, cfg: HwConfig, mode: str = "pair-shared"
) -> LayerMapping:
    """Map an n:m integer weight matrix (Cout, K) onto jobs of the core.

    Raises UnsupportedPattern (pattern the macro cannot run), NMViolation (weight not n:m),
    ValueError / TypeError (bad mode, shape, dtype or values wider than WB).
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: must be one of {MODES}")
    w = _check_weight(weight, cfg)
    n_hw, m_hw = hw_pattern(n, m, cfg.P)
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
    )


def gather_activations(tile: TileImage, x: np.ndarray, cfg: HwConfig) -> np.ndarray:
    """Activation beat lanes of one job: x (T, K) int8 -> int8 [passes, T, R, A_LANES].

    Lane s * 2P + k of row r holds activation k of the group at position (r, s); lanes of
    empty positions, of k >= M_hw and of sets s >= P / N_hw are zero.
    """
    xa = np.asarray(x)
    if xa.ndim != 2 or not np.issubdtype(xa.dtype, np.integer):
        raise ValueError(f"x must be a 2-D integer (T, K) array, got {xa.dtype} {xa.shape}")
    lo, hi = -(1 << (cfg.AB - 1)), (1 << (cfg.AB - 1)) - 1
    if xa.size and (xa.min() < lo or xa.max() > hi):
        raise ValueError(f"activations must fit AB={cfg.AB} signed bits ({lo}..{hi})")
    if -(-xa.shape[1] // tile.m_hw) != tile.groups:
        raise ValueError(f"x has K={xa.shape[1]}, the tile has {tile.groups} groups of {tile.m_hw}")
    t = xa.shape[0]
    P = cfg.P
    xg = pad_k(xa.astype(np.int8), tile.m_hw).reshape(t, tile.groups, tile.m_hw)
    xg = np.concatenate([xg, np.zeros((t, 1, tile.m_hw), np.int8)], axis=1)  # -1 -> zero group
    win = np.where(tile.window < 0, tile.groups, tile.window)  # [passes, R, sets]
    sets = win.shape[-1]
    out = np.zeros((tile.passes, t, cfg.R, P, 2 * P), np.int8)
    out[:, :, :, :sets, : tile.m_hw] = np.moveaxis(xg[:, win], 0, 1)
    return out.reshape(tile.passes, t, cfg.R, cfg.A_LANES)

"""Simulator side of the flexcim_distribution smoke test (combinational pair muxes).

For every supported pattern, rows of a golden tile (with garbage in every lane the pattern
does not use) and the tile's q (C/G selects per slot) give the pairs golden.datapath.distribute
delivers per select group; random q
values, including q >= M_hw/2, must read zero outside the group.
"""

from __future__ import annotations

from dataclasses import replace

import cocotb
import numpy as np
from cocotb.handle import SimHandleBase
from cocotb.triggers import Timer

from golden.config import HwConfig
from tb.blocks.sim import pack, unpack
from tb.blocks.tiles import Tile, make_tile, patterns, slot_pairs
from tb.common.params import built_config


def _with_garbage(tile: Tile, cfg: HwConfig, rng: np.random.Generator) -> Tile:
    """Fill the lanes of unused sets and of k >= M_hw with random values."""
    rows = tile.rows.copy().reshape(*tile.rows.shape[:3], cfg.P, 2 * cfg.P)
    used = np.zeros((cfg.P, 2 * cfg.P), bool)
    used[: cfg.P // tile.image.n_hw, : tile.image.m_hw] = True
    noise = rng.integers(-128, 128, rows.shape).astype(rows.dtype)
    rows = np.where(used, rows, noise).reshape(tile.rows.shape)
    return replace(tile, rows=rows)


@cocotb.test()
async def golden_tile_pairs(dut: SimHandleBase) -> None:
    cfg = built_config()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    checked = 0
    for n, m in patterns(cfg):
        tile = _with_garbage(make_tile(rng, n, m, cfg, 2), cfg, rng)
        img = tile.image
        for q_kind in ("mapper", "random"):
            if q_kind == "random":
                q = rng.integers(0, cfg.P, img.q.shape).astype(img.q.dtype)
                tile = replace(tile, image=replace(img, q=q))
            pairs = slot_pairs(tile, cfg)  # [passes, T, P, R, C/G, 2]
            dut.nlog_i.value = img.n_hw.bit_length() - 1
            dut.mhalf_i.value = img.m_hw // 2
            for ps, t, r in [
                (ps, t, r) for ps in range(img.passes) for t in range(2) for r in range(cfg.R)
            ][:: max(1, cfg.R // 4)]:
                dut.row_i.value = pack(tile.rows[ps, t, r], cfg.AB)
                dut.q_i.value = pack(tile.image.q[ps, :, r].reshape(-1), cfg.QW)  # (p, g)
                await Timer(1, unit="ns")
                got = unpack(dut.pairs_o.value.to_unsigned(), 2 * cfg.P * cfg.SELS, cfg.AB)
                want = [int(v) for v in pairs[ps, t, :, r].reshape(-1)]
                assert got == want, f"{n}:{m} {q_kind} q, row {(ps, t, r)}: {got} != {want}"
                checked += 1
    assert checked >= 2 * len(patterns(cfg))

"""Simulator side of the flexcim_cell smoke test: products of random, corner and golden cells."""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.handle import SimHandleBase
from cocotb.triggers import FallingEdge

from tb.blocks.sim import pack, start_clock_and_reset
from tb.blocks.tiles import make_tile, patterns, products, slot_pairs
from tb.common.params import built_config


@cocotb.test()
async def random_products_read_before_write(dut: SimHandleBase) -> None:
    """Random writes and issues, corners included; an issue uses the weight held before
    a write in the same cycle (registers read before write)."""
    cfg = built_config()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    await start_clock_and_reset(dut)
    wlo, whi = -(1 << (cfg.WB - 1)), 1 << (cfg.WB - 1)
    alo, ahi = -(1 << (cfg.AB - 1)), 1 << (cfg.AB - 1)
    w, b, want = 0, 0, None
    dut.we_i.value, dut.w_i.value, dut.b_i.value, dut.en_i.value = 1, 0, 0, 0
    dut.pair_i.value = 0
    await FallingEdge(dut.clk_i)
    checked = 0
    corners = [(wlo, alo), (wlo, ahi - 1), (whi - 1, alo), (whi - 1, ahi - 1), (0, alo)]
    for i in range(400):
        if want is not None:
            got = dut.prod_o.value.to_signed()
            assert got == want, f"cycle {i}: product {got}, want {want}"
            checked += 1
        we, en = bool(rng.integers(2)), bool(rng.integers(4))
        nw, nb = int(rng.integers(wlo, whi)), int(rng.integers(2))
        a0, a1 = (int(v) for v in rng.integers(alo, ahi, 2))
        if i < len(corners):
            we, en, nw, nb = True, True, corners[i][0], 1
            a1 = corners[i][1]
        dut.we_i.value, dut.w_i.value, dut.b_i.value = int(we), nw & ((1 << cfg.WB) - 1), nb
        dut.en_i.value, dut.pair_i.value = int(en), pack([a0, a1], cfg.AB)
        if en:
            want = w * (a1 if b else a0)  # the weight before this cycle's write
        if we:
            w, b = nw, nb
        await FallingEdge(dut.clk_i)
    assert checked > 300


@cocotb.test()
async def golden_tile_cells(dut: SimHandleBase) -> None:
    """For every supported pattern, cells of a golden tile give golden.datapath's products."""
    cfg = built_config()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    await start_clock_and_reset(dut)
    checked = 0
    for n, m in patterns(cfg):
        tile = make_tile(rng, n, m, cfg, 2)
        pairs, prods = slot_pairs(tile, cfg), products(tile, cfg)
        img = tile.image
        for _ in range(12):
            ps, t = int(rng.integers(img.passes)), int(rng.integers(2))
            p, r, c = (int(rng.integers(s)) for s in (cfg.P, cfg.R, cfg.C))
            dut.we_i.value, dut.en_i.value = 1, 0
            dut.w_i.value = int(img.weight[ps, p, r, c]) & ((1 << cfg.WB) - 1)
            dut.b_i.value = int(img.meta[ps, p, r, c])
            await FallingEdge(dut.clk_i)
            dut.we_i.value, dut.en_i.value = 0, 1
            dut.pair_i.value = pack(pairs[ps, t, p, r, c // cfg.sel_width], cfg.AB)  # its group
            await FallingEdge(dut.clk_i)
            got, want = dut.prod_o.value.to_signed(), int(prods[ps, t, p, r, c])
            assert got == want, f"{n}:{m} cell {(ps, t, p, r, c)}: {got} != {want}"
            checked += 1
    assert checked == 12 * len(patterns(cfg))

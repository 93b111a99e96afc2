"""Simulator side of the flexcim_submacro smoke test.

For every supported pattern: load one sub-macro's rows of a golden tile, issue every token of
the pass back to back, and check each column sum against golden.datapath's products summed
over the R rows, arriving exactly log2(R) + 1 cycles after the issue.
"""

from __future__ import annotations

from collections import deque

import cocotb
import numpy as np
from cocotb.handle import SimHandleBase
from cocotb.triggers import FallingEdge

from tb.blocks.sim import pack, start_clock_and_reset, unpack
from tb.blocks.tiles import make_tile, patterns, products, slot_pairs
from tb.common.params import built_config


@cocotb.test()
async def golden_tile_column_sums(dut: SimHandleBase) -> None:
    cfg = built_config()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    await start_clock_and_reset(dut)
    latency = cfg.R.bit_length() - 1 + 1
    sw = cfg.WB + cfg.AB + cfg.R.bit_length() - 1
    dut.we_i.value, dut.issue_i.value = 0, 0
    checked, cycle = 0, 0
    for i, (n, m) in enumerate(patterns(cfg)):
        tokens = 3
        tile = make_tile(rng, n, m, cfg, tokens)
        pairs, prods = slot_pairs(tile, cfg), products(tile, cfg)
        p = i % cfg.P
        for ps in range(tile.image.passes):
            for r in range(cfg.R):  # one row per cycle, as the weight stream writes them
                dut.we_i.value = 1 << r
                dut.w_i.value = pack(tile.image.weight[ps, p, r], cfg.WB)
                dut.b_i.value = pack(tile.image.meta[ps, p, r], 1)
                await FallingEdge(dut.clk_i)
                cycle += 1
            dut.we_i.value = 0
            pending: deque[tuple[int, list[int]]] = deque()
            t = 0
            while t < tokens or pending:
                if t < tokens:
                    dut.issue_i.value = 1
                    dut.pairs_i.value = pack(pairs[ps, t, p].reshape(-1), cfg.AB)
                    want = [int(v) for v in prods[ps, t, p].sum(axis=0)]
                    pending.append((cycle + latency, want))
                    t += 1
                else:
                    dut.issue_i.value = 0
                await FallingEdge(dut.clk_i)
                cycle += 1
                if pending and pending[0][0] == cycle:
                    _, want = pending.popleft()
                    assert dut.valid_o.value == 1, f"{n}:{m}: valid_o missing"
                    got = unpack(dut.sum_o.value.to_unsigned(), cfg.C, sw)
                    assert got == want, f"{n}:{m} pass {ps}: {got} != {want}"
                    checked += 1
                else:
                    assert dut.valid_o.value == 0, f"{n}:{m}: valid_o without an issue"
    assert checked == sum(2 * 3 for _ in patterns(cfg))

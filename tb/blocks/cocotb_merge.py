"""Simulator side of the flexcim_merge smoke test.

For every supported pattern: feed the P sub-macro column sums of a golden tile (token by token,
pass by pass, back to back), then read the accumulator of every token and compare it with
golden.datapath.structured_forward. A directed job with extreme sums over many passes checks
the ACC-bit accumulation against golden.reference.wrap_signed.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.handle import SimHandleBase
from cocotb.triggers import FallingEdge, Timer

from golden.config import HwConfig
from golden.reference import wrap_signed
from tb.blocks.sim import pack, start_clock_and_reset, unpack
from tb.blocks.tiles import make_tile, patterns, products
from tb.common.params import built_config


async def _run_job(dut: SimHandleBase, cfg: HwConfig, sums: np.ndarray) -> np.ndarray:
    """sums [passes, T, P, C] -> the accumulators read back, int64 (T, C)."""
    passes, tokens = sums.shape[:2]
    sw = cfg.WB + cfg.AB + cfg.R.bit_length() - 1
    dut.tokens_i.value = tokens
    dut.start_i.value = 1
    await FallingEdge(dut.clk_i)
    dut.start_i.value = 0
    for ps in range(passes):
        for t in range(tokens):
            dut.valid_i.value = 1
            dut.sums_i.value = pack(sums[ps, t].reshape(-1), sw)
            await FallingEdge(dut.clk_i)
    dut.valid_i.value = 0
    for _ in range(cfg.P.bit_length() + 1):  # merge tree + accumulate
        await FallingEdge(dut.clk_i)
    out = []
    for t in range(tokens):
        dut.rd_tok_i.value = t
        await Timer(1, unit="ns")
        out.append(unpack(dut.rd_data_o.value.to_unsigned(), cfg.C, cfg.ACC))
    await FallingEdge(dut.clk_i)  # back on the falling edge, so the next start pulse is seen
    return np.array(out, np.int64)


@cocotb.test()
async def golden_tile_accumulators(dut: SimHandleBase) -> None:
    cfg = built_config()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    await start_clock_and_reset(dut)
    dut.valid_i.value, dut.start_i.value, dut.rd_tok_i.value = 0, 0, 0
    for i, (n, m) in enumerate(patterns(cfg)):
        tokens = cfg.MAX_TOK if i % 2 else int(rng.integers(1, cfg.MAX_TOK + 1))
        tile = make_tile(rng, n, m, cfg, tokens)
        sums = products(tile, cfg).sum(axis=3)  # column sums [passes, T, P, C]
        got = await _run_job(dut, cfg, sums)
        bad = np.argwhere(got != tile.expected)
        assert not bad.size, (
            f"{n}:{m} T={tokens}: {len(bad)} accumulators differ, "
            f"tokens {sorted(set(bad[:, 0].tolist()))}: "
            f"{got[tuple(bad[0])]} != {tile.expected[tuple(bad[0])]}; "
            f"per pass {sums[:, bad[0][0], :, bad[0][1]].sum(axis=1).tolist()}"
        )


@cocotb.test()
async def extreme_sums_accumulate_in_acc_bits(dut: SimHandleBase) -> None:
    cfg = built_config()
    await start_clock_and_reset(dut)
    dut.valid_i.value, dut.start_i.value, dut.rd_tok_i.value = 0, 0, 0
    sw = cfg.WB + cfg.AB + cfg.R.bit_length() - 1
    lo, hi = -(1 << (sw - 1)), (1 << (sw - 1)) - 1
    passes, tokens = 6, min(2, cfg.MAX_TOK)
    sums = np.empty((passes, tokens, cfg.P, cfg.C), np.int64)
    sums[:, 0], sums[:, -1] = hi, lo
    if tokens == 1:
        sums[1::2] = lo
    got = await _run_job(dut, cfg, sums)
    want = wrap_signed(sums.sum(axis=(0, 2)), cfg.ACC)
    assert np.array_equal(got, want), f"{got} != {want}"

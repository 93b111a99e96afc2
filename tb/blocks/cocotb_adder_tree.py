"""Simulator side of the flexcim_adder_tree smoke test.

Streams sets of inputs with random gaps (random values, all-min / all-max corners and the
column products of golden tiles), checks every lane's sum, the latency log2(N_IN) exactly,
and that the output holds while no new set arrives.
"""

from __future__ import annotations

import os
from collections import deque

import cocotb
import numpy as np
from cocotb.handle import SimHandleBase
from cocotb.triggers import FallingEdge

from tb.blocks.sim import pack, start_clock_and_reset, unpack
from tb.blocks.tiles import make_tile, patterns, products
from tb.common.params import built_config


def _sets(rng: np.random.Generator, n_in: int, iw: int, lanes: int) -> list[np.ndarray]:
    lo, hi = -(1 << (iw - 1)), 1 << (iw - 1)
    sets = [np.full((lanes, n_in), lo), np.full((lanes, n_in), hi - 1)]
    sets += [rng.integers(lo, hi, (lanes, n_in)) for _ in range(40)]
    cfg = built_config()
    if n_in == cfg.R and lanes == cfg.C and iw == cfg.WB + cfg.AB:
        # Column trees of a sub-macro: golden products [passes, T, P, R, C] of every pattern.
        for n, m in patterns(cfg):
            prods = products(make_tile(rng, n, m, cfg, 2), cfg)
            sets += [prods[ps, t, p].T for ps, t, p in np.ndindex(prods.shape[:3])][:6]
    return sets


@cocotb.test()
async def sums_latency_and_hold(dut: SimHandleBase) -> None:
    n_in, iw, lanes = (int(os.environ[f"PARAM_{k}"]) for k in ("N_IN", "IW", "LANES"))
    levels = n_in.bit_length() - 1
    ow = iw + levels
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    await start_clock_and_reset(dut)
    sets = _sets(rng, n_in, iw, lanes)
    pending: deque[tuple[int, list[int]]] = deque()
    last: list[int] | None = None
    cycle, sent, checked = 0, 0, 0
    while checked < len(sets):
        valid = sent < len(sets) and bool(rng.integers(3))
        dut.valid_i.value = int(valid)
        if valid:
            dut.data_i.value = pack(sets[sent].reshape(-1), iw)
            pending.append((cycle + levels, [int(v) for v in sets[sent].sum(axis=1)]))
            sent += 1
        else:
            dut.data_i.value = int(rng.integers(1 << 30))  # ignored without valid
        await FallingEdge(dut.clk_i)
        cycle += 1
        if (pending and pending[0][0] == cycle) or last is not None:
            got = unpack(dut.data_o.value.to_unsigned(), lanes, ow)  # X before the first set
        if pending and pending[0][0] == cycle:
            _, want = pending.popleft()
            assert dut.valid_o.value == 1, f"cycle {cycle}: valid_o missing"
            assert got == want, f"cycle {cycle}: sums {got[:4]}.. want {want[:4]}.."
            last, checked = want, checked + 1
        else:
            assert dut.valid_o.value == 0, f"cycle {cycle}: valid_o without a set"
            if last is not None:
                assert got == last, f"cycle {cycle}: output changed without valid"
    assert checked == len(sets)

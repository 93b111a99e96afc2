"""Simulator side of the flexcim_ctrl smoke test (CSR port and handshakes driven directly).

Checks the start-time error codes against golden.config.csr_error_code over a grid, the job
sequence (slot indices, rows, issues one cycle after each token's last beat, output tokens and
tlast), CYCLES == golden.cycle_model with free-flowing streams and CYCLES - STALLS == model
under random valid / ready gaps, CSR read-back, byte strobes and busy-write protection.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.handle import SimHandleBase
from cocotb.triggers import FallingEdge, Timer

from golden.config import HwConfig, csr_error_code
from golden.cycle_model import job_cycles
from tb.blocks.sim import reset, start_clock_and_reset
from tb.common.csr import Csr
from tb.common.params import built_config

# The register map lives in tb.common.csr (one home); these names are its aliases.
CTRL, STATUS, N, M, TOKENS, PASSES, CYCLES, STALLS, PARAMS, VERSION, PARAMS2 = (int(r) for r in Csr)


async def write(dut: SimHandleBase, addr: int, data: int, strb: int = 0xF) -> None:
    dut.reg_we_i.value, dut.reg_waddr_i.value = 1, addr
    dut.reg_wdata_i.value, dut.reg_wstrb_i.value = data & 0xFFFF_FFFF, strb
    await FallingEdge(dut.clk_i)
    dut.reg_we_i.value = 0


async def read(dut: SimHandleBase, addr: int) -> int:
    """Combinational read; returns after the next falling edge (writes stay edge-aligned)."""
    dut.reg_raddr_i.value = addr
    await Timer(1, unit="ns")
    value = dut.reg_rdata_o.value.to_unsigned()
    await FallingEdge(dut.clk_i)
    return value


async def setup(dut: SimHandleBase) -> None:
    dut.reg_we_i.value, dut.reg_raddr_i.value = 0, 0
    dut.reg_waddr_i.value, dut.reg_wdata_i.value, dut.reg_wstrb_i.value = 0, 0, 0
    dut.w_valid_i.value, dut.a_valid_i.value, dut.y_ready_i.value = 0, 0, 0
    await start_clock_and_reset(dut)


async def run_job(
    dut: SimHandleBase, cfg: HwConfig, passes: int, tokens: int, rng: np.random.Generator, p: float
) -> dict[str, list[int]]:
    """Start a job (N, M already valid) and run it with streams idle with probability p."""
    seen: dict[str, list[int]] = {"w": [], "a": [], "issue": [], "y": [], "last": []}
    await write(dut, TOKENS, tokens)
    await write(dut, PASSES, passes)
    await write(dut, CTRL, 1)
    cycle = 0
    last_row_cycle = -10
    while True:
        dut.w_valid_i.value = int(rng.random() >= p)
        dut.a_valid_i.value = int(rng.random() >= p)
        dut.y_ready_i.value = int(rng.random() >= p)
        await Timer(1, unit="ns")
        if dut.w_we_o.value:
            seen["w"].append(dut.w_idx_o.value.to_unsigned())
        if dut.issue_o.value:
            assert last_row_cycle == cycle - 1, "issue not on the edge after the last row"
            seen["issue"].append(cycle)
        if dut.a_we_o.value:
            beat = dut.a_beat_o.value.to_unsigned()
            seen["a"].append(beat)
            if beat == cfg.A_BEATS - 1:  # R / RPB beats per token
                last_row_cycle = cycle
        done = False
        if dut.y_valid_o.value and dut.y_ready_i.value:
            seen["y"].append(dut.out_tok_o.value.to_unsigned())
            seen["last"].append(int(dut.y_last_o.value))
            done = bool(dut.y_last_o.value)
        await FallingEdge(dut.clk_i)
        cycle += 1
        if done:
            return seen
        assert cycle < 10 * job_cycles(passes, tokens, cfg).total / max(1e-3, 1 - p) + 100


@cocotb.test()
async def error_codes_match_golden(dut: SimHandleBase) -> None:
    cfg = built_config()
    await setup(dut)
    cases = [(n, m, 1, 1) for n in range(2 * cfg.P + 2) for m in range(2 * cfg.P + 3)]
    cases += [(1, 2, t, 1) for t in (0, cfg.MAX_TOK, cfg.MAX_TOK + 1, 0xFFFF_FFFF)]
    cases += [(1, 2, 1, np_) for np_ in (0, 1, 65535, 65536)]
    errors = 0
    for n, m, t, np_ in cases:
        for addr, value in ((N, n), (M, m), (TOKENS, t), (PASSES, np_)):
            await write(dut, addr, value)
        await write(dut, CTRL, 1)
        want = csr_error_code(n, m, t, np_, cfg)  # golden models the 16-bit PASSES CSR
        status = await read(dut, STATUS)
        if want:
            assert status == (want << 8) | 0b100, f"{(n, m, t, np_)}: STATUS {status:#x}"
            assert not dut.w_ready_o.value and not dut.a_ready_o.value
            errors += 1
        else:
            assert status == 0b001, f"{(n, m, t, np_)}: STATUS {status:#x}, want busy"
            assert dut.nlog_o.value.to_unsigned() == n.bit_length() - 1
            assert dut.mhalf_o.value.to_unsigned() == m // 2
            await reset(dut, 1)  # leave the job
    assert errors > len(cases) // 2


@cocotb.test()
@cocotb.parametrize(idle=[0.0, 0.4])
async def job_sequence_and_counters(dut: SimHandleBase, idle: float) -> None:
    cfg = built_config()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    await setup(dut)
    await write(dut, N, 2)
    await write(dut, M, 4)
    passes, tokens = 2, min(3, cfg.MAX_TOK)
    seen = await run_job(dut, cfg, passes, tokens, rng, idle)
    assert seen["w"] == list(range(cfg.P * cfg.R)) * passes
    assert seen["a"] == list(range(cfg.A_BEATS)) * tokens * passes
    assert len(seen["issue"]) == tokens * passes
    assert seen["y"] == list(range(tokens))
    assert seen["last"] == [0] * (tokens - 1) + [1]
    cycles, stalls = await read(dut, CYCLES), await read(dut, STALLS)
    assert await read(dut, STATUS) == 0b010
    want = job_cycles(passes, tokens, cfg).total
    assert cycles - stalls == want, f"CYCLES {cycles} - STALLS {stalls} != model {want}"
    if idle == 0.0:
        assert stalls == 0
    else:
        assert stalls > 0


@cocotb.test()
async def csr_readback_strobes_and_busy_writes(dut: SimHandleBase) -> None:
    cfg = built_config()
    await setup(dut)
    assert await read(dut, PARAMS) == cfg.P | cfg.R << 8 | cfg.C << 16 | cfg.MAX_TOK << 24
    assert await read(dut, VERSION) == 0x0001_0000
    want2 = (cfg.SELS - 1) | (cfg.RPB - 1) << 8  # 0 for the G = C, RPB = 1 core
    assert await read(dut, PARAMS2) == want2
    for addr in (0x00, 0x2C, 0x3C, 0xFC):
        assert await read(dut, addr) == 0, f"unmapped/write-only {addr:#x} reads non-zero"
    await write(dut, TOKENS, 0x1234_5678)
    await write(dut, TOKENS, 0xAABB_CCDD, strb=0b0101)
    assert await read(dut, TOKENS) == 0x12BB_56DD
    await write(dut, PASSES, 0xFFFF_0102)
    assert await read(dut, PASSES) == 0x0102
    await write(dut, N, 0x1FF, strb=0b0010)  # byte 1 is not part of N
    assert await read(dut, N) == 0
    for addr, value in ((N, 1), (M, 2), (TOKENS, 1), (PASSES, 3)):
        await write(dut, addr, value)
    await write(dut, CTRL, 1)
    assert await read(dut, STATUS) == 0b001
    for addr in (N, M, TOKENS, PASSES):
        await write(dut, addr, 0)  # ignored while busy
    assert [await read(dut, a) for a in (N, M, TOKENS, PASSES)] == [1, 2, 1, 3]
    await write(dut, CTRL, 1)  # a second start while busy is ignored too
    assert await read(dut, STATUS) == 0b001


@cocotb.test()
async def documented_reset_values_and_side_effects(dut: SimHandleBase) -> None:
    """ARCHITECTURE.md §3 CSR semantics: reset values, failing starts, RO/unmapped writes."""
    cfg = built_config()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    await setup(dut)
    # Reset values: every CSR reads 0 but the constants; CTRL reads 0.
    for addr in (CTRL, STATUS, N, M, TOKENS, PASSES, CYCLES, STALLS):
        assert await read(dut, addr) == 0, f"CSR {addr:#x} is not 0 after reset"
    # A start straight after reset fails with code 1 (N = 0 is not a power of two).
    await write(dut, CTRL, 1)
    assert await read(dut, STATUS) == (1 << 8) | 0b100
    # A valid job sets done and leaves its CYCLES / STALLS.
    await write(dut, N, 1)
    await write(dut, M, 2)
    await run_job(dut, cfg, 1, 1, rng, 0.3)
    cycles, stalls = await read(dut, CYCLES), await read(dut, STALLS)
    assert await read(dut, STATUS) == 0b010
    # A failing start clears done, sets error and its code, and leaves CYCLES / STALLS alone.
    await write(dut, TOKENS, 0)
    await write(dut, CTRL, 1)
    assert await read(dut, STATUS) == (4 << 8) | 0b100
    assert (await read(dut, CYCLES), await read(dut, STALLS)) == (cycles, stalls)
    # A second failing start overwrites the code.
    await write(dut, TOKENS, 1)
    await write(dut, PASSES, 0)
    await write(dut, CTRL, 1)
    assert await read(dut, STATUS) == (5 << 8) | 0b100
    # Writes to read-only and unmapped addresses change nothing (the bus still answers OKAY).
    before = [await read(dut, a) for a in range(0, 0x2C, 4)]
    for addr in (STATUS, CYCLES, STALLS, PARAMS, VERSION, PARAMS2, 0x2C, 0x40, 0xFC):
        await write(dut, addr, 0xFFFF_FFFF)
    assert [await read(dut, a) for a in range(0, 0x2C, 4)] == before
    # CTRL starts only with bit 0 set in byte lane 0.
    await write(dut, PASSES, 1)
    await write(dut, CTRL, 0xFFFF_FFFE)
    await write(dut, CTRL, 1, strb=0b1110)
    assert await read(dut, STATUS) == (5 << 8) | 0b100, "CTRL started without bit 0 / strobe 0"
    await write(dut, CTRL, 1)
    assert await read(dut, STATUS) == 0b001

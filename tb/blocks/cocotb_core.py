"""Simulator side of the flexcim_core smoke test (cocotbext-axi drives every bus).

One job per supported pattern: program the CSRs, stream the golden-mapped tile (one weight
frame per pass, one activation frame per token and pass), check the outputs bit-exact against
golden.datapath and CYCLES against golden.cycle_model with no stall; then every illegal CSR
combination: the golden error code, no stream beat taken, no output.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.handle import SimHandleBase
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

from golden.beats import activation_beats, decode_output_beat, to_bytes, weight_beats
from golden.config import HwConfig, csr_error_code
from golden.cycle_model import job_cycles
from tb.blocks.tiles import Tile, make_tile, patterns
from tb.common.assertions import AssertionWatcher
from tb.common.csr import Csr
from tb.common.params import built_config

# The register map lives in tb.common.csr (one home); these names are its aliases.
CTRL, STATUS, N, M, TOKENS, PASSES, CYCLES, STALLS, PARAMS, VERSION, PARAMS2 = (int(r) for r in Csr)


class CoreTb:
    """Clock, reset and the cocotbext-axi masters / sources / sink of one test."""

    def __init__(self, dut: SimHandleBase, cfg: HwConfig) -> None:
        self.dut = dut
        self.cfg = cfg
        Clock(dut.clk_i, 10, unit="ns").start()
        self.assertions = AssertionWatcher(dut)  # RTL assertion failures fail the test
        kw = {"reset": dut.rst_ni, "reset_active_level": False}
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk_i, **kw)
        self.w_src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_w"), dut.clk_i, **kw)
        self.a_src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_a"), dut.clk_i, **kw)
        self.y_sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_y"), dut.clk_i, **kw)
        for src in (self.w_src, self.a_src, self.y_sink):
            src.log.setLevel("WARNING")
        self.axil.write_if.log.setLevel("WARNING")
        self.axil.read_if.log.setLevel("WARNING")

    async def reset(self) -> None:
        self.dut.rst_ni.value = 0
        await ClockCycles(self.dut.clk_i, 3)
        self.dut.rst_ni.value = 1
        await RisingEdge(self.dut.clk_i)

    async def csr(self, addr: int) -> int:
        return await self.axil.read_dword(addr)

    async def program(self, n_hw: int, m_hw: int, tokens: int, passes: int) -> None:
        for addr, value in ((N, n_hw), (M, m_hw), (TOKENS, tokens), (PASSES, passes)):
            await self.axil.write_dword(addr, value)

    def queue_tile(self, tile: Tile) -> None:
        """Queue every weight and activation beat of the job before start (no stall)."""
        cfg = self.cfg
        for beats in weight_beats(tile.image, cfg):
            self.w_src.send_nowait(
                AxiStreamFrame(b"".join(to_bytes(b, cfg.W_TDATA) for b in beats))
            )
        for per_pass in activation_beats(tile.rows, cfg):
            for token in per_pass:
                self.a_src.send_nowait(
                    AxiStreamFrame(b"".join(to_bytes(b, cfg.A_TDATA) for b in token))
                )

    async def outputs(self, tokens: int) -> np.ndarray:
        frame = await self.y_sink.recv()
        width = self.cfg.Y_TDATA // 8
        data = bytes(frame.tdata)
        assert len(data) == tokens * width, f"output frame of {len(data)} bytes, want {tokens}"
        return np.stack(
            [
                decode_output_beat(
                    int.from_bytes(data[i * width : (i + 1) * width], "little"), self.cfg
                )
                for i in range(tokens)
            ]
        )


handshakes = [0]


async def _count_handshakes(dut: SimHandleBase) -> None:
    """Count cycles in which any stream beat moves (tvalid and tready both high)."""
    handshakes[0] = 0
    while True:
        await RisingEdge(dut.clk_i)
        for prefix in ("s_axis_w", "s_axis_a", "m_axis_y"):
            valid = getattr(dut, f"{prefix}_tvalid").value
            ready = getattr(dut, f"{prefix}_tready").value
            if valid and ready:
                handshakes[0] += 1


def _selected(cfg: HwConfig) -> list[tuple[int, int]]:
    """Patterns to run: all, or FLEXCIM_PATTERNS="2:4,1:8" (the paper build runs one)."""
    spec = os.environ.get("FLEXCIM_PATTERNS", "all")
    if spec == "all":
        return patterns(cfg)
    return [(int(a), int(b)) for a, b in (item.split(":") for item in spec.split(","))]


@cocotb.test()
async def tiles_match_golden(dut: SimHandleBase) -> None:
    """Every supported pattern: outputs bit-exact, CYCLES == model, STALLS == 0, done."""
    cfg = built_config()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    tb = CoreTb(dut, cfg)
    await tb.reset()
    params = await tb.csr(PARAMS)
    assert params == cfg.P | cfg.R << 8 | cfg.C << 16 | cfg.MAX_TOK << 24, f"PARAMS {params:#x}"
    assert await tb.csr(VERSION) == 0x0001_0000
    jobs = 0
    for n, m in _selected(cfg):
        tokens = int(rng.integers(1, cfg.MAX_TOK + 1)) if jobs % 2 else cfg.MAX_TOK
        tile = make_tile(rng, n, m, cfg, tokens)
        image = tile.image
        tb.queue_tile(tile)
        await tb.program(image.n_hw, image.m_hw, tokens, image.passes)
        await tb.axil.write_dword(CTRL, 1)
        got = await tb.outputs(tokens)
        assert np.array_equal(got, tile.expected), (
            f"{n}:{m}: outputs differ from golden at {np.argwhere(got != tile.expected)[:4]}"
        )
        status = await tb.csr(STATUS)
        assert status == 0b010, f"{n}:{m}: STATUS {status:#x}, want done only"
        want = job_cycles(image.passes, tokens, cfg).total
        cycles, stalls = await tb.csr(CYCLES), await tb.csr(STALLS)
        assert stalls == 0, f"{n}:{m}: {stalls} stall cycles with every stream ready"
        assert cycles == want, f"{n}:{m}: CYCLES {cycles}, golden.cycle_model says {want}"
        assert tb.w_src.empty() and tb.a_src.empty(), f"{n}:{m}: beats left unconsumed"
        jobs += 1
    assert jobs == len(_selected(cfg)) and jobs > 0


@cocotb.test()
async def illegal_config_is_refused(dut: SimHandleBase) -> None:
    """Each error code: STATUS matches golden, no beat taken, no output, core stays idle."""
    cfg = built_config()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    tb = CoreTb(dut, cfg)
    await tb.reset()
    tile = make_tile(rng, 2, 4, cfg, 1)
    tb.queue_tile(tile)  # offered all along: the core must not take a single beat
    taken = cocotb.start_soon(_count_handshakes(dut))
    cases = [
        (3, 4, 1, 1),  # 1: N not a power of two
        (2 * cfg.P, 2 * cfg.P, 1, 1),  # 1: N > P
        (1, 3, 1, 1),  # 2: M odd
        (1, 2 * cfg.P + 2, 1, 1),  # 2: M > 2P
        (4, 2, 1, 1) if cfg.P >= 4 else (2, 0, 1, 1),  # 3: N > M (or 2: M zero)
        (1, 2, 0, 1),  # 4: T zero
        (1, 2, cfg.MAX_TOK + 1, 1),  # 4: T > MAX_TOK
        (1, 2, 1, 0),  # 5: NP zero
    ]
    codes = set()
    for n_hw, m_hw, tokens, passes in cases:
        want = csr_error_code(n_hw, m_hw, tokens, passes, cfg)
        assert want != 0
        codes.add(want)
        await tb.program(n_hw, m_hw, tokens, passes)
        await tb.axil.write_dword(CTRL, 1)
        for _ in range(8):
            await RisingEdge(dut.clk_i)
            assert not dut.s_axis_w_tready.value and not dut.s_axis_a_tready.value
            assert not dut.m_axis_y_tvalid.value
        status = await tb.csr(STATUS)
        assert status == (want << 8) | 0b100, f"{(n_hw, m_hw, tokens, passes)}: STATUS {status:#x}"
    assert codes == {1, 2, 3, 4, 5} or (cfg.P < 4 and codes == {1, 2, 4, 5})
    taken.cancel()
    assert handshakes == [0], f"{handshakes[0]} beats moved while the core was in error"
    assert tb.y_sink.empty()
    # A valid start afterwards clears the error and runs the queued job to the right result.
    await tb.program(tile.image.n_hw, tile.image.m_hw, 1, tile.image.passes)
    await tb.axil.write_dword(CTRL, 1)
    got = await tb.outputs(1)
    assert np.array_equal(got, tile.expected)
    assert await tb.csr(STATUS) == 0b010

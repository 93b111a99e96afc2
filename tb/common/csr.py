"""CSR access: the §3 register map, STATUS decoding and two AXI4-Lite masters.

`CsrMaster` is cocotbext-axi's AxiLiteMaster (the protocol tests of tb/core); `LeanCsrMaster`
drives the same bus from one coroutine that exists only while an access is in flight (the fast
path, where idle bus functional models would cost simulation speed). Both share `CsrAccess`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import IntEnum

from cocotb.handle import SimHandleBase
from cocotb.triggers import FallingEdge, ReadOnly
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiResp

VERSION = 0x0001_0000


class Csr(IntEnum):
    """Byte addresses of the core's registers (ARCHITECTURE.md §3)."""

    CTRL = 0x00
    STATUS = 0x04
    N = 0x08
    M = 0x0C
    TOKENS = 0x10
    PASSES = 0x14
    CYCLES = 0x18
    STALLS = 0x1C
    PARAMS = 0x20
    VERSION = 0x24
    PARAMS2 = 0x28


@dataclass(frozen=True)
class Status:
    """STATUS fields: busy, sticky done, error and its code."""

    busy: bool
    done: bool
    error: bool
    code: int

    @classmethod
    def decode(cls, raw: int) -> Status:
        return cls(bool(raw & 1), bool(raw >> 1 & 1), bool(raw >> 2 & 1), raw >> 8 & 0xF)


class CsrAccess:
    """Register helpers over `read`/`write` (implemented by the two masters)."""

    async def write(self, addr: int, value: int) -> None:
        raise NotImplementedError

    async def read(self, addr: int) -> int:
        raise NotImplementedError

    async def status(self) -> Status:
        return Status.decode(await self.read(Csr.STATUS))

    async def program(self, n_hw: int, m_hw: int, tokens: int, passes: int) -> None:
        values = {Csr.N: n_hw, Csr.M: m_hw, Csr.TOKENS: tokens, Csr.PASSES: passes}
        for reg, value in values.items():
            await self.write(reg, value)

    async def start(self) -> None:
        await self.write(Csr.CTRL, 1)


class CsrMaster(CsrAccess):
    """Register reads and writes through cocotbext-axi; every response must be OKAY."""

    def __init__(self, dut: SimHandleBase) -> None:
        bus = AxiLiteBus.from_prefix(dut, "s_axil")
        self.axil = AxiLiteMaster(bus, dut.clk_i, dut.rst_ni, reset_active_level=False)
        for channel in (self.axil.write_if, self.axil.read_if):
            channel.log.setLevel(logging.WARNING)  # one INFO line per access otherwise

    async def write(self, addr: int, value: int) -> None:
        resp = await self.axil.write(int(addr), int(value).to_bytes(4, "little"))
        assert resp.resp == AxiResp.OKAY, f"CSR write 0x{addr:02x}: response {resp.resp!r}"

    async def read(self, addr: int) -> int:
        resp = await self.axil.read(int(addr), 4)
        assert resp.resp == AxiResp.OKAY, f"CSR read 0x{addr:02x}: response {resp.resp!r}"
        return int.from_bytes(resp.data, "little")


class LeanCsrMaster(CsrAccess):
    """One access at a time, driven at falling edges and sampled in ReadOnly (settled values):
    a handshake seen in ReadOnly completes at the next rising edge. Nothing waits when idle."""

    def __init__(self, dut: SimHandleBase) -> None:
        self.dut = dut
        for name in ("awvalid", "wvalid", "bready", "arvalid", "rready", "awprot", "arprot"):
            getattr(dut, f"s_axil_{name}").value = 0

    def _sig(self, name: str) -> SimHandleBase:
        return getattr(self.dut, f"s_axil_{name}")

    async def _until_taken(self, channels: list[str]) -> None:
        """Hold each channel's valid until its ready was seen; returns at a falling edge."""
        pending = set(channels)
        while pending:
            await ReadOnly()
            fired = {ch for ch in pending if int(self._sig(f"{ch}ready").value)}
            await FallingEdge(self.dut.clk_i)  # the rising edge in between took them
            for ch in fired:
                self._sig(f"{ch}valid").value = 0
            pending -= fired

    async def _response(self, channel: str, data: str | None) -> tuple[int, int]:
        """Wait for `channel`valid with ready high; returns (resp, data) at a falling edge."""
        while True:
            await ReadOnly()
            if int(self._sig(f"{channel}valid").value):
                resp = int(self._sig(f"{channel}resp").value)
                value = int(self._sig(data).value) if data else 0
                await FallingEdge(self.dut.clk_i)
                self._sig(f"{channel}ready").value = 0
                return resp, value
            await FallingEdge(self.dut.clk_i)

    async def write(self, addr: int, value: int) -> None:
        await FallingEdge(self.dut.clk_i)
        self._sig("awaddr").value = int(addr)
        self._sig("wdata").value = int(value)
        self._sig("wstrb").value = 0xF
        self._sig("awvalid").value = 1
        self._sig("wvalid").value = 1
        self._sig("bready").value = 1
        await self._until_taken(["aw", "w"])
        resp, _ = await self._response("b", None)
        assert resp == AxiResp.OKAY, f"CSR write 0x{addr:02x}: response {resp}"

    async def read(self, addr: int) -> int:
        await FallingEdge(self.dut.clk_i)
        self._sig("araddr").value = int(addr)
        self._sig("arvalid").value = 1
        self._sig("rready").value = 1
        await self._until_taken(["ar"])
        resp, value = await self._response("r", "rdata")
        assert resp == AxiResp.OKAY, f"CSR read 0x{addr:02x}: response {resp}"
        return value

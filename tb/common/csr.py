"""CSR access through cocotbext-axi's AxiLiteMaster: the §3 register map and STATUS decoding."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import IntEnum

from cocotb.handle import SimHandleBase
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


class CsrMaster:
    """Register reads and writes; every response must be OKAY."""

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

    async def status(self) -> Status:
        return Status.decode(await self.read(Csr.STATUS))

    async def program(self, n_hw: int, m_hw: int, tokens: int, passes: int) -> None:
        values = {Csr.N: n_hw, Csr.M: m_hw, Csr.TOKENS: tokens, Csr.PASSES: passes}
        for reg, value in values.items():
            await self.write(reg, value)

    async def start(self) -> None:
        await self.write(Csr.CTRL, 1)

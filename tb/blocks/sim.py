"""Simulator-side helpers of the block smoke tests (clock, reset, packing)."""

from __future__ import annotations

from collections.abc import Iterable

from cocotb.clock import Clock
from cocotb.handle import SimHandleBase
from cocotb.triggers import ClockCycles, FallingEdge


def pack(values: Iterable[int], bits: int) -> int:
    """Signed values, value i at [i*bits +: bits], as one unsigned int."""
    mask = (1 << bits) - 1
    out = 0
    for i, v in enumerate(values):
        out |= (int(v) & mask) << (i * bits)
    return out


def unpack(value: int, n: int, bits: int) -> list[int]:
    """n signed values of `bits` bits from an unsigned int (inverse of pack)."""
    mask, half = (1 << bits) - 1, 1 << (bits - 1)
    vals = [(value >> (i * bits)) & mask for i in range(n)]
    return [v - (1 << bits) if v >= half else v for v in vals]


async def start_clock_and_reset(dut: SimHandleBase, cycles: int = 3) -> None:
    """10 ns clock on clk_i, then :func:`reset`; returns just after a falling edge."""
    Clock(dut.clk_i, 10, unit="ns").start()
    await reset(dut, cycles)


async def reset(dut: SimHandleBase, cycles: int = 3) -> None:
    """rst_ni (when the DUT has one) low for `cycles` edges; returns just after a falling edge."""
    if hasattr(dut, "rst_ni"):
        dut.rst_ni.value = 0
        await ClockCycles(dut.clk_i, cycles)
        await FallingEdge(dut.clk_i)
        dut.rst_ni.value = 1
    else:
        await FallingEdge(dut.clk_i)

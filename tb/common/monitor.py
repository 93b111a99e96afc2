"""Monitors: the output stream (tb.common.streams sink) decoded per beat, and handshake counters."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.handle import SimHandleBase
from cocotb.triggers import ReadOnly, RisingEdge

from golden.beats import decode_output_beat
from golden.config import HwConfig
from tb.common.stalls import random_pauses
from tb.common.streams import stream_sink


@dataclass(frozen=True)
class OutputFrame:
    """One tlast-terminated output frame: one job's T output vectors, int64 (T, C)."""

    values: np.ndarray
    raw_beats: int


class OutputMonitor:
    """Receives frames from the sink, decodes each beat (golden.beats) and calls back."""

    def __init__(self, dut: SimHandleBase, cfg: HwConfig) -> None:
        self.cfg = cfg
        self.sink = stream_sink(dut, "m_axis_y")
        self.callbacks: list[Callable[[OutputFrame], None]] = []
        self.frames = 0
        cocotb.start_soon(self._run())

    def set_backpressure(self, prob: float, rng: random.Random) -> None:
        self.sink.set_pause_generator(random_pauses(rng, prob) if prob > 0 else None)

    async def _run(self) -> None:
        while True:
            beats = [decode_output_beat(tdata, self.cfg) for tdata in await self.sink.recv()]
            self.frames += 1
            out = OutputFrame(np.stack(beats), len(beats))
            for callback in self.callbacks:
                callback(out)


class HandshakeCounter:
    """Counts valid && ready edges of one stream (illegal-config and reset-phase checks)."""

    def __init__(self, clk: SimHandleBase, valid: SimHandleBase, ready: SimHandleBase) -> None:
        self._clk, self._valid, self._ready = clk, valid, ready
        self.count = 0
        self._task = cocotb.start_soon(self._run())

    async def _run(self) -> None:
        while True:
            await RisingEdge(self._clk)
            await ReadOnly()
            if int(self._valid.value) and int(self._ready.value):
                self.count += 1

    def stop(self) -> None:
        self._task.cancel()

"""Monitors: the output stream (AxiStreamSink) split into decoded beats, and handshake counters."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.handle import SimHandleBase
from cocotb.triggers import ReadOnly, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamSink

from golden.beats import decode_output_beat
from golden.config import HwConfig
from tb.common.stalls import random_pauses


@dataclass(frozen=True)
class OutputFrame:
    """One tlast-terminated output frame: one job's T output vectors, int64 (T, C)."""

    values: np.ndarray
    raw_beats: int


class OutputMonitor:
    """Receives frames from the sink, decodes each beat (golden.beats) and calls back."""

    def __init__(self, dut: SimHandleBase, cfg: HwConfig) -> None:
        self.cfg = cfg
        bus = AxiStreamBus.from_prefix(dut, "m_axis_y")
        self.sink = AxiStreamSink(bus, dut.clk_i, dut.rst_ni, reset_active_level=False)
        self.sink.log.setLevel(logging.WARNING)
        self.callbacks: list[Callable[[OutputFrame], None]] = []
        self.frames = 0
        cocotb.start_soon(self._run())

    def set_backpressure(self, prob: float, rng: random.Random) -> None:
        self.sink.set_pause_generator(random_pauses(rng, prob) if prob > 0 else None)
        self.sink.pause = False  # a killed generator leaves its last value behind

    async def _run(self) -> None:
        beat_bytes = self.cfg.Y_TDATA // 8
        while True:
            frame = await self.sink.recv()
            data = bytes(frame.tdata)
            assert len(data) % beat_bytes == 0, f"output frame of {len(data)} bytes"
            beats = [
                decode_output_beat(int.from_bytes(data[i : i + beat_bytes], "little"), self.cfg)
                for i in range(0, len(data), beat_bytes)
            ]
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

"""Driver: programs the CSRs and streams a job's beats (tb.common.streams sources)."""

from __future__ import annotations

import random

from cocotb.handle import SimHandleBase

from golden.config import HwConfig
from tb.common.csr import CsrMaster
from tb.common.jobs import Job
from tb.common.stalls import StallProfile, random_pauses
from tb.common.streams import stream_source


class CoreDriver:
    """CSR master plus the weight and activation stream sources of one core."""

    def __init__(self, dut: SimHandleBase, cfg: HwConfig) -> None:
        self.cfg = cfg
        self.csr = CsrMaster(dut)
        self.w_src = stream_source(dut, "s_axis_w")
        self.a_src = stream_source(dut, "s_axis_a")

    def set_stalls(self, profile: StallProfile, rng: random.Random) -> None:
        """tvalid gaps on the weight and activation streams (None = always valid)."""
        for src, prob in ((self.w_src, profile.w_gap), (self.a_src, profile.a_gap)):
            src.set_pause_generator(random_pauses(rng, prob) if prob > 0 else None)

    def queue_streams(self, job: Job) -> None:
        """Queue every beat of `job`: one weight frame per pass, one activation frame per token.

        Queued before `start` so the core never waits for the testbench (stalls stay 0).
        """
        for p, beats in enumerate(job.w_beats):
            self.w_src.send_nowait(beats)
            for token in job.a_beats[p]:
                self.a_src.send_nowait(token)

    async def program(self, job: Job) -> None:
        await self.csr.program(job.tile.n_hw, job.tile.m_hw, job.tokens, job.passes)

    async def start(self, job: Job) -> None:
        """Queue the beats, program the CSRs, write start."""
        self.queue_streams(job)
        await self.program(job)
        await self.csr.start()

    def streams_idle(self) -> bool:
        """Every queued input beat has been accepted by the core."""
        return self.w_src.idle() and self.a_src.idle()

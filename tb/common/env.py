"""The core's verification environment: clock, reset, driver, monitor, checkers, coverage.

Built from the DUT handle (no globals); tests call `run_job` and the scenario helpers in
tb/core/scenarios.py. Every job is checked three ways: output values (Scoreboard), CYCLES and
STALLS (CycleChecker), and STATUS (done, not busy, no error) after the last output beat.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.handle import SimHandleBase
from cocotb.triggers import ClockCycles, Event, FallingEdge, ReadOnly, RisingEdge, with_timeout

from tb.common.assertions import AssertionWatcher
from tb.common.coverage import CoreCoverage
from tb.common.csr import Csr, Status
from tb.common.driver import CoreDriver
from tb.common.jobs import Job
from tb.common.monitor import OutputFrame, OutputMonitor
from tb.common.params import config_from_env
from tb.common.scoreboard import CycleChecker, Scoreboard
from tb.common.stalls import StallProfile

CLOCK_NS = 10


class CoreEnv:
    """One flexcim_core under test."""

    def __init__(self, dut: SimHandleBase) -> None:
        self.dut = dut
        self.cfg_name, self.cfg = config_from_env()
        seed = cocotb.RANDOM_SEED
        self.np_rng = np.random.default_rng(seed)
        self.rng = random.Random(seed)
        dut.rst_ni.value = 0
        Clock(dut.clk_i, CLOCK_NS, unit="ns").start()
        self.driver = CoreDriver(dut, self.cfg)
        self.monitor = OutputMonitor(dut, self.cfg)
        self.scoreboard = Scoreboard()
        self.cycles = CycleChecker()
        self.coverage = CoreCoverage(self.cfg_name, self.cfg)
        self.assertions = AssertionWatcher(dut)
        self.jobs_run = 0
        self._t0 = time.perf_counter()
        self._cpu0 = time.process_time()  # the simulator process's CPU: steadier on a shared host
        self._frame_event = Event()
        self.monitor.callbacks += [self.scoreboard.on_frame, self._on_frame]

    def _on_frame(self, _frame: OutputFrame) -> None:
        self._frame_event.set()

    async def reset(self, cycles: int = 4) -> None:
        """Synchronous active-low reset; drops queued beats and outstanding predictions."""
        await FallingEdge(self.dut.clk_i)
        self.dut.rst_ni.value = 0
        await ClockCycles(self.dut.clk_i, cycles)
        for src in (self.driver.w_src, self.driver.a_src):
            src.clear()
        self.scoreboard.flush()
        await FallingEdge(self.dut.clk_i)
        self.dut.rst_ni.value = 1
        await RisingEdge(self.dut.clk_i)

    def set_stalls(self, profile: StallProfile) -> None:
        self.driver.set_stalls(profile, self.rng)
        self.monitor.set_backpressure(profile.y_backpressure, self.rng)

    async def wait_until(self, cond: Callable[[], object], max_cycles: int, what: str) -> None:
        """Wait (edge by edge) until `cond()` holds in the ReadOnly phase, then step off it."""
        for _ in range(max_cycles):
            await RisingEdge(self.dut.clk_i)
            await ReadOnly()
            if cond():
                await FallingEdge(self.dut.clk_i)
                return
        raise AssertionError(f"timed out after {max_cycles} cycles waiting for {what}")

    async def wait_frames(self, count: int, job: Job, slack: float) -> None:
        """Wait until the monitor has seen `count` frames, bounded by the model's cycles."""
        limit = int(job.model_cycles * slack) + 200
        while self.monitor.frames < count:
            self._frame_event.clear()
            try:
                await with_timeout(self._frame_event.wait(), limit * CLOCK_NS, "ns")
            except cocotb.triggers.SimTimeoutError as err:
                status = await self.driver.csr.status()
                raise AssertionError(
                    f"{job.label}: no output frame within {limit} cycles (model "
                    f"{job.model_cycles}); STATUS {status}; frames left to send: weights "
                    f"{self.driver.w_src.count()}, activations {self.driver.a_src.count()}"
                ) from err

    async def finish_job(self, job: Job, profile: StallProfile, frames_before: int) -> int:
        """Wait for the job's output frame, then check values, STATUS, CYCLES and STALLS."""
        await self.wait_frames(frames_before + 1, job, slack=20.0 if profile.any else 2.0)
        self.scoreboard.check()
        status = await self.driver.csr.status()
        assert status == Status(busy=False, done=True, error=False, code=0), (
            f"{job.label}: STATUS after the last output beat is {status}"
        )
        cycles = await self.driver.csr.read(Csr.CYCLES)
        stalls = await self.driver.csr.read(Csr.STALLS)
        self.cycles.check(job, cycles, stalls, stall_free=not profile.any)
        self.coverage.sample_job(job, profile, stalls)
        self.assertions.check()
        self.jobs_run += 1
        return cycles

    async def run_job(self, job: Job, profile: StallProfile | None = None) -> int:
        """Queue the beats, program, start, and check the job; returns CYCLES."""
        profile = profile or StallProfile()
        self.set_stalls(profile)
        self.scoreboard.expect(job)
        frames_before = self.monitor.frames
        await self.driver.start(job)
        return await self.finish_job(job, profile, frames_before)

    def export_results(self, test: str) -> None:
        """Functional coverage (FCOV_FILE, cumulative per run, merged by tb.coverage_report) and
        checker statistics (STATS_FILE, one JSON line per test, read by bench.tb_bench)."""
        path = os.environ.get("FCOV_FILE")
        if path:
            self.coverage.export(Path(path))
        stats = os.environ.get("STATS_FILE")
        if stats:
            record = {
                "test": test,
                "config": self.cfg_name,
                "jobs": self.jobs_run,
                "beats": self.scoreboard.compared_beats,
                "macs": self.scoreboard.compared_macs,
                "useful_macs": self.scoreboard.compared_useful_macs,
                "seconds": time.perf_counter() - self._t0,
                "cpu_seconds": time.process_time() - self._cpu0,
                "sim_cycles": sum(sample.cycles for sample in self.cycles.samples),
                "cycles": [dataclasses.astuple(s) for s in self.cycles.samples],
            }
            with Path(stats).open("a") as handle:
                handle.write(json.dumps(record) + "\n")

    def assert_checked(self, min_jobs: int) -> None:
        """The test ran at least `min_jobs` jobs and the scoreboard compared all their beats."""
        self.assertions.check()
        assert self.jobs_run >= min_jobs, f"only {self.jobs_run} of {min_jobs} jobs completed"
        assert self.scoreboard.outstanding == 0, f"{self.scoreboard.outstanding} jobs unanswered"
        assert self.cycles.checked == self.jobs_run, "a job's CYCLES were not checked"
        assert self.scoreboard.compared_beats > 0, "the scoreboard compared no output beat"

"""The fast path: jobs bulk-loaded into tb/fast/flexcim_fast_tb.sv, cocotb in charge.

`FastEnv` runs the same `Job`s as `CoreEnv` with the same checkers (Scoreboard, CycleChecker)
and the same CSR master (cocotbext-axi AxiLiteMaster), but no Python runs per beat: a job's
beats are written to two hex files that the testbench top reads with one `$readmemh` each
(the bulk-load mechanism picked by measurement, tb/README.md), SystemVerilog drivers stream
them (seedable tvalid gaps and tready back-pressure), and the captured output beats come back
in one `$writememh` file once the job's tlast beat was captured.
"""

from __future__ import annotations

import dataclasses
import os
import random
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.handle import SimHandleBase
from cocotb.triggers import ClockCycles, FallingEdge, First, RisingEdge, Timer

from golden.beats import decode_output_beat
from golden.cycle_model import layer_cycles
from golden.stimulus import StimulusLayer
from tb.common.assertions import AssertionWatcher
from tb.common.bulk import job_memory_lines, read_memh
from tb.common.csr import Csr, CsrMaster, LeanCsrMaster, Status
from tb.common.env import CLOCK_NS
from tb.common.jobs import Job, layer_jobs
from tb.common.monitor import OutputFrame
from tb.common.params import config_from_env
from tb.common.scoreboard import CycleChecker, Scoreboard
from tb.common.stalls import StallProfile


def _threshold(prob: float) -> int:
    """Pause probability -> the 8-bit threshold of the testbench's gap generators."""
    if not 0.0 <= prob < 1.0:
        raise ValueError(f"pause probability {prob} must be in [0, 1)")
    return min(255, round(prob * 256))


class FastEnv:
    """One flexcim_fast_tb under test: `run_job` has CoreEnv's signature and checks."""

    def __init__(self, dut: SimHandleBase) -> None:
        self.dut = dut
        self.cfg_name, self.cfg = config_from_env()
        seed = cocotb.RANDOM_SEED
        self.np_rng = np.random.default_rng(seed)
        self.rng = random.Random(seed)
        self.folder = Path.cwd()  # the simulator's working folder: $readmemh's relative paths
        self.w_depth = int(os.environ["PARAM_W_DEPTH"])
        self.a_depth = int(os.environ["PARAM_A_DEPTH"])
        for name in ("load_i", "dump_i", "w_gap_i", "a_gap_i", "y_bp_i"):
            getattr(dut, name).value = 0
        # Nothing to offer before the first job is loaded: a beat offered now would be withdrawn
        # by that load, which the core's checker rightly fails (w/a_held_until_ready).
        dut.w_beats_i.value = 0
        dut.a_beats_i.value = 0
        dut.seed_i.value = 0
        dut.rst_ni.value = 0
        Clock(dut.clk_i, CLOCK_NS, unit="ns").start()
        # The lean master by default; FLEXCIM_FAST_CSR=cocotbext measures the difference.
        lean = os.environ.get("FLEXCIM_FAST_CSR", "lean") == "lean"
        self.csr = LeanCsrMaster(dut) if lean else CsrMaster(dut)
        self.scoreboard = Scoreboard()
        self.cycles = CycleChecker()
        self.assertions = AssertionWatcher(dut.u_core)  # the core's RTL checker fails the test
        self.jobs_run = 0
        self.sim_cycles = 0  # CYCLES summed over checked jobs
        self.restart_clock()  # wall and the simulator process's CPU (steadier on a shared host)

    def restart_clock(self) -> None:
        """Start the throughput record's wall and CPU time from now (`stats`)."""
        self._t0 = time.perf_counter()
        self._cpu0 = time.process_time()

    async def reset(self, cycles: int = 4) -> None:
        """Reset the core and drop the loaded job: the drivers offer nothing until the next
        load (its beats offered after reset would be withdrawn by that load)."""
        await FallingEdge(self.dut.clk_i)
        self.dut.rst_ni.value = 0
        self.dut.w_beats_i.value = 0
        self.dut.a_beats_i.value = 0
        await ClockCycles(self.dut.clk_i, cycles)
        self.scoreboard.flush()
        await FallingEdge(self.dut.clk_i)
        self.dut.rst_ni.value = 1
        await RisingEdge(self.dut.clk_i)

    async def load(self, job: Job, profile: StallProfile) -> None:
        """Write the job's memories, then one load_i edge reads them and rewinds the drivers."""
        w_lines, a_lines = job_memory_lines(job, self.cfg)
        if len(w_lines) > self.w_depth or len(a_lines) > self.a_depth:
            raise ValueError(
                f"{job.label}: {len(w_lines)} weight / {len(a_lines)} activation beats exceed "
                f"the fast testbench memories ({self.w_depth} / {self.a_depth}); build it with "
                "larger W_DEPTH / A_DEPTH"
            )
        (self.folder / "w.hex").write_text("\n".join(w_lines) + "\n")
        (self.folder / "a.hex").write_text("\n".join(a_lines) + "\n")
        dut = self.dut
        dut.w_beats_i.value = len(w_lines)
        dut.a_beats_i.value = len(a_lines)
        dut.w_gap_i.value = _threshold(profile.w_gap)
        dut.a_gap_i.value = _threshold(profile.a_gap)
        dut.y_bp_i.value = _threshold(profile.y_backpressure)
        dut.seed_i.value = self.rng.getrandbits(32)
        dut.load_i.value = 1
        await RisingEdge(dut.clk_i)
        dut.load_i.value = 0

    def set_stalls(self, profile: StallProfile) -> None:
        """Stall profiles travel with each job (`run_job`); nothing stays set between jobs."""

    async def outputs(self) -> OutputFrame:
        """The captured output frame (one $writememh), as the cocotbext monitor reports it."""
        beats = int(self.dut.y_beats_o.value)
        self.dut.dump_i.value = 1
        await RisingEdge(self.dut.clk_i)
        self.dut.dump_i.value = 0
        await FallingEdge(self.dut.clk_i)  # $writememh ran at the edge
        words = read_memh(self.folder / "y.hex")[: min(beats, self.cfg.MAX_TOK)]
        values = [decode_output_beat(word, self.cfg) for word in words]
        shape = (0, self.cfg.C)
        return OutputFrame(np.stack(values) if values else np.zeros(shape, np.int64), beats)

    async def run_job(self, job: Job, profile: StallProfile | None = None) -> int:
        """Load, program, start, await the tlast beat, check values, STATUS, CYCLES, STALLS."""
        profile = profile or StallProfile()
        await self.load(job, profile)
        self.scoreboard.expect(job)
        await self.csr.program(job.tile.n_hw, job.tile.m_hw, job.tokens, job.passes)
        await self.csr.start()
        limit = int(job.model_cycles * (20.0 if profile.any else 2.0)) + 200
        done = RisingEdge(self.dut.y_done_o)
        if not int(self.dut.y_done_o.value):
            fired = await First(done, Timer(limit * CLOCK_NS, "ns"))
            if fired is not done:
                status = await self.csr.status()
                raise AssertionError(
                    f"{job.label}: no tlast output beat within {limit} cycles (model "
                    f"{job.model_cycles}); STATUS {status}; beats taken: weights "
                    f"{int(self.dut.w_taken_o.value)}, activations "
                    f"{int(self.dut.a_taken_o.value)}"
                )
        status = await self.csr.status()
        cycles = await self.csr.read(Csr.CYCLES)
        stalls = await self.csr.read(Csr.STALLS)
        self.scoreboard.on_frame(await self.outputs())  # also catches beats after tlast
        self.scoreboard.check()
        assert status == Status(busy=False, done=True, error=False, code=0), (
            f"{job.label}: STATUS after the last output beat is {status}"
        )
        self.cycles.check(job, cycles, stalls, stall_free=not profile.any)
        self.assertions.check()
        self.jobs_run += 1
        self.sim_cycles += cycles
        return cycles

    def assert_checked(self, min_jobs: int) -> None:
        """The test ran at least `min_jobs` jobs and the scoreboard compared all their beats."""
        self.assertions.check()
        assert self.jobs_run >= min_jobs, f"only {self.jobs_run} of {min_jobs} jobs completed"
        assert self.scoreboard.outstanding == 0, f"{self.scoreboard.outstanding} jobs unanswered"
        assert self.cycles.checked == self.jobs_run, "a job's CYCLES were not checked"
        assert self.scoreboard.compared_beats > 0, "the scoreboard compared no output beat"

    def stats(self, test: str) -> dict[str, object]:
        """Throughput record of this run (bench.tb_bench reads it)."""
        seconds = time.perf_counter() - self._t0
        return {
            "test": test,
            "config": self.cfg_name,
            "backend": "fast",
            "jobs": self.jobs_run,
            "beats": self.scoreboard.compared_beats,
            "macs": self.scoreboard.compared_macs,
            "useful_macs": self.scoreboard.compared_useful_macs,
            "sim_cycles": self.sim_cycles,
            "seconds": seconds,
            "cpu_seconds": time.process_time() - self._cpu0,
            "cycles": [dataclasses.astuple(sample) for sample in self.cycles.samples],
        }


async def replay_layer(env: FastEnv, layer: StimulusLayer, index: int) -> dict[str, object]:
    """Every job of one stimulus layer (full matrix, every token) through the fast path.

    A mismatching job is counted and the replay goes on (the core is reset after a hang), so
    one run reports every bad job; the record is one row of tb.replay's table.
    """
    t0 = time.perf_counter()
    cfg = env.cfg
    mapping, jobs = layer_jobs(
        f"L{index}:{layer.name}", layer.weight, layer.act, layer.n, layer.m, cfg, perm=layer.perm
    )
    rtl = values_bad = cycles_bad = 0
    errors: list[str] = []
    for job in jobs:
        try:
            rtl += await env.run_job(job)
        except AssertionError as err:
            text = str(err)
            if "golden.cycle_model says" in text:
                cycles_bad += 1
                rtl += env.cycles.samples[-1].cycles
            else:
                values_bad += 1
            if len(errors) < 3:
                errors.append(text)
            env.scoreboard.errors.clear()
            env.scoreboard.flush()
            if "no tlast output beat" in text:
                await env.reset()
    model = layer_cycles(mapping, layer.act.shape[0], cfg).total
    return {
        "index": index,
        "layer": layer.name,
        "n": layer.n,
        "m": layer.m,
        "cout": int(layer.weight.shape[0]),
        "k": int(layer.weight.shape[1]),
        "tokens": int(layer.act.shape[0]),
        "jobs": len(jobs),
        "rtl_cycles": rtl,
        "model_cycles": model,
        "effective_speedup": mapping.effective_speedup,
        "value_mismatches": values_bad,
        "cycle_mismatches": cycles_bad,
        "errors": errors,
        "seconds": time.perf_counter() - t0,
    }

"""cocotb tests of the fast path (tb/fast/flexcim_fast_tb.sv; tb/fast/test_fast.py runs them).

The same jobs, scoreboard and cycle checker as tb/core, with the beats bulk-loaded into the
testbench top: these tests carry the volume (every pattern, stalls, layers, stimulus files,
the throughput benchmark); the cocotbext-axi tests of tb/core keep the protocol corners.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from pathlib import Path

import cocotb
from cocotb.handle import SimHandleBase
from cocotb.triggers import ClockCycles

from golden.stimulus import load_stimulus
from tb.common.fast import FastEnv, replay_layer
from tb.common.stalls import StallProfile, every_stall_combination
from tb.core import scenarios


def _count(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


async def _setup(dut: SimHandleBase) -> FastEnv:
    env = FastEnv(dut)
    await env.reset()
    return env


def _export(env: FastEnv, test: str) -> None:
    """One JSON line per test into STATS_FILE (bench.tb_bench reads it)."""
    path = os.environ.get("STATS_FILE")
    if path:
        with Path(path).open("a") as handle:
            handle.write(json.dumps(env.stats(test)) + "\n")


@cocotb.test()
async def fast_patterns_match_golden(dut: SimHandleBase) -> None:
    """Every supported pattern, 1..3 passes, tokens 1/mid/max: values and exact CYCLES."""
    env = await _setup(dut)
    per = _count("JOBS_PER_PATTERN", 2)
    await scenarios.every_pattern(env, per)
    env.assert_checked(per * len(scenarios.patterns(env)))
    _export(env, "fast_patterns_match_golden")


@cocotb.test()
async def fast_stalls_on_every_stream(dut: SimHandleBase) -> None:
    """The SystemVerilog drivers' tvalid gaps and tready back-pressure, all 8 combinations."""
    env = await _setup(dut)
    sparse = scenarios.patterns(env)
    rounds = _count("STALL_ROUNDS", 1)
    stalls = 0
    for r, profile in itertools.product(range(rounds), every_stall_combination(0.3)):
        n, m = sparse[int(env.np_rng.integers(len(sparse)))]
        label = f"{n}:{m}/stall{profile.key}/{r}"
        job = scenarios.one_tile_job(env, n, m, label, passes=2, tokens=env.cfg.MAX_TOK)
        await env.run_job(job, profile)  # CYCLES - STALLS == model, whatever the stalls
        stalls += env.cycles.samples[-1].stalls
    env.assert_checked(8 * rounds)
    assert stalls > 0, "the drivers' gaps and back-pressure never stalled the core"
    _export(env, "fast_stalls_on_every_stream")


@cocotb.test()
async def fast_multi_job_layers(dut: SimHandleBase) -> None:
    """Layers of several column tiles and token chunks; summed CYCLES == layer model."""
    env = await _setup(dut)
    await scenarios.multi_job_layer(env, _count("LAYERS", 3))
    env.assert_checked(4)
    _export(env, "fast_multi_job_layers")


@cocotb.test()
async def fast_replay_stimulus_file(dut: SimHandleBase) -> None:
    """Layers of STIMULUS=path (else a synthetic file) through the fast path."""
    env = await _setup(dut)
    ran = await scenarios.replay(env, _count("REPLAY_TILES", 2), _count("REPLAY_LAYERS", 6))
    env.assert_checked(ran)
    _export(env, "fast_replay_stimulus_file")


@cocotb.test()
async def fast_scoreboard_detects_wrong_prediction(dut: SimHandleBase) -> None:
    """Negative test: an off-by-one prediction and an off-by-one cycle model must both fail."""
    env = await _setup(dut)
    job = scenarios.one_tile_job(env, 2, 4, "negative")
    wrong = job.expected.copy()
    wrong[-1, -1] += 1
    try:
        await env.run_job(dataclasses.replace(job, expected=wrong))
    except AssertionError as err:
        want = f"got {job.expected[-1, -1]}, want {wrong[-1, -1]}"
        assert want in str(err), f"scoreboard failed for another reason: {err}"
    else:
        raise AssertionError("the fast path accepted a deliberately wrong prediction")
    env.scoreboard.errors.clear()
    try:
        await env.run_job(dataclasses.replace(job, model_cycles=job.model_cycles + 1))
    except AssertionError as err:
        assert "golden.cycle_model says" in str(err), f"failed for another reason: {err}"
    else:
        raise AssertionError("the fast path accepted a deliberately wrong cycle model")
    await env.run_job(job)  # the environment is still usable


@cocotb.test()
async def fast_rtl_assertion_is_watched(dut: SimHandleBase) -> None:
    """Negative test: a weight beat offered and then withdrawn by a load must fail the core's
    w_held_until_ready, named, through the environment (the checker runs in every build)."""
    env = await _setup(dut)
    env.assertions.pause()  # provoke the failure on purpose, then read it on demand
    dut.w_beats_i.value = 1  # the driver offers memory word 0 to an idle core...
    await ClockCycles(dut.clk_i, 3)  # (the stream is internal: the checker's verdict tells)
    await env.load(scenarios.one_tile_job(env, 2, 4, "withdrawn"), StallProfile())  # ...withdrawn
    await ClockCycles(dut.clk_i, 2)
    env.assertions.expect_failed("w_held_until_ready", "a weight beat withdrawn by a load")
    await env.reset()  # drops the loaded job too: nothing is offered until the next load
    env.assertions.resume()
    await env.run_job(scenarios.one_tile_job(env, 2, 4, "after"))  # clean again
    env.assert_checked(1)


@cocotb.test()
async def fast_throughput(dut: SimHandleBase) -> None:
    """bench.tb_bench's load: BENCH_JOBS random jobs over every pattern, each fully checked."""
    env = await _setup(dut)
    per = _count("BENCH_JOBS_PER_PATTERN", 4)
    await scenarios.every_pattern(env, per)
    env.assert_checked(per * len(scenarios.patterns(env)))
    _export(env, "fast_throughput")


@cocotb.test()
async def fast_long_job(dut: SimHandleBase) -> None:
    """bench.tb_bench's ceiling probe: one long 1:1 job (LONG_PASSES passes), fully checked."""
    env = await _setup(dut)
    passes = _count("LONG_PASSES", 16)
    job = scenarios.one_tile_job(env, 1, 1, "long", passes=passes, tokens=env.cfg.MAX_TOK)
    env.restart_clock()  # time the simulation of the job, not its golden preparation
    await env.run_job(job)
    env.assert_checked(1)
    _export(env, "fast_long_job")


@cocotb.test()
async def fast_replay_model(dut: SimHandleBase) -> None:
    """tb.replay's worker: whole layers of REPLAY_FILE (indices REPLAY_LAYERS), every job
    checked; one JSON line per finished layer into REPLAY_RESULTS (the driver resumes there)."""
    env = await _setup(dut)
    stim = load_stimulus(Path(os.environ["REPLAY_FILE"]))
    indices = [int(i) for i in os.environ["REPLAY_LAYERS"].split(",") if i]
    results = Path(os.environ["REPLAY_RESULTS"])
    worker = os.environ.get("REPLAY_WORKER", "0")
    failed = 0
    for done, index in enumerate(indices, 1):
        record = await replay_layer(env, stim.layers[index], index)
        with results.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        bad = record["value_mismatches"] + record["cycle_mismatches"]
        failed += bad > 0
        cocotb.log.info(
            "replay worker %s: %d/%d %s %d:%d, %d jobs, RTL %d / model %d cycles, %d bad "
            "jobs, %.1f s",
            worker,
            done,
            len(indices),
            record["layer"],
            record["n"],
            record["m"],
            record["jobs"],
            record["rtl_cycles"],
            record["model_cycles"],
            bad,
            record["seconds"],
        )
    assert failed == 0, f"{failed} of {len(indices)} layers had mismatching jobs ({results})"

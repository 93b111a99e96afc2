"""Reusable stimulus scenarios on a CoreEnv; the cocotb tests and the closure test call them.

Each returns after every job it started has been checked; sizes come from the caller so the
regression tests run many jobs and the coverage-closure test runs a compact set.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
from cocotb.triggers import ClockCycles, RisingEdge, Timer

from golden.config import supported_patterns
from golden.cycle_model import layer_cycles
from golden.stimulus import load_stimulus, save_stimulus, synthetic_stimulus
from tb.common.coverage import error_examples
from tb.common.csr import Csr, Status
from tb.common.env import CoreEnv
from tb.common.jobs import Job, layer_jobs
from tb.common.monitor import HandshakeCounter
from tb.common.stalls import StallProfile, every_stall_combination
from tb.common.stimulus import random_layer, random_spec

# Value kinds whose jobs hit every tb.common.coverage.VALUE_CORNERS bin.
VALUE_KINDS = ("zeros", "zero-acts", "min", "max", "extremes", "max-sum")


def patterns(env: CoreEnv) -> list[tuple[int, int]]:
    """Every layer pattern the config supports, up to M = 2P (so every pair select is used)."""
    return supported_patterns(env.cfg.P, max_m=max(8, 2 * env.cfg.P))


def one_tile_job(
    env: CoreEnv,
    n: int,
    m: int,
    label: str,
    passes: int | None = None,
    mask: str = "pair-shared",
    values: str = "random",
    tokens: int | None = None,
) -> Job:
    """A random single-tile, single-chunk job of pattern n:m."""
    spec = random_spec(env.np_rng, n, m, env.cfg, passes, mask, values, tokens=tokens)
    w, x = random_layer(env.np_rng, spec, env.cfg)
    _, jobs = layer_jobs(label, w, x, n, m, env.cfg)
    assert len(jobs) == 1, f"{label}: expected one job, mapper made {len(jobs)}"
    return jobs[0]


async def every_pattern(env: CoreEnv, jobs_per_pattern: int, mask: str = "pair-shared") -> None:
    """Jobs of every supported pattern, alternating single- and multi-pass, tokens 1/mid/max."""
    token_choices = itertools.cycle([1, env.cfg.MAX_TOK, None])
    for n, m in patterns(env):
        for i in range(jobs_per_pattern):
            passes = 1 if i % 2 == 0 else int(env.np_rng.integers(2, 4))
            job = one_tile_job(
                env, n, m, f"{n}:{m}/{mask}/{i}", passes, mask, tokens=next(token_choices)
            )
            await env.run_job(job)


async def spilling_masks(env: CoreEnv, jobs: int) -> int:
    """Per-channel masks that do not fit N slots: the mapper spills groups. Returns spills."""
    sparse = [(n, m) for n, m in patterns(env) if n < m]
    spilled = 0
    for i in range(jobs):
        n, m = sparse[i % len(sparse)]
        job = one_tile_job(env, n, m, f"{n}:{m}/per-channel/{i}", mask="per-channel")
        # One select per cell (G = 1): every N:M group fits its N slots, nothing may spill;
        # the dense DCiM never spills (one position per group of P, whatever the values).
        never = env.cfg.core_kind == "dense" or (env.cfg.core_kind == "flexcim" and env.cfg.G == 1)
        assert not (never and job.spilled), f"{job.label}: spilled on {env.cfg_name}"
        spilled += job.spilled
        await env.run_job(job)
    return spilled


async def value_corners(env: CoreEnv) -> None:
    """Zeros, -128/127 operands and the all-max column sum on dense and sparse patterns."""
    for (n, m), values in itertools.product([(1, 2), (2, 2)], VALUE_KINDS):
        await env.run_job(one_tile_job(env, n, m, f"{n}:{m}/{values}", values=values))


async def stalls(env: CoreEnv, prob: float, rounds: int) -> None:
    """Every on/off combination of w gaps, a gaps and y back-pressure, `rounds` times each."""
    sparse = patterns(env)
    for r, profile in itertools.product(range(rounds), every_stall_combination(prob)):
        n, m = sparse[int(env.np_rng.integers(len(sparse)))]
        job = one_tile_job(env, n, m, f"{n}:{m}/stall{profile.key}/{r}", passes=2)
        await env.run_job(job, profile)
    env.set_stalls(StallProfile())


async def illegal_configs(env: CoreEnv) -> None:
    """Every reachable error code: STATUS says so, no beat moves, then a valid start runs."""
    env.set_stalls(StallProfile())
    for code, (n_hw, m_hw, tokens, passes) in error_examples(env.cfg).items():
        job = one_tile_job(env, 1, 2, f"after-error-{code}")
        env.driver.queue_streams(job)  # offered to the core, which must not take them
        counters = [
            HandshakeCounter(
                env.dut.clk_i, getattr(env.dut, f"{s}_tvalid"), getattr(env.dut, f"{s}_tready")
            )
            for s in ("s_axis_w", "s_axis_a", "m_axis_y")
        ]
        frames = env.monitor.frames
        await env.driver.csr.program(n_hw, m_hw, tokens, passes)
        await env.driver.csr.start()
        await ClockCycles(env.dut.clk_i, 16)
        status = await env.driver.csr.status()
        moved = [c.count for c in counters]
        for c in counters:
            c.stop()
        assert status == Status(busy=False, done=False, error=True, code=code), (
            f"N={n_hw} M={m_hw} T={tokens} NP={passes}: STATUS {status}, expected error {code}"
        )
        assert moved == [0, 0, 0] and env.monitor.frames == frames, (
            f"error {code}: beats moved (w, a, y) = {moved} although the start was refused"
        )
        env.coverage.sample_error(code)
        # A valid start clears the error and consumes the beats queued above.
        env.scoreboard.expect(job)
        await env.driver.program(job)
        await env.driver.csr.start()
        await env.finish_job(job, StallProfile(), frames)


async def reset_mid_run(env: CoreEnv) -> None:
    """Reset while idle, in weight load, activation load and output; a clean job then passes."""
    dut = env.dut
    env.set_stalls(StallProfile())
    for phase in ("idle", "wload", "aload", "out"):
        job = one_tile_job(env, 2, 4, f"reset-{phase}", passes=2, tokens=max(2, env.cfg.MAX_TOK))
        if phase != "idle":
            if phase == "out":  # hold the sink so the core sits in OUT with a beat offered
                env.monitor.sink.pause = True
            env.scoreboard.expect(job)
            await env.driver.start(job)
            w_beats = env.cfg.P * env.cfg.R
            counter = HandshakeCounter(dut.clk_i, dut.s_axis_w_tvalid, dut.s_axis_w_tready)
            cond = {
                "wload": lambda c=counter, n=w_beats: 0 < c.count < n,
                "aload": lambda: int(dut.s_axis_a_tvalid.value) & int(dut.s_axis_a_tready.value),
                "out": lambda: int(dut.m_axis_y_tvalid.value),
            }[phase]
            await env.wait_until(cond, 20 * job.model_cycles, f"phase {phase}")
            counter.stop()
        await env.reset()
        env.monitor.sink.pause = False
        env.coverage.sample_reset(phase)
        status = await env.driver.csr.status()
        assert status == Status(False, False, False, 0), f"after reset in {phase}: {status}"
        await env.run_job(one_tile_job(env, 2, 4, f"after-reset-{phase}"))


async def multi_job_layer(env: CoreEnv, layers: int) -> None:
    """Layers wider than C and longer than MAX_TOK: tiles x token chunks, cycles summed."""
    cfg = env.cfg
    for i in range(layers):
        n, m = patterns(env)[int(env.np_rng.integers(len(patterns(env))))]
        spec = random_spec(
            env.np_rng,
            n,
            m,
            cfg,
            cout=int(env.np_rng.integers(cfg.C + 1, 3 * cfg.C + 1)),
            tokens=int(env.np_rng.integers(cfg.MAX_TOK + 1, 2 * cfg.MAX_TOK + 2)),
        )
        w, x = random_layer(env.np_rng, spec, cfg)
        mapping, jobs = layer_jobs(f"layer{i}-{n}:{m}", w, x, n, m, cfg)
        total = 0
        for job in jobs:
            total += await env.run_job(job)
        model = layer_cycles(mapping, spec.tokens, cfg).total
        assert total == model, f"layer {i} ({n}:{m}): RTL cycles {total}, layer model {model}"


def stimulus_path(env: CoreEnv) -> Path:
    """STIMULUS=path (a FLOW export) or a synthetic file made once in the build folder."""
    given = os.environ.get("STIMULUS")
    if given:
        return Path(given)
    path = Path(os.environ.get("FLEXCIM_BUILD_DIR", ".")) / "synthetic_stimulus.npz"
    if not path.exists():
        even = [(n, m) for n, m in patterns(env) if m % 2 == 0 and m <= 8][:6]
        rng = np.random.default_rng(0)  # a fixed file: replays are comparable across seeds
        stim = synthetic_stimulus(rng, even, cout=2 * env.cfg.C, k=96, tokens=env.cfg.MAX_TOK)
        save_stimulus(path, stim)
    return path


async def replay(env: CoreEnv, max_tiles: int, max_layers: int) -> int:
    """Replay layers of a stimulus file (first tiles/tokens of each); returns layers run."""
    path = stimulus_path(env)
    stim = load_stimulus(path)
    cfg, ran = env.cfg, 0
    unsupported = [
        f"{ly.name} ({ly.n}:{ly.m})" for ly in stim.layers if (ly.n, ly.m) not in patterns(env)
    ]
    # Never skip silently: a layer this config cannot run is a wrong file/config pairing.
    assert not unsupported, (
        f"{path}: {len(unsupported)} layer(s) use patterns config {env.cfg_name} cannot run: "
        + ", ".join(unsupported[:5])
    )
    for layer in stim.layers:
        if ran >= max_layers:
            break
        w = layer.weight[: max_tiles * cfg.C]
        x = layer.act[: cfg.MAX_TOK]
        for mode in ("pair-shared",):
            _, jobs = layer_jobs(f"{path.name}:{layer.name}", w, x, layer.n, layer.m, cfg, mode)
            for job in jobs:
                await env.run_job(job)
        ran += 1
    assert ran > 0, f"{path}: no layer with a pattern this config supports"
    return ran


async def csr_map(env: CoreEnv) -> None:
    """PARAMS, VERSION, read-back of RW registers, unmapped reads, writes ignored while busy."""
    cfg, csr = env.cfg, env.driver.csr
    params = await csr.read(Csr.PARAMS)
    want = cfg.P | cfg.R << 8 | cfg.C << 16 | cfg.MAX_TOK << 24
    assert params == want, f"PARAMS 0x{params:08x}, expected 0x{want:08x}"
    # C/G - 1, RPB - 1, FIXED_N, FIXED_M: 0 for the flexible G = C, RPB = 1 core
    params2 = await csr.read(Csr.PARAMS2)
    want2 = (cfg.SELS - 1) | (cfg.RPB - 1) << 8 | cfg.FIXED_N << 16 | cfg.FIXED_M << 24
    assert params2 == want2, f"PARAMS2 0x{params2:08x}, expected 0x{want2:08x}"
    assert await csr.read(Csr.VERSION) == 0x0001_0000
    for reg, value in ((Csr.N, 2), (Csr.M, 6), (Csr.TOKENS, 3), (Csr.PASSES, 513)):
        await csr.write(reg, value)
        assert await csr.read(reg) == value, f"{reg.name} read-back"
    assert await csr.read(0x40) == 0, "unmapped address must read 0"
    job = one_tile_job(env, 1, 2, "busy-writes", passes=3, tokens=cfg.MAX_TOK)
    env.scoreboard.expect(job)
    frames = env.monitor.frames
    await env.driver.start(job)
    await csr.write(Csr.N, 4)  # ignored: the job keeps its configuration
    await csr.write(Csr.PASSES, 7)
    assert await csr.read(Csr.N) == job.tile.n_hw, "N changed while busy"
    assert (await csr.status()).busy, "core not busy right after start"
    await env.finish_job(job, StallProfile(), frames)


async def stream_protocol_violation(env: CoreEnv) -> None:
    """Withdraw a weight beat before it is taken: the RTL checker must name the rule broken.

    While the core is idle (tready low) the testbench raises s_axis_w_tvalid for one cycle and
    drops it, which AXI4-Stream forbids; ``w_held_until_ready`` must fail, and a clean job
    must pass afterwards.
    """
    dut = env.dut
    env.assertions.pause()
    await RisingEdge(dut.clk_i)
    await Timer(1, unit="ns")  # mid-cycle: away from both sampling edges
    assert not int(dut.s_axis_w_tready.value), "the core is not idle"
    dut.s_axis_w_tvalid.value = 1
    await RisingEdge(dut.clk_i)
    await Timer(1, unit="ns")
    dut.s_axis_w_tvalid.value = 0
    await ClockCycles(dut.clk_i, 3)
    env.assertions.expect_failed("w_held_until_ready", "a withdrawn tvalid")
    env.assertions.resume()
    await env.run_job(one_tile_job(env, 2, 4, "after-violation"))

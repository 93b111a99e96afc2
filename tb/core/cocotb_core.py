"""cocotb tests of flexcim_core (run inside the simulator; tb/core/test_core.py runs them).

Every test builds a fresh CoreEnv, runs a scenario, asserts how many jobs and beats its
checkers compared, and exports the run's cumulative functional coverage (FCOV_FILE).
"""

from __future__ import annotations

import dataclasses
import os

import cocotb
from cocotb.handle import SimHandleBase
from cocotb.triggers import FallingEdge

from tb.common.env import CoreEnv
from tb.core import scenarios


def _count(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


async def _setup(dut: SimHandleBase) -> CoreEnv:
    env = CoreEnv(dut)
    await env.reset()
    return env


@cocotb.test()
async def random_patterns_match_golden(dut: SimHandleBase) -> None:
    """Every supported N:M pattern, pair-shared masks, 1..3 passes, no stalls: exact CYCLES."""
    env = await _setup(dut)
    per = _count("JOBS_PER_PATTERN", 2)
    await scenarios.every_pattern(env, per)
    env.assert_checked(per * len(scenarios.patterns(env)))
    env.export_results("random_patterns_match_golden")


@cocotb.test()
async def per_channel_masks_spill(dut: SimHandleBase) -> None:
    """Per-channel N:M masks that do not fit N slots: spilled groups still compute exactly.

    With one select per cell (G = 1) no N:M mask spills: the same jobs must all fit; nor on
    the dense DCiM baseline. A fixed-pattern baseline "spills" (runs dense) every layer its
    pattern does not cover."""
    env = await _setup(dut)
    jobs = _count("SPILL_JOBS", 12)
    spilled = await scenarios.spilling_masks(env, jobs)
    kind = env.cfg.core_kind
    if kind == "dense" or (kind == "flexcim" and env.cfg.G == 1):
        assert spilled == 0, f"{spilled} of {jobs} per-channel jobs spilled on {env.cfg_name}"
    else:
        assert spilled > 0, f"none of {jobs} per-channel jobs spilled a group"
    env.assert_checked(jobs)
    env.export_results("per_channel_masks_spill")


@cocotb.test()
async def value_corners_match_golden(dut: SimHandleBase) -> None:
    """All-zero weights/activations, -128 and 127 operands, the all-max column sum."""
    env = await _setup(dut)
    await scenarios.value_corners(env)
    env.assert_checked(2 * len(scenarios.VALUE_KINDS))
    env.export_results("value_corners_match_golden")


@cocotb.test()
async def random_stalls_on_every_stream(dut: SimHandleBase) -> None:
    """tvalid gaps on w and a, tready back-pressure on y, in all 8 combinations."""
    env = await _setup(dut)
    rounds = _count("STALL_ROUNDS", 2)
    await scenarios.stalls(env, prob=0.3, rounds=rounds)
    env.assert_checked(8 * rounds)
    env.export_results("random_stalls_on_every_stream")


@cocotb.test()
async def illegal_configs_rejected(dut: SimHandleBase) -> None:
    """Each reachable STATUS error code: no beat moves; a valid start then clears it and runs."""
    env = await _setup(dut)
    await scenarios.illegal_configs(env)
    env.assert_checked(1)
    env.export_results("illegal_configs_rejected")


@cocotb.test()
async def ends_while_streaming(dut: SimHandleBase) -> None:
    """Ends in the middle of a job's weight load, beats still queued, one on the bus.

    The next test (bus_is_quiet_after_a_test_ends) then fails unless this test's sources
    stopped with it: on Verilator they step from simulator callbacks, which cocotb does not
    cancel at the end of a test the way it cancels tasks."""
    env = await _setup(dut)
    job = scenarios.one_tile_job(env, 2, 4, "left-behind", passes=3)
    await env.driver.start(job)

    def moving() -> bool:
        return bool(dut.s_axis_w_tvalid.value) and bool(dut.s_axis_w_tready.value)

    await env.wait_until(moving, 20, "the first weight beat")
    assert env.driver.w_src.count() > 0, "no frame left queued at the end of the test"


@cocotb.test()
async def bus_is_quiet_after_a_test_ends(dut: SimHandleBase) -> None:
    """A fresh environment with nothing queued: no stream offers a beat for 64 cycles after
    reset, whatever the previous test left behind (its sources must have stopped); then a
    clean job passes."""
    env = await _setup(dut)
    for _ in range(64):
        await FallingEdge(dut.clk_i)
        for prefix in ("s_axis_w", "s_axis_a"):
            assert not getattr(dut, f"{prefix}_tvalid").value, f"{prefix}_tvalid high, unqueued"
    await env.run_job(scenarios.one_tile_job(env, 2, 4, "after", passes=2))  # still clean
    env.assert_checked(1)


@cocotb.test()
async def reset_mid_run_then_clean_job(dut: SimHandleBase) -> None:
    """Reset when idle, in weight load, activation load and output; then a clean job passes."""
    env = await _setup(dut)
    await scenarios.reset_mid_run(env)
    env.assert_checked(4)
    env.export_results("reset_mid_run_then_clean_job")


@cocotb.test()
async def csr_map_and_busy_writes(dut: SimHandleBase) -> None:
    """PARAMS, VERSION, read-back, unmapped reads, configuration writes ignored while busy."""
    env = await _setup(dut)
    await scenarios.csr_map(env)
    env.assert_checked(1)
    env.export_results("csr_map_and_busy_writes")


@cocotb.test()
async def multi_job_layers_match_layer_model(dut: SimHandleBase) -> None:
    """Layers of several column tiles and token chunks; summed CYCLES == layer model."""
    env = await _setup(dut)
    await scenarios.multi_job_layer(env, _count("LAYERS", 3))
    env.assert_checked(4)
    env.export_results("multi_job_layers_match_layer_model")


@cocotb.test()
async def replay_stimulus_file(dut: SimHandleBase) -> None:
    """Layers from a stimulus file (STIMULUS=path, else a synthetic one) against golden."""
    env = await _setup(dut)
    ran = await scenarios.replay(env, _count("REPLAY_TILES", 2), _count("REPLAY_LAYERS", 6))
    env.assert_checked(ran)
    env.export_results("replay_stimulus_file")


@cocotb.test()
async def functional_coverage_closure(dut: SimHandleBase) -> None:
    """Compact directed + random run that must hit 100% of this config's coverage bins."""
    env = await _setup(dut)
    await scenarios.every_pattern(env, 2)
    await scenarios.spilling_masks(env, 2 * len(scenarios.patterns(env)))
    await scenarios.value_corners(env)
    await scenarios.stalls(env, prob=0.5, rounds=1)
    await scenarios.illegal_configs(env)
    await scenarios.reset_mid_run(env)
    env.export_results("functional_coverage_closure")
    missing = "; ".join(env.coverage.missing())
    assert env.coverage.percentage == 100.0, (
        f"functional coverage {env.coverage.percentage:.1f}% of {env.coverage.root}: {missing}"
    )
    env.assert_checked(10)


@cocotb.test()
async def scoreboard_detects_wrong_prediction(dut: SimHandleBase) -> None:
    """Negative test: one expected value off by one must fail the scoreboard, naming it."""
    env = await _setup(dut)
    job = scenarios.one_tile_job(env, 2, 4, "negative")
    wrong = job.expected.copy()
    wrong[0, 0] += 1
    try:
        await env.run_job(dataclasses.replace(job, expected=wrong))
    except AssertionError as err:
        want = f"got {job.expected[0, 0]}, want {wrong[0, 0]}"
        assert want in str(err), f"scoreboard failed for another reason: {err}"
    else:
        raise AssertionError("the scoreboard accepted a deliberately wrong prediction")


@cocotb.test()
async def rtl_assertion_names_protocol_violation(dut: SimHandleBase) -> None:
    """Negative test: a withdrawn tvalid must fail the RTL checker's w_held_until_ready."""
    env = await _setup(dut)
    await scenarios.stream_protocol_violation(env)
    env.assert_checked(1)
    env.export_results("rtl_assertion_names_protocol_violation")

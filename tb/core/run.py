"""pytest-free runner of the cocotbext-axi core regression (tb/core/cocotb_core.py).

Shared by tb/core/test_core.py, tb.mutation, bench.tb_bench and tb/test_testplan.py: the test
groups, the configurations per simulator, and one run of a group.
"""

from __future__ import annotations

import os

from tb.common.runner import (
    build_dir_for,
    core_sources,
    load_configs,
    print_seed,
    rtl_dir,
    run_cocotb,
    sim_build_root,
    stimulus_env,
)

TOPLEVEL = "flexcim_core"
MODULE = "tb.core.cocotb_core"

# Test groups: each is one simulator run of these cocotb tests.
GROUPS: dict[str, list[str]] = {
    "patterns": ["random_patterns_match_golden", "value_corners_match_golden"],
    "masks": ["per_channel_masks_spill", "replay_stimulus_file"],
    "stalls": ["random_stalls_on_every_stream"],
    "control": [
        "illegal_configs_rejected",
        "ends_while_streaming",  # the next test proves its sources stopped with it
        "bus_is_quiet_after_a_test_ends",
        "reset_mid_run_then_clean_job",
        "csr_map_and_busy_writes",
        "scoreboard_detects_wrong_prediction",
        "rtl_assertion_names_protocol_violation",
    ],
    "layers": ["multi_job_layers_match_layer_model"],
    "closure": ["functional_coverage_closure"],
}
# Per-group environment: the stall group drives the streams with cocotbext-axi itself
# (tb.common.streams), an independent BFM beside the lean endpoints every other group uses;
# the mask group steps its lean sources from a task instead of the Verilator callback drive,
# so both drives stay covered.
GROUP_ENV: dict[str, dict[str, str]] = {
    "stalls": {"FLEXCIM_STREAMS": "cocotbext"},
    "masks": {"FLEXCIM_SOURCE_DRIVE": "task"},
}
# Select-sharing width G variants (configs/flexcim.yaml): G < C, one build each.
# and activation rows per beat RPB variants (RPB = R: one token per beat). All slow but G_QUICK.
G_CONFIGS = ("small_g2", "small_g1", "default_g4", "default_g1", "small_rpb4", "small_g1_rpb4")
# Paper-scale configurations (a cold build is ~5 min each): marked `paper`, so `make sim` and
# `make regress` run them and `make test` does not. `paper_g1_rpb32` is the recommended core
# (G = 1, RPB = R) and gets every group `paper` gets, on tb/core and on tb/fast.
PAPER_CONFIGS = ("paper", "paper_g1_rpb32")
# The comparison baselines (FIXED_N/FIXED_M: dense DCiM, fixed 1:2, fixed 2:4) at the small
# size: every group in `make test` (one ~35 s build each). Their paper-size forms run on the
# fast path (tb/fast/test_fast.py, marked `paper`).
BASELINE_CONFIGS = ("small_dense", "small_fixed12", "small_fixed24")
BASELINE_PAPER = ("paper_dense", "paper_fixed12", "paper_fixed24")
VERILATOR_CONFIGS = (
    "tiny",
    "small",
    "default",
    "wide",
    "deep",
    *PAPER_CONFIGS,
    *G_CONFIGS,
    *BASELINE_CONFIGS,
)
# Icarus is ~100x slower on wide designs: small configurations only.
ICARUS_CONFIGS = (
    "tiny",
    "small",
    "small_g2",
    "small_g1",
    "small_rpb4",
    "small_g1_rpb4",
    *BASELINE_CONFIGS,
)
# The G / RPB case `make test` runs (its 10-minute budget allows one more small build, ~35 s):
# the recommended core's shape at the small size, G = 1 and RPB = R, closure group (every
# scenario once, 100% of its select-group and beat-row bins, the G = 1 no-spill check); G = 2
# runs on the fast path (tb/fast/test_fast.py QUICK); every other G / RPB case is slow.
G_QUICK = {("verilator", "small_g1_rpb4"): ("closure",)}
ICARUS_GROUPS = ("patterns", "control", "closure")


def run_core(
    sim: str, config: str, group: str, tests: list[str], seed: int | None = None, **env: str
) -> int:
    """Run `tests` of tb.core.cocotb_core on `config`; shared by mutation and the bench."""
    coverage = os.environ.get("FLEXCIM_COVERAGE", "0") == "1" and sim == "verilator"
    params = load_configs()[config]
    tag = f"tb-{config}"  # apart from tb/blocks' builds of the same top level
    build_dir = build_dir_for(sim, TOPLEVEL, f"{tag}-cov" if coverage else tag)
    name = f"{config}-{group}"
    fcov = sim_build_root() / "fcov" / f"{sim}-{name}.yml"
    extra = {
        "FLEXCIM_CONFIG": config,
        "FCOV_FILE": str(fcov),
        "FLEXCIM_BUILD_DIR": str(build_dir),
        **stimulus_env(),
        **GROUP_ENV.get(group, {}),
        **env,
    }
    return run_cocotb(
        toplevel=TOPLEVEL,
        sources=core_sources(),  # dependency order: the package first
        includes=[rtl_dir()],
        test_module=MODULE,
        parameters=params,
        tag=tag,
        sim=sim,
        testcase=tests,
        extra_env=extra,
        coverage=coverage,
        seed=print_seed(seed),
        results_name=name,
    )

"""pytest runner of the flexcim_core regression: simulator x named config x test group.

One build per (simulator, config) is shared by its groups (xdist_group keeps them on one
worker under `--dist loadgroup`); each group is one simulator run with its own results file
and functional-coverage export. SIM=verilator|icarus picks one simulator (the Makefile always
sets it); unset, both run (Icarus on the small configs only). FLEXCIM_COVERAGE=1 builds
Verilator with line/toggle coverage (tb.coverage_report). CORE_CONFIGS=a,b restricts the configs.
"""

from __future__ import annotations

import os
import random

import pytest

from tb.common.runner import (
    CORE_MODULES,
    build_dir_for,
    load_configs,
    rtl_dir,
    rtl_sources,
    run_cocotb,
    sim_build_root,
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
        "reset_mid_run_then_clean_job",
        "csr_map_and_busy_writes",
        "scoreboard_detects_wrong_prediction",
        "rtl_assertion_names_protocol_violation",
    ],
    "layers": ["multi_job_layers_match_layer_model"],
    "closure": ["functional_coverage_closure"],
}
VERILATOR_CONFIGS = ("tiny", "small", "default", "wide", "deep", "paper")
ICARUS_CONFIGS = ("tiny", "small")  # Icarus is ~100x slower on wide designs
ICARUS_GROUPS = ("patterns", "control", "closure")


def _sims() -> list[str]:
    sim = os.environ.get("SIM")
    return [sim] if sim else ["verilator", "icarus"]


def _cases() -> list[pytest.param]:
    only = {c for c in os.environ.get("CORE_CONFIGS", "").split(",") if c}
    cases = []
    for sim in _sims():
        configs = VERILATOR_CONFIGS if sim == "verilator" else ICARUS_CONFIGS
        groups = GROUPS if sim == "verilator" else ICARUS_GROUPS
        for config in configs:
            if only and config not in only:
                continue
            marks = [pytest.mark.xdist_group(f"core-{sim}-{config}")]
            if sim == "icarus":
                marks.append(pytest.mark.icarus)
            if config == "paper":
                marks.append(pytest.mark.paper)  # ~5 min cold build: `make sim`, not `make test`
            cases += [
                pytest.param(sim, config, group, marks=marks, id=f"{sim}-{config}-{group}")
                for group in groups
            ]
    return cases


def core_seed() -> int:
    """COCOTB_RANDOM_SEED when given (SEED=... make sim), else a fresh one, always printed."""
    seed = int(os.environ.get("COCOTB_RANDOM_SEED") or random.SystemRandom().getrandbits(31))
    print(f"COCOTB_RANDOM_SEED={seed}")
    return seed


def run_core(sim: str, config: str, group: str, tests: list[str], **env: str) -> int:
    """Run `tests` of tb.core.cocotb_core on `config`; shared by mutation and the bench."""
    coverage = os.environ.get("FLEXCIM_COVERAGE", "0") == "1" and sim == "verilator"
    params = load_configs()[config]
    tag = f"tb-{config}"  # apart from tb/blocks' builds of the same top level
    build_dir = build_dir_for(sim, TOPLEVEL, f"{tag}-cov" if coverage else tag)
    name = f"{config}-{group}"
    sources = rtl_sources(*CORE_MODULES)  # dependency order: the package first
    fcov = sim_build_root() / "fcov" / f"{sim}-{name}.yml"
    extra = {
        "FLEXCIM_CONFIG": config,
        "FCOV_FILE": str(fcov),
        "FLEXCIM_BUILD_DIR": str(build_dir),
        **env,
    }
    return run_cocotb(
        toplevel=TOPLEVEL,
        sources=sources,
        includes=[rtl_dir()],
        test_module=MODULE,
        parameters=params,
        tag=tag,
        sim=sim,
        testcase=tests,
        extra_env=extra,
        coverage=coverage,
        seed=core_seed(),
        results_name=name,
    )


@pytest.mark.parametrize(("sim", "config", "group"), _cases())
def test_core(sim: str, config: str, group: str) -> None:
    ran = run_core(sim, config, group, GROUPS[group])
    assert ran == len(GROUPS[group]), f"{ran} of {len(GROUPS[group])} cocotb tests ran"

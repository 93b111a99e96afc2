"""pytest runner of the flexcim_core regression: simulator x named config x test group.

One build per (simulator, config) is shared by its groups (xdist_group keeps them on one
worker under `--dist loadgroup`); each group is one simulator run with its own results file
and functional-coverage export. SIM=verilator|icarus picks one simulator (the Makefile always
sets it); unset, both run (Icarus on the small configs only). FLEXCIM_COVERAGE=1 builds
Verilator with line/toggle coverage (tb.coverage_report). CONFIG=a,b (or CORE_CONFIGS)
restricts the configs; an unknown name fails the collection.
"""

from __future__ import annotations

import os

import pytest

from tb.common.runner import selected_configs
from tb.core.run import (
    G_CONFIGS,
    G_QUICK,
    GROUPS,
    ICARUS_CONFIGS,
    ICARUS_GROUPS,
    PAPER_CONFIGS,
    VERILATOR_CONFIGS,
    run_core,
)


def _sims() -> list[str]:
    sim = os.environ.get("SIM")
    return [sim] if sim else ["verilator", "icarus"]


def _cases() -> list[pytest.param]:
    cases = []
    for sim in _sims():
        configs = VERILATOR_CONFIGS if sim == "verilator" else ICARUS_CONFIGS
        groups = GROUPS if sim == "verilator" else ICARUS_GROUPS
        for config in selected_configs(configs):
            marks = [pytest.mark.xdist_group(f"core-{sim}-{config}")]
            if sim == "icarus":
                marks.append(pytest.mark.icarus)
            if config in PAPER_CONFIGS:
                marks.append(pytest.mark.paper)  # ~5 min cold build: `make sim`, not `make test`
            for group in groups:
                slow = config in G_CONFIGS and group not in G_QUICK.get((sim, config), ())
                case_marks = [*marks, pytest.mark.slow] if slow else marks
                cases.append(
                    pytest.param(sim, config, group, marks=case_marks, id=f"{sim}-{config}-{group}")
                )
    return cases


@pytest.mark.parametrize(("sim", "config", "group"), _cases())
def test_core(sim: str, config: str, group: str) -> None:
    ran = run_core(sim, config, group, GROUPS[group])
    assert ran == len(GROUPS[group]), f"{ran} of {len(GROUPS[group])} cocotb tests ran"

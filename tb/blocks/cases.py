"""Shared pytest-side helpers of the block smoke tests: (simulator, config) cases and one run.

Cases: ``small`` under Verilator and Icarus (marked ``icarus``), ``default`` under Verilator
(``slow``). The core itself has one testbench, tb/core (CoreEnv), which covers every config.
When the SIM environment variable is set, only the cases of that simulator run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

import pytest

from tb.common.runner import load_configs, rtl_sources, run_cocotb

SMALL_CASES = [
    pytest.param("verilator", "small", id="verilator-small"),
    pytest.param("icarus", "small", id="icarus-small", marks=pytest.mark.icarus),
]
# The sub-blocks build default only in the slow sweep: tb/core's default run exercises every one
# of them at that size, and each extra Verilator build costs ~20 s of CPU on 2 shared cores.
LIGHT_CASES = [
    *SMALL_CASES,
    pytest.param("verilator", "default", id="verilator-default", marks=pytest.mark.slow),
]
# Blocks that take the select-sharing width G (distribution, sub-macro): G < C variants, slow
# (the small_g1 core regression in `make test` already builds both blocks at G = 1).
G_CASES = [
    pytest.param(sim, config, id=f"{sim}-{config}", marks=marks)
    for config in ("small_g2", "small_g1")
    for sim, marks in (
        ("verilator", [pytest.mark.slow]),
        ("icarus", [pytest.mark.slow, pytest.mark.icarus]),
    )
]


def with_g(cfg: dict[str, int], *names: str) -> dict[str, int]:
    """The block parameters `names` of a config, plus G when the config sets it (else the RTL
    default G = C applies, and the build stays the one of the original core)."""
    return {**{name: cfg[name] for name in names}, **({"G": cfg["G"]} if "G" in cfg else {})}


def run_block(
    toplevel: str,
    modules: Sequence[str],
    test_module: str,
    sim: str,
    config: str,
    params: Callable[[dict[str, int]], dict[str, int]] | None = None,
    testcase: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    tag: str | None = None,
) -> int:
    """Build ``toplevel`` for ``config`` (module parameters from ``params``) and run its tests.

    The cocotb side always sees every configuration value as PARAM_<name>.
    """
    chosen = os.environ.get("SIM")
    if chosen and chosen != sim:
        pytest.skip(f"SIM={chosen}: this case runs under {sim}")
    cfg = load_configs()[config]
    rtl_params = params(cfg) if params else cfg
    env = {f"PARAM_{name}": str(value) for name, value in cfg.items()}
    env.update(extra_env or {})
    return run_cocotb(
        toplevel=toplevel,
        sources=rtl_sources(*modules),
        test_module=test_module,
        parameters=rtl_params,
        tag=tag or config,
        sim=sim,
        testcase=testcase,
        extra_env=env,
    )

"""pytest-free runner of the fast path (tb/fast/flexcim_fast_tb.sv + tb/fast/cocotb_fast.py).

Shared by tb/fast/test_fast.py, bench.tb_bench and tb.replay, so one place knows the top
level, its sources, its memory depths and its build folder.
"""

from __future__ import annotations

from pathlib import Path

from tb.common.runner import (
    build_dir_for,
    core_sources,
    load_configs,
    print_seed,
    run_cocotb,
    stimulus_env,
)

TOPLEVEL = "flexcim_fast_tb"
MODULE = "tb.fast.cocotb_fast"
TB_TOP = Path(__file__).resolve().parent / f"{TOPLEVEL}.sv"
# Beats one load can hold (memory words of the testbench top): enough for a full-width
# SmolLM2 job on `paper` (K = 1536 at 1:1 is 12 passes: 1,536 weight and 6,144 activation beats).
DEPTHS = {"W_DEPTH": 8192, "A_DEPTH": 65536}


def fast_build_dir(config: str) -> Path:
    return build_dir_for("verilator", TOPLEVEL, f"fast-{config}")


def run_fast(
    config: str,
    tests: list[str],
    results_name: str,
    seed: int | None = None,
    run_dir: Path | None = None,
    **env: str,
) -> int:
    """Run `tests` of tb.fast.cocotb_fast on `config` under Verilator; returns the tests run."""
    params = {**load_configs()[config], **DEPTHS}
    extra = {
        "FLEXCIM_CONFIG": config,
        "FLEXCIM_BUILD_DIR": str(fast_build_dir(config)),
        **stimulus_env(),
        **env,
    }
    return run_cocotb(
        toplevel=TOPLEVEL,
        sources=[*core_sources(), TB_TOP],
        includes=[],
        test_module=MODULE,
        parameters=params,
        tag=f"fast-{config}",
        sim="verilator",
        testcase=tests,
        extra_env=extra,
        seed=print_seed(seed),
        results_name=results_name,
        run_dir=run_dir,
    )

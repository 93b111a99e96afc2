"""RTL simulation cost: Verilator clean-build time and simulated cycles per second.

For each configuration (default, paper): remove the bench build folder, build flexcim_core and
run one long job of random beats (every stream valid, output ready) through the cocotbext-axi
drivers of tb/blocks/cocotb_core.py; cycles/s = the CYCLES CSR / wall time of the job. Build
time = wall time from the start of the build to the start of the simulation. Run with
``python -m bench.rtl_bench [config ...]``.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tb.common.runner import CORE_MODULES, build_dir_for, load_configs, rtl_sources, run_cocotb

CONFIGS = ("default", "paper")
PASSES = 16


def measure(config: str) -> dict[str, float]:
    """Clean build + one long job of ``config``; build seconds, cycles, wall seconds, cycles/s."""
    cfg = load_configs()[config]
    tag = f"bench-{config}"
    shutil.rmtree(build_dir_for("verilator", "flexcim_core", tag), ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        env = {f"PARAM_{k}": str(v) for k, v in cfg.items()}
        env.update({"FLEXCIM_BENCH_OUT": str(out), "FLEXCIM_BENCH_PASSES": str(PASSES)})
        t0 = time.time()
        run_cocotb(
            toplevel="flexcim_core",
            sources=rtl_sources(*CORE_MODULES),
            test_module="tb.blocks.cocotb_core",
            parameters=cfg,
            tag=tag,
            sim="verilator",
            testcase="bench_long_job",
            extra_env=env,
        )
        result = json.loads(out.read_text())
    return {
        "build_s": result["sim_started"] - t0,
        "cycles": result["cycles"],
        "wall_s": result["wall_s"],
        "cycles_per_s": result["cycles"] / result["wall_s"],
    }


def main(argv: list[str] | None = None) -> None:
    configs = argv or list(CONFIGS)
    rows = []
    for config in configs:
        cfg = load_configs()[config]
        r = measure(config)
        geometry = f"P={cfg['P']} R={cfg['R']} C={cfg['C']} T={cfg['MAX_TOK']}"
        rows.append(
            f"| {config} | {geometry} | {r['build_s']:.1f} | {r['cycles']} | "
            f"{r['wall_s']:.2f} | {r['cycles_per_s']:.0f} |"
        )
    print("| config | geometry | clean build (s) | job cycles | job wall (s) | cycles/s |")
    print("|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"\n(Verilator, one job of {PASSES} passes x MAX_TOK tokens, every stream free-flowing;")
    print(" wall time includes the cocotbext-axi drivers, 2 shared cores.)")


if __name__ == "__main__":
    main(sys.argv[1:])

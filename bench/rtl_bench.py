"""RTL simulation cost: Verilator clean-build time and checked simulated cycles per second.

For each configuration (default, paper): remove the fast-path build folder, build
tb/fast/flexcim_fast_tb.sv around flexcim_core (ports-only) and run one long 1:1 job
(`fast_long_job`, LONG_PASSES passes x MAX_TOK tokens, fixed seed) whose every output value and
CYCLES are checked against golden; cycles/s = the CYCLES CSR / the job's wall time. Build time
= wall time of the whole call minus the test's own time. Run with
``python -m bench.rtl_bench [config ...]``.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from golden.cli import checked_configs
from tb.common.runner import load_configs
from tb.fast.run import fast_build_dir, run_fast

CONFIGS = ("default", "paper")
PASSES = 16
SEED = 2026


def measure(config: str) -> dict[str, float]:
    """Clean build + one long checked job of ``config``."""
    shutil.rmtree(fast_build_dir(config), ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats.jsonl"
        t0 = time.perf_counter()
        run_fast(
            config,
            ["fast_long_job"],
            "rtl-bench",
            seed=SEED,
            STATS_FILE=str(stats),
            LONG_PASSES=str(PASSES),
        )
        wall = time.perf_counter() - t0
        result = json.loads(stats.read_text().splitlines()[-1])
    return {
        "build_s": wall - result["seconds"],
        "cycles": result["sim_cycles"],
        "wall_s": result["seconds"],
        "cycles_per_s": result["sim_cycles"] / result["seconds"],
    }


def main(argv: list[str] | None = None) -> None:
    configs = argv or list(CONFIGS)
    checked_configs(configs, "python -m bench rtl_bench")
    rows = []
    for config in configs:
        cfg = load_configs()[config]
        r = measure(config)
        geometry = f"P={cfg['P']} R={cfg['R']} C={cfg['C']} T={cfg['MAX_TOK']}"
        rows.append(
            f"| {config} | {geometry} | {r['build_s']:.1f} | {r['cycles']} | "
            f"{r['wall_s']:.2f} | {r['cycles_per_s']:.0f} |"
        )
    print("| config | geometry | clean build + start (s) | job cycles | job wall (s) | cycles/s |")
    print("|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"\n(Verilator ports-only, fast path, one 1:1 job of {PASSES} passes x MAX_TOK tokens,")
    print(f" seed {SEED}, every output and CYCLES checked against golden.)")


if __name__ == "__main__":
    main(sys.argv[1:])

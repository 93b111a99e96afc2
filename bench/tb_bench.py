"""Testbench throughput and RTL-vs-model cycles on the `paper` config under Verilator.

`python -m bench.tb_bench [--seed N] [--runs K]` runs, with one fixed, printed seed (default
12345), K times each (default 1):
1. the fast path (tb/fast: beats bulk-loaded into the testbench top, SystemVerilog drivers)
   on BENCH_JOBS_PER_PATTERN jobs of every pattern, and its long-job probe;
2. the cocotbext-axi protocol environment (tb/core) on two of its tests;
3. the raw ceiling (bench.ceiling: the same model driven from C++, no cocotb);
and prints per run: simulated cycles/s (the CYCLES CSR summed over jobs / the test's wall time
inside the simulator, golden preparation included), checked MACs/s (dense-equivalent MACs whose
outputs the scoreboard compared) and useful MACs/s (of those, the ones with a non-zero weight);
then each test's median cycles/s (min-max over the K runs) and its ratio to the ceiling's median,
measured in the same invocation (a shared machine drifts: ratios travel, absolute figures not);
then RTL CYCLES against golden.cycle_model per pattern / layer (the tests assert equality).
Build time is excluded.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from bench import ceiling
from golden.cli import OneLineParser
from tb.common.runner import ROOT
from tb.core.run import run_core
from tb.fast.run import run_fast

CONFIG = "paper"
CORE_TESTS = ["random_patterns_match_golden", "multi_job_layers_match_layer_model"]
FAST_TESTS = ["fast_throughput", "fast_long_job"]
SEED = 12345


def _records(stats: Path) -> list[dict]:
    return [json.loads(line) for line in stats.read_text().splitlines()]


def run(seed: int) -> dict[str, list[dict]]:
    folder = ROOT / "build" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    fast, core = folder / "tb_fast_stats.jsonl", folder / "tb_core_stats.jsonl"
    for path in (fast, core):
        path.unlink(missing_ok=True)
    run_fast(CONFIG, FAST_TESTS, "bench", seed=seed, STATS_FILE=str(fast))
    out["fast path (tb/fast)"] = _records(fast)
    run_core("verilator", CONFIG, "bench", CORE_TESTS, seed=seed, STATS_FILE=str(core), LAYERS="4")
    out["cocotbext-axi (tb/core)"] = _records(core)
    return out


def summary(runs: list[dict[str, list[dict]]], ceilings: list[float], seed: int) -> None:
    """Median (min-max) cycles/s per test over the runs, and its ratio to the ceiling."""
    roof = statistics.median(ceilings)
    print(f"### Median of {len(runs)} run(s), COCOTB_RANDOM_SEED={seed}\n")
    print(
        "| environment | test | cycles/s median | min-max | of the ceiling | "
        "per CPU second, median |"
    )
    print("|---|---|---:|---:|---:|---:|")
    rates: dict[tuple[str, str], list[float]] = defaultdict(list)
    per_cpu: dict[tuple[str, str], list[float]] = defaultdict(list)
    for run_ in runs:
        for env, records in run_.items():
            for r in records:
                rates[env, r["test"]].append(r["sim_cycles"] / r["seconds"])
                per_cpu[env, r["test"]].append(r["sim_cycles"] / r["cpu_seconds"])
    rates["raw ceiling (bench.ceiling, C++ driver)", "one 16-pass 1:1 job"] = ceilings
    for key, values in rates.items():
        med = statistics.median(values)
        cpu = f"{statistics.median(per_cpu[key]):,.0f}" if key in per_cpu else "-"
        print(
            f"| {key[0]} | {key[1]} | {med:,.0f} | {min(values):,.0f}-{max(values):,.0f} | "
            f"{med / roof:.2f} | {cpu} |"
        )
    print(
        "\n(per CPU second: simulated cycles over the simulator process's CPU time, which a "
        "shared host's steal and load move less than wall time)\n"
    )


def throughput(runs: dict[str, list[dict]], seed: int) -> None:
    print(f"### Testbench throughput, `{CONFIG}` config, Verilator, COCOTB_RANDOM_SEED={seed}\n")
    print(
        "| environment | test | jobs | cycles | wall s | cycles/s | checked MACs/s | "
        "useful MACs/s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for env, records in runs.items():
        for r in records:
            s = r["seconds"]
            print(
                f"| {env} | {r['test']} | {r['jobs']} | {r['sim_cycles']:,} | {s:.2f} | "
                f"{r['sim_cycles'] / s:,.0f} | {r['macs'] / s:,.0f} | {r['useful_macs'] / s:,.0f} |"
            )
    print()


def cycles(records: list[dict]) -> None:
    print("### RTL CYCLES vs golden.cycle_model (zero tolerance)\n")
    print("| layer / pattern | jobs | RTL cycles | model cycles | match |")
    print("|---|---:|---:|---:|---|")
    groups: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for r in records:
        for label, rtl, _stalls, model in r["cycles"]:
            # "layer2-1:8/t0/x16" -> "layer2-1:8"; "2:4/pair-shared/1/t0/x0" -> "2:4 pair-shared"
            key = (
                label.split("/")[0]
                if label.startswith("layer")
                else " ".join(re.split("/", label)[:2])
            )
            groups[key].append((rtl, model))
    mismatches = 0
    for key, rows in groups.items():
        rtl, model = sum(c for c, _ in rows), sum(m for _, m in rows)
        ok = all(c == m for c, m in rows)
        mismatches += not ok
        print(f"| {key} | {len(rows)} | {rtl:,} | {model:,} | {'yes' if ok else '**NO**'} |")
    print(f"\n{len(groups)} rows, {mismatches} mismatching")


def main(argv: list[str] | None = None) -> None:
    parser = OneLineParser(prog="python -m bench tb_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=SEED, help=f"COCOTB_RANDOM_SEED ({SEED})")
    parser.add_argument("--runs", type=int, default=1, help="runs of each path (1)")
    args = parser.parse_args(argv or [])  # `python -m bench tb_bench` passes no options
    if args.runs < 1:
        parser.error(f"--runs {args.runs}: give at least 1")
    if args.seed < 0:
        parser.error(f"--seed {args.seed}: a seed is a non-negative integer")
    os.environ.setdefault("SIM", "verilator")
    runs, ceilings = [], []
    for _ in range(args.runs):
        runs.append(run(args.seed))
        ceilings.append(ceiling.measure(CONFIG)["cycles_per_s"])
        throughput(runs[-1], args.seed)
    summary(runs, ceilings, args.seed)
    cycles([r for records in runs[-1].values() for r in records])


if __name__ == "__main__":
    main(sys.argv[1:])

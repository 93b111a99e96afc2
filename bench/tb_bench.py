"""Testbench throughput and RTL-vs-model cycles on the `paper` config under Verilator.

`python -m bench.tb_bench`: runs two cocotb tests of tb/core on the paper geometry (P=4,
R=32, C=32; 4,096 MACs) and prints
1. verified MACs per second: dense-equivalent MACs whose outputs the scoreboard compared,
   divided by the test's wall time inside the simulator (build time excluded);
2. RTL CYCLES against golden.cycle_model per job/layer (the tests assert equality; the
   table shows the numbers).
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from pathlib import Path

from tb.common.runner import ROOT
from tb.core.test_core import run_core

CONFIG = "paper"
TESTS = ["random_patterns_match_golden", "multi_job_layers_match_layer_model"]


def _run(stats: Path) -> list[dict]:
    stats.parent.mkdir(parents=True, exist_ok=True)
    stats.unlink(missing_ok=True)
    run_core("verilator", CONFIG, "bench", TESTS, STATS_FILE=str(stats), LAYERS="4")
    return [json.loads(line) for line in stats.read_text().splitlines()]


def _throughput(records: list[dict]) -> None:
    print(f"### Testbench throughput, `{CONFIG}` config, Verilator\n")
    print("| test | jobs | output beats | verified MACs | wall s | verified MACs/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in records:
        rate = r["macs"] / r["seconds"]
        print(
            f"| {r['test']} | {r['jobs']} | {r['beats']} | {r['macs']:,} | "
            f"{r['seconds']:.2f} | {rate:,.0f} |"
        )
    macs = sum(r["macs"] for r in records)
    secs = sum(r["seconds"] for r in records)
    print(f"| **total** | | | {macs:,} | {secs:.2f} | **{macs / secs:,.0f}** |\n")


def _cycles(records: list[dict]) -> None:
    print("### RTL CYCLES vs golden.cycle_model (zero tolerance)\n")
    print("| layer / pattern | jobs | RTL cycles | model cycles | match |")
    print("|---|---:|---:|---:|---|")
    groups: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for r in records:
        for label, cycles, _stalls, model in r["cycles"]:
            # "layer2-1:8/t0/x16" -> "layer2-1:8"; "2:4/pair-shared/1/t0/x0" -> "2:4 pair-shared"
            key = (
                label.split("/")[0]
                if label.startswith("layer")
                else " ".join(re.split("/", label)[:2])
            )
            groups[key].append((cycles, model))
    mismatches = 0
    for key, rows in groups.items():
        rtl, model = sum(c for c, _ in rows), sum(m for _, m in rows)
        ok = all(c == m for c, m in rows)
        mismatches += not ok
        print(f"| {key} | {len(rows)} | {rtl:,} | {model:,} | {'yes' if ok else '**NO**'} |")
    print(f"\n{len(groups)} rows, {mismatches} mismatching")


def main() -> None:
    os.environ.setdefault("SIM", "verilator")
    records = _run(ROOT / "build" / "bench" / "tb_stats.jsonl")
    _throughput(records)
    _cycles(records)


if __name__ == "__main__":
    main()

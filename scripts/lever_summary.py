"""Summary of scripts/lever_study.sh: OUT/summary.md and OUT/summary.json from every
OUT/<variant>-<metric>/runs.json (issue 18).

Per pruner and (variant, method): perplexity mean +- std over the calibration sets, and the
paired gap (same seed) to uniform 4:8 without permutation and to the measured-cost selection per
block without permutation; the sublayer runs' split-vs-measured rank correlation.
Usage: python scripts/lever_summary.py OUT
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path


def _stats(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
    return mean, math.sqrt(var)


def collect(out: Path) -> list[dict]:
    rows = []
    for runs in sorted(out.glob("*/runs.json")):
        variant, _, metric = runs.parent.name.rpartition("-")
        for run in json.loads(runs.read_text()).values():
            if run.get("label") == "dense":
                continue
            sel = run.get("selection", {}).get("options", {})
            rows.append(
                {
                    "variant": variant,
                    "metric": metric,
                    "label": run["label"],
                    "seed": run["seed"],
                    "ppl": run["ppl"],
                    "patterns": run["patterns"],
                    "split_vs_measured": sel.get("split_vs_measured"),
                }
            )
    return rows


def summarise(rows: list[dict]) -> tuple[list[dict], str]:
    by: dict[tuple[str, str, str], dict[int, float]] = {}
    for r in rows:
        by.setdefault((r["metric"], r["variant"], r["label"]), {})[r["seed"]] = r["ppl"]
    table = []
    lines = [
        "| pruner | variant | method | ppl (mean +- std) | seeds | gap to uniform 4:8 "
        "| gap to measured per block |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for (metric, variant, label), seeds in sorted(by.items()):
        mean, std = _stats(list(seeds.values()))
        gaps = {}
        for ref_name, ref_key in (
            ("uniform 4:8", (metric, "block", "uniform 4:8")),
            ("measured per block", (metric, "block", "measured")),
        ):
            ref = by.get(ref_key, {})
            paired = [ref[s] - seeds[s] for s in seeds if s in ref]
            gaps[ref_name] = _stats(paired) if paired else None
        table.append(
            {
                "metric": metric,
                "variant": variant,
                "label": label,
                "ppl": seeds,
                "mean": mean,
                "std": std,
                "gaps": gaps,
            }
        )

        def show(g: tuple[float, float] | None) -> str:
            return "-" if g is None else f"{g[0]:+.2f} +- {g[1]:.2f}"

        lines.append(
            f"| {metric} | {variant} | {label} | {mean:.2f} +- {std:.2f} | {len(seeds)} | "
            f"{show(gaps['uniform 4:8'])} | {show(gaps['measured per block'])} |"
        )
    split = [
        (r["metric"], r["variant"], r["seed"], r["split_vs_measured"]["spearman_all"])
        for r in rows
        if r["split_vs_measured"]
    ]
    if split:
        lines += ["", "Split cost model vs measured sublayer costs (Spearman, all items):", ""]
        lines += [f"- {m} {v} seed {s}: {rho:.3f}" for m, v, s, rho in split]
    lines += ["", "Gaps are baseline - this row (positive: this row has the lower perplexity)."]
    return table, "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    out = Path(argv[0])
    rows = collect(out)
    if not rows:
        print(f"{out}: no finished runs (*/runs.json)")
        return 1
    table, md = summarise(rows)
    (out / "summary.json").write_text(json.dumps({"rows": rows, "table": table}, indent=1))
    (out / "summary.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

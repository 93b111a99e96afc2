"""Summary of plan-checked runs (`flow prune --plan-check uniform`, scripts/recon_study.sh method
measured-pc): OUT/plan_check.md from OUT/prune-*.json.

Each such run prunes the model twice, to the selection's plan and to the uniform pattern at the
operating point, keeps the one with the lower loss on the unprobed calibration windows, and
records both models' evaluation perplexity (never used to decide). So one run gives the paired
plan / uniform / checked result of its calibration set and window. Reported: per run the two
held-out losses, both perplexities, what the check kept and whether the evaluation agreed;
then the paired gains over uniform (uniform - plan, uniform - checked) as mean +- sample std and
mean / std ("sigmas", as scripts/recon_summary.py).
Usage: python scripts/plan_check_summary.py OUT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from recon_summary import spread_cells, summary_main


def collect(out: Path) -> dict[str, dict]:
    runs = {}
    for path in sorted(out.glob("prune-*.json")):
        log = json.loads(path.read_text())
        check = log.get("plan_check")
        if not check or not check.get("eval_perplexity"):
            continue
        ppl = check["eval_perplexity"]
        runs[path.stem.removeprefix("prune-")] = {
            "calib_set": int(log["args"]["calib_set"]),
            "eval_range": log["windows"]["eval_range"],
            "metric": log["args"]["metric"],
            "target": float(log["args"]["target"]),
            "uniform": check["uniform"],
            "loss_plan": check["loss_plan"],
            "loss_uniform": check["loss_uniform"],
            "ppl_plan": ppl["plan"],
            "ppl_uniform": ppl["uniform"],
            "kept": check["kept"],
            "ppl": log["perplexity"],
            "seconds": log["seconds"],
            "check_seconds": check["seconds"],
        }
    return runs


def _gain_row(what: str, gains: list[float]) -> str:
    each = ", ".join(f"{g:.2f}" for g in gains)
    return f"| {what} | {each} | {spread_cells(gains)} |"


def summary(runs: dict[str, dict]) -> str:
    lines = [
        "| run | pruner | target | set | eval tokens | held loss plan / uniform | ppl plan "
        "| ppl uniform | kept | eval agrees | wall s | check s |",
        "|---|---|---:|---:|---|---|---:|---:|---|---|---:|---:|",
    ]
    for name, r in runs.items():
        plan_better = r["ppl_plan"] < r["ppl_uniform"]
        agrees = "yes" if plan_better == (r["kept"] == "plan") else "no"
        lines.append(
            f"| {name} | {r['metric']} | {r['target']:g} | {r['calib_set']} "
            f"| {r['eval_range'][0]}-{r['eval_range'][1]} "
            f"| {r['loss_plan']:.4f} / {r['loss_uniform']:.4f} | {r['ppl_plan']:.2f} "
            f"| {r['ppl_uniform']:.2f} ({r['uniform']}) | {r['kept']} | {agrees} "
            f"| {r['seconds']:.0f} | {r['check_seconds']:.0f} |"
        )
    lines += [
        "",
        "Paired gains in perplexity over the uniform pattern (positive: better than uniform),",
        "per pruner and target, runs in the order above:",
        "",
        "| comparison | per run | mean +- std | sigmas |",
        "|---|---|---:|---:|",
    ]
    groups: dict[tuple[str, float], list[dict]] = {}
    for r in runs.values():
        groups.setdefault((r["metric"], r["target"]), []).append(r)
    for (metric, target), rs in groups.items():
        where = f"{metric} {target:g}"
        lines.append(_gain_row(f"{where}: plan", [r["ppl_uniform"] - r["ppl_plan"] for r in rs]))
        lines.append(_gain_row(f"{where}: checked", [r["ppl_uniform"] - r["ppl"] for r in rs]))
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    return summary_main(argv, __doc__, collect, summary, "plan_check.md")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Summary of scripts/recon_study.sh (issue 18, lever 4): OUT/summary.md from OUT/prune-*.json.

One row per run (calibration set, evaluation tokens, permutation, reconstruction, perplexity,
wall seconds, reconstruction seconds and mean block MSE after/before), then the paired gains
(same calibration set, window and permutation: without - with reconstruction; with
permutation also: plain - permuted + reconstructed; the measured-cost selection against
uniform 4:8) as mean +- sample std and sigmas.
Usage: python scripts/recon_summary.py OUT
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path

# (what, first variant's suffix, second variant's suffix): gain = first - second.
COMPARISONS = (
    ("reconstruction", "-none", "-block"),
    ("reconstruction on top of permutation", "-perm-none", "-perm-block"),
    ("permutation alone", "-none", "-perm-none"),
    ("permutation on top of reconstruction", "-block", "-perm-block"),
    ("permutation + reconstruction vs neither", "-none", "-perm-block"),
    ("reconstruction on the measured selection", "-measured-none", "-measured-block"),
    ("measured selection vs uniform 4:8, pruned", "-none", "-measured-none"),
    ("measured vs uniform 4:8, both reconstructed", "-block", "-measured-block"),
    (
        "measured vs uniform 4:8, both permuted + reconstructed",
        "-perm-block",
        "-measured-perm-block",
    ),
    (
        "permutation + reconstruction on the measured selection",
        "-measured-none",
        "-measured-perm-block",
    ),
)
# A pair is named by its calibration set and, for the held-out runs, its window.
_PAIR_ID = re.compile(r"s\d+(-w\d+)?")


def _choosing(pair: str) -> bool:
    """Calibration sets 0-2 on the study's windows chose the options; the rest confirm."""
    return "-w" not in pair and int(pair[1:]) <= 2


def mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
    return mean, math.sqrt(var)


def collect(out: Path) -> dict[str, dict]:
    runs = {}
    for path in sorted(out.glob("prune-*.json")):
        log = json.loads(path.read_text())
        args, recon = log["args"], log.get("reconstruction")
        ratios = [b["mse_after"] / b["mse_before"] for b in recon["blocks"]] if recon else []
        runs[path.stem.removeprefix("prune-")] = {
            "calib_set": int(args["calib_set"]),
            "eval_range": log["windows"]["eval_range"],
            "permute": args["permute"],
            "reconstruct": args["reconstruct"],
            "ppl": log["perplexity"],
            "seconds": log["seconds"],
            "recon_seconds": recon["seconds"] if recon else 0.0,
            "mse_ratio": sum(ratios) / len(ratios) if ratios else None,
            "kept": sum(b["kept"] == "reconstructed" for b in recon["blocks"]) if recon else None,
        }
    return runs


def gains(runs: dict[str, dict], base_suffix: str, new_suffix: str) -> list[tuple[str, float]]:
    """(prefix, ppl[prefix+base] - ppl[prefix+new]) for every prefix that has both runs."""
    out = []
    for name, run in runs.items():
        if name.endswith(new_suffix):
            prefix = name.removesuffix(new_suffix)
            base = runs.get(prefix + base_suffix)
            if base is not None:
                out.append((prefix, base["ppl"] - run["ppl"]))
    return out


def spread_cells(gains: list[float]) -> str:
    """The last two table cells of a row of paired gains: mean +- std, and mean / std."""
    mean, std = mean_std(gains)
    sig = f"{mean / std:.1f}" if std > 0 else "-"
    return f"{mean:.2f} +- {std:.2f} | {sig}"


def _gain_row(what: str, where: str, pairs: list[tuple[str, float]]) -> str:
    each = ", ".join(f"{p} {g:.2f}" for p, g in pairs)
    return f"| {what} | {where} | {each} | {spread_cells([g for _, g in pairs])} |"


def summary(runs: dict[str, dict]) -> str:
    lines = [
        "| run | calib set | eval tokens | permute | reconstruct | ppl | wall s | recon s "
        "| MSE after/before | blocks kept |",
        "|---|---:|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in runs.items():
        ratio = f"{r['mse_ratio']:.3f}" if r["mse_ratio"] is not None else "-"
        kept = r["kept"] if r["kept"] is not None else "-"
        lines.append(
            f"| {name} | {r['calib_set']} | {r['eval_range'][0]}-{r['eval_range'][1]} "
            f"| {r['permute']} | {r['reconstruct']} | {r['ppl']:.2f} | {r['seconds']:.0f} "
            f"| {r['recon_seconds']:.0f} | {ratio} | {kept} |"
        )
    lines += [
        "",
        "Paired gains in perplexity (positive: the second variant is better); sets 0-2 on the",
        "study windows are the choosing runs, the other calibration sets (on other windows",
        "-w075, -w085, or on the study's) the held-out confirmation:",
        "",
        "| comparison | runs | per pair | mean +- std | sigmas |",
        "|---|---|---|---:|---:|",
    ]
    for what, base, new in COMPARISONS:
        pairs = [p for p in gains(runs, base, new) if _PAIR_ID.fullmatch(p[0])]
        for where, chosen in (
            ("sets 0-2", [p for p in pairs if _choosing(p[0])]),
            ("held-out", [p for p in pairs if not _choosing(p[0])]),
        ):
            if chosen:
                lines.append(_gain_row(what, where, chosen))
    return "\n".join(lines) + "\n"


def summary_main(
    argv: list[str],
    usage: str,
    collect_runs: Callable[[Path], dict[str, dict]],
    render: Callable[[dict[str, dict]], str],
    filename: str,
) -> int:
    """The command line of a study summary: OUT -> OUT/filename (also printed)."""
    if len(argv) != 1:
        print(usage, file=sys.stderr)
        return 2
    out = Path(argv[0])
    runs = collect_runs(out)
    if not runs:
        print(f"no usable prune-*.json under {out}", file=sys.stderr)
        return 1
    text = render(runs)
    (out / filename).write_text(text)
    print(text, end="")
    return 0


def main(argv: list[str]) -> int:
    return summary_main(argv, __doc__, collect, summary, "summary.md")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

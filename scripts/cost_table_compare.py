"""Compare the measured costs of two measured-cost selections (issue 18): e.g. one-shot costs
against costs after reconstruction (--cost-recon block) on the same calibration set.

Usage: python scripts/cost_table_compare.py A.json B.json
A and B are `flow prune --log` files of --method measured runs (their selection records every
block's cost at every candidate). Prints, per candidate, the mean cost in each table, the ratio
B / A and the Spearman rank correlation over blocks; each plan and its predicted probe-loss change
(the summed cost of the chosen candidates, relative to the operating point); and each run's
perplexity.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr


def _load(path: Path) -> tuple[dict, list[str], np.ndarray]:
    log = json.loads(path.read_text())
    layers = log["selection"]["layers"]
    names = list(layers[0]["costs"])
    costs = np.array([[layer["costs"][k] for k in names] for layer in layers])
    return log, names, costs


def _plan(log: dict) -> str:
    counts: dict[str, int] = {}
    for layer in log["selection"]["layers"]:
        key = f"{layer['n']}:{layer['m']}"
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{k} x{v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    (la, names, a), (lb, names_b, b) = (_load(Path(p)) for p in argv)
    if names != names_b or a.shape != b.shape:
        print("the two selections have different candidates or blocks", file=sys.stderr)
        return 2
    # Every column but the operating point's (zero cost in both tables).
    off = [j for j in range(len(names)) if np.any(a[:, j] != 0) or np.any(b[:, j] != 0)]
    print("| candidate | mean cost A | mean cost B | B / A | Spearman over blocks |")
    print("|---|---:|---:|---:|---:|")
    for j in off:
        name = names[j]
        rho = spearmanr(a[:, j], b[:, j])[0]
        print(
            f"| {name} | {a[:, j].mean():+.4f} | {b[:, j].mean():+.4f} | "
            f"{b[:, j].mean() / a[:, j].mean():.2f} | {rho:.2f} |"
        )
    rho_all = spearmanr(a[:, off].ravel(), b[:, off].ravel())[0]
    print(f"\nSpearman over every block x candidate: {rho_all:.3f}")
    for label, log in (("A", la), ("B", lb)):
        predicted = sum(layer["cost"] for layer in log["selection"]["layers"])
        print(
            f"{label}: {argv[0 if label == 'A' else 1]}\n   plan {_plan(log)}; predicted "
            f"probe-loss change {predicted:+.4f}; perplexity {log['perplexity']:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

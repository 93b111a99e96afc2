"""Markdown table and per-layer plot of an evaluation run."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless; set before pyplot is imported
import matplotlib.pyplot as plt


def markdown_table(rows: list[dict]) -> str:
    """rows: {"method", "patterns", "sparsity", "param_sparsity", "zeros", "ppl"}."""
    lines = [
        "| method | per-layer patterns | mean layer sparsity | param-weighted | zeros | ppl |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['patterns']} | {r['sparsity']:.4f} | {r['param_sparsity']:.4f} "
            f"| {r['zeros']:.4f} | {r['ppl']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def pattern_summary(patterns: list[tuple[int, int]]) -> str:
    """'2:4 x10, 4:8 x20' in first-appearance order."""
    counts: dict[str, int] = {}
    for n, m in patterns:
        counts[f"{n}:{m}"] = counts.get(f"{n}:{m}", 0) + 1
    return ", ".join(f"{k} x{v}" for k, v in counts.items())


def plot_layers(selections: dict[str, list[dict]], path: Path, title: str) -> None:
    """Per layer: chosen N and M for each selection, the outlier ratio O and the locality D."""
    fig, axes = plt.subplots(4, 1, figsize=(9, 9), sharex=True)
    first = next(iter(selections.values()))
    x = [r["layer"] for r in first]
    for j, (label, layers) in enumerate(selections.items()):
        shift = [v + 0.2 * j for v in x]  # side by side, so equal choices stay visible
        axes[0].plot(shift, [r["n"] for r in layers], "o", ms=4, label=label)
        axes[1].plot(shift, [r["m"] for r in layers], "o", ms=4, label=label)
    axes[0].set_ylabel("N")
    axes[1].set_ylabel("M")
    axes[0].legend(fontsize=7)
    axes[2].bar(x, [r["outlier_ratio_pct"] for r in first], color="tab:orange")
    axes[2].set_ylabel("O (% outliers)")
    axes[3].bar(x, [r["locality"] for r in first], color="tab:green")
    axes[3].set_ylabel("D (1/mean dist)")
    axes[3].set_xlabel("decoder block")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)

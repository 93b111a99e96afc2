"""Markdown table and per-layer plot of an evaluation run."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless; set before pyplot is imported
import matplotlib.pyplot as plt
import numpy as np

from golden.files import atomic_path


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
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)


def _mean_std(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else float("nan")


def _ratio(mean: float, std: float) -> float:
    return mean / std if std == std and std > 0 else float("nan")


def eval_summary(runs: list[dict], target: float) -> dict:
    """Group `flow eval` runs by (pruner, mask, method): mean +- std over seeds, latency, the
    paired gap of every baseline to the measured-cost selection, reconstruction gain and the
    pair-shared cost."""
    dense = next((r["ppl"] for r in runs if r["label"] == "dense"), None)
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for r in runs:
        if r["label"] != "dense":
            groups.setdefault((r["metric"], r["mask"], r["label"]), []).append(r)
    methods = []
    for (metric, mask, label), rs in groups.items():
        rs = sorted(rs, key=lambda r: r["seed"])
        mean, std = _mean_std([r["ppl"] for r in rs])
        lat = next((r["latency"]["cycles"] for r in rs if r.get("latency")), None)
        methods.append(
            {
                "metric": metric,
                "mask": mask,
                "label": label,
                "seeds": [r["seed"] for r in rs],
                "ppl": [r["ppl"] for r in rs],
                "mean": mean,
                "std": std,
                "patterns": [r["patterns"] for r in rs],
                "sparsity": rs[0]["sparsity"],
                "cycles": lat,
            }
        )
    paired = []
    for m in methods:
        if m["label"] == "measured":
            continue
        ref = next(
            (
                x
                for x in methods
                if x["label"] == "measured" and (x["metric"], x["mask"]) == (m["metric"], m["mask"])
            ),
            None,
        )
        if ref is None:
            continue
        common = sorted(set(m["seeds"]) & set(ref["seeds"]))
        gaps = [m["ppl"][m["seeds"].index(s)] - ref["ppl"][ref["seeds"].index(s)] for s in common]
        if not gaps:
            continue
        gmean, gstd = _mean_std(gaps)
        # The same gaps in log-perplexity: at high sparsity perplexity spans decades across
        # seeds, so its std swamps a gap that has the same sign on every seed.
        lgaps = [
            float(np.log(m["ppl"][m["seeds"].index(s)] / ref["ppl"][ref["seeds"].index(s)]))
            for s in common
        ]
        lmean, lstd = _mean_std(lgaps)
        paired.append(
            {
                "metric": m["metric"],
                "mask": m["mask"],
                "baseline": m["label"],
                "seeds": common,
                "gaps": gaps,
                "mean": gmean,
                "std": gstd,
                "sigmas": _ratio(gmean, gstd),
                "log_gaps": lgaps,
                "log_mean": lmean,
                "log_std": lstd,
                "log_sigmas": _ratio(lmean, lstd),
            }
        )
    recon = []
    for m in methods:
        if m["metric"] != "wanda":
            continue
        for other in methods:
            if other["metric"] == "sparsegpt" and (other["mask"], other["label"]) == (
                m["mask"],
                m["label"],
            ):
                recon.append(
                    {
                        "mask": m["mask"],
                        "label": m["label"],
                        "wanda": m["mean"],
                        "sparsegpt": other["mean"],
                        "gain": m["mean"] / other["mean"],
                    }
                )
    shared = []
    for m in methods:
        if m["mask"] != "standard":
            continue
        for other in methods:
            if other["mask"] == "pair-shared" and (other["metric"], other["label"]) == (
                m["metric"],
                m["label"],
            ):
                shared.append(
                    {
                        "metric": m["metric"],
                        "label": m["label"],
                        "standard": m["mean"],
                        "pair_shared": other["mean"],
                        "cost": other["mean"] / m["mean"],
                    }
                )
    return {
        "target": target,
        "dense_ppl": dense,
        "methods": methods,
        "paired": paired,
        "reconstruction": recon,
        "pair_shared": shared,
        "costs": cost_analysis(runs),
    }


def spearman(a: list[float] | np.ndarray, b: list[float] | np.ndarray) -> float:
    """Rank correlation (no tie correction: costs and statistics are continuous)."""
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def _sparsity_of(label: str) -> float:
    n, m = (int(v) for v in label.split(":"))
    return (m - n) / m


def cost_analysis(runs: list[dict]) -> list[dict]:
    """Per measured run: how much the measured costs differ across blocks, what the MILP
    predicted and what it got, and whether FLOW's outlier ratio O tracks the damage.

    sensitivity = cost(sparsest candidate) - cost(densest) per block; predicted = the MILP's
    summed cost (change in probe loss against the operating point); realised = log of the
    perplexity ratio to the uniform operating-point model of the same seed; O from the FLOW
    run of the same seed (dense statistics)."""
    out = []
    for r in runs:
        if r["label"] != "measured":
            continue
        layers = r["selection"]["layers"]
        names = list(layers[0]["costs"])
        sp = [_sparsity_of(k) for k in names]
        hi, lo = names[int(np.argmax(sp))], names[int(np.argmin(sp))]
        sens = [lay["costs"][hi] - lay["costs"][lo] for lay in layers]
        sub = [f"{lay['layer']}.{lay['sublayer']}" for lay in layers if "sublayer" in lay]
        if sub:  # per-sublayer selection (issue 18): block sensitivity = sum of its sublayers'
            blocks = np.array([lay["layer"] for lay in layers])
            sens_items, sens = sens, np.bincount(blocks, weights=sens).tolist()
        op = "uniform {}:{}".format(*r["selection"]["options"]["operating_point"])
        same = [x for x in runs if x["seed"] == r["seed"]]
        base = next(
            (
                x
                for x in same
                if x["label"] == op and (x["metric"], x["mask"]) == (r["metric"], r["mask"])
            ),
            None,
        )
        flow = next((x for x in same if x["label"] == "FLOW (paper)"), None)
        o = [lay["outlier_ratio_pct"] for lay in flow["selection"]["layers"]] if flow else None
        out.append(
            {
                "metric": r["metric"],
                "mask": r["mask"],
                "seed": r["seed"],
                "sensitivity": f"{hi} - {lo}",
                "sensitivity_mean": float(np.mean(sens)),
                "sensitivity_std": float(np.std(sens)),
                "most_sensitive_block": int(np.argmax(sens)),
                **({"most_sensitive_sublayer": sub[int(np.argmax(sens_items))]} if sub else {}),
                "predicted": float(sum(lay["cost"] for lay in layers)),
                "realised": float(np.log(r["ppl"] / base["ppl"])) if base else None,
                "rank_corr_O": spearman(o, sens) if o else None,
            }
        )
    return out


def _signed(v: float | None) -> str:
    return "-" if v is None else f"{v:+.3f}"


def _pm(mean: float, std: float) -> str:
    return f"{mean:.2f}" if std != std else f"{mean:.2f} +- {std:.2f}"


def eval_markdown(summary: dict, payload: dict) -> str:
    w = payload["windows"]
    lines = [
        f"# flow eval at {summary['target']:.4f} mean sparsity",
        "",
        f"Evaluation tokens {payload['eval_range']} of {w['text_path']} (sha256 "
        f"{w['text_sha256'][:12]}...), seqlen {w['seqlen']}; calibration set s = windows "
        f"[s*nsamples, (s+1)*nsamples) from token 0. Dense perplexity "
        f"{summary['dense_ppl']:.2f}. Mean +- sample std over seeds (calibration sets).",
        "",
        "| pruner | mask | method | seeds | ppl | per-layer patterns (seed 0) |",
        "|---|---|---|---|---:|---|",
    ]
    for m in summary["methods"]:
        lines.append(
            f"| {m['metric']} | {m['mask']} | {m['label']} | {len(m['seeds'])} | "
            f"{_pm(m['mean'], m['std'])} | {m['patterns'][0]} |"
        )
    if summary["paired"]:
        lines += [
            "",
            "Paired gap to the measured-cost selection (baseline - measured, same "
            "seed): mean +- std and mean / std, in perplexity and in log-perplexity.",
            "",
            "| pruner | mask | baseline | gaps | mean +- std | sigmas | log gap | log sigmas |",
            "|---|---|---|---|---:|---:|---:|---:|",
        ]
        for p in summary["paired"]:
            gaps = ", ".join(f"{g:.2f}" for g in p["gaps"])
            lines.append(
                f"| {p['metric']} | {p['mask']} | {p['baseline']} | {gaps} | "
                f"{_pm(p['mean'], p['std'])} | {p['sigmas']:.1f} | "
                f"{_pm(p['log_mean'], p['log_std'])} | {p['log_sigmas']:.1f} |"
            )
    if summary["reconstruction"]:
        lines += [
            "",
            "| mask | method | Wanda | SparseGPT | gain (Wanda / SparseGPT) |",
            "|---|---|---:|---:|---:|",
        ]
        for r in summary["reconstruction"]:
            lines.append(
                f"| {r['mask']} | {r['label']} | {r['wanda']:.2f} | "
                f"{r['sparsegpt']:.2f} | {r['gain']:.2f}x |"
            )
    if summary["pair_shared"]:
        lines += [
            "",
            "| pruner | method | standard | pair-shared | cost |",
            "|---|---|---:|---:|---:|",
        ]
        for r in summary["pair_shared"]:
            lines.append(
                f"| {r['metric']} | {r['label']} | {r['standard']:.2f} | "
                f"{r['pair_shared']:.2f} | {r['cost']:.2f}x |"
            )
    if summary.get("costs"):
        lines += [
            "",
            "Measured costs per run: block sensitivity (cost of the sparsest minus the densest "
            "candidate; mean and std over blocks), the MILP's predicted change in probe loss, "
            "the realised log-perplexity change against the uniform operating point, and "
            "Spearman's rank correlation of FLOW's O with the sensitivity.",
            "",
            "| pruner | mask | seed | sensitivity mean, std | most sensitive block | "
            "predicted | realised | rank corr O |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for c in summary["costs"]:
            lines.append(
                f"| {c['metric']} | {c['mask']} | {c['seed']} | {c['sensitivity_mean']:.3f}, "
                f"{c['sensitivity_std']:.3f} | {c['most_sensitive_block']} | "
                f"{_signed(c['predicted'])} | {_signed(c['realised'])} | "
                f"{_signed(c['rank_corr_O'])} |"
            )
    lines += [
        "",
        "Whole-model cycles from golden.cycle_model (every linear sublayer of every "
        "block, full matrices; FlexCiM runs each run's own masks).",
        "",
        "| pruner | mask | method | tokens | FlexCiM | dense DCiM | sparse DCiM 2:4 | "
        "sparse DCiM 1:2 | dense / FlexCiM | best fixed / FlexCiM |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in summary["methods"]:
        c = m["cycles"]
        if c is None:
            continue
        for t in sorted(c["FlexCiM"], key=int):
            fx = c["FlexCiM"][t]
            fixed = min(c["sparse DCiM 2:4"][t], c["sparse DCiM 1:2"][t])
            lines.append(
                f"| {m['metric']} | {m['mask']} | {m['label']} | {t} | {fx:,} | "
                f"{c['dense DCiM'][t]:,} | {c['sparse DCiM 2:4'][t]:,} | "
                f"{c['sparse DCiM 1:2'][t]:,} | {c['dense DCiM'][t] / fx:.2f} | {fixed / fx:.2f} |"
            )
    return "\n".join(lines) + "\n"


def plot_eval(summary: dict, path: Path, title: str) -> None:
    """Perplexity (mean +- std) against FlexCiM latency at the largest token count."""
    fig, ax = plt.subplots(figsize=(8, 5))
    timed = [m for m in summary["methods"] if m["cycles"]]
    for m in timed:
        c = m["cycles"]["FlexCiM"]
        t = max(c, key=int)
        ax.errorbar(
            c[t],
            m["mean"],
            yerr=0 if m["std"] != m["std"] else m["std"],
            fmt="o",
            capsize=3,
            label=f"{m['label']} ({m['metric']}, {m['mask']})",
        )
    if timed:
        c0 = timed[0]["cycles"]["dense DCiM"]
        t = max(c0, key=int)
        ax.axvline(c0[t], color="grey", ls="--", lw=1, label="dense DCiM latency")
    if summary["dense_ppl"]:
        ax.axhline(summary["dense_ppl"], color="black", ls=":", lw=1, label="dense perplexity")
    ax.set_xlabel("whole-model cycles on FlexCiM (largest token count)")
    ax.set_ylabel("perplexity")
    ax.set_yscale("log")
    ax.legend(fontsize=6)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)

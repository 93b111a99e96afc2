"""What the flexible core buys on the replayed model, in RTL cycles and in perplexity.

The replay runs every job of the exported model on the FlexCiM RTL. The alternatives are the
same macro geometry (P, R, C, RPB) without FlexCiM's flexibility:

- **dense DCiM**: every layer dense, ceil(K / (P*R)) passes per column tile (the macro's P:P
  mode; golden.cycle_model.dense_passes);
- **fixed n:m sparse DCiM** (2:4, 4:8): a layer whose mask is n:m-compliant runs at that
  pattern (golden.cycle_model.fixed_pattern_passes), any other layer runs dense. It runs either
  the replayed model (the paper's comparison: the same workload) or the uniform n:m model of the
  same pruner (the best model that core can run at full speed).

A job's CYCLES depend only on its passes and tokens (docs/ARCHITECTURE.md §4; the replay checks
that for every job of the model). So the alternatives' RTL cycles are measured on one RTL job
per distinct shape (K, hardware pattern, tokens), a single-tile layer with a mask shared by
every row (full speed on any select width G), run through the same build, and scaled by each
layer's job count. `check_shapes` refuses a shape whose RTL cycles differ from the cycle model.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from golden.config import HwConfig, supported_patterns
from golden.cycle_model import (
    dense_passes,
    fixed_pattern_passes,
    is_compliant,
    job_cycles,
    token_chunks,
)
from golden.files import atomic_path
from golden.nm_format import quantize_per_channel
from golden.stimulus import Stimulus, StimulusLayer, validate_stimulus

FIXED_PATTERNS: tuple[tuple[int, int], ...] = ((2, 4), (4, 8))


def uniform_key(n: int, m: int) -> str:
    """Column of a fixed n:m core running the uniform n:m model (layer_jobs, compare)."""
    return f"fixed {n}:{m}, uniform {n}:{m} model"


def same_key(n: int, m: int) -> str:
    """Column of a fixed n:m core running the replayed model (the same workload)."""
    return f"fixed {n}:{m}, this model"


def fixed_patterns(cfg: HwConfig) -> list[tuple[int, int]]:
    """The fixed-pattern cores compared on `cfg`'s geometry (those its P can hold)."""
    return [p for p in FIXED_PATTERNS if p in supported_patterns(cfg.P)]


@dataclass(frozen=True, order=True)
class Shape:
    """One job shape: K, the hardware pattern it runs at (P:P is dense), tokens, passes."""

    k: int
    n: int
    m: int
    tokens: int
    passes: int

    @property
    def name(self) -> str:
        return f"K{self.k}.{self.n}of{self.m}.T{self.tokens}"


def layer_jobs(layer: StimulusLayer, cfg: HwConfig) -> dict[str, list[Shape]]:
    """Every job each alternative runs for `layer` (one per column tile and token chunk)."""
    cout, k = layer.mask.shape
    tiles = -(-cout // cfg.C)
    dense = (k, cfg.P, cfg.P, dense_passes(k, cfg))

    def jobs(k_: int, n: int, m: int, passes: int) -> list[Shape]:
        return [
            Shape(k_, n, m, t, passes)
            for _ in range(tiles)
            for t in token_chunks(layer.act.shape[0], cfg)
        ]

    out = {"dense DCiM": jobs(*dense)}
    for n, m in fixed_patterns(cfg):
        fixed = (k, n, m, fixed_pattern_passes(k, n, m, cfg))
        out[uniform_key(n, m)] = jobs(*fixed)
        # In the order the host streams (a permuted layer's mask is N:M only in that order).
        same = fixed if is_compliant(layer.core_order()[1], n, m) else dense
        out[same_key(n, m)] = jobs(*same)
    return out


def shape_stimulus(shapes: list[Shape], cfg: HwConfig, seed: int = 0) -> Stimulus:
    """One single-tile layer per shape: random int8 weights under one n:m mask shared by all
    C rows (full speed on any G), random activations. Named by Shape.name."""
    rng = np.random.default_rng(seed)
    layers = []
    for s in shapes:
        row = np.zeros(s.k, dtype=bool)
        for g in range(0, s.k, s.m):
            width = min(s.m, s.k - g)
            row[g + rng.choice(width, size=min(s.n, width), replace=False)] = True
        mask = np.broadcast_to(row, (cfg.C, s.k)).copy()
        w, scale = quantize_per_channel(np.where(mask, rng.standard_normal((cfg.C, s.k)), 0.0))
        layers.append(
            StimulusLayer(
                name=s.name,
                n=s.n,
                m=s.m,
                outlier_ratio=0.0,
                locality=0.0,
                weight=w,
                scale=scale,
                mask=mask,
                act=rng.integers(-128, 128, size=(s.tokens, s.k), dtype=np.int8),
                act_scale=1.0,
            )
        )
    stim = Stimulus(model="job shapes", source={"generator": "tb.replay_compare"}, layers=layers)
    validate_stimulus(stim)
    return stim


def check_shapes(records: list[dict], shapes: list[Shape], cfg: HwConfig) -> dict[Shape, int]:
    """RTL cycles of one job per shape, from the shape replay's records; every one must equal
    golden.cycle_model.job_cycles of its passes (else the composition would be wrong)."""
    by_name = {r["layer"]: r for r in records}
    out: dict[Shape, int] = {}
    for s in shapes:
        r = by_name.get(s.name)
        if r is None or r["jobs"] != 1:
            raise ValueError(f"shape {s.name}: no single-job RTL record ({r})")
        model = job_cycles(s.passes, s.tokens, cfg).total
        if r["rtl_cycles"] != model or r["value_mismatches"] or r["cycle_mismatches"]:
            raise ValueError(
                f"shape {s.name}: RTL {r['rtl_cycles']} cycles, model {model} "
                f"({s.passes} passes), mismatches {r['value_mismatches']}/{r['cycle_mismatches']}"
            )
        out[s] = r["rtl_cycles"]
    return out


@dataclass(frozen=True)
class Perplexities:
    """Perplexity of the replayed model and of the models the alternatives run."""

    this_model: float | None
    dense: float | None
    uniform: dict[str, float]  # "2:4" -> perplexity of the uniform 2:4 model (same pruner)
    source: str  # where the dense/uniform numbers come from

    @classmethod
    def from_study(
        cls,
        this_model: float | None,
        path: Path,
        metric: str,
        mask: str,
        windows: dict,
        label: str | None = None,
        levers: dict | None = None,
    ) -> Perplexities:
        """Dense and uniform perplexities of one calibration set from a `flow eval`
        results.json, used only when its windows are the export's (else left out), and its
        uniform ones only when its models were pruned with the export's `levers` (permute,
        reconstruct; an older results.json without them pruned with neither)."""
        label = label or str(path)
        if not path.is_file():
            return cls(this_model, None, {}, f"{label} not found")
        data = json.loads(path.read_text())
        same = all(
            data["windows"].get(key) == windows.get(key)
            for key in ("text_sha256", "calib_range", "eval_range", "seqlen")
        )
        if not same:
            return cls(this_model, None, {}, f"{label}: other windows than the export's")
        summary = data["summary"]
        seed = windows["calib_range"][0] // max(
            1, windows["calib_range"][1] - windows["calib_range"][0]
        )
        uniform = {}
        for row in summary["methods"]:
            if (
                row["metric"] == metric
                and row["mask"] == mask
                and row["label"].startswith("uniform ")
            ) and seed in row["seeds"]:
                uniform[row["label"].removeprefix("uniform ")] = row["ppl"][
                    row["seeds"].index(seed)
                ]
        args = data.get("args", {})
        theirs = {k: args.get(k, "none") for k in ("permute", "reconstruct")}
        ours = {k: (levers or {}).get(k, "none") for k in theirs}
        if theirs != ours:
            why = ", ".join(f"{k} {ours[k]} (study: {theirs[k]})" for k in ours)
            return cls(
                this_model,
                summary["dense_ppl"],
                {},
                f"{label} (calibration set {seed}), dense only: the export's levers differ: {why}",
            )
        return cls(this_model, summary["dense_ppl"], uniform, f"{label} (calibration set {seed})")


def distinct_shapes(stim: Stimulus, cfg: HwConfig) -> list[Shape]:
    """Every job shape any alternative runs on any layer of `stim`, sorted."""
    return sorted(
        {s for layer in stim.layers for jobs in layer_jobs(layer, cfg).values() for s in jobs}
    )


def compare(
    records: list[dict], stim: Stimulus, cfg: HwConfig, shape_cycles: dict[Shape, int]
) -> dict:
    """Per layer and whole model: FlexCiM's replayed RTL cycles and each alternative's RTL
    cycles (shape cycles x job counts)."""
    by_index = {r["index"]: r for r in records}
    layers = []
    totals: Counter[str] = Counter()
    for i, layer in enumerate(stim.layers):
        row = {"index": i, "layer": layer.name, "pattern": f"{layer.n}:{layer.m}"}
        row["FlexCiM"] = by_index[i]["rtl_cycles"]
        for alt, jobs in layer_jobs(layer, cfg).items():
            row[alt] = sum(shape_cycles[s] for s in jobs)
        totals.update({k: v for k, v in row.items() if isinstance(v, int) and k != "index"})
        layers.append(row)
    return {"layers": layers, "total": dict(totals)}


def hardware_rows(result: dict, ppl: Perplexities, model_label: str, cfg: HwConfig) -> list[dict]:
    """The whole-model table: hardware, the model it runs, perplexity, cycles, FlexCiM's
    speed-up over it."""
    total = result["total"]
    flex = total["FlexCiM"]
    rows = [{"hardware": "FlexCiM", "model": model_label, "ppl": ppl.this_model, "cycles": flex}]
    rows.append(
        {
            "hardware": "dense DCiM",
            "model": "dense",
            "ppl": ppl.dense,
            "cycles": total["dense DCiM"],
        }
    )
    for n, m in fixed_patterns(cfg):
        rows.append(
            {
                "hardware": f"fixed {n}:{m} DCiM",
                "model": f"uniform {n}:{m}",
                "ppl": ppl.uniform.get(f"{n}:{m}"),
                "cycles": total[uniform_key(n, m)],
                "same_workload": False,
            }
        )
        rows.append(
            {
                "hardware": f"fixed {n}:{m} DCiM",
                "model": f"{model_label} (other layers dense)",
                "ppl": ppl.this_model,
                "cycles": total[same_key(n, m)],
                "same_workload": True,
            }
        )
    for r in rows:
        r["flexcim_speedup"] = r["cycles"] / flex
    return rows


def _ppl(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def markdown(result: dict, rows: list[dict], ppl: Perplexities) -> str:
    lines = [
        "## FlexCiM against dense and fixed-pattern DCiM of the same geometry\n",
        "RTL cycles: FlexCiM's are the replay's, every job; each alternative's are RTL CYCLES of "
        "one job per distinct shape (same build, `tb.replay_compare`), times its job count. "
        f"Dense and uniform perplexities: {ppl.source}.\n",
        "| hardware | model it runs | perplexity | whole-model RTL cycles | FlexCiM speed-up |",
        "|---|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['hardware']} | {r['model']} | {_ppl(r['ppl'])} | {r['cycles']:,} | "
            f"{r['flexcim_speedup']:.3f} |"
        )
    alts = [k for k in result["layers"][0] if k not in ("index", "layer", "pattern")]
    lines += [
        "",
        "Per layer (RTL cycles):",
        "",
        "| # | layer | N:M | " + " | ".join(alts) + " |",
        "|---:|---|---|" + "---:|" * len(alts),
    ]
    for row in result["layers"]:
        lines.append(
            f"| {row['index']} | {row['layer']} | {row['pattern']} | "
            + " | ".join(f"{row[a]:,}" for a in alts)
            + " |"
        )
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path, title: str) -> bool:
    """Perplexity against whole-model cycles, one point per (hardware, model); False when
    matplotlib is missing (the testbench-only venv)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    if all(r["ppl"] is None for r in rows):  # no perplexity to plot (e.g. a synthetic stimulus)
        return False
    fig, ax = plt.subplots(figsize=(8, 5.5))
    markers = "os^vD<>ph"
    for i, r in enumerate(rows):
        if r["ppl"] is None:
            continue
        ax.scatter(
            r["cycles"] / 1e6,
            r["ppl"],
            s=60,
            marker=markers[i % len(markers)],
            label=f"{r['hardware']}, {r['model']}: {r['ppl']:.1f}, {r['flexcim_speedup']:.2f}x",
        )
    ax.legend(
        title="hardware, model it runs: perplexity, FlexCiM speed-up",
        fontsize=7,
        title_fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.15),
        ncol=2,
    )
    ax.set_xlabel("whole-model RTL cycles (millions)")
    ax.set_ylabel("perplexity (WikiText-2)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:  # a plot is written whole or not at all
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return True


def speedup_vs_paper(rows: list[dict]) -> str:
    """One sentence per fixed core on the same workload, against the paper's up-to-1.75x."""
    same = [r for r in rows if r.get("same_workload")]
    parts = [f"{r['hardware']} {r['flexcim_speedup']:.2f}x" for r in same]
    return (
        "FlexCiM over fixed-pattern DCiM on the same model (the paper reports up to 1.75x): "
        + ", ".join(parts)
    )

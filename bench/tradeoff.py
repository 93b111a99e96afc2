"""The FlexCiM design-space trade-off: accuracy, latency and area per core variant.

A variant is a select-sharing width G (columns sharing one activation-pair select) and a
number of activation rows per beat RPB. Inputs, all measured elsewhere:

* accuracy: `flow eval` folders, one per G, each run with `--hw-config` and `--latency-config`
  set to that G's configuration and masks legal for it (pair-shared over G columns; standard
  at G = 1). Perplexity is the mean +- std over the folder's calibration seeds.
* latency: the same folders. `flow eval` records, for its first seed, the passes of every
  FlexCiM job of every sublayer (flow.latency); golden.cycle_model re-counts their cycles for
  RPB = 1 and RPB = R. The mapper's passes do not depend on RPB, so no mask is needed again.
* area: `python -m bench.area` JSON (Yosys generic cells of flexcim_core); a variant without a
  synthesised configuration gets no area, never an estimate.

    python -m bench.tradeoff --evals docs/results/tradeoff/g*-sparsegpt \\
        docs/results/tradeoff/g*-wanda [--area build/area/area.json] [--out build/tradeoff]

Writes tradeoff.md, tradeoff.json and tradeoff.png under --out.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import sys
from pathlib import Path

from golden.cli import OneLineParser
from golden.config import HwConfig
from golden.cycle_model import jobs_cycles
from golden.files import atomic_path, write_atomic
from tb.common.runner import ROOT, load_configs

OUT = ROOT / "build" / "tradeoff"
TOKENS = 64  # tokens per sublayer call of the latency column (the eval's tallies use 64, 512)


@dataclasses.dataclass(frozen=True)
class Accuracy:
    """One (G, pruner, selection) cell: perplexities over seeds, and seed 0's job passes."""

    G: int
    metric: str
    mask: str
    label: str
    ppl: list[float]
    passes: list[list[int]]
    base: HwConfig  # the latency configuration the passes were mapped on
    tally: dict[str, dict[str, int]]  # the eval's own cycles per accelerator and token count

    @property
    def mean(self) -> float:
        return statistics.fmean(self.ppl)

    @property
    def std(self) -> float:
        return statistics.stdev(self.ppl) if len(self.ppl) > 1 else 0.0


def read_eval(folder: Path) -> list[Accuracy]:
    """Every (pruner, mask, selection) of one `flow eval` folder (its runs.json)."""
    runs_path = folder / "runs.json"
    if not runs_path.is_file():
        raise FileNotFoundError(f"{folder}: no runs.json (not a `flow eval` output folder)")
    runs = json.loads(runs_path.read_text())
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for run in runs.values():
        if run["label"] != "dense":
            groups.setdefault((run["metric"], run["mask"], run["label"]), []).append(run)
    out = []
    for (metric, mask, label), rs in sorted(groups.items()):
        with_latency = [r for r in rs if r.get("latency")]
        if not with_latency:
            raise ValueError(f"{folder}: {metric}/{mask} {label} has no latency tally")
        lat = with_latency[0]["latency"]
        if "passes" not in lat:
            raise ValueError(f"{folder}: its latency tally has no job passes (older flow eval)")
        base = HwConfig(**lat["config"])
        out.append(
            Accuracy(
                base.sel_width,
                metric,
                mask,
                label,
                [r["ppl"] for r in rs],
                lat["passes"],
                base,
                lat["cycles"],
            )
        )
    return out


def model_cycles(passes: list[list[int]], cfg: HwConfig, tokens: int = TOKENS) -> int:
    """Whole-model FlexCiM cycles: every sublayer's jobs over `tokens` tokens on `cfg`."""
    return sum(jobs_cycles(layer, tokens, cfg).total for layer in passes)


def config_name(cfg: HwConfig, named: dict[str, dict[str, int]]) -> str | None:
    """The configs/flexcim.yaml name of `cfg`, if it has one."""
    for name, params in named.items():
        if HwConfig(**params) == cfg:
            return name
    return None


def area_by_config(path: Path | None) -> dict[HwConfig, dict]:
    """bench.area rows keyed by their HwConfig (names may differ between files)."""
    if path is None:
        return {}
    if not path.is_file():
        raise FileNotFoundError(f"--area {path}: no such file (run python -m bench.area first)")
    rows = json.loads(path.read_text())
    out = {}
    for row in rows:
        out[HwConfig(**row["params"])] = row
    return out


def variants(acc: list[Accuracy], areas: dict[HwConfig, dict], pruner: str) -> list[dict]:
    """One row per (G, RPB in {1, R}): the best selection of `pruner` at that G."""
    named = load_configs()
    by_g: dict[int, list[Accuracy]] = {}
    for a in acc:
        if a.metric == pruner:
            by_g.setdefault(a.G, []).append(a)
    rows = []
    for g in sorted(by_g, reverse=True):
        best = min(by_g[g], key=lambda a: a.mean)
        uniform = [a for a in by_g[g] if a.label.startswith("uniform")]
        best_uniform = min(uniform, key=lambda a: a.mean) if uniform else None
        for rpb in sorted({1, best.base.R}):
            cfg = dataclasses.replace(best.base, RPB=rpb)
            area = areas.get(cfg)
            rows.append(
                {
                    "G": g,
                    "RPB": rpb,
                    "config": config_name(cfg, named),
                    "params": cfg.params(),
                    "pruner": pruner,
                    "mask": best.mask,
                    "selection": best.label,
                    "ppl": best.ppl,
                    "ppl_mean": best.mean,
                    "ppl_std": best.std,
                    "uniform": best_uniform.label if best_uniform else None,
                    "uniform_ppl_mean": best_uniform.mean if best_uniform else None,
                    "uniform_ppl_std": best_uniform.std if best_uniform else None,
                    "cycles": model_cycles(best.passes, cfg),
                    # The eval's own ratio, on its configuration (RPB as it was run).
                    "dense_over_flexcim": (
                        best.tally["dense DCiM"][str(TOKENS)] / best.tally["FlexCiM"][str(TOKENS)]
                        if rpb == best.base.RPB
                        else None
                    ),
                    "area_cells": area["total_cells"] if area else None,
                    "area_flops": area["total_flops"] if area else None,
                }
            )
    return rows


def relate(rows: list[dict]) -> None:
    """Add latency, area and latency x area relative to today's core (G = C, RPB = 1)."""
    today = next((r for r in rows if r["G"] == r["params"]["C"] and r["RPB"] == 1), None)
    for r in rows:
        r["speedup_vs_today"] = today["cycles"] / r["cycles"] if today else None
        both = today and today["area_cells"] and r["area_cells"]
        r["area_vs_today"] = r["area_cells"] / today["area_cells"] if both else None
        r["latency_area_vs_today"] = (
            r["cycles"] * r["area_cells"] / (today["cycles"] * today["area_cells"])
            if both
            else None
        )


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)


def markdown(tables: dict[str, list[dict]]) -> str:
    lines = [
        "# FlexCiM variants: accuracy, latency, area",
        "",
        f"Latency: whole-model FlexCiM cycles, every linear sublayer of every block, {TOKENS} "
        "tokens per sublayer call, golden.cycle_model over the masks of the selection's first "
        "seed. dense DCiM / FlexCiM: the eval's own ratio on the configuration it ran (RPB = 1). "
        "Area: Yosys generic cells of flexcim_core (bench.area). Ratios against today's "
        "core (G = C, RPB = 1) with the same pruner's best selection; latency x area: lower is "
        "better.",
        "",
    ]
    for pruner, rows in tables.items():
        lines += [
            f"## {pruner}",
            "",
            "| G | RPB | config | masks | best selection | perplexity | best uniform | cycles "
            "| dense DCiM / FlexCiM | speed-up vs today | area (cells) | area vs today "
            "| latency x area vs today |",
            "|---:|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            uni = (
                f"{r['uniform']}: {r['uniform_ppl_mean']:.2f} +- {r['uniform_ppl_std']:.2f}"
                if r["uniform"]
                else "-"
            )
            lines.append(
                f"| {r['G']} | {r['RPB']} | {r['config'] or '(unnamed)'} | {r['mask']} | "
                f"{r['selection']} | {r['ppl_mean']:.2f} +- {r['ppl_std']:.2f} "
                f"({len(r['ppl'])} seeds) | {uni} | {r['cycles']:,} | "
                f"{_num(r['dense_over_flexcim'], '.2f')} | "
                f"{_num(r['speedup_vs_today'], '.2f')} | {_num(r['area_cells'], ',')} | "
                f"{_num(r['area_vs_today'], '.3f')} | {_num(r['latency_area_vs_today'], '.3f')} |"
            )
        lines.append("")
    return "\n".join(lines)


def plot(tables: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for pruner, rows in tables.items():
        for rpb, marker in ((1, "o"), (max(r["RPB"] for r in rows), "s")):
            # Only synthesised variants: a point needs its measured area.
            pts = [r for r in rows if r["RPB"] == rpb and r["latency_area_vs_today"] is not None]
            if not pts:
                continue
            x = [r["latency_area_vs_today"] for r in pts]
            y = [r["ppl_mean"] for r in pts]
            ax.errorbar(
                x,
                y,
                yerr=[r["ppl_std"] for r in pts],
                fmt=marker + "-",
                capsize=3,
                label=f"{pruner}, RPB={rpb}",
            )
            for r, xi, yi in zip(pts, x, y, strict=True):
                ax.annotate(
                    f"G={r['G']}", (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=8
                )
    ax.set_xscale("log")
    ax.set_xlabel("latency x area vs today's core (G = C, RPB = 1)")
    ax.set_ylabel("perplexity (best selection, mean +- std over seeds)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="python -m bench.tradeoff", description=__doc__.split("\n")[0])
    p.add_argument("--evals", nargs="+", type=Path, required=True, help="flow eval folders")
    p.add_argument("--area", type=Path, default=None, help="bench.area JSON (area.json)")
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args(argv)
    if a.area is not None and not a.area.is_file():
        p.error(f"--area {a.area}: file not found (bench.area writes build/area/area.json)")
    missing = [str(f) for f in a.evals if not (Path(f) / "runs.json").is_file()]
    if missing:
        p.error(f"--evals {missing[0]}: no runs.json there (a `flow eval` folder)")
    if a.out.exists() and not a.out.is_dir():
        p.error(f"--out {a.out}: is a file, expected a folder")
    areas = area_by_config(a.area)
    acc = [x for folder in a.evals for x in read_eval(folder)]
    tables = {}
    for pruner in sorted({x.metric for x in acc}):
        rows = variants(acc, areas, pruner)
        relate(rows)
        tables[pruner] = rows
    md = markdown(tables)
    write_atomic(a.out / "tradeoff.md", md)
    write_atomic(a.out / "tradeoff.json", json.dumps(tables, indent=1))
    plot(tables, a.out / "tradeoff.png")
    print(md)
    print(f"written to {a.out}/tradeoff.{{md,json,png}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The measured-cost pass: its time, and how close a cheaper probe set comes to the reference.

`python -m bench measured_cost [--probe-windows W] [--probe-seqlen S] [--calib-set s]` measures
the cost table of the recommended core's model (SmolLM2-135M, SparseGPT, standard masks,
`paper_g1`, 50 %) on one calibration set with a fresh cost cache, times the pass, and compares
it with the reference: the study's 4 x 512 tables of the same calibration set
(docs/results/tradeoff/g1-sparsegpt/runs.json, measured on an H200 in float32; the CPU gives the
same numbers to 2 decimals, docs/FLOW_RESULTS.md). It prints the rank correlation of the costs
(all 180 probed entries, and the median over blocks of the per-block correlation), whether
the MILP's plan is the reference plan, and the blocks where it differs. The perplexity of a
differing plan is what `flow eval --probe-windows W --probe-seqlen S` measures. One JSON row
per run is appended to build/bench/measured_cost.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from flow.report import spearman

_REPO = Path(__file__).resolve().parent.parent
REFERENCE = _REPO / "docs/results/tradeoff/g1-sparsegpt/runs.json"


def reference_run(path: Path, seed: int) -> dict:
    """The study's measured-cost run of calibration set `seed` (its per-block costs and plan)."""
    runs = json.loads(path.read_text())
    for run in runs.values():
        if run.get("label") == "measured" and run.get("seed") == seed:
            return run
    raise ValueError(f"{path} has no measured run of calibration set {seed}")


def compare(costs: np.ndarray, cands: list[str], plan: list[str], ref: dict) -> dict:
    """Costs (blocks x candidates) and plan against a reference run."""
    ref_layers = ref["selection"]["layers"]
    ref_costs = np.array([[layer["costs"][c] for c in cands] for layer in ref_layers])
    probed = ref_costs != 0.0  # the operating point's column is 0 by definition
    per_block = [
        spearman(costs[b][probed[b]], ref_costs[b][probed[b]]) for b in range(len(ref_layers))
    ]
    ref_plan = [f"{layer['n']}:{layer['m']}" for layer in ref_layers]
    return {
        "rank_corr_all": spearman(costs[probed], ref_costs[probed]),
        "rank_corr_block_median": float(np.median(per_block)),
        "rank_corr_block_min": float(np.min(per_block)),
        "same_plan": plan == ref_plan,
        "plan_differs_at": {
            b: [plan[b], ref_plan[b]] for b in range(len(plan)) if plan[b] != ref_plan[b]
        },
        "reference_ppl": ref["ppl"],
    }


def study_runs(folder: Path) -> dict[int, dict]:
    data = json.loads((folder / "runs.json").read_text())
    return {r["seed"]: r for r in data.values() if r.get("label") == "measured"}


def study_table(out: Path) -> str:
    """scripts/probe_study.sh's folders as one table: per probe set and pruner, perplexity per
    calibration set, mean +- std, the paired gap to 4 x 512, rank correlation of the cost
    tables with the reference's, and how many blocks' choices differ."""
    lines = [
        "| probe | pruner | ppl per set | mean +- std | gap to 4x512 (paired) | rank corr "
        "| blocks changed |",
        "|---|---|---|---|---|---|---|",
    ]
    for metric in ("sparsegpt", "wanda"):
        ref_dir = out / f"p4x512-{metric}"
        if not (ref_dir / "runs.json").is_file():
            continue
        ref = study_runs(ref_dir)
        for folder in sorted(out.glob(f"p*-{metric}")):
            if not (folder / "runs.json").is_file():
                continue
            mine = study_runs(folder)
            seeds = sorted(set(mine) & set(ref))
            ppl = np.array([mine[s]["ppl"] for s in seeds])
            gap = ppl - np.array([ref[s]["ppl"] for s in seeds])
            corr, changed = [], []
            for s in seeds:
                a, b = mine[s]["selection"]["layers"], ref[s]["selection"]["layers"]
                cands = list(a[0]["costs"])
                ca = np.array([[la["costs"][c] for c in cands] for la in a])
                cb = np.array([[lb["costs"][c] for c in cands] for lb in b])
                probed = cb != 0.0
                corr.append(spearman(ca[probed], cb[probed]))
                changed.append(
                    sum(
                        (la["n"], la["m"]) != (lb["n"], lb["m"])
                        for la, lb in zip(a, b, strict=True)
                    )
                )
            lines.append(
                f"| {folder.name.split('-')[0][1:]} | {metric} | "
                + ", ".join(f"{p:.2f}" for p in ppl)
                + f" | {ppl.mean():.2f} +- {ppl.std(ddof=1) if len(ppl) > 1 else 0:.2f} | "
                f"{gap.mean():+.2f} +- {gap.std(ddof=1) if len(gap) > 1 else 0:.2f} | "
                f"{np.mean(corr):.3f} | {', '.join(map(str, changed))} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench measured_cost", description=__doc__)
    p.add_argument("--probe-windows", type=int, default=None, help="(flow's default)")
    p.add_argument("--probe-seqlen", type=int, default=None, help="(flow's default)")
    p.add_argument("--calib-set", type=int, default=0)
    p.add_argument("--reference", type=Path, default=REFERENCE)
    p.add_argument("--study", type=Path, default=None, help="print scripts/probe_study.sh's table")
    args = p.parse_args(argv)
    if args.study:
        print(study_table(args.study))
        return
    # Imported here: `python -m bench --help` and the testbench-only venv need no torch.
    from flow.cli import build_parser
    from flow.measured import select_measured
    from flow.methods import cost_table
    from flow.options import candidates_for
    from flow.session import setup

    ref = reference_run(args.reference, args.calib_set)
    with TemporaryDirectory() as cache:
        argv_flow = ["select", "--method", "measured", "--metric", "sparsegpt",
                     "--hw-config", "paper_g1", "--calib-set", str(args.calib_set),
                     "--cost-cache", cache]  # fmt: skip
        for flag, value in (("--probe-windows", args.probe_windows),
                            ("--probe-seqlen", args.probe_seqlen)):  # fmt: skip
            if value is not None:
                argv_flow += [flag, str(value)]
        a = build_parser().parse_args(argv_flow)
        ctx = setup(a, n_eval=0)
        start, cpu0 = time.perf_counter(), os.times()
        table = cost_table(ctx, a, "sparsegpt", "standard")
        wall, cpu1 = time.perf_counter() - start, os.times()
    cands = candidates_for(a, "measured", ctx.hw.P)
    sel = select_measured(table, cands, a.target, a.weighting, ctx.hw.P)
    names = [f"{n}:{m}" for n, m in table.candidates]
    plan = [f"{n}:{m}" for n, m in sel.patterns]
    result = {
        "probe": [table.probe_windows, table.probe_seqlen],
        "calib_set": args.calib_set,
        "cost_pass_wall_s": round(wall, 1),
        "cost_pass_cpu_s": round((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), 1),
        "torch_threads": a.threads,
        **compare(table.matrix, names, plan, ref),
        "plan": plan,
    }
    out = _REPO / "build/bench/measured_cost.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a") as handle:
        handle.write(json.dumps(result) + "\n")
    print(
        f"probe {result['probe'][0]} x {result['probe'][1]} tokens, calibration set "
        f"{args.calib_set}: cost pass {wall:.1f} s wall ({result['cost_pass_cpu_s']} s CPU, "
        f"{a.threads} threads); rank correlation with the 4 x 512 reference "
        f"{result['rank_corr_all']:.3f} (per block: median "
        f"{result['rank_corr_block_median']:.3f}, min {result['rank_corr_block_min']:.3f}); "
        f"same plan: {result['same_plan']} "
        f"{'' if result['same_plan'] else result['plan_differs_at']}; row in {out}"
    )


if __name__ == "__main__":
    main()

"""`python -m flow analyze`: FLOW as specified (both M rules, Hyper_m sweep, locality variants)
against the baselines on one calibration set, with the per-layer plot (docs/FLOW_RESULTS.md)."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from flow.options import REPO, add_common, check_options, check_out_path, flow_params
from flow.select import validate_candidates
from golden.config import HwConfig
from golden.files import write_atomic

if TYPE_CHECKING:
    from flow.pipeline import Selection
    from flow.session import Context

# The uniform baselines the analysis prunes besides FLOW's selections.
UNIFORM = ((2, 4), (4, 8))


def _floats(option: str, text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(
            f"{option} {text}: expected a comma list of numbers, e.g. 0.5,2,5"
        ) from None
    if any(not v > 0 for v in values):
        raise ValueError(f"{option} {text}: every Hyper_m must be > 0")
    return values


def check_analyze(a: argparse.Namespace) -> HwConfig:
    hw = check_options(a, methods=("flow", "owl"))
    try:
        validate_candidates(UNIFORM, hw.P)
    except ValueError as e:
        raise ValueError(f"--hw-config {a.hw_config}: the uniform baselines: {e}") from None
    _floats("--hyper-m-sweep", a.hyper_m_sweep)
    _floats("--sweep-ppl", a.sweep_ppl)
    check_out_path("--out", a.out, folder=True)
    return hw


def run_experiment(ctx: Context, a: argparse.Namespace) -> None:
    from flow.evaluate import perplexity
    from flow.pipeline import (
        collect_stats,
        hm_key,
        prune_model,
        restore_weights,
        select_flow,
        select_owl,
        select_uniform,
        snapshot_weights,
    )
    from flow.reconstruct import recon_params
    from flow.report import pattern_summary, plot_layers
    from flow.session import usage

    lm, win, out = ctx.lm, ctx.windows, a.out
    sweep = _floats("--hyper-m-sweep", a.hyper_m_sweep)
    sweep_ppl = _floats("--sweep-ppl", a.sweep_ppl)
    hms = sorted({a.hyper_m, *sweep, *sweep_ppl})
    stats = collect_stats(lm, win.calib, a.batch, hms, [a.hyper_m])
    P, C = ctx.hw.P, ctx.hw.C

    flow = select_flow(stats, flow_params(a, m_rule="paper"), P)
    sels: dict[str, Selection] = {
        "FLOW (paper M rule)": flow,
        "FLOW (code M rule)": select_flow(stats, flow_params(a, m_rule="code"), P),
        "FLOW (reference locality)": select_flow(stats, flow_params(a, locality="reference"), P),
        "OWL-style": select_owl(stats, flow_params(a), a.owl_lamda, P),
        **{f"uniform {n}:{m}": select_uniform(stats, (n, m), P) for n, m in UNIFORM},
    }
    for hm in hms:
        sels[f"FLOW Hyper_m={hm:g}"] = select_flow(stats, flow_params(a, hyper_m=hm), P)

    runs: list[tuple[str, str, str, str]] = [  # label, selection, metric, mask
        ("uniform 2:4 (Wanda)", "uniform 2:4", "wanda", "standard"),
        ("uniform 4:8 (Wanda)", "uniform 4:8", "wanda", "standard"),
        ("FLOW (paper M rule)", "FLOW (paper M rule)", "wanda", "standard"),
        ("FLOW pair-shared", "FLOW (paper M rule)", "wanda", "pair-shared"),
        ("OWL-style -> candidates", "OWL-style", "wanda", "standard"),
        ("magnitude 2:4", "uniform 2:4", "magnitude", "standard"),
        ("magnitude 4:8", "uniform 4:8", "magnitude", "standard"),
        ("FLOW (code M rule)", "FLOW (code M rule)", "wanda", "standard"),
        *[
            (f"FLOW Hyper_m={hm:g}", f"FLOW Hyper_m={hm:g}", "wanda", "standard")
            for hm in sweep_ppl
            if hm != a.hyper_m
        ],
        ("uniform 2:4 pair-shared", "uniform 2:4", "wanda", "pair-shared"),
    ]
    # Plot and sweep first: they need only the selections, and survive an interrupted run.
    plot_layers(
        {k: sels[k].layers for k in ("FLOW (paper M rule)", "FLOW (code M rule)")},
        out / "flow_layers.png",
        f"{lm.name}: FLOW at target {a.target}, Hyper_m={a.hyper_m:g} "
        f"(calibration tokens {win.spec.calib_range})",
    )
    sweep_lines = [
        f"- Hyper_m={hm:g}: {pattern_summary(sels[f'FLOW Hyper_m={hm:g}'].patterns)}"
        f" (O range {min(s.outlier_ratio[hm_key(hm)] for s in stats):.3f}-"
        f"{max(s.outlier_ratio[hm_key(hm)] for s in stats):.3f}%)"
        for hm in hms
    ]
    write_atomic(out / "hyper_m_sweep.md", "\n".join(sweep_lines) + "\n")
    print("\n".join(sweep_lines))
    snapshot = snapshot_weights(lm)
    t = time.perf_counter()
    rows = [
        {
            "method": "dense",
            "patterns": "-",
            "sparsity": 0.0,
            "param_sparsity": 0.0,
            "zeros": 0.0,
            "ppl": perplexity(lm, win.eval, a.batch),
            "seconds": time.perf_counter() - t,
        }
    ]
    payload = {
        "windows": win.spec.as_dict(),
        "model": lm.name,
        "model_identity": lm.identity,
        "args": {k: str(v) for k, v in vars(a).items() if k not in ("func", "check")},
        "stats": [asdict(s) for s in stats],
        "selections": {k: v.as_dict() for k, v in sels.items()},
        "rows": rows,
    }
    _write(out, payload, rows, win.spec.as_dict(), a)
    for label, sel_name, metric, mask in runs:
        sel = sels[sel_name]
        t = time.perf_counter()
        plan = sel.plan(metric, mask, C, a.permute)
        result = prune_model(lm, win.calib, a.batch, plan, recon=recon_params(a))
        ppl = perplexity(lm, win.eval, a.batch)
        restore_weights(lm, snapshot)
        rows.append(
            {
                "method": label,
                "patterns": pattern_summary(sel.patterns),
                "sparsity": sel.achieved_layer_mean,
                "param_sparsity": sel.achieved_param_weighted,
                "zeros": result.zero_fraction,
                "ppl": ppl,
                "seconds": time.perf_counter() - t,
                "reconstruction": result.reconstruction,
            }
        )
        print(f"{label}: ppl {ppl:.3f} (zeros {result.zero_fraction:.4f})", flush=True)
        payload["rows"] = rows
        payload |= usage()
        _write(out, payload, rows, win.spec.as_dict(), a)


def _write(out: Path, payload: dict, rows: list[dict], spec: dict, a: argparse.Namespace) -> None:
    from flow.report import markdown_table

    write_atomic(out / "results.json", json.dumps(payload, indent=1, default=str))
    head = (
        f"Perplexity on tokens {spec['eval_range']} of {spec['text_path']} "
        f"({a.eval_windows} windows x {spec['seqlen']}); calibration tokens "
        f"{spec['calib_range']} ({a.nsamples} x {spec['seqlen']}).\n\n"
    )
    write_atomic(out / "results.md", head + markdown_table(rows))


def cmd_analyze(a: argparse.Namespace) -> int:
    from flow.session import setup

    run_experiment(setup(a), a)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("analyze", help="FLOW as specified against the baselines; table + plot")
    add_common(s, 16)
    s.add_argument("--owl-lamda", type=float, default=0.25)
    s.add_argument(
        "--hyper-m-sweep",
        default="0.5,2,5,10",
        help="Hyper_m values whose selections are reported (and FLOW perplexity "
        "for --sweep-ppl ones)",
    )
    s.add_argument(
        "--sweep-ppl",
        default="0.5",
        help="extra Hyper_m values to prune and evaluate (comma list, may be empty)",
    )
    s.add_argument("--out", type=Path, default=REPO / "build/flow_analyze")
    s.set_defaults(func=cmd_analyze, check=check_analyze)

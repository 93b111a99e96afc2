"""`python -m flow eval`: every method at one target sparsity over K disjoint calibration sets
(seeds), one fixed evaluation set; mean +- std, paired differences, latency; resumable."""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from flow.choices import MASK_MODES, METRICS
from flow.options import (
    REPO,
    add_common,
    candidates_for,
    check_candidates,
    check_options,
    check_out_path,
    measured_candidates,
    named_config,
    recon_key,
)
from flow.select import sparsity
from golden.config import HwConfig, supported_patterns
from golden.files import write_atomic

if TYPE_CHECKING:
    from flow.pipeline import Selection
    from flow.session import Context

EVAL_METHODS = ("uniform", "owl", "flow", "flow-code", "flow-anchored", "measured")


def uniform_patterns(target: float, P: int) -> list[tuple[int, int]]:
    """Uniform baselines: the hardware patterns with M >= 4 at the target sparsity, else the
    nearest sparser level (a baseline never gets more weights than the selections)."""
    cands = [p for p in supported_patterns(P) if p[1] >= 4 and p[0] != p[1]]
    levels = sorted({sparsity(p) for p in cands if sparsity(p) >= target - 1e-9})
    if not levels:
        raise ValueError(f"no uniform pattern reaches sparsity {target}")
    return [p for p in cands if abs(sparsity(p) - levels[0]) < 1e-9]


def _selections(
    method: str, ctx: Context, a: argparse.Namespace, stats, metric: str, mask: str
) -> list[tuple[str, Selection]]:
    from flow.methods import select_method
    from flow.pipeline import select_uniform

    P = ctx.hw.P
    if method == "uniform":
        return [
            (f"uniform {n}:{m}", select_uniform(stats, (n, m), P))
            for n, m in uniform_patterns(a.target, P)
        ]
    if method == "measured":
        return [("measured", select_method("measured", ctx, a, None, metric, mask))]
    hw_set = measured_candidates(P)
    if method == "owl":
        b = argparse.Namespace(**{**vars(a), "candidates": a.candidates or hw_set})
        return [("OWL-style", select_method("owl", ctx, b, stats))]
    if method == "flow":
        return [("FLOW (paper)", select_method("flow", ctx, a, stats))]
    if method == "flow-code":
        b = argparse.Namespace(**{**vars(a), "m_rule": "code"})
        return [("FLOW (code M rule)", select_method("flow", ctx, b, stats))]
    if method == "flow-anchored":
        b = argparse.Namespace(**{**vars(a), "anchor": True, "candidates": a.candidates or hw_set})
        return [("FLOW anchored, x:6", select_method("flow", ctx, b, stats))]
    raise ValueError(f"unknown method {method!r}: use {EVAL_METHODS}")


def _run_key(a: argparse.Namespace, seed: int, metric: str, mask: str, label: str) -> str:
    """Identity of one pruned-and-evaluated run: the options that change its result."""
    keyed = {
        k: str(getattr(a, k))
        for k in (
            "model",
            "text",
            "calib_text",
            "dtype",
            "nsamples",
            "seqlen",
            "eval_windows",
            "eval_start",
            "hw_config",
            "target",
            "candidates",
            "hyper_m",
            "owl_lamda",
            "batch",
            "weighting",
            "device",
        )
    }
    if label == "measured":
        keyed |= {
            k: str(getattr(a, k)) for k in ("probe_windows", "probe_seqlen", "operating_point")
        }
        if a.granularity != "block":  # issue 18; absent by default so old keys stay valid
            keyed |= {"granularity": a.granularity, "sublayer_cost": a.sublayer_cost}
        if a.cost_recon != "none":
            keyed["cost_recon"] = a.cost_recon
    if a.permute != "none":
        keyed["permute"] = a.permute
        keyed["resolved"] = str(measured_candidates(HwConfig.named(a.hw_config).P))
    keyed |= {k: str(v) for k, v in recon_key(a).items()}  # empty with --reconstruct none
    blob = json.dumps([keyed, seed, metric, mask, label], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _label_suffix(a: argparse.Namespace, label: str) -> str:
    """Reconstructed runs, and measured selections from costs after reconstruction, get their
    own rows in the report."""
    suffix = " +recon" if a.reconstruct != "none" else ""
    if label == "measured" and a.cost_recon != "none":
        suffix += " +cost-recon"
    return suffix


def _names(option: str, text: str, allowed: tuple[str, ...]) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise ValueError(
            f"{option} {text}: {bad[0] if bad else 'empty'} is not one of {', '.join(allowed)}"
        )
    return values


# Eval methods by the candidates they choose from: --candidates, else FLOW's default set
# (flow.options.candidates_for), or else every pattern the core runs (_selections' hw_set).
_FLOW_SET = {"flow": "flow", "flow-code": "flow", "measured": "measured"}
_HW_SET = ("owl", "flow-anchored")


def check_eval(a: argparse.Namespace) -> HwConfig:
    methods = _names("--methods", a.methods, EVAL_METHODS)
    _names("--metrics", a.metrics, METRICS)
    _names("--masks", a.masks, MASK_MODES)
    if a.granularity != "block" and "measured" not in methods:
        raise ValueError(
            f"--granularity {a.granularity}: only the measured-cost selection chooses per "
            "sublayer (add measured to --methods)"
        )
    hw = check_options(a, methods=[_FLOW_SET[m] for m in methods if m in _FLOW_SET])
    for method in set(methods) & set(_HW_SET):
        check_candidates(candidates_for(a, "measured", hw.P), a.target, hw.P, method)
    if a.seeds < 1:
        raise ValueError(f"--seeds {a.seeds}: must be >= 1")
    if a.first_seed < 0:
        raise ValueError(f"--first-seed {a.first_seed}: must be >= 0")
    if "uniform" in methods:
        try:
            uniform_patterns(a.target, hw.P)
        except ValueError as e:
            raise ValueError(f"--target {a.target} with --methods uniform: {e}") from None
    named_config("--latency-config", a.latency_config)
    check_out_path("--out", a.out, folder=True)
    for folder in a.merge:
        if not (Path(folder) / "runs.json").is_file():
            raise FileNotFoundError(f"--merge {folder}: no runs.json there (a `flow eval` folder)")
    return hw


def _runs(path: Path) -> dict[str, dict]:
    """The finished runs of an eval folder's runs.json (written whole: golden.files)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(
            f"{path}: not a readable runs.json ({e}); remove it to start over"
        ) from None


def cmd_eval(a: argparse.Namespace) -> int:
    from flow.data import make_windows
    from flow.evaluate import perplexity
    from flow.latency import LatencyTally
    from flow.methods import run_stats
    from flow.pipeline import prune_model, restore_weights, snapshot_weights
    from flow.reconstruct import recon_params
    from flow.report import pattern_summary
    from flow.session import setup, usage

    check_eval(a)
    methods = _names("--methods", a.methods, EVAL_METHODS)
    metrics = _names("--metrics", a.metrics, METRICS)
    masks = _names("--masks", a.masks, MASK_MODES)
    lat_cfg = HwConfig.named(a.latency_config)
    out: Path = a.out
    runs_path = out / "runs.json"
    done: dict[str, dict] = _runs(runs_path) if runs_path.is_file() else {}
    for folder in a.merge:  # runs of the same study made elsewhere (e.g. one process per pruner)
        done |= _runs(Path(folder) / "runs.json")
    seeds = tuple(range(a.first_seed, a.first_seed + a.seeds))
    # Calibration set a.calib_set; the seeds below re-cut the windows, each checked here first.
    ctx = setup(a, calib_sets=seeds)
    lm = ctx.lm
    snapshot = snapshot_weights(lm)
    eval_range = ctx.windows.spec.eval_range
    rows: list[dict] = [r for r in done.values() if r.get("label") == "dense"]
    if not rows:
        t = time.perf_counter()
        dense = {
            "label": "dense",
            "metric": "-",
            "mask": "-",
            "seed": None,
            "patterns": "-",
            "ppl": perplexity(lm, ctx.windows.eval, a.batch),
            "seconds": time.perf_counter() - t,
        }
        done["dense"] = dense
        rows = [dense]
    for seed in seeds:
        win = make_windows(
            lm.tokenizer,
            a.text,
            a.nsamples,
            a.seqlen,
            a.eval_windows,
            a.eval_start,
            seed,
            a.calib_text,
        )
        assert win.spec.eval_range == eval_range  # setup's check_calib_sets saw to it
        sctx = replace(ctx, windows=win)
        stats = None
        for metric in metrics:
            for mask in masks:
                for method in methods:
                    if method != "measured" and stats is None:
                        stats = run_stats(sctx, a)
                    for label, sel in _selections(method, sctx, a, stats, metric, mask):
                        key = _run_key(a, seed, metric, mask, label)
                        if key in done:
                            continue
                        t = time.perf_counter()
                        # Latency depends on the masks only; seeds change them very little.
                        tally = LatencyTally(lat_cfg) if seed == a.first_seed else None
                        plan = sel.plan(metric, mask, ctx.hw.sel_width, a.permute)
                        result = prune_model(
                            lm,
                            win.calib,
                            a.batch,
                            plan,
                            on_mask=tally.add if tally else None,
                            recon=recon_params(a),
                        )
                        ppl = perplexity(lm, win.eval, a.batch)
                        restore_weights(lm, snapshot)
                        done[key] = {
                            # Reconstructed runs get their own rows in the report.
                            "label": label + _label_suffix(a, label),
                            "metric": metric,
                            "mask": mask,
                            "seed": seed,
                            "calib_range": list(win.spec.calib_range),
                            "patterns": pattern_summary(sel.patterns),
                            "layer_patterns": [f"{n}:{m}" for n, m in sel.patterns],
                            "sparsity": sel.achieved_layer_mean,
                            "param_sparsity": sel.achieved_param_weighted,
                            "zeros": result.zero_fraction,
                            "granularity": sel.granularity,
                            "permute": a.permute,
                            "cost_recon": a.cost_recon if label == "measured" else "none",
                            "reconstruction": result.reconstruction,
                            "ppl": ppl,
                            "latency": tally.as_dict() if tally else None,
                            "seconds": time.perf_counter() - t,
                            "selection": sel.as_dict(),
                        }
                        write_atomic(runs_path, json.dumps(done, indent=1, default=str))
                        print(
                            f"seed {seed} {metric}/{mask} {done[key]['label']}: ppl {ppl:.3f} "
                            f"({done[key]['seconds']:.0f} s)",
                            flush=True,
                        )
    meta = {
        "args": {k: str(v) for k, v in vars(a).items() if k not in ("func", "check")},
        "windows": ctx.windows.spec.as_dict(),
        "eval_range": eval_range,
        "model": lm.name,
        "model_identity": lm.identity,
        **usage(),
    }
    write_report(out, list(done.values()), a.target, meta)
    return 0


def write_report(out: Path, runs: list[dict], target: float, meta: dict) -> None:
    """results.json (summary + meta), results.md and eval.png in `out`."""
    from flow.report import eval_markdown, eval_summary, plot_eval

    summary = eval_summary(runs, target)
    payload = {**meta, "summary": summary}
    write_atomic(out / "results.json", json.dumps(payload, indent=1, default=str))
    write_atomic(out / "results.md", eval_markdown(summary, payload))
    plot_eval(summary, out / "eval.png", f"{meta['model']} at {target:.3f} mean sparsity")
    print((out / "results.md").read_text())


def check_report(a: argparse.Namespace) -> None:
    check_out_path("--out", a.out, folder=True)
    for folder in a.folders:
        if not (Path(folder) / "runs.json").is_file():
            raise FileNotFoundError(f"{folder}: no runs.json there (a `flow eval` folder)")


def cmd_report(a: argparse.Namespace) -> int:
    """Merge finished `flow eval` folders (same study) into one report; no model needed."""
    runs: dict[str, dict] = {}
    meta = None
    for folder in a.folders:
        path = Path(folder) / "runs.json"
        if not path.is_file():
            raise FileNotFoundError(f"no runs.json in {folder}")
        runs |= _runs(path)
        res = Path(folder) / "results.json"
        if meta is None and res.is_file():
            meta = json.loads(res.read_text())
    if meta is None:
        raise FileNotFoundError(f"none of {a.folders} has a results.json (a finished eval)")
    target = float(meta["summary"]["target"])
    meta = {k: v for k, v in meta.items() if k != "summary"}
    meta.setdefault("model", Path(meta["model_identity"]["path"]).name)
    meta["merged"] = [str(f) for f in a.folders]
    write_report(a.out, list(runs.values()), target, meta)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "eval",
        help="methods x seeds at one target: mean +- std, paired differences, latency (resumable)",
    )
    add_common(s, 16)
    s.add_argument(
        "--methods",
        default="uniform,owl,flow,measured",
        help=f"comma list of {EVAL_METHODS} (default: %(default)s)",
    )
    s.add_argument(
        "--metrics",
        default="wanda",
        help=f"pruners, comma list of {METRICS} (default: %(default)s)",
    )
    s.add_argument(
        "--masks",
        default="standard",
        help=f"mask kinds, comma list of {MASK_MODES} (default: %(default)s)",
    )
    s.add_argument("--seeds", type=int, default=3, help="disjoint calibration sets (default: 3)")
    s.add_argument("--first-seed", type=int, default=0, help="first calibration set (0)")
    s.add_argument("--owl-lamda", type=float, default=0.25)
    s.add_argument(
        "--latency-config",
        default="paper",
        help="configs/flexcim.yaml entry for the latency table (default: paper)",
    )
    s.add_argument("--out", type=Path, default=REPO / "build/flow_eval")
    s.add_argument(
        "--merge",
        type=Path,
        nargs="*",
        default=[],
        help="output folders of other `flow eval` runs of this study to include",
    )
    s.set_defaults(func=cmd_eval, check=check_eval)
    r = sub.add_parser("report", help="merge `flow eval` folders of one study into one report")
    r.add_argument("folders", nargs="+", type=Path, help="eval output folders (runs.json)")
    r.add_argument("--out", type=Path, required=True, help="folder for the merged report")
    r.set_defaults(func=cmd_report, check=check_report)

"""`python -m flow export`: select + prune + write the stimulus file (cached by content hash)."""

from __future__ import annotations

import argparse
import resource
import time
from dataclasses import asdict
from pathlib import Path

from flow.commands.select import add_method
from flow.options import (
    REPO,
    add_common,
    add_plan_check,
    add_pruner,
    candidates_text,
    check_options,
    check_out_path,
    recon_key,
)
from golden.config import HwConfig
from golden.files import copy_atomic

# Every option that changes what the export contains (the cache key).
_KEYED = (
    "nsamples",
    "seqlen",
    "eval_start",
    "eval_windows",
    "calib_set",
    "dtype",
    "hw_config",
    "target",
    "method",
    "pattern",
    "owl_lamda",
    "alpha",
    "beta",
    "hyper_m",
    "lamda",
    "m_rule",
    "locality",
    "anchor",
    "weighting",
    "dense_ends",
    "probe_windows",
    "probe_seqlen",
    "operating_point",
    "metric",
    "mask",
    "sublayer",
    "all_sublayers",
    "max_cout",
    "tokens",
    "batch",
)
# Issue 18 options: keyed only when not the default (earlier exports keep their keys).
_KEYED_NEW = {
    "granularity": "block",
    "sublayer_cost": "measured",
    "permute": "none",
    "cost_recon": "none",
    "plan_check": "none",
}


def export_options(a: argparse.Namespace) -> dict:
    opts = {k: getattr(a, k) for k in _KEYED}
    opts |= {k: getattr(a, k) for k, v in _KEYED_NEW.items() if getattr(a, k) != v}
    opts["operating_point"] = candidates_text(a.operating_point) if a.operating_point else None
    opts["candidates"] = candidates_text(tuple(a.candidates)) if a.candidates else None
    return opts | recon_key(a)  # empty with --reconstruct none


def check_export(a: argparse.Namespace) -> HwConfig:
    check_out_path("--out-dir", a.out_dir, folder=True)
    return check_options(a)


def cmd_export(a: argparse.Namespace) -> int:
    from flow.data import texts_sha256
    from flow.evaluate import perplexity
    from flow.export import build_stimulus, cache_key, cached, code_version
    from flow.methods import cost_table, prune_selection, run_stats, select_method
    from flow.models import default_model_path, model_identity
    from flow.pipeline import ExportCapture
    from flow.session import base_log, print_selection, setup, usage, write_log
    from golden.stimulus import save_stimulus

    t0 = time.perf_counter()
    check_options(a)  # everything that needs no model, before hashing or loading
    model_path = Path(a.model) if a.model else default_model_path()
    if not model_path.exists():
        raise FileNotFoundError(f"model path does not exist: {model_path}")
    key = cache_key(
        model_identity(model_path)["sha256"], texts_sha256(a.text, a.calib_text), export_options(a)
    )
    out_dir = Path(a.out_dir)
    target = out_dir / f"{model_path.stem}-{key[:12]}.npz"
    latest = out_dir / "stimulus.npz"
    if not a.force:
        ok, why = cached(target)
        if ok:
            copy_atomic(target, latest)
            print(f"cache hit: reusing {target} (key {key[:12]}); copied to {latest}")
            return 0
        if why:
            print(f"cached export unusable ({why}): rebuilding {target}")
    stages: dict[str, float] = {"hash": time.perf_counter() - t0}
    ctx = setup(a)  # --eval-windows > 0: the pruned model's perplexity goes into `source`
    stages["load"] = time.perf_counter() - t0 - sum(stages.values())
    stats = None if a.method == "measured" else run_stats(ctx, a)
    stages["statistics"] = time.perf_counter() - t0 - sum(stages.values())
    sel = select_method(a.method, ctx, a, stats, a.metric, a.mask)
    if stats is None:  # measured: the statistics its cost pass saw (a cache hit by now)
        stats = cost_table(ctx, a, a.metric, a.mask).stats
    print_selection(sel)
    stages["select"] = time.perf_counter() - t0 - sum(stages.values())
    capture = ExportCapture(a.sublayer, a.all_sublayers, a.max_cout, a.tokens)
    sel, result, check = prune_selection(ctx, a, sel, stats, capture)
    stages["prune"] = time.perf_counter() - t0 - sum(stages.values())
    ppl = perplexity(ctx.lm, ctx.windows.eval, a.batch) if ctx.windows.eval.shape[0] else None
    if ppl is not None:
        print(f"perplexity of the exported model: {ppl:.2f}", flush=True)
        stages["perplexity"] = time.perf_counter() - t0 - sum(stages.values())
    source = {
        "tool": "flow",
        "method": sel.method,
        "model_identity": ctx.lm.identity,
        "windows": ctx.windows.spec.as_dict(),
        "options": export_options(a),
        "cache_key": key,
        "code_version": code_version(),
        "patterns": [f"{n}:{m}" for n, m in sel.patterns],
        "granularity": sel.granularity,
        "permute": a.permute,
        "plan_check": None if check is None else check.as_dict(),
        "achieved_sparsity": sel.achieved,
        "zero_fraction": result.zero_fraction,
        "perplexity": ppl,  # None unless --eval-windows > 0 (windows["eval_range"])
        "note": f"{f'first {a.max_cout}' if a.max_cout else 'all'} output channels per "
        "exported sublayer; "
        f"{a.tokens} activation tokens from calibration window 0",
    }
    stim = build_stimulus(ctx.lm.name, capture, stats, sel, source)
    save_stimulus(target, stim)
    copy_atomic(target, latest)
    size = target.stat().st_size
    seconds = time.perf_counter() - t0
    stages["export"] = seconds - sum(stages.values())
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    print("stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    print(
        f"wrote {target} ({len(stim.layers)} layers, {size / 1e6:.2f} MB) in {seconds:.1f} s; "
        f"copied to {latest}"
    )
    log = base_log(ctx, a) | {
        "stats": [asdict(s) for s in stats],
        "selection": sel.as_dict(),
        "zero_fraction": result.zero_fraction,
        "reconstruction": result.reconstruction,
        "stimulus": str(target),
        "bytes": size,
        "seconds": seconds,
        "stages": stages,
        "cpu_seconds": cpu.ru_utime + cpu.ru_stime,
        **usage(),
    }
    write_log(a.log or target.with_suffix(".json"), log)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("export", help="select + prune + write the stimulus file (cached)")
    add_common(s, 0)
    add_method(s, "measured")
    add_pruner(s)
    add_plan_check(s)
    s.add_argument(
        "--sublayer",
        default=None,
        help="sublayer exported per block, e.g. q_proj (default: cycle through them)",
    )
    s.add_argument("--all-sublayers", action="store_true", help="export every sublayer")
    s.add_argument(
        "--max-cout",
        type=int,
        default=64,
        help="output channels kept per sublayer (64; 0 keeps the full matrices)",
    )
    s.add_argument("--tokens", type=int, default=8, help="activation vectors per layer (8)")
    s.add_argument("--out-dir", type=Path, default=REPO / "build/stimulus")
    s.add_argument("--force", action="store_true", help="ignore the cache")
    # Issue 18: the export's defaults are the kept levers, balanced permutation and block
    # reconstruction (measured selection, SparseGPT: 66.15 -> 57.49 perplexity over calibration
    # sets 0-2, 4.5 sigma; docs/FLOW_RESULTS.md); `--permute none --reconstruct none` gives
    # the plain one-shot export.
    s.set_defaults(func=cmd_export, check=check_export, permute="balanced", reconstruct="block")

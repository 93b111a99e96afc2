"""One selection per method name (flow, owl, uniform, measured) on a loaded model: the single
place the commands turn options into a per-block N:M plan."""

from __future__ import annotations

import argparse

import torch

from flow.export import code_version
from flow.measured import (
    CostTable,
    costs_key,
    load_cached_costs,
    measure_costs,
    operating_point,
    save_costs,
    select_measured,
)
from flow.options import candidates_for, flow_params
from flow.pipeline import (
    BlockStats,
    ExportCapture,
    PruneResult,
    Selection,
    collect_stats,
    prune_model,
    select_flow,
    select_owl,
    select_uniform,
)
from flow.plan_check import PlanCheck, check_plan
from flow.prune import PrunePlan
from flow.reconstruct import recon_params
from flow.select import Pattern, parse_candidates
from flow.session import Context


def run_stats(ctx: Context, a: argparse.Namespace, extra_hm: list[float] = ()) -> list[BlockStats]:
    """Dense statistics pass (FLOW's O and D) at --hyper-m and any extra thresholds."""
    hms = sorted({a.hyper_m, *extra_hm})
    ref = [a.hyper_m] if a.locality == "reference" else []
    return collect_stats(ctx.lm, ctx.windows.calib, a.batch, hms, ref)


def operating_pattern(a: argparse.Namespace, cands: tuple[Pattern, ...]) -> Pattern:
    """--operating-point, else the candidate nearest the target (flow.measured)."""
    return tuple(a.operating_point[0]) if a.operating_point else operating_point(cands, a.target)


def cost_table(ctx: Context, a: argparse.Namespace, metric: str, mask: str) -> CostTable:
    """Measured costs under `metric`/`mask`, from the cache when every input is the same."""
    cands = candidates_for(a, "measured", ctx.hw.P)
    op = operating_pattern(a, cands)
    if op not in cands:
        raise ValueError(f"operating point {op[0]}:{op[1]} is not among the candidates")
    material = {
        "model": ctx.lm.identity["sha256"],
        "windows": ctx.windows.spec.calibration(),
        "candidates": [list(c) for c in cands],
        "operating_point": list(op),
        "metric": metric,
        "mask": mask,
        "c_tile": ctx.hw.sel_width,
        "probe": [a.probe_windows, a.probe_seqlen],
        "batch": a.batch,
        "hyper_m": a.hyper_m,
        "device": str(a.device),
        "code": code_version(),
    }
    # Issue 18: only when not the default, so the existing caches keep their keys.
    if a.granularity != "block":
        material |= {"granularity": a.granularity, "sublayer_cost": a.sublayer_cost}
    if a.permute != "none":
        material["permute"] = a.permute
    recon = recon_params(a) if getattr(a, "cost_recon", "none") != "none" else None
    if recon is not None:
        material["cost_recon"] = recon.as_dict()
    path = a.cost_cache / f"costs-{costs_key(material)[:16]}.json"
    table = load_cached_costs(path)
    if table is not None:
        print(f"measured costs: cache hit {path}", flush=True)
        return table
    plan = PrunePlan([], metric, mask, ctx.hw.sel_width, permute=a.permute)
    table = measure_costs(
        ctx.lm,
        ctx.windows.calib,
        a.batch,
        cands,
        op,
        plan,
        a.probe_windows,
        a.probe_seqlen,
        a.hyper_m,
        a.granularity,
        a.sublayer_cost,
        recon,
    )
    save_costs(path, table)
    print(f"measured costs: {table.seconds:.1f} s, cached in {path}", flush=True)
    return table


def select_method(
    method: str,
    ctx: Context,
    a: argparse.Namespace,
    stats: list[BlockStats] | None,
    metric: str = "wanda",
    mask: str = "standard",
) -> Selection:
    """The selection of `method`; `stats` (the dense statistics pass) is needed by flow/owl."""
    P = ctx.hw.P
    if method == "measured":
        table = cost_table(ctx, a, metric, mask)
        cands = candidates_for(a, "measured", P)
        return select_measured(table, cands, a.target, a.weighting, P)
    if stats is None:
        stats = run_stats(ctx, a)
    if method == "flow":
        return select_flow(stats, flow_params(a), P)
    if method == "owl":
        return select_owl(stats, flow_params(a), a.owl_lamda, P)
    if method == "uniform":
        return select_uniform(stats, parse_candidates(a.pattern)[0], P)
    raise ValueError(f"unknown method {method!r}")


def uniform_fallback(
    ctx: Context,
    a: argparse.Namespace,
    method: str,
    stats: list[BlockStats] | None,
    metric: str,
    mask: str,
) -> Selection:
    """What --plan-check uniform falls back to: every block at the operating point of
    `method`'s candidates (for measured, the pattern its costs were measured around)."""
    op = operating_pattern(a, candidates_for(a, method, ctx.hw.P))
    if method == "measured":
        stats = cost_table(ctx, a, metric, mask).stats  # a cache hit by now
    if stats is None:
        stats = run_stats(ctx, a)
    return select_uniform(stats, op, ctx.hw.P)


def prune_selection(
    ctx: Context,
    a: argparse.Namespace,
    sel: Selection,
    stats: list[BlockStats] | None,
    capture: ExportCapture | None = None,
    eval_ids: torch.Tensor | None = None,
) -> tuple[Selection, PruneResult, PlanCheck | None]:
    """Prune the model to `sel` with --metric/--mask/--permute/--reconstruct; with --plan-check
    uniform, to whichever of `sel` and the uniform fallback the check keeps (flow.plan_check;
    `eval_ids`: the evaluation windows whose perplexity it records for both)."""

    def plan_of(s: Selection) -> PrunePlan:
        return s.plan(a.metric, a.mask, ctx.hw.sel_width, a.permute)

    if getattr(a, "plan_check", "none") == "none":
        result = prune_model(
            ctx.lm, ctx.windows.calib, a.batch, plan_of(sel), capture, recon=recon_params(a)
        )
        return sel, result, None
    fallback = uniform_fallback(ctx, a, a.method, stats, a.metric, a.mask)
    return check_plan(
        ctx.lm,
        ctx.windows.calib,
        a.batch,
        sel,
        fallback,
        plan_of,
        recon_params(a),
        a.probe_windows,
        eval_ids,
        capture,
    )

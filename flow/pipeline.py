"""FLOW steps on a loaded model: statistics pass, selection, sequential pruning."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from flow.calibrate import BlockInputs, run_sequential
from flow.models import LoadedModel, block_sublayers, decoder_blocks, sublayer_weights
from flow.prune import PrunePlan, prune_block_mixed, wanda_metric
from flow.reconstruct import ReconParams, reconstruct_block
from flow.select import (
    FlowParams,
    InfeasibleTarget,
    Pattern,
    allowed_matrix,
    flow_cost,
    owl_targets,
    solve_assignment,
    sparsity,
    validate_candidates,
)
from flow.stats import minmax, outlier_locality, outlier_summary


@dataclass
class BlockStats:
    """FLOW statistics of one block for each Hyper_m that was asked for (keys: str(hyper_m))."""

    index: int
    params: int
    outlier_ratio: dict[str, float]
    locality: dict[str, float]
    n_outliers: dict[str, int]
    locality_reference: dict[str, float] = field(default_factory=dict)


@dataclass
class Selection:
    """A per-layer pattern choice and everything that led to it (goes into the JSON log)."""

    method: str
    patterns: list[Pattern]
    layers: list[dict]
    target: float
    achieved: float  # in the selection's own weighting
    achieved_layer_mean: float
    achieved_param_weighted: float
    exact: bool
    status: list[str]
    options: dict
    # "sublayer" (issue 18): `patterns` has one entry per linear sublayer (`items`, block-major)
    # and `sublayer_patterns` the same choice per block, {sublayer: (n, m)}.
    granularity: str = "block"
    items: list[str] = field(default_factory=list)
    sublayer_patterns: list[dict[str, Pattern]] | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def plan(self, metric: str, mask: str, c_tile: int, permute: str = "none") -> PrunePlan:
        """The PrunePlan that prunes the model to this selection."""
        if self.sublayer_patterns is not None:
            return PrunePlan([], metric, mask, c_tile, self.sublayer_patterns, permute)
        return PrunePlan(list(self.patterns), metric, mask, c_tile, None, permute)


def hm_key(hyper_m: float) -> str:
    return f"{float(hyper_m):g}"


@dataclass
class PendingStats:
    """One block's statistics while they are still on its device (see finish_stats)."""

    index: int
    params: int
    summary: dict[str, tuple[torch.Tensor, torch.Tensor]]  # hm key -> (count, locality)
    locality_reference: dict[str, float]


def block_summary(
    index: int,
    weights: dict[str, torch.Tensor],
    sq_mean: dict[str, torch.Tensor],
    hyper_ms: list[float],
    reference_at: list[float] | None = None,
) -> PendingStats:
    """O and D of |W| * sqrt(s) over the whole block (all sublayers flattened in order),
    computed on the block's device; nothing comes to the host (but the reference variant)."""
    metric = torch.cat([wanda_metric(w, sq_mean[name]).ravel() for name, w in weights.items()])
    summary = {hm_key(hm): outlier_summary(metric, hm) for hm in hyper_ms}
    # The authors' O(n^2) variant stays on the host (only `flow analyze` asks for it).
    reference = {
        hm_key(hm): outlier_locality(metric.cpu().numpy(), hm, "reference")
        for hm in reference_at or []
    }
    return PendingStats(index, int(metric.numel()), summary, reference)


def finish_stats(pending: list[PendingStats]) -> list[BlockStats]:
    """BlockStats of every pending block, their scalars brought to the host in one transfer."""
    scalars = [t for p in pending for pair in p.summary.values() for t in pair]
    values = iter(to_host(scalars))
    out: list[BlockStats] = []
    for p in pending:
        stats = BlockStats(p.index, p.params, {}, {}, {}, p.locality_reference)
        for k in p.summary:
            stats.n_outliers[k] = int(next(values))
            stats.outlier_ratio[k] = 100.0 * stats.n_outliers[k] / p.params
            stats.locality[k] = next(values)
        out.append(stats)
    return out


def block_stats(
    index: int,
    sublayers: dict[str, torch.nn.Linear],
    sq_mean: dict[str, torch.Tensor],
    hyper_ms: list[float],
    reference_at: list[float] | None = None,
    weights: dict[str, torch.Tensor] | None = None,
) -> BlockStats:
    """One block's BlockStats at once (`weights`: stored weights, default the sublayers')."""
    stored = weights or {name: lin.weight for name, lin in sublayers.items()}
    return finish_stats([block_summary(index, stored, sq_mean, hyper_ms, reference_at)])[0]


def to_host(values: list[torch.Tensor | int]) -> list[float]:
    """Scalars left on the device(s) during a pass, brought to the host in one transfer
    (float64: exact for counts below 2**53)."""
    if not values:
        return []
    tensors = [torch.as_tensor(v) for v in values]
    device = tensors[0].device
    return torch.stack([t.to(device, torch.float64) for t in tensors]).tolist()


def collect_stats(
    lm: LoadedModel,
    calib: torch.Tensor,
    batch: int,
    hyper_ms: list[float],
    reference_at: list[float] | None = None,
) -> list[BlockStats]:
    """Dense statistics pass: block-by-block, O and D of |W| * sqrt(s) over each whole block,
    computed on each block's device; the numbers come to the host once, after the pass."""
    pending: list[PendingStats] = []

    def visit(inp: BlockInputs) -> bool:
        weights = {name: inp.weight(name) for name in inp.sublayers}
        pending.append(block_summary(inp.index, weights, inp.sq_mean, hyper_ms, reference_at))
        return False

    run_sequential(lm, calib, batch, visit, desc="statistics")
    return finish_stats(pending)


def selection_summary(
    method: str,
    patterns: list[Pattern],
    stats: list[BlockStats],
    target: float,
    weighting: str,
    layers: list[dict],
    status: list[str],
    options: dict,
) -> Selection:
    sp = np.array([sparsity(p) for p in patterns])
    params = np.array([s.params for s in stats], dtype=np.float64)
    layer_mean = float(sp.mean())
    param_weighted = float((sp * params).sum() / params.sum())
    achieved = param_weighted if weighting == "params" else layer_mean
    return Selection(
        method,
        [tuple(p) for p in patterns],
        layers,
        target,
        achieved,
        layer_mean,
        param_weighted,
        abs(achieved - target) <= 1e-7,
        status,
        options,
    )


def weights_for(stats: list[BlockStats], weighting: str) -> np.ndarray:
    if weighting == "layer":
        return np.ones(len(stats))
    if weighting == "params":
        return np.array([s.params for s in stats], dtype=np.float64)
    raise ValueError(f"unknown weighting {weighting!r}: use 'layer' or 'params'")


def select_flow(stats: list[BlockStats], params: FlowParams, P: int) -> Selection:
    """FLOW: normalised O and D -> N and M targets -> MILP at the target mean sparsity."""
    validate_candidates(params.candidates, P)
    k = hm_key(params.hyper_m)
    if k not in stats[0].outlier_ratio:
        raise ValueError(f"statistics were not collected for Hyper_m={params.hyper_m}")
    o = np.array([s.outlier_ratio[k] for s in stats])
    if params.locality == "exact":
        d = np.array([s.locality[k] for s in stats])
    elif params.locality == "reference":
        if k not in stats[0].locality_reference:
            raise ValueError(f"reference locality not collected for Hyper_m={params.hyper_m}")
        d = np.array([s.locality_reference[k] for s in stats])
    else:
        raise ValueError(f"unknown locality {params.locality!r}: use 'exact' or 'reference'")
    o_norm, d_norm = minmax(o), minmax(d)
    cost, n_target, m_target = flow_cost(o_norm, d_norm, params)
    allowed = allowed_matrix(len(stats), params, params.target)
    sp = np.array([sparsity(p) for p in params.candidates])
    weights = weights_for(stats, params.weighting)
    result = solve_assignment(cost, sp, params.target, weights, allowed)
    patterns = [params.candidates[c] for c in result.choice]
    layers = [
        {
            "layer": i,
            "params": stats[i].params,
            "outlier_ratio_pct": float(o[i]),
            "locality": float(d[i]),
            "o_norm": float(o_norm[i]),
            "d_norm": float(d_norm[i]),
            "n_target": float(n_target[i]),
            "m_target": float(m_target[i]),
            "n": patterns[i][0],
            "m": patterns[i][1],
            "sparsity": sparsity(patterns[i]),
            "cost": float(cost[i, result.choice[i]]),
        }
        for i in range(len(stats))
    ]
    options = asdict(params)
    return selection_summary(
        "flow", patterns, stats, params.target, params.weighting, layers, result.status, options
    )


def select_owl(stats: list[BlockStats], params: FlowParams, owl_lamda: float, P: int) -> Selection:
    """OWL-style: OWL's per-layer sparsities (outlier ratio at Hyper_m, +- owl_lamda) mapped to
    the nearest candidates under the same mean-sparsity constraint. Among candidates of equal
    sparsity the larger M wins (a tiny tie-break: OWL has no notion of M)."""
    validate_candidates(params.candidates, P)
    k = hm_key(params.hyper_m)
    o = np.array([s.outlier_ratio[k] for s in stats])
    owl = owl_targets(o, params.target, owl_lamda)
    cands = params.candidates
    sp = np.array([sparsity(p) for p in cands])
    max_m = max(m for _, m in cands)
    tie = 1e-3 * np.array([(max_m - m) / max_m for _, m in cands])
    cost = np.abs(sp[None, :] - owl[:, None]) + tie[None, :]
    allowed = allowed_matrix(len(stats), params, params.target)
    weights = weights_for(stats, params.weighting)
    result = solve_assignment(cost, sp, params.target, weights, allowed)
    patterns = [cands[c] for c in result.choice]
    layers = [
        {
            "layer": i,
            "outlier_ratio_pct": float(o[i]),
            "owl_sparsity": float(owl[i]),
            "n": patterns[i][0],
            "m": patterns[i][1],
            "sparsity": sparsity(patterns[i]),
        }
        for i in range(len(stats))
    ]
    options = {**asdict(params), "owl_lamda": owl_lamda}
    return selection_summary(
        "owl", patterns, stats, params.target, params.weighting, layers, result.status, options
    )


def select_uniform(stats: list[BlockStats], pattern: Pattern, P: int) -> Selection:
    validate_candidates((pattern,), P)
    patterns = [pattern] * len(stats)
    layers = [{"layer": i, "n": pattern[0], "m": pattern[1]} for i in range(len(stats))]
    target = sparsity(pattern)
    return selection_summary(
        f"uniform {pattern[0]}:{pattern[1]}",
        patterns,
        stats,
        target,
        "layer",
        layers,
        [],
        {"pattern": list(pattern)},
    )


def check_target(target: float) -> None:
    if not 0.0 <= target < 1.0:
        raise InfeasibleTarget(f"target sparsity {target} must be in [0, 1)")


@dataclass
class ExportCapture:
    """Which sublayer of each block to keep for the stimulus, and how much of it."""

    sublayer: str | None = None  # None: cycle through the block's sublayers
    all_sublayers: bool = False
    max_cout: int = 64  # 0: every output channel (the full matrix)
    tokens: int = 8
    kept: list[dict] = field(default_factory=list)

    def names(self, index: int, available: list[str]) -> list[str]:
        if self.all_sublayers:
            return available
        if self.sublayer is None:
            return [available[index % len(available)]]
        if self.sublayer not in available:
            raise ValueError(f"sublayer {self.sublayer!r} not in this model: {available}")
        return [self.sublayer]


@dataclass
class PruneResult:
    plan: PrunePlan
    layer_zero_fraction: list[float]
    zero_fraction: float  # over all pruned sublayer weights
    sublayer_masks: int
    # --reconstruct block (flow.reconstruct): parameters, per-block log entries, total seconds.
    reconstruction: dict | None = None


def prune_model(
    lm: LoadedModel,
    calib: torch.Tensor | None,
    batch: int,
    plan: PrunePlan,
    capture: ExportCapture | None = None,
    on_mask: Callable[[np.ndarray, int, int], None] | None = None,
    recon: ReconParams | None = None,
) -> PruneResult:
    """Prune every block to its pattern. Wanda and SparseGPT run sequentially (statistics
    recomputed on the already-pruned predecessors); magnitude needs no data unless activations
    are exported. `on_mask(mask, n, m)` sees every sublayer's keep-mask (e.g. a latency tally).
    `recon` (active): each pruned block's kept weights are then fitted to the dense block's
    outputs (flow.reconstruct), before its outputs feed the next block and before the export
    capture reads its weights."""
    blocks = decoder_blocks(lm.model, lm.family)
    if plan.blocks != len(blocks):
        raise ValueError(f"plan has {plan.blocks} patterns for {len(blocks)} blocks")
    kept_counts: list[torch.Tensor | int] = []  # per block; on its device until the end
    totals: list[int] = []
    n_masks = 0
    reconstructing = recon is not None and recon.active
    recon_log: list[dict] = []

    def visit(inp: BlockInputs) -> bool:
        nonlocal n_masks
        pats = plan.block_patterns(inp.index, list(inp.sublayers))
        total = 0
        kept_total: torch.Tensor | int = 0
        wanted = capture.names(inp.index, list(inp.sublayers)) if capture else []
        weights = {name: inp.weight(name) for name in inp.sublayers}
        perms: dict[str, torch.Tensor] = {}
        masks = prune_block_mixed(
            inp.sublayers, pats, plan, inp.sq_mean, inp.hessian, weights, perms
        )
        if reconstructing and any(n != m for n, m in pats.values()):
            recon_log.append(reconstruct_block(inp, masks, recon))
        for name in inp.sublayers:
            n, m = pats[name]
            weight = weights[name]
            mask = masks[name]
            perm = perms.get(name)
            n_masks += 1
            if on_mask is not None:  # a host copy per sublayer, only for the latency tally
                # N:M in the permuted order the core sees (the host streams x[perm]).
                on_mask((mask if perm is None else mask[:, perm]).cpu().numpy(), n, m)
            total += mask.numel()
            kept_total = kept_total + mask.sum()
            if name in wanted:
                rows = slice(0, capture.max_cout or None)
                capture.kept.append(
                    {
                        "block": inp.index,
                        "sublayer": name,
                        "n": n,
                        "m": m,
                        "weight": weight[rows].detach().float().cpu().numpy(),
                        "mask": mask[rows].cpu().numpy(),
                        "act": inp.sample[name][: capture.tokens].cpu().numpy(),
                        "perm": None if perm is None else perm.cpu().numpy(),
                    }
                )
        kept_counts.append(kept_total)
        totals.append(total)
        return any(n != m for n, m in pats.values())

    if plan.needs_data or capture is not None or reconstructing:
        if calib is None:
            raise ValueError(
                f"calibration windows are needed for {plan.metric} pruning, reconstruction "
                "or export"
            )
        run_sequential(
            lm,
            calib,
            batch,
            visit,
            desc=f"prune {plan.metric}/{plan.mask_mode}",
            hessian=plan.metric == "sparsegpt",
        )
    else:
        for index, block in enumerate(tqdm(blocks, desc="prune magnitude", unit="block")):
            subs = block_sublayers(block, lm.family)
            stored = sublayer_weights(block, lm.family)
            visit(BlockInputs(index, block, subs, {}, {}, weights=stored))
    zeros = [1.0 - k / t for k, t in zip(to_host(kept_counts), totals, strict=True)]
    params = [
        sum(lin.weight.numel() for lin in block_sublayers(b, lm.family).values()) for b in blocks
    ]
    overall = float(np.dot(zeros, params) / np.sum(params))
    recon_info = None
    if reconstructing:
        recon_info = recon.as_dict() | {
            "seconds": sum(r["seconds"] for r in recon_log),
            "blocks": recon_log,
        }
    return PruneResult(plan, zeros, overall, n_masks, recon_info)


def snapshot_weights(lm: LoadedModel) -> list[dict[str, torch.Tensor]]:
    """Copies of every prunable weight, so several methods can run on one loaded model."""
    return [
        {name: w.detach().clone() for name, w in sublayer_weights(b, lm.family).items()}
        for b in decoder_blocks(lm.model, lm.family)
    ]


@torch.no_grad()
def restore_weights(lm: LoadedModel, snapshot: list[dict[str, torch.Tensor]]) -> None:
    for block, saved in zip(decoder_blocks(lm.model, lm.family), snapshot, strict=True):
        for name, weight in sublayer_weights(block, lm.family).items():
            weight.copy_(saved[name])

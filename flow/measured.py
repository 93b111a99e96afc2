"""Measured-cost N:M selection: the damage of each (block, candidate) choice, measured.

At an operating point (every block pruned to one pattern, with the pruner that will be used),
each block in turn is re-pruned alone to each candidate, from its dense weights and with the
calibration statistics it saw in the sequential pass; the cost is the change in next-token loss
on probe windows (a subset of the calibration windows), through the rest of the (operating-point)
model and its head. The same MILP as FLOW then minimises the summed cost at the target mean
sparsity. Costs are measured under the pruner and mask kind that will prune the model: a
selection measured under Wanda does not carry over to SparseGPT (docs/FLOW_RESULTS.md).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from flow.calibrate import BlockInputs, Chunk, capture_inputs, forward_block, forward_with_stats
from flow.choices import GRANULARITIES, SUBLAYER_COSTS
from flow.models import LoadedModel, block_sublayers, decoder_blocks
from flow.pipeline import BlockStats, Selection, block_stats, selection_summary, weights_for
from flow.prune import PrunePlan, prune_block, sparsegpt_block_patterns
from flow.reconstruct import ReconParams, reconstruct_block
from flow.select import Pattern, solve_assignment, sparsity, validate_candidates
from golden.files import write_atomic


@dataclass
class CostTable:
    """Measured cost (probe-loss change) of every (block, candidate), and how it was measured."""

    candidates: list[Pattern]
    costs: list[list[float]]  # blocks x candidates
    base_loss: float  # probe loss of the operating-point model
    operating_point: Pattern
    metric: str
    mask_mode: str
    c_tile: int
    probe_windows: int
    probe_seqlen: int
    seconds: float
    stats: list[BlockStats]  # O and D of the dense weights with the operating-point inputs
    hyper_m: float  # the threshold `stats` were taken at
    # Issue 18. granularity "sublayer": `costs` has one row per linear sublayer (`items`,
    # "<block>.<sublayer>", block-major), measured (each sublayer pruned alone, the rest of the
    # model at the operating point) or split from the block costs (sublayer_cost "split").
    # `block_costs` (blocks x candidates) and `errors` (items x candidates: relative layer-wise
    # reconstruction error ||(W - W_c) X||^2 / ||W X||^2 on the calibration activations) are
    # recorded with every sublayer table, so split can be checked against measured.
    granularity: str = "block"
    sublayer_cost: str = "measured"
    permute: str = "none"
    items: list[str] = field(default_factory=list)
    item_block: list[int] = field(default_factory=list)
    item_params: list[int] = field(default_factory=list)
    block_costs: list[list[float]] = field(default_factory=list)
    errors: list[list[float]] = field(default_factory=list)
    # --cost-recon block: the reconstruction every cost was measured after (ReconParams).
    reconstruct: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CostTable:
        d = dict(d)
        d["candidates"] = [tuple(c) for c in d["candidates"]]
        d["operating_point"] = tuple(d["operating_point"])
        d["stats"] = [BlockStats(**s) for s in d["stats"]]
        return cls(**d)

    @property
    def matrix(self) -> np.ndarray:
        return np.array(self.costs, dtype=np.float64)


def split_costs(
    block_costs: np.ndarray, errors: np.ndarray, item_block: np.ndarray, op_col: int
) -> np.ndarray:
    """Sublayer costs (items x candidates) modelled from measured block costs: the cost of
    block b at candidate c is shared among its sublayers in proportion to how much each one's
    relative reconstruction error moves from the operating point to c (dr = r_c - r_op); when
    the dr of a block disagree in sign, by |dr|; equal shares when nothing moves. Summed over a
    block's sublayers at one candidate the model gives back the measured block cost."""
    d = errors - errors[:, [op_col]]
    out = np.zeros_like(errors, dtype=np.float64)
    for b in range(block_costs.shape[0]):
        rows = np.flatnonzero(item_block == b)
        for c in range(block_costs.shape[1]):
            dr = d[rows, c]
            tot = dr.sum()
            if abs(tot) > 1e-12 and np.all(dr * tot >= 0):
                share = dr / tot
            elif np.abs(dr).sum() > 1e-12:
                share = np.abs(dr) / np.abs(dr).sum()
            else:
                share = np.full(rows.size, 1.0 / rows.size)
            out[rows, c] = block_costs[b, c] * share
    return out


def relative_error(dense: torch.Tensor, pruned: torch.Tensor, hessian: torch.Tensor) -> float:
    """||(W - W_c) X||^2 / ||W X||^2 from the calibration Gram matrix H ~ X^T X."""
    h = hessian.float()
    w = dense.to(h.device, torch.float32)
    dw = w - pruned.to(h.device, torch.float32)
    num = float(((dw @ h) * dw).sum())
    den = float(((w @ h) * w).sum())
    return num / den if den > 0 else 0.0


def operating_point(candidates: tuple[Pattern, ...], target: float) -> Pattern:
    """The uniform candidate nearest the target sparsity (ties: the sparser, then larger M:
    the least constrained mask of that sparsity)."""
    return min(candidates, key=lambda p: (abs(sparsity(p) - target), -sparsity(p), -p[1]))


def _final_logits(lm: LoadedModel, hidden: torch.Tensor) -> torch.Tensor:
    """Final norm (+ OPT's projection) and LM head on the last block's output."""
    if lm.family == "llama":
        hidden = lm.model.model.norm(hidden)
    else:
        dec = lm.model.model.decoder
        if getattr(dec, "final_layer_norm", None) is not None:
            hidden = dec.final_layer_norm(hidden)
        if getattr(dec, "project_out", None) is not None:
            hidden = dec.project_out(hidden)
    return lm.model.lm_head(hidden)


@torch.no_grad()
def probe_loss(lm: LoadedModel, chunks: list[Chunk], ids: list[torch.Tensor]) -> float:
    """Mean next-token NLL of the probe windows from the last block's outputs."""
    nll, count = 0.0, 0
    for chunk, target in zip(chunks, ids, strict=True):
        logits = _final_logits(lm, chunk.hidden).float()
        target = target.to(logits.device)
        nll += F.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]),
            target[:, 1:].reshape(-1),
            reduction="sum",
        ).item()
        count += target[:, 1:].numel()
    return nll / count


def _run_from(blocks: nn.ModuleList, start: int, chunks: list[Chunk]) -> list[Chunk]:
    for block in blocks[start:]:
        outs = forward_block(block, chunks)
        chunks = [Chunk(o, c.kwargs) for o, c in zip(outs, chunks, strict=True)]
    return chunks


@torch.no_grad()
def _set_block(
    subs: dict[str, nn.Linear],
    dense: dict[str, torch.Tensor],
    pattern: Pattern,
    plan: PrunePlan,
    sq_mean: dict[str, torch.Tensor],
    hessian: dict[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """Block weights := dense weights pruned to `pattern` with this block's statistics; the
    keep-masks by sublayer (empty for a dense pattern)."""
    for name, lin in subs.items():
        lin.weight.copy_(dense[name])
    if pattern[0] != pattern[1]:
        return prune_block(subs, pattern[0], pattern[1], plan, sq_mean, hessian)
    return {}


# One candidate of one block: its weights and keep-masks by sublayer (masks empty when dense).
Pruned = tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]


@torch.no_grad()
def _candidate_weights(
    subs: dict[str, nn.Linear], saved: dict, candidates: list[Pattern], plan: PrunePlan
) -> dict[Pattern, Pruned]:
    """One block's weights (and keep-masks) pruned to each candidate from its dense weights and
    statistics. SparseGPT prunes every candidate in one sweep per shared Hessian (the Hessian
    inverse and the column steps are shared); the other pruners prune each candidate in place
    in turn."""
    dense = saved["dense"]
    out: dict[Pattern, Pruned] = {c: (dense, {}) for c in candidates if c[0] == c[1]}
    sparse = [c for c in candidates if c[0] != c[1]]
    if plan.metric == "sparsegpt":
        by_pattern = sparsegpt_block_patterns(dense, saved["hessian"], sparse, plan)
        out |= {
            c: ({k: w for k, (w, _, _) in per.items()}, {k: m for k, (_, m, _) in per.items()})
            for c, per in by_pattern.items()
        }
        return out
    for cand in sparse:
        masks = _set_block(subs, dense, cand, plan, saved["sq_mean"], saved["hessian"])
        out[cand] = ({name: lin.weight.detach().clone() for name, lin in subs.items()}, masks)
    return out


def _reconstructed(
    index: int,
    block: nn.Module,
    subs: dict[str, nn.Linear],
    saved: dict,
    masks: dict[str, torch.Tensor],
    recon: ReconParams | None,
) -> None:
    """With --cost-recon block: fit the block's current (pruned) weights to the dense block's
    outputs on its operating-point calibration inputs, as the final prune's reconstruction
    will (flow.reconstruct). Nothing for a dense candidate or without reconstruction."""
    if recon is None or not masks:
        return
    inp = BlockInputs(index, block, subs, {}, {}, inputs=saved["inputs"], outputs=saved["outputs"])
    reconstruct_block(inp, masks, recon)


@torch.no_grad()
def measure_costs(
    lm: LoadedModel,
    calib: torch.Tensor,
    batch: int,
    candidates: tuple[Pattern, ...],
    op: Pattern,
    plan: PrunePlan,
    probe_windows: int = 2,
    probe_seqlen: int = 512,
    hyper_m: float = 5.0,
    granularity: str = "block",
    sublayer_cost: str = "measured",
    recon: ReconParams | None = None,
) -> CostTable:
    """Prune to the operating point block by block (as the final prune will), remember each
    block's statistics and probe inputs, then re-prune each block alone to every candidate.

    granularity "sublayer" (issue 18): also, for sublayer_cost "measured", each linear sublayer
    alone (the rest of its block and of the model at the operating point): 7x the probes of a
    LLaMA block table; and, for either cost, every sublayer's relative reconstruction error at
    every candidate (needs the calibration Gram matrix, also under Wanda).

    `recon` (--cost-recon block, issue 18): the operating point is reconstructed block by block
    in the sequential pass, as the final prune reconstructs, and every probed candidate is
    reconstructed (from its pruner weights, against the dense block's outputs on the same
    operating-point inputs) before its probe, so a cost is the damage reconstruction leaves.
    Keeps every block's calibration inputs and dense outputs for the second pass (2 x windows x
    seqlen x hidden per block); one reconstruction per block and sparse candidate. The probe
    windows are among the calibration windows the reconstruction fits (as they are among those
    the pruner's statistics come from).

    Leaves the model's weights as it found them. `plan.patterns` is ignored (the operating point
    and the candidates set the patterns); plan.permute applies to every pruning.
    """
    if recon is not None and not recon.active:
        recon = None
    if recon is not None and granularity != "block":
        raise ValueError("costs after reconstruction are measured per block only")
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity {granularity!r}: use one of {GRANULARITIES}")
    if sublayer_cost not in SUBLAYER_COSTS:
        raise ValueError(f"sublayer_cost {sublayer_cost!r}: use one of {SUBLAYER_COSTS}")
    per_sublayer = granularity == "sublayer"
    t0 = time.perf_counter()
    if not plan.needs_data:
        raise ValueError("measured costs need a data-driven pruner (wanda or sparsegpt)")
    if not 1 <= probe_windows <= calib.shape[0]:
        raise ValueError(f"probe_windows={probe_windows} must be in 1..{calib.shape[0]}")
    if not 2 <= probe_seqlen <= calib.shape[1]:
        raise ValueError(f"probe_seqlen={probe_seqlen} must be in 2..{calib.shape[1]}")
    blocks = decoder_blocks(lm.model, lm.family)
    probe_ids = calib[:probe_windows, :probe_seqlen]
    ids_chunks = [probe_ids[lo : lo + batch] for lo in range(0, probe_windows, batch)]
    chunks = capture_inputs(lm, calib, batch)
    probe = capture_inputs(lm, probe_ids, batch)
    hessian = plan.metric == "sparsegpt" or per_sublayer
    saved: list[dict] = []  # per block: dense weights, statistics, probe inputs
    stats: list[BlockStats] = []
    for index, block in enumerate(tqdm(blocks, desc=f"operating point {op[0]}:{op[1]}")):
        subs = block_sublayers(block, lm.family)
        outs, sq_mean, _sample, hess = forward_with_stats(block, subs, chunks, hessian)
        dense = {name: lin.weight.detach().clone() for name, lin in subs.items()}
        stats.append(block_stats(index, subs, sq_mean, [hyper_m]))
        saved.append({"dense": dense, "sq_mean": sq_mean, "hessian": hess, "probe": probe})
        if recon is not None:  # the dense block's outputs on its operating-point inputs
            saved[-1] |= {"inputs": chunks, "outputs": outs}
        op_masks = _set_block(subs, dense, op, plan, sq_mean, hess)
        _reconstructed(index, block, subs, saved[-1], op_masks, recon)
        if op[0] != op[1]:
            outs = forward_block(block, chunks)
        chunks = [Chunk(o, c.kwargs) for o, c in zip(outs, chunks, strict=True)]
        probe = _run_from(blocks[index : index + 1], 0, probe)
    del chunks
    base = probe_loss(lm, probe, ids_chunks)
    costs = np.zeros((len(blocks), len(candidates)))
    items: list[str] = []
    item_block: list[int] = []
    item_params: list[int] = []
    errors: list[list[float]] = []
    sub_costs: list[list[float]] = []
    n_sub = len(block_sublayers(blocks[0], lm.family))
    per_block = 1 + (n_sub if per_sublayer and sublayer_cost == "measured" else 0)
    todo = per_block * len(blocks) * sum(c != op for c in candidates)
    bar = tqdm(total=todo, desc="measured costs", unit="probe")
    for index, block in enumerate(blocks):
        subs = block_sublayers(block, lm.family)
        s = saved[index]
        op_weights = {name: lin.weight.detach().clone() for name, lin in subs.items()}
        probed = [c for c in candidates if c != op]
        pruned = _candidate_weights(subs, s, probed, plan)
        pruned[op] = (op_weights, {})
        for j, cand in enumerate(candidates):
            if cand == op:
                continue
            for name, lin in subs.items():
                lin.weight.copy_(pruned[cand][0][name])
            _reconstructed(index, block, subs, s, pruned[cand][1], recon)
            out = _run_from(blocks, index, s["probe"])
            costs[index, j] = probe_loss(lm, out, ids_chunks) - base
            bar.update()
        for name, lin in subs.items():
            lin.weight.copy_(op_weights[name])
        for done in ("inputs", "outputs"):  # this block's second pass is over: free them
            s.pop(done, None)
        if per_sublayer:
            for name, lin in subs.items():
                items.append(f"{index}.{name}")
                item_block.append(index)
                item_params.append(lin.weight.numel())
                h = s["hessian"][name]
                errors.append(
                    [relative_error(s["dense"][name], pruned[c][0][name], h) for c in candidates]
                )
                row = [0.0] * len(candidates)
                if sublayer_cost == "measured":
                    for j, cand in enumerate(candidates):
                        if cand == op:
                            continue
                        lin.weight.copy_(pruned[cand][0][name])
                        out = _run_from(blocks, index, s["probe"])
                        row[j] = probe_loss(lm, out, ids_chunks) - base
                        bar.update()
                    lin.weight.copy_(op_weights[name])
                sub_costs.append(row)
        bar.set_postfix(block=index)
    bar.close()
    block_costs: list[list[float]] = []
    if per_sublayer:
        block_costs = costs.tolist()
        if sublayer_cost == "split":
            costs = split_costs(
                costs, np.array(errors), np.array(item_block), list(candidates).index(op)
            )
        else:
            costs = np.array(sub_costs)
    with torch.no_grad():
        for block, s in zip(blocks, saved, strict=True):
            for name, lin in block_sublayers(block, lm.family).items():
                lin.weight.copy_(s["dense"][name])
    return CostTable(
        candidates=list(candidates),
        costs=costs.tolist(),
        base_loss=base,
        operating_point=op,
        metric=plan.metric,
        mask_mode=plan.mask_mode,
        c_tile=plan.c_tile,
        probe_windows=probe_windows,
        probe_seqlen=probe_seqlen,
        seconds=time.perf_counter() - t0,
        stats=stats,
        hyper_m=hyper_m,
        granularity=granularity,
        sublayer_cost=sublayer_cost,
        permute=plan.permute,
        items=items,
        item_block=item_block,
        item_params=item_params,
        block_costs=block_costs,
        errors=errors,
        reconstruct=None if recon is None else recon.as_dict(),
    )


def costs_key(material: dict) -> str:
    """Content hash of everything a cost table depends on (model, text, windows, options,
    code version): the cache file name."""
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def load_cached_costs(path: Path) -> CostTable | None:
    """A cost table from `path`, or None when it is missing or unreadable (then recomputed)."""
    try:
        return CostTable.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_costs(path: Path, table: CostTable) -> None:
    # Whole or not at all (golden.files): an interrupted run never leaves a half-written cache.
    write_atomic(path, json.dumps(table.as_dict(), indent=1))


def select_measured(
    table: CostTable,
    candidates: tuple[Pattern, ...],
    target: float,
    weighting: str,
    P: int,
) -> Selection:
    """MILP over measured costs at the target mean sparsity (candidates: a subset of the
    table's, e.g. to compare candidate sets from one measurement). A sublayer table gives one
    pattern per sublayer (select_measured_sublayers)."""
    if table.granularity == "sublayer":
        return select_measured_sublayers(table, candidates, target, weighting, P)
    validate_candidates(candidates, P)
    missing = [c for c in candidates if c not in table.candidates]
    if missing:
        raise ValueError(f"candidates {missing} were not measured (measured: {table.candidates})")
    cols = [table.candidates.index(c) for c in candidates]
    cost = table.matrix[:, cols]
    sp = np.array([sparsity(p) for p in candidates])
    weights = weights_for(table.stats, weighting)
    result = solve_assignment(cost, sp, target, weights, np.ones(cost.shape, dtype=bool))
    patterns = [candidates[c] for c in result.choice]
    layers = [
        {
            "layer": i,
            "n": patterns[i][0],
            "m": patterns[i][1],
            "sparsity": sparsity(patterns[i]),
            "cost": float(cost[i, result.choice[i]]),
            "costs": {f"{n}:{m}": float(cost[i, j]) for j, (n, m) in enumerate(candidates)},
        }
        for i in range(len(patterns))
    ]
    options = {
        "candidates": [list(c) for c in candidates],
        "weighting": weighting,
        "operating_point": list(table.operating_point),
        "metric": table.metric,
        "mask_mode": table.mask_mode,
        "probe": [table.probe_windows, table.probe_seqlen],
        "base_loss": table.base_loss,
        "hyper_m": table.hyper_m,
        "cost_recon": table.reconstruct,
    }
    return selection_summary(
        f"measured ({table.metric})",
        patterns,
        table.stats,
        target,
        weighting,
        layers,
        result.status,
        options,
    )


def _columns(table: CostTable, candidates: tuple[Pattern, ...], P: int) -> list[int]:
    validate_candidates(candidates, P)
    missing = [c for c in candidates if c not in table.candidates]
    if missing:
        raise ValueError(f"candidates {missing} were not measured (measured: {table.candidates})")
    return [table.candidates.index(c) for c in candidates]


def sublayer_weights(table: CostTable, weighting: str) -> np.ndarray:
    """Weights of the sublayers in the mean sparsity: "params" counts parameters; "layer" gives
    every block the same weight and its sublayers their share of its parameters (on a model of
    equal blocks, e.g. SmolLM2, the two are the same)."""
    params = np.array(table.item_params, dtype=np.float64)
    if weighting == "params":
        return params
    if weighting == "layer":
        blocks = np.array(table.item_block)
        per_block = np.bincount(blocks, weights=params)
        return params / per_block[blocks]
    raise ValueError(f"unknown weighting {weighting!r}: use 'layer' or 'params'")


def split_agreement(table: CostTable) -> dict | None:
    """How well the split model (block cost shared by reconstruction error) ranks the measured
    sublayer costs: Spearman over every (sublayer, candidate) not at the operating point, and
    the mean of the per-candidate Spearman over sublayers. None unless the table measured them."""
    if table.granularity != "sublayer" or table.sublayer_cost != "measured" or not table.errors:
        return None
    from flow.report import spearman

    op = table.candidates.index(table.operating_point)
    model = split_costs(
        np.array(table.block_costs), np.array(table.errors), np.array(table.item_block), op
    )
    measured = table.matrix
    cols = [j for j in range(len(table.candidates)) if j != op]
    per_cand = {
        f"{n}:{m}": spearman(model[:, j].tolist(), measured[:, j].tolist())
        for j, (n, m) in enumerate(table.candidates)
        if j != op
    }
    return {
        "spearman_all": spearman(
            model[:, cols].ravel().tolist(), measured[:, cols].ravel().tolist()
        ),
        "spearman_per_candidate": per_cand,
        "spearman_error_vs_measured_all": spearman(
            np.array(table.errors)[:, cols].ravel().tolist(), measured[:, cols].ravel().tolist()
        ),
    }


def select_measured_sublayers(
    table: CostTable,
    candidates: tuple[Pattern, ...],
    target: float,
    weighting: str,
    P: int,
) -> Selection:
    """One candidate per linear sublayer (issue 18): the same two-stage MILP over every
    sublayer x candidate (210 x 7 binaries on SmolLM2; HiGHS solves it in about a second), the
    mean sparsity counted in parameters (`sublayer_weights`)."""
    cols = _columns(table, candidates, P)
    cost = table.matrix[:, cols]
    sp = np.array([sparsity(p) for p in candidates])
    weights = sublayer_weights(table, weighting)
    result = solve_assignment(cost, sp, target, weights, np.ones(cost.shape, dtype=bool))
    patterns = [candidates[c] for c in result.choice]
    n_blocks = len(table.stats)
    per_block: list[dict[str, Pattern]] = [{} for _ in range(n_blocks)]
    layers = []
    for i, (item, block) in enumerate(zip(table.items, table.item_block, strict=True)):
        name = item.split(".", 1)[1]
        per_block[block][name] = patterns[i]
        layers.append(
            {
                "layer": block,
                "sublayer": name,
                "params": table.item_params[i],
                "n": patterns[i][0],
                "m": patterns[i][1],
                "sparsity": sparsity(patterns[i]),
                "cost": float(cost[i, result.choice[i]]),
                "costs": {f"{n}:{m}": float(cost[i, j]) for j, (n, m) in enumerate(candidates)},
            }
        )
    params = np.array(table.item_params, dtype=np.float64)
    sp_items = np.array([sparsity(p) for p in patterns])
    layer_w = sublayer_weights(table, "layer")
    layer_mean = float((sp_items * layer_w).sum() / layer_w.sum())
    param_weighted = float((sp_items * params).sum() / params.sum())
    achieved = param_weighted if weighting == "params" else layer_mean
    options = {
        "candidates": [list(c) for c in candidates],
        "weighting": weighting,
        "granularity": "sublayer",
        "sublayer_cost": table.sublayer_cost,
        "permute": table.permute,
        "operating_point": list(table.operating_point),
        "metric": table.metric,
        "mask_mode": table.mask_mode,
        "probe": [table.probe_windows, table.probe_seqlen],
        "base_loss": table.base_loss,
        "hyper_m": table.hyper_m,
        "split_vs_measured": split_agreement(table),
    }
    return Selection(
        f"measured ({table.metric}, per sublayer, {table.sublayer_cost} costs)",
        [tuple(p) for p in patterns],
        layers,
        target,
        achieved,
        layer_mean,
        param_weighted,
        abs(achieved - target) <= 1e-7,
        result.status,
        options,
        granularity="sublayer",
        items=list(table.items),
        sublayer_patterns=per_block,
    )

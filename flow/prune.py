"""N:M pruning of one block's sublayers: Wanda, magnitude or SparseGPT (reconstruction), with
standard or pair-shared masks.

Metrics and standard masks are computed in float32 on the block's compute device whatever
the weights' dtype; pair-shared masks go through golden.masks on the host. Masks are bool
tensors on that device."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from flow.choices import MASK_MODES, METRICS, PERMUTE_MODES
from flow.permute import channel_permutation, inverse
from flow.sparsegpt import sparsegpt_prune_patterns
from golden.masks import pair_shared_mask

Pattern = tuple[int, int]


@dataclass(frozen=True)
class PrunePlan:
    """One (N, M) per block (or, with `sublayer_patterns`, per linear sublayer) plus how masks
    are computed."""

    patterns: list[Pattern]
    metric: str = "wanda"
    mask_mode: str = "standard"
    c_tile: int = 16  # column tile C of the hardware (pair-shared only)
    # Per block {sublayer name: (n, m)} (granularity sublayer); None: every sublayer of a block
    # takes the block's entry of `patterns`.
    sublayer_patterns: list[dict[str, Pattern]] | None = None
    permute: str = "none"  # input-channel permutation before N:M grouping (flow.permute)

    @property
    def needs_data(self) -> bool:
        return self.metric != "magnitude"

    @property
    def blocks(self) -> int:
        return len(self.sublayer_patterns if self.sublayer_patterns is not None else self.patterns)

    def block_patterns(self, index: int, names: list[str]) -> dict[str, Pattern]:
        """{sublayer: (n, m)} of block `index`."""
        if self.sublayer_patterns is None:
            return {name: tuple(self.patterns[index]) for name in names}
        pats = self.sublayer_patterns[index]
        missing = [name for name in names if name not in pats]
        if missing:
            raise ValueError(f"block {index}: no pattern for sublayer(s) {missing}")
        return {name: tuple(pats[name]) for name in names}

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}: use one of {METRICS}")
        if self.mask_mode not in MASK_MODES:
            raise ValueError(f"unknown mask mode {self.mask_mode!r}: use one of {MASK_MODES}")
        if self.permute not in PERMUTE_MODES:
            raise ValueError(f"unknown permutation {self.permute!r}: use one of {PERMUTE_MODES}")


def wanda_metric(weight: torch.Tensor, sq_mean: torch.Tensor) -> torch.Tensor:
    """|W| * sqrt(mean x^2) per input feature, broadcast over output rows: float32, on the
    device of `sq_mean` (the block's compute device; an offloaded weight is copied there)."""
    w = weight.detach().to(device=sq_mean.device, dtype=torch.float32)
    return w.abs() * torch.sqrt(sq_mean.float())[None, :]


def nm_mask_torch(metric: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """golden.masks.nm_mask on the metric's device: keep the `n` largest of every row's group
    of `m`, ties to the lower index, K padded to a multiple of `m` (padding sorts last)."""
    if metric.ndim != 2:
        raise ValueError(f"metric must be 2-D (rows, K), got shape {tuple(metric.shape)}")
    if not 1 <= n <= m:
        raise ValueError(f"need 1 <= n <= m, got {n}:{m}")
    rows, k = metric.shape
    if n == m:
        return torch.ones(rows, k, dtype=torch.bool, device=metric.device)
    g = F.pad(metric, (0, -k % m), value=-torch.inf).reshape(rows, -1, m)
    # A stable descending sort keeps equal entries in index order, as golden's argsort does.
    top = torch.sort(g, dim=-1, descending=True, stable=True).indices[..., :n]
    mask = torch.zeros(g.shape, dtype=torch.bool, device=metric.device).scatter_(-1, top, True)
    return mask.reshape(rows, -1)[:, :k]


def layer_mask(metric: torch.Tensor, n: int, m: int, mode: str, c_tile: int) -> torch.Tensor:
    """Bool keep-mask on the metric's device. Standard: nm_mask_torch (tested equal to
    golden.masks.nm_mask); pair-shared: golden.masks itself, on the host."""
    if mode == "standard":
        return nm_mask_torch(metric, n, m)
    if mode == "pair-shared":
        host = pair_shared_mask(metric.detach().cpu().numpy(), n, m, c_tile)
        return torch.from_numpy(host).to(metric.device)
    raise ValueError(f"unknown mask mode {mode!r}")


def permuted_mask(
    metric: torch.Tensor, n: int, m: int, plan: PrunePlan
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Keep-mask in the original channel order and the permutation (None: none); the mask is
    N:M (or pair-shared legal) in `perm` order, i.e. mask[:, perm] is."""
    perm = channel_permutation(metric, n, m, plan.permute)
    if perm is None:
        return layer_mask(metric, n, m, plan.mask_mode, plan.c_tile), None
    mask_p = layer_mask(metric[:, perm], n, m, plan.mask_mode, plan.c_tile)
    return mask_p[:, inverse(perm)], perm


@torch.no_grad()
def prune_sublayer(
    linear: nn.Linear,
    n: int,
    m: int,
    plan: PrunePlan,
    sq_mean: torch.Tensor | None,
    hessian: torch.Tensor | None = None,
    weight: torch.Tensor | None = None,
    perms: dict[str, torch.Tensor] | None = None,
    name: str = "",
) -> torch.Tensor:
    """Zero the pruned weights in place (SparseGPT: and update the kept ones); return the
    keep-mask (bool, on the device where the metric was computed, original channel order).
    `weight` is the stored tensor (models.stored_weight) when the parameter itself is offloaded;
    by default the sublayer's own weight. With plan.permute, the permutation goes to
    `perms[name]`."""
    w = linear.weight if weight is None else weight
    if plan.metric == "sparsegpt":
        if hessian is None:
            raise ValueError("sparsegpt pruning needs the calibration Hessian")
        key = name or "w"
        out = sparsegpt_block_patterns({key: w}, {key: hessian}, [(n, m)], plan)[(n, m)][key]
        new, mask, perm = out
        w.copy_(new.to(device=w.device, dtype=w.dtype))
        if perm is not None and perms is not None:
            perms[name] = perm
        return mask
    if plan.metric == "wanda":
        if sq_mean is None:
            raise ValueError("wanda pruning needs calibration statistics")
        metric = wanda_metric(w, sq_mean)
    else:
        metric = w.detach().float().abs()
    mask, perm = permuted_mask(metric, n, m, plan)
    if perm is not None and perms is not None:
        perms[name] = perm
    if n != m:
        w.mul_(mask.to(device=w.device, dtype=w.dtype))
    return mask


@torch.no_grad()
def prune_block(
    sublayers: dict[str, nn.Linear],
    n: int,
    m: int,
    plan: PrunePlan,
    sq_mean: dict[str, torch.Tensor],
    hessian: dict[str, torch.Tensor],
    weights: dict[str, torch.Tensor] | None = None,
    perms: dict[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Prune every sublayer of one block to n:m; keep-masks by sublayer name. `weights`: the
    stored weights (models.sublayer_weights), by default the sublayers' own."""
    pats = {name: (n, m) for name in sublayers}
    return prune_block_mixed(sublayers, pats, plan, sq_mean, hessian, weights, perms)


@torch.no_grad()
def prune_block_mixed(
    sublayers: dict[str, nn.Linear],
    patterns: dict[str, Pattern],
    plan: PrunePlan,
    sq_mean: dict[str, torch.Tensor],
    hessian: dict[str, torch.Tensor],
    weights: dict[str, torch.Tensor] | None = None,
    perms: dict[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Prune each sublayer of one block to its own pattern; keep-masks (original channel order)
    by sublayer name; with plan.permute, each permuted sublayer's permutation in `perms`.

    SparseGPT goes through sparsegpt_block_patterns, one call per distinct pattern (sublayers
    sharing an input and a pattern stacked).
    """
    stored = weights or {name: lin.weight for name, lin in sublayers.items()}
    masks: dict[str, torch.Tensor] = {}
    if plan.metric == "sparsegpt":
        by_pattern: dict[Pattern, list[str]] = {}
        for name in sublayers:
            by_pattern.setdefault(tuple(patterns[name]), []).append(name)
        for (n, m), names in by_pattern.items():
            if n == m:
                for name in names:  # on the compute device, as the sparse masks
                    masks[name] = torch.ones(
                        stored[name].shape, dtype=torch.bool, device=hessian[name].device
                    )
                continue
            part = {name: stored[name] for name in names}
            pruned = sparsegpt_block_patterns(part, hessian, [(n, m)], plan)[(n, m)]
            for name, (new, mask, perm) in pruned.items():
                stored[name].copy_(new.to(device=stored[name].device, dtype=stored[name].dtype))
                masks[name] = mask
                if perm is not None and perms is not None:
                    perms[name] = perm
        return {name: masks[name] for name in sublayers}
    for name, lin in sublayers.items():
        n, m = patterns[name]
        masks[name] = prune_sublayer(
            lin, n, m, plan, sq_mean.get(name), hessian.get(name), stored[name], perms, name
        )
    return masks


@torch.no_grad()
def sparsegpt_block_patterns(
    weights: dict[str, torch.Tensor],
    hessian: dict[str, torch.Tensor],
    patterns: list[Pattern],
    plan: PrunePlan,
) -> dict[Pattern, dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]]]:
    """SparseGPT of one block's weights to each pattern: {pattern: {name: (float32 weight on
    the Hessian's device, keep-mask, permutation or None)}}; the weights themselves are left as
    they are.

    The sublayers that share an input (one Hessian object: q/k/v, gate/up) are pruned as one
    row-stacked matrix, and every pattern in one column sweep (sparsegpt_prune_patterns):
    rows are independent in OBS, so this is the same result in fewer, larger steps. Pair-shared
    tiles must not straddle two sublayers, so stacking needs every part's row count to be a
    multiple of the column tile.

    With plan.permute, every (sublayer, pattern) gets its own input permutation (flow.permute,
    on the metric |W| sqrt(diag H), Wanda's up to a constant): SparseGPT runs on W[:, perm] and
    H[perm][:, perm], so its N:M groups and its error propagation follow the permuted order, and
    the result is stored back in the original order (mask[:, perm] is N:M). No stacking then.
    """
    groups: dict[int, list[str]] = {}
    for name in weights:
        if name not in hessian:
            raise ValueError(f"sparsegpt pruning needs the calibration Hessian of {name}")
        groups.setdefault(id(hessian[name]), []).append(name)
    out: dict[Pattern, dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]]] = {
        p: {} for p in patterns
    }
    if plan.permute != "none":
        for name, weight in weights.items():
            h = hessian[name]
            w = weight.detach().to(device=h.device, dtype=torch.float32)
            metric = w.abs() * torch.sqrt(torch.diag(h).float().clamp_min(0))[None, :]
            for n, m in patterns:
                perm = channel_permutation(metric, n, m, plan.permute)
                if perm is None:
                    new, mask = sparsegpt_prune_patterns(
                        w, h, [(n, m)], plan.mask_mode, plan.c_tile
                    )[0]
                    out[(n, m)][name] = (new, torch.from_numpy(mask).to(h.device), None)
                    continue
                inv = inverse(perm)
                new, mask = sparsegpt_prune_patterns(
                    w[:, perm], h[perm][:, perm], [(n, m)], plan.mask_mode, plan.c_tile
                )[0]
                keep = torch.from_numpy(mask).to(h.device)
                out[(n, m)][name] = (new[:, inv].contiguous(), keep[:, inv], perm)
        return {p: {k: out[p][k] for k in weights} for p in patterns}
    for names in groups.values():
        rows = [weights[k].shape[0] for k in names]
        stack = len(names) > 1 and (
            plan.mask_mode == "standard" or all(r % plan.c_tile == 0 for r in rows)
        )
        parts = [names] if stack else [[k] for k in names]
        for part in parts:
            h = hessian[part[0]]
            weight = torch.cat([weights[k].detach().to(h.device) for k in part])
            results = sparsegpt_prune_patterns(weight, h, patterns, plan.mask_mode, plan.c_tile)
            for pattern, (new, mask) in zip(patterns, results, strict=True):
                keep = torch.from_numpy(mask).to(h.device)
                lo = 0
                for k in part:
                    r = weights[k].shape[0]
                    out[pattern][k] = (new[lo : lo + r], keep[lo : lo + r], None)
                    lo += r
    return {p: {k: out[p][k] for k in weights} for p in patterns}

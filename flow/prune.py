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

from flow.choices import MASK_MODES, METRICS
from flow.sparsegpt import sparsegpt_prune, sparsegpt_prune_patterns
from golden.masks import pair_shared_mask


@dataclass(frozen=True)
class PrunePlan:
    """One (N, M) per block plus how masks are computed."""

    patterns: list[tuple[int, int]]
    metric: str = "wanda"
    mask_mode: str = "standard"
    c_tile: int = 16  # column tile C of the hardware (pair-shared only)

    @property
    def needs_data(self) -> bool:
        return self.metric != "magnitude"

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}: use one of {METRICS}")
        if self.mask_mode not in MASK_MODES:
            raise ValueError(f"unknown mask mode {self.mask_mode!r}: use one of {MASK_MODES}")


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


@torch.no_grad()
def prune_sublayer(
    linear: nn.Linear,
    n: int,
    m: int,
    plan: PrunePlan,
    sq_mean: torch.Tensor | None,
    hessian: torch.Tensor | None = None,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Zero the pruned weights in place (SparseGPT: and update the kept ones); return the
    keep-mask (bool, on the device where the metric was computed). `weight` is the stored
    tensor (models.stored_weight) when the parameter itself is offloaded; by default the
    sublayer's own weight."""
    w = linear.weight if weight is None else weight
    if plan.metric == "sparsegpt":
        if hessian is None:
            raise ValueError("sparsegpt pruning needs the calibration Hessian")
        # On the Hessian's device (the block's compute device), also for an offloaded weight.
        new, mask = sparsegpt_prune(
            w.detach().to(hessian.device), hessian, n, m, plan.mask_mode, plan.c_tile
        )
        w.copy_(new.to(device=w.device, dtype=w.dtype))
        return torch.from_numpy(mask).to(hessian.device)
    if plan.metric == "wanda":
        if sq_mean is None:
            raise ValueError("wanda pruning needs calibration statistics")
        metric = wanda_metric(w, sq_mean)
    else:
        metric = w.detach().float().abs()
    mask = layer_mask(metric, n, m, plan.mask_mode, plan.c_tile)
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
) -> dict[str, torch.Tensor]:
    """Prune every sublayer of one block to n:m; keep-masks by sublayer name. `weights`: the
    stored weights (models.sublayer_weights), by default the sublayers' own.

    SparseGPT goes through sparsegpt_block_patterns (sublayers sharing an input stacked).
    """
    stored = weights or {name: lin.weight for name, lin in sublayers.items()}
    if plan.metric == "sparsegpt" and n != m:
        pruned = sparsegpt_block_patterns(stored, hessian, [(n, m)], plan)[(n, m)]
        for name, (new, _) in pruned.items():
            stored[name].copy_(new.to(device=stored[name].device, dtype=stored[name].dtype))
        return {name: pruned[name][1] for name in sublayers}
    masks: dict[str, torch.Tensor] = {}
    for name, lin in sublayers.items():
        masks[name] = prune_sublayer(
            lin, n, m, plan, sq_mean.get(name), hessian.get(name), stored[name]
        )
    return masks


@torch.no_grad()
def sparsegpt_block_patterns(
    weights: dict[str, torch.Tensor],
    hessian: dict[str, torch.Tensor],
    patterns: list[tuple[int, int]],
    plan: PrunePlan,
) -> dict[tuple[int, int], dict[str, tuple[torch.Tensor, torch.Tensor]]]:
    """SparseGPT of one block's weights to each pattern: {pattern: {name: (float32 weight on
    the Hessian's device, keep-mask)}}; the weights themselves are left as they are.

    The sublayers that share an input (one Hessian object: q/k/v, gate/up) are pruned as one
    row-stacked matrix, and every pattern in one column sweep (sparsegpt_prune_patterns):
    rows are independent in OBS, so this is the same result in fewer, larger steps. Pair-shared
    tiles must not straddle two sublayers, so stacking needs every part's row count to be a
    multiple of the column tile.
    """
    groups: dict[int, list[str]] = {}
    for name in weights:
        if name not in hessian:
            raise ValueError(f"sparsegpt pruning needs the calibration Hessian of {name}")
        groups.setdefault(id(hessian[name]), []).append(name)
    out: dict[tuple[int, int], dict[str, tuple[torch.Tensor, torch.Tensor]]] = {
        p: {} for p in patterns
    }
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
                    out[pattern][k] = (new[lo : lo + r], keep[lo : lo + r])
                    lo += r
    return {p: {k: out[p][k] for k in weights} for p in patterns}

"""N:M pruning of one block's sublayers: Wanda, magnitude or SparseGPT (reconstruction), with
standard or pair-shared masks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from flow.sparsegpt import sparsegpt_prune
from golden.masks import nm_mask, pair_shared_mask

# "sparsegpt" also updates the kept weights (OBS reconstruction on the calibration Hessian).
METRICS = ("wanda", "magnitude", "sparsegpt")
MASK_MODES = ("standard", "pair-shared")


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


def wanda_metric(weight: torch.Tensor, sq_mean: torch.Tensor) -> np.ndarray:
    """|W| * sqrt(mean x^2) per input feature, broadcast over output rows."""
    w = weight.detach().float().cpu()
    return (w.abs() * torch.sqrt(sq_mean.float().cpu())[None, :]).numpy()


def layer_mask(metric: np.ndarray, n: int, m: int, mode: str, c_tile: int) -> np.ndarray:
    """Bool keep-mask from golden.masks (the one implementation shared with the golden model)."""
    if mode == "standard":
        return nm_mask(metric, n, m)
    if mode == "pair-shared":
        return pair_shared_mask(metric, n, m, c_tile)
    raise ValueError(f"unknown mask mode {mode!r}")


@torch.no_grad()
def prune_sublayer(
    linear: nn.Linear,
    n: int,
    m: int,
    plan: PrunePlan,
    sq_mean: torch.Tensor | None,
    hessian: torch.Tensor | None = None,
) -> np.ndarray:
    """Zero the pruned weights in place (SparseGPT: and update the kept ones); return the
    keep-mask."""
    if plan.metric == "sparsegpt":
        if hessian is None:
            raise ValueError("sparsegpt pruning needs the calibration Hessian")
        new, mask = sparsegpt_prune(linear.weight, hessian, n, m, plan.mask_mode, plan.c_tile)
        linear.weight.copy_(new.to(linear.weight.dtype))
        return mask
    if plan.metric == "wanda":
        if sq_mean is None:
            raise ValueError("wanda pruning needs calibration statistics")
        metric = wanda_metric(linear.weight, sq_mean)
    else:
        metric = linear.weight.detach().float().abs().cpu().numpy()
    mask = layer_mask(metric, n, m, plan.mask_mode, plan.c_tile)
    if not mask.all():
        keep = torch.from_numpy(mask).to(linear.weight.device)
        linear.weight.mul_(keep.to(linear.weight.dtype))
    return mask


@torch.no_grad()
def prune_block(
    sublayers: dict[str, nn.Linear],
    n: int,
    m: int,
    plan: PrunePlan,
    sq_mean: dict[str, torch.Tensor],
    hessian: dict[str, torch.Tensor],
) -> dict[str, np.ndarray]:
    """Prune every sublayer of one block to n:m; keep-masks by sublayer name.

    SparseGPT prunes the sublayers that share an input (one Hessian object: q/k/v, gate/up)
    as one row-stacked matrix: rows are independent in OBS, so this is the same result in
    fewer, larger steps. Pair-shared tiles must not straddle two sublayers, so stacking needs
    every part's row count to be a multiple of the column tile.
    """
    masks: dict[str, np.ndarray] = {}
    if plan.metric == "sparsegpt" and n != m:
        groups: dict[int, list[str]] = {}
        for name in sublayers:
            if name not in hessian:
                raise ValueError(f"sparsegpt pruning needs the calibration Hessian of {name}")
            groups.setdefault(id(hessian[name]), []).append(name)
        for names in groups.values():
            rows = [sublayers[k].weight.shape[0] for k in names]
            stack = len(names) > 1 and (
                plan.mask_mode == "standard" or all(r % plan.c_tile == 0 for r in rows)
            )
            if not stack:
                for k in names:
                    masks[k] = prune_sublayer(sublayers[k], n, m, plan, None, hessian[k])
                continue
            weight = torch.cat([sublayers[k].weight for k in names])
            new, mask = sparsegpt_prune(
                weight, hessian[names[0]], n, m, plan.mask_mode, plan.c_tile
            )
            lo = 0
            for k, r in zip(names, rows, strict=True):
                lin = sublayers[k]
                lin.weight.copy_(new[lo : lo + r].to(lin.weight.dtype))
                masks[k] = mask[lo : lo + r]
                lo += r
        return {k: masks[k] for k in sublayers}
    for name, lin in sublayers.items():
        masks[name] = prune_sublayer(lin, n, m, plan, sq_mean.get(name), hessian.get(name))
    return masks

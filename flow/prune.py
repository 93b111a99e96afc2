"""N:M pruning of one block's sublayers: Wanda or magnitude metric, standard or pair-shared."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from golden.masks import nm_mask, pair_shared_mask

METRICS = ("wanda", "magnitude")
MASK_MODES = ("standard", "pair-shared")


@dataclass(frozen=True)
class PrunePlan:
    """One (N, M) per block plus how masks are computed."""

    patterns: list[tuple[int, int]]
    metric: str = "wanda"
    mask_mode: str = "standard"
    c_tile: int = 16  # column tile C of the hardware (pair-shared only)

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
    linear: nn.Linear, n: int, m: int, plan: PrunePlan, sq_mean: torch.Tensor | None
) -> np.ndarray:
    """Zero the pruned weights in place and return the keep-mask."""
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

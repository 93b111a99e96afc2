"""N:M pruning of one block's sublayers: Wanda or magnitude metric, standard or pair-shared.

Metrics and standard masks are computed in float32 on the weights' compute device whatever
the weights' dtype; pair-shared masks go through golden.masks on the host."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from golden.masks import pair_shared_mask

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
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Zero the pruned weights in place and return the keep-mask (bool, on the device where
    the metric was computed). `weight` is the stored tensor (models.stored_weight) when the
    parameter itself is offloaded; by default the sublayer's own weight."""
    w = linear.weight if weight is None else weight
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

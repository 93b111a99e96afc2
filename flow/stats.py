"""Per-block outlier statistics of FLOW: outlier ratio O and outlier locality D."""

from __future__ import annotations

import numpy as np
import torch

# The authors' code looks at only this many outliers (O(n^2) distance matrix).
REFERENCE_SUBSET = 10_000


def outlier_positions(metric: np.ndarray, hyper_m: float) -> np.ndarray:
    """Flattened positions (ascending) of entries greater than hyper_m * mean(metric)."""
    flat = np.asarray(metric, dtype=np.float64).ravel()
    if flat.size == 0:
        raise ValueError("empty metric")
    return np.flatnonzero(flat > hyper_m * flat.mean())


def outlier_ratio(metric: np.ndarray, hyper_m: float) -> float:
    """Percentage of entries greater than hyper_m * mean (OWL / FLOW O_l)."""
    flat = np.asarray(metric).ravel()
    return 100.0 * outlier_positions(flat, hyper_m).size / flat.size


def mean_pairwise_distance(positions: np.ndarray) -> float:
    """Exact mean |p_i - p_j| over all pairs i < j in O(n log n): after sorting, element k is
    the larger one in k pairs and the smaller one in n-1-k pairs."""
    p = np.sort(np.asarray(positions, dtype=np.float64).ravel())
    n = p.size
    if n < 2:
        raise ValueError("need at least two positions")
    k = np.arange(n, dtype=np.float64)
    total = float(np.dot(p, 2.0 * k - (n - 1)))
    return total / (n * (n - 1) / 2.0)


def mean_pairwise_distance_bruteforce(positions: np.ndarray, chunk: int = 1024) -> float:
    """O(n^2) mean |p_i - p_j| over i < j, in row chunks so memory stays bounded."""
    p = np.asarray(positions, dtype=np.float64).ravel()
    n = p.size
    if n < 2:
        raise ValueError("need at least two positions")
    total = 0.0
    for lo in range(0, n, chunk):
        total += float(np.abs(p[lo : lo + chunk, None] - p[None, :]).sum())
    return total / 2.0 / (n * (n - 1) / 2.0)


def outlier_locality(metric: np.ndarray, hyper_m: float, method: str = "exact") -> float:
    """D_l = 1 / mean pairwise distance between outlier positions (0 with fewer than 2).

    method "exact": all outliers. "reference": the authors' first-10,000-outliers O(n^2)
    variant, biased towards the first sublayer of the block; kept for comparison.
    """
    pos = outlier_positions(metric, hyper_m)
    if pos.size < 2:
        return 0.0
    if method == "exact":
        return 1.0 / mean_pairwise_distance(pos)
    if method == "reference":
        return 1.0 / mean_pairwise_distance_bruteforce(pos[:REFERENCE_SUBSET])
    raise ValueError(f"unknown locality method {method!r}: use 'exact' or 'reference'")


def minmax(values: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] across layers; a constant vector maps to 0.5 (no layer stands out)."""
    v = np.asarray(values, dtype=np.float64)
    span = v.max() - v.min()
    if span <= 0:
        return np.full_like(v, 0.5)
    return (v - v.min()) / span


def outlier_summary(metric: torch.Tensor, hyper_m: float) -> tuple[torch.Tensor, torch.Tensor]:
    """outlier_positions(...).size and outlier_locality(..., "exact") on the metric's device,
    without a host round trip: (count as int64, locality as float64), both 0-dim tensors.

    The threshold compares in float64 as the NumPy version does; the mean pairwise distance
    uses the same sorted-order identity, with each outlier's rank taken from a running count
    instead of gathering the positions (gathering would need the count on the host)."""
    flat = metric.detach().reshape(-1)
    if flat.numel() == 0:
        raise ValueError("empty metric")
    mean = flat.sum(dtype=torch.float64) / flat.numel()
    outlier = flat > (hyper_m * mean).reshape(1)  # a 1-element tensor promotes to float64
    n = outlier.sum()
    rank = torch.cumsum(outlier, 0, dtype=torch.float64) - 1.0  # rank among outliers
    pos = torch.arange(flat.numel(), device=flat.device, dtype=torch.float64)
    nf = n.double()
    total = torch.where(outlier, pos * (2.0 * rank - (nf - 1.0)), 0.0).sum()
    pairs = nf * (nf - 1.0) / 2.0
    locality = torch.where(n >= 2, pairs / total.clamp_min(1e-300), 0.0)
    return n, locality

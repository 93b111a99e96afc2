"""Input-channel permutation for N:M pruning (issue 18, lever 2).

N:M groups are M *consecutive* inputs. Reordering a layer's input channels before grouping lets
the important channels spread over the groups, so an N:M mask keeps more of the pruning metric
(Pool & Yu, "Channel Permutations for N:M Sparsity", NeurIPS 2021; RIA, Zhang et al., ICLR 2024:
sort channels by their summed metric, allocate them to groups in a balanced way, then refine
with a linear sum assignment). On FlexCiM the permutation costs the core nothing: the host
streams each layer's activations to the core in any order (golden.mapper.gather_activations
takes the layer's permutation), so y = W x stays exact.

Convention (the stimulus format and every pruner use it): `perm` is a LongTensor of the K input
indices in their new order; the N:M groups are groups of M consecutive entries of `W[:, perm]`;
weights and masks are stored in the *original* channel order, so `mask[:, perm]` is N:M.

Modes: none; balanced (RIA's heuristic allocation: channels sorted by summed metric, dealt to
the groups in snake order so every group gets one of the heaviest, one of the next, ...); lsa
(balanced, then for each slot of the groups a linear sum assignment of the channels in that slot
to the groups that maximises the kept metric, RIA's refinement; a few sweeps).
"""

from __future__ import annotations

import numpy as np
import torch

from flow.choices import PERMUTE_MODES

LSA_SWEEPS = 2  # refinement sweeps over the M slots (RIA uses a handful; 2 gets most of it)


def kept_metric(metric: torch.Tensor, n: int, m: int, perm: torch.Tensor | None = None) -> float:
    """Sum of the metric an n:m mask keeps (top n of every row's group of m, in `perm` order;
    a short last group keeps at most n)."""
    x = metric if perm is None else metric[:, perm]
    rows, k = x.shape
    g = torch.nn.functional.pad(x.float(), (0, -k % m)).reshape(rows, -1, m)
    return float(torch.topk(g, min(n, m), dim=-1).values.sum())


def _balanced(score: np.ndarray, m: int) -> np.ndarray:
    """Channels sorted by score, dealt to ceil(K/m) groups in snake order (0..G-1, G-1..0, ...);
    the last group holds K mod m channels when K is not a multiple of m (it fills last)."""
    k = score.size
    groups = -(-k // m)
    cap = np.full(groups, m)
    cap[-1] = k - (groups - 1) * m
    order = np.argsort(-score, kind="stable")
    members: list[list[int]] = [[] for _ in range(groups)]
    snake = list(range(groups)) + list(range(groups - 1, -1, -1))
    pos = 0
    for ch in order:
        while len(members[snake[pos % len(snake)]]) >= cap[snake[pos % len(snake)]]:
            pos += 1
        members[snake[pos % len(snake)]].append(int(ch))
        pos += 1
    return np.array([c for grp in members for c in grp], dtype=np.int64)


@torch.no_grad()
def _lsa_refine(metric: torch.Tensor, perm: np.ndarray, n: int, m: int) -> np.ndarray:
    """RIA's refinement on the full groups: for slot j, take slot j's channel out of every group
    and reassign those channels to the groups (Hungarian), maximising the kept metric."""
    from scipy.optimize import linear_sum_assignment

    k = metric.shape[1]
    groups = k // m  # full groups; a short tail group stays as it is
    if groups < 2 or n >= m:
        return perm
    perm = perm.copy()
    x = metric.float()
    for _ in range(LSA_SWEEPS):
        changed = False
        for j in range(m):
            grid = perm[: groups * m].reshape(groups, m)
            moving = grid[:, j]  # (G,) channels in slot j
            rest = np.delete(grid, j, axis=1)  # (G, m-1)
            fixed = x[:, torch.from_numpy(rest).to(x.device)]  # (rows, G, m-1)
            # With the m-1 fixed channels, adding channel c to group g keeps
            # top_n(fixed) + max(0, x_c - nth largest of fixed) per row (n <= m-1).
            nth = torch.topk(fixed, n, dim=-1).values[..., -1]  # (rows, G)
            cand = x[:, torch.from_numpy(moving).to(x.device)]  # (rows, C=G)
            gain = torch.zeros(groups, groups, dtype=torch.float64, device=x.device)
            step = max(1, (1 << 24) // max(1, groups * groups))
            for lo in range(0, x.shape[0], step):
                d = cand[lo : lo + step, :, None] - nth[lo : lo + step, None, :]
                gain += d.clamp_min(0).sum(0).double()  # (C, G)
            rows, cols = linear_sum_assignment(gain.cpu().numpy(), maximize=True)
            new = np.empty(groups, dtype=np.int64)
            new[cols] = moving[rows]
            if not np.array_equal(new, moving):
                changed = True
                grid[:, j] = new
                perm[: groups * m] = grid.reshape(-1)
        if not changed:
            break
    return perm


@torch.no_grad()
def channel_permutation(metric: torch.Tensor, n: int, m: int, mode: str) -> torch.Tensor | None:
    """Input-channel order for an n:m mask of `metric` (rows, K), or None (mode none, dense, or
    K <= m: nothing to gain). LongTensor on the metric's device."""
    if mode not in PERMUTE_MODES:
        raise ValueError(f"unknown permutation mode {mode!r}: use one of {PERMUTE_MODES}")
    k = metric.shape[1]
    if mode == "none" or n >= m or k <= m:
        return None
    score = metric.float().sum(0).cpu().numpy()
    perm = _balanced(score, m)
    if mode == "lsa":
        perm = _lsa_refine(metric, perm, n, m)
    return torch.from_numpy(perm).to(metric.device)


def inverse(perm: torch.Tensor) -> torch.Tensor:
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(perm.numel(), device=perm.device)
    return inv

"""SparseGPT-style N:M pruning with reconstruction (Frantar & Alistarh, ICML 2023).

Optimal-Brain-Surgeon weight updates on the calibration Hessian H = 2/n X^T X, column by column
in lazy blocks, as in the authors' `fasterprune`: when column i starts a group of M, the kept
N of each row's group are chosen by w^2 / diag(H^-1)^2 on the *updated* weights; every pruned
weight's error is spread over the not-yet-processed columns of its row. The mask of a group is
chosen by the same rule for both mask kinds: top N per row (standard) or golden.masks'
pair-shared selection on the group's metric (FlexCiM's shared pair select), so reconstruction
also repairs the damage of the hardware-legal mask.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from golden.masks import pair_shared_mask

# The authors' defaults.
PERCDAMP = 0.01
BLOCKSIZE = 128


def group_keep_mask(metric: torch.Tensor, n: int, m: int, mode: str, c_tile: int) -> torch.Tensor:
    """Keep-mask (rows, m) of one group of m columns from its metric (larger = keep)."""
    if mode == "standard":  # a short last group (K not a multiple of m) keeps what it has
        top = torch.topk(metric, min(n, metric.shape[1]), dim=1).indices
        return torch.zeros_like(metric, dtype=torch.bool).scatter_(1, top, True)
    if mode == "pair-shared":
        keep = pair_shared_mask(metric.detach().cpu().numpy(), n, m, c_tile)
        return torch.from_numpy(np.ascontiguousarray(keep)).to(metric.device)
    raise ValueError(f"unknown mask mode {mode!r}")


@torch.no_grad()
def sparsegpt_prune(
    weight: torch.Tensor,
    hessian: torch.Tensor,
    n: int,
    m: int,
    mode: str = "standard",
    c_tile: int = 16,
    percdamp: float = PERCDAMP,
    blocksize: int = BLOCKSIZE,
) -> tuple[torch.Tensor, np.ndarray]:
    """Pruned-and-reconstructed weight (float32, on the weight's device) and its keep-mask.

    `weight` is (out, in); `hessian` (in, in). Dense (n == m) returns the weight unchanged.
    The block size is rounded down to a multiple of m so no group straddles two lazy blocks
    (the authors' 128 does not divide by 6); as in golden.masks, a short last group (K not a
    multiple of m) keeps at most n.
    """
    return sparsegpt_prune_patterns(weight, hessian, [(n, m)], mode, c_tile, percdamp, blocksize)[0]


@torch.no_grad()
def sparsegpt_prune_patterns(
    weight: torch.Tensor,
    hessian: torch.Tensor,
    patterns: list[tuple[int, int]],
    mode: str = "standard",
    c_tile: int = 16,
    percdamp: float = PERCDAMP,
    blocksize: int = BLOCKSIZE,
) -> list[tuple[torch.Tensor, np.ndarray]]:
    """`sparsegpt_prune` of one weight to each of several patterns in one column sweep.

    OBS treats every row on its own, so one copy of the rows per sparse pattern, stacked, is
    pruned in one sweep: the Hessian inverse is computed once and the per-column Python steps
    run once for all patterns (the measured-cost pass prunes every block to 6 candidates).
    At column i a pattern of M = m starts a group when m divides i; the lazy block size is a
    multiple of every m. Results are in `patterns` order, each as `sparsegpt_prune` returns.
    """
    rows, cols = weight.shape
    if hessian.shape != (cols, cols):
        raise ValueError(f"hessian {tuple(hessian.shape)} does not match weight {weight.shape}")
    for n, m in patterns:
        if not 1 <= n <= m:
            raise ValueError(f"{n}:{m}: need 1 <= N <= M")
    W = weight.detach().clone().float()
    results = {
        i: (W.clone(), np.ones((rows, cols), dtype=bool))
        for i, (n, m) in enumerate(patterns)
        if n == m
    }
    sparse = [(i, n, m) for i, (n, m) in enumerate(patterns) if n != m]
    if not sparse:
        return [results[i] for i in range(len(patterns))]
    H = hessian.detach().clone().float().to(W.device)
    dead = torch.diag(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    H += percdamp * torch.mean(torch.diag(H)) * torch.eye(cols, device=W.device)
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    # Column-major work copies: column i of W is row i here, so every per-column step reads and
    # updates contiguous memory (the row-major original made each step a strided gather).
    # Pattern s owns the rows [s*rows, (s+1)*rows) of the stack.
    Wt = W.t().repeat(1, len(sparse)).contiguous()
    keep_t = torch.zeros((cols, rows * len(sparse)), dtype=torch.bool, device=W.device)
    lcm = math.lcm(*(m for _, _, m in sparse))
    bs = max(lcm, blocksize - blocksize % lcm)
    for i1 in range(0, cols, bs):
        i2 = min(i1 + bs, cols)
        W1 = Wt[i1:i2].clone()
        Err1 = torch.empty_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        d1 = torch.diag(Hinv1)
        for i in range(i2 - i1):
            for s, (_, n, m) in enumerate(sparse):
                if i % m == 0:
                    part = slice(s * rows, (s + 1) * rows)
                    metric = (W1[i : i + m, part] ** 2 / d1[i : i + m, None] ** 2).t()
                    group = group_keep_mask(metric, n, m, mode, c_tile)
                    keep_t[i1 + i : i1 + i + group.shape[1], part] = group.t()
            w = W1[i]
            err = w * (~keep_t[i1 + i]) / d1[i]  # pruned weights' error; kept ones err 0
            W1[i:].addr_(Hinv1[i, i:], err, alpha=-1.0)
            Err1[i] = err
        Wt[i1:i2] = W1 * keep_t[i1:i2]
        Wt[i2:].addmm_(Hinv[i1:i2, i2:].t(), Err1, alpha=-1.0)
    stacked, keep = Wt.t(), keep_t.t().cpu().numpy()
    for s, (index, _, _) in enumerate(sparse):
        part = slice(s * rows, (s + 1) * rows)
        results[index] = (stacked[part].contiguous(), keep[part])
    return [results[i] for i in range(len(patterns))]

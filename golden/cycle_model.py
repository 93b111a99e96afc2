"""Cycle model of docs/ARCHITECTURE.md §4: one job, a layer, and the two baselines.

`cycles = NP * (P*R + T*R/RPB) + D + T` with `D = log2 R + log2 P + 2` (RPB activation rows
per beat, 1 by default); the RTL's CYCLES CSR must equal it exactly (zero tolerance) once
stalls are subtracted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from golden.config import HwConfig, hw_pattern, log2_exact
from golden.mapper import LayerMapping
from golden.nm_format import group_nnz

MAX_PASSES = 65535  # PASSES CSR


def drain_cycles(cfg: HwConfig) -> int:
    """Pipeline drain D = log2 R (column tree) + log2 P (merge tree) + 2 (product, accumulate)."""
    return log2_exact(cfg.R) + log2_exact(cfg.P) + 2


@dataclass(frozen=True)
class CycleBreakdown:
    weight_load: int
    act_load: int
    drain: int
    output: int
    total: int

    def __add__(self, other: CycleBreakdown) -> CycleBreakdown:
        return CycleBreakdown(
            self.weight_load + other.weight_load,
            self.act_load + other.act_load,
            self.drain + other.drain,
            self.output + other.output,
            self.total + other.total,
        )


_ZERO = CycleBreakdown(0, 0, 0, 0, 0)


def job_cycles(passes: int, tokens: int, cfg: HwConfig) -> CycleBreakdown:
    """One job of `passes` passes over `tokens` tokens, every stream valid and ready."""
    if not 1 <= passes <= MAX_PASSES:
        raise ValueError(f"passes={passes}: must be in 1..{MAX_PASSES}")
    if not 1 <= tokens <= cfg.MAX_TOK:
        raise ValueError(f"tokens={tokens}: must be in 1..MAX_TOK={cfg.MAX_TOK}")
    wl = passes * cfg.P * cfg.R
    al = passes * tokens * cfg.A_BEATS  # R / RPB beats per token per pass
    d = drain_cycles(cfg)
    return CycleBreakdown(wl, al, d, tokens, wl + al + d + tokens)


def token_chunks(tokens: int, cfg: HwConfig) -> list[int]:
    """The token counts of the jobs one column tile takes: MAX_TOK each, the rest last."""
    if tokens < 1:
        raise ValueError(f"tokens={tokens}: must be >= 1")
    full, rest = divmod(tokens, cfg.MAX_TOK)
    return [cfg.MAX_TOK] * full + ([rest] if rest else [])


def jobs_cycles(passes_per_tile: list[int], tokens: int, cfg: HwConfig) -> CycleBreakdown:
    """Jobs of these passes (one per column tile), each over every MAX_TOK chunk of `tokens`:
    all the cycle model needs of a layer's mapping (flow.latency records exactly this)."""
    total = _ZERO
    for passes in passes_per_tile:
        for t in token_chunks(tokens, cfg):
            total = total + job_cycles(passes, t, cfg)
    return total


def layer_cycles(mapping: LayerMapping, tokens: int, cfg: HwConfig) -> CycleBreakdown:
    """FlexCiM: every column tile x every chunk of MAX_TOK tokens, passes from the mapper."""
    return jobs_cycles(mapping.passes, tokens, cfg)


def dense_passes(k: int, cfg: HwConfig) -> int:
    return -(-k // (cfg.P * cfg.R))


def dense_dcim_cycles(cout: int, k: int, tokens: int, cfg: HwConfig) -> CycleBreakdown:
    """Dense DCiM baseline: the same macro at (P, P), ceil(K / (P*R)) passes per tile."""
    if cout < 1 or k < 1:
        raise ValueError(f"cout={cout}, k={k}: must be >= 1")
    return jobs_cycles([dense_passes(k, cfg)] * -(-cout // cfg.C), tokens, cfg)


def fixed_pattern_passes(k: int, n_f: int, m_f: int, cfg: HwConfig) -> int:
    """Passes of one column tile of a layer whose mask is n_f:m_f-compliant on a fixed-pattern
    sparse DCiM (or FlexCiM) running n_f:m_f: ceil(ceil(K / m_hw) / (R * P / n_hw))."""
    n_hw, m_hw = hw_pattern(n_f, m_f, cfg.P)
    if n_f == m_f:
        raise ValueError(f"{n_f}:{m_f} is dense: use dense_passes")
    groups = -(-k // m_hw)
    return -(-groups // (cfg.R * cfg.P // n_hw))


def is_compliant(mask: np.ndarray, n_f: int, m_f: int) -> bool:
    """Every row keeps at most n_f of each group of m_f (what a fixed n_f:m_f core can run)."""
    return bool(np.all(group_nnz(np.asarray(mask), m_f) <= n_f))


def always_compliant(n: int, m: int, n_f: int, m_f: int) -> bool:
    """Every n:m mask is n_f:m_f-compliant (`is_compliant`) whatever its positions: no aligned
    group of m_f can hold more than n_f of the mask's non-zeros. A group of m_f overlaps some
    groups of m, each giving at most min(n, overlap); the worst group over one period of both
    (lcm(m, m_f)) decides. So 1:2, 2:8 or 1:6 layers run on a fixed 2:4 core at the core's
    rate; a 4:8 or 2:6 one only when its mask happens to comply."""
    period = math.lcm(m, m_f)
    worst = 0
    for start in range(0, period, m_f):
        end = start + m_f
        first = start // m * m
        worst = max(
            worst, sum(min(n, min(end, g + m) - max(start, g)) for g in range(first, end, m))
        )
    return worst <= n_f


def fixed_pattern_cycles(
    mask: np.ndarray, n_f: int, m_f: int, tokens: int, cfg: HwConfig
) -> CycleBreakdown:
    """Fixed-pattern sparse DCiM running only `n_f:m_f` (e.g. 1:2, 2:4).

    If the real mask is n_f:m_f-compliant (every row, groups of m_f; this is the same as every
    column tile being compliant), each tile takes `fixed_pattern_passes`
    (= ceil(K / (P*R*m_f/n_f)) when m_f divides K); otherwise the whole layer runs dense.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or min(mask.shape) < 1:
        raise ValueError(f"mask must be a non-empty 2-D (Cout, K) array, got {mask.shape}")
    cout, k = mask.shape
    passes = fixed_pattern_passes(k, n_f, m_f, cfg)  # checks the pattern either way
    if not is_compliant(mask, n_f, m_f):
        passes = dense_passes(k, cfg)
    return jobs_cycles([passes] * -(-cout // cfg.C), tokens, cfg)

"""FLOW's per-layer N:M selection as a MILP (HiGHS through scipy.optimize.milp)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from golden.config import UnsupportedPattern, hw_pattern

Pattern = tuple[int, int]

# The authors' set (2:4, 4:4, 2:8, 4:8, 8:8) plus 1:4 and 1:8 (paper figure; FlexCiM runs them).
DEFAULT_CANDIDATES: tuple[Pattern, ...] = ((2, 4), (4, 4), (2, 8), (4, 8), (8, 8), (1, 4), (1, 8))
# Feasibility slack on the mean-sparsity constraint (sparsities are small dyadic fractions).
_TOL = 1e-9


class InfeasibleTarget(ValueError):
    """The target sparsity is outside what the candidates (and options) can reach."""


@dataclass(frozen=True)
class FlowParams:
    """Selection knobs; defaults follow FLOW.md (alpha=1, beta=4, Hyper_m=5, paper M rule)."""

    target: float = 0.5
    candidates: tuple[Pattern, ...] = DEFAULT_CANDIDATES
    alpha: float = 1.0
    beta: float = 4.0
    hyper_m: float = 5.0
    # Lamda's role here (the reference's is dead): the largest |layer sparsity - target| a
    # layer may take; None = unbounded. It restricts the candidates per layer in the MILP.
    lamda: float | None = None
    m_rule: str = "paper"  # "paper": m_target = D * max(M); "code": (1 - D) * max(M)
    locality: str = "exact"  # or "reference" (first 10,000 outliers, O(n^2))
    weighting: str = "layer"  # or "params": mean sparsity weighted by parameter count
    dense_ends: bool = False  # first and last block fixed to a dense candidate in the MILP
    # Spec-allowed fix: per-layer sparsity targets anchored at the target, more outliers ->
    # denser, at most lamda (default ANCHOR_LAMDA) away; N targets (1 - s_l) * M per candidate.
    anchor: bool = False


ANCHOR_LAMDA = 0.25  # OWL's usual band, when --anchor is given without --lamda


@dataclass
class Assignment:
    """Solver outcome: chosen candidate index per layer and what was achieved."""

    choice: list[int]
    achieved: float
    deviation: float
    exact: bool
    status: list[str] = field(default_factory=list)


def parse_candidates(text: str) -> tuple[Pattern, ...]:
    """'2:4,4:8' -> ((2, 4), (4, 8))."""
    out = []
    for item in text.split(","):
        try:
            n, m = (int(v) for v in item.strip().split(":"))
        except ValueError:
            raise ValueError(f"bad candidate {item!r}: expected N:M, e.g. 2:4") from None
        out.append((n, m))
    return tuple(out)


def validate_candidates(candidates: tuple[Pattern, ...], P: int) -> None:
    """Every candidate must be a pattern the FlexCiM core runs (golden.config.hw_pattern)."""
    if not candidates:
        raise ValueError("empty candidate set")
    if len(set(candidates)) != len(candidates):
        raise ValueError(f"duplicate candidates in {candidates}")
    for n, m in candidates:
        try:
            hw_pattern(int(n), int(m), P)
        except UnsupportedPattern as e:
            raise UnsupportedPattern(f"unsupported candidate {e}") from None


def sparsity(p: Pattern) -> float:
    return (p[1] - p[0]) / p[1]


def solve_assignment(
    cost: np.ndarray,
    sparsities: np.ndarray,
    target: float,
    weights: np.ndarray,
    allowed: np.ndarray,
) -> Assignment:
    """Minimise sum(cost * z), one candidate per layer, weighted mean sparsity = target.

    If no assignment hits the target exactly, a first MILP finds the smallest reachable
    deviation and the second minimises the cost within it. Solver status is checked.
    """
    # Imported here: the command line checks candidates with this module before scipy loads.
    from scipy.optimize import Bounds, LinearConstraint, milp

    n_layers, n_cand = cost.shape
    if not 0.0 <= target < 1.0:
        raise InfeasibleTarget(f"target sparsity {target} must be in [0, 1)")
    if not allowed.any(axis=1).all():
        bad = int(np.flatnonzero(~allowed.any(axis=1))[0])
        raise InfeasibleTarget(f"layer {bad} has no allowed candidate (check lamda/dense_ends)")
    w = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    sp = np.asarray(sparsities, dtype=np.float64)
    masked = np.where(allowed, sp[None, :], np.nan)
    lo, hi = float(w @ np.nanmin(masked, axis=1)), float(w @ np.nanmax(masked, axis=1))
    if not lo - _TOL <= target <= hi + _TOL:
        raise InfeasibleTarget(
            f"target sparsity {target} outside the reachable range [{lo:.4f}, {hi:.4f}] "
            "of these candidates and options"
        )
    nz = n_layers * n_cand
    # Variables: z (layer-major, binary) then t >= |mean sparsity - target|.
    sp_row = np.concatenate([(w[:, None] * sp[None, :]).ravel(), [0.0]])
    one_hot = np.zeros((n_layers, nz + 1))
    for layer in range(n_layers):
        one_hot[layer, layer * n_cand : (layer + 1) * n_cand] = 1.0
    upper = np.concatenate([allowed.ravel().astype(float), [1.0]])
    bounds = Bounds(np.zeros(nz + 1), upper)
    integrality = np.concatenate([np.ones(nz), [0]])
    dev_plus = sp_row.copy()
    dev_plus[-1] = -1.0  # mean - t <= target
    dev_minus = sp_row.copy()
    dev_minus[-1] = 1.0  # mean + t >= target
    base = [
        LinearConstraint(one_hot, 1.0, 1.0),
        LinearConstraint(dev_plus[None, :], -np.inf, target),
        LinearConstraint(dev_minus[None, :], target, np.inf),
    ]
    status = []
    first = milp(
        np.concatenate([np.zeros(nz), [1.0]]),
        constraints=base,
        integrality=integrality,
        bounds=bounds,
    )
    status.append(f"deviation MILP: {first.message}")
    if first.status != 0:
        raise InfeasibleTarget(f"no assignment found: {first.message}")
    t_best = float(first.x[-1])
    bounds2 = Bounds(np.zeros(nz + 1), np.concatenate([upper[:-1], [t_best + _TOL]]))
    second = milp(
        np.concatenate([cost.ravel(), [0.0]]),
        constraints=base,
        integrality=integrality,
        bounds=bounds2,
    )
    status.append(f"cost MILP: {second.message}")
    if second.status != 0:
        raise RuntimeError(f"cost MILP failed after a feasible deviation MILP: {second.message}")
    choice = [int(np.argmax(row)) for row in second.x[:nz].reshape(n_layers, n_cand)]
    achieved = float(sum(w[i] * sp[c] for i, c in enumerate(choice)))
    deviation = abs(achieved - target)
    return Assignment(choice, achieved, deviation, deviation <= 1e-7, status)


def flow_cost(
    o_norm: np.ndarray, d_norm: np.ndarray, params: FlowParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cost matrix (layers x candidates) and the per-layer N and M targets it uses."""
    cands = np.array(params.candidates, dtype=np.float64)
    max_n, max_m, min_m = cands[:, 0].max(), cands[:, 1].max(), cands[:, 1].min()
    n_target = o_norm * max_n
    if params.m_rule == "paper":  # clustered outliers (high D) -> larger M
        m_raw = d_norm * max_m
    elif params.m_rule == "code":  # the reference code's direction
        m_raw = (1.0 - d_norm) * max_m
    else:
        raise ValueError(f"unknown m_rule {params.m_rule!r}: use 'paper' or 'code'")
    m_target = np.clip(m_raw, min_m, max_m)
    if params.anchor:
        band = ANCHOR_LAMDA if params.lamda is None else params.lamda
        s_layer = np.clip(params.target - band * (2.0 * o_norm - 1.0), 0.0, 1.0)
        n_cand = (1.0 - s_layer)[:, None] * cands[None, :, 1]  # N target for each candidate's M
        cost = params.alpha * np.abs(cands[None, :, 0] - n_cand) + params.beta * np.abs(
            cands[None, :, 1] - m_target[:, None]
        )
        return cost, (1.0 - s_layer) * m_target, m_target
    cost = params.alpha * np.abs(cands[None, :, 0] - n_target[:, None]) + params.beta * np.abs(
        cands[None, :, 1] - m_target[:, None]
    )
    return cost, n_target, m_target


def allowed_matrix(n_layers: int, params: FlowParams, target: float) -> np.ndarray:
    """Which candidates each layer may take (lamda band, dense first/last blocks)."""
    sp = np.array([sparsity(p) for p in params.candidates])
    allowed = np.ones((n_layers, len(sp)), dtype=bool)
    if params.lamda is not None:
        if params.lamda < 0:
            raise ValueError(f"lamda must be >= 0, got {params.lamda}")
        allowed &= np.abs(sp - target)[None, :] <= params.lamda + _TOL
    if params.dense_ends:
        dense = np.array([n == m for n, m in params.candidates])
        if not dense.any():
            raise InfeasibleTarget("dense_ends needs a dense candidate (N == M) in the set")
        for layer in {0, n_layers - 1}:
            allowed[layer] = dense
    return allowed


def owl_targets(o_pct: np.ndarray, target: float, lamda: float) -> np.ndarray:
    """OWL's per-layer sparsities: more outliers -> lower sparsity, within target +- lamda."""
    ratio = 2.0 * lamda * (o_pct - o_pct.min()) / max(o_pct.max() - o_pct.min(), 1e-12)
    keep = ratio - ratio.mean() + (1.0 - target)
    return 1.0 - keep

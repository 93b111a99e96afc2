"""MILP selection checked against brute-force enumeration on tiny cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from flow.select import (
    DEFAULT_CANDIDATES,
    FlowParams,
    InfeasibleTarget,
    allowed_matrix,
    flow_cost,
    owl_targets,
    parse_candidates,
    solve_assignment,
    sparsity,
    validate_candidates,
)
from golden.config import UnsupportedPattern


def brute_force(cost, sp, target, weights, allowed):
    """Best cost among assignments at the smallest reachable deviation from the target."""
    w = np.asarray(weights, float) / np.sum(weights)
    best = None
    for combo in itertools.product(range(cost.shape[1]), repeat=cost.shape[0]):
        if not all(allowed[i, c] for i, c in enumerate(combo)):
            continue
        dev = round(abs(sum(w[i] * sp[c] for i, c in enumerate(combo)) - target), 9)
        total = sum(cost[i, c] for i, c in enumerate(combo))
        if best is None or (dev, total) < (best[0], best[1]):
            best = (dev, total, combo)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_milp_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cands = [DEFAULT_CANDIDATES[i] for i in rng.choice(len(DEFAULT_CANDIDATES), 4, False)]
    sp = np.array([sparsity(p) for p in cands])
    n_layers = int(rng.integers(2, 5))
    cost = rng.uniform(0, 10, (n_layers, len(cands)))
    weights = rng.integers(1, 5, n_layers) if seed % 2 else np.ones(n_layers)
    allowed = np.ones_like(cost, dtype=bool)
    lo, hi = sp.min(), sp.max()
    target = float(rng.uniform(lo, hi))
    dev, total, _ = brute_force(cost, sp, target, weights, allowed)
    got = solve_assignment(cost, sp, target, weights, allowed)
    assert got.deviation == pytest.approx(dev, abs=1e-8)
    assert sum(cost[i, c] for i, c in enumerate(got.choice)) == pytest.approx(total, abs=1e-7)
    assert got.exact == (dev < 1e-7)
    assert all(any("Optimal" in s for s in [msg]) for msg in got.status)


def test_exact_target_is_met_when_feasible() -> None:
    cands = ((2, 4), (4, 4), (1, 4))  # sparsities 0.5, 0, 0.75
    sp = np.array([sparsity(p) for p in cands])
    cost = np.array([[5.0, 0.0, 9.0], [5.0, 9.0, 0.0], [5.0, 0.0, 9.0], [5.0, 9.0, 0.0]])
    got = solve_assignment(cost, sp, 0.375, np.ones(4), np.ones((4, 3), bool))
    # 0 + 0.75 + 0 + 0.75 = 1.5 / 4 = 0.375: the zero-cost assignment is exactly feasible.
    assert got.exact and got.achieved == pytest.approx(0.375)
    assert got.choice == [1, 2, 1, 2]


def test_closest_achievable_when_equality_infeasible() -> None:
    cands = ((2, 4), (4, 4))  # 0.5 or 0: three layers reach only multiples of 1/6
    sp = np.array([sparsity(p) for p in cands])
    got = solve_assignment(np.zeros((3, 2)), sp, 0.2, np.ones(3), np.ones((3, 2), bool))
    assert not got.exact
    assert got.achieved == pytest.approx(1 / 6)
    assert got.deviation == pytest.approx(0.2 - 1 / 6)


def test_infeasible_targets_are_refused() -> None:
    cands = np.array([0.5, 0.0])
    with pytest.raises(InfeasibleTarget, match="outside the reachable range"):
        solve_assignment(np.zeros((2, 2)), cands, 0.6, np.ones(2), np.ones((2, 2), bool))
    with pytest.raises(InfeasibleTarget, match=r"must be in \[0, 1\)"):
        solve_assignment(np.zeros((2, 2)), cands, 1.2, np.ones(2), np.ones((2, 2), bool))
    params = FlowParams(candidates=((2, 4), (1, 4)), dense_ends=True)
    with pytest.raises(InfeasibleTarget, match="dense candidate"):
        allowed_matrix(4, params, 0.5)


def test_unsupported_candidates() -> None:
    with pytest.raises(UnsupportedPattern, match="unsupported candidate 3:8"):
        validate_candidates(((2, 4), (3, 8)), P=4)
    with pytest.raises(UnsupportedPattern, match="unsupported candidate 2:16"):
        validate_candidates(((2, 16),), P=4)
    with pytest.raises(ValueError, match="bad candidate"):
        parse_candidates("2:4,four")
    validate_candidates(DEFAULT_CANDIDATES, P=4)


def test_m_rule_directions() -> None:
    params = FlowParams()
    o = np.array([0.0, 1.0])
    d = np.array([1.0, 0.0])  # layer 0 clustered, layer 1 scattered
    _, n_t, m_paper = flow_cost(o, d, params)
    _, _, m_code = flow_cost(o, d, FlowParams(m_rule="code"))
    assert n_t.tolist() == [0.0, 8.0]
    assert m_paper.tolist() == [8.0, 4.0]  # clustered -> larger M (clamped to min M = 4)
    assert m_code.tolist() == [4.0, 8.0]


def test_lamda_bounds_layer_sparsity_and_dense_ends() -> None:
    params = FlowParams(lamda=0.25, dense_ends=True)
    allowed = allowed_matrix(5, params, 0.5)
    sp = np.array([sparsity(p) for p in params.candidates])
    assert not allowed[1:4, sp == 0.875].any() and allowed[1:4, sp == 0.75].all()
    assert allowed[0].tolist() == [n == m for n, m in params.candidates]
    assert (allowed[4] == allowed[0]).all()


def test_owl_targets_keep_the_mean_and_favour_outlier_layers() -> None:
    s = owl_targets(np.array([1.0, 2.0, 5.0]), 0.5, 0.1)
    assert s.mean() == pytest.approx(0.5)
    assert s[2] < s[0] and s.max() - s.min() == pytest.approx(0.2)


def test_anchored_targets_follow_outliers_around_the_target() -> None:
    """--anchor: the layer with most outliers gets the densest target, the one with fewest the
    sparsest, within +- lamda of the target; the MILP still meets the mean exactly."""
    from flow.select import flow_cost

    cands = ((4, 4), (4, 6), (4, 8), (2, 6), (2, 8))
    params = FlowParams(target=0.5, candidates=cands, anchor=True, lamda=0.25, beta=0.0)
    o_norm = np.array([1.0, 0.5, 0.0])
    cost, n_target, _ = flow_cost(o_norm, np.zeros(3), params)
    best = [cands[j] for j in cost.argmin(axis=1)]
    assert [sparsity(p) for p in best] == [0.25, 0.5, 0.75] or [
        abs(sparsity(p) - t) <= 0.1 for p, t in zip(best, [0.25, 0.5, 0.75], strict=True)
    ] == [True] * 3
    assert n_target[0] > n_target[1] > n_target[2]

"""bench.measured_cost's comparison with the reference cost tables (no model needed)."""

from __future__ import annotations

import numpy as np

from bench.measured_cost import REFERENCE, compare, reference_run
from flow.report import spearman


def test_spearman_is_rank_based() -> None:
    a = np.array([0.1, 0.5, 0.2, 3.0])
    assert spearman(a, a**3) == 1.0
    assert spearman(a, -a) == -1.0


def test_the_reference_compares_perfectly_with_itself_and_a_changed_plan_is_named() -> None:
    ref = reference_run(REFERENCE, 0)
    cands = list(ref["selection"]["layers"][0]["costs"])
    costs = np.array([[layer["costs"][c] for c in cands] for layer in ref["selection"]["layers"]])
    plan = [f"{layer['n']}:{layer['m']}" for layer in ref["selection"]["layers"]]
    same = compare(costs, cands, plan, ref)
    assert same["rank_corr_all"] > 0.999 and same["same_plan"] and not same["plan_differs_at"]
    other = [*plan[:-1], "1:8"]
    noisy = costs + np.random.default_rng(0).normal(0, 0.5, costs.shape)
    changed = compare(noisy, cands, other, ref)
    assert not changed["same_plan"] and changed["plan_differs_at"] == {29: ["1:8", plan[29]]}
    assert changed["rank_corr_all"] < same["rank_corr_all"]

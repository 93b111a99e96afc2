"""Composition check on a small configuration: is each block's energy proportional to cycles?

The paper-size figure cannot come from a flat gate-level run (3.4 M cells). The composition
proposed (docs/ENERGY.md) takes each block's energy per cycle from the small flat run and
multiplies it by cycles (and instances) elsewhere. Its first assumption is checked here on
real data: per-block energy per simulated cycle characterised on one half of the layers
predicts the other half's energy (different layers, patterns, pass counts).
"""

from __future__ import annotations


def per_cycle(batches: list[dict]) -> dict[str, float]:
    """Block -> joules per simulated cycle over `batches` (silicon.energy_flow's rows)."""
    cycles = sum(b["sim_cycles"] for b in batches)
    out: dict[str, float] = {}
    for b in batches:
        for block, parts in b["blocks"].items():
            out[block] = out.get(block, 0.0) + sum(parts.values())
    return {block: joules / cycles for block, joules in out.items()}


def holdout(batches: list[dict]) -> dict[str, float]:
    """Characterise on the first half of the batches, predict the second half's energy."""
    half = len(batches) // 2
    if half == 0:
        return {}
    fit, test = batches[:half], batches[half:]
    rates = per_cycle(fit)
    cycles = sum(b["sim_cycles"] for b in test)
    predicted = sum(rate * cycles for rate in rates.values())
    measured = sum(b["joules"] for b in test)
    return {
        "fit_batches": half,
        "test_batches": len(test),
        "predicted_j": predicted,
        "measured_j": measured,
        "relative_error": (predicted - measured) / measured,
    }

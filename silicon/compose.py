"""Energy composition: per-block energy of a small flat gate-level run, scaled to another geometry.

A flat gate-level run of the paper geometry (3.4 M cells) is out of reach on 2 cores. Each
block's energy of a small run is split in three parts (`split_parts`):

* **clock**: the flip-flops' CLK-pin internal energy, and the ideal clock net's switching, both
  paid on every clock edge whatever the data (one clock-only evaluation of silicon.energy gives
  it per cycle exactly, `clock_only`);
* **leakage**: per cell and second;
* **data**: the rest, the energy of the nets that move.

Then E_part(target) = [E_part / (unit x count)](characterisation) x unit(target) x count(target)
(`characterise`, `compose`), where per block and part a `Rule` names the scaling unit (the
block's library `cells` or `flops` from the hierarchical mapping, or `core`: one per core) and the
count (simulated `cycles`, or token `issues`: sum over jobs of passes x tokens, one issue = every
cell multiplies once). `RULES["cycle"]` is the plain per-cycle, per-cell composition;
`RULES["issue"]` scales the array blocks' data by issues instead, because per cycle only one
weight row or one activation row moves while an issue fires every cell (docs/ENERGY.md).

The first check on real data, `holdout`, characterises on one half of a run's layers and
predicts the other half (same geometry, other patterns and pass counts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from silicon.blocks import BLOCKS, CLOCK, FRONT_END, INPUTS

PARTS = ("clock", "leakage", "data")
# Yosys / RTL module (silicon.report's names) -> block of silicon.blocks; the core's own cells
# are the stream front end. Every module of a mapped core must be listed (`block_units`).
MODULE_BLOCK: dict[str, str] = {
    "flexcim_cell": BLOCKS[0][0],
    "flexcim_adder_tree in flexcim_submacro": BLOCKS[1][0],
    "flexcim_distribution": BLOCKS[2][0],
    "flexcim_merge": BLOCKS[3][0],
    "flexcim_adder_tree in flexcim_merge": BLOCKS[3][0],
    "flexcim_ctrl": BLOCKS[4][0],
    "flexcim_axil": BLOCKS[4][0],
    "flexcim_submacro": BLOCKS[5][0],
    "flexcim_core": FRONT_END,
}
CELLS, COL_TREES, DIST, MERGE, CTRL, SUB_OTHER = (b for b, _ in BLOCKS)
ARRAY = (CELLS, COL_TREES, DIST, MERGE, SUB_OTHER)


class CompositionError(ValueError):
    """A characterisation or target lacks what the composition needs (the message names it)."""


@dataclass(frozen=True)
class Units:
    """Scaling units of one block at one geometry (hierarchical mapping, composed)."""

    cells: int
    flops: int
    core: int = 1

    def get(self, unit: str) -> int:
        if unit not in ("cells", "flops", "core"):
            raise CompositionError(f"unknown scaling unit {unit!r}: cells, flops or core")
        return getattr(self, unit)


@dataclass(frozen=True)
class Work:
    """What a workload costs at one geometry: simulated cycles and token issues."""

    cycles: float
    issues: float

    def get(self, count: str) -> float:
        if count not in ("cycles", "issues"):
            raise CompositionError(f"unknown count {count!r}: cycles or issues")
        return getattr(self, count)


Rule = tuple[str, str]  # (unit, count)
Rules = dict[str, dict[str, Rule]]  # block -> part -> rule


def _rules(data_by_issue: bool) -> Rules:
    out: Rules = {}
    for block in [*(b for b, _ in BLOCKS), FRONT_END]:
        data = ("cells", "issues") if data_by_issue and block in ARRAY else ("cells", "cycles")
        out[block] = {"clock": ("flops", "cycles"), "leakage": ("cells", "cycles"), "data": data}
    # The ideal clock net: its load is the flip-flops' CLK pins (exact per flip-flop and cycle).
    out[CLOCK] = {"clock": ("flops", "cycles"), "leakage": ("flops", "cycles")}
    out[CLOCK]["data"] = ("flops", "cycles")
    # The input ports' nets: one interface per core, per cycle.
    out[INPUTS] = {part: ("core", "cycles") for part in PARTS}
    return out


def _block_rules() -> Rules:
    """The whole block per cycle and cell (the clock net per cycle and flip-flop): needs no
    clock-only split of the characterisation run."""
    out: Rules = {block: {"total": ("cells", "cycles")} for block in [*ARRAY, CTRL, FRONT_END]}
    out[CLOCK] = {"total": ("flops", "cycles")}
    out[INPUTS] = {"total": ("core", "cycles")}
    return out


RULES: dict[str, Rules] = {"cycle": _rules(False), "issue": _rules(True), "block": _block_rules()}


def in_parts_of(energy: Mapping[str, Mapping[str, float]], rules: Rules) -> dict[str, dict]:
    """`energy` (block -> part -> joules, split by `split_parts`) in the parts `rules` scale:
    the `block` rule takes each block whole (one part, "total")."""
    if all(set(parts) == {"total"} for parts in rules.values()):
        return {block: {"total": sum(parts.values())} for block, parts in energy.items()}
    return {block: dict(parts) for block, parts in energy.items()}


def split_parts(
    blocks: Mapping[str, Mapping[str, float]],
    clock_per_cycle: Mapping[str, float],
    cycles: float,
) -> dict[str, dict[str, float]]:
    """silicon.energy's {block: {switching, internal, leakage}} -> {block: {clock, leakage,
    data}}: `clock_per_cycle` (joules of one clock cycle with nothing else moving, `clock_only`)
    x `cycles` is taken out of the block's switching + internal energy."""
    out: dict[str, dict[str, float]] = {}
    for block, parts in blocks.items():
        clock = clock_per_cycle.get(block, 0.0) * cycles
        dynamic = parts["switching"] + parts["internal"]
        if clock > dynamic * (1 + 1e-9) + 1e-30:
            raise CompositionError(
                f"block {block!r}: clock energy {clock:.4g} J exceeds its dynamic energy "
                f"{dynamic:.4g} J (clock_per_cycle or cycles of another run?)"
            )
        out[block] = {"clock": clock, "leakage": parts["leakage"], "data": max(dynamic - clock, 0)}
    return out


def _scale(block: str, part: str, units: Mapping[str, Units], work: Work, rules: Rules) -> float:
    """unit x count of one block's part under its rule (the denominator of a rate, the
    multiplier of a composed energy)."""
    unit, count = rules[block][part]
    return units[block].get(unit) * work.get(count)


def characterise(
    energy: Mapping[str, Mapping[str, float]],
    units: Mapping[str, Units],
    work: Work,
    rules: Rules,
) -> dict[str, dict[str, float]]:
    """Joules per (unit x count) per block and part; a block with zero units and zero energy
    has rate 0. Raises CompositionError naming a block without units or rules."""
    missing = sorted(set(energy) - set(units))
    if missing:
        raise CompositionError(f"characterisation: no scaling units for blocks {missing}")
    no_rule = sorted(set(energy) - set(rules))
    if no_rule:
        raise CompositionError(f"characterisation: no scaling rule for blocks {no_rule}")
    rates: dict[str, dict[str, float]] = {}
    for block, parts in energy.items():
        rates[block] = {}
        for part, joules in parts.items():
            denom = _scale(block, part, units, work, rules)
            if denom == 0:
                unit, count = rules[block][part]
                if joules:
                    raise CompositionError(
                        f"block {block!r} part {part}: {joules:.4g} J over zero {unit} x {count}"
                    )
                rates[block][part] = 0.0
            else:
                rates[block][part] = joules / denom
    return rates


def compose(
    rates: Mapping[str, Mapping[str, float]],
    units: Mapping[str, Units],
    work: Work,
    rules: Rules,
) -> dict[str, dict[str, float]]:
    """Joules per block and part at the target: rate x unit(target) x count(target). Every
    characterised block must have target units (zero units: zero joules), and every target
    block with units must be characterised."""
    missing = sorted(set(rates) - set(units))
    if missing:
        raise CompositionError(f"target: no scaling units for characterised blocks {missing}")
    extra = sorted(b for b, u in units.items() if b not in rates and (u.cells or u.flops))
    if extra:
        raise CompositionError(f"characterisation lacks target blocks {extra}")
    out: dict[str, dict[str, float]] = {}
    for block, parts in rates.items():
        out[block] = {p: rate * _scale(block, p, units, work, rules) for p, rate in parts.items()}
    return out


def totals(energy: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Block -> joules summed over its parts."""
    return {block: sum(parts.values()) for block, parts in energy.items()}


def block_units(modules: list[dict]) -> dict[str, Units]:
    """Per block, library cells and flip-flops of one core from silicon.report's module rows
    (``module``, ``instances``, own ``cells`` and ``flops`` of one instance); the clock net's
    unit is every flip-flop of the core, the input wires' one interface."""
    out: dict[str, list[int]] = {}
    for row in modules:
        block = MODULE_BLOCK.get(row["module"])
        if block is None:
            raise CompositionError(
                f"module {row['module']!r} has no block (silicon.compose.MODULE_BLOCK)"
            )
        acc = out.setdefault(block, [0, 0])
        acc[0] += row["cells"] * row["instances"]
        acc[1] += row["flops"] * row["instances"]
    units = {block: Units(cells, flops) for block, (cells, flops) in out.items()}
    flops = sum(u.flops for u in units.values())
    units[CLOCK] = Units(0, flops)
    units[INPUTS] = Units(0, 0)
    return units


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

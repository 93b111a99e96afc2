"""Slew / load check of a mapped hierarchical netlist against the Liberty table ranges.

For every net of every module: its *load* is the sum of the Liberty ``capacitance`` of the pins
it drives (no wire load: the OSU018 library has no wire-load model and there is no placement,
so wires count zero; real loads are larger), its *slew* is the driver's NLDM
``rise_transition`` / ``fall_transition`` (the worse) at that load and at the driver's input
slew. Slews propagate in topological order from the sources: flip-flop outputs and module inputs.
The clock is ideal (as after clock-tree synthesis): a flip-flop's output switches from the
driving cell's fastest table transition, not from the unbuffered clock net's slew. A net is
in range when its load lies within the driver's table ``total_output_net_capacitance`` index
and its slew within the ``transition`` index of every pin it drives; beyond them the library
extrapolates and its numbers mean little.

Hierarchy: each distinct module is analysed once. A module's input port is driven by
``MapOptions.driving_cell`` switching from the table's fastest input transition (what ABC was
told); its output port adds ``MapOptions.load_pf``. A net of a parent that feeds a sub-module's
input sees that port's real internal load, and a net driven by a sub-module's output is driven
by the real cell inside at the real (internal + parent) load: nets that cross module boundaries,
which ABC never buffered, are checked as they are.

Clock nets (nets that drive a flip-flop's or latch's clock pin) are reported apart: clock-tree
synthesis, not logic synthesis, buffers them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from silicon.liberty import Cell, LibertyError, Library, Table
from silicon.netlist import Module, Netlist
from silicon.synth import MapOptions

INF = float("inf")


@dataclass(frozen=True)
class NetCheck:
    module: str
    net: str
    driver: str  # "CELL.PIN" (instance path), or "input port"
    fanout: int  # pins driven (a sub-module input counts its internal pins)
    load: float  # library capacitance units (pF)
    slew: float  # library time units (ns)
    load_max: float  # top of the driver's load index
    slew_max: float  # smallest top of the transition index among the driven pins
    clock: bool

    @property
    def ok(self) -> bool:
        return self.load <= self.load_max and self.slew <= self.slew_max

    @property
    def severity(self) -> float:
        """max(load / load_max, slew / slew_max): > 1 is out of range."""
        return max(self.load / self.load_max, self.slew / self.slew_max)


@dataclass
class _Driver:
    cell: Cell
    pin: str
    in_slew: float  # worst slew at the inputs its arcs start from
    where: str


@dataclass
class _Facts:
    """What a parent needs of a module: per port bit, internal load / limits / drivers."""

    in_load: dict[tuple[str, int], float] = field(default_factory=dict)
    in_pins: dict[tuple[str, int], int] = field(default_factory=dict)
    in_slew_max: dict[tuple[str, int], float] = field(default_factory=dict)
    in_clock: dict[tuple[str, int], bool] = field(default_factory=dict)
    out_driver: dict[tuple[str, int], _Driver | None] = field(default_factory=dict)
    out_load: dict[tuple[str, int], float] = field(default_factory=dict)
    out_pins: dict[tuple[str, int], int] = field(default_factory=dict)


def _worst_transition(cell: Cell, pin: str, in_slew: float, load: float) -> float:
    worst = 0.0
    for arc in cell.pins[pin].timing:
        for t in (arc.rise_transition, arc.fall_transition):
            if t is not None:
                worst = max(worst, t.at(transition=in_slew, load=load))
    return worst


def _tables(cell: Cell, pin: str) -> list[Table]:
    return [
        t
        for arc in cell.pins[pin].timing
        for t in (arc.rise_transition, arc.fall_transition)
        if t is not None
    ]


def _load_max(cell: Cell, pin: str) -> float:
    highs = [r[1] for t in _tables(cell, pin) if (r := t.range_of("load")) is not None]
    return min(highs) if highs else INF


def _slew_limit(cell: Cell, pin: str) -> float:
    """Top of the transition index of the tables an input pin's slew is looked up in: arcs
    from it to an output, or (pins without arcs, e.g. D) its internal-power tables."""
    highs = [
        r[1]
        for out in cell.pins.values()
        for arc in out.timing
        if arc.related_pin == pin
        for t in (arc.rise_transition, arc.fall_transition, arc.cell_rise, arc.cell_fall)
        if t is not None and (r := t.range_of("transition")) is not None
    ]
    if not highs:
        highs = [
            r[1]
            for p in cell.pins[pin].internal_power
            for t in (p.rise, p.fall)
            if t is not None and (r := t.range_of("transition")) is not None
        ]
    return min(highs) if highs else INF


def _related_inputs(cell: Cell, pin: str) -> set[str]:
    return {arc.related_pin for arc in cell.pins[pin].timing if arc.related_pin}


class SlewChecker:
    def __init__(self, netlist: Netlist, lib: Library, options: MapOptions = MapOptions()):  # noqa: B008
        self.netlist = netlist
        self.lib = lib
        self.options = options
        self.checks: dict[str, list[NetCheck]] = {}
        drive = lib.cell(options.driving_cell)
        outs = [p for p in drive.pins.values() if p.direction == "output"]
        if not outs:
            raise LibertyError(f"driving cell {options.driving_cell} has no output pin")
        self.drive_cell, self.drive_pin = drive, outs[0].name
        tables = _tables(drive, self.drive_pin)
        ranges = [r for t in tables if (r := t.range_of("transition")) is not None]
        self.drive_in_slew = min(r[0] for r in ranges) if ranges else 0.0

    def facts(self, name: str) -> _Facts:
        return self._facts(name)

    @cache  # noqa: B019 - one checker per netlist; modules are analysed once
    def _facts(self, name: str) -> _Facts:
        module = self.netlist.modules[name]
        facts = _Facts()
        checks = self._analyse(module, facts)
        self.checks[name] = checks
        return facts

    def _analyse(self, module: Module, facts: _Facts) -> list[NetCheck]:
        nl, lib = self.netlist, self.lib
        load: dict[int, float] = {}
        pins: dict[int, int] = {}
        slew_max: dict[int, float] = {}
        clock: dict[int, bool] = {}
        driver: dict[int, tuple[str, object]] = {}
        # leaf drivers: (instance name, cell, pin) and the bits of their arcs' inputs
        leaf_in: dict[tuple[str, str], list[int]] = {}

        def add_load(bit: int, cap: float, n: int, limit: float, clk: bool) -> None:
            load[bit] = load.get(bit, 0.0) + cap
            pins[bit] = pins.get(bit, 0) + n
            slew_max[bit] = min(slew_max.get(bit, INF), limit)
            clock[bit] = clock.get(bit, False) or clk

        for inst in module.cells.values():
            if nl.is_module(inst.type):
                child = self._facts(inst.type)
                child_mod = nl.modules[inst.type]
                for pin, bits in inst.connections.items():
                    direction = child_mod.ports[pin].direction
                    for i, b in enumerate(bits):
                        if not isinstance(b, int):
                            continue
                        k = (pin, i)
                        if direction == "input":
                            add_load(
                                b,
                                child.in_load.get(k, 0.0),
                                child.in_pins.get(k, 0),
                                child.in_slew_max.get(k, INF),
                                child.in_clock.get(k, False),
                            )
                        else:
                            add_load(
                                b, child.out_load.get(k, 0.0), child.out_pins.get(k, 0), INF, False
                            )
                            drv = child.out_driver.get(k)
                            driver[b] = ("child", (f"{inst.name}/", drv))
                continue
            cell = lib.cell(inst.type)
            for pin, bits in inst.connections.items():
                if pin not in cell.pins:
                    raise LibertyError(f"{module.name}/{inst.name}: {inst.type} has no pin {pin}")
                p = cell.pins[pin]
                for b in bits:
                    if not isinstance(b, int):
                        continue
                    if p.direction == "output":
                        driver[b] = ("leaf", (inst.name, cell, pin))
                    else:
                        add_load(b, p.capacitance, 1, _slew_limit(cell, pin), p.clock)
            for pin, p in cell.pins.items():
                if p.direction == "output":
                    # Clock pins are left out: flip-flops switch on an ideal (tree-buffered)
                    # clock, see the module docstring.
                    related = _related_inputs(cell, pin)
                    leaf_in[(inst.name, pin)] = [
                        b
                        for r in related
                        if not cell.pins[r].clock
                        for b in inst.connections.get(r, ())
                        if isinstance(b, int)
                    ]
        boundary: set[int] = set()
        for port in module.ports.values():
            for b in port.bits:
                if not isinstance(b, int):
                    continue
                if port.direction == "input":
                    driver.setdefault(b, ("port", None))
                else:
                    boundary.add(b)

        slew: dict[int, float] = {}
        drivers_of: dict[int, _Driver] = {}

        def net_slew(start: int) -> float:
            # Iterative DFS in topological order (combinational paths may be thousands deep).
            stack = [start]
            visiting: set[int] = set()
            while stack:
                bit = stack[-1]
                if bit in slew:
                    stack.pop()
                    continue
                kind, info = driver.get(bit, ("none", None))
                total = load.get(bit, 0.0) + (self.options.load_pf if bit in boundary else 0.0)
                if kind == "leaf":
                    inst_name, cell, pin = info  # type: ignore[misc]
                    inputs = leaf_in[(inst_name, pin)]
                    todo = [b for b in inputs if b not in slew and b not in visiting]
                    if todo:
                        visiting.add(bit)
                        stack.extend(todo)
                        continue
                    in_slew = max(
                        (slew[b] for b in inputs if b in slew), default=self.drive_in_slew
                    )
                    drivers_of[bit] = _Driver(cell, pin, in_slew, f"{inst_name}.{pin}")
                    slew[bit] = _worst_transition(cell, pin, in_slew, total)
                elif kind == "child":
                    prefix, drv = info  # type: ignore[misc]
                    if drv is None:  # a constant or a feed-through inside: the port's driver
                        slew[bit] = _worst_transition(
                            self.drive_cell, self.drive_pin, self.drive_in_slew, total
                        )
                    else:
                        drivers_of[bit] = _Driver(
                            drv.cell, drv.pin, drv.in_slew, prefix + drv.where
                        )
                        slew[bit] = _worst_transition(drv.cell, drv.pin, drv.in_slew, total)
                elif kind == "port":
                    slew[bit] = _worst_transition(
                        self.drive_cell, self.drive_pin, self.drive_in_slew, total
                    )
                else:
                    slew[bit] = 0.0  # undriven (constant-tied inputs are strings, not bits)
                visiting.discard(bit)
                stack.pop()
            return slew[start]

        names = module.bit_names()
        checks = []
        for bit in set(load) | set(driver):
            s = net_slew(bit)
            kind, _ = driver.get(bit, ("none", None))
            if kind == "none":
                continue
            total = load.get(bit, 0.0) + (self.options.load_pf if bit in boundary else 0.0)
            drv = drivers_of.get(bit)
            cell, pin = (drv.cell, drv.pin) if drv else (self.drive_cell, self.drive_pin)
            checks.append(
                NetCheck(
                    module.name,
                    names.get(bit, f"bit {bit}"),
                    f"{drv.where} ({cell.name})" if drv else "input port",
                    pins.get(bit, 0),
                    total,
                    s,
                    _load_max(cell, pin),
                    slew_max.get(bit, INF),
                    clock.get(bit, False),
                )
            )
        # What a parent needs.
        for port in module.ports.values():
            for i, b in enumerate(port.bits):
                if not isinstance(b, int):
                    continue
                k = (port.name, i)
                if port.direction == "input":
                    facts.in_load[k] = load.get(b, 0.0)
                    facts.in_pins[k] = pins.get(b, 0)
                    facts.in_slew_max[k] = slew_max.get(b, INF)
                    facts.in_clock[k] = clock.get(b, False)
                else:
                    net_slew(b)
                    facts.out_driver[k] = drivers_of.get(b)
                    facts.out_load[k] = load.get(b, 0.0)
                    facts.out_pins[k] = pins.get(b, 0)
        return checks


@dataclass(frozen=True)
class SlewReport:
    nets: int  # distinct nets checked (each module once)
    out_of_range: int  # data nets beyond the tables (each module once)
    out_of_range_instances: int  # the same, counted over every instance in one core
    worst: NetCheck  # the worst data net
    worst_clock: NetCheck | None
    clock_out_of_range: int
    worst_nets: list[NetCheck]  # the ten worst data nets


def check_slew(
    netlist: Netlist,
    lib: Library,
    options: MapOptions = MapOptions(),  # noqa: B008
    top: str | None = None,
) -> SlewReport:
    checker = SlewChecker(netlist, lib, options)
    root = top or netlist.top
    if root is None:
        raise LibertyError("netlist has no top module")
    counts = netlist.instance_counts(root)
    for name in counts:
        checker.facts(name)
    every = [c for name in counts for c in checker.checks[name]]
    data = sorted((c for c in every if not c.clock), key=lambda c: -c.severity)
    clocks = sorted((c for c in every if c.clock), key=lambda c: -c.severity)
    if not data:
        raise LibertyError("no data nets to check")
    bad = [c for c in data if not c.ok]
    return SlewReport(
        len(every),
        len(bad),
        sum(counts[c.module] for c in bad),
        data[0],
        clocks[0] if clocks else None,
        sum(not c.ok for c in clocks),
        data[:10],
    )

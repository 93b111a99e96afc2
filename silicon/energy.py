"""Energy of a gate-level netlist from Liberty data and measured switching activity (pure).

Three parts, per cell or net, summed by block:

* **switching**: every toggle of a net charges or discharges its load, ``1/2 C V^2`` per
  toggle with ``C`` the sum of the Liberty input capacitances of the pins the net drives and
  ``V`` the library's nominal voltage. No wire load (the library has no wire-load model and
  there is no layout): real energy is higher, and the same for every design compared.
* **internal**: the Liberty ``internal_power`` tables, energy per transition. An output pin's
  rise (fall) costs its ``rise_power`` (``fall_power``) at the net's load and the input
  transition of the related pin; which input caused the transition is not known in a
  zero-delay count, so the arcs of the pin are averaged (OpenSTA weighs them by input
  activity instead). An input pin with its own table (the flip-flops' CLK and D) costs its
  table at that input's transition per input rise / fall.
* **leakage**: ``cell_leakage_power`` x simulated time (cycles x clock period).

Transitions (slews): a net driven by a cell has the mean of the driver's rise/fall
transition tables at the net's load and a nominal input transition (one level, no
propagation through the netlist); a primary input has the nominal transition. All table
look-ups are in library units; results are joules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from silicon.flat import FlatNetlist, check_cells
from silicon.liberty import Library, Pin

NOMINAL_SLEW_NS = 0.1  # input transition of primary inputs / the slew look-ups (library ns)
PARTS = ("switching", "internal", "leakage")


@dataclass(frozen=True)
class Activity:
    rises: Mapping[int, int]  # net id -> 0->1 transitions in the simulated window
    falls: Mapping[int, int]
    seconds: float  # simulated time (cycles x clock period), for leakage


@dataclass
class EnergyReport:
    """Joules by block and part (switching / internal / leakage)."""

    blocks: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, block: str, part: str, joules: float) -> None:
        row = self.blocks.setdefault(block, dict.fromkeys(PARTS, 0.0))
        row[part] += joules

    def part(self, part: str) -> float:
        return sum(row[part] for row in self.blocks.values())

    @property
    def total(self) -> float:
        return sum(sum(row.values()) for row in self.blocks.values())

    def block_total(self, block: str) -> float:
        return sum(self.blocks.get(block, {}).values())


def _pin(lib: Library, cell_type: str, pin: str) -> Pin:
    return lib.cell(cell_type).pins[pin]


def net_loads(netlist: FlatNetlist, lib: Library) -> dict[int, float]:
    """net id -> total input-pin capacitance it drives (library capacitance units)."""
    loads: dict[int, float] = defaultdict(float)
    for cell in netlist.cells:
        for pin, bits in cell.connections.items():
            p = _pin(lib, cell.type, pin)
            if p.direction == "input":
                for bit in bits:
                    if isinstance(bit, int):
                        loads[bit] += p.capacitance
    return loads


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def net_slews(
    netlist: FlatNetlist, lib: Library, loads: Mapping[int, float], nominal: float
) -> dict[int, float]:
    """net id -> transition time (library units): the driver's transition tables at the net's
    load and a `nominal` input transition; nets without a driving cell get `nominal`."""
    slews: dict[int, float] = {}
    for cell in netlist.cells:
        for pin, bits in cell.connections.items():
            p = _pin(lib, cell.type, pin)
            if p.direction != "output":
                continue
            for bit in bits:
                if not isinstance(bit, int):
                    continue
                load = loads.get(bit, 0.0)
                tables = [
                    t
                    for arc in p.timing
                    for t in (arc.rise_transition, arc.fall_transition)
                    if t is not None
                ]
                found = [t.at(transition=nominal, load=load) for t in tables]
                slews[bit] = _mean(found) if found else nominal
    return slews


def _drivers(netlist: FlatNetlist, lib: Library) -> dict[int, int]:
    """net id -> index of the cell driving it."""
    out: dict[int, int] = {}
    for index, cell in enumerate(netlist.cells):
        for pin, bits in cell.connections.items():
            if _pin(lib, cell.type, pin).direction == "output":
                for bit in bits:
                    if isinstance(bit, int):
                        out[bit] = index
    return out


def energy(
    netlist: FlatNetlist,
    lib: Library,
    activity: Activity,
    block_of: Callable[[str], str],
    port_block: Callable[[str], str] = lambda port: "inputs",
    nominal_slew: float = NOMINAL_SLEW_NS,
) -> EnergyReport:
    """Switching, internal and leakage energy (J) of `netlist` under `activity`, by block.

    `block_of(cell name)` names a cell's block; a net's switching energy goes to the block
    of the cell driving it, or to `port_block(port name)` for a net driven by an input port.
    Raises LibertyError naming a netlist cell (or pin) the library lacks.
    """
    check_cells(netlist, lib)
    loads = net_loads(netlist, lib)
    slews = net_slews(netlist, lib, loads, nominal_slew)
    drivers = _drivers(netlist, lib)
    volts = lib.nom_voltage
    e_unit = lib.energy_unit_j
    report = EnergyReport()
    blocks = [block_of(cell.name) for cell in netlist.cells]
    port_of = {
        bit: name
        for name, (direction, bits) in netlist.ports.items()
        if direction == "input"
        for bit in bits
        if isinstance(bit, int)
    }
    # switching: every net that toggled
    for net in set(activity.rises) | set(activity.falls):
        toggles = activity.rises.get(net, 0) + activity.falls.get(net, 0)
        if not toggles:
            continue
        joules = 0.5 * loads.get(net, 0.0) * lib.cap_unit_f * volts**2 * toggles
        if net in drivers:
            block = blocks[drivers[net]]
        elif net in port_of:
            block = port_block(port_of[net])
        else:
            continue  # an undriven net (never toggles in a sound simulation)
        report.add(block, "switching", joules)
    # internal: output pins per output transition, input pins with a table per input edge
    for index, cell in enumerate(netlist.cells):
        libcell = lib.cell(cell.type)
        for pin, bits in cell.connections.items():
            p = libcell.pins[pin]
            for bit in bits:
                if not isinstance(bit, int):
                    continue
                rises, falls = activity.rises.get(bit, 0), activity.falls.get(bit, 0)
                if not (rises or falls) or not p.internal_power:
                    continue
                if p.direction == "output":
                    load = loads.get(bit, 0.0)
                    e_rise, e_fall = [], []
                    for arc in p.internal_power:
                        slew = nominal_slew
                        if arc.related_pin in cell.connections:
                            rel = cell.connections[arc.related_pin][0]
                            slew = slews.get(rel, nominal_slew) if isinstance(rel, int) else slew
                        if arc.rise is not None:
                            e_rise.append(arc.rise.at(transition=slew, load=load))
                        if arc.fall is not None:
                            e_fall.append(arc.fall.at(transition=slew, load=load))
                    joules = (rises * _mean(e_rise) + falls * _mean(e_fall)) * e_unit
                else:
                    slew = slews.get(bit, nominal_slew)
                    joules = 0.0
                    for arc in p.internal_power:
                        if arc.rise is not None:
                            joules += rises * arc.rise.at(transition=slew, load=0.0)
                        if arc.fall is not None:
                            joules += falls * arc.fall.at(transition=slew, load=0.0)
                    joules *= e_unit
                report.add(blocks[index], "internal", joules)
        report.add(
            blocks[index], "leakage", libcell.leakage * lib.leakage_unit_w * activity.seconds
        )
    return report

"""Cell area of a mapped, hierarchical netlist, composed by instance counts.

Each distinct module was mapped once (hierarchical synthesis); its own area is the sum of its
library cells' Liberty ``area``; a module's inclusive area adds its sub-module instances', and
the core's total is the top's inclusive area, which equals sum(own area x instances in one
core). Liberty has no area unit; the OSU018 cells are in um^2 (a 0.18 um 1X inverter is 16).
Cell area only: no placement utilisation, no wiring, no macros.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from silicon.liberty import LibertyError, Library
from silicon.netlist import Netlist


@dataclass(frozen=True)
class ModuleCells:
    module: str  # Yosys module name
    instances: int  # in one top
    area: float  # own library cells, one instance (library area units, um^2)
    cells: int  # own library cells, one instance
    flops: int  # own sequential cells (ff / latch), one instance
    area_incl: float  # with its sub-module instances
    cells_incl: int


def module_cells(netlist: Netlist, lib: Library, top: str | None = None) -> list[ModuleCells]:
    """Per-module own and inclusive area; a cell type the library lacks raises LibertyError
    naming it and the module (e.g. a generic `$_DFF_` that dfflibmap could not map)."""
    root = top or netlist.top
    counts = netlist.instance_counts(root)

    def own(name: str) -> tuple[float, int, int]:
        area, cells, flops = 0.0, 0, 0
        for inst in netlist.modules[name].cells.values():
            if netlist.is_module(inst.type):
                continue
            if inst.type not in lib.cells:
                raise LibertyError(
                    f"netlist cell {inst.name} of module {name} has type {inst.type!r}, which "
                    f"library {lib.name} ({lib.path}) does not have"
                )
            cell = lib.cells[inst.type]
            area += cell.area
            cells += 1
            flops += cell.sequential
        return area, cells, flops

    @cache
    def inclusive(name: str) -> tuple[float, int]:
        area, cells, _ = own(name)
        for inst in netlist.modules[name].cells.values():
            if netlist.is_module(inst.type):
                a, c = inclusive(inst.type)
                area, cells = area + a, cells + c
        return area, cells

    out = []
    for name in counts:
        area, cells, flops = own(name)
        incl = inclusive(name)
        out.append(ModuleCells(name, counts[name], area, cells, flops, incl[0], incl[1]))
    return out


def total_area(modules: list[ModuleCells]) -> float:
    """The composed total: own area x instances, summed (equals the top's inclusive area)."""
    return sum(m.area * m.instances for m in modules)

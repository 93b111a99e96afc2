"""A flat, mapped gate-level netlist for the energy flow: Yosys ``write_json`` of one module.

Every net bit has Yosys' integer id; the energy model, the gate-level simulation and OpenSTA
all name a net by that id (``silicon.netlist_verilog`` writes net ``n<id>``), so the
switching activity measured in simulation lands on exactly the net the model reads.
Constant connections ("0", "1", "x") carry no activity and are kept as strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from silicon.liberty import LibertyError, Library

Bit = int | str  # net id, or a constant "0" / "1" / "x" / "z"


@dataclass(frozen=True)
class FlatCell:
    name: str  # hierarchical instance path after flatten (block attribution reads it)
    type: str  # library cell
    connections: dict[str, list[Bit]]


@dataclass(frozen=True)
class FlatNetlist:
    module: str
    ports: dict[str, tuple[str, list[Bit]]]  # name -> (direction, bits LSB first)
    cells: list[FlatCell]

    def port_bits(self) -> dict[int, str]:
        """net id -> the first port bit that carries it, as `name[i]` (or `name` for 1 bit)."""
        names: dict[int, str] = {}
        for port, (_, bits) in self.ports.items():
            for i, bit in enumerate(bits):
                if isinstance(bit, int) and bit not in names:
                    names[bit] = port if len(bits) == 1 else f"{port}[{i}]"
        return names


def netlist_from_json(data: dict, module: str | None = None) -> FlatNetlist:
    """The one module of a flattened Yosys JSON (or `module`); a hierarchical netlist (a cell
    whose type is another module of the file) is refused: the energy flow needs it flat."""
    # Library cells read with `read_liberty -lib` come along as blackbox modules: not logic.
    modules = {
        name: body
        for name, body in data.get("modules", {}).items()
        if not body.get("attributes", {}).get("blackbox")
    }
    if module is None:
        tops = [n for n, m in modules.items() if m.get("attributes", {}).get("top")]
        if len(tops) != 1 and len(modules) != 1:
            raise ValueError(f"JSON netlist has modules {sorted(modules)}: name the top one")
        module = tops[0] if len(tops) == 1 else next(iter(modules))
    body = modules[module]
    ports = {name: (p["direction"], list(p["bits"])) for name, p in body["ports"].items()}
    cells = []
    for name, cell in body["cells"].items():
        if cell["type"] in modules:
            raise ValueError(f"cell {name} instantiates module {cell['type']}: flatten first")
        cells.append(
            FlatCell(name, cell["type"], {p: list(b) for p, b in cell["connections"].items()})
        )
    return FlatNetlist(module, ports, cells)


def read_netlist(path: Path, module: str | None = None) -> FlatNetlist:
    return netlist_from_json(json.loads(Path(path).read_text()), module)


def check_cells(netlist: FlatNetlist, lib: Library) -> None:
    """Every cell type and pin of the netlist exists in `lib`, else LibertyError naming it."""
    seen: set[str] = set()
    for cell in netlist.cells:
        if cell.type in seen:
            continue
        libcell = lib.cell(cell.type)  # raises LibertyError naming the cell and the library
        missing = sorted(set(cell.connections) - set(libcell.pins))
        if missing:
            raise LibertyError(
                f"cell {cell.name} ({cell.type}) uses pins {missing} that {lib.name} "
                f"({lib.path}) does not define for {cell.type}"
            )
        seen.add(cell.type)

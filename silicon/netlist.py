"""Reader for Yosys ``write_json`` netlists (mapped to a cell library), hierarchy kept.

One home for the netlist format the silicon flow (area, slew/load) and the energy model read.
A netlist holds modules; a module has ports, cell instances (a library cell or another module
of the netlist) and named nets. Connections are *bits*: an int is a net bit (unique within its
module), the strings "0", "1", "x", "z" are constants.

Directions of library-cell pins are not in the JSON (Yosys knows the cells only by name after
``abc -liberty``); take them from the Liberty (silicon.liberty). Directions of a sub-module's
pins are that module's port directions (``Netlist.pin_direction``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

Bit = int | str  # net bit id, or a constant "0" / "1" / "x" / "z"


class NetlistError(ValueError):
    """A netlist file that is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Port:
    name: str
    direction: str  # input | output | inout
    bits: tuple[Bit, ...]


@dataclass(frozen=True)
class Instance:
    name: str
    type: str  # library cell name, or a module name of the same netlist
    connections: dict[str, tuple[Bit, ...]]  # pin -> its bits (LSB first)


@dataclass(frozen=True)
class Module:
    name: str
    ports: dict[str, Port]
    cells: dict[str, Instance]
    netnames: dict[str, tuple[Bit, ...]]  # net name -> bits (public and Yosys-internal names)
    hidden: frozenset[str]  # Yosys-internal net names ($abc$..., hide_name)

    def bit_names(self) -> dict[int, str]:
        """Net bit -> a readable name `net[i]` (a public name where one exists)."""
        names: dict[int, str] = {}
        for public in (True, False):
            for net, bits in self.netnames.items():
                if (net in self.hidden) == public:
                    continue
                for i, b in enumerate(bits):
                    if isinstance(b, int) and b not in names:
                        names[b] = net if len(bits) == 1 else f"{net}[{i}]"
        return names


@dataclass(frozen=True)
class Netlist:
    modules: dict[str, Module]
    top: str | None  # the module with the `top` attribute, if any

    def is_module(self, cell_type: str) -> bool:
        return cell_type in self.modules

    def pin_direction(self, cell_type: str, pin: str) -> str | None:
        """Direction of a sub-module's pin; None for a type that is not a module here."""
        module = self.modules.get(cell_type)
        if module is None:
            return None
        port = module.ports.get(pin)
        if port is None:
            raise NetlistError(f"module {cell_type} has no port {pin}")
        return port.direction

    def instance_counts(self, top: str | None = None) -> dict[str, int]:
        """How many instances of each module one `top` holds (top itself counts 1)."""
        root = top or self.top
        if root is None or root not in self.modules:
            raise NetlistError(f"top module {root!r} not in the netlist")
        counts: Counter[str] = Counter()

        def walk(name: str, n: int) -> None:
            counts[name] += n
            children = Counter(c.type for c in self.modules[name].cells.values())
            for child, k in children.items():
                if child in self.modules:
                    walk(child, n * k)

        walk(root, 1)
        return dict(counts)


def _bits(raw: list[int | str], where: str) -> tuple[Bit, ...]:
    for b in raw:
        if not isinstance(b, int) and b not in ("0", "1", "x", "z"):
            raise NetlistError(f"{where}: bad bit {b!r}")
    return tuple(raw)


def netlist_from_json(data: dict, where: str = "<json>") -> Netlist:
    if "modules" not in data:
        raise NetlistError(f"{where}: not a Yosys JSON netlist (no 'modules')")
    modules: dict[str, Module] = {}
    top: str | None = None
    for name, m in data["modules"].items():
        if m.get("attributes", {}).get("blackbox"):
            continue
        top_attr = m.get("attributes", {}).get("top")
        if top_attr is not None and str(top_attr).strip("0"):  # "000...1" (binary) or 1
            top = name
        ports = {
            p: Port(p, v["direction"], _bits(v["bits"], f"{where}: {name}.{p}"))
            for p, v in m.get("ports", {}).items()
        }
        cells = {
            c: Instance(
                c,
                v["type"],
                {
                    pin: _bits(bits, f"{where}: {name}/{c}.{pin}")
                    for pin, bits in v["connections"].items()
                },
            )
            for c, v in m.get("cells", {}).items()
        }
        netnames = {n: _bits(v["bits"], f"{where}: {name}:{n}") for n, v in m["netnames"].items()}
        hidden = frozenset(n for n, v in m["netnames"].items() if v.get("hide_name"))
        modules[name] = Module(name, ports, cells, netnames, hidden)
    return Netlist(modules, top)


def read_netlist(path: Path) -> Netlist:
    """Read a Yosys `write_json` file."""
    path = Path(path)
    if not path.is_file():
        raise NetlistError(f"netlist not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise NetlistError(f"{path}: not JSON: {e}") from None
    return netlist_from_json(data, str(path))

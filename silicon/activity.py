"""Switching activity from Verilator's toggle coverage (``--coverage-toggle``), per net bit.

A coverage file (``coverage.dat``, "SystemC::Coverage-3") holds one line per cover point:
``C '<key>\\x02<value>\\x01...' <count>``; toggle points have page ``v_toggle/<module>``,
the signal in key ``o`` (``name[bit]:0->1`` / ``name[bit]:1->0``; an older Verilator writes
one point per bit without a direction, which is split evenly) and the instance in key ``h``.
Verilator samples settled values (zero-delay): a glitch within a time step is not counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_LINE = re.compile(r"^C '(.*)' (\d+)$")
_DIR = re.compile(r"^(.*):(0->1|1->0)$")


@dataclass
class Toggles:
    """signal name (as in the netlist Verilog) -> rises / falls, for one instance scope."""

    rises: dict[str, int] = field(default_factory=dict)
    falls: dict[str, int] = field(default_factory=dict)

    def total(self) -> int:
        return sum(self.rises.values()) + sum(self.falls.values())


def _fields(body: str) -> dict[str, str]:
    out = {}
    for item in body.split("\x01"):
        if "\x02" in item:
            key, value = item.split("\x02", 1)
            out[key] = value
    return out


def parse_toggles(text: str, scope: str) -> Toggles:
    """Toggle points of instances whose hierarchy ends with `scope` (e.g. ``.u_core.u_gates``)."""
    toggles = Toggles()
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        keys = _fields(match.group(1))
        if not keys.get("page", "").startswith("v_toggle/"):
            continue
        if not keys.get("h", "").endswith(scope):
            continue
        count = int(match.group(2))
        name = keys.get("o", "")
        directed = _DIR.match(name)
        if directed:
            signal, way = directed.groups()
            target = toggles.rises if way == "0->1" else toggles.falls
            target[signal] = target.get(signal, 0) + count
        else:
            toggles.rises[name] = toggles.rises.get(name, 0) + (count + 1) // 2
            toggles.falls[name] = toggles.falls.get(name, 0) + count // 2
    return toggles


def read_toggles(path: Path, scope: str) -> Toggles:
    return parse_toggles(Path(path).read_text(errors="replace"), scope)


def by_net(toggles: Toggles, names: dict[int, str]) -> tuple[dict[int, int], dict[int, int]]:
    """Signal names -> net ids (`names`: net id -> Verilog name, netlist_verilog.net_names).
    A net name missing from the coverage (Verilator dropped a point) is an error: the
    activity must cover the netlist the model reads."""
    index = {name: net for net, name in names.items()}
    rises: dict[int, int] = {}
    falls: dict[int, int] = {}
    for table, out in ((toggles.rises, rises), (toggles.falls, falls)):
        for name, count in table.items():
            net = index.get(name)
            if net is not None:
                out[net] = count
    missing = [n for n in names.values() if n not in toggles.rises and n not in toggles.falls]
    if missing:
        raise ValueError(
            f"{len(missing)} of {len(names)} netlist nets have no toggle point in the coverage "
            f"file (first: {missing[:3]}): the activity does not match the netlist"
        )
    return rises, falls

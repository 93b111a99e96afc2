"""silicon.netlist on the hand-written netlist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from silicon.netlist import NetlistError, netlist_from_json, read_netlist
from silicon.tests.hand import hand_netlist


def test_reads_modules_ports_cells_nets(tmp_path: Path) -> None:
    path = tmp_path / "hand.json"
    path.write_text(json.dumps(hand_netlist()))
    net = read_netlist(path)
    assert net.top == "top" and set(net.modules) == {"top", "leaf"}
    top = net.modules["top"]
    assert top.ports["y"].direction == "output" and top.ports["y"].bits == (6, 7)
    assert top.cells["l0"].type == "leaf" and top.cells["u0"].connections["Y"] == (4,)
    names = top.bit_names()
    assert names[4] == "n1" and names[6] == "y[0]" and names[5] == "n2"
    assert net.is_module("leaf") and not net.is_module("INV")
    assert net.pin_direction("leaf", "q") == "output" and net.pin_direction("INV", "A") is None
    assert net.instance_counts() == {"top": 1, "leaf": 2}


def test_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(NetlistError, match="not found"):
        read_netlist(tmp_path / "none.json")
    with pytest.raises(NetlistError, match="no 'modules'"):
        netlist_from_json({})
    with pytest.raises(NetlistError, match="no port"):
        netlist_from_json(hand_netlist()).pin_direction("leaf", "zz")

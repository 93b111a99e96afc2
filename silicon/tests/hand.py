"""A hand-written mapped netlist on tiny.lib (Yosys write_json shape) for silicon's tests.

top: INV u0 (a -> n1), INV u1 (n1 -> n2), two `leaf` instances on n2 (-> y0, y1).
leaf: INV i (d -> nd), DFF f (D = nd, CLK = clk, Q = q).
Area by hand: top 2 * 16 + 2 * leaf (16 + 96) = 256.
"""

from __future__ import annotations

from typing import Any

HAND_AREA = 2 * 16 + 2 * (16 + 96)


def _cell(kind: str, **pins: list[int | str]) -> dict[str, Any]:
    return {"hide_name": 0, "type": kind, "parameters": {}, "attributes": {}, "connections": pins}


def _net(bits: list[int | str], hidden: int = 0) -> dict[str, Any]:
    return {"hide_name": hidden, "bits": bits, "attributes": {}}


def hand_netlist(fanout: int = 0) -> dict[str, Any]:
    """The netlist above; `fanout` > 0 adds that many INV loads on the top's net n1."""
    top_cells = {
        "u0": _cell("INV", A=[2], Y=[4]),
        "u1": _cell("INV", A=[4], Y=[5]),
        "l0": _cell("leaf", clk=[3], d=[5], q=[6]),
        "l1": _cell("leaf", clk=[3], d=[5], q=[7]),
    }
    for k in range(fanout):
        top_cells[f"fan{k}"] = _cell("INV", A=[4], Y=[100 + k])
    return {
        "creator": "hand",
        "modules": {
            "top": {
                "attributes": {"top": "00000000000000000000000000000001"},
                "ports": {
                    "a": {"direction": "input", "bits": [2]},
                    "clk": {"direction": "input", "bits": [3]},
                    "y": {"direction": "output", "bits": [6, 7]},
                },
                "cells": top_cells,
                "netnames": {
                    "a": _net([2]),
                    "clk": _net([3]),
                    "n1": _net([4]),
                    "n2": _net([5], hidden=1),
                    "y": _net([6, 7]),
                },
            },
            "leaf": {
                "attributes": {},
                "ports": {
                    "clk": {"direction": "input", "bits": [2]},
                    "d": {"direction": "input", "bits": [3]},
                    "q": {"direction": "output", "bits": [4]},
                },
                "cells": {
                    "i": _cell("INV", A=[3], Y=[5]),
                    "f": _cell("DFF", D=[5], CLK=[2], Q=[4]),
                },
                "netnames": {"clk": _net([2]), "d": _net([3]), "q": _net([4]), "nd": _net([5])},
            },
        },
    }

"""Which block of flexcim_core a cell of the flat netlist belongs to, from its instance path.

Yosys' flatten prefixes every cell with the instance path it came from
(``$flatten\\gen_submacro[0].u_submacro.\\gen_row[0].gen_col[2].u_cell.$abc$...``); the
instance names are the RTL's (rtl/flexcim_core.sv and below). The first match wins, in the
order of BLOCKS, innermost first.
"""

from __future__ import annotations

import re

# (block, instance-name pattern), innermost first.
BLOCKS: tuple[tuple[str, str], ...] = (
    ("cells (weight regs + multipliers)", r"\.?u_cell\."),
    ("column adder trees", r"\.?u_col_tree\."),
    ("distribution", r"(^|\.|\\)u_dist\."),
    ("merge tree + accumulators", r"(^|\.|\\)u_merge\."),
    ("control + CSRs", r"(^|\.|\\)u_(ctrl|axil)\."),
    ("sub-macro other", r"(^|\.|\\)u_submacro\."),
)
FRONT_END = "stream front end (select regs, activation buffer)"
CLOCK = "clock net"
INPUTS = "input stream wires"
ORDER = [b for b, _ in BLOCKS] + [FRONT_END, CLOCK, INPUTS]
_COMPILED = [(block, re.compile(pattern)) for block, pattern in BLOCKS]


def block_of(cell_name: str) -> str:
    """The block of a flattened cell; the core's own cells are the stream front end."""
    for block, pattern in _COMPILED:
        if pattern.search(cell_name):
            return block
    return FRONT_END


def port_block(port: str) -> str:
    """The block a net driven by an input port counts under (its load's switching energy)."""
    return CLOCK if port == "clk_i" else INPUTS

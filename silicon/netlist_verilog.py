"""Structural Verilog of a `FlatNetlist`, with net names the activity can be mapped back by.

A net that is a port bit keeps the port's name (`s_axis_w_tdata[5]`); every other net is
`n<id>` (Yosys' bit id). Cell instances are `c<index>` (index into `FlatNetlist.cells`, whose
hierarchical names the energy report keeps). The same text feeds Verilator (toggle coverage
names the nets exactly so) and OpenSTA, which rejects Yosys' own write_verilog when it holds
alias wires: here a net has one name, and `assign` appears only where a port bit repeats
another port bit or a constant.

`sim_wrapper` adds the parameterised `flexcim_core` shell the fast-path testbench
instantiates (the gate-level module has no parameters) and a stub of the RTL checker, which
synthesis drops (`ifndef SYNTHESIS`): cocotb's AssertionWatcher finds its counters at zero.
"""

from __future__ import annotations

from silicon.flat import Bit, FlatNetlist

GATES_MODULE = "flexcim_core_gates"
STUB_MODULE = "flexcim_gates_assert_stub"


def net_names(netlist: FlatNetlist) -> dict[int, str]:
    """net id -> its Verilog name in `write_verilog`'s text."""
    names = netlist.port_bits()
    for cell in netlist.cells:
        for bits in cell.connections.values():
            for bit in bits:
                if isinstance(bit, int) and bit not in names:
                    names[bit] = f"n{bit}"
    return names


def _expr(bit: Bit, names: dict[int, str]) -> str:
    if isinstance(bit, int):
        return names[bit]
    return {"0": "1'b0", "1": "1'b1"}.get(bit, "1'b0")  # x / z: zero (no activity)


def _concat(bits: list[Bit], names: dict[int, str]) -> str:
    if len(bits) == 1:
        return _expr(bits[0], names)
    return "{" + ", ".join(_expr(b, names) for b in reversed(bits)) + "}"


def _decl(direction: str, name: str, width: int) -> str:
    rng = f"[{width - 1}:0] " if width > 1 else ""
    return f"  {direction} wire {rng}{name}"


def write_verilog(netlist: FlatNetlist, module: str = GATES_MODULE) -> str:
    names = net_names(netlist)
    lines = [f"module {module} ("]
    ports = list(netlist.ports.items())
    lines += [
        _decl(d, n, len(bits)) + ("," if i < len(ports) - 1 else "")
        for i, (n, (d, bits)) in enumerate(ports)
    ]
    lines.append(");")
    port_nets = set(netlist.port_bits())
    lines += [f"  wire {names[b]};" for b in sorted(names) if b not in port_nets]
    # Output port bits that are not the first name of their net (a repeated bit, a constant).
    for port, (direction, bits) in ports:
        if direction != "output":
            continue
        for i, bit in enumerate(bits):
            target = port if len(bits) == 1 else f"{port}[{i}]"
            if not isinstance(bit, int) or names[bit] != target:
                lines.append(f"  assign {target} = {_expr(bit, names)};")
    for index, cell in enumerate(netlist.cells):
        pins = ", ".join(f".{p}({_concat(b, names)})" for p, b in cell.connections.items())
        lines.append(f"  {cell.type} c{index} ({pins});")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def sim_wrapper(netlist: FlatNetlist, params: dict[str, int], top: str = "flexcim_core") -> str:
    """`top` with the RTL's parameters (unused) around `GATES_MODULE`, plus the checker stub."""
    plist = ",\n".join(f"  parameter int {k} = {v}" for k, v in params.items())
    ports = list(netlist.ports.items())
    decls = ",\n".join(_decl(d, n, len(b)) for n, (d, b) in ports)
    conns = ", ".join(f".{n}({n})" for n, _ in ports)
    return (
        "/* verilator coverage_off */\n"
        "/* verilator lint_off DECLFILENAME */\n/* verilator lint_off UNUSEDPARAM */\n"
        f"module {top} #(\n{plist}\n) (\n{decls}\n);\n"
        f"  {GATES_MODULE} u_gates ({conns});\n"
        f"  {STUB_MODULE} u_assert ();\n"
        "endmodule\n\n"
        f"module {STUB_MODULE};\n"
        "  int unsigned     fail_count = 0;\n"
        "  logic [8*40-1:0] first_fail = '0;\n"
        "endmodule\n"
    )

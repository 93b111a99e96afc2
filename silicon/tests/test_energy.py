"""silicon.energy on hand cases (energy_tiny.lib, V = 2 V so 1/2 C V^2 = 2 C; pJ, ns), the
toggle reader, the netlist writer and the clear errors for a missing library or cell."""

from __future__ import annotations

from pathlib import Path

import pytest

from silicon.activity import by_net, parse_toggles
from silicon.energy import Activity, energy
from silicon.flat import FlatCell, FlatNetlist
from silicon.gate_synth import synthesize
from silicon.liberty import LibertyError, read_liberty
from silicon.netlist_verilog import net_names, write_verilog

LIB = read_liberty(Path(__file__).with_name("energy_tiny.lib"))
PJ = 1e-12


def _one_block(_: str) -> str:
    return "blk"


def flip_flop() -> FlatNetlist:
    ports = {"clk": ("input", [2]), "d": ("input", [3]), "q": ("output", [4])}
    return FlatNetlist("ff", ports, [FlatCell("u.ff", "DFF", {"CLK": [2], "D": [3], "Q": [4]})])


def test_one_flip_flop_toggling() -> None:
    act = Activity({2: 10, 3: 3, 4: 3}, {2: 10, 3: 2, 4: 2}, seconds=100e-9)
    rep = energy(flip_flop(), LIB, act, _one_block)
    # switching: clk 0.03 pF x 20 toggles, d 0.02 pF x 5 toggles, q drives only a port
    assert rep.part("switching") == pytest.approx((2 * 0.03 * 20 + 2 * 0.02 * 5) * PJ)
    # internal: CLK pin 10 x 0.005 + 10 x 0.004, Q 3 x 0.006 + 2 x 0.002
    assert rep.part("internal") == pytest.approx((0.09 + 0.022) * PJ)
    assert rep.part("leakage") == pytest.approx(2e-9 * 100e-9)  # 2 nW x 100 ns
    assert rep.total == pytest.approx(1.5122 * PJ)
    assert set(rep.blocks) == {"blk", "inputs"}  # port-driven nets go to the port's block


def inverter_chain() -> FlatNetlist:
    cells = [
        FlatCell("c0", "INV", {"A": [2], "Y": [3]}),
        FlatCell("c1", "INV", {"A": [3], "Y": [4]}),
        FlatCell("c2", "INV", {"A": [4], "Y": [5]}),
    ]
    return FlatNetlist("chain", {"a": ("input", [2]), "y": ("output", [5])}, cells)


def test_inverter_chain() -> None:
    two = {2: 2, 3: 2, 4: 2, 5: 2}
    rep = energy(inverter_chain(), LIB, Activity(two, two, 1e-6), _one_block)
    assert rep.part("switching") == pytest.approx(3 * 2 * 0.01 * 4 * PJ)  # three loaded nets
    # rise_power at load 0.01 pF interpolates to 0.002 (c0, c1); at no load 0.001 (c2)
    assert rep.part("internal") == pytest.approx((0.006 + 0.006 + 0.004) * PJ)
    assert rep.part("leakage") == pytest.approx(3 * 1e-9 * 1e-6)
    assert rep.total == pytest.approx(0.259 * PJ)


def full_adder() -> FlatNetlist:
    ports = {
        "a": ("input", [2]),
        "b": ("input", [3]),
        "c": ("input", [4]),
        "s": ("output", [5]),
        "co": ("output", [6]),
    }
    cell = FlatCell("fa", "FA", {"A": [2], "B": [3], "C": [4], "YS": [5], "YC": [6]})
    return FlatNetlist("fa", ports, [cell])


def test_full_adder_averages_the_arcs() -> None:
    act = Activity({2: 2, 3: 1, 5: 2, 6: 1}, {2: 2, 3: 1, 5: 1, 6: 1}, 1e-6)
    rep = energy(full_adder(), LIB, act, _one_block)
    assert rep.part("switching") == pytest.approx((2 * 0.01 * 4 + 2 * 0.01 * 2) * PJ)
    # YS: rise arcs 0.01 / 0.02 / 0.03 -> 0.02, fall 0.004 / 0.005 / 0.006 -> 0.005
    assert rep.part("internal") == pytest.approx((2 * 0.02 + 0.005 + 0.01 + 0.002) * PJ)
    assert rep.total == pytest.approx(0.18 * PJ)


def test_more_toggles_cost_more() -> None:
    """Mutant: the same design with one net toggling more must give a higher figure."""
    base = Activity({2: 2, 3: 2, 4: 2, 5: 2}, {2: 2, 3: 2, 4: 2, 5: 2}, 1e-6)
    more = Activity({**base.rises, 3: 5}, {**base.falls, 3: 5}, 1e-6)
    low = energy(inverter_chain(), LIB, base, _one_block).total
    assert energy(inverter_chain(), LIB, more, _one_block).total > low
    longer = FlatNetlist(  # and a design with one more loaded inverter, same activity
        "chain4",
        {"a": ("input", [2]), "y": ("output", [5])},
        [*inverter_chain().cells, FlatCell("c3", "INV", {"A": [5], "Y": [6]})],
    )
    assert energy(longer, LIB, base, _one_block).total > low


def test_a_cell_the_library_lacks_is_named() -> None:
    bad = FlatNetlist("x", {"a": ("input", [2])}, [FlatCell("u.g", "NAND9X1", {"A": [2]})])
    with pytest.raises(LibertyError, match=r"NAND9X1.*energy_tiny"):
        energy(bad, LIB, Activity({}, {}, 0.0), _one_block)
    pinless = FlatNetlist("x", {"a": ("input", [2])}, [FlatCell("u.g", "INV", {"Z": [2]})])
    with pytest.raises(LibertyError, match=r"u\.g \(INV\).*\['Z'\]"):
        energy(pinless, LIB, Activity({}, {}, 0.0), _one_block)


def test_a_missing_library_is_named(tmp_path: Path) -> None:
    with pytest.raises(LibertyError, match=r"nowhere\.lib"):
        synthesize("small", lib=tmp_path / "nowhere.lib", out=tmp_path)


def test_toggle_coverage_maps_to_nets() -> None:
    netlist = inverter_chain()
    names = net_names(netlist)
    assert names == {2: "a", 5: "y", 3: "n3", 4: "n4"}
    h = "\x01h\x02TOP.tb.u_core.u_gates"
    lines = ["# SystemC::Coverage-3"]
    for name, (r, f) in {"a": (2, 1), "n3": (1, 2), "n4": (0, 0), "y": (1, 1)}.items():
        for way, count in (("0->1", r), ("1->0", f)):
            lines.append(f"C '\x01page\x02v_toggle/g\x01o\x02{name}:{way}{h}\x01' {count}")
    lines.append("C '\x01page\x02v_toggle/tb\x01o\x02n3:0->1\x01h\x02TOP.tb\x01' 99")  # outside
    rises, falls = by_net(parse_toggles("\n".join(lines), ".u_core.u_gates"), names)
    assert rises == {2: 2, 3: 1, 4: 0, 5: 1} and falls == {2: 1, 3: 2, 4: 0, 5: 1}
    with pytest.raises(ValueError, match="no toggle point"):
        by_net(parse_toggles("\n".join(lines[:3]), ".u_core.u_gates"), names)


def test_netlist_verilog_has_one_name_per_net() -> None:
    netlist = FlatNetlist(
        "m",
        {"a": ("input", [2]), "y": ("output", [3, "0"]), "z": ("output", [3])},
        [FlatCell("x", "INV", {"A": [2], "Y": [3]})],
    )
    text = write_verilog(netlist, "m")
    assert "  INV c0 (.A(a), .Y(y[0]));" in text
    assert "assign y[1] = 1'b0;" in text and "assign z = y[0];" in text
    assert "wire n" not in text  # every net here is a port bit

"""silicon.area and silicon.slew on the hand netlist (tiny.lib): sums and slews by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from silicon.area import module_cells, total_area
from silicon.liberty import LibertyError, read_liberty
from silicon.netlist import netlist_from_json
from silicon.report import baseline_pairs
from silicon.slew import check_slew
from silicon.synth import MapOptions, map_design
from silicon.tests.hand import HAND_AREA, hand_netlist

LIB = read_liberty(Path(__file__).with_name("tiny.lib"))
OPTIONS = MapOptions(driving_cell="INV", load_pf=0.0)


def test_area_is_the_hand_sum() -> None:
    mods = {m.module: m for m in module_cells(netlist_from_json(hand_netlist()), LIB)}
    assert total_area(list(mods.values())) == HAND_AREA
    assert mods["leaf"].instances == 2 and mods["leaf"].area == 16 + 96
    assert mods["leaf"].flops == 1 and mods["top"].flops == 0
    assert mods["top"].area == 2 * 16 and mods["top"].area_incl == HAND_AREA
    assert mods["top"].cells_incl == 2 + 2 * 2


def test_a_cell_the_library_lacks_is_named() -> None:
    data = hand_netlist()
    data["modules"]["leaf"]["cells"]["i"]["type"] = "NAND9"
    with pytest.raises(LibertyError, match=r"'NAND9'.*tiny_lib"):
        module_cells(netlist_from_json(data), LIB)


def test_missing_library_is_named_before_yosys(tmp_path: Path) -> None:
    with pytest.raises(LibertyError, match=r"none\.lib"):
        map_design("tiny", liberty=tmp_path / "none.lib", out=tmp_path)


def test_slew_by_hand() -> None:
    report = check_slew(netlist_from_json(hand_netlist()), LIB, OPTIONS)
    nets = {c.net: c for c in report.worst_nets}
    n1 = nets["n1"]
    # Port a: INV at input slew 0 (the table's fastest) and load 0.01 -> rise 0.2 (the worse).
    # n1: INV u0 at input slew 0.2 and load 0.01 (u1.A) -> rise 0.24, fall 0.12.
    assert n1.load == pytest.approx(0.01)
    assert n1.slew == pytest.approx(0.24)
    assert (n1.load_max, n1.slew_max) == (0.1, 1.0)
    assert n1.ok and report.out_of_range == 0
    # n2 feeds both leaf instances: their internal load (leaf.i.A), two pins.
    assert nets["n2"].load == pytest.approx(0.02) and nets["n2"].fanout == 2
    assert report.worst_clock is not None and report.worst_clock.net == "clk"
    assert report.worst_clock.load == pytest.approx(0.06)  # two DFF clock pins


def test_slew_check_flags_a_huge_fanout() -> None:
    report = check_slew(netlist_from_json(hand_netlist(fanout=50)), LIB, OPTIONS)
    # n1 overloaded; its slow edge then drives u1, whose output n2 is too slow as well.
    assert {c.net for c in report.worst_nets if not c.ok} == {"n1", "n2"}
    assert report.out_of_range == 2
    worst = report.worst
    assert worst.net == "n1" and worst.fanout == 51 and not worst.ok
    assert worst.load == pytest.approx(0.51) and worst.load > worst.load_max


def test_baseline_pairs() -> None:
    names = ["small", "small_dense", "small_fixed12", "paper_fixed24", "tiny"]
    assert baseline_pairs(names) == [("small", "small_dense"), ("small", "small_fixed12")]

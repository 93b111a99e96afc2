"""silicon.liberty: the hand-written tiny.lib checked by hand, and the real OSU018 library."""

from __future__ import annotations

from pathlib import Path

import pytest

from silicon.liberty import (
    DEFAULT_LIBERTY,
    LibertyError,
    Table,
    library_from_text,
    read_liberty,
)

TINY = Path(__file__).with_name("tiny.lib")
HAVE_OSU = DEFAULT_LIBERTY.is_file()


def test_tiny_library_units_cells_pins() -> None:
    lib = read_liberty(TINY)
    assert lib.name == "tiny_lib"
    assert lib.nom_voltage == 1.8
    assert lib.time_unit_s == pytest.approx(1e-9)
    assert lib.cap_unit_f == pytest.approx(1e-12)
    assert lib.leakage_unit_w == pytest.approx(1e-9)
    assert lib.energy_unit_j == pytest.approx(1e-12)  # 1 pF * (1 V)^2
    assert set(lib.cells) == {"INV", "DFF"}
    inv, dff = lib.cells["INV"], lib.cells["DFF"]
    assert (inv.area, inv.leakage, inv.sequential) == (16.0, 0.5, False)
    assert (dff.area, dff.leakage, dff.sequential) == (96.0, 0.0, True)
    assert inv.pins["A"].capacitance == 0.01
    assert inv.pins["Y"].function == "(!A)"
    assert dff.pins["CLK"].capacitance == 0.03
    (power,) = inv.pins["A"].internal_power
    assert power.related_pin is None and power.rise is not None
    assert power.rise.lookup(0.5) == pytest.approx(2.0)
    (timing,) = inv.pins["Y"].timing
    assert timing.related_pin == "A" and timing.cell_rise is None
    rise = timing.rise_transition
    assert rise is not None
    assert rise.index_1 == (0.0, 0.1) and rise.index_2 == (0.0, 1.0)  # from the template
    assert rise.variable_1 == "total_output_net_capacitance"
    assert timing.fall_transition is not None and timing.fall_transition.index_1 == (0.0, 0.2)


def test_table_lookup_by_hand() -> None:
    t = Table((0.0, 0.1), (0.0, 1.0), ((0.1, 0.3), (1.1, 1.3)))
    assert t.lookup(0.0, 0.0) == pytest.approx(0.1)  # corners
    assert t.lookup(0.1, 1.0) == pytest.approx(1.3)
    assert t.lookup(0.05, 0.5) == pytest.approx(0.7)  # centre: mean of the corners
    assert t.lookup(0.0, 0.25) == pytest.approx(0.15)  # along index_2
    assert t.lookup(0.2, 0.0) == pytest.approx(2.1)  # linear extrapolation beyond index_1
    assert t.lookup(-0.1, 0.0) == pytest.approx(-0.9)
    assert t.lookup(0.0, 2.0) == pytest.approx(0.5)  # and beyond index_2
    assert t.in_range(0.1, 1.0) and not t.in_range(0.11, 0.5) and not t.in_range(0.05, -0.1)
    one_d = Table((0.0, 1.0, 3.0), (), ((1.0, 3.0, 4.0),))
    assert one_d.lookup(2.0) == pytest.approx(3.5)
    assert one_d.lookup(5.0) == pytest.approx(5.0)


def test_table_at_reads_the_template_axes() -> None:
    t = Table(
        (0.0, 0.1),
        (0.0, 1.0),
        ((0.1, 0.3), (1.1, 1.3)),
        "total_output_net_capacitance",
        "input_net_transition",
    )
    assert t.at(transition=1.0, load=0.0) == pytest.approx(0.3)
    assert t.range_of("load") == (0.0, 0.1) and t.range_of("transition") == (0.0, 1.0)


def test_missing_file_names_it_and_the_package(tmp_path: Path) -> None:
    with pytest.raises(LibertyError, match=r"nope\.lib"):
        read_liberty(tmp_path / "nope.lib")
    if not HAVE_OSU:
        with pytest.raises(LibertyError, match="qflow-tech-osu018"):
            read_liberty()


def test_malformed_text_names_the_line() -> None:
    with pytest.raises(LibertyError, match=r"<string>:3"):
        library_from_text('library (x) {\n  time_unit : "1ns";\n  cell (A) { area : 1; \n')
    with pytest.raises(LibertyError, match="capacitive_load_unit"):
        library_from_text(
            'library (x) { time_unit : "1ns"; nom_voltage : 1; leakage_power_unit : "1nW"; }'
        )


def test_unknown_cell_is_named() -> None:
    lib = read_liberty(TINY)
    with pytest.raises(LibertyError, match=r"'NAND9'.*tiny_lib"):
        lib.cell("NAND9")


@pytest.mark.skipif(not HAVE_OSU, reason="qflow-tech-osu018 not installed (make apt)")
def test_osu018() -> None:
    lib = read_liberty()
    assert lib.name == "osu018_stdcells" and lib.nom_voltage == 1.8
    assert len(lib.cells) == 32
    assert lib.cells["INVX1"].area == 16 and lib.cells["DFFPOSX1"].area == 96
    assert lib.cells["DFFPOSX1"].sequential and not lib.cells["FAX1"].sequential
    y = lib.cells["AND2X1"].pins["Y"]
    rise = y.timing[0].rise_transition
    assert rise is not None and y.timing[0].related_pin == "A"
    # values[0][0] of AND2X1 A->Y rise_transition: load 0.005 pF, input transition 0.06 ns.
    assert rise.at(transition=0.06, load=0.005) == pytest.approx(0.03002)
    assert lib.cells["AND2X1"].pins["A"].capacitance == pytest.approx(0.0129077)

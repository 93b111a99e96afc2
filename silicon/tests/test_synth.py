"""The real flow on `tiny`: Yosys + OSU018, composed (hierarchical) vs flat, slew check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.area import area_from_report
from silicon.area import module_cells, total_area
from silicon.liberty import DEFAULT_LIBERTY, read_liberty
from silicon.netlist import read_netlist
from silicon.slew import check_slew
from silicon.synth import map_design

pytestmark = [
    pytest.mark.skipif(
        shutil.which("yosys") is None or not DEFAULT_LIBERTY.is_file(),
        reason="yosys or qflow-tech-osu018 not installed (make apt)",
    ),
    # One xdist worker for both tests (make test: --dist loadgroup): they share tiny's mapping.
    pytest.mark.xdist_group("silicon_tiny"),
]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("silicon")


def test_tiny_hierarchical_map(out: Path) -> None:
    run = map_design("tiny", out=out, progress=lambda _: None)
    lib = read_liberty()
    netlist = read_netlist(run.netlist)
    mods = module_cells(netlist, lib)
    area = total_area(mods)
    assert area == pytest.approx(run.yosys_area)  # composed == Yosys' own hierarchy total
    inst = {m.module.rsplit("\\", 1)[-1]: m.instances for m in mods}
    assert inst["flexcim_cell"] == 2 * 4 * 4  # P x R x C
    generic = area_from_report("tiny", run.params, run.generic_report.read_text(), run.seconds)
    assert generic.total_cells > 0 and 10 < area / generic.total_cells < 100
    slew = check_slew(netlist, lib)
    assert slew.nets > 1000 and slew.worst.load > 0
    again = map_design("tiny", out=out, progress=lambda _: None)
    assert again.cached and again.folder == run.folder


def test_tiny_composed_equals_flat(out: Path) -> None:
    lib = read_liberty()
    hier = map_design("tiny", out=out, progress=lambda _: None)
    flat = map_design("tiny", flat=True, out=out, progress=lambda _: None)
    composed = total_area(module_cells(read_netlist(hier.netlist), lib))
    flat_area = total_area(module_cells(read_netlist(flat.netlist), lib))
    assert composed == pytest.approx(flat_area, rel=0.02)  # measured +0.32 %

"""bench.area on the tiny configuration: real Yosys, numbers checked against the RTL structure."""

from __future__ import annotations

import shutil

import pytest

from bench.area import synthesize
from golden.config import HwConfig


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed (make apt)")
def test_tiny_area_matches_the_structure() -> None:
    cfg = HwConfig.named("tiny")
    area = synthesize("tiny")
    inst = {m.module: m.instances for m in area.modules}
    assert inst["flexcim_cell"] == cfg.P * cfg.R * cfg.C
    assert inst["flexcim_distribution"] == cfg.R
    assert inst["flexcim_submacro"] == cfg.P
    assert inst["flexcim_merge"] == inst["flexcim_ctrl"] == inst["flexcim_axil"] == 1
    # One q of QW bits per slot; the activation buffer is the rest of the core top's flops.
    assert area.select_flops == cfg.P * cfg.R * cfg.QW
    top = next(m for m in area.modules if m.module == "flexcim_core")
    assert top.flops == area.select_flops + cfg.R * cfg.A_TDATA
    cell = next(m for m in area.modules if m.module == "flexcim_cell")
    assert cell.flops == cfg.WB + 1 + cfg.WB + cfg.AB  # w, b, product register
    total = sum(m.cells * m.instances for m in area.modules)
    assert total == area.total_cells
    assert 0 < area.share("flexcim_distribution") < area.share("flexcim_merge") < 1

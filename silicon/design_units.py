"""The scaling units of a design for the energy composition: library cells and flip-flops per
block of its hierarchical OSU018 mapping (silicon.compose.block_units).

From the mapping of this build when it has one (silicon.synth, cached; units.json beside it),
else from the rows of a committed silicon.report JSON (`AREA_REPORTS`: make area's
silicon.json, docs/data/energy_units.json), else by mapping it (3-10 min at paper size). A design
whose mapping does not fit this machine takes units derived block by block from mapped ones
(`DERIVED`).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from silicon.compose import CompositionError, Units, block_units
from silicon.liberty import DEFAULT_LIBERTY
from tb.common.runner import ROOT

# Paper designs whose hierarchical mapping does not fit this machine (Yosys needs > 23 GB on
# paper_fixed24) or is not worth 10 min each: units derived block by block, (cells,
# flip-flops) of a mapped paper design x (small design / its small counterpart); the cell,
# tree and merge modules are the same RTL at both sizes, so the ratio carries the baseline's
# per-cell difference, and the RPB = R baselines take the front end of the mapped RPB = R core
# (`derived_units`).
DERIVED = {
    "paper_fixed12": ("paper_dense", "small_fixed12", "small_dense"),
    "paper_fixed24": ("paper_dense", "small_fixed24", "small_dense"),
    "paper_dense_rpb32": ("paper_g1_rpb32", "small_dense_rpb4", "small_g1_rpb4"),
    "paper_fixed12_rpb32": ("paper_g1_rpb32", "small_fixed12_rpb4", "small_g1_rpb4"),
    "paper_fixed24_rpb32": ("paper_g1_rpb32", "small_fixed24_rpb4", "small_g1_rpb4"),
}
# Committed hierarchical mappings (silicon.report rows) for designs not mapped in this build.
COMMITTED_AREA = (
    ROOT / "docs" / "data" / "silicon.json",
    ROOT / "docs" / "data" / "energy_units.json",
)


AREA_REPORTS: list[Path] = []  # silicon.report JSON files to take module rows from (--area)


def log(text: str) -> None:
    print(f"[units {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def derived_units(base: dict[str, Units], small: dict[str, Units], small_base: dict[str, Units]):
    """Per block, `base` x `small` / `small_base` (cells and flip-flops apart, rounded); a block
    the small design has and its base lacks raises CompositionError naming it."""
    out: dict[str, Units] = {}
    for block, u in small.items():
        b, sb = base.get(block), small_base.get(block)
        if b is None or sb is None:
            if u.cells or u.flops:
                raise CompositionError(f"derived units: block {block!r} missing in the base")
            out[block] = u
            continue
        cells = round(b.cells * u.cells / sb.cells) if sb.cells else 0
        flops = round(b.flops * u.flops / sb.flops) if sb.flops else 0
        out[block] = Units(cells, flops, u.core)
    return out


def hier_units(design: str, liberty: Path = DEFAULT_LIBERTY) -> dict:
    """The design's per-module cells and flip-flops from its hierarchical mapping (silicon.synth,
    cached; silicon.report's module rows), cached as units.json in the mapping's folder; or,
    when the design is not mapped here yet, from the first `AREA_REPORTS` file (`make area`'s
    silicon.json) that has it."""
    from silicon.synth import OUT as SYNTH_OUT
    from silicon.synth import MapOptions, config_params, run_key
    from tb.common.runner import core_sources

    key = run_key(core_sources("synth"), config_params(design), liberty, MapOptions(), False)
    mapped = (SYNTH_OUT / f"{design}-hier-{key}" / "run.json").is_file()
    for report in [] if mapped else AREA_REPORTS:
        for row in json.loads(report.read_text())["configs"]:
            if row["config"] == design:
                return {
                    "design": design,
                    "mapping": str(report),
                    "modules": row["modules"],
                    "cells": row["cells"],
                    "area_um2": row["area_um2"],
                }
    from bench.area import area_from_report
    from silicon.area import module_cells
    from silicon.liberty import read_liberty
    from silicon.netlist import read_netlist
    from silicon.report import module_rows
    from silicon.synth import map_design

    run = map_design(design, liberty=liberty, progress=log)
    cache = run.folder / "units.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    netlist = read_netlist(run.netlist)
    mods = module_cells(netlist, read_liberty(liberty))
    generic = area_from_report(design, run.params, run.generic_report.read_text(), run.seconds)
    rows = [asdict(r) for r in module_rows(netlist, mods, generic)]
    out = {
        "design": design,
        "mapping": str(run.folder),
        "modules": rows,
        "cells": sum(r["cells"] * r["instances"] for r in rows),
        "area_um2": sum(r["area_um2"] * r["instances"] for r in rows),
    }
    cache.write_text(json.dumps(out, indent=1) + "\n")
    return out


def target_units(target: str) -> tuple[dict[str, Units], dict]:
    """Blocks' units of `target` and its totals (cells, area, where they come from)."""
    if target not in DERIVED:
        info = hier_units(target)
        return block_units(info["modules"]), info
    base, small, small_base = (hier_units(d) for d in DERIVED[target])
    units = derived_units(*(block_units(x["modules"]) for x in (base, small, small_base)))
    scale = small["area_um2"] / small_base["area_um2"]
    info = {
        "mapping": f"derived: {' x '.join(DERIVED[target][:2])} / {DERIVED[target][2]}",
        "cells": sum(u.cells for u in units.values()),
        "area_um2": base["area_um2"] * scale,
    }
    return units, info

"""`make area`: per configuration, generic-cell counts and OSU018 cell area (um^2), per module.

``python -m silicon [config ...] [--flat CONFIG ...] [--liberty FILE]`` (default configs:
bench.area's).
For each configuration one cached Yosys run (silicon.synth) gives bench.area's generic counts
and the mapped netlist; silicon.area composes its um^2 by instance counts, silicon.slew checks
every net's load and slew against the library tables. ``--flat`` also maps those configurations
flattened and reports how far the composed total is from the flat one.

Writes build/area/area.{md,json} (bench.area's generic report, as `python -m bench.area` does)
and build/silicon/silicon.{md,json}. Baselines: a configuration named ``<name>_dense`` or
``<name>_fixed<k>`` is compared with ``<name>`` when both are in the run (FlexCiM's overhead).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.area import CONFIGS, CoreArea, _module_name, area_from_report
from bench.area import OUT as GENERIC_OUT
from bench.area import markdown as generic_markdown
from golden.cli import checked_configs, refuse
from golden.files import write_atomic
from silicon.area import ModuleCells, module_cells, total_area
from silicon.liberty import DEFAULT_LIBERTY, LibertyError, Library, read_liberty
from silicon.netlist import Netlist, read_netlist
from silicon.slew import NetCheck, SlewReport, check_slew
from silicon.synth import OUT, MapOptions, MappedRun, config_params, map_design

PROG = "python -m silicon"
_BASELINE = re.compile(r"^(?P<flex>.+)_(?:dense|fixed\d+)$")


@dataclass(frozen=True)
class ModuleRow:
    module: str  # RTL name (with its parents where one module has several variants)
    instances: int
    cells: int  # library cells of one instance, own
    flops: int
    area_um2: float  # own, one instance
    area_incl_um2: float  # with sub-instances, one instance
    generic_cells: int  # bench.area's generic cells of one instance, own (same Yosys run)
    yosys_module: str  # `$paramod$<hash of the parameters>\\name`: equal across configurations


@dataclass(frozen=True)
class SiliconArea:
    config: str
    params: dict[str, int]
    modules: list[ModuleRow]
    cells: int  # library cells of the whole core (composed)
    area_um2: float  # composed
    yosys_area_um2: float  # Yosys stat -liberty, the cross-check
    generic_cells: int  # bench.area's count, same run
    slew: dict  # SlewReport summary
    seconds: float
    cached: bool


def baseline_pairs(names: list[str]) -> list[tuple[str, str]]:
    """(flexcim, baseline) for every `<flex>_dense` / `<flex>_fixed<k>` whose <flex> is here."""
    pairs = []
    for name in names:
        m = _BASELINE.match(name)
        if m and m.group("flex") in names:
            pairs.append((m.group("flex"), name))
    return pairs


def module_rows(netlist: Netlist, mods: list[ModuleCells], generic: CoreArea) -> list[ModuleRow]:
    names = [m.module for m in mods]
    rows = []
    for m in mods:
        name = _module_name(m.module)
        if sum(_module_name(n) == name for n in names) > 1:
            parents = [
                p
                for p in names
                if any(c.type == m.module for c in netlist.modules[p].cells.values())
            ]
            name = f"{name} in {'/'.join(_module_name(p) for p in parents)}"
        # bench.area names modules the same way; it counts instances the same way too.
        gen = next((g for g in generic.modules if g.module == name), None)
        if gen is None or gen.instances != m.instances:
            raise RuntimeError(f"module {name}: no generic row with {m.instances} instances")
        rows.append(
            ModuleRow(name, m.instances, m.cells, m.flops, m.area, m.area_incl, gen.cells, m.module)
        )
    return rows


def _net(c: NetCheck) -> dict:
    return {
        "module": _module_name(c.module),
        "net": c.net,
        "driver": c.driver,
        "fanout": c.fanout,
        "load_pf": round(c.load, 5),
        "slew_ns": round(c.slew, 4),
        "load_max_pf": c.load_max,
        "slew_max_ns": c.slew_max,
    }


def _slew_summary(r: SlewReport) -> dict:
    return {
        "nets": r.nets,
        "out_of_range": r.out_of_range,
        "out_of_range_instances": r.out_of_range_instances,
        "worst": _net(r.worst),
        "worst_clock": _net(r.worst_clock) if r.worst_clock else None,
        "clock_out_of_range": r.clock_out_of_range,
        "worst_nets": [_net(c) for c in r.worst_nets],
        "buffers": r.buffers,
        "buffer_area_um2": r.buffer_area,
    }


def analyse(
    config: str, lib: Library, liberty: Path, options: MapOptions
) -> tuple[SiliconArea, CoreArea]:
    run = map_design(config, liberty=liberty, options=options, progress=_progress)
    return analyse_run(run, lib, options)


def analyse_run(run: MappedRun, lib: Library, options: MapOptions) -> tuple[SiliconArea, CoreArea]:
    """Area, slew check and generic counts of one finished (hierarchical) run's folder."""
    config = run.config
    start = time.perf_counter()
    netlist = read_netlist(run.netlist)
    mods = module_cells(netlist, lib)
    area = total_area(mods)
    if abs(area - run.yosys_area) > 1e-6 * max(area, 1.0):
        raise RuntimeError(f"{config}: composed {area} um^2 != yosys stat {run.yosys_area}")
    slew = check_slew(netlist, lib, options)
    generic = area_from_report(config, run.params, run.generic_report.read_text(), run.seconds)
    _progress(f"{config}: {area / 1e6:.3f} mm^2, checked in {time.perf_counter() - start:.1f} s")
    silicon = SiliconArea(
        config,
        run.params,
        module_rows(netlist, mods, generic),
        sum(m.cells * m.instances for m in mods),
        area,
        run.yosys_area,
        generic.total_cells,
        _slew_summary(slew),
        run.seconds,
        run.cached,
    )
    return silicon, generic


def finished_run(folder: Path) -> MappedRun:
    """A finished hierarchical run folder, as map_design would return it from the cache."""
    done = folder / "run.json"
    m = re.match(r"^(?P<config>.+)-hier-(?P<key>[0-9a-f]+)$", folder.name)
    if m is None or not done.is_file():
        raise SystemExit(refuse(PROG, f"{folder}: not a finished hierarchical run folder"))
    meta = json.loads(done.read_text())
    config = m.group("config")
    checked_configs([config], PROG)
    return MappedRun(
        config,
        config_params(config),
        False,
        folder,
        meta["seconds"],
        meta["yosys_area"],
        m.group("key"),
        True,
    )


def flat_vs_composed(
    config: str, lib: Library, liberty: Path, options: MapOptions
) -> dict[str, float]:
    """Map `config` hierarchically and flattened; the % difference of the totals."""
    hier = map_design(config, liberty=liberty, options=options, progress=_progress)
    flat = map_design(config, flat=True, liberty=liberty, options=options, progress=_progress)
    composed = total_area(module_cells(read_netlist(hier.netlist), lib))
    flat_area = total_area(module_cells(read_netlist(flat.netlist), lib))
    return {
        "config": config,
        "composed_um2": composed,
        "flat_um2": flat_area,
        "diff_pct": 100 * (composed - flat_area) / flat_area,
        "flat_seconds": flat.seconds,
    }


def best_known(areas: list[SiliconArea]) -> dict[str, float]:
    """Per configuration, the core's um^2 with every module at the smallest mapping any
    configuration of this report got for it (same RTL module, same parameters): ABC's result
    depends on its input's order, so one module can map a few % apart in two runs."""

    def key(a: SiliconArea, m: ModuleRow) -> str:
        # The top is renamed `core` in every run, whatever its parameters: never shared.
        return f"{a.config}:core" if m.yosys_module == "core" else m.yosys_module

    smallest: dict[str, float] = {}
    for a in areas:
        for m in a.modules:
            smallest[key(a, m)] = min(smallest.get(key(a, m), m.area_um2), m.area_um2)
    return {a.config: sum(smallest[key(a, m)] * m.instances for m in a.modules) for a in areas}


def markdown(areas: list[SiliconArea], flats: list[dict], lib: Library, options: MapOptions) -> str:
    out = [
        f"Library {lib.name} ({lib.path}), {lib.nom_voltage} V; ABC -D {options.period_ps} ps, "
        f"inputs driven by {options.driving_cell}, outputs load {options.load_pf} pF. "
        "Cell area only (no wires, no utilisation).",
        "",
        "| config | module | instances | generic cells (one) | cells | flops | um^2 (one) "
        "| um^2 incl. subs | x instances | share |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for a in areas:
        for m in a.modules:
            out.append(
                f"| {a.config} | {m.module} | {m.instances} | {m.generic_cells} | {m.cells} | "
                f"{m.flops} | "
                f"{m.area_um2:,.0f} | {m.area_incl_um2:,.0f} | "
                f"{m.area_um2 * m.instances:,.0f} | "
                f"{100 * m.area_um2 * m.instances / a.area_um2:.1f}% |"
            )
    out += [
        "",
        "| config | P x R x C | generic cells | library cells | area mm^2 | um^2 per generic cell "
        "| nets out of range | worst data net (load pF / slew ns) | buffer trees | yosys s |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for a in areas:
        p, w = a.params, a.slew["worst"]
        out.append(
            f"| {a.config} | {p['P']} x {p['R']} x {p['C']} | {a.generic_cells:,} | "
            f"{a.cells:,} | {a.area_um2 / 1e6:.3f} | {a.area_um2 / a.generic_cells:.1f} | "
            f"{a.slew['out_of_range']} ({a.slew['out_of_range_instances']} with instances) | "
            f"{w['module']} {w['net']}: {w['load_pf']:.3f} / {w['slew_ns']:.3f} "
            f"(max {w['load_max_pf']} / {w['slew_max_ns']}) | "
            f"{a.slew['buffers']:,} BUFX4, +{100 * a.slew['buffer_area_um2'] / a.area_um2:.2f}% "
            f"| {a.seconds} |"
        )
    by_name = {a.config: a for a in areas}
    pairs = baseline_pairs(list(by_name))
    if pairs:
        out += [
            "",
            "| FlexCiM | baseline | FlexCiM mm^2 | baseline mm^2 | overhead "
            "| best-known FlexCiM / baseline mm^2 | best-known overhead |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        best = best_known(areas)
        for flex, base in pairs:
            f, b = by_name[flex].area_um2, by_name[base].area_um2
            bf, bb = best[flex], best[base]
            out.append(
                f"| {flex} | {base} | {f / 1e6:.3f} | {b / 1e6:.3f} | {100 * (f / b - 1):+.1f}% "
                f"| {bf / 1e6:.3f} / {bb / 1e6:.3f} | {100 * (bf / bb - 1):+.1f}% |"
            )
    if flats:
        out += [
            "",
            "| config | composed um^2 | flat um^2 | composed - flat |",
            "|---|---:|---:|---:|",
        ]
        for f in flats:
            out.append(
                f"| {f['config']} | {f['composed_um2']:,.0f} | {f['flat_um2']:,.0f} | "
                f"{f['diff_pct']:+.2f}% |"
            )
    return "\n".join(out)


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", help=f"default: {' '.join(CONFIGS)}")
    parser.add_argument("--flat", nargs="*", default=[], help="also map these flattened")
    parser.add_argument("--liberty", type=Path, default=DEFAULT_LIBERTY)
    parser.add_argument(
        "--run-dir",
        type=Path,
        nargs="*",
        default=[],
        help="also report finished hierarchical run folders (build/silicon/<config>-hier-<key>) "
        "without Yosys, e.g. ones made before the RTL changed",
    )
    args = parser.parse_args(argv)
    names = args.configs or ([] if args.run_dir else list(CONFIGS))
    checked_configs([*names, *args.flat], PROG)
    options = MapOptions()
    try:
        lib = read_liberty(args.liberty)
    except LibertyError as e:
        raise SystemExit(refuse(PROG, str(e))) from None
    areas, generics = [], []
    for i, name in enumerate(names, 1):
        _progress(f"[{i}/{len(names)}] {name}")
        silicon, generic = analyse(name, lib, args.liberty, options)
        areas.append(silicon)
        generics.append(generic)
    for folder in args.run_dir:
        run = finished_run(folder)
        _progress(f"{run.config}: finished run {folder}")
        silicon, generic = analyse_run(run, lib, options)
        areas.append(silicon)
        generics.append(generic)
    flats = [flat_vs_composed(name, lib, args.liberty, options) for name in args.flat]
    table = markdown(areas, flats, lib, options)
    print(generic_markdown(generics))
    print()
    print(table)
    write_atomic(GENERIC_OUT / "area.md", generic_markdown(generics) + "\n")
    write_atomic(
        GENERIC_OUT / "area.json", json.dumps([asdict(a) for a in generics], indent=2) + "\n"
    )
    write_atomic(OUT / "silicon.md", table + "\n")
    report = {
        "liberty": str(args.liberty),
        "options": asdict(options),
        "configs": [asdict(a) for a in areas],
        "flat_vs_composed": flats,
    }
    write_atomic(OUT / "silicon.json", json.dumps(report, indent=2) + "\n")
    return 0

"""`make energy`: gate-level energy per MAC of FlexCiM and the baselines on real SmolLM2 jobs.

Per design (a named configuration): Yosys maps flexcim_core to the OSU018 cells
(silicon.gate_synth), the fast-path testbench runs the workload's jobs through the mapped
netlist with toggle coverage (silicon.gatesim, one simulation per layer = batch, every job
checked against golden), and silicon.energy turns each batch's toggles into joules by
block. Everything is cached per design by content hash under build/energy/<design>-<hash>/,
so an interrupted run resumes where it stopped. OpenSTA's report_power is run once on the
first design at the measured mean activity (silicon.sta_power). Writes
build/energy/energy.md, .json and .png, and build/energy/runs/<design>.json per design
(silicon.compose_paper's input).

``python -m silicon.energy_flow [--designs small,small_dense] [--layers 0,1,..|all]
[--workload extract|model]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from golden.cli import checked_configs
from golden.config import HwConfig
from golden.files import write_atomic
from silicon.blocks import ORDER, block_of, port_block
from silicon.compose import CompositionError, holdout
from silicon.compose_paper import COMMITTED_RUNS, clock_only, compose_all
from silicon.design_units import AREA_REPORTS, COMMITTED_AREA
from silicon.energy import Activity, EnergyReport, energy
from silicon.flat import check_cells, read_netlist
from silicon.gate_synth import synthesize
from silicon.gatesim import Batch, BatchResult, run_batch, write_sources
from silicon.liberty import DEFAULT_LIBERTY, read_liberty
from silicon.netlist_verilog import GATES_MODULE
from silicon.sta_power import mean_activity, run_sta, uniform_activity
from silicon.workload import BLOCKS, OWN_WORKLOADS, WORKLOAD, extract
from tb.common.runner import ROOT, load_configs
from tb.replay import DEFAULT_STIMULUS, file_digest, shown

OUT = ROOT / "build" / "energy"
# FlexCiM at the small geometry: the original core (G = C) and one select per cell (G = 1, the
# recommended core's select sharing at RPB = 1, the baselines' interface).
FLEXCIM = ("small", "small_g1")
BASELINES = ("small_dense", "small_fixed12", "small_fixed24")  # from branch baselines
# A default run stays under 15 min on 2 cores from a clean clone: each design costs 5-6 min
# (Yosys mapping, a ~3 min Verilator build of the 55-72 k-cell netlist with toggle coverage,
# 14 layers), so it compares FlexCiM at G = 1 with the dense DCiM; --designs all runs every
# FlexCiM variant and baseline present (~30 min).
DEFAULT_DESIGNS = ("small_g1", "small_dense")
# The representative subset of layers: the 7 sublayers of block 10 and of block 29 (patterns
# 4:8 and 4:6).
DEFAULT_LAYERS = "7-13,21-27"
PROG = "python -m silicon.energy_flow"
STA_VERSION = 2  # bump when sta_check's record changes


def log(text: str) -> None:
    print(f"[energy {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def all_designs() -> list[str]:
    configs = load_configs()
    return [d for d in (*FLEXCIM, *BASELINES) if d in configs]


def parse_layers(text: str, count: int) -> list[int]:
    if text == "all":
        return list(range(count))
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    bad = [i for i in out if not 0 <= i < count]
    if bad:
        raise SystemExit(f"{PROG}: error: layers {bad} outside the workload's 0..{count - 1}")
    return out


def workload_file(kind: str) -> Path:
    """The committed extract, or (``model``) the same extract of every block of the whole
    stimulus, written once to build/energy/ (needs `make replay`'s export)."""
    if kind == "extract":
        return WORKLOAD
    if not DEFAULT_STIMULUS.is_file():
        raise SystemExit(f"{PROG}: error: --workload model needs {shown(DEFAULT_STIMULUS)}")
    out = OUT / "workload-model.npz"
    if not out.is_file():
        from golden.stimulus import load_stimulus, save_stimulus

        stim = load_stimulus(DEFAULT_STIMULUS)
        blocks = sorted({int(ly.name.split(".")[0][5:]) for ly in stim.layers})
        save_stimulus(out, extract(stim, DEFAULT_STIMULUS, blocks=tuple(blocks)))
    return out


def model_of(workload: Path) -> dict:
    """The pruned model a workload extract comes from: how it was pruned and its perplexity
    (flow export's record, on the export's evaluation windows)."""
    from golden.stimulus import load_stimulus

    stim = load_stimulus(workload)
    source = stim.source.get("extract_of_source", stim.source)
    options = source.get("options", {})
    patterns = sorted(set(source.get("patterns", [])))
    return {
        "file": shown(workload),
        "method": source.get("method", ""),
        "pruner": options.get("metric"),
        "patterns": patterns,
        "perplexity": source.get("perplexity"),
        "calib_set": options.get("calib_set"),
        "eval_windows": options.get("eval_windows"),
        "eval_start": options.get("eval_start"),
    }


def own_workloads(designs: list[str]) -> list[tuple[str, Path]]:
    """(design, workload) of every fixed-pattern design whose own model is committed: the
    uniform model of the pattern it serves (silicon.workload.OWN_WORKLOADS); the dense DCiM
    serves every model, the one it is compared on included."""
    out = []
    for design in designs:
        pattern = HwConfig.named(design).fixed_pattern
        if pattern is not None and pattern in OWN_WORKLOADS:
            out.append((design, OWN_WORKLOADS[pattern]))
    return out


def report_dict(rep: EnergyReport) -> dict[str, dict[str, float]]:
    return {b: dict(row) for b, row in rep.blocks.items()}


def summed(reports: list[EnergyReport]) -> EnergyReport:
    total = EnergyReport()
    for rep in reports:
        for block, row in rep.blocks.items():
            for part, joules in row.items():
                total.add(block, part, joules)
    return total


def stability(batches: list[dict]) -> dict[str, float]:
    """How settled pJ / useful MAC is: the cumulative figure after the first half of the
    batches vs after all of them, and the spread of the per-batch figures."""

    def cum(rows: list[dict]) -> float:
        return sum(r["joules"] for r in rows) / max(1, sum(r["useful_macs"] for r in rows))

    half = batches[: max(1, len(batches) // 2)]
    final, first = cum(batches), cum(half)
    per = [r["joules"] / r["useful_macs"] for r in batches if r["useful_macs"]]
    mean = sum(per) / len(per)
    std = (sum((p - mean) ** 2 for p in per) / len(per)) ** 0.5
    # Layers of one shape (same pattern and cycles: same K, passes and jobs) differ only in
    # their data: the spread inside such groups is the data-dependent noise of the figure;
    # the spread across groups is the workload mix (density, pass counts).
    groups: dict[tuple, list[float]] = {}
    for r in batches:
        if r["useful_macs"] and "pattern" in r:
            key = (r["pattern"], r["sim_cycles"])
            groups.setdefault(key, []).append(r["joules"] / r["useful_macs"])
    within = [(max(v) - min(v)) / (sum(v) / len(v)) for v in groups.values() if len(v) > 1]
    return {
        "batches": len(batches),
        "relative_change_last_half": abs(final - first) / final,
        "per_batch_cv": std / mean,
        "same_shape_max_spread": max(within) if within else None,
    }


def run_design(design: str, workload: Path, layers: list[int], lib_path: Path) -> dict:
    t0 = time.perf_counter()
    log(f"{design}: Yosys mapping to {lib_path.name} (silicon.synth, cached), flattened")
    path = synthesize(design, lib_path)
    folder = path.parent
    cfg_key = folder.name
    netlist = read_netlist(path)
    lib = read_liberty(lib_path)
    check_cells(netlist, lib)
    synth_s = time.perf_counter() - t0
    log(f"{design}: {len(netlist.cells)} cells; gate-level simulation of {len(layers)} layers")
    results: list[BatchResult] = []
    batches: list[dict] = []
    reports: list[EnergyReport] = []
    clock_ns = 10.0
    # Cached batches are per netlist (the folder) and per workload file (its digest).
    sims = folder / f"sim-{file_digest(workload)[:12]}"
    for done, index in enumerate(layers, 1):
        batch = Batch(f"L{index:03d}", [index])
        res = run_batch(netlist, design, workload, batch, sims, f"gates-{design}")
        rec = res.record
        clock_ns = float(rec["clock_ns"])
        seconds = rec["sim_cycles"] * clock_ns * 1e-9
        rep = energy(netlist, lib, Activity(res.rises, res.falls, seconds), block_of, port_block)
        results.append(res)
        reports.append(rep)
        layer = rec["layers"][0]
        batches.append(
            {
                "batch": batch.name,
                "layer": layer["layer"],
                "pattern": f"{layer['n']}:{layer['m']}",
                "jobs": rec["jobs"],
                "macs": rec["macs"],
                "useful_macs": rec["useful_macs"],
                "job_cycles": rec["job_cycles"],
                "sim_cycles": rec["sim_cycles"],
                "joules": rep.total,
                "blocks": report_dict(rep),
                "sim_seconds": res.seconds,
            }
        )
        log(
            f"{design}: {done}/{len(layers)} {layer['layer']} {layer['n']}:{layer['m']}: "
            f"{rec['jobs']} jobs, {rec['sim_cycles']} cycles, "
            f"{rep.total * 1e12 / rec['useful_macs']:.2f} pJ/useful MAC ({res.seconds:.0f} s)"
        )
    total = summed(reports)
    useful = sum(b["useful_macs"] for b in batches)
    dense = sum(b["macs"] for b in batches)
    sim_cycles = sum(b["sim_cycles"] for b in batches)
    clock = netlist.ports["clk_i"][1][0]
    rises: dict[int, int] = {}
    falls: dict[int, int] = {}
    for res in results:
        for net, n in res.rises.items():
            rises[net] = rises.get(net, 0) + n
        for net, n in res.falls.items():
            falls[net] = falls.get(net, 0) + n
    return {
        "design": design,
        "baseline": HwConfig.named(design).fixed_pattern is not None,
        "model": model_of(workload),
        "netlist_key": cfg_key,
        "cells": len(netlist.cells),
        "area_um2": sum(lib.cell(c.type).area for c in netlist.cells),
        "jobs": sum(b["jobs"] for b in batches),
        "useful_macs": useful,
        "dense_macs": dense,
        "job_cycles": sum(b["job_cycles"] for b in batches),
        "sim_cycles": sim_cycles,
        "clock_ns": clock_ns,
        "joules": total.total,
        "pj_per_useful_mac": total.total * 1e12 / useful,
        "pj_per_dense_mac": total.total * 1e12 / dense,
        "parts": {p: total.part(p) for p in ("switching", "internal", "leakage")},
        "blocks": report_dict(total),
        "mean_activity": mean_activity(netlist, rises, falls, sim_cycles, clock),
        "stability": stability(batches),
        "composition_holdout": holdout(batches),
        "batches": batches,
        # Per block, one clock edge with nothing else moving: what silicon.compose_paper
        # splits off as the clock part (kept here so a committed run composes without its
        # netlist).
        "clock_per_cycle": clock_only(folder, lib_path),
        "seconds": {"synthesis": synth_s, "total": time.perf_counter() - t0},
        "folder": str(folder),
    }


def sta_check(row: dict, lib_path: Path) -> dict:
    """OpenSTA at the design's measured mean activity vs silicon.energy at the same uniform
    activity (and at the measured per-net activity)."""
    folder = Path(row["folder"])
    cache = folder / "sta.json"
    act = round(row["mean_activity"], 6)
    if cache.is_file():
        saved = json.loads(cache.read_text())
        if saved.get("activity") == act and saved.get("version") == STA_VERSION:
            return saved
    netlist = read_netlist(folder / "netlist.json")
    lib = read_liberty(lib_path)
    sources = write_sources(netlist, row["design"], folder / "sim" / "src")
    verilog = folder / "sta" / "gates.v"
    verilog.parent.mkdir(parents=True, exist_ok=True)
    verilog.write_text(sources[3].read_text().split("\n", 1)[1])  # without the coverage line
    log(f"{row['design']}: OpenSTA report_power at activity {act}")
    t0 = time.perf_counter()
    sta = run_sta(lib_path, verilog, GATES_MODULE, "clk_i", row["clock_ns"], act, folder / "sta")
    sta_s = time.perf_counter() - t0
    cycles = row["sim_cycles"]
    seconds = cycles * row["clock_ns"] * 1e-9
    clock = netlist.ports["clk_i"][1][0]
    # OpenSTA groups power by Sequential / Combinational cells; the same split here, with the
    # ideal clock net apart (OpenSTA leaves an ideal clock's net switching out).
    kind = {
        c.name: "sequential" if lib.cell(c.type).sequential else "combinational"
        for c in netlist.cells
    }

    def split(activity: Activity) -> dict[str, dict[str, float]]:
        rep = energy(netlist, lib, activity, kind.__getitem__, port_block)
        return {b: {p: j / seconds for p, j in parts.items()} for b, parts in rep.blocks.items()}

    uni = uniform_activity(netlist, act, cycles, clock, seconds)
    out = {
        "version": STA_VERSION,
        "activity": act,
        "opensta_w": {
            "internal": sta.internal_w,
            "switching": sta.switching_w,
            "leakage": sta.leakage_w,
            "total": sta.total_w,
        },
        "opensta_groups_w": {
            g: dict(zip(("internal", "switching", "leakage", "total"), v, strict=True))
            for g, v in sta.groups.items()
        },
        "model_uniform_groups_w": split(uni),
        "opensta_seconds": sta_s,
    }
    groups = out["model_uniform_groups_w"]
    out["model_uniform_w"] = {
        p: sum(g.get(p, 0.0) for g in groups.values()) for p in ("internal", "switching", "leakage")
    }
    out["model_uniform_w"]["total"] = sum(out["model_uniform_w"].values())
    out["model_measured_w"] = {p: row["parts"][p] / seconds for p in row["parts"]}
    out["model_measured_w"]["total"] = row["joules"] / seconds
    cache.write_text(json.dumps(out, indent=1) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument(
        "--designs", default=",".join(DEFAULT_DESIGNS), help="configurations, or all"
    )
    parser.add_argument("--layers", default=DEFAULT_LAYERS, help="indices, ranges or all")
    parser.add_argument("--workload", choices=("extract", "model"), default="extract")
    parser.add_argument("--liberty", type=Path, default=DEFAULT_LIBERTY)
    parser.add_argument("--no-sta", action="store_true", help="skip the OpenSTA cross-check")
    parser.add_argument(
        "--no-own-models",
        action="store_true",
        help="run the fixed-pattern designs on FlexCiM's model only (not also on their own)",
    )
    parser.add_argument(
        "--no-compose",
        action="store_true",
        help="skip the paper-size composition (silicon.compose_paper: this run's designs, the "
        "committed runs of the others)",
    )
    args = parser.parse_args(argv)
    names = args.designs.replace(",", " ").split()
    designs = all_designs() if names == ["all"] else checked_configs(names, PROG)
    lib_path = args.liberty
    read_liberty(lib_path)  # a missing library stops here, named
    workload = workload_file(args.workload)
    from golden.stimulus import load_stimulus

    stim = load_stimulus(workload)
    layers = parse_layers(args.layers, len(stim.layers))
    t0 = time.perf_counter()
    rows = [run_design(d, workload, layers, lib_path) for d in designs]
    # Issue 21 item 5: each fixed-pattern core also on the model it allows (its pattern,
    # same pruner), the accuracy beside the energy.
    own_runs = [] if args.no_own_models else own_workloads(designs)
    own = [run_design(d, w, layers, lib_path) for d, w in own_runs]
    sta = None if args.no_sta else sta_check(rows[0], lib_path)
    result = {
        "workload": {
            "file": shown(workload),
            "model": stim.model,
            "layers": [stim.layers[i].name for i in layers],
            "source": stim.source.get("extract_of", ""),
            "source_sha256": stim.source.get("extract_of_sha256", ""),
            "blocks_in_extract": list(BLOCKS) if args.workload == "extract" else "all",
        },
        "liberty": str(lib_path),
        "designs": rows,
        "own_models": own,
        "opensta": sta,
        "wall_seconds": time.perf_counter() - t0,
    }
    from silicon.energy_report import markdown, plot

    OUT.mkdir(parents=True, exist_ok=True)
    write_atomic(OUT / "energy.json", json.dumps(result, indent=1) + "\n")
    # One file per design as well, for silicon.compose_paper (the latest run of each design).
    (OUT / "runs").mkdir(exist_ok=True)
    for row in rows:
        one = {**result, "designs": [row], "own_models": [], "opensta": None}
        write_atomic(OUT / "runs" / f"{row['design']}.json", json.dumps(one, indent=1) + "\n")
    for row in own:  # a fixed-pattern design on its own model: <design>.own.json
        wl = {**result["workload"], "file": row["model"]["file"]}
        one = {**result, "workload": wl, "designs": [row], "own_models": [], "opensta": None}
        write_atomic(OUT / "runs" / f"{row['design']}.own.json", json.dumps(one, indent=1) + "\n")
    failed = None
    if not args.no_compose:
        failed = compose_into(result)
        write_atomic(OUT / "energy.json", json.dumps(result, indent=1) + "\n")
    text = markdown(result, ORDER)
    write_atomic(OUT / "energy.md", text)
    plot(result, ORDER, OUT / "energy.png")
    print(text)
    log(f"wrote {shown(OUT / 'energy.md')}, .json, .png in {time.perf_counter() - t0:.0f} s")
    if failed:
        raise SystemExit(f"{PROG}: error: paper-size composition: {failed}")
    return 0


def compose_into(result: dict) -> str | None:
    """Paper size and whole model (silicon.compose_paper) from this run's designs and the
    committed runs of the others, into `result["composition"]`; the error's text if it fails
    (after everything measured is written)."""
    AREA_REPORTS[:] = [p for p in COMMITTED_AREA if p.is_file()]
    log("paper-size composition (silicon.compose_paper): this run's designs, committed others")
    try:
        result["composition"] = compose_all([OUT / "runs", COMMITTED_RUNS])
    except CompositionError as exc:
        return str(exc)
    return None


if __name__ == "__main__":
    sys.exit(main())

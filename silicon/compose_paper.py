"""Paper-size energy per useful MAC, composed from small flat gate-level runs (issue 21 item 5).

``python -m silicon.compose_paper [--runs FOLDER]... [--rule issue|cycle|block]`` reads the
silicon.energy_flow JSON of each characterisation run (``<design>.json``: the small designs, and
the mid designs it validates against; from this build's build/energy/runs, else the committed
docs/results/issue21/runs), and writes build/energy/compose.{md,json} (silicon.energy_flow
also runs it and folds it into energy.md):

1. **validation**: each mid design composed from its small design (`VALIDATION`) against its
   own measured flat run, per block and in total, for every scaling rule of silicon.compose;
2. **paper**: each paper design composed from its small design (`PAPER`) on the full-size
   layers of the same slice and on every layer of the whole replay model (the committed
   silicon.model_layers table: shapes, 16 tokens, and the `paper` core's mask-dependent
   passes), with the validation's error on the same kind of core as its error bar.

Per run it needs the clock-only energy per cycle (the run's flat netlist, or the number a
committed run carries) and every design's hierarchical OSU018 mapping (silicon.synth when
mapped in this build, else committed silicon.report rows: silicon.design_units; an unmapped
design costs one Yosys mapping, 3-10 min at paper size). Workload at a geometry:
silicon.layer_work (golden.cycle_model), checked against the characterisation runs' measured
job cycles.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from golden.config import HwConfig
from golden.files import write_atomic
from silicon.blocks import CLOCK, ORDER, block_of, port_block
from silicon.compose import (
    RULES,
    CompositionError,
    Units,
    Work,
    block_units,
    characterise,
    compose,
    in_parts_of,
    split_parts,
    totals,
)
from silicon.design_units import AREA_REPORTS, COMMITTED_AREA, hier_units, target_units
from silicon.layer_work import (
    LayerShape,
    layer_work,
    mask_dependent,
    pass_geometry,
    with_full_size,
)
from silicon.liberty import DEFAULT_LIBERTY
from tb.common.runner import ROOT

PROG = "python -m silicon.compose_paper"
OUT = ROOT / "build" / "energy"
RUNS = OUT / "runs"
VALIDATION = (
    ("small_g1", "mid_g1"),
    ("small_g1_rpb4", "mid_g1_rpb8"),
    ("small", "mid"),
    ("small_dense", "mid_dense"),
)
# (small design characterised, paper design composed): FlexCiM and both baselines with the
# original interface (RPB = 1: one macro row per activation beat) and with the recommended
# core's (RPB = R: one token per beat), each compared with FlexCiM at G = 1 of its interface.
PAPER = (
    ("small_g1", "paper_g1"),
    ("small", "paper"),
    ("small_dense", "paper_dense"),
    ("small_fixed12", "paper_fixed12"),
    ("small_fixed24", "paper_fixed24"),
    ("small_g1_rpb4", "paper_g1_rpb32"),
    ("small_dense_rpb4", "paper_dense_rpb32"),
    ("small_fixed12_rpb4", "paper_fixed12_rpb32"),
    ("small_fixed24_rpb4", "paper_fixed24_rpb32"),
)
# Fixed-pattern designs also composed on the uniform model of their own pattern (the run
# <small>.own.json: silicon.energy_flow on silicon.workload.OWN_WORKLOADS), the accuracy they
# allow beside FlexCiM's.
OWN_MODEL = (("small_fixed12", "paper_fixed12"), ("small_fixed24", "paper_fixed24"))
# What a paper row keeps of its whole-model composition.
WHOLE_KEYS = ("cycles", "job_cycles", "issues", "useful_macs", "joules", "blocks", "layers")
# The validation whose error bounds each paper design: the mid run of the same kind of core
# (and interface, where one was run).
ERROR_FROM = {
    "paper_g1": "mid_g1",
    "paper": "mid",
    "paper_dense": "mid_dense",
    "paper_fixed12": "mid_dense",
    "paper_fixed24": "mid_dense",
    "paper_g1_rpb32": "mid_g1_rpb8",
    "paper_dense_rpb32": "mid_dense",
    "paper_fixed12_rpb32": "mid_dense",
    "paper_fixed24_rpb32": "mid_dense",
}
# Committed characterisation runs (silicon.energy_flow's runs/<design>.json, with the clock-only
# energy per cycle), used for a design this build has not run.
COMMITTED_RUNS = ROOT / "docs" / "results" / "issue21" / "runs"


def extract_shapes(run: dict) -> list[LayerShape]:
    """The run's layers at the extract's size (Cout and tokens of its batches), with the
    mapper's passes per tile where the run's core needs the masks for them (G > 1)."""
    from golden.mapper import map_layer
    from golden.stimulus import load_stimulus

    cfg = HwConfig.named(run["design"])
    stim = load_stimulus(ROOT / run["workload_file"])
    by_name = {ly.name: ly for ly in stim.layers}
    out = []
    for b in run["batches"]:
        ly = by_name[b["layer"]]
        passes = {}
        if mask_dependent(cfg):
            mapped = map_layer(ly.weight, ly.n, ly.m, cfg, perm=ly.perm).passes
            passes[pass_geometry(cfg)] = tuple(mapped)
        out.append(LayerShape(ly.name, ly.n, ly.m, *ly.weight.shape, ly.act.shape[0], passes))
    return out


def clock_only(folder: Path, liberty: Path = DEFAULT_LIBERTY) -> dict[str, float]:
    """Block -> joules of one clock cycle of the flat netlist with nothing else moving (the
    flip-flops' CLK pins and the ideal clock net), cached as clock_only.json in the folder."""
    cache = folder / "clock_only.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    from silicon.energy import Activity, energy
    from silicon.flat import read_netlist
    from silicon.liberty import read_liberty

    netlist = read_netlist(folder / "netlist.json")
    clock = netlist.ports["clk_i"][1][0]
    rep = energy(
        netlist, read_liberty(liberty), Activity({clock: 1}, {clock: 1}, 0.0), block_of, port_block
    )
    out = {block: rep.block_total(block) for block in rep.blocks}
    cache.write_text(json.dumps(out, indent=1) + "\n")
    return out


def load_run(runs: list[Path], design: str, kind: str = "") -> dict:
    """The run of `design` (`kind` ".own": on its own model) from the first of `runs`
    (folders of <design><kind>.json) that has it, marked with where it came from."""
    name = f"{design}{kind}.json"
    path = next((r / name for r in runs if (r / name).is_file()), None)
    if path is None:
        raise CompositionError(
            f"no run {name} in {', '.join(str(r) for r in runs)} "
            f"(python -m silicon.energy_flow --designs {design} writes it)"
        )
    data = json.loads(path.read_text())
    row = next((r for r in data["designs"] if r["design"] == design), None)
    if row is None:
        raise CompositionError(f"{path} has no design {design}")
    return {
        **row,
        "workload_file": data["workload"]["file"],
        "layers": data["workload"]["layers"],
        "run_file": str(path),
    }


@dataclass
class Source:
    """A characterisation run, ready to compose from."""

    design: str
    energy: dict[str, dict[str, float]]  # block -> clock / leakage / data joules
    units: dict[str, Units]
    work: Work
    shapes: list[LayerShape]
    overhead: float  # simulated cycles per job beyond the cycle model's
    cycles_check: dict  # cycle model vs measured job cycles
    run_file: str  # where the run came from (this build's runs or the committed ones)


def source(run: dict) -> Source:
    cfg = HwConfig.named(run["design"])
    shapes = extract_shapes(run)
    model = [layer_work(s, cfg) for s in shapes]
    measured = [b["job_cycles"] for b in run["batches"]]
    check = {
        "model_job_cycles": sum(w.job_cycles for w in model),
        "measured_job_cycles": sum(measured),
        "layers_differing": sum(w.job_cycles != c for w, c in zip(model, measured, strict=True)),
    }
    if check["layers_differing"]:
        raise CompositionError(f"{run['design']}: cycle model differs from the run: {check}")
    overhead = (run["sim_cycles"] - run["job_cycles"]) / run["jobs"]
    work = Work(run["sim_cycles"], sum(w.issues for w in model))
    # A committed run carries its clock-only energy (its netlist folder is not committed).
    per_cycle = run.get("clock_per_cycle") or clock_only(Path(run["folder"]))
    energy = split_parts(run["blocks"], per_cycle, run["sim_cycles"])
    units = block_units(hier_units(run["design"])["modules"])
    return Source(run["design"], energy, units, work, shapes, overhead, check, run["run_file"])


def predict(src: Source, target: str, shapes: list[LayerShape], rule: str) -> dict:
    cfg = HwConfig.named(target)
    units, units_info = target_units(target)
    rates = characterise(in_parts_of(src.energy, RULES[rule]), src.units, src.work, RULES[rule])
    # Each layer's work once; the composition is linear in the counts, so the layers' energies
    # add up to the total.
    per_layer = [layer_work(s, cfg) for s in shapes]
    works = [Work(w.job_cycles + src.overhead * w.jobs, w.issues) for w in per_layer]
    work = Work(sum(w.cycles for w in works), sum(w.issues for w in works))
    energy = compose(rates, units, work, RULES[rule])
    joules = sum(totals(energy).values())
    useful = sum(s.useful_macs for s in shapes)
    return {
        "source": src.design,
        "target": target,
        "rule": rule,
        "cycles": work.cycles,
        "job_cycles": sum(w.job_cycles for w in per_layer),
        "issues": work.issues,
        "cells": units_info["cells"],
        "units_from": units_info["mapping"],
        "area_um2": units_info["area_um2"],
        "flops": units[CLOCK].flops,
        "useful_macs": useful,
        "joules": joules,
        "pj_per_useful_mac": joules * 1e12 / useful,
        "blocks": totals(energy),
        "parts": energy,
        "layers": [
            {
                "layer": s.name,
                "pattern": f"{s.n}:{s.m}",
                "job_cycles": lw.job_cycles,
                "joules": sum(totals(compose(rates, units, w, RULES[rule])).values()),
            }
            for s, lw, w in zip(shapes, per_layer, works, strict=True)
        ],
    }


def validate(src: Source, run: dict, rule: str) -> dict:
    """`run`'s design composed from `src` on `run`'s own layers vs its measured energy."""
    shapes = extract_shapes(run)
    pred = predict(src, run["design"], shapes, rule)
    measured = totals(run["blocks"])
    blocks = {
        b: {
            "predicted_j": pred["blocks"].get(b, 0.0),
            "measured_j": measured.get(b, 0.0),
            "relative_error": (pred["blocks"].get(b, 0.0) - measured[b]) / measured[b]
            if measured.get(b)
            else None,
        }
        for b in ORDER
        if b in measured or b in pred["blocks"]
    }
    return {
        **{k: pred[k] for k in ("source", "target", "rule", "cycles", "issues", "joules")},
        "measured_joules": run["joules"],
        "measured_sim_cycles": run["sim_cycles"],
        "relative_error": (pred["joules"] - run["joules"]) / run["joules"],
        "pj_per_useful_mac": run["joules"] * 1e12 / run["useful_macs"],
        "predicted_pj_per_useful_mac": pred["joules"] * 1e12 / run["useful_macs"],
        "blocks": blocks,
    }


def log(text: str) -> None:
    print(f"[compose {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def compose_all(
    runs: list[Path],
    rule: str = "issue",
    wanted: list[str] | None = None,
    model_table: Path | None = None,
) -> dict:
    """Validation on the mid designs and every wanted paper design composed on the slice's
    layers and on the whole model (silicon.model_layers' table); CompositionError names what is
    missing."""
    from silicon.model_layers import TABLE, load_table

    header, model = load_table(model_table or TABLE)
    by_name = {s.name: s for s in model}
    t0 = time.perf_counter()
    sources: dict[str, Source] = {}

    def src_of(design: str) -> Source:
        if design not in sources:
            log(f"{design}: characterisation (clock-only energy, hierarchical units)")
            sources[design] = source(load_run(runs, design))
        return sources[design]

    validation = []
    for small, mid in VALIDATION:
        run = load_run(runs, mid)
        for r in sorted(RULES):
            validation.append(validate(src_of(small), run, r))
    errors = {(v["target"], v["rule"]): v["relative_error"] for v in validation}

    def paper_row(src: Source, target: str, slice_: list[LayerShape], whole_: list) -> dict:
        """`target` composed from `src` on the slice (its layers at full size) and on the
        whole model; a slice that needs masks the table does not hold is left out, named."""
        whole = predict(src, target, whole_, rule)
        try:
            row = predict(src, target, slice_, rule)
        except CompositionError as exc:
            row = {**whole, "slice_missing": str(exc)}
        row["model"] = {k: whole[k] for k in (*WHOLE_KEYS, "pj_per_useful_mac")}
        row["error_bar"] = abs(errors[(ERROR_FROM[target], rule)])
        row["error_from"] = ERROR_FROM[target]
        return row

    paper = []
    flexcim_ppl = (header.get("stimulus_source") or {}).get("perplexity")
    for small, target in PAPER:
        if wanted is not None and target not in wanted:
            continue
        src = src_of(small)
        log(f"{target}: composed from {small}, on the slice and on the whole model")
        row = paper_row(src, target, with_full_size(src.shapes, by_name), model)
        row["model_name"], row["perplexity"] = "FlexCiM's (the table's)", flexcim_ppl
        paper.append(row)
    for small, target in OWN_MODEL:
        if wanted is not None and target not in wanted:
            continue
        run = load_run(runs, small, ".own")
        src = sources.setdefault(f"{small}.own", source(run))
        log(f"{target}: on its own model ({run['model']['method']}), composed from {small}")
        (n, m), *rest = {(s.n, s.m) for s in src.shapes}
        if rest:
            raise CompositionError(f"{run['run_file']}: not a uniform model")
        own_model = [replace(s, n=n, m=m, passes={}) for s in model]
        row = paper_row(src, target, with_full_size(src.shapes, by_name), own_model)
        row["model_name"], row["perplexity"] = run["model"]["method"], run["model"]["perplexity"]
        row["own_model"] = True
        paper.append(row)
    return {
        "rule": rule,
        "runs": {d: s.run_file for d, s in sources.items()},
        "cycle_checks": {d: s.cycles_check for d, s in sources.items()},
        "overhead_cycles_per_job": {d: s.overhead for d, s in sources.items()},
        "validation": validation,
        "paper": paper,
        "paper_tokens": sorted({s.tokens for s in model}),
        "model_table": {**header, "layers": len(model)},
        "area_reports": [str(p) for p in AREA_REPORTS],
        "wall_seconds": time.perf_counter() - t0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        type=Path,
        action="append",
        default=[],
        help=f"folder of <design>.json runs, searched in order (default: {RUNS}, then the "
        f"committed {COMMITTED_RUNS})",
    )
    parser.add_argument("--rule", choices=sorted(RULES), default="issue", help="paper figures")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--area",
        type=Path,
        action="append",
        default=[],
        help="silicon.report JSON whose designs are not mapped again (default: the committed "
        + ", ".join(str(p.relative_to(ROOT)) for p in COMMITTED_AREA)
        + ")",
    )
    parser.add_argument(
        "--paper",
        default=",".join(t for _, t in PAPER),
        help="paper designs to compose (each not mapped yet costs a 3-10 min Yosys mapping)",
    )
    parser.add_argument("--model-table", type=Path, default=None, help="silicon.model_layers")
    args = parser.parse_args(argv)
    AREA_REPORTS[:] = args.area or list(COMMITTED_AREA)
    wanted = args.paper.replace(",", " ").split()
    unknown = sorted(set(wanted) - {t for _, t in PAPER})
    if unknown:
        raise SystemExit(f"{PROG}: error: --paper {unknown}: choose from {[t for _, t in PAPER]}")
    t0 = time.perf_counter()
    try:
        result = compose_all(
            args.runs or [RUNS, COMMITTED_RUNS], args.rule, wanted, args.model_table
        )
    except CompositionError as exc:
        raise SystemExit(f"{PROG}: error: {exc}") from None
    from silicon.compose_report import markdown

    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "compose.json", json.dumps(result, indent=1) + "\n")
    text = markdown(result)
    write_atomic(args.out / "compose.md", text)
    print(text)
    log(f"wrote {args.out / 'compose.md'}, .json in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

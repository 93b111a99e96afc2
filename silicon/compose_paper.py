"""Paper-size energy per useful MAC, composed from small flat gate-level runs (issue 21 item 5).

``python -m silicon.compose_paper [--runs build/energy/runs] [--rule issue|cycle]`` reads the
silicon.energy_flow JSON of each characterisation run (``<design>.json`` in the runs folder:
the small designs, and the mid designs it validates against), and writes
build/energy/compose.{md,json}:

1. **validation**: each mid design composed from its small design (`VALIDATION`) against its
   own measured flat run, per block and in total, for both scaling rules of silicon.compose;
2. **paper**: each paper design composed from its small design (`PAPER`), at the full
   SmolLM2 layer shapes of the same layers (`FULL_COUT`, 16 tokens: the replay stimulus'), with
   the validation's error on the same kind of core as its error bar.

Per run it needs the flat netlist (the run's folder, for the clock-only energy) and every
design's hierarchical OSU018 mapping (silicon.synth, cached; the per-module cells and
flip-flops `make area` reports), so a paper design costs one Yosys mapping (3-10 min) when not
cached. Workload at a geometry: `layer_work` (golden.cycle_model), checked against the
characterisation runs' measured job cycles.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from golden.config import HwConfig
from golden.cycle_model import dense_passes, fixed_pattern_passes, jobs_cycles, token_chunks
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
from silicon.liberty import DEFAULT_LIBERTY
from tb.common.runner import ROOT

PROG = "python -m silicon.compose_paper"
OUT = ROOT / "build" / "energy"
RUNS = OUT / "runs"
VALIDATION = (("small_g1", "mid_g1"), ("small_dense", "mid_dense"))
PAPER = (
    ("small_g1", "paper_g1"),
    ("small_dense", "paper_dense"),
    ("small_fixed12", "paper_fixed12"),
    ("small_fixed24", "paper_fixed24"),
)
# Paper designs whose hierarchical mapping does not fit this machine (Yosys needs > 23 GB on
# paper_fixed24): units derived block by block, (cells, flip-flops) of the paper base design x
# (small design / small base design); the cell, tree and merge modules are the same RTL at both
# sizes, so the ratio carries the baseline's per-cell difference (`derived_units`).
DERIVED = {
    "paper_fixed12": ("paper_dense", "small_fixed12", "small_dense"),
    "paper_fixed24": ("paper_dense", "small_fixed24", "small_dense"),
}
# The validation pair whose error bounds a paper design of each kind of core.
ERROR_FROM = {"flexcim": "mid_g1", "dense": "mid_dense", "fixed": "mid_dense"}
# SmolLM2-135M output channels per sublayer (hidden 576, 3 KV heads of 64, MLP 1536); K is the
# extract's (its weight keeps every input channel).
FULL_COUT = {
    "q_proj": 576,
    "k_proj": 192,
    "v_proj": 192,
    "o_proj": 576,
    "gate_proj": 1536,
    "up_proj": 1536,
    "down_proj": 576,
}
PAPER_TOKENS = 16  # tokens per layer of the replay stimulus (one MAX_TOK chunk at paper)


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


@dataclass(frozen=True)
class LayerShape:
    name: str
    n: int
    m: int
    cout: int
    k: int
    tokens: int

    @property
    def useful_macs(self) -> float:
        """tokens x non-zeros, for a mask with exactly n of every m (the extract's masks
        have at most 8 fewer non-zeros per layer)."""
        return self.tokens * self.cout * self.k * self.n / self.m


@dataclass(frozen=True)
class LayerWork:
    jobs: int
    job_cycles: int
    issues: int  # sum over jobs of passes x tokens


def tile_passes(layer: LayerShape, cfg: HwConfig) -> int:
    """Passes of one column tile. FlexCiM at G = 1 runs a row-wise n:m mask at the pattern's
    own rate; a baseline runs its fixed pattern only on a layer of exactly that pattern, else
    dense (no 4:8 or 4:6 mask is 1:2- or 2:4-compliant); FlexCiM at G > 1 depends on how the
    masks of G columns overlap, which the shape does not tell (refused)."""
    sparse = layer.n < layer.m
    fixed = cfg.fixed_pattern
    if fixed is None:
        if cfg.sel_width != 1:
            raise CompositionError(
                f"G={cfg.sel_width}: FlexCiM passes at G > 1 depend on the masks; "
                "only G = 1 is composed"
            )
        if sparse:
            return fixed_pattern_passes(layer.k, layer.n, layer.m, cfg)
        return dense_passes(layer.k, cfg)
    if sparse and fixed[0] < fixed[1] and (layer.n, layer.m) == fixed:
        return fixed_pattern_passes(layer.k, layer.n, layer.m, cfg)
    return dense_passes(layer.k, cfg)


def layer_work(layer: LayerShape, cfg: HwConfig) -> LayerWork:
    """Jobs, cycle-model cycles and token issues of a layer at `cfg` (every column tile x every
    MAX_TOK chunk of tokens)."""
    passes = tile_passes(layer, cfg)
    tiles = -(-layer.cout // cfg.C)
    cycles = jobs_cycles([passes] * tiles, layer.tokens, cfg).total
    chunks = token_chunks(layer.tokens, cfg)
    return LayerWork(tiles * len(chunks), cycles, tiles * passes * layer.tokens)


def extract_shapes(run: dict) -> list[LayerShape]:
    """The run's layers at the extract's size (Cout and tokens of its batches)."""
    from golden.stimulus import load_stimulus

    stim = load_stimulus(ROOT / run["workload_file"])
    by_name = {ly.name: ly for ly in stim.layers}
    out = []
    for b in run["batches"]:
        ly = by_name[b["layer"]]
        out.append(LayerShape(ly.name, ly.n, ly.m, *ly.weight.shape, ly.act.shape[0]))
    return out


def full_shapes(shapes: list[LayerShape], tokens: int = PAPER_TOKENS) -> list[LayerShape]:
    """The same layers at SmolLM2's full output channels and `tokens` tokens."""
    return [
        LayerShape(s.name, s.n, s.m, FULL_COUT[s.name.split(".")[1]], s.k, tokens) for s in shapes
    ]


def workload_work(shapes: list[LayerShape], cfg: HwConfig, overhead: float) -> Work:
    """Work of the layers at `cfg`: cycle-model cycles + `overhead` simulated cycles per job
    (the testbench's CSR programming and idle cycles between jobs)."""
    works = [layer_work(s, cfg) for s in shapes]
    cycles = sum(w.job_cycles + overhead * w.jobs for w in works)
    return Work(cycles, sum(w.issues for w in works))


AREA_REPORTS: list[Path] = []  # silicon.report JSON files to take module rows from (--area)


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


def load_run(runs: Path, design: str) -> dict:
    path = runs / f"{design}.json"
    if not path.is_file():
        raise SystemExit(
            f"{PROG}: error: no run of {design} in {path} "
            f"(python -m silicon.energy_flow --designs {design} writes it)"
        )
    data = json.loads(path.read_text())
    row = next((r for r in data["designs"] if r["design"] == design), None)
    if row is None:
        raise SystemExit(f"{PROG}: error: {path} has no design {design}")
    return {**row, "workload_file": data["workload"]["file"], "layers": data["workload"]["layers"]}


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
    per_cycle = clock_only(Path(run["folder"]))
    energy = split_parts(run["blocks"], per_cycle, run["sim_cycles"])
    units = block_units(hier_units(run["design"])["modules"])
    return Source(run["design"], energy, units, work, shapes, overhead, check)


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


def predict(src: Source, target: str, shapes: list[LayerShape], rule: str) -> dict:
    cfg = HwConfig.named(target)
    units, units_info = target_units(target)
    work = workload_work(shapes, cfg, src.overhead)
    rates = characterise(in_parts_of(src.energy, RULES[rule]), src.units, src.work, RULES[rule])
    energy = compose(rates, units, work, RULES[rule])
    joules = sum(totals(energy).values())
    useful = sum(s.useful_macs for s in shapes)
    return {
        "source": src.design,
        "target": target,
        "rule": rule,
        "cycles": work.cycles,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=RUNS, help="folder of <design>.json runs")
    parser.add_argument("--rule", choices=sorted(RULES), default="issue", help="paper figures")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--area",
        type=Path,
        action="append",
        default=[],
        help="silicon.report JSON (make area's build/silicon/silicon.json, or the committed "
        "docs/data/silicon.json) whose designs are not mapped again",
    )
    parser.add_argument(
        "--paper",
        default=",".join(t for _, t in PAPER),
        help="paper designs to compose (each not mapped yet costs a 3-10 min Yosys mapping)",
    )
    args = parser.parse_args(argv)
    AREA_REPORTS[:] = args.area
    wanted = args.paper.replace(",", " ").split()
    unknown = sorted(set(wanted) - {t for _, t in PAPER})
    if unknown:
        raise SystemExit(f"{PROG}: error: --paper {unknown}: choose from {[t for _, t in PAPER]}")
    t0 = time.perf_counter()
    sources: dict[str, Source] = {}

    def src_of(design: str) -> Source:
        if design not in sources:
            log(f"{design}: characterisation (clock-only energy, hierarchical units)")
            sources[design] = source(load_run(args.runs, design))
        return sources[design]

    validation = []
    for small, mid in VALIDATION:
        run = load_run(args.runs, mid)
        for rule in sorted(RULES):
            validation.append(validate(src_of(small), run, rule))
    errors = {(v["target"], v["rule"]): v["relative_error"] for v in validation}
    paper = []
    for small, target in PAPER:
        if target not in wanted:
            continue
        src = src_of(small)
        log(f"{target}: composed from {small}")
        row = predict(src, target, full_shapes(src.shapes), args.rule)
        row["error_bar"] = abs(errors[(ERROR_FROM[HwConfig.named(target).core_kind], args.rule)])
        paper.append(row)
    result = {
        "rule": args.rule,
        "cycle_checks": {d: s.cycles_check for d, s in sources.items()},
        "overhead_cycles_per_job": {d: s.overhead for d, s in sources.items()},
        "validation": validation,
        "paper": paper,
        "paper_tokens": PAPER_TOKENS,
        "area_reports": [str(p) for p in args.area],
        "wall_seconds": time.perf_counter() - t0,
    }
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

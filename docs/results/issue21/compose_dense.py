"""Dense-family composition with what is available: committed small runs (same flat netlists:
cell counts checked), silicon.json units for small_dense / paper_dense, fresh mid_dense run."""
import json
from pathlib import Path
from golden.config import HwConfig
from silicon.blocks import ORDER
from silicon.compose import RULES, block_units, characterise, compose, totals, Work
from silicon.compose_paper import (AREA_REPORTS, extract_shapes, full_shapes, hier_units,
    layer_work, workload_work, load_run, target_units)
AREA_REPORTS.append(Path("docs/data/silicon.json"))
com = json.load(open("docs/results/energy/energy.json"))
def small(design):
    r = [r for r in com["designs"] if r["design"] == design][0]
    return {**r, "workload_file": com["workload"]["file"]}
out = {"validation": [], "paper": []}
rule = "block"
def src(design):
    r = small(design)
    shapes = extract_shapes(r)
    cfg = HwConfig.named(design)
    issues = sum(layer_work(s, cfg).issues for s in shapes)
    units = block_units(hier_units(design)["modules"])
    energy = {b: {"total": v} for b, v in totals(r["blocks"]).items()}
    ov = (r["sim_cycles"] - r["job_cycles"]) / r["jobs"]
    return r, shapes, units, energy, Work(r["sim_cycles"], issues), ov
r, shapes, units, energy, work, ov = src("small_dense")
rates = characterise(energy, units, work, RULES[rule])
mid = load_run(Path("build/energy/runs"), "mid_dense")
u_m = block_units(hier_units("mid_dense")["modules"])
w_m = workload_work(extract_shapes(mid), HwConfig.named("mid_dense"), ov)
pred = totals(compose(rates, u_m, w_m, RULES[rule]))
meas = totals(mid["blocks"])
tot = sum(pred.values())
v = {"source": "small_dense", "target": "mid_dense", "rule": rule, "cycles": w_m.cycles,
     "measured_sim_cycles": mid["sim_cycles"], "predicted_j": tot, "measured_j": mid["joules"],
     "relative_error": (tot - mid["joules"]) / mid["joules"],
     "predicted_pj_per_useful_mac": tot * 1e12 / mid["useful_macs"],
     "measured_pj_per_useful_mac": mid["pj_per_useful_mac"],
     "blocks": {b: {"predicted_j": pred.get(b, 0), "measured_j": meas[b],
                    "relative_error": (pred.get(b, 0) - meas[b]) / meas[b]} for b in ORDER if b in meas}}
out["validation"].append(v)
print(f"small_dense -> mid_dense ({rule}): cycles {w_m.cycles:.0f} vs {mid['sim_cycles']}, "
      f"{v['predicted_pj_per_useful_mac']:.1f} vs {mid['pj_per_useful_mac']:.1f} pJ/useful MAC, "
      f"error {100*v['relative_error']:+.1f}%")
for b, x in v["blocks"].items():
    print(f"   {b:55s} {x['predicted_j']*1e12:10.0f} {x['measured_j']*1e12:10.0f} {100*x['relative_error']:+6.1f}%")
for s_design, target in (("small_dense", "paper_dense"), ("small_fixed12", "paper_fixed12"),
                         ("small_fixed24", "paper_fixed24")):
    r, shapes, units, energy, work, ov = src(s_design)
    rates = characterise(energy, units, work, RULES[rule])
    u_t, info = target_units(target)
    full = full_shapes(shapes)
    w_t = workload_work(full, HwConfig.named(target), ov)
    e = totals(compose(rates, u_t, w_t, RULES[rule]))
    useful = sum(s.useful_macs for s in full)
    row = {"source": s_design, "target": target, "rule": rule, "cycles": w_t.cycles,
           "issues": w_t.issues, "cells": info["cells"], "area_um2": info["area_um2"],
           "units_from": info["mapping"], "useful_macs": useful, "joules": sum(e.values()),
           "pj_per_useful_mac": sum(e.values()) * 1e12 / useful, "blocks": e,
           "error_bar": abs(v["relative_error"])}
    out["paper"].append(row)
    print(f"{target}: {info['cells']:,} cells, {info['area_um2']/1e6:.1f} mm2, cycles {w_t.cycles:,.0f}, "
          f"{row['pj_per_useful_mac']:.1f} pJ/useful MAC +-{100*row['error_bar']:.1f}% ({info['mapping']})")
    for b in ORDER:
        if b in e: print(f"   {b:55s} {e[b]*1e12/useful:8.1f}")
# paper_g1 work (cycles) without energy: small_g1 not characterised
shapes = extract_shapes(small("small_g1"))
for t in ("paper_g1", "paper_dense"):
    w = workload_work(full_shapes(shapes), HwConfig.named(t), 24.25)
    print(t, "cycles", w.cycles)
json.dump(out, open("build/logs/compose_dense.json", "w"), indent=1)

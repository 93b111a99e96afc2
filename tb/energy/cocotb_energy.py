"""Simulator side of the energy flow: real jobs through the gate-level netlist (silicon.gatesim).

The fast-path testbench (tb/fast/flexcim_fast_tb.sv) drives the mapped netlist in place of
the RTL core; every job is checked as in the replay (values against golden, CYCLES against
the cycle model), so the switching activity counted here is that of correct computation.
One run = one batch of stimulus layers (ENERGY_LAYERS); its toggle counts land in one
Verilator coverage file, its record (jobs, MACs, cycles) in ENERGY_RESULTS.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.handle import SimHandleBase
from cocotb.utils import get_sim_time

from golden.stimulus import load_stimulus
from tb.common.env import CLOCK_NS
from tb.common.fast import FastEnv, replay_layer
from tb.common.jobs import layer_jobs


@cocotb.test()
async def energy_batch(dut: SimHandleBase) -> None:
    """The layers ENERGY_LAYERS of ENERGY_FILE, every job checked; one JSON record."""
    env = FastEnv(dut)
    await env.reset()
    stim = load_stimulus(Path(os.environ["ENERGY_FILE"]))
    indices = [int(i) for i in os.environ["ENERGY_LAYERS"].split(",") if i]
    record: dict[str, object] = {"layers": [], "jobs": 0, "macs": 0, "useful_macs": 0}
    bad = 0
    for index in indices:
        layer = stim.layers[index]
        _, jobs = layer_jobs(f"L{index}", layer.weight, layer.act, layer.n, layer.m, env.cfg)
        row = await replay_layer(env, layer, index)
        bad += row["value_mismatches"] + row["cycle_mismatches"]
        row["macs"] = sum(j.macs for j in jobs)
        row["useful_macs"] = sum(j.useful_macs for j in jobs)
        record["layers"].append(row)
        for key in ("jobs", "macs", "useful_macs"):
            record[key] += row[key]
    record["job_cycles"] = env.sim_cycles
    record["sim_cycles"] = int(get_sim_time("ns") // CLOCK_NS)
    record["clock_ns"] = CLOCK_NS
    Path(os.environ["ENERGY_RESULTS"]).write_text(json.dumps(record) + "\n")
    assert bad == 0, f"{bad} jobs mismatched on the gate-level netlist"

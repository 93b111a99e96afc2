"""Gate-level simulation of the mapped netlist on real jobs, toggles counted per net.

The netlist (silicon.gate_synth) is written as structural Verilog with net names that map
back to Yosys bit ids (silicon.netlist_verilog), the cells are simulated from their Liberty
functions (Yosys read_liberty), and the fast-path testbench streams the workload's jobs
(tb/energy/cocotb_energy.py). Verilator's ``--coverage-toggle`` counts every net's 0->1 and
1->0 transitions: zero-delay, cycle-settled values, so glitches are not counted. The cell
models and the wrapper are outside coverage; the testbench's own signals are filtered out
by hierarchy. One simulation per batch of layers: each batch's counts are separate, which
gives the per-batch energy and the stability figure.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from golden.config import HwConfig
from silicon.activity import Toggles, read_toggles
from silicon.flat import FlatNetlist
from silicon.gate_synth import cell_models, config_params
from silicon.netlist_verilog import GATES_MODULE, STUB_MODULE, sim_wrapper, write_verilog
from tb.common.runner import rtl_dir, run_cocotb
from tb.fast.run import TB_TOP, TOPLEVEL

MODULE = "tb.energy.cocotb_energy"
DEPTHS = {"W_DEPTH": 4096, "A_DEPTH": 16384}  # a K = 1536 job on `small`: 384 / 1,536 beats


@dataclass(frozen=True)
class Batch:
    name: str
    layers: list[int]  # indices into the workload file


@dataclass(frozen=True)
class BatchResult:
    name: str
    record: dict  # cocotb_energy's record: jobs, macs, useful_macs, job/sim cycles, layers
    toggles: Toggles
    seconds: float


def write_sources(netlist: FlatNetlist, config: str, folder: Path) -> list[Path]:
    """The simulation's Verilog: cell models, the parameterised shell, the netlist."""
    folder.mkdir(parents=True, exist_ok=True)
    gates = folder / "gates.v"
    wrapper = folder / "flexcim_core.v"
    text = "/* verilator coverage_on */\n" + write_verilog(netlist)
    if not gates.is_file() or gates.read_text() != text:
        gates.write_text(text)
    shell = sim_wrapper(netlist, HwConfig.named(config).params())
    if not wrapper.is_file() or wrapper.read_text() != shell:
        wrapper.write_text(shell)
    return [rtl_dir() / "flexcim_pkg.sv", cell_models(folder), wrapper, gates, TB_TOP]


def run_batch(
    netlist: FlatNetlist,
    config: str,
    workload: Path,
    batch: Batch,
    folder: Path,
    tag: str,
) -> BatchResult:
    """Simulate one batch (cached in `folder`/<batch>.json + .dat once done)."""
    out = folder / f"{batch.name}.json"
    dat = folder / f"{batch.name}.dat"
    if out.is_file() and dat.is_file():
        saved = json.loads(out.read_text())
        return BatchResult(batch.name, saved["record"], read_toggles(dat), saved["seconds"])
    sources = write_sources(netlist, config, folder / "src")
    results = folder / f"{batch.name}.record"
    start = time.perf_counter()
    run_cocotb(
        toplevel=TOPLEVEL,
        sources=sources,
        test_module=MODULE,
        parameters={**config_params(config), **DEPTHS},
        tag=tag,
        sim="verilator",
        coverage=True,
        seed=1,
        results_name=batch.name,
        public=[(STUB_MODULE, "fail_count"), (STUB_MODULE, "first_fail")],
        extra_env={
            "FLEXCIM_CONFIG": config,
            "ENERGY_FILE": str(workload),
            "ENERGY_LAYERS": ",".join(str(i) for i in batch.layers),
            "ENERGY_RESULTS": str(results),
        },
    )
    seconds = time.perf_counter() - start
    from tb.common.runner import build_dir_for

    cov = build_dir_for("verilator", TOPLEVEL, f"{tag}-cov") / f"coverage_{batch.name}.dat"
    toggles = read_toggles(cov, scope=".u_core.u_gates")
    record = json.loads(results.read_text())
    cov.replace(dat)
    out.write_text(json.dumps({"record": record, "seconds": seconds}) + "\n")
    return BatchResult(batch.name, record, toggles, seconds)


__all__ = ["GATES_MODULE", "Batch", "BatchResult", "run_batch", "write_sources"]

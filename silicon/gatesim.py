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
from silicon.activity import by_net, read_toggles
from silicon.flat import FlatNetlist
from silicon.gate_synth import cell_models
from silicon.netlist_verilog import STUB_MODULE, net_names, sim_wrapper, write_verilog
from tb.common.runner import build_dir_for, rtl_dir, run_cocotb
from tb.fast.run import TB_TOP, TOPLEVEL

MODULE = "tb.energy.cocotb_energy"
SCOPE = ".u_core.u_gates"  # the netlist instance inside the testbench
TB_PARAMS = ("P", "R", "C", "WB", "AB", "ACC", "MAX_TOK", "G", "RPB")  # flexcim_fast_tb's
DEPTHS = {"W_DEPTH": 4096, "A_DEPTH": 16384}  # a K = 1536 job on `small`: 384 / 1,536 beats


@dataclass(frozen=True)
class Batch:
    name: str
    layers: list[int]  # indices into the workload file


@dataclass(frozen=True)
class BatchResult:
    name: str
    record: dict  # cocotb_energy's record: jobs, macs, useful_macs, job/sim cycles, layers
    rises: dict[int, int]  # net id -> 0->1 transitions over the batch's simulation
    falls: dict[int, int]
    seconds: float  # wall time of the simulation (build excluded when cached)


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
    """Simulate one batch; its record and per-net toggles are cached in `folder`/<batch>.json
    (the folder is per netlist hash, so a cached batch always belongs to this netlist)."""
    folder = folder.resolve()  # the simulator runs in its own folder
    out = folder / f"{batch.name}.json"
    if out.is_file():
        saved = json.loads(out.read_text())
        rises = {int(k): v for k, v in saved["rises"].items()}
        falls = {int(k): v for k, v in saved["falls"].items()}
        return BatchResult(batch.name, saved["record"], rises, falls, saved["seconds"])
    sources = write_sources(netlist, config, folder / "src")
    results = folder / f"{batch.name}.record"
    params = HwConfig.named(config).params()
    tb_params = {k: v for k, v in params.items() if k in TB_PARAMS}
    start = time.perf_counter()
    run_cocotb(
        toplevel=TOPLEVEL,
        sources=sources,
        test_module=MODULE,
        parameters={**tb_params, **DEPTHS},
        tag=tag,
        sim="verilator",
        coverage=True,
        # Verilator leaves signals wider than 256 bits out of toggle coverage; a core's
        # activation port is RPB x 256 bits wide (1,024 at small_g1_rpb4).
        toggle_max_width=max(len(bits) for _, bits in netlist.ports.values()),
        seed=1,
        results_name=batch.name,
        public=[(STUB_MODULE, "fail_count"), (STUB_MODULE, "first_fail")],
        extra_env={
            "FLEXCIM_CONFIG": config,
            "ENERGY_FILE": str(workload.resolve()),
            "ENERGY_LAYERS": ",".join(str(i) for i in batch.layers),
            "ENERGY_RESULTS": str(results),
            # FIXED_* stay at the testbench top's defaults (the netlist is the baseline already
            # and the shell ignores them); FastEnv learns the core kind from PARAM_*.
            **{f"PARAM_{k}": str(v) for k, v in params.items() if k not in tb_params},
        },
    )
    seconds = time.perf_counter() - start
    cov = build_dir_for("verilator", TOPLEVEL, f"{tag}-cov") / f"coverage_{batch.name}.dat"
    # by_net checks that every net of the netlist has its toggle points
    rises, falls = by_net(read_toggles(cov, SCOPE), net_names(netlist))
    record = json.loads(results.read_text())
    cov.unlink()  # ~20 MB of text per batch; the per-net counts below are what is kept
    saved = {
        "record": record,
        "seconds": seconds,
        "rises": {k: v for k, v in rises.items() if v},
        "falls": {k: v for k, v in falls.items() if v},
    }
    out.write_text(json.dumps(saved) + "\n")
    return BatchResult(batch.name, record, rises, falls, seconds)

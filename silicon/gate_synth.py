"""The flat gate-level netlist the energy flow simulates: silicon.synth's mapping, flattened.

silicon.synth (the area flow) maps flexcim_core to the Liberty cells hierarchically, with
ABC's buffering and sizing (``abc -D <period> -constr``), one cached run per configuration;
the area report and the energy report therefore count the same cells. Here that mapped
netlist is flattened (``flatten``; ``opt_clean -purge`` drops the alias wires OpenSTA 2019
rejects; undriven bits become 0). Flattening keeps every cell's instance path in its name
(``$flatten\\gen_submacro[0].u_submacro.\\gen_row[0].gen_col[2].u_cell.$abc$...``), which
is what the energy breakdown by block reads.

Cached in build/energy/<config>-<mapping key>/ (the mapping's own key hashes the RTL,
parameters, library, script and Yosys version): `make energy` resumes without re-mapping.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from silicon.liberty import DEFAULT_LIBERTY, LibertyError
from silicon.synth import config_params, map_design
from tb.common.runner import ROOT

OUT = ROOT / "build" / "energy"
FLATTEN_VERSION = 1  # bump when flatten_script changes meaning


def flatten_script(lib: Path, mapped: Path, out: Path) -> str:
    return "\n".join(
        [
            f"read_liberty -lib {lib}",
            f"read_json {mapped}",
            "hierarchy -top core",
            "flatten",
            "opt_clean -purge",
            "setundef -zero",
            f"tee -q -o {out.with_suffix('.stat')} stat -liberty {lib}",
            f"write_json {out}",
        ]
    )


def synthesize(config: str, lib: Path = DEFAULT_LIBERTY, out: Path = OUT) -> Path:
    """The flat mapped netlist of `config`: <folder>/netlist.json (cached), where <folder> is
    build/energy/<config>-<key>; the folder also holds the simulation's files."""
    if not Path(lib).is_file():
        raise LibertyError(f"Liberty file not found: {lib}")

    def progress(text: str) -> None:
        print(f"[silicon.synth] {text}", file=sys.stderr, flush=True)

    run = map_design(config, liberty=Path(lib), progress=progress)
    folder = out / f"{config}-{run.key}-f{FLATTEN_VERSION}"
    netlist = folder / "netlist.json"
    if netlist.is_file():
        return netlist
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "flatten.ys"
    tmp = folder / "netlist.tmp.json"
    script.write_text(flatten_script(Path(lib), run.folder / "mapped.json", tmp))
    proc = subprocess.run(
        ["yosys", "-q", "-s", str(script)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"yosys flatten failed on {config} ({script}):\n{proc.stderr[-2000:]}")
    tmp.replace(netlist)  # last: its presence marks a complete folder
    return netlist


__all__ = ["config_params", "synthesize"]


def cell_models(folder: Path, lib: Path = DEFAULT_LIBERTY) -> Path:
    """Simulation models of the library's cells, from their Liberty functions (Yosys
    read_liberty without -lib), toggle coverage off: only the netlist's nets are counted."""
    out = folder / "cells.v"
    if out.is_file():
        return out
    folder.mkdir(parents=True, exist_ok=True)
    raw = folder / "cells.raw.v"
    subprocess.run(
        ["yosys", "-q", "-p", f"read_liberty {lib}; write_verilog -noattr {raw}"],
        check=True,
        capture_output=True,
    )
    body = raw.read_text()
    out.write_text(
        "/* verilator lint_off DECLFILENAME */\n/* verilator lint_off UNUSEDSIGNAL */\n"
        "/* verilator coverage_off */\n" + body + "/* verilator coverage_on */\n"
    )
    raw.unlink()
    return out

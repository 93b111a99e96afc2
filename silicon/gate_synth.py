"""Yosys: flexcim_core at one named configuration -> flat netlist of Liberty cells (JSON).

Synthesis runs *hierarchically* (every distinct module once, as bench.area does), the
flip-flops map with ``dfflibmap -liberty`` and the logic with ``abc -liberty``; only then is
the design flattened, so every cell's name keeps its instance path
(``$flatten\\gen_submacro[0].u_submacro.\\gen_row[0].gen_col[2].u_cell.$abc$...``), which is
what the energy breakdown by block reads. ``opt_clean -purge`` drops the alias wires
OpenSTA 2019 rejects. No ABC buffering or timing constraint here (the area flow owns the
timing-driven mapping); the energy model adds no wire load either.

The result is cached by a hash of everything that shapes it (RTL, parameters, library,
script, Yosys binary): `make energy` resumes without re-synthesizing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from pathlib import Path

from silicon.liberty import DEFAULT_LIBERTY, LibertyError
from tb.common.runner import core_sources, load_configs
from tb.ipcore import CORE

TOP = CORE.toplevel("synth")
PARAMS = CORE.target_parameters("synth")


def config_params(config: str) -> dict[str, int]:
    return {k: v for k, v in load_configs()[config].items() if k in PARAMS}


def yosys_script(sources: list[Path], params: dict[str, int], lib: Path, out: Path) -> str:
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    return "\n".join(
        [
            "read_verilog -sv " + " ".join(str(s) for s in sources),
            f"chparam {chparam} {TOP}",
            f"synth -top {TOP}",
            f"dfflibmap -liberty {lib}",
            f"abc -liberty {lib}",
            "opt_clean -purge",
            "flatten",
            "opt_clean -purge",
            "setundef -zero",
            f"rename -top {TOP}",
            f"tee -q -o {out.with_suffix('.stat')} stat -liberty {lib}",
            f"write_json {out}",
        ]
    )


def netlist_key(config: str, lib: Path = DEFAULT_LIBERTY) -> str:
    digest = hashlib.sha256()
    sources = core_sources("synth")
    params = config_params(config)
    digest.update(yosys_script(sources, params, lib, Path("x.json")).encode())
    for path in [*sources, lib, Path(__file__)]:
        digest.update(Path(path).read_bytes())
    digest.update(str(shutil.which("yosys")).encode())
    return digest.hexdigest()[:16]


def synthesize(config: str, folder: Path, lib: Path = DEFAULT_LIBERTY) -> Path:
    """`folder`/netlist.json for `config` (reused when the cache key matches)."""
    if not Path(lib).is_file():
        raise LibertyError(f"Liberty file not found: {lib}")
    if shutil.which("yosys") is None:
        raise FileNotFoundError("yosys not found: apt-get install -y yosys")
    out = folder / "netlist.json"
    key = folder / "netlist.key"
    want = netlist_key(config, lib)
    if out.is_file() and key.is_file() and key.read_text() == want:
        return out
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "synth.ys"
    script.write_text(yosys_script(core_sources("synth"), config_params(config), lib, out))
    start = time.perf_counter()
    proc = subprocess.run(
        ["yosys", "-q", "-l", str(folder / "yosys.log"), "-s", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"yosys failed on {config} (log {folder / 'yosys.log'}):\n{proc.stderr}")
    key.write_text(want)
    (folder / "synth.seconds").write_text(f"{time.perf_counter() - start:.1f}\n")
    return out


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

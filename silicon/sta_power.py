"""Cross-check of silicon.energy against OpenSTA's ``report_power`` (Debian opensta, 2019).

OpenSTA reads the same structural Verilog the simulation ran (silicon.netlist_verilog) and
the same Liberty file; it has no per-net activity from us here, only one global activity
(`set_power_activity -global -activity a -duty 0.5`: a transitions per clock period on every
net, the clock's own from `create_clock`). So the like-for-like comparison is silicon.energy
under the same uniform activity (`uniform_activity`); the measured-activity figure is shown
next to both. A global activity once set cannot be unset in one OpenSTA session, so every
call is its own session.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from silicon.energy import Activity
from silicon.flat import FlatNetlist

_ROW = r"^{}\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)"
_TOTAL = re.compile(_ROW.format("Total"), re.MULTILINE)
_SEQ = re.compile(_ROW.format("Sequential"), re.MULTILINE)
_COMB = re.compile(_ROW.format("Combinational"), re.MULTILINE)


@dataclass(frozen=True)
class StaPower:
    internal_w: float
    switching_w: float
    leakage_w: float
    total_w: float
    activity: float  # the global activity given
    groups: dict[str, tuple[float, float, float, float]]  # Sequential / Combinational rows
    report: str


def sta_script(lib: Path, verilog: Path, top: str, clock: str, period: float, act: float) -> str:
    return "\n".join(
        [
            f"read_liberty {lib}",
            f"read_verilog {verilog}",
            f"link_design {top}",
            f"create_clock -name clk -period {period} [get_ports {clock}]",
            f"set_power_activity -global -activity {act} -duty 0.5",
            "report_power -digits 6",
        ]
    )


def run_sta(
    lib: Path, verilog: Path, top: str, clock: str, period: float, act: float, folder: Path
) -> StaPower:
    """One OpenSTA session; `period` in the library's time unit."""
    exe = shutil.which("sta")
    if exe is None:
        raise FileNotFoundError("OpenSTA not found (binary `sta`): apt-get install -y opensta")
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "power.tcl"
    script.write_text(sta_script(lib, verilog, top, clock, period, act) + "\n")
    proc = subprocess.run(
        [exe, "-no_splash", "-exit", str(script)],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    text = proc.stdout + proc.stderr
    (folder / "power.rpt").write_text(text)
    match = _TOTAL.search(text)
    if proc.returncode != 0 or match is None:
        raise RuntimeError(f"OpenSTA report_power failed (exit {proc.returncode}):\n{text[-2000:]}")
    internal, switching, leakage, total = (float(v) for v in match.groups())
    groups = {
        name: tuple(float(v) for v in m.groups())
        for name, pattern in (("sequential", _SEQ), ("combinational", _COMB))
        if (m := pattern.search(text))
    }
    return StaPower(internal, switching, leakage, total, act, groups, text)


def mean_activity(
    netlist: FlatNetlist, rises: dict[int, int], falls: dict[int, int], cycles: int, clock: int
) -> float:
    """Mean transitions per clock cycle over the netlist's nets, the clock net excluded."""
    nets = {
        bit
        for cell in netlist.cells
        for bits in cell.connections.values()
        for bit in bits
        if isinstance(bit, int) and bit != clock
    }
    toggles = sum(rises.get(n, 0) + falls.get(n, 0) for n in nets)
    return toggles / (len(nets) * cycles)


def uniform_activity(
    netlist: FlatNetlist, act: float, cycles: int, clock: int, seconds: float
) -> Activity:
    """`act` transitions per cycle on every net (half rising), the clock two per cycle."""
    nets = {
        bit
        for cell in netlist.cells
        for bits in cell.connections.values()
        for bit in bits
        if isinstance(bit, int)
    }
    half = act * cycles / 2
    rises = {n: half for n in nets}
    rises[clock] = cycles
    return Activity(rises, dict(rises), seconds)

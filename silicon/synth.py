"""Yosys synthesis of flexcim_core to the standard-cell library, cached by content hash.

One Yosys run per configuration does both numbers `make area` reports:
1. bench.area's generic synthesis (``synth``, hierarchy kept) and its ``stat`` report: the
   generic-cell counts, unchanged;
2. then maps that netlist to the library: ``dfflibmap -liberty`` (flip-flops), ``abc -D
   <period> -constr <file> -liberty`` (logic; ``-D`` makes ABC *buffer* high-fanout nets and
   up/down-size gates: plain ``abc -liberty`` leaves nets driving thousands of pins),
   ``opt_clean -purge``, ``stat -liberty`` and ``write_json`` of the mapped netlist.

Hierarchical (default): every distinct module is mapped once and totals are composed by instance
counts (silicon.area); flat synthesis of the paper geometry takes hours on 2 cores. ``flat=True``
runs ``synth -flatten`` instead (small configurations only), to check the composition.

ABC sees each module alone: its inputs driven by ``DRIVING_CELL``, its outputs loading
``LOAD_PF``, so nets that cross module boundaries (e.g. a sub-macro input fanning out to R x C
cell instances) are not buffered; silicon.slew reports them.

Results are cached in ``build/silicon/<config>-<flat|hier>-<key>/``; the key hashes the RTL
files, the parameters, the library file, the options, this script and the Yosys version, so a
finished design is never synthesized twice (``make area`` resumes after an interruption).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.area import CORE_PARAMS, TOP, yosys_script
from silicon.liberty import APT_PACKAGE, DEFAULT_LIBERTY, LibertyError
from tb.common.runner import ROOT, core_sources, load_configs

OUT = ROOT / "build" / "silicon"
SCRIPT_VERSION = 1  # bump when the script below changes meaning


@dataclass(frozen=True)
class MapOptions:
    period_ps: int = 10_000  # ABC -D target: 100 MHz, a relaxed clock for 0.18 um
    driving_cell: str = "BUFX2"  # what drives every module input (ABC and silicon.slew)
    load_pf: float = 0.02  # what every module output drives (about two 1X gate inputs)


@dataclass(frozen=True)
class MappedRun:
    config: str
    params: dict[str, int]
    flat: bool
    folder: Path  # holds mapped.json, generic.txt (hierarchical), mapped.txt, run.json
    seconds: float  # Yosys wall time of the run that made the folder
    yosys_area: float  # Yosys' own `stat -liberty` chip area of the top, for a cross-check
    key: str
    cached: bool

    @property
    def netlist(self) -> Path:
        return self.folder / "mapped.json"

    @property
    def generic_report(self) -> Path:
        return self.folder / "generic.txt"


def yosys_version() -> str:
    if shutil.which("yosys") is None:
        raise FileNotFoundError("yosys not found: apt-get install -y yosys (or make apt)")
    return subprocess.run(["yosys", "-V"], capture_output=True, text=True, check=True).stdout


def config_params(config: str) -> dict[str, int]:
    """The configuration's flexcim_core parameters (configs/flexcim.yaml)."""
    return {k: v for k, v in load_configs()[config].items() if k in CORE_PARAMS}


def map_script(
    sources: list[Path],
    params: dict[str, int],
    folder: Path,
    liberty: Path,
    constr: Path,
    options: MapOptions,
    flat: bool,
) -> str:
    if flat:
        chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
        front = [
            "read_verilog -sv " + " ".join(str(s) for s in sources),
            f"chparam {chparam} {TOP}",
            f"synth -flatten -top {TOP}",
            "rename -top core",
        ]
    else:
        front = yosys_script(sources, params, folder / "generic.txt").splitlines()
    return "\n".join(
        [
            *front,
            f"dfflibmap -liberty {liberty}",
            f"abc -D {options.period_ps} -constr {constr} -liberty {liberty}",
            "opt_clean -purge",
            f"tee -q -o {folder / 'mapped.txt'} stat -liberty {liberty}",
            f"write_json {folder / 'mapped.json'}",
        ]
    )


def run_key(
    sources: list[Path], params: dict[str, int], liberty: Path, options: MapOptions, flat: bool
) -> str:
    """Hash of what decides the result: RTL and library contents, the Yosys script (with
    placeholder paths), the options and the Yosys version; not this file's comments."""
    h = hashlib.sha256()
    for path in [*sources, liberty]:
        h.update(path.name.encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    script = map_script(sources, params, Path("@"), liberty, Path("@constr"), options, flat)
    meta = {"script": script, "options": asdict(options), "flat": flat, "v": SCRIPT_VERSION}
    h.update(json.dumps(meta, sort_keys=True).encode())
    h.update(yosys_version().encode())
    return h.hexdigest()[:16]


_CHIP = re.compile(r"Chip area for (?:top )?module '\\?core':\s+([0-9.]+)")


def map_design(
    config: str,
    *,
    flat: bool = False,
    liberty: Path = DEFAULT_LIBERTY,
    options: MapOptions = MapOptions(),
    out: Path = OUT,
    progress: Callable[[str], None] = print,
) -> MappedRun:
    """Synthesize and map `config` (cached); returns where the mapped netlist is."""
    if not Path(liberty).is_file():
        hint = (
            f" (apt-get install {APT_PACKAGE}, or make apt)" if liberty == DEFAULT_LIBERTY else ""
        )
        raise LibertyError(f"Liberty file not found: {liberty}{hint}")
    params = config_params(config)
    sources = core_sources("synth")
    key = run_key(sources, params, Path(liberty), options, flat)
    folder = out / f"{config}-{'flat' if flat else 'hier'}-{key}"
    done = folder / "run.json"
    if done.is_file():
        meta = json.loads(done.read_text())
        progress(f"{config} ({'flat' if flat else 'hierarchical'}): cached in {folder}")
        return MappedRun(
            config, params, flat, folder, meta["seconds"], meta["yosys_area"], key, True
        )
    folder.mkdir(parents=True, exist_ok=True)
    constr = folder / "abc.constr"
    constr.write_text(f"set_driving_cell {options.driving_cell}\nset_load {options.load_pf}\n")
    script = folder / "map.ys"
    script.write_text(map_script(sources, params, folder, Path(liberty), constr, options, flat))
    progress(f"{config} ({'flat' if flat else 'hierarchical'}): yosys -> {folder} ...")
    start = time.perf_counter()
    proc = subprocess.run(
        ["yosys", "-q", "-s", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = round(time.perf_counter() - start, 1)
    if proc.returncode != 0:
        raise RuntimeError(f"yosys failed on {config} (script {script}):\n{proc.stderr[-3000:]}")
    chip = _CHIP.findall((folder / "mapped.txt").read_text())
    if not chip:
        raise RuntimeError(f"{config}: no chip area in {folder / 'mapped.txt'}")
    yosys_area = float(chip[-1])  # the last one is the whole hierarchy's
    # run.json last: its presence marks a complete, reusable folder.
    done.write_text(json.dumps({"seconds": seconds, "yosys_area": yosys_area}) + "\n")
    progress(f"{config}: mapped in {seconds} s")
    return MappedRun(config, params, flat, folder, seconds, yosys_area, key, False)

"""`make area`: generic-cell area of the core from Yosys synthesis, per module and configuration.

For each named configuration, Yosys (apt, 0.23) reads the synthesizable RTL (the files of
rtl/flexcim.core's synth target: every core module but the simulation-only checker) with
``read_verilog -sv``, sets the configuration's parameters on ``flexcim_core`` and runs
``synth`` *hierarchically*: every distinct module (one cell, one sub-macro, one distribution
mux, ...) is synthesized once and the hierarchy report counts instances, so whole-core numbers
come from synthesis even where a flattened synthesis of the big configurations would take far
too long on 2 cores. Reported per module: generic cells and flip-flops (``$_*DFF*`` cells) of
one instance, instances, and totals; per configuration: the whole core, and the share of it
taken by the distribution network (all ``flexcim_distribution`` instances), the merge network
(``flexcim_merge``: merge trees and output accumulators) and the pair-select storage (the
``q_q`` flip-flops of the core top, found with a Yosys ``select`` on the flops driving
``q_q``). No hand area formula anywhere.

``python -m bench.area [config ...]`` (default: tiny small default wide deep paper) prints a
Markdown table and writes ``build/area/area.json`` and ``build/area/area.md``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from golden.cli import checked_configs, refuse
from golden.files import write_atomic
from tb.common.runner import CORE_MODULES, ROOT, core_sources, load_configs
from tb.ipcore import CORE

CONFIGS = ("tiny", "small", "default", "wide", "deep", "paper")
OUT = ROOT / "build" / "area"
TOP = CORE.toplevel("synth")
CORE_PARAMS = CORE.target_parameters("synth")


@dataclass(frozen=True)
class ModuleArea:
    module: str  # RTL module name, with its parent where one module has several variants
    instances: int  # in one core
    cells: int  # generic cells of one instance, its own (sub-instances excluded)
    flops: int  # flip-flops of one instance, its own
    cells_incl: int  # generic cells of one instance including its sub-instances
    flops_incl: int


@dataclass(frozen=True)
class CoreArea:
    config: str
    params: dict[str, int]
    modules: list[ModuleArea]
    total_cells: int  # whole core, from Yosys' design-hierarchy count
    total_flops: int
    select_flops: int  # q_q flip-flops (pair-select storage)
    seconds: float  # Yosys wall time

    def share(self, module: str) -> float:
        """Share of the core's cells in every instance of `module` (sub-instances included)."""
        part = sum(m.cells_incl * m.instances for m in self.modules if m.module == module)
        return part / self.total_cells


_MODULE_HDR = re.compile(r"^=== (.+) ===$")
_CELLS = re.compile(r"^\s+Number of cells:\s+(\d+)$")
_CELL_TYPE = re.compile(r"^\s+(\S+)\s+(\d+)$")


def _module_name(yosys_name: str) -> str:
    """`$paramod$<hash>\\flexcim_cell`, `$paramod\\flexcim_axil\\AW=...`, `core` -> RTL name."""
    if yosys_name == "core":
        return TOP
    for name in CORE_MODULES:
        if re.search(rf"(^|\\){name}(\\|$)", yosys_name):
            return name
    return yosys_name


def parse_stat(text: str) -> dict[str, dict[str, int]]:
    """Yosys `stat` -> {yosys module name | "hierarchy": {"cells", "flops", "inst:<name>"}}."""
    sections: dict[str, dict[str, int]] = {}
    current: dict[str, int] | None = None
    for line in text.splitlines():
        header = _MODULE_HDR.match(line)
        if header:
            name = header.group(1)
            current = sections.setdefault("hierarchy" if name == "design hierarchy" else name, {})
            continue
        if current is None:
            continue
        cells = _CELLS.match(line)
        if cells:
            current["cells"] = int(cells.group(1))
            continue
        ctype = _CELL_TYPE.match(line)
        if ctype:
            kind, count = ctype.group(1), int(ctype.group(2))
            if kind.startswith("$_"):
                if "DFF" in kind:
                    current["flops"] = current.get("flops", 0) + count
            elif kind in sections or kind.startswith("$paramod") or kind in CORE_MODULES:
                current[f"inst:{kind}"] = count
    return sections


def _children(counts: dict[str, int]) -> dict[str, int]:
    return {k[5:]: v for k, v in counts.items() if k.startswith("inst:")}


def _own(counts: dict[str, int]) -> int:
    return counts["cells"] - sum(_children(counts).values())  # instances count as cells


def _inclusive(sections: dict[str, dict[str, int]], name: str, key: str) -> int:
    counts = sections[name]
    own = _own(counts) if key == "cells" else counts.get("flops", 0)
    return own + sum(n * _inclusive(sections, c, key) for c, n in _children(counts).items())


def _instances(sections: dict[str, dict[str, int]], name: str) -> int:
    """Instances of yosys module `name` in one core, multiplied down from the top."""
    if name == "core":
        return 1
    return sum(
        n * _instances(sections, parent)
        for parent, counts in sections.items()
        if parent != "hierarchy"
        for child, n in _children(counts).items()
        if child == name
    )


def yosys_script(sources: list[Path], params: dict[str, int], report: Path) -> str:
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    return "\n".join(
        [
            "read_verilog -sv " + " ".join(str(s) for s in sources),
            f"chparam {chparam} {TOP}",
            f"synth -top {TOP}",
            "rename -top core",
            f"tee -q -o {report} stat",
            # Pair-select storage: the flip-flops whose Q drives the core's q_q register.
            f"tee -q -a {report} select -count core/w:q_q %ci1:+[Q] core/t:*DFF* %i",
        ]
    )


def synthesize(config: str) -> CoreArea:
    """Hierarchical Yosys synthesis of flexcim_core at `config`."""
    if shutil.which("yosys") is None:
        raise FileNotFoundError("yosys not found: apt-get install -y yosys")
    params = {k: v for k, v in load_configs()[config].items() if k in CORE_PARAMS}
    sources = core_sources("synth")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "stat.txt"
        script = Path(tmp) / "area.ys"
        script.write_text(yosys_script(sources, params, report))
        start = time.perf_counter()
        proc = subprocess.run(
            ["yosys", "-q", "-s", str(script)], capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"yosys failed on {config}:\n{proc.stdout}\n{proc.stderr}")
        text = report.read_text()
    return area_from_report(config, params, text, seconds)


def area_from_report(config: str, params: dict[str, int], text: str, seconds: float) -> CoreArea:
    """CoreArea from the text `yosys_script` tees into its report (silicon's run writes it too)."""
    sections = parse_stat(text)
    select = re.search(r"(\d+) objects", text)
    if select is None or "hierarchy" not in sections or "core" not in sections:
        raise RuntimeError(f"unexpected yosys report for {config}:\n{text}")
    names = [n for n in sections if n != "hierarchy"]
    modules = []
    for name in names:
        module = _module_name(name)
        if sum(_module_name(n) == module for n in names) > 1:
            parents = [p for p in names if name in _children(sections[p])]
            module = f"{module} in {'/'.join(_module_name(p) for p in parents)}"
        modules.append(
            ModuleArea(
                module,
                _instances(sections, name),
                _own(sections[name]),
                sections[name].get("flops", 0),
                _inclusive(sections, name, "cells"),
                _inclusive(sections, name, "flops"),
            )
        )
    order = {m: i for i, m in enumerate(CORE_MODULES)}
    modules.sort(key=lambda m: order.get(m.module.split(" ")[0], 99))
    hier = sections["hierarchy"]
    core_incl = _inclusive(sections, "core", "cells")
    # Cross-check: the inclusive sum over the hierarchy equals Yosys' own total.
    if core_incl != hier["cells"]:
        raise RuntimeError(f"{config}: hierarchy sum {core_incl} != yosys total {hier['cells']}")
    return CoreArea(
        config,
        params,
        modules,
        core_incl,
        _inclusive(sections, "core", "flops"),
        int(select.group(1)),
        round(seconds, 1),
    )


def markdown(areas: list[CoreArea]) -> str:
    lines = [
        "| config | module | instances | own cells | own flops | cells incl. sub-instances "
        "| x instances |",
        "|---|---|---|---|---|---|---|",
    ]
    for a in areas:
        for m in a.modules:
            lines.append(
                f"| {a.config} | {m.module} | {m.instances} | {m.cells} | {m.flops} | "
                f"{m.cells_incl} | {m.cells_incl * m.instances} |"
            )
    lines += [
        "",
        "| config | P x R x C | core cells | core flops | distribution | merge | "
        "select storage (flops) | yosys s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for a in areas:
        p = a.params
        lines.append(
            f"| {a.config} | {p['P']} x {p['R']} x {p['C']} | {a.total_cells} | "
            f"{a.total_flops} | {100 * a.share('flexcim_distribution'):.1f}% | "
            f"{100 * a.share('flexcim_merge'):.1f}% | "
            f"{100 * a.select_flops / a.total_cells:.2f}% ({a.select_flops}) | {a.seconds} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(CONFIGS)
    checked_configs(names, "python -m bench.area")
    if shutil.which("yosys") is None:
        raise SystemExit(
            refuse("python -m bench.area", "yosys not found: apt-get install -y yosys")
        )
    areas = []
    for name in names:
        print(f"synthesizing {name} ...", file=sys.stderr, flush=True)
        areas.append(synthesize(name))
    table = markdown(areas)
    print(table)
    write_atomic(OUT / "area.md", table + "\n")
    write_atomic(OUT / "area.json", json.dumps([asdict(a) for a in areas], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

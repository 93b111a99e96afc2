"""The core as IP: reads rtl/flexcim.core, the one home of the RTL's files and parameters.

The FuseSoC core file lists the sources in dependency order (the package first), the
simulation-only checker apart, the Verilator waivers, the top level and the parameters.
The project reads its file lists from here (tb.common.runner, tb.lint, bench.area), and
rtl/flexcim.f, the plain filelist for ``verilator -F`` and ``iverilog -c``, is generated from
it: ``python -m tb.ipcore`` rewrites it, ``python -m tb.ipcore --check`` fails when it is
stale (tb/test_ipcore.py runs the same check).

Only the part of CAPI2 the core file uses is read: filesets with ``files`` (names, or
one-key maps ``{name: {file_type: ...}}``) and a ``file_type``, targets with ``filesets``
(``tool_<name> ? (fileset)`` entries included), ``toplevel`` and ``parameters``, and
parameters with ``datatype``, ``paramtype``, ``default`` and ``description``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tb.toolchain import ROOT

CORE_FILE = ROOT / "rtl" / "flexcim.core"
FILELIST = CORE_FILE.with_suffix(".f")
SV = "systemVerilogSource"
_CONDITIONAL = re.compile(r"^(!?)tool_(\w+)\s*\?\s*\(\s*(\w+)\s*\)$")


class CoreFileError(ValueError):
    """The core file uses something this reader does not understand, or is inconsistent."""


@dataclass(frozen=True)
class CoreParameter:
    """One parameter of the core file (``default`` None: the RTL's own default applies)."""

    name: str
    default: int | None
    description: str


@dataclass(frozen=True)
class IpCore:
    """The parts of a CAPI2 core file the project uses."""

    name: str
    filesets: dict[str, tuple[tuple[str, str], ...]]  # fileset -> ((path, file_type), ...)
    targets: dict[str, dict[str, Any]]
    parameters: dict[str, CoreParameter]

    def target(self, target: str) -> dict[str, Any]:
        if target not in self.targets:
            raise CoreFileError(f"no target {target!r} in the core file ({sorted(self.targets)})")
        return self.targets[target]

    def target_filesets(self, target: str, tool: str | None = None) -> list[str]:
        """The filesets of ``target`` in order; ``tool_<x> ? (fs)`` kept when ``tool`` is x."""
        names = []
        for entry in self.target(target).get("filesets", []):
            match = _CONDITIONAL.match(str(entry).strip())
            if match is None:
                names.append(str(entry))
            elif (match.group(2) == tool) != (match.group(1) == "!"):
                names.append(match.group(3))
        unknown = [n for n in names if n not in self.filesets]
        if unknown:
            raise CoreFileError(f"target {target} names unknown filesets {unknown}")
        return names

    def files(
        self, target: str = "default", file_type: str = SV, tool: str | None = None
    ) -> list[str]:
        """Paths (relative to the core file's folder) of ``target``'s files of ``file_type``."""
        return [
            path
            for fileset in self.target_filesets(target, tool)
            for path, kind in self.filesets[fileset]
            if kind == file_type
        ]

    def modules(self, target: str = "default") -> tuple[str, ...]:
        """Module names of ``target``'s SystemVerilog files (file = module), in order."""
        return tuple(Path(path).stem for path in self.files(target))

    def toplevel(self, target: str = "default") -> str:
        return str(self.target(target)["toplevel"])

    def target_parameters(self, target: str = "default") -> tuple[str, ...]:
        names = tuple(str(name) for name in self.target(target).get("parameters", []))
        unknown = [n for n in names if n.split("=")[0] not in self.parameters]
        if unknown:
            raise CoreFileError(f"target {target} names unknown parameters {unknown}")
        return names


def _fileset(name: str, spec: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    default_type = spec.get("file_type")
    files = []
    for entry in spec.get("files", []):
        if isinstance(entry, str):
            path, kind = entry, default_type
        elif isinstance(entry, dict) and len(entry) == 1:
            path, attrs = next(iter(entry.items()))
            kind = (attrs or {}).get("file_type", default_type)
        else:
            raise CoreFileError(f"fileset {name}: cannot read file entry {entry!r}")
        if not kind:
            raise CoreFileError(f"fileset {name}: {path} has no file_type")
        files.append((str(path), str(kind)))
    return tuple(files)


def _parameter(name: str, spec: dict[str, Any]) -> CoreParameter:
    if spec.get("datatype") != "int" or spec.get("paramtype") != "vlogparam":
        raise CoreFileError(f"parameter {name}: expected datatype int, paramtype vlogparam")
    default = spec.get("default")
    if default is not None and (not isinstance(default, int) or isinstance(default, bool)):
        raise CoreFileError(f"parameter {name}: default {default!r} is not an int")
    return CoreParameter(name, default, str(spec.get("description", "")))


def load_core(path: Path = CORE_FILE) -> IpCore:
    """Parse a CAPI2 core file (YAML; FuseSoC's ``CAPI=2:`` first line is a YAML key)."""
    text = path.read_text()
    if not text.startswith("CAPI=2:"):
        raise CoreFileError(f"{path}: not a CAPI2 core file (first line must be 'CAPI=2:')")
    data = yaml.safe_load(text)
    return IpCore(
        name=str(data["name"]),
        filesets={n: _fileset(n, s) for n, s in (data.get("filesets") or {}).items()},
        targets={n: dict(s) for n, s in (data.get("targets") or {}).items()},
        parameters={n: _parameter(n, s) for n, s in (data.get("parameters") or {}).items()},
    )


CORE = load_core()


def filelist_text(core: IpCore = CORE, target: str = "default") -> str:
    """rtl/flexcim.f: ``target``'s SystemVerilog files in order, one per line, with comments."""
    lines = [
        f"// {core.name}: the {target} target's sources, in order. GENERATED from",
        f"// {CORE_FILE.name} by `python -m tb.ipcore`; edit that file, not this one.",
        "// Paths are relative to this folder: `verilator -F rtl/flexcim.f` reads them from",
        "// anywhere; Icarus 11 has no -F, so run `iverilog -g2012 -c flexcim.f` inside rtl/.",
        f"// Top level: {core.toplevel(target)}. Lint waivers (Verilator):"
        f" {', '.join(core.files(target, 'vlt', 'verilator')) or 'none'}.",
    ]
    for fileset in core.target_filesets(target):
        paths = [path for path, kind in core.filesets[fileset] if kind == SV]
        if paths:
            lines.append(f"// fileset {fileset}")
            lines += paths
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help=f"fail if {FILELIST.name} is stale (write nothing)"
    )
    args = parser.parse_args(argv)
    text = filelist_text()
    if args.check:
        if not FILELIST.is_file() or FILELIST.read_text() != text:
            print(f"{FILELIST} is stale: run `python -m tb.ipcore`", file=sys.stderr)
            return 1
        print(f"{FILELIST} is current")
        return 0
    FILELIST.write_text(text)
    print(f"wrote {FILELIST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

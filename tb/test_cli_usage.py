"""What a new user hits first: usage, errors naming the problem, non-zero exits (issues 9, 20).

tb/bad_inputs.yaml is the table of bad inputs at every entry point (make targets, flow, tb.replay,
bench, tb.mutation, tb.coverage_report, configs/flexcim.yaml): each row runs in a scratch copy of
the repository and must be refused within seconds, with exit status 2 and one line naming the
bad value, leaving nothing behind.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from golden.stimulus import save_stimulus, synthetic_stimulus
from tb.common.runner import ROOT, selected_configs, stimulus_env
from tb.settings import SettingError

TABLE = ROOT / "tb" / "bad_inputs.yaml"
ROWS: list[dict] = yaml.safe_load(TABLE.read_text())
# The settings a row must not inherit from the shell or from `make test` around it.
_CLEAN = ("SIM", "CONFIG", "CORE_CONFIGS", "COCOTB_RANDOM_SEED", "WAVES", "SEED", "JOBS")
_HAVE = {
    "torch": lambda: importlib.util.find_spec("torch") is not None,
    "corpus": lambda: (ROOT.parent / "shared" / "data").is_dir(),
}
_COPY_SKIPS = (
    ".git",
    ".venv",
    ".*_cache",
    ".hypothesis",
    "build",
    "sim_build",
    "results",
    "__pycache__",
    "*.egg-info",
)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_bench_help_prints_usage() -> None:
    out = _run("bench", "--help")
    assert out.returncode == 0 and "usage: python -m bench" in out.stdout


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's sources (no builds, no venv, no recorded results) in a scratch folder,
    beside a link to ../shared (the corpus), so a row's leftovers are easy to see."""
    base = tmp_path_factory.mktemp("bad-inputs")
    copy = base / "repo"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*_COPY_SKIPS), symlinks=True)
    if (ROOT.parent / "shared").is_dir():
        (base / "shared").symlink_to(ROOT.parent / "shared")
    return copy


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture
def scratch(repo_copy: Path, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(repository copy, row folder); the copy's configs/flexcim.yaml is put back afterwards."""
    configs = repo_copy / "configs" / "flexcim.yaml"
    text = configs.read_text()
    try:
        yield repo_copy, tmp_path
    finally:
        configs.write_text(text)


@pytest.mark.parametrize("row", ROWS, ids=[row["cmd"] for row in ROWS])
def test_bad_input_is_refused(
    row: dict, scratch: tuple[Path, Path], record_property: pytest.RecordProperty
) -> None:
    copy, tmp = scratch
    missing = [n for n in row.get("needs", []) if not _HAVE[n]()]
    if missing:
        pytest.skip(
            f"needs {', '.join(missing)}: the FLOW packages (make venv-flow), ../shared/data"
        )
    for name, content in row.get("files", {}).items():
        (tmp / name).write_text(content)
    if "stimulus" in row:
        patterns = [tuple(p) for p in row["stimulus"]]
        stim = synthetic_stimulus(np.random.default_rng(0), patterns, cout=8, k=16, tokens=2)
        save_stimulus(tmp / "stim.npz", stim)
    if "config" in row:
        with (copy / "configs" / "flexcim.yaml").open("a") as handle:
            handle.write(row["config"] + "\n")
    before, before_tmp = _tree(copy), _tree(tmp)
    cmd = [sys.executable if a == "python" else a for a in shlex.split(row["cmd"])]
    cmd = [a.replace("{tmp}", str(tmp)) for a in cmd]
    env = {k: v for k, v in os.environ.items() if k not in _CLEAN and not k.startswith("MAKE")}
    env |= {"PYTHONDONTWRITEBYTECODE": "1"}
    env |= {k: v.replace("{tmp}", str(tmp)) for k, v in row.get("env", {}).items()}
    bound = row.get("seconds", 30)
    start = time.perf_counter()
    try:
        out = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=bound)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{row['cmd']}: still running after {bound} s (it should refuse at once)")
    seconds = time.perf_counter() - start
    record_property("refusal_seconds", round(seconds, 2))
    print(f"refused in {seconds:.2f} s: {row['cmd']}")
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert out.returncode == row.get("status", 2), (out.returncode, lines)
    assert len(lines) == 1, lines
    for words in [str(row["bad"]), *row["words"]]:
        assert words in lines[0], (words, lines[0])
    assert _tree(copy) == before, sorted(_tree(copy) ^ before)
    assert _tree(tmp) == before_tmp, sorted(_tree(tmp) ^ before_tmp)


def test_config_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIG", "small,tiny")
    assert selected_configs(("tiny", "small", "default")) == ["tiny", "small"]
    monkeypatch.setenv("CONFIG", "foo")
    with pytest.raises(SettingError, match=r"CONFIG=foo: configuration 'foo' is not in"):
        selected_configs(("tiny",))
    monkeypatch.delenv("CONFIG")
    monkeypatch.delenv("CORE_CONFIGS", raising=False)
    assert selected_configs(("tiny", "small")) == ["tiny", "small"]


def test_k_selects_a_cocotb_test_by_name() -> None:
    """README: `pytest tb/core -k <test>` must select the case running that test."""
    out = _run(
        "pytest", "tb/core/test_core.py", "--collect-only", "-q", "-k", "csr_map_and_busy_writes"
    )
    assert out.returncode == 0, out.stdout + out.stderr
    selected = [line for line in out.stdout.splitlines() if "::test_core[" in line]
    assert selected and all("-control]" in line for line in selected), out.stdout


def test_relative_stimulus_path_is_made_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / "s.npz").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STIMULUS", "s.npz")
    assert stimulus_env() == {"STIMULUS": str(tmp_path / "s.npz")}
    monkeypatch.setenv("STIMULUS", "missing.npz")
    with pytest.raises(FileNotFoundError, match=r"STIMULUS=missing\.npz: no such file"):
        stimulus_env()

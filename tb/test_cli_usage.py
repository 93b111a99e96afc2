"""What a new user hits first: usage, errors naming the problem, non-zero exits (issue 9)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tb.common.runner import ROOT, ConfigSelectionError, selected_configs, stimulus_env


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_bench_help_prints_usage() -> None:
    out = _run("bench", "--help")
    assert out.returncode == 0 and "usage: python -m bench" in out.stdout


def test_bench_unknown_name_fails() -> None:
    out = _run("bench", "no_such_bench")
    assert out.returncode == 2 and "unknown benchmark(s) ['no_such_bench']" in out.stderr


def test_mutation_unknown_name_fails() -> None:
    out = _run("tb.mutation", "no_such_mutant")
    assert out.returncode == 2 and "unknown mutant(s) ['no_such_mutant']" in out.stderr


def test_replay_missing_stimulus_names_it(tmp_path) -> None:
    missing = tmp_path / "none.npz"
    out = _run("tb.replay", "--stimulus", str(missing), "--out", str(tmp_path))
    assert out.returncode == 1 and str(missing) in out.stderr


def test_config_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIG", "small,tiny")
    assert selected_configs(("tiny", "small", "default")) == ["tiny", "small"]
    monkeypatch.setenv("CONFIG", "foo")
    with pytest.raises(ConfigSelectionError, match=r"unknown configuration\(s\) \['foo'\]"):
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

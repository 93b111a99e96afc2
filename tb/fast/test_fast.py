"""pytest runner of the fast path: one Verilator build per config, one run per test group.

`make test` covers the fast path on `small` and `default` (every pattern, stalls, layers, a
slice of a stimulus file generated in the test, the negative test) and on the small G variant
of QUICK; the paper-scale configs (`paper`, the recommended `paper_g1_rpb32`) are marked
`paper`, the other small G / RPB variants `slow`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from golden.config import HwConfig, supported_patterns
from golden.cycle_model import dense_dcim_cycles
from golden.stimulus import load_stimulus, save_stimulus, synthetic_stimulus
from tb.common.runner import core_sources, load_configs, selected_configs
from tb.core.run import BASELINE_CONFIGS, BASELINE_PAPER, PAPER_CONFIGS
from tb.fast.run import DEPTHS, TB_TOP, TOPLEVEL, run_fast
from tb.lint import WAIVERS
from tb.replay import ReplayError, replay
from tb.toolchain import simulator_env

GROUPS: dict[str, list[str]] = {
    "patterns": [
        "fast_patterns_match_golden",
        "fast_scoreboard_detects_wrong_prediction",
        "fast_rtl_assertion_is_watched",
    ],
    "stalls": ["fast_stalls_on_every_stream"],
    # Many passes: one 1:1 job of LONG_PASSES (16) passes at MAX_TOK tokens, fully checked.
    "layers": ["fast_multi_job_layers", "fast_replay_stimulus_file", "fast_long_job"],
}
# Select-sharing width G and activation rows per beat RPB at the small size: G in {1, 2, C},
# RPB in {1, R} (`small` is G = C, RPB = 1).
VARIANTS = ("small_g2", "small_g1", "small_rpb4", "small_g1_rpb4")
# The baselines (dense DCiM, fixed 1:2, fixed 2:4): small ones slow here (tb/core runs them
# in `make test`), paper-size ones marked `paper`.
CONFIGS = ("small", "default", *VARIANTS, *BASELINE_CONFIGS, *PAPER_CONFIGS, *BASELINE_PAPER)
# The variant `make test` runs (one small build, ~35 s): G = 2 (tb/core's quick G / RPB case,
# tb.core.run.G_QUICK, is G = 1 at RPB = R); the others are slow.
QUICK = ("small_g2",)


def _cases() -> list[pytest.param]:
    cases = []
    for config in selected_configs(CONFIGS):
        marks = [pytest.mark.xdist_group(f"fast-{config}")]
        if config in PAPER_CONFIGS or config in BASELINE_PAPER:
            marks.append(pytest.mark.paper)
        elif config in (*VARIANTS, *BASELINE_CONFIGS) and config not in QUICK:
            marks.append(pytest.mark.slow)
        cases += [
            pytest.param(config, group, marks=marks, id=f"verilator-{config}-{group}")
            for group in GROUPS
        ]
    return cases


def _stimulus(folder: Path, config: str) -> Path:
    """A small stimulus file made by golden (as FLOW's export writes them), fixed seed."""
    cfg = HwConfig.named(config)
    path = folder / f"stimulus-{config}.npz"
    patterns = [(n, m) for n, m in supported_patterns(cfg.P) if m % 2 == 0][:4]
    stim = synthetic_stimulus(
        np.random.default_rng(7), patterns, cout=2 * cfg.C + 3, k=80, tokens=cfg.MAX_TOK + 2
    )
    save_stimulus(path, stim)
    return path


@pytest.mark.parametrize(("config", "group"), _cases())
def test_fast(config: str, group: str, tmp_path: Path) -> None:
    env = {}
    if group == "layers":
        env = {"STIMULUS": str(_stimulus(tmp_path, config)), "REPLAY_TILES": "3"}
    ran = run_fast(config, GROUPS[group], results_name=f"{config}-{group}", **env)
    assert ran == len(GROUPS[group]), f"{ran} of {len(GROUPS[group])} cocotb tests ran"


@pytest.mark.xdist_group("fast-small")
def test_failing_cocotb_test_is_named_in_the_summary() -> None:
    """A failing cocotb test must surface as its name and message, not `SystemExit: 1`."""
    with pytest.raises(AssertionError, match=r"fast_multi_job_layers: .*only 0 of 4 jobs"):
        run_fast("small", ["fast_multi_job_layers"], results_name="small-must-fail", LAYERS="0")


@pytest.mark.xdist_group("fast-small")
def test_replay_driver_runs_every_layer_and_resumes(tmp_path: Path) -> None:
    """tb.replay on a golden-made file: every layer in full, a table, and a resumed rerun."""
    stim_path = _stimulus(tmp_path, "small")
    out = tmp_path / "replay"
    total = replay(stim_path, "small", out, workers=2)
    layers = load_stimulus(stim_path).layers
    assert total["layers"] == len(layers) and total["jobs"] > len(layers)
    assert total["value_mismatches"] == 0 and total["cycle_mismatches"] == 0
    assert total["rtl_cycles"] == total["model_cycles"]
    # Each worker's results file lies in its own run folder, never in the build folder that
    # other processes (xdist workers replaying on the same core) share under the same name.
    assert all((out / f"worker{w}" / f"replay-{w}.result.xml").is_file() for w in (0, 1))
    report = json.loads((out / "replay.json").read_text())
    assert [r["layer"] for r in report["layers"]] == [ly.name for ly in layers]
    assert all(layer.name in (out / "replay.md").read_text() for layer in layers)
    # The dense and fixed-pattern alternatives ran as RTL jobs too; composed, they equal the
    # cycle model's baseline formulas for every layer.
    cfg = HwConfig.named("small")
    rows = {(r["hardware"], r["model"]): r["cycles"] for r in report["comparison"]["rows"]}
    dense = sum(dense_dcim_cycles(*ly.mask.shape, ly.act.shape[0], cfg).total for ly in layers)
    assert rows[("dense DCiM", "dense")] == dense
    assert rows[("FlexCiM", next(m for h, m in rows if h == "FlexCiM"))] == total["rtl_cycles"]
    again = replay(stim_path, "small", out, workers=2)  # everything done: nothing reruns
    assert again["jobs"] == total["jobs"] and again["wall_s_this_run"] < total["wall_s_this_run"]


@pytest.mark.xdist_group("fast-small")
def test_replay_of_permuted_layers_is_bit_exact(tmp_path: Path) -> None:
    """Issue 18: layers whose masks are N:M only in a permuted input order (format v2,
    `L{i}_perm`) replay through the RTL with the activations gathered in that order, bit-exact
    against y = W x and with the cycle model's cycles."""
    cfg = HwConfig.named("small")
    patterns = [(n, m) for n, m in supported_patterns(cfg.P) if m % 2 == 0 and n < m][:3]
    stim = synthetic_stimulus(
        np.random.default_rng(11), patterns, cout=cfg.C + 3, k=40, tokens=3, permuted=True
    )
    path = tmp_path / "permuted.npz"
    save_stimulus(path, stim)
    total = replay(path, "small", tmp_path / "out", workers=1)
    assert total["layers"] == len(patterns) and total["jobs"] >= len(patterns)
    assert total["value_mismatches"] == 0 and total["cycle_mismatches"] == 0
    assert total["rtl_cycles"] == total["model_cycles"]


def test_replay_refuses_unsupported_layers(tmp_path: Path) -> None:
    """A layer the config cannot run is an error naming it, never a silent skip."""
    stim = synthetic_stimulus(np.random.default_rng(1), [(2, 4), (1, 8)], cout=4, k=16, tokens=2)
    path = tmp_path / "s.npz"
    save_stimulus(path, stim)
    with pytest.raises(ReplayError, match=r"1 layer\(s\) use patterns config tiny .*1of8 \(1:8\)"):
        replay(path, "tiny", tmp_path / "out", workers=1)


@pytest.mark.parametrize(
    "config", ["small", "small_g1_rpb4", "paper", "small_dense", "small_fixed24"]
)
def test_fast_testbench_top_is_lint_clean(config: str) -> None:
    """The fast-path testbench top meets the RTL's bar: `verilator --lint-only -Wall` clean."""
    params = {**load_configs()[config], **DEPTHS}
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", TOPLEVEL, str(WAIVERS)]
    cmd += [f"-G{name}={value}" for name, value in params.items()]
    cmd += [str(path) for path in (*core_sources(), TB_TOP)]
    out = subprocess.run(
        cmd, env=simulator_env("verilator"), capture_output=True, text=True, check=False
    )
    bad = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("%")]
    assert out.returncode == 0 and not bad, "\n".join(bad)

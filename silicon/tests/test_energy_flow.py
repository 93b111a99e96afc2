"""The energy flow's pieces that need no simulator: workload extract, block names, layer
lists, stability, the report; and (slow) one real layer through the gate-level netlist."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from golden.stimulus import load_stimulus
from silicon.blocks import CLOCK, FRONT_END, INPUTS, block_of, port_block
from silicon.energy_flow import model_of, own_workloads, parse_layers, stability
from silicon.energy_report import markdown
from silicon.liberty import DEFAULT_LIBERTY
from silicon.workload import OWN_WORKLOADS, SUBLAYERS, WORKLOAD


def test_committed_workload_is_small_real_and_traceable() -> None:
    assert WORKLOAD.stat().st_size < 1_000_000
    stim = load_stimulus(WORKLOAD)  # validates shapes, dtypes and the N:M masks
    src = stim.source
    assert len(src["extract_of_sha256"]) == 64 and src["plan"]["blocks"]
    assert [ly.name for ly in stim.layers] == src["layers"]
    assert {ly.name.split(".")[1] for ly in stim.layers} == set(SUBLAYERS)
    assert all(ly.n < ly.m for ly in stim.layers)  # pruned layers, real masks


@pytest.mark.parametrize("pattern", sorted(OWN_WORKLOADS))
def test_own_models_are_like_for_like_with_the_recommended_one(pattern: tuple[int, int]) -> None:
    """Issue 21 item 5: a fixed core's own model is the same layers of the same SmolLM2, pruned
    by the same pruner on the same calibration set and scored on the same evaluation windows
    as FlexCiM's, in the core's one pattern."""
    ours, base = load_stimulus(OWN_WORKLOADS[pattern]), load_stimulus(WORKLOAD)
    assert OWN_WORKLOADS[pattern].stat().st_size < 1_000_000
    assert [ly.name for ly in ours.layers] == [ly.name for ly in base.layers]
    assert {(ly.n, ly.m) for ly in ours.layers} == {pattern}
    assert all(a.act.shape == b.act.shape for a, b in zip(ours.layers, base.layers, strict=True))
    mine, theirs = model_of(OWN_WORKLOADS[pattern]), model_of(WORKLOAD)
    assert mine["patterns"] == [f"{pattern[0]}:{pattern[1]}"]
    assert mine["method"].startswith("uniform") and theirs["method"].startswith("measured")
    for key in ("pruner", "calib_set", "eval_windows", "eval_start"):
        assert mine[key] == theirs[key] is not None
    assert theirs["perplexity"] < mine["perplexity"]  # what flexibility buys in accuracy


def test_only_fixed_pattern_cores_get_a_model_of_their_own() -> None:
    designs = ["small_g1", "small", "small_dense", "small_fixed12", "small_fixed24"]
    assert own_workloads(designs) == [
        ("small_fixed12", OWN_WORKLOADS[(1, 2)]),
        ("small_fixed24", OWN_WORKLOADS[(2, 4)]),
    ]


def test_block_of_reads_the_instance_path() -> None:
    cell = "$flatten\\gen_submacro[0].u_submacro.\\gen_row[0].gen_col[2].u_cell.$abc$1$x"
    assert block_of(cell).startswith("cells")
    assert block_of("$flatten\\gen_submacro[1].u_submacro.u_col_tree.$abc$2") == (
        "column adder trees"
    )
    assert block_of("$flatten\\gen_dist[3].u_dist.$abc$3") == "distribution"
    assert block_of("$flatten\\u_merge.u_merge_tree.$abc$4").startswith("merge")
    assert block_of("$flatten\\u_ctrl.$abc$5") == block_of("$flatten\\u_axil.$abc$6")
    assert block_of("$abc$7$auto") == FRONT_END
    assert (port_block("clk_i"), port_block("s_axis_a_tdata")) == (CLOCK, INPUTS)


def test_parse_layers() -> None:
    assert parse_layers("0,3-5", 28) == [0, 3, 4, 5]
    assert parse_layers("all", 3) == [0, 1, 2]
    with pytest.raises(SystemExit, match="28"):
        parse_layers("27-28", 28)


def _batch(joules: float, useful: int) -> dict:
    return {"joules": joules, "useful_macs": useful}


def test_stability_figures() -> None:
    steady = stability([_batch(2.0, 1), _batch(4.0, 2), _batch(6.0, 3), _batch(8.0, 4)])
    assert steady["relative_change_last_half"] == pytest.approx(0.0)
    assert steady["per_batch_cv"] == pytest.approx(0.0)
    drift = stability([_batch(1.0, 1), _batch(3.0, 1)])
    assert drift["relative_change_last_half"] == pytest.approx(0.5)  # 1 after half, 2 at end


def test_markdown_names_every_design_and_the_cross_check() -> None:
    row = {
        "design": "small",
        "cells": 10,
        "area_um2": 1e6,
        "jobs": 2,
        "useful_macs": 100,
        "dense_macs": 200,
        "sim_cycles": 50,
        "job_cycles": 40,
        "clock_ns": 10.0,
        "joules": 1e-10,
        "pj_per_useful_mac": 1.0,
        "pj_per_dense_mac": 0.5,
        "mean_activity": 0.1,
        "stability": {"relative_change_last_half": 0.01, "per_batch_cv": 0.05},
        "blocks": {"distribution": {"switching": 5e-11, "internal": 4e-11, "leakage": 1e-11}},
        "batches": [
            {
                "layer": "block0.q_proj",
                "pattern": "4:6",
                "jobs": 2,
                "sim_cycles": 50,
                "joules": 1e-10,
                "useful_macs": 100,
                "sim_seconds": 1.0,
            }
        ],
        "seconds": {"total": 3.0},
        "model": {"method": "measured (sparsegpt)", "patterns": ["4:8"], "perplexity": 66.2},
    }
    watts = {"internal": 1e-3, "switching": 1e-3, "leakage": 1e-6, "total": 2e-3}
    result = {
        "workload": {
            "file": "w.npz",
            "model": "m",
            "layers": ["block0.q_proj"],
            "source": "s",
            "source_sha256": "0" * 64,
        },
        "liberty": "lib",
        "designs": [
            row,
            {**row, "design": "small_dense", "pj_per_useful_mac": 1.5, "baseline": True},
        ],
        "own_models": [
            {
                **row,
                "design": "small_fixed12",
                "baseline": True,
                "joules": 0.5e-10,
                "model": {
                    "method": "uniform 1:2",
                    "pruner": "sparsegpt",
                    "patterns": ["1:2"],
                    "perplexity": 90,
                },
            }
        ],
        "opensta": {
            "activity": 0.1,
            "opensta_w": watts,
            "model_uniform_w": watts,
            "model_measured_w": watts,
        },
        "wall_seconds": 4.0,
    }
    text = markdown(result, ["distribution"])
    assert "| small_dense | 1.50x |" in text and "OpenSTA, uniform activity" in text
    assert "| distribution | 1.000 (100.0 %: 0.500 / 0.400 / 0.100)" in text
    assert "OpenSTA at the same activity: 1.000" in text
    # The item-5 table: each core's model, perplexity, and energy over FlexCiM's on the layers.
    assert "| small | measured (sparsegpt) | 4:8 | 66.20 | 50 | 0.1 | 1.00 | 1.00x |" in text
    own = "| small_fixed12 | uniform 1:2 (sparsegpt) | 1:2 | 90.00 | 50 | 0.1 | 1.00 | 0.50x |"
    assert own in text


@pytest.mark.slow
@pytest.mark.skipif(
    not DEFAULT_LIBERTY.is_file() or shutil.which("yosys") is None, reason="needs OSU018, yosys"
)
def test_one_real_layer_through_the_gate_level_netlist(tmp_path: Path) -> None:
    """Yosys mapping, Verilator gate-level run of block 0's k_proj extract (every job checked
    against golden inside), toggles on every net, energy > 0 in every active block."""
    from silicon.energy_flow import run_design

    row = run_design("small", WORKLOAD, [1], DEFAULT_LIBERTY)
    assert row["jobs"] == 4 and row["useful_macs"] > 0
    assert 50 < row["pj_per_useful_mac"] < 1000  # 0.18 um, small core: ~300 pJ
    for block in ("distribution", "column adder trees", CLOCK):
        assert sum(row["blocks"][block].values()) > 0


def test_composition_holdout_is_exact_for_cycle_proportional_energy() -> None:
    from silicon.compose import holdout, per_cycle

    def row(cycles: int, scale: float = 1.0) -> dict:
        blocks = {"a": {"switching": 2.0 * cycles * scale}, "b": {"internal": 1.0 * cycles}}
        joules = sum(sum(p.values()) for p in blocks.values())
        return {"sim_cycles": cycles, "blocks": blocks, "joules": joules}

    assert per_cycle([row(10), row(30)]) == {"a": 2.0, "b": 1.0}
    assert holdout([row(10), row(30)])["relative_error"] == 0.0
    # block a costs twice as much per cycle in the second half: 30 predicted, 50 measured
    off = holdout([row(10), row(10, scale=2.0)])
    assert off["relative_error"] == pytest.approx(-0.4)


def test_same_shape_spread_is_the_data_noise() -> None:
    rows = [
        {"joules": 10.0, "useful_macs": 10, "pattern": "4:8", "sim_cycles": 5},
        {"joules": 11.0, "useful_macs": 10, "pattern": "4:8", "sim_cycles": 5},
        {"joules": 30.0, "useful_macs": 10, "pattern": "4:6", "sim_cycles": 9},  # other shape
    ]
    assert stability(rows)["same_shape_max_spread"] == pytest.approx(0.1 / 1.05)

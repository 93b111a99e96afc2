"""Simulator-free tests of the testbench's own components against golden."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import numpy as np
import pytest
import yaml
from cocotb_coverage.coverage import coverage_db, merge_coverage

from golden.beats import decode_weight_beat
from golden.config import HwConfig, csr_error_code, supported_patterns
from golden.cycle_model import dense_dcim_cycles, fixed_pattern_cycles, job_cycles
from golden.nm_format import check_nm
from golden.reference import reference_matmul
from tb.common.coverage import CoreCoverage, error_examples, value_corners
from tb.common.jobs import layer_jobs
from tb.common.stalls import StallProfile, every_stall_combination, paused_for, random_pauses
from tb.common.stimulus import LayerSpec, k_for_passes, random_layer, random_spec

SMALL = HwConfig.named("small")


@pytest.mark.parametrize(("n", "m"), supported_patterns(SMALL.P))
def test_jobs_encode_the_mapper_images_and_golden_predictions(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 100 + m)
    spec = random_spec(rng, n, m, SMALL, cout=2 * SMALL.C + 1, tokens=SMALL.MAX_TOK + 1)
    w, x = random_layer(rng, spec, SMALL)
    mapping, jobs = layer_jobs("unit", w, x, n, m, SMALL)
    assert len(jobs) == len(mapping.tiles) * 2  # two token chunks per tile
    got = np.zeros((x.shape[0], spec.cout), dtype=np.int64)
    for job in jobs:
        tile = job.tile
        assert len(job.w_beats) == tile.passes
        assert len(job.a_beats) == tile.passes and len(job.a_beats[0]) == job.tokens
        for p, beats in enumerate(job.w_beats):
            assert len(beats) == SMALL.P * SMALL.R
            wgt, meta, q = decode_weight_beat(beats[3 * SMALL.R + 1], SMALL)  # slot (3, 1)
            assert np.array_equal(wgt, tile.weight[p, 3, 1])
            assert np.array_equal(meta, tile.meta[p, 3, 1]) and q == tile.q[p, 3, 1]
        assert job.model_cycles == job_cycles(tile.passes, job.tokens, SMALL).total
        start = int(job.label.rsplit("/x", 1)[1])
        cols = slice(tile.col_start, tile.col_start + tile.cols)
        got[start : start + job.tokens, cols] = job.expected[:, : tile.cols]
        assert not job.expected[:, tile.cols :].any(), "padded columns must predict 0"
    assert np.array_equal(got, reference_matmul(w, x, acc_bits=SMALL.ACC))


@pytest.mark.parametrize(("n", "m"), [p for p in supported_patterns(SMALL.P) if p[0] < p[1]])
def test_generated_layers_are_legal_and_sized(n: int, m: int) -> None:
    rng = np.random.default_rng(7)
    for passes, mask in itertools.product((1, 2, 3), ("pair-shared", "per-channel")):
        spec = random_spec(rng, n, m, SMALL, passes=passes, mask=mask)
        w, x = random_layer(rng, spec, SMALL)
        check_nm(w, n, m)
        assert w.shape == (spec.cout, spec.k) and x.shape == (spec.tokens, spec.k)
        _, jobs = layer_jobs("unit", w, x, n, m, SMALL)
        if mask == "pair-shared":  # fits N slots, so K was sized for exactly `passes`
            assert not jobs[0].spilled and jobs[0].passes == passes


def test_per_channel_masks_do_spill() -> None:
    rng = np.random.default_rng(3)
    spilled = 0
    for _ in range(10):
        spec = random_spec(rng, 1, 8, SMALL, mask="per-channel", cout=SMALL.C)
        w, x = random_layer(rng, spec, SMALL)
        spilled += layer_jobs("unit", w, x, 1, 8, SMALL)[1][0].spilled
    assert spilled > 0


def test_value_kinds_hit_their_corners() -> None:
    rng = np.random.default_rng(0)
    spec = LayerSpec(
        n=2, m=2, cout=4, k=k_for_passes(rng, 2, 2, 1, SMALL), tokens=2, values="max-sum"
    )
    w, x = random_layer(rng, spec, SMALL)
    job = layer_jobs("unit", w, x, 2, 2, SMALL)[1][0]
    assert {"w_min", "x_min", "max_sum"} <= set(value_corners(job))


def test_stall_generators() -> None:
    gen = random_pauses(random.Random(1), 0.3)
    share = sum(next(gen) for _ in range(10_000)) / 10_000
    assert 0.3 < share < 0.7, share
    assert list(itertools.islice(paused_for(2), 4)) == [True, True, False, False]
    keys = {p.key for p in every_stall_combination(0.5)}
    assert len(keys) == 8 and not StallProfile().any
    with pytest.raises(ValueError):
        random_pauses(random.Random(0), 1.0).__next__()


@pytest.mark.parametrize("name", ["tiny", "small", "wide"])
def test_error_examples_reproduce_their_codes(name: str) -> None:
    cfg = HwConfig.named(name)
    examples = error_examples(cfg)
    for code, args in examples.items():
        assert csr_error_code(*args, cfg) == code
    assert set(examples) == ({1, 2, 4, 5} if cfg.P == 2 else {1, 2, 3, 4, 5})


def test_coverage_model_samples_and_merges(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    files = []
    for name in ("unit_a", "unit_b"):
        cov = CoreCoverage(name, SMALL)
        for n, m in supported_patterns(SMALL.P):
            spec = random_spec(rng, n, m, SMALL, passes=1)
            job = layer_jobs("unit", *random_layer(rng, spec, SMALL), n, m, SMALL)[1][0]
            cov.sample_job(job, StallProfile(), 0)
        assert 0 < cov.percentage < 100
        assert any("control.reset_phase" in line for line in cov.missing())
        files.append(tmp_path / f"{name}.yml")
        cov.export(files[-1])
    merged = tmp_path / "merged.yml"
    merge_coverage(lambda _msg: None, str(merged), *map(str, files))
    data = yaml.safe_load(merged.read_text())
    assert "flexcim.unit_a.job.pattern" in data and "flexcim.unit_b.job.pattern" in data
    assert data["flexcim.unit_b.job.pattern"]["cover_percentage"] == 100.0


def test_coverage_model_bins_of_the_recommended_shape() -> None:
    """G = 1, RPB = R (small_g1_rpb4): a select group per column, a beat row per macro row;
    random jobs of every pattern hit every one, an all-zero-activation job leaves every beat
    row dead (rows_differ False)."""
    cfg = HwConfig.named("small_g1_rpb4")
    assert cfg.SELS == cfg.C and cfg.RPB == cfg.R > 1
    cov = CoreCoverage("unit_g1_rpb", cfg)
    rng = np.random.default_rng(5)
    for n, m in supported_patterns(cfg.P):
        spec = random_spec(rng, n, m, cfg, cout=cfg.C)
        w, x = random_layer(rng, spec, cfg)
        job = layer_jobs("unit", w, x, n, m, cfg)[1][0]
        assert job.rows.shape == (job.passes, job.tokens, cfg.R, cfg.A_LANES)
        cov.sample_job(job, StallProfile(), 0)
    root = "flexcim.unit_g1_rpb"
    assert coverage_db[f"{root}.beat.row"].coverage == cfg.RPB
    assert coverage_db[f"{root}.select.group"].coverage == cfg.SELS
    jobs = len(supported_patterns(cfg.P))
    assert coverage_db[f"{root}.beat.rows_differ"].detailed_coverage == {False: 0, True: jobs}
    zero = layer_jobs("unit", w, np.zeros_like(x), n, m, cfg)[1][0]
    cov.sample_job(zero, StallProfile(), 0)
    assert coverage_db[f"{root}.beat.rows_differ"].detailed_coverage == {False: 1, True: jobs}
    assert coverage_db[f"{root}.beat.row"].size == cfg.RPB


@pytest.mark.parametrize("name", ["small_dense", "small_fixed12", "small_fixed24"])
def test_baseline_jobs_follow_the_baseline_cycle_model(name: str) -> None:
    """On a baseline core every layer pattern maps with map_layer_fixed: the jobs' summed model
    cycles are dense_dcim_cycles / fixed_pattern_cycles, and code 6 is among the examples."""
    cfg = HwConfig.named(name)
    rng = np.random.default_rng(21)
    for n, m in supported_patterns(cfg.P):
        spec = random_spec(rng, n, m, cfg, cout=2 * cfg.C + 1, tokens=cfg.MAX_TOK + 1)
        w, x = random_layer(rng, spec, cfg)
        mapping, jobs = layer_jobs("unit", w, x, n, m, cfg)
        assert (mapping.n_hw, mapping.m_hw) == cfg.fixed_pattern
        assert all(
            csr_error_code(j.tile.n_hw, j.tile.m_hw, j.tokens, j.passes, cfg) == 0 for j in jobs
        )
        total = sum(job.model_cycles for job in jobs)
        if cfg.core_kind == "dense":
            want = dense_dcim_cycles(*w.shape, x.shape[0], cfg).total
        else:
            want = fixed_pattern_cycles(w != 0, *cfg.fixed_pattern, x.shape[0], cfg).total
        assert total == want, f"{name} {n}:{m}: jobs {total}, baseline model {want}"
    assert 6 in error_examples(cfg)

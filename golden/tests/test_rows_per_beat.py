"""Activation rows per beat RPB: config, activation beat packing, cycle model.

RPB = 1 is today's interface (one macro row per beat); RPB = R carries one token per beat.
An RPB-row beat must be exactly the concatenation of the RPB one-row beats it replaces.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from golden.beats import activation_beats, decode_activation_beat
from golden.config import HwConfig
from golden.cycle_model import drain_cycles, job_cycles, layer_cycles
from golden.mapper import gather_activations, map_layer
from golden.masks import nm_mask

DEFAULT = HwConfig()


def test_rpb_must_divide_r() -> None:
    assert HwConfig().RPB == 1 and HwConfig(RPB=16).A_BEATS == 1
    for bad in (0, 3, 32, -1):
        with pytest.raises(ValueError, match=f"RPB={bad}: must divide R=16"):
            HwConfig(RPB=bad)


def test_a_tdata_is_rpb_rows() -> None:
    # 2*P*P lanes of AB bits per row: 256 bits at the default P = 4, AB = 8.
    assert [HwConfig(RPB=k).A_TDATA for k in (1, 4, 16)] == [256, 1024, 4096]
    paper = HwConfig(P=4, R=32, C=32, RPB=32)
    assert (paper.A_TDATA, paper.A_BEATS) == (8192, 1)


@pytest.mark.parametrize("rpb", [2, 4, 16])
def test_rpb_beat_is_the_concatenation_of_one_row_beats(rpb: int) -> None:
    cfg = dataclasses.replace(DEFAULT, RPB=rpb)
    rng = np.random.default_rng(rpb)
    rows = rng.integers(-128, 128, (2, 3, DEFAULT.R, DEFAULT.A_LANES)).astype(np.int8)
    one = activation_beats(rows, DEFAULT)
    many = activation_beats(rows, cfg)
    row_bits = DEFAULT.A_TDATA
    for ps in range(2):
        for t in range(3):
            assert len(many[ps][t]) == DEFAULT.R // rpb
            for i, beat in enumerate(many[ps][t]):
                want = sum(one[ps][t][i * rpb + j] << (j * row_bits) for j in range(rpb))
                assert beat == want and beat < 1 << cfg.A_TDATA
                back = decode_activation_beat(beat, cfg)
                assert back.tolist() == rows[ps, t, i * rpb : (i + 1) * rpb].tolist()


def test_act_load_is_r_over_rpb_beats_per_token() -> None:
    # cycles = NP*(P*R + T*R/RPB) + D + T, hand-worked at the default geometry (D = 8).
    for rpb, act in ((1, 3 * 5 * 16), (4, 3 * 5 * 4), (16, 3 * 5)):
        c = job_cycles(3, 5, dataclasses.replace(DEFAULT, RPB=rpb))
        assert (c.weight_load, c.act_load, c.drain, c.output) == (3 * 64, act, 8, 5)
        assert c.total == 3 * 64 + act + drain_cycles(DEFAULT) + 5


def test_layer_latency_falls_with_rpb_and_images_do_not_change() -> None:
    rng = np.random.default_rng(5)
    w = np.where(nm_mask(rng.random((40, 300)), 2, 4), rng.integers(1, 128, (40, 300)), 0)
    w = w.astype(np.int8)
    base = map_layer(w, 2, 4, DEFAULT)
    totals = []
    for rpb in (1, 2, 16):
        cfg = dataclasses.replace(DEFAULT, RPB=rpb)
        mp = map_layer(w, 2, 4, cfg)
        assert mp.passes == base.passes  # RPB changes the stream, not the mapping
        x = rng.integers(-128, 128, (4, 300)).astype(np.int8)
        assert len(activation_beats(gather_activations(mp.tiles[0], x, cfg), cfg)[0][0]) == (
            16 // rpb
        )
        totals.append(layer_cycles(mp, 40, cfg).total)
    assert totals == sorted(totals, reverse=True) and totals[0] > totals[-1]

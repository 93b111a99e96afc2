"""Whole-model latency tally: what the cycle model says each accelerator does with a mask."""

from __future__ import annotations

import numpy as np

from flow.latency import LatencyTally
from golden.config import HwConfig
from golden.cycle_model import jobs_cycles
from golden.masks import nm_mask, pair_shared_mask

CFG = HwConfig.named("default")  # P=4, R=16, C=16


def _cycles(mask: np.ndarray, n: int, m: int) -> dict[str, int]:
    tally = LatencyTally(CFG, tokens=(16,))
    tally.add(mask, n, m)
    assert tally.sublayers == 1
    return {acc: by_t[16] for acc, by_t in tally.total.items()}


def test_dense_layer_runs_at_dense_speed_everywhere() -> None:
    c = _cycles(np.ones((32, 128), dtype=bool), 4, 4)
    assert c["FlexCiM"] == c["dense DCiM"] == c["sparse DCiM 2:4"] == c["sparse DCiM 1:2"]


def test_pair_shared_masks_keep_the_speed_up_per_channel_ones_spill() -> None:
    metric = np.random.default_rng(0).random((32, 128))
    shared = _cycles(pair_shared_mask(metric, 2, 4, CFG.C), 2, 4)
    per_channel = _cycles(nm_mask(metric, 2, 4), 2, 4)
    assert shared["FlexCiM"] < 0.6 * shared["dense DCiM"]  # 2:4 halves the passes
    assert per_channel["FlexCiM"] > 0.9 * per_channel["dense DCiM"]  # shared select spills
    # A fixed 2:4 accelerator runs either 2:4 mask sparse; a per-channel 4:8 mask only dense,
    # where FlexCiM's pair-shared 4:8 mask runs at twice the speed.
    assert per_channel["sparse DCiM 2:4"] == shared["sparse DCiM 2:4"] < shared["dense DCiM"]
    c48 = _cycles(nm_mask(metric, 4, 8), 4, 8)
    assert c48["sparse DCiM 2:4"] == c48["dense DCiM"]
    assert _cycles(pair_shared_mask(metric, 4, 8, CFG.C), 4, 8)["FlexCiM"] < 0.6 * c48["dense DCiM"]


def test_tally_adds_sublayers() -> None:
    tally = LatencyTally(CFG, tokens=(1, 16))
    for _ in range(3):
        tally.add(np.ones((16, 64), dtype=bool), 2, 2)
    one = LatencyTally(CFG, tokens=(1, 16))
    one.add(np.ones((16, 64), dtype=bool), 2, 2)
    assert (
        tally.as_dict()["cycles"]["FlexCiM"]["16"] == 3 * one.as_dict()["cycles"]["FlexCiM"]["16"]
    )
    assert tally.as_dict()["sublayers"] == 3


def test_recorded_passes_recount_the_flexcim_cycles() -> None:
    """The tally keeps each job's passes; the cycle model over those alone gives its total."""
    rng = np.random.default_rng(3)
    tally = LatencyTally(CFG, tokens=(16,))
    for n, m in ((2, 4), (1, 8), (4, 8)):
        tally.add(pair_shared_mask(rng.random((40, 96)), n, m, CFG.C), n, m)
    passes = tally.as_dict()["passes"]
    assert [len(p) for p in passes] == [3, 3, 3]  # ceil(40 / C=16) column tiles each
    recount = sum(jobs_cycles(layer, 16, CFG).total for layer in passes)
    assert recount == tally.total["FlexCiM"][16]

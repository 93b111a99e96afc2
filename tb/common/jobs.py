"""Jobs for the core: golden mapper images turned into stream beats plus the golden predictions.

A `Job` is everything one `start` of the core needs and produces: CSR values, the weight and
activation beats (golden.beats, §3 encodings) and the expected outputs and cycle count. It is
pure NumPy + golden, so pytest checks it without a simulator (tb/core/test_tb_components.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from golden.beats import activation_beats, weight_beats
from golden.config import HwConfig
from golden.cycle_model import job_cycles
from golden.datapath import structured_forward
from golden.mapper import LayerMapping, TileImage, gather_activations, map_layer, map_layer_fixed
from golden.reference import reference_matmul


class GoldenDisagreement(AssertionError):
    """The two golden oracles (reference matmul, structured datapath) disagree: a golden bug."""


@dataclass(frozen=True)
class Job:
    """One column tile x one token chunk of a layer: one run of the core."""

    label: str
    n: int  # layer pattern
    m: int
    tile: TileImage
    tokens: int
    w_beats: list[list[int]]  # [pass][p*R + r]
    a_beats: list[list[list[int]]]  # [pass][token][beat]: R / RPB beats of RPB rows each
    rows: np.ndarray  # int [passes, tokens, R, A_LANES]: the activation rows the beats carry
    expected: np.ndarray  # int64 (tokens, C), wrapped to ACC bits; padded columns are 0
    model_cycles: int  # golden.cycle_model.job_cycles(...).total
    weight: np.ndarray  # int8 (cols, K): the tile's real weights (for coverage of corners)
    x: np.ndarray  # int8 (tokens, K)

    @property
    def passes(self) -> int:
        return self.tile.passes

    @property
    def macs(self) -> int:
        """Dense-equivalent multiply-accumulates whose results the scoreboard checks."""
        return self.tokens * self.tile.cols * self.x.shape[1]

    @property
    def useful_macs(self) -> int:
        """Multiply-accumulates with a non-zero weight: the work a sparse layer really needs."""
        return self.tokens * int(np.count_nonzero(self.weight))

    @property
    def spilled(self) -> bool:
        """Some group needed more than one position (pair-shared slots did not fit N)."""
        return self.tile.positions > self.tile.groups


def tile_job(
    label: str, n: int, m: int, tile: TileImage, weight: np.ndarray, x: np.ndarray, cfg: HwConfig
) -> Job:
    """The job running `tile` (of a layer with `weight`) on tokens `x` (at most MAX_TOK)."""
    tokens = x.shape[0]
    if not 1 <= tokens <= cfg.MAX_TOK:
        raise ValueError(f"{label}: {tokens} tokens, a job holds 1..{cfg.MAX_TOK}")
    cols = weight[tile.col_start : tile.col_start + tile.cols]
    rows = gather_activations(tile, x, cfg)
    expected = np.zeros((tokens, cfg.C), dtype=np.int64)
    expected[:, : tile.cols] = reference_matmul(cols, x, acc_bits=cfg.ACC)
    # Two independent oracles must agree before the RTL is judged against them.
    structured = structured_forward(tile, rows, cfg)
    if not np.array_equal(structured, expected):
        bad = np.argwhere(structured != expected)[0]
        raise GoldenDisagreement(
            f"{label}: golden.datapath {structured[tuple(bad)]} != golden.reference "
            f"{expected[tuple(bad)]} at (token, column) {tuple(int(i) for i in bad)}"
        )
    return Job(
        label=label,
        n=n,
        m=m,
        tile=tile,
        tokens=tokens,
        w_beats=weight_beats(tile, cfg),
        a_beats=activation_beats(rows, cfg),
        rows=rows,
        expected=expected,
        model_cycles=job_cycles(tile.passes, tokens, cfg).total,
        weight=cols,
        x=x,
    )


def layer_jobs(
    label: str,
    weight: np.ndarray,
    x: np.ndarray,
    n: int,
    m: int,
    cfg: HwConfig,
    mode: str = "pair-shared",
) -> tuple[LayerMapping, list[Job]]:
    """Map a layer and split it into jobs: column tiles x chunks of MAX_TOK tokens (§4).

    On a baseline core (cfg.FIXED_N/FIXED_M) the layer's n:m only labels the jobs: the images
    are golden.mapper.map_layer_fixed's (the core's one pattern; non-compliant layers dense)."""
    if cfg.fixed_pattern is not None:
        mapping = map_layer_fixed(weight, cfg)
    else:
        mapping = map_layer(weight, n, m, cfg, mode=mode)
    jobs = []
    for ti, tile in enumerate(mapping.tiles):
        for start in range(0, x.shape[0], cfg.MAX_TOK):
            chunk = x[start : start + cfg.MAX_TOK]
            jobs.append(tile_job(f"{label}/t{ti}/x{start}", n, m, tile, weight, chunk, cfg))
    return mapping, jobs

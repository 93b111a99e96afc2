"""One golden-mapped tile per layer pattern, shared by the block smoke tests.

The tile is one job of the core's environment: `tb.common.stimulus` draws a legal random
layer (pair-shared N:M mask, int8 values, a K of two passes with a ragged last one, so the
last pass has padding) and `tb.common.jobs.tile_job` maps it and checks the two golden
oracles against each other. One random-layer generator serves the core and its blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from golden.config import HwConfig, supported_patterns
from golden.datapath import distribute
from golden.mapper import TileImage, gather_activations, map_layer
from tb.common.jobs import tile_job
from tb.common.stimulus import LayerSpec, k_for_passes, random_layer


def patterns(cfg: HwConfig) -> list[tuple[int, int]]:
    """Every supported layer pattern with M <= 2P (at P=4: 1:2 .. 8:8, including x:6)."""
    return supported_patterns(cfg.P, max_m=2 * cfg.P)


@dataclass(frozen=True)
class Tile:
    """One job: images, activation lanes, the expected outputs and the layer it came from."""

    n: int
    m: int
    image: TileImage
    rows: np.ndarray  # int8 [passes, T, R, A_LANES]
    expected: np.ndarray  # int64 (T, C): golden.reference, equal to golden.datapath


def make_tile(rng: np.random.Generator, n: int, m: int, cfg: HwConfig, tokens: int) -> Tile:
    """A random full-width (C output channels), two-pass layer of pattern n:m as one tile."""
    spec = LayerSpec(n, m, cout=cfg.C, k=k_for_passes(rng, n, m, 2, cfg), tokens=tokens)
    weight, x = random_layer(rng, spec, cfg)
    mapping = map_layer(weight, n, m, cfg)
    assert len(mapping.tiles) == 1, "one column tile expected"
    job = tile_job(f"{n}:{m}", n, m, mapping.tiles[0], weight, x, cfg)
    return Tile(n, m, job.tile, gather_activations(job.tile, x, cfg), job.expected)


def slot_pairs(tile: Tile, cfg: HwConfig) -> np.ndarray:
    """Pair {a0, a1} each select group's mux delivers: int64 [passes, T, P, R, C/G, 2].

    Taken from golden.datapath.distribute with the metadata forced to 0 and then to 1, at the
    first column of each select group (every column of a group sees the same pair).
    """
    both = []
    for b in (0, 1):
        forced = replace(tile.image, meta=np.full_like(tile.image.meta, b))
        both.append(distribute(forced, tile.rows, cfg)[..., :: cfg.sel_width])
    return np.stack(both, axis=-1)


def products(tile: Tile, cfg: HwConfig) -> np.ndarray:
    """Cell products w * a_b: int64 [passes, T, P, R, C] (golden.datapath.distribute)."""
    a = distribute(tile.image, tile.rows, cfg)
    return tile.image.weight.astype(np.int64)[:, None] * a

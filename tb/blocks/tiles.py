"""One golden-mapped tile per layer pattern, shared by the block smoke tests.

Weights are random int8 under a pair-shared N:M mask (so every group fits its position and
the tile runs at M/N), activations random int8; K gives about 1.5 passes so the last pass
has padding. Everything the RTL sees comes from ``golden.mapper`` and ``golden.beats``;
everything it is checked against comes from ``golden.datapath`` / ``golden.reference``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from golden.config import HwConfig, hw_pattern, supported_patterns
from golden.datapath import distribute, structured_forward
from golden.mapper import TileImage, gather_activations, map_layer
from golden.masks import pair_shared_mask
from golden.reference import reference_matmul


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
    expected: np.ndarray  # int64 (T, C), golden.datapath.structured_forward


def make_tile(
    rng: np.random.Generator, n: int, m: int, cfg: HwConfig, tokens: int, passes: float = 1.5
) -> Tile:
    """A random one-column-tile layer of pattern n:m mapped by golden.mapper."""
    n_hw, m_hw = hw_pattern(n, m, cfg.P)
    per_pass = cfg.R * (cfg.P // n_hw) * m_hw  # K one pass holds
    k = max(m, int(per_pass * passes) // m * m)
    metric = rng.random((cfg.C, k))
    mask = np.ones((cfg.C, k), bool) if n == m else pair_shared_mask(metric, n, m, cfg.C)
    lim = 1 << (cfg.WB - 1)
    weight = (rng.integers(-lim, lim, (cfg.C, k)) * mask).astype(np.int64)
    alim = 1 << (cfg.AB - 1)
    x = rng.integers(-alim, alim, (tokens, k)).astype(np.int64)
    mapping = map_layer(weight, n, m, cfg)
    assert len(mapping.tiles) == 1, "one column tile expected"
    image = mapping.tiles[0]
    rows = gather_activations(image, x, cfg)
    expected = structured_forward(image, rows, cfg)
    # The structured model must agree with the plain matmul (a golden self-check).
    ref = reference_matmul(weight, x, acc_bits=cfg.ACC)
    assert np.array_equal(expected, ref), f"{n}:{m}: golden structured model != reference"
    return Tile(n, m, image, rows, expected)


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

"""Constrained-random layers: legal N:M weights by construction, value corners, sizes per config.

Plain functions over a seeded `np.random.Generator` (CONVENTIONS §4.6: legal by construction,
no crv). Masks come from golden.masks: pair-shared ones always fit N slots, per-channel ones
often do not, so the mapper spills groups over several positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from golden.config import HwConfig, hw_pattern
from golden.masks import nm_mask, pair_shared_mask

MASK_KINDS = ("pair-shared", "per-channel")
VALUE_KINDS = ("random", "zeros", "min", "max", "extremes", "zero-acts", "max-sum")


@dataclass(frozen=True)
class LayerSpec:
    """What to generate: layer pattern, shape, token count, mask and value kinds."""

    n: int
    m: int
    cout: int
    k: int
    tokens: int
    mask: str = "pair-shared"
    values: str = "random"


def groups_per_pass(n: int, m: int, cfg: HwConfig) -> int:
    """Groups one pass holds when every group fits one position: R * P / N_hw."""
    n_hw, _ = hw_pattern(n, m, cfg.P)
    return cfg.R * cfg.P // n_hw


def k_for_passes(rng: np.random.Generator, n: int, m: int, passes: int, cfg: HwConfig) -> int:
    """A K (not always a multiple of M_hw) whose fitting mapping takes exactly `passes` passes."""
    _, m_hw = hw_pattern(n, m, cfg.P)
    per_pass = groups_per_pass(n, m, cfg)
    groups = per_pass * (passes - 1) + int(rng.integers(1, per_pass + 1))
    # A ragged last group exercises the mapper's K padding.
    return groups * m_hw - int(rng.integers(0, m_hw))


def random_mask(rng: np.random.Generator, spec: LayerSpec, cfg: HwConfig) -> np.ndarray:
    """Bool (cout, k) N:M mask of the requested kind from a random importance metric."""
    metric = rng.random((spec.cout, spec.k))
    if spec.mask == "pair-shared" and spec.m % 2 == 0:
        return pair_shared_mask(metric, spec.n, spec.m, cfg.sel_width)  # fits G-wide selects
    if spec.mask in MASK_KINDS:
        return nm_mask(metric, spec.n, spec.m)
    raise ValueError(f"unknown mask kind {spec.mask!r}; choose from {MASK_KINDS}")


def layer_values(
    rng: np.random.Generator, spec: LayerSpec, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """int8 weights (zero outside `mask`) and int8 activations for the value kind of `spec`."""
    shape_w, shape_x = (spec.cout, spec.k), (spec.tokens, spec.k)
    w = rng.integers(-128, 128, size=shape_w)
    x = rng.integers(-128, 128, size=shape_x)
    if spec.values == "zeros":
        w = np.zeros(shape_w, dtype=np.int64)
    elif spec.values == "min":
        w, x = np.full(shape_w, -128), rng.choice([-128, 127], size=shape_x)
    elif spec.values == "max":
        w, x = np.full(shape_w, 127), np.full(shape_x, 127)
    elif spec.values == "extremes":
        w, x = rng.choice([-128, 127], size=shape_w), rng.choice([-128, 127], size=shape_x)
    elif spec.values == "zero-acts":
        x = np.zeros(shape_x, dtype=np.int64)
    elif spec.values == "max-sum":
        # Every product is (-128)^2: the largest column sum the datapath can see.
        w, x = np.full(shape_w, -128), np.full(shape_x, -128)
    elif spec.values != "random":
        raise ValueError(f"unknown value kind {spec.values!r}; choose from {VALUE_KINDS}")
    return np.where(mask, w, 0).astype(np.int8), x.astype(np.int8)


def random_layer(
    rng: np.random.Generator, spec: LayerSpec, cfg: HwConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(weight int8 (cout, k), x int8 (tokens, k)) for `spec`; the weight obeys the N:M rule."""
    return layer_values(rng, spec, random_mask(rng, spec, cfg))


def random_spec(
    rng: np.random.Generator,
    n: int,
    m: int,
    cfg: HwConfig,
    passes: int | None = None,
    mask: str = "pair-shared",
    values: str = "random",
    cout: int | None = None,
    tokens: int | None = None,
) -> LayerSpec:
    """A one-tile (cout <= C) layer spec with random size unless pinned by the arguments."""
    passes = passes or int(rng.integers(1, 4))
    return LayerSpec(
        n=n,
        m=m,
        cout=cout or int(rng.integers(1, cfg.C + 1)),
        k=k_for_passes(rng, n, m, passes, cfg),
        tokens=tokens or int(rng.integers(1, cfg.MAX_TOK + 1)),
        mask=mask,
        values=values,
    )

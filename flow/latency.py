"""Whole-model latency of a pruned model from golden.cycle_model: every linear sublayer of every
block, full matrices, on FlexCiM (the masks as they are: per-channel masks spill, pair-shared
ones run at full speed), a dense DCiM macro and fixed-pattern 2:4 / 1:2 sparse DCiM."""

from __future__ import annotations

import numpy as np

from golden.config import HwConfig
from golden.cycle_model import dense_dcim_cycles, fixed_pattern_cycles, layer_cycles
from golden.mapper import map_layer

# (label, n, m) of the fixed-pattern sparse DCiM baselines (the paper's comparison points).
FIXED = (("sparse DCiM 2:4", 2, 4), ("sparse DCiM 1:2", 1, 2))


def sublayer_cycles(
    mask: np.ndarray, n: int, m: int, tokens: tuple[int, ...], cfg: HwConfig
) -> tuple[dict[str, dict[int, int]], list[int]]:
    """Cycles of one (Cout, K) keep-mask per accelerator and token count, and FlexCiM's
    passes per column tile (all the cycle model needs of the mask)."""
    mapping = map_layer(mask.astype(np.int8), n, m, cfg)
    cout, k = mask.shape
    out: dict[str, dict[int, int]] = {
        "FlexCiM": {t: layer_cycles(mapping, t, cfg).total for t in tokens},
        "dense DCiM": {t: dense_dcim_cycles(cout, k, t, cfg).total for t in tokens},
    }
    for label, nf, mf in FIXED:
        out[label] = {t: fixed_pattern_cycles(mask, nf, mf, t, cfg).total for t in tokens}
    return out, mapping.passes


class LatencyTally:
    """Adds up sublayer cycles as a prune pass produces masks (masks are not kept)."""

    def __init__(self, cfg: HwConfig, tokens: tuple[int, ...] = (64, 512)) -> None:
        self.cfg, self.tokens = cfg, tokens
        self.total: dict[str, dict[int, int]] = {}
        self.sublayers = 0
        # Passes of every FlexCiM job, per sublayer in prune order: a variant of the core
        # that maps the same way (another rows-per-beat, say) re-counts cycles from these.
        self.passes: list[list[int]] = []

    def add(self, mask: np.ndarray, n: int, m: int) -> None:
        cycles, passes = sublayer_cycles(mask, n, m, self.tokens, self.cfg)
        self.passes.append(passes)
        for acc, by_t in cycles.items():
            for t, c in by_t.items():
                self.total.setdefault(acc, {}).setdefault(t, 0)
                self.total[acc][t] += c
        self.sublayers += 1

    def as_dict(self) -> dict:
        return {
            "config": self.cfg.params(),
            "sublayers": self.sublayers,
            "passes": self.passes,
            "cycles": {
                acc: {str(t): c for t, c in by_t.items()} for acc, by_t in self.total.items()
            },
        }

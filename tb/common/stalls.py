"""Pause generators for the cocotbext-axi sources (tvalid gaps) and the sink (back-pressure).

A generator yields one bool per clock edge (True = pause). They draw from a `random.Random`
seeded from the test's seed so a failing stall pattern replays with the same COCOTB_RANDOM_SEED.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass


def random_pauses(rng: random.Random, prob: float, max_burst: int = 4) -> Iterator[bool]:
    """Endless pauses: with probability `prob` per slot, a burst of 1..max_burst pause cycles."""
    if not 0.0 <= prob < 1.0:
        raise ValueError(f"pause probability {prob} must be in [0, 1)")
    while True:
        if rng.random() < prob:
            yield from itertools.repeat(True, rng.randint(1, max_burst))
        else:
            yield False


def paused_for(cycles: int) -> Iterator[bool]:
    """Pause for `cycles` edges, then never again (a long back-pressure corner)."""
    yield from itertools.repeat(True, cycles)
    yield from itertools.repeat(False)


@dataclass(frozen=True)
class StallProfile:
    """Pause probability per stream: weight/activation tvalid gaps, output tready back-pressure."""

    w_gap: float = 0.0
    a_gap: float = 0.0
    y_backpressure: float = 0.0

    @property
    def any(self) -> bool:
        return self.w_gap > 0 or self.a_gap > 0 or self.y_backpressure > 0

    @property
    def key(self) -> tuple[bool, bool, bool]:
        """Which streams stall: the (w, a, y) bin of the stall cross coverage."""
        return (self.w_gap > 0, self.a_gap > 0, self.y_backpressure > 0)

    @classmethod
    def from_key(cls, key: tuple[bool, bool, bool], prob: float) -> StallProfile:
        return cls(*(prob if on else 0.0 for on in key))


def every_stall_combination(prob: float) -> list[StallProfile]:
    """The 8 on/off combinations of (w gaps, a gaps, y back-pressure) at probability `prob`."""
    return [
        StallProfile.from_key(key, prob)
        for key in itertools.product((False, True), repeat=3)  # type: ignore[misc]
    ]

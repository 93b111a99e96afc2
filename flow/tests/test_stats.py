"""Outlier ratio and locality on hand-made matrices with known answers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.stats import (
    REFERENCE_SUBSET,
    mean_pairwise_distance,
    mean_pairwise_distance_bruteforce,
    minmax,
    outlier_locality,
    outlier_positions,
    outlier_ratio,
)


def test_known_outliers_ratio_and_positions() -> None:
    # 100 entries of 1.0 with 4 spikes of 100: mean = (96 + 400) / 100 = 4.96, so with
    # Hyper_m = 5 the threshold is 24.8 and exactly the 4 spikes are outliers.
    a = np.ones((10, 10))
    spikes = [(0, 3), (2, 7), (5, 0), (9, 9)]
    for r, c in spikes:
        a[r, c] = 100.0
    pos = outlier_positions(a, 5.0)
    assert pos.tolist() == [3, 27, 50, 99]
    assert outlier_ratio(a, 5.0) == pytest.approx(4.0)
    # Mean pairwise distance of {3, 27, 50, 99}: pairs 24, 47, 96, 23, 72, 49 -> 311 / 6.
    assert outlier_locality(a, 5.0) == pytest.approx(6.0 / 311.0)
    # A lower threshold catches every entry: all 1.0 entries exceed 0.1 * 4.96.
    assert outlier_ratio(a, 0.1) == pytest.approx(100.0)


def test_clustered_outliers_have_higher_locality() -> None:
    clustered = np.ones(1000)
    clustered[100:110] = 50.0
    spread = np.ones(1000)
    spread[::100] = 50.0
    assert outlier_ratio(clustered, 5.0) == outlier_ratio(spread, 5.0) == pytest.approx(1.0)
    assert outlier_locality(clustered, 5.0) > 10 * outlier_locality(spread, 5.0)


def test_fewer_than_two_outliers_gives_zero_locality() -> None:
    a = np.ones(50)
    assert outlier_locality(a, 5.0) == 0.0
    a[7] = 1000.0
    assert outlier_locality(a, 5.0) == 0.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10_000), min_size=2, max_size=200, unique=True))
def test_exact_mean_distance_matches_bruteforce(positions: list[int]) -> None:
    expected = np.mean([abs(a - b) for a, b in itertools.combinations(positions, 2)])
    assert mean_pairwise_distance(np.array(positions)) == pytest.approx(expected, rel=1e-12)
    assert mean_pairwise_distance_bruteforce(np.array(positions), chunk=7) == pytest.approx(
        expected, rel=1e-12
    )


def test_reference_variant_only_sees_the_first_outliers() -> None:
    # First REFERENCE_SUBSET outliers packed at the front, the rest spread over a long tail:
    # the reference locality sees only the dense front, the exact one the whole spread.
    n = REFERENCE_SUBSET + 2000
    a = np.ones(n + 200_000)
    a[:REFERENCE_SUBSET] = 1000.0
    a[REFERENCE_SUBSET::100][:2000] = 1000.0
    front = np.arange(REFERENCE_SUBSET, dtype=float)
    assert outlier_locality(a, 5.0, "reference") == pytest.approx(
        1.0 / mean_pairwise_distance(front)
    )
    assert outlier_locality(a, 5.0, "exact") < outlier_locality(a, 5.0, "reference") / 2
    with pytest.raises(ValueError, match="unknown locality"):
        outlier_locality(a, 5.0, "sampled")


def test_minmax() -> None:
    assert minmax(np.array([2.0, 4.0, 3.0])).tolist() == [0.0, 1.0, 0.5]
    assert minmax(np.array([7.0, 7.0])).tolist() == [0.5, 0.5]

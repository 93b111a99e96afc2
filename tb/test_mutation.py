"""Slow: every deliberate RTL bug of tb.mutation must fail the core regression."""

from __future__ import annotations

import pytest

from tb.mutation import run_all


@pytest.mark.slow
def test_every_mutant_is_caught() -> None:
    outcomes = run_all()
    missed = [o.mutant.name for o in outcomes if not o.caught]
    assert outcomes and not missed, f"mutants not caught: {missed}"

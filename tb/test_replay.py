"""`make replay` through pytest: every layer of the exported SmolLM2 on the recommended core.

Marked `replay` (and `paper`, so `make test` leaves it out): it needs the full export
(`make replay` makes it; about 3 minutes of FLOW) and a few minutes of simulation.
`pytest -m replay tb/test_replay.py` runs it; finished layers are reused (resumable).
"""

from __future__ import annotations

import pytest

from golden.stimulus import load_stimulus
from tb.replay import DEFAULT_CONFIG, DEFAULT_OUT, DEFAULT_STIMULUS, replay


@pytest.mark.replay
@pytest.mark.paper
def test_every_smollm2_layer_matches_golden_on_the_recommended_core() -> None:
    if not DEFAULT_STIMULUS.is_file():
        pytest.skip(f"{DEFAULT_STIMULUS} missing: `make replay` exports it first")
    total = replay(DEFAULT_STIMULUS, DEFAULT_CONFIG, DEFAULT_OUT, workers=2)
    assert total["layers"] == len(load_stimulus(DEFAULT_STIMULUS).layers)
    assert total["value_mismatches"] == 0, total
    assert total["cycle_mismatches"] == 0 and total["rtl_cycles"] == total["model_cycles"]

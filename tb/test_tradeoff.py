"""bench.tradeoff: re-counted cycles agree with the eval's own tallies; bad input is named."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bench.tradeoff import main, model_cycles, read_eval, relate, variants
from golden.config import HwConfig

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results" / "tradeoff"
FOLDERS = sorted(p for p in RESULTS.glob("g*-*") if (p / "runs.json").is_file())
# The recount is pure Python over 210 sublayers per selection: two folders (both pruners, the
# G = C and G = 1 ends) keep it to seconds; `make regress` checks every folder.
QUICK = {"g32-sparsegpt", "g1-wanda"}
CASES = [
    pytest.param(p, id=p.name, marks=() if p.name in QUICK else pytest.mark.slow) for p in FOLDERS
]


def _formula(passes: list[list[int]], cfg: HwConfig, tokens: int) -> int:
    """ARCHITECTURE's cycle formula written out: NP * (P*R + T*R/RPB) + D + T per job."""
    drain = (cfg.R.bit_length() - 1) + (cfg.P.bit_length() - 1) + 2
    chunks = [cfg.MAX_TOK] * (tokens // cfg.MAX_TOK) + [tokens % cfg.MAX_TOK] * bool(
        tokens % cfg.MAX_TOK
    )
    return sum(
        np * (cfg.P * cfg.R + t * cfg.R // cfg.RPB) + drain + t
        for layer in passes
        for np in layer
        for t in chunks
    )


@pytest.mark.parametrize("folder", CASES)
def test_recount_matches_the_evals_own_tally(folder: Path) -> None:
    """The passes the eval recorded give, through the cycle model, the FlexCiM cycles the
    eval computed from the masks themselves (and the written-out formula, at RPB 1 and R)."""
    for acc in read_eval(folder):
        for tokens in (64, 512):
            recount = model_cycles(acc.passes, acc.base, tokens)
            assert recount == acc.tally["FlexCiM"][str(tokens)], (acc.label, tokens)
            assert recount == _formula(acc.passes, acc.base, tokens)
        wide = dataclasses.replace(acc.base, RPB=acc.base.R)
        assert model_cycles(acc.passes, wide) == _formula(acc.passes, wide, 64)
        assert model_cycles(acc.passes, wide) < model_cycles(acc.passes, acc.base)


def test_rows_relate_to_todays_core() -> None:
    if not FOLDERS:
        pytest.skip("no committed trade-off results")
    acc = [a for folder in FOLDERS for a in read_eval(folder)]
    rows = variants(acc, {}, "sparsegpt")
    relate(rows)
    today = [r for r in rows if r["G"] == r["params"]["C"] and r["RPB"] == 1]
    assert len(today) == 1 and today[0]["speedup_vs_today"] == 1.0
    assert {r["G"] for r in rows} == {32, 8, 4, 2, 1}
    for r in rows:  # each G's best selection is its lowest mean perplexity
        same = [a.mean for a in acc if a.metric == "sparsegpt" and r["G"] == a.G]
        assert r["ppl_mean"] == min(same)
        assert r["area_vs_today"] is None  # no area file given: no area, never an estimate


def test_bad_inputs_are_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(FileNotFoundError, match=r"no runs\.json"):
        read_eval(tmp_path)
    run = {"label": "uniform 2:4", "metric": "wanda", "mask": "standard", "ppl": 9.0}
    (tmp_path / "runs.json").write_text(
        json.dumps({"a": {**run, "latency": {"config": {}, "cycles": {}}}})
    )
    with pytest.raises(ValueError, match="no job passes"):
        read_eval(tmp_path)
    with pytest.raises(SystemExit) as stop:  # refused before reading anything: one line, 2
        main(["--evals", str(tmp_path), "--area", str(tmp_path / "none.json")])
    assert stop.value.code == 2 and "--area" in capsys.readouterr().err

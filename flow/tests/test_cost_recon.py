"""Issue 18: measured-cost tables after reconstruction (`--cost-recon block`), on a tiny
seed-fixed LLaMA (random weights, random token windows).

The table's operating point must be the model the final prune builds (every block pruned to the
operating point and reconstructed, flow.pipeline.prune_model), and the cost of the last block at
a candidate must be what the final prune gives with that block alone at the candidate: both are
checked against prune_model itself, the pipeline the selection is for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from flow.cli import main
from flow.commands.evaluate import _label_suffix, _run_key
from flow.commands.export import export_options
from flow.measured import CostTable, measure_costs
from flow.pipeline import prune_model, restore_weights, snapshot_weights
from flow.prune import PrunePlan
from flow.reconstruct import ReconParams

from .test_reconstruct import _calib, _export_args, _tiny

RECON = ReconParams("block", steps=20, lr=3e-3, batch=2)
CANDS = ((4, 4), (4, 8), (2, 8), (2, 4))
OP = (4, 8)
PROBE_WINDOWS, PROBE_SEQLEN = 4, 32


def _probe_loss(lm, calib: torch.Tensor) -> float:
    """Mean next-token loss of the probe windows through the whole model (transformers' own
    loss: the same count as flow.measured.probe_loss, computed another way)."""
    probe = calib[:PROBE_WINDOWS, :PROBE_SEQLEN]
    with torch.no_grad():
        return float(lm.model(input_ids=probe, labels=probe).loss)


def _table(lm, calib: torch.Tensor, metric: str, recon: ReconParams | None) -> CostTable:
    plan = PrunePlan([], metric, permute="balanced" if metric == "wanda" else "none")
    return measure_costs(lm, calib, 4, CANDS, OP, plan, PROBE_WINDOWS, PROBE_SEQLEN, recon=recon)


@pytest.mark.parametrize("metric", ["sparsegpt", "wanda"])
def test_costs_are_those_of_the_reconstructed_prune(metric: str) -> None:
    lm, calib = _tiny("llama"), _calib()
    snap = snapshot_weights(lm)
    table = _table(lm, calib, metric, RECON)
    now = snapshot_weights(lm)  # the weights are left as they were found
    assert all(torch.equal(now[i][k], snap[i][k]) for i in range(len(snap)) for k in snap[i])
    assert table.reconstruct == RECON.as_dict()
    blocks = len(snap)
    permute = "balanced" if metric == "wanda" else "none"

    def pruned_loss(patterns: list[tuple[int, int]]) -> float:
        restore_weights(lm, snap)
        result = prune_model(
            lm, calib, 4, PrunePlan(patterns, metric, permute=permute), recon=RECON
        )
        assert all(b["kept"] == "reconstructed" for b in result.reconstruction["blocks"])
        return _probe_loss(lm, calib)

    base = pruned_loss([OP] * blocks)
    assert table.base_loss == pytest.approx(base, rel=1e-5)
    last = blocks - 1
    for cand in ((2, 8), (4, 4)):
        got = table.costs[last][CANDS.index(cand)]
        want = pruned_loss([OP] * last + [cand]) - base
        assert got == pytest.approx(want, rel=1e-4, abs=1e-6), cand
    restore_weights(lm, snap)
    # Without reconstruction the table prices the pruner's one-shot damage: another table.
    plain = _table(lm, calib, metric, None)
    assert plain.reconstruct is None
    assert not np.allclose(plain.matrix, table.matrix)
    assert plain.base_loss > table.base_loss  # the reconstructed operating point fits better


def test_round_trip_keeps_the_reconstruction(tmp_path: Path) -> None:
    from flow.measured import load_cached_costs, save_costs

    lm, calib = _tiny("llama"), _calib()
    table = _table(lm, calib, "sparsegpt", ReconParams("block", steps=2, lr=1e-3, batch=2))
    save_costs(tmp_path / "t.json", table)
    again = load_cached_costs(tmp_path / "t.json")
    assert again is not None and again.reconstruct == table.reconstruct
    assert again.costs == table.costs


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--reconstruct", "none", "--cost-recon", "block"], "--cost-recon block: needs --rec"),
        (
            ["--reconstruct", "block", "--cost-recon", "block", "--granularity", "sublayer"],
            "--cost-recon block: block granularity only",
        ),
        (
            ["--reconstruct", "block", "--cost-recon", "block", "--method", "uniform"],
            "--cost-recon block: only the measured-cost selection",
        ),
    ],
)
def test_bad_cost_recon_refused_before_loading(
    extra: list[str], message: str, tmp_path: Path, text_file: Path, capsys
) -> None:
    # tmp_path is no model: the refusal must come from the option check, before any load.
    base = ["export", "--model", str(tmp_path), "--text", str(text_file), "--batch", "8"]
    assert main([*base, *extra]) == 2
    assert message in capsys.readouterr().err


def test_keys_and_labels_include_cost_recon_only_when_on() -> None:
    off = _export_args(cost_recon="none", owl_lamda=0.25)
    on = _export_args(cost_recon="block", owl_lamda=0.25)
    assert "cost_recon" not in export_options(off)
    assert export_options(on)["cost_recon"] == "block"
    key = _run_key(off, 0, "sparsegpt", "standard", "measured")
    assert key != _run_key(on, 0, "sparsegpt", "standard", "measured")
    # A uniform run does not depend on how the measured selection priced its costs.
    assert _run_key(off, 0, "sparsegpt", "standard", "uniform 4:8") == _run_key(
        on, 0, "sparsegpt", "standard", "uniform 4:8"
    )
    assert _label_suffix(on, "measured") == " +recon +cost-recon"
    assert _label_suffix(on, "uniform 4:8") == " +recon"

"""Issue 18: the plan check (`--plan-check uniform`, flow.plan_check) on tiny seed-fixed models.

The check's losses are compared with transformers' own loss of models pruned independently
through flow.pipeline.prune_model; the decision must follow them whichever way they fall (each
pair is checked both ways round, so both branches run), and the model, the export capture and
the log must be those of the kept prune."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from flow.cli import main
from flow.commands.export import export_options
from flow.evaluate import perplexity
from flow.pipeline import (
    ExportCapture,
    Selection,
    prune_model,
    restore_weights,
    snapshot_weights,
)
from flow.plan_check import check_plan, check_windows, is_uniform
from flow.prune import PrunePlan
from flow.reconstruct import ReconParams

from .test_levers import _tiny_run, planted  # noqa: F401  (planted: a fixture)
from .test_reconstruct import _calib, _export_args, _tiny

PROBE_WINDOWS = 3  # of _calib's 8: the check windows are [3, 8)
RECON = ReconParams("block", steps=5, lr=3e-3, batch=2)


def _sel(name: str, patterns: list[tuple[int, int]]) -> Selection:
    layers = [{"layer": i, "n": n, "m": m} for i, (n, m) in enumerate(patterns)]
    return Selection(name, patterns, layers, 0.5, 0.5, 0.5, 0.5, True, [], {})


def _held_loss(lm, calib: torch.Tensor) -> float:
    """transformers' mean next-token loss over the check windows (one batch: every window has
    the same length, so it is the token mean the check computes in batches)."""
    held = calib[PROBE_WINDOWS:]
    with torch.no_grad():
        return float(lm.model(input_ids=held, labels=held).loss)


@pytest.mark.parametrize(
    ("metric", "permute", "recon"), [("sparsegpt", "none", None), ("wanda", "balanced", RECON)]
)
def test_keeps_the_prune_with_the_lower_held_loss(metric: str, permute: str, recon) -> None:
    lm, calib = _tiny("llama"), _calib()
    evals = _calib(seed=7)[:2]
    blocks = len(snapshot_weights(lm))
    mixed = _sel("measured", [(4, 4), (1, 8)] + [(2, 8)] * (blocks - 2))
    uniform = _sel("uniform 4:8", [(4, 8)] * blocks)

    def plan_of(s: Selection) -> PrunePlan:
        return PrunePlan(list(s.patterns), metric, permute=permute)

    dense = snapshot_weights(lm)
    want: dict[str, tuple[float, float, list]] = {}
    for s in (mixed, uniform):  # independently: prune, loss, eval perplexity, weights
        restore_weights(lm, dense)
        prune_model(lm, calib, 4, plan_of(s), recon=recon)
        want[s.method] = (_held_loss(lm, calib), perplexity(lm, evals, 4), snapshot_weights(lm))
    assert want["measured"][0] != want["uniform 4:8"][0]
    kept_by_role = set()
    for plan, fallback in ((mixed, uniform), (uniform, mixed)):
        restore_weights(lm, dense)
        cap = ExportCapture(all_sublayers=True, max_cout=0)
        kept, result, record = check_plan(
            lm, calib, 4, plan, fallback, plan_of, recon, PROBE_WINDOWS, evals, cap
        )
        assert record.loss_plan == pytest.approx(want[plan.method][0], rel=1e-5)
        assert record.loss_uniform == pytest.approx(want[fallback.method][0], rel=1e-5)
        assert record.eval_perplexity["plan"] == pytest.approx(want[plan.method][1], rel=1e-5)
        assert record.eval_perplexity["uniform"] == pytest.approx(
            want[fallback.method][1], rel=1e-5
        )
        better = min((plan, fallback), key=lambda s: want[s.method][0])
        assert kept is better and result.plan.blocks == blocks
        assert record.kept == ("plan" if better is plan else "uniform")
        kept_by_role.add(record.kept)
        assert record.check_windows == [PROBE_WINDOWS, 8]
        assert record.check_tokens == 5 * 31
        # The model is the kept prune, and so is the export capture.
        now, ref = snapshot_weights(lm), want[better.method][2]
        assert all(torch.allclose(now[i][k], ref[i][k]) for i in range(blocks) for k in ref[i])
        assert [(r["n"], r["m"]) for r in cap.kept][:: len(dense[0])] == list(better.patterns)
    assert kept_by_role == {"plan", "uniform"}  # both branches ran


def test_a_uniform_plan_is_pruned_once() -> None:
    lm, calib = _tiny("opt"), _calib()
    blocks = len(snapshot_weights(lm))
    uni = _sel("uniform 2:4", [(2, 4)] * blocks)
    assert is_uniform(uni, (2, 4)) and not is_uniform(uni, (4, 8))
    kept, _, record = check_plan(
        lm, calib, 4, uni, uni, lambda s: PrunePlan(list(s.patterns), "wanda"), None, 2
    )
    assert kept is uni and record.kept == "plan" and record.loss_plan == record.loss_uniform
    assert math.isclose(record.loss_plan, _held_loss_from(lm, calib, 2), rel_tol=1e-5)


def _held_loss_from(lm, calib: torch.Tensor, first: int) -> float:
    held = calib[first:]
    with torch.no_grad():
        return float(lm.model(input_ids=held, labels=held).loss)


def test_check_windows_need_unprobed_windows() -> None:
    calib = _calib()
    assert check_windows(calib, 3).shape[0] == 5
    with pytest.raises(ValueError, match="beyond the 8 probe windows"):
        check_windows(calib, 8)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "uniform", "--plan-check", "uniform"], "--method uniform has no mixed"),
        (
            [
                "--method",
                "measured",
                "--plan-check",
                "uniform",
                "--nsamples",
                "4",
                "--probe-windows",
                "4",
            ],
            "there are none: raise --nsamples",
        ),
    ],
)
def test_bad_plan_check_refused_before_loading(
    extra: list[str], message: str, tmp_path: Path, text_file: Path, capsys
) -> None:
    # tmp_path is no model: the refusal must come from the option check, before any load.
    base = ["prune", "--model", str(tmp_path), "--text", str(text_file)]
    assert main([*base, *extra]) == 2
    assert message in capsys.readouterr().err


def test_export_key_holds_plan_check_only_when_on() -> None:
    assert "plan_check" not in export_options(_export_args(owl_lamda=0.25))
    assert export_options(_export_args(plan_check="uniform", owl_lamda=0.25))["plan_check"] == (
        "uniform"
    )


def test_prune_command_logs_the_check(planted, tmp_path: Path) -> None:  # noqa: F811
    model, text = planted
    log = tmp_path / "prune.json"
    args = [
        "prune",
        "--method",
        "measured",
        "--metric",
        "wanda",
        *_tiny_run(model, text),
        "--eval-windows",
        "2",
        "--target",
        "0.625",  # no uniform candidate has it: the plan mixes patterns
        "--plan-check",
        "uniform",
        "--cost-cache",
        str(tmp_path / "cache"),
        "--log",
        str(log),
    ]
    assert main(args) == 0
    out = json.loads(log.read_text())
    check = out["plan_check"]
    assert check["check_windows"] == [2, 4] and check["plan_method"].startswith("measured")
    assert check["uniform"] == "uniform 2:6"  # the operating point nearest 62.5 %
    assert check["loss_plan"] != check["loss_uniform"]
    kept = check["plan_method"] if check["kept"] == "plan" else check["uniform"]
    assert out["selection"]["method"] == kept
    assert out["perplexity"] == check["eval_perplexity"][check["kept"]]
    assert (check["kept"] == "plan") == (check["loss_plan"] < check["loss_uniform"])

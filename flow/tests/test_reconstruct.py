"""Issue 18 lever 4: block reconstruction after N:M pruning (flow.reconstruct), on tiny
seed-fixed LLaMA and OPT models built from configs (random weights, random token windows)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from flow.calibrate import capture_inputs, forward_block, run_sequential
from flow.choices import RECON_LR
from flow.cli import main
from flow.commands.evaluate import _run_key
from flow.commands.export import export_options
from flow.models import LoadedModel, decoder_blocks
from flow.pipeline import ExportCapture, prune_model, restore_weights, snapshot_weights
from flow.prune import PrunePlan
from flow.reconstruct import ReconParams
from golden.nm_format import check_nm

from .conftest import VOCAB, _configs

RECON = ReconParams("block", steps=30, lr=3e-3, batch=2)


def _tiny(family: str, dtype: torch.dtype = torch.float32) -> LoadedModel:
    config, cls = _configs()[family]
    torch.manual_seed(0)
    model = cls(config).eval().to(dtype)
    return LoadedModel(model, None, family, family, {})


def _calib(seed: int = 1) -> torch.Tensor:
    return torch.randint(0, VOCAB, (8, 32), generator=torch.Generator().manual_seed(seed))


def _mse(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return float(sum((x.float() - y.float()).square().sum() for x, y in zip(a, b, strict=True)))


@pytest.mark.parametrize("family", ["llama", "opt"])
@pytest.mark.parametrize(("metric", "permute"), [("sparsegpt", "none"), ("wanda", "balanced")])
def test_masks_are_kept_exactly(family: str, metric: str, permute: str) -> None:
    """Every sublayer's zeros after reconstruction are the pruner's mask's zeros, N:M in the
    exported (permuted) order; block 0 (same inputs with or without) gets the very same masks
    as plain pruning, and its kept weights moved."""
    lm, calib = _tiny(family), _calib()
    snap = snapshot_weights(lm)
    n, m = 2, 4
    plan = PrunePlan([(n, m)] * 4, metric, permute=permute)
    plain = ExportCapture(all_sublayers=True, max_cout=0)
    prune_model(lm, calib, 4, plan, plain)
    for rec in plain.kept:  # a float32 CPU capture shares the parameter's memory: copy it
        rec["weight"] = rec["weight"].copy()
    restore_weights(lm, snap)
    fitted = ExportCapture(all_sublayers=True, max_cout=0)
    result = prune_model(lm, calib, 4, plan, fitted, recon=RECON)
    assert len(fitted.kept) == len(plain.kept) == 4 * len(snap[0])
    for rec in fitted.kept:
        w, keep, perm = rec["weight"], rec["mask"], rec["perm"]
        assert (permute == "none") == (perm is None)
        assert np.all(w[~keep] == 0)  # exactly zero, not small
        order = slice(None) if perm is None else perm
        check_nm(w[:, order] != 0, n, m)
        check_nm(keep[:, order], n, m)
    # The weights the model holds now are the captured ones (capture reads after the fit).
    block0 = decoder_blocks(lm.model, lm.family)[0]
    held = dict(block0.named_parameters())
    per_block = len(snap[0])
    for before, after in zip(plain.kept[:per_block], fitted.kept[:per_block], strict=True):
        assert np.array_equal(before["mask"], after["mask"])
        assert not np.array_equal(before["weight"], after["weight"])
        name = next(k for k in held if k.endswith(f"{after['sublayer']}.weight"))
        assert np.array_equal(held[name].detach().numpy(), after["weight"])
    assert all(b["kept"] == "reconstructed" for b in result.reconstruction["blocks"])


@pytest.mark.parametrize("family", ["llama", "opt"])
def test_block_error_goes_down(family: str) -> None:
    """Against the dense block on the same inputs, block 0's output error falls with
    reconstruction (SparseGPT 2:4), every block's logged error falls, and the last block's
    output, against the dense model's, is closer too."""
    lm, calib = _tiny(family), _calib()
    snap = snapshot_weights(lm)
    chunks = capture_inputs(lm, calib, 4)
    block0 = decoder_blocks(lm.model, lm.family)[0]
    dense0 = forward_block(block0, chunks)
    dense_last = run_sequential(lm, calib, 4, lambda _inp: False)
    plan = PrunePlan([(2, 4)] * 4, "sparsegpt")
    errors = {}
    for label, recon in (("pruned", None), ("reconstructed", RECON)):
        restore_weights(lm, snap)
        result = prune_model(lm, calib, 4, plan, recon=recon)
        last = run_sequential(lm, calib, 4, lambda _inp: False)
        errors[label] = (
            _mse(forward_block(block0, chunks), dense0),
            float((last - dense_last).square().sum()),
        )
    logged = result.reconstruction["blocks"]
    assert len(logged) == 4
    assert all(b["mse_after"] < 0.8 * b["mse_before"] for b in logged)
    assert all(b["seconds"] > 0 for b in logged)
    assert result.reconstruction["seconds"] == pytest.approx(sum(b["seconds"] for b in logged))
    assert errors["reconstructed"][0] < 0.8 * errors["pruned"][0]
    assert errors["reconstructed"][1] < errors["pruned"][1]


def test_bfloat16_weights_float32_masters() -> None:
    """A bfloat16 model reconstructs (float32 masters cast down in the forward): its weights
    stay bfloat16, masks exact, the error falls."""
    lm, calib = _tiny("llama", torch.bfloat16), _calib()
    capture = ExportCapture(all_sublayers=True, max_cout=0)
    result = prune_model(lm, calib, 4, PrunePlan([(4, 8)] * 4, "wanda"), capture, recon=RECON)
    for block in decoder_blocks(lm.model, lm.family):
        assert all(p.dtype == torch.bfloat16 for p in block.parameters())
        assert all(p.requires_grad for p in block.parameters())  # flags restored
    for rec in capture.kept:
        assert np.all(rec["weight"][~rec["mask"]] == 0)
        check_nm(rec["weight"] != 0, 4, 8)
    assert all(b["mse_after"] < b["mse_before"] for b in result.reconstruction["blocks"])


def test_dense_blocks_are_left_alone() -> None:
    lm, calib = _tiny("llama"), _calib()
    snap = snapshot_weights(lm)
    result = prune_model(lm, calib, 4, PrunePlan([(4, 4), (2, 4), (4, 4), (4, 4)]), recon=RECON)
    assert [b["block"] for b in result.reconstruction["blocks"]] == [1]
    now = snapshot_weights(lm)
    for i in (0, 2, 3):
        assert all(torch.equal(now[i][k], snap[i][k]) for k in snap[i])


def test_params_are_checked() -> None:
    with pytest.raises(ValueError, match="--recon-steps 0"):
        ReconParams("block", steps=0)
    with pytest.raises(ValueError, match=r"--recon-lr -0\.1"):
        ReconParams("block", lr=-0.1)
    with pytest.raises(ValueError, match="--recon-lr nan"):
        ReconParams("block", lr=float("nan"))
    with pytest.raises(ValueError, match="--recon-batch 0"):
        ReconParams("block", batch=0)
    with pytest.raises(ValueError, match="--reconstruct layer"):
        ReconParams("layer")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--reconstruct", "block", "--recon-steps", "0"], "--recon-steps 0: must be >= 1"),
        (["--reconstruct", "block", "--recon-lr", "0"], "--recon-lr 0.0: must be a finite"),
        (["--reconstruct", "block", "--recon-lr", "inf"], "--recon-lr inf: must be a finite"),
        (["--reconstruct", "block", "--recon-batch", "9"], "--recon-batch 9: must be in 1..--b"),
        (["--recon-steps", "20"], "--recon-steps: only with --reconstruct block"),
        (["--recon-lr", "1e-3"], "--recon-lr: only with --reconstruct block"),
    ],
)
@pytest.mark.parametrize("command", ["prune", "export", "eval"])
def test_bad_options_refused_before_loading(
    command: str, extra: list[str], message: str, tmp_path: Path, text_file: Path, capsys
) -> None:
    # tmp_path is no model: a refusal must come from the option check, before any load.
    base = [command, "--model", str(tmp_path), "--text", str(text_file), "--batch", "8"]
    if command == "eval":
        base += ["--methods", "uniform", "--metrics", "sparsegpt", "--out", str(tmp_path / "o")]
    if command == "export" and "only with" in message:
        extra = ["--reconstruct", "none", *extra]  # the export reconstructs by default
    assert main([*base, *extra]) == 2
    assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--reconstruct", "layer"])
    assert "invalid choice: 'layer'" in capsys.readouterr().err


def _export_args(**over: object) -> argparse.Namespace:
    from flow.cli import build_parser

    a = build_parser().parse_args(["export"])
    for k, v in over.items():
        setattr(a, k, v)
    return a


def test_export_defaults_to_the_kept_levers() -> None:
    """flow export's default is the best combination measured (issue 18): balanced permutation
    and block reconstruction; the other commands keep both off."""
    from flow.cli import build_parser

    a = _export_args()
    assert (a.permute, a.reconstruct) == ("balanced", "block")
    p = build_parser().parse_args(["prune"])
    assert (p.permute, p.reconstruct) == ("none", "none")
    plain = build_parser().parse_args(["export", "--permute", "none", "--reconstruct", "none"])
    assert (plain.permute, plain.reconstruct) == ("none", "none")


def test_cache_keys_include_reconstruction_only_when_on() -> None:
    off, on = _export_args(reconstruct="none"), _export_args(reconstruct="block")
    assert not any(k.startswith("recon") for k in export_options(off))
    keyed = export_options(on)
    assert keyed["reconstruct"] == "block" and keyed["recon_steps"] == 50
    assert export_options(_export_args(reconstruct="block", recon_lr=1e-3)) != keyed
    e_off, e_on = (_export_args(reconstruct=r, owl_lamda=0.25) for r in ("none", "block"))
    assert _run_key(e_off, 0, "sparsegpt", "standard", "uniform 4:8") != _run_key(
        e_on, 0, "sparsegpt", "standard", "uniform 4:8"
    )


def test_cli_prune_logs_reconstruction(
    tiny_model_dir: Path, text_file: Path, tmp_path: Path
) -> None:
    log = tmp_path / "prune.json"
    args = ["--model", str(tiny_model_dir), "--text", str(text_file), "--nsamples", "4"]
    args += ["--seqlen", "32", "--batch", "2", "--eval-windows", "2", "--threads", "1"]
    rc = main(
        [
            "prune",
            *args,
            "--method",
            "uniform",
            "--pattern",
            "2:4",
            "--metric",
            "sparsegpt",
            "--reconstruct",
            "block",
            "--recon-steps",
            "5",
            "--recon-batch",
            "1",
            "--log",
            str(log),
        ]
    )
    assert rc == 0
    recon = json.loads(log.read_text())["reconstruction"]
    assert recon["mode"] == "block" and recon["steps"] == 5 and recon["batch"] == 1
    assert recon["lr"] == pytest.approx(RECON_LR)
    assert len(recon["blocks"]) == 4 and recon["seconds"] > 0
    assert all(b["mse_after"] <= b["mse_before"] for b in recon["blocks"])

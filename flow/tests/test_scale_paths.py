"""The paths that paper-scale runs take, on tiny models on the CPU: weights' dtype, a
calibration text of its own, and blocks whose weights accelerate offloaded to host memory
(what `--device-map auto` does on a GPU machine when the model does not fit)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from accelerate import cpu_offload

from flow.calibrate import run_sequential
from flow.choices import parse_max_memory
from flow.cli import main
from flow.data import make_windows
from flow.models import (
    decoder_blocks,
    execution_device,
    file_sha256,
    load_model,
    resolve_dtype,
    stored_weight,
    sublayer_weights,
)
from flow.pipeline import collect_stats, prune_model, select_flow
from flow.prune import PrunePlan
from flow.select import FlowParams
from golden.stimulus import load_stimulus

from .conftest import write_text

SMALL = ["--nsamples", "4", "--seqlen", "32", "--batch", "2", "--threads", "1"]


def test_dtype_choice() -> None:
    assert resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_dtype("auto", "cuda") == torch.bfloat16
    assert resolve_dtype("float16", "cpu") == torch.float16
    with pytest.raises(ValueError, match="unknown dtype 'int8'"):
        resolve_dtype("int8", "cpu")
    assert parse_max_memory("0=20GiB, cpu=60GiB") == {0: "20GiB", "cpu": "60GiB"}
    with pytest.raises(ValueError, match="bad --max-memory item 'cpu'"):
        parse_max_memory("cpu")


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_weights_float32_statistics(tiny_model_dir: Path, text_file: Path, dtype: str) -> None:
    lm = load_model(tiny_model_dir, dtype=dtype)
    assert {p.dtype for p in lm.model.parameters()} == {getattr(torch, dtype)}
    win = make_windows(lm.tokenizer, text_file, 4, 32, 0)
    seen = []
    run_sequential(lm, win.calib, 2, lambda inp: seen.append(inp) or False)
    assert all(s.dtype == torch.float32 for inp in seen for s in inp.sq_mean.values())
    # Half-precision statistics stay close to the float32 ones (same windows, same weights).
    ref = []
    run_sequential(load_model(tiny_model_dir), win.calib, 2, lambda inp: ref.append(inp) or False)
    for half, full in zip(seen, ref, strict=True):
        for name in full.sq_mean:
            torch.testing.assert_close(half.sq_mean[name], full.sq_mean[name], rtol=0.1, atol=1e-3)


def test_cli_bfloat16_export_has_the_float32_format(
    tiny_model_dir: Path, text_file: Path, tmp_path: Path
) -> None:
    base = ["export", "--model", str(tiny_model_dir), "--text", str(text_file), *SMALL]
    stims = {}
    for dtype in ("float32", "bfloat16"):
        out = tmp_path / dtype
        assert main([*base, "--dtype", dtype, "--out-dir", str(out), "--max-cout", "8"]) == 0
        stims[dtype] = load_stimulus(out / "stimulus.npz")
        log = json.loads(next(out.glob("*.json")).read_text())
        assert log["dtype"] == dtype
    full, half = stims["float32"], stims["bfloat16"]
    assert len(full.layers) == len(half.layers)
    for a, b in zip(full.layers, half.layers, strict=True):
        assert a.name == b.name
        for field in ("weight", "scale", "mask", "act"):
            x, y = getattr(a, field), getattr(b, field)
            assert (x.dtype, x.shape) == (y.dtype, y.shape), field


def test_calibration_text_of_its_own(tiny_model_dir: Path, text_file: Path, tmp_path: Path) -> None:
    lm = load_model(tiny_model_dir)
    calib = write_text(tmp_path / "calib.txt", 400, seed=3)
    win = make_windows(lm.tokenizer, text_file, 4, 32, 2, calib_path=calib)
    ids = lm.tokenizer(calib.read_text(), return_tensors=None)["input_ids"]
    assert win.calib.flatten().tolist() == ids[:128]
    text_ids = lm.tokenizer(text_file.read_text(), return_tensors=None)["input_ids"]
    lo = int(len(text_ids) * 0.5)
    assert win.eval.flatten().tolist() == text_ids[lo : lo + 64]
    spec = win.spec
    assert spec.calib_text_sha256 == file_sha256(calib) != spec.text_sha256
    assert spec.calib_total_tokens == len(ids) and spec.eval_range == (lo, lo + 64)
    # The default is the old behaviour: one file, disjoint ranges, one hash.
    one = make_windows(lm.tokenizer, text_file, 4, 32, 2)
    assert one.spec.calib_text_sha256 == one.spec.text_sha256
    assert one.spec.calib_range[1] <= one.spec.eval_range[0]
    # Calibration set 1 is the next nsamples x seqlen tokens of the calibration text.
    second = make_windows(lm.tokenizer, text_file, 4, 32, 2, calib_set=1, calib_path=calib)
    assert second.calib.flatten().tolist() == ids[128:256]
    assert second.spec.calib_range == (128, 256) and second.spec.eval_range == (lo, lo + 64)
    # With its own text, calibration may be longer than the evaluation text allows.
    long_calib = write_text(tmp_path / "long.txt", 20_000, seed=4)
    short_eval = write_text(tmp_path / "short_eval.txt", 300, seed=5)
    win = make_windows(lm.tokenizer, short_eval, 40, 64, 1, calib_path=long_calib)
    assert win.calib.shape == (40, 64)


def test_cli_records_the_calibration_text(
    tiny_model_dir: Path, text_file: Path, tmp_path: Path
) -> None:
    calib = write_text(tmp_path / "calib.txt", 400, seed=3)
    args = ["--model", str(tiny_model_dir), "--text", str(text_file), *SMALL]
    log = tmp_path / "sel.json"
    assert main(["select", *args, "--calib-text", str(calib), "--log", str(log)]) == 0
    windows = json.loads(log.read_text())["windows"]
    assert windows["calib_text_path"] == str(calib)
    assert windows["calib_text_sha256"] == file_sha256(calib)
    # The export cache key follows the calibration text's content.
    out = tmp_path / "stim"
    export = ["export", *args, "--out-dir", str(out), "--max-cout", "8"]
    assert main([*export, "--calib-text", str(calib)]) == 0
    write_text(calib, 400, seed=9)
    assert main([*export, "--calib-text", str(calib)]) == 0
    assert len(list(out.glob("*-*.npz"))) == 2
    stim = load_stimulus(out / "stimulus.npz")
    assert stim.source["windows"]["calib_text_sha256"] == file_sha256(calib)


def test_short_calibration_text_fails_before_the_model_loads(
    tiny_model_dir: Path, text_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # A folder with the tokenizer and config but no weights: loading the model would fail, so
    # the length error proves the check ran first.
    folder = tmp_path / "no_weights"
    shutil.copytree(tiny_model_dir, folder, ignore=shutil.ignore_patterns("*.safetensors"))
    short = write_text(tmp_path / "short.txt", 30)
    args = ["--model", str(folder), "--text", str(text_file), *SMALL]
    assert main(["select", *args, "--calib-text", str(short)]) == 2
    err = capsys.readouterr().err
    assert "calibration text too short" in err and str(short) in err
    assert main(["select", *args, "--calib-text", str(tmp_path / "none.txt")]) == 2
    assert "text file not found" in capsys.readouterr().err


def _flow_run(
    lm, calib: torch.Tensor, metric: str = "wanda"
) -> tuple[list, list[tuple[int, int]], list]:
    stats = collect_stats(lm, calib, 2, [5.0])
    sel = select_flow(stats, FlowParams(), P=4)
    result = prune_model(lm, calib, 2, PrunePlan(sel.patterns, metric))
    weights = [
        {k: w.detach().clone() for k, w in sublayer_weights(b, lm.family).items()}
        for b in decoder_blocks(lm.model, lm.family)
    ]
    return stats, sel.patterns, [result.layer_zero_fraction, weights]


@pytest.mark.parametrize("metric", ["wanda", "sparsegpt"])
def test_offloaded_blocks_match_resident_ones(
    tiny_model_dir: Path, text_file: Path, metric: str
) -> None:
    """Blocks 1 and 3 offloaded by accelerate (their parameters on `meta`, copied in from host
    memory at every forward, as `--device-map auto` does on a GPU machine): statistics,
    selection and pruned weights equal those of the resident model, and the model's own
    forward afterwards runs with the pruned weights."""
    plain = load_model(tiny_model_dir)
    win = make_windows(plain.tokenizer, text_file, 4, 32, 0)
    lm = load_model(tiny_model_dir)
    blocks = decoder_blocks(lm.model, lm.family)
    for i in (1, 3):
        cpu_offload(blocks[i], execution_device=torch.device("cpu"))
    assert blocks[1].self_attn.q_proj.weight.device.type == "meta"
    assert stored_weight(blocks[1], "self_attn.q_proj").device.type == "cpu"
    assert execution_device(blocks[1]) == torch.device("cpu")
    ref_stats, ref_patterns, (ref_zero, ref_weights) = _flow_run(plain, win.calib, metric)
    stats, patterns, (zero, weights) = _flow_run(lm, win.calib, metric)
    assert patterns == ref_patterns
    assert [s.n_outliers for s in stats] == [s.n_outliers for s in ref_stats]
    assert zero == pytest.approx(ref_zero)
    for mine, ref in zip(weights, ref_weights, strict=True):
        for name in ref:
            torch.testing.assert_close(mine[name], ref[name], rtol=0, atol=0)
    with torch.no_grad():
        got = lm.model(input_ids=win.calib[:2]).logits
        want = plain.model(input_ids=win.calib[:2]).logits
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_cli_device_map(tiny_model_dir: Path, text_file: Path, tmp_path: Path, capsys) -> None:
    args = ["--model", str(tiny_model_dir), "--text", str(text_file), *SMALL]
    logs = {}
    for extra in ([], ["--device-map", "auto"]):
        log = tmp_path / f"sel{len(extra)}.json"
        assert main(["select", *args, *extra, "--log", str(log)]) == 0
        logs[len(extra)] = json.loads(log.read_text())
    assert logs[0]["selection"]["patterns"] == logs[2]["selection"]["patterns"]
    counts = [[s["n_outliers"] for s in log["stats"]] for log in logs.values()]
    assert counts[0] == counts[1]
    capsys.readouterr()
    # A cap so small that blocks go to disk: refused by name (pruning in place needs memory).
    cap = ["--device-map", "auto", "--max-memory", "cpu=20KiB"]
    assert main(["select", *args, *cap]) == 2
    assert "put blocks on disk" in capsys.readouterr().err
    assert main(["select", *args, "--max-memory", "cpu=1GiB"]) == 2
    assert "--max-memory needs --device-map" in capsys.readouterr().err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_gpu_device_map_split_matches_one_device(tiny_model_dir: Path, text_file: Path) -> None:
    """On a GPU: a max_memory cap forces some blocks to host memory (offloaded); FLOW's
    statistics, selection and pruning equal those of the model held wholly on the GPU."""
    one = load_model(tiny_model_dir, device="cuda", dtype="float32")
    blocks_bytes = sum(p.numel() * 4 for p in decoder_blocks(one.model, one.family)[0].parameters())
    cap: dict[int | str, int | str] = {0: int(blocks_bytes * 2.5), "cpu": "4GiB"}
    split = load_model(tiny_model_dir, device_map="auto", dtype="float32", max_memory=cap)
    placed = set(split.model.hf_device_map.values())
    assert "cpu" in placed and placed & {0, "cuda:0", "cuda"}, split.model.hf_device_map
    win = make_windows(one.tokenizer, text_file, 4, 32, 0)
    ref_stats, ref_patterns, (ref_zero, ref_weights) = _flow_run(one, win.calib)
    stats, patterns, (zero, weights) = _flow_run(split, win.calib)
    assert patterns == ref_patterns and zero == pytest.approx(ref_zero)
    for s, r in zip(stats, ref_stats, strict=True):
        assert s.n_outliers == r.n_outliers
    for mine, ref in zip(weights, ref_weights, strict=True):
        for name in ref:
            torch.testing.assert_close(mine[name].cpu(), ref[name].cpu(), rtol=0, atol=0)

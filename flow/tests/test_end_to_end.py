"""select + prune + export through the public loader and CLI, on tiny OPT and LLaMA models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from flow.calibrate import BlockInputs, run_sequential
from flow.cli import main
from flow.data import make_windows
from flow.models import UnsupportedModel, block_sublayers, decoder_blocks, load_model
from flow.pipeline import collect_stats, prune_model, select_flow
from flow.prune import PrunePlan, prune_sublayer
from flow.select import FlowParams
from golden.nm_format import check_nm
from golden.stimulus import load_stimulus

from .conftest import write_text

SMALL = ["--nsamples", "4", "--seqlen", "32", "--batch", "2", "--threads", "1"]


def _common(model: Path, text: Path) -> list[str]:
    return ["--model", str(model), "--text", str(text), *SMALL]


def test_sequential_pass_matches_model_forward(tiny_model_dir: Path, text_file: Path) -> None:
    lm = load_model(tiny_model_dir)
    win = make_windows(lm.tokenizer, text_file, 4, 32, 0)
    last = decoder_blocks(lm.model, lm.family)[-1]
    seen: list[torch.Tensor] = []
    hook = last.register_forward_hook(
        lambda _m, _i, out: seen.append(out[0] if isinstance(out, tuple) else out)
    )
    with torch.no_grad():
        lm.model(input_ids=win.calib, use_cache=False)
    hook.remove()
    out = run_sequential(lm, win.calib, 2, lambda _inp: False)
    torch.testing.assert_close(out, seen[0], rtol=1e-4, atol=1e-5)


def test_later_blocks_see_pruned_predecessors(tiny_model_dir: Path, text_file: Path) -> None:
    lm = load_model(tiny_model_dir)
    win = make_windows(lm.tokenizer, text_file, 4, 32, 0)
    first = "q_proj"  # input = the block's (normed) input in both families
    during: list[torch.Tensor] = []

    def prune_visit(inp: BlockInputs) -> bool:
        during.append(inp.sq_mean[first])
        for name, lin in inp.sublayers.items():
            prune_sublayer(lin, 1, 4, PrunePlan([(1, 4)]), inp.sq_mean[name])
        return True

    run_sequential(lm, win.calib, 2, prune_visit)
    after: list[torch.Tensor] = []
    run_sequential(lm, win.calib, 2, lambda inp: after.append(inp.sq_mean[first]) or False)
    # Block i's first sublayer input only depends on blocks < i, all pruned in both passes.
    for i in range(1, len(after)):
        torch.testing.assert_close(during[i], after[i], rtol=1e-4, atol=1e-6)
    assert not torch.allclose(during[1], collect_dense_first(tiny_model_dir, win.calib, first))


def collect_dense_first(folder: Path, calib: torch.Tensor, name: str) -> torch.Tensor:
    lm = load_model(folder)
    got: list[torch.Tensor] = []
    run_sequential(lm, calib, 2, lambda inp: got.append(inp.sq_mean[name]) or False)
    return got[1]


def test_select_prune_library(tiny_model_dir: Path, text_file: Path) -> None:
    lm = load_model(tiny_model_dir)
    win = make_windows(lm.tokenizer, text_file, 4, 32, 2)
    assert win.spec.calib_range[1] <= win.spec.eval_range[0]
    stats = collect_stats(lm, win.calib, 2, [5.0], [5.0])
    assert len(stats) == 4 and all(s.params > 0 for s in stats)
    sel = select_flow(stats, FlowParams(), P=4)
    assert sel.achieved == pytest.approx(0.5) and sel.exact
    result = prune_model(lm, win.calib, 2, PrunePlan(sel.patterns))
    # Dense blocks keep everything; the parameter-weighted zero fraction follows the patterns.
    expected = [1 - n / m for n, m in sel.patterns]
    assert result.layer_zero_fraction == pytest.approx(expected)


def test_cli_select_prune_export(
    tiny_model_dir: Path, text_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = _common(tiny_model_dir, text_file)
    assert main(["select", *args, "--log", str(tmp_path / "sel.json")]) == 0
    log = json.loads((tmp_path / "sel.json").read_text())
    assert log["windows"]["calib_range"] == [0, 128]
    assert len(log["selection"]["patterns"]) == 4
    assert "achieved 0.5000" in capsys.readouterr().out

    prune_log = tmp_path / "prune.json"
    rc = main(
        [
            "prune",
            *args,
            "--eval-windows",
            "2",
            "--method",
            "uniform",
            "--pattern",
            "2:4",
            "--mask",
            "pair-shared",
            "--log",
            str(prune_log),
        ]
    )
    assert rc == 0
    plog = json.loads(prune_log.read_text())
    assert plog["zero_fraction"] == pytest.approx(0.5)
    assert plog["perplexity"] > 1.0

    out = tmp_path / "stim"
    export = ["export", *args, "--out-dir", str(out), "--max-cout", "16", "--tokens", "4"]
    assert main(export) == 0
    first = capsys.readouterr().out
    assert "wrote" in first
    stim = load_stimulus(out / "stimulus.npz")
    assert len(stim.layers) == 4
    patterns = json.loads(next(out.glob("*.json")).read_text())["selection"]["patterns"]
    for layer, (n, m) in zip(stim.layers, patterns, strict=True):
        assert (layer.n, layer.m) == (n, m)
        assert layer.weight.shape[0] == 16 and layer.act.shape[0] == 4
        # the export's default permutes the input channels of every sparse layer: the mask is
        # n:m in the core's order
        assert (layer.perm is None) == (n == m)
        order = slice(None) if layer.perm is None else layer.perm
        check_nm(layer.mask[:, order].astype(np.int8), n, m)
        assert not np.any((layer.weight != 0) & ~layer.mask)
    assert stim.source["windows"]["calib_range"] == [0, 128]
    # Second run: same inputs, same key -> cache hit, no recomputation.
    assert main(export) == 0
    assert "cache hit" in capsys.readouterr().out
    # A changed option changes the key.
    assert main([*export, "--tokens", "2"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert len(list(out.glob("*-*.npz"))) == 2


def test_bad_inputs(tmp_path: Path, text_file: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(FileNotFoundError, match="model path does not exist"):
        load_model(tmp_path / "nope")
    missing = ["--model", str(tmp_path / "nope"), "--text", str(text_file)]
    assert main(["export", *missing, "--out-dir", str(tmp_path)]) == 2
    assert "model path does not exist" in capsys.readouterr().err


def test_bad_text_and_options(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    base = ["--model", str(tiny_model_dir), *SMALL]
    assert main(["select", *base, "--text", str(tmp_path / "none.txt")]) == 2
    assert "text file not found" in capsys.readouterr().err
    short = write_text(tmp_path / "short.txt", 40)
    assert main(["select", *base, "--text", str(short)]) == 2
    assert "text too short" in capsys.readouterr().err
    text = write_text(tmp_path / "ok.txt", 3000)
    assert main(["select", *base, "--text", str(text), "--candidates", "2:4,3:8"]) == 2
    assert "unsupported candidate 3:8" in capsys.readouterr().err
    assert main(["select", *base, "--text", str(text), "--target", "0.95"]) == 2
    assert "--target 0.95: outside the sparsity range" in capsys.readouterr().err


def test_unsupported_architecture(tmp_path: Path) -> None:
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=64)).save_pretrained(
        tmp_path
    )
    with pytest.raises(UnsupportedModel, match="unsupported architecture 'gpt2'"):
        load_model(tmp_path)


def test_options_fail_before_the_model_loads(
    tiny_model_dir: Path, text_file: Path, tmp_path: Path, capsys
) -> None:
    base = _common(tiny_model_dir, text_file)
    for bad, message in (
        (["--target", "1.5"], "--target 1.5: must be in [0, 1)"),
        (["--probe-windows", "9"], "--probe-windows 9"),
        (["--calib-set", "-1"], "--calib-set -1"),
    ):
        assert main(["select", *base, *bad]) == 2
        out = capsys.readouterr()
        assert message in out.err and "loading model" not in out.out
    export = ["export", *base, "--out-dir", str(tmp_path), "--sublayer", "qq_proj"]
    assert main(export) == 2
    out = capsys.readouterr()
    assert "--sublayer qq_proj: not a sublayer" in out.err and "loading model" not in out.out
    with pytest.raises(SystemExit):
        main(["select", *base, "--candidates", "abc"])
    assert "bad candidate 'abc': expected N:M" in capsys.readouterr().err


def test_corrupt_cached_export_is_rebuilt(
    tiny_model_dir: Path, text_file: Path, tmp_path: Path, capsys
) -> None:
    export = [
        "export",
        *_common(tiny_model_dir, text_file),
        "--method",
        "flow",
        "--out-dir",
        str(tmp_path),
        "--max-cout",
        "8",
        "--tokens",
        "2",
    ]
    assert main(export) == 0
    keyed = next(p for p in tmp_path.glob("*.npz") if p.name != "stimulus.npz")
    for garbage in (b"", b"not a zip file", keyed.read_bytes()[:100]):
        keyed.write_bytes(garbage)
        capsys.readouterr()
        assert main(export) == 0
        assert "cached export unusable" in capsys.readouterr().out
        assert len(load_stimulus(keyed).layers) == 4


def test_eval_seeds_resume_and_report(
    tiny_model_dir: Path, text_file: Path, tmp_path: Path, capsys
) -> None:
    args = [
        "eval",
        *_common(tiny_model_dir, text_file),
        "--eval-windows",
        "2",
        "--seeds",
        "2",
        "--methods",
        "uniform,measured",
        "--probe-windows",
        "2",
        "--out",
        str(tmp_path / "a"),
        "--cost-cache",
        str(tmp_path / "cache"),
        "--latency-config",
        "small",
    ]
    assert main(args) == 0
    first = capsys.readouterr().out
    runs = json.loads((tmp_path / "a" / "runs.json").read_text())
    labels = sorted((r["label"], r["seed"]) for r in runs.values())
    assert labels == [("dense", None)] + [
        (lab, s) for lab in ("measured", "uniform 2:4", "uniform 4:8") for s in (0, 1)
    ]
    calib = {r["seed"]: tuple(r["calib_range"]) for r in runs.values() if r["seed"] is not None}
    assert calib == {0: (0, 128), 1: (128, 256)}  # disjoint sets, same evaluation windows
    assert "seed 1 wanda/standard measured" in first
    summary = json.loads((tmp_path / "a" / "results.json").read_text())["summary"]
    paired = {p["baseline"]: p for p in summary["paired"]}
    assert set(paired) == {"uniform 2:4", "uniform 4:8"} and len(paired["uniform 4:8"]["gaps"]) == 2
    assert "FlexCiM" in summary["methods"][0]["cycles"]
    assert main(args) == 0  # resumed: nothing pruned again
    assert "seed 0 wanda" not in capsys.readouterr().out
    assert main(["report", str(tmp_path / "a"), "--out", str(tmp_path / "merged")]) == 0
    assert "Paired gap" in (tmp_path / "merged" / "results.md").read_text()
    assert main(["report", str(tmp_path / "nothing"), "--out", str(tmp_path / "m2")]) == 2


def test_full_size_export_of_every_sublayer(
    tiny_model_dir: Path, text_file: Path, tmp_path: Path
) -> None:
    args = [
        "export",
        *_common(tiny_model_dir, text_file),
        "--method",
        "uniform",
        "--pattern",
        "4:8",
        "--all-sublayers",
        "--max-cout",
        "0",
        "--tokens",
        "16",
        "--out-dir",
        str(tmp_path),
    ]
    assert main(args) == 0
    stim = load_stimulus(tmp_path / "stimulus.npz")
    lm = load_model(tiny_model_dir)
    shapes = [
        tuple(lin.weight.shape)
        for block in decoder_blocks(lm.model, lm.family)
        for lin in block_sublayers(block, lm.family).values()
    ]
    assert [layer.weight.shape for layer in stim.layers] == shapes
    assert all(layer.act.shape[0] == 16 for layer in stim.layers)
    assert "all output channels" in stim.source["note"]


def _slots_needed(keep: np.ndarray, width: int, m: int) -> int:
    """Most hardware slots any (tile of `width` rows, group of m) of a keep-mask needs when
    the tile's rows share one pair select (per pair: the most kept elements any row has)."""
    rows, k = keep.shape
    t = np.pad(keep, [(0, -rows % width), (0, -k % m)]).reshape(
        -1, width, (k + -k % m) // m, m // 2, 2
    )
    return int(t.sum(-1).max(axis=1).sum(-1).max())


def test_pair_shared_masks_follow_the_configs_select_width(
    tiny_model_dir: Path, text_file: Path, tmp_path: Path
) -> None:
    """--hw-config picks the pair-shared column tile: its G (columns sharing one select),
    not its C. small_g1 (G = 1) keeps any 2:4 mask; small_g2 and small (G = C = 4) keep
    masks whose every 2- resp. 4-row tile fits 2 slots per group."""
    args = [*_common(tiny_model_dir, text_file), "--eval-windows", "1", "--method", "uniform"]
    need = {}
    for config in ("small_g2", "small"):
        out = tmp_path / config
        shared = ["--pattern", "2:4", "--mask", "pair-shared", "--hw-config", config]
        rc = main(["prune", *args, *shared, "--save", str(out), "--log", str(tmp_path / "log")])
        assert rc == 0
        pruned = load_model(out)
        weights = [
            lin.weight.detach().numpy()
            for block in decoder_blocks(pruned.model, pruned.family)
            for lin in block_sublayers(block, pruned.family).values()
        ]
        need[config] = {w: max(_slots_needed(x != 0, w, 4) for x in weights) for w in (2, 4)}
    assert need["small_g2"][2] <= 2 < need["small_g2"][4]  # legal at G = 2 only
    assert need["small"][4] <= 2  # legal at G = 4 (and so at every G dividing it)

"""Measured-cost selection on a tiny model whose block 2 carries all the learned computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import LlamaForCausalLM

from flow.cli import main
from flow.data import make_windows
from flow.measured import (
    CostTable,
    load_cached_costs,
    measure_costs,
    operating_point,
    save_costs,
    select_measured,
)
from flow.models import load_model
from flow.options import dominated, measured_candidates
from flow.prune import PrunePlan
from flow.select import sparsity

from .conftest import _configs, _tokenizer, write_text

SENSITIVE = 2
CANDS = measured_candidates(4)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Random frozen embeddings and head, blocks 0, 1, 3 reduced to near-identity (their
    output projections ~1e-3): only block 2 can learn, so only block 2 is sensitive."""
    folder = tmp_path_factory.mktemp("planted")
    text = write_text(folder / "corpus.txt", 8000, seed=1)
    config, _ = _configs()["llama"]
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    tok = _tokenizer(text)
    ids = torch.tensor(tok(text.read_text())["input_ids"][: 64 * 64]).view(64, 64)
    for p in model.parameters():
        p.requires_grad_(False)
    for i, block in enumerate(model.model.layers):
        if i == SENSITIVE:
            for p in block.parameters():
                p.requires_grad_(True)
        else:
            for lin in (block.self_attn.o_proj, block.mlp.down_proj):
                lin.weight.zero_()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(150):
        batch = ids[torch.randint(0, ids.shape[0], (8,), generator=g)]
        loss = model(input_ids=batch, labels=batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        for i, block in enumerate(model.model.layers):
            if i != SENSITIVE:
                for lin in (block.self_attn.o_proj, block.mlp.down_proj):
                    lin.weight.copy_(1e-3 * torch.randn(lin.weight.shape, generator=g))
    model.save_pretrained(folder / "model")
    tok.save_pretrained(folder / "model")
    return folder / "model", text


@pytest.fixture(scope="module")
def wanda_table(planted: tuple[Path, Path]) -> CostTable:
    return _table(planted, "wanda")


def _table(planted: tuple[Path, Path], metric: str) -> CostTable:
    lm = load_model(planted[0])
    win = make_windows(lm.tokenizer, planted[1], 8, 64, 0)
    op = operating_point(CANDS, 0.5)
    return measure_costs(lm, win.calib, 4, CANDS, op, PrunePlan([], metric), 4, 64)


@pytest.mark.parametrize("metric", ["wanda", "sparsegpt"])
def test_planted_sensitive_block_is_kept_denser(planted, wanda_table, metric: str) -> None:
    table = wanda_table if metric == "wanda" else _table(planted, metric)
    costs = table.matrix
    op = CANDS.index(table.operating_point)
    assert np.all(costs[:, op] == 0.0)
    sparsest = CANDS.index((1, 8))
    # Pruning the sensitive block hard costs far more than pruning any other block hard.
    others = [i for i in range(costs.shape[0]) if i != SENSITIVE]
    assert costs[SENSITIVE, sparsest] > 5 * np.abs(costs[others, sparsest]).max()
    sel = select_measured(table, CANDS, 0.5, "layer", 4)
    sp = [sparsity(p) for p in sel.patterns]
    assert sel.exact
    assert sp[SENSITIVE] < min(sp[i] for i in others), sel.patterns


def test_cost_table_cache_round_trip(wanda_table: CostTable, tmp_path: Path) -> None:
    table = wanda_table
    path = tmp_path / "costs.json"
    save_costs(path, table)
    again = load_cached_costs(path)
    assert again is not None
    assert again.matrix.tolist() == table.matrix.tolist()
    assert again.candidates == table.candidates and again.stats == table.stats
    path.write_text("{not json")
    assert load_cached_costs(path) is None  # corrupt cache: recomputed, not a crash
    with pytest.raises(ValueError, match="not measured"):
        select_measured(table, ((2, 4), (4, 8)), 0.5, "layer", 4)


def test_candidate_rules() -> None:
    assert CANDS == ((4, 4), (1, 6), (2, 6), (4, 6), (1, 8), (2, 8), (4, 8))
    assert dominated((2, 4), (4, 8)) and dominated((1, 4), (2, 8)) and dominated((1, 2), (2, 4))
    assert not dominated((4, 8), (2, 4)) and not dominated((2, 6), (4, 8))
    assert not dominated((2, 6), (2, 8))  # different sparsity
    assert operating_point(CANDS, 0.5) == (4, 8)
    assert operating_point(CANDS, 0.625) == (2, 6)
    assert operating_point(CANDS, 0.75) == (2, 8)


def test_cli_measured_select_uses_its_cache(planted, tmp_path: Path, capsys) -> None:
    model, text = planted
    args = [
        "select",
        "--method",
        "measured",
        "--model",
        str(model),
        "--text",
        str(text),
        "--nsamples",
        "4",
        "--seqlen",
        "32",
        "--batch",
        "2",
        "--threads",
        "1",
        "--probe-windows",
        "2",
        "--cost-cache",
        str(tmp_path / "cache"),
        "--log",
        str(tmp_path / "sel.json"),
    ]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "measured costs:" in first and "cache hit" not in first
    assert main(args) == 0
    assert "cache hit" in capsys.readouterr().out
    # The costs depend on the calibration windows only: another evaluation range reuses them.
    assert main([*args, "--eval-start", "0.7"]) == 0
    assert "cache hit" in capsys.readouterr().out
    assert main([*args, "--calib-set", "1"]) == 0  # other calibration windows: measured again
    assert "cache hit" not in capsys.readouterr().out
    assert main([*args, "--probe-windows", "3"]) == 0  # another option: measured again
    assert "cache hit" not in capsys.readouterr().out

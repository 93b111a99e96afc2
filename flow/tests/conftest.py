"""Tiny OPT and LLaMA models and a tokenizer, saved with save_pretrained into tmp dirs, so the
tests go through the same public loader path as real models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    OPTConfig,
    OPTForCausalLM,
    PreTrainedTokenizerFast,
)

import flow.options


@pytest.fixture(autouse=True)
def _scratch_cost_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """Commands that default to the measured-cost selection (flow export) cache their tables
    in a scratch folder, not in the repository's build/flow_cache."""
    monkeypatch.setattr(flow.options, "COST_CACHE", tmp_path_factory.mktemp("flow_cache"))


VOCAB = 160
WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "mat",
    "while",
    "dogs",
    "ran",
    "far",
    "away",
    "from",
    "big",
    "red",
    "houses",
    "near",
    "old",
    "trees",
    "and",
    "small",
    "birds",
    "sang",
    "loud",
    "songs",
    "over",
    "green",
    "fields",
    "of",
    "wheat",
]


def write_text(path: Path, n_words: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path.write_text(" ".join(rng.choice(WORDS, n_words)) + "\n")
    return path


def _tokenizer(corpus: Path) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - 10, special_tokens=["<unk>", "</s>"])
    tok.train([str(corpus)], trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="</s>")


def _configs() -> dict[str, tuple[object, type]]:
    llama = LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
    opt = OPTConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        ffn_dim=64,
        num_hidden_layers=4,
        num_attention_heads=4,
        max_position_embeddings=128,
        word_embed_proj_dim=32,
    )
    return {"llama": (llama, LlamaForCausalLM), "opt": (opt, OPTForCausalLM)}


@pytest.fixture(scope="session")
def text_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_text(tmp_path_factory.mktemp("text") / "corpus.txt", 6000)


@pytest.fixture(scope="session", params=["llama", "opt"])
def tiny_model_dir(request: pytest.FixtureRequest, tmp_path_factory, text_file: Path) -> Path:
    """A saved tiny model folder (config, safetensors, tokenizer) of each family."""
    config, cls = _configs()[request.param]
    torch.manual_seed(0)
    model = cls(config)
    folder = tmp_path_factory.mktemp(f"tiny_{request.param}")
    model.save_pretrained(folder)
    _tokenizer(text_file).save_pretrained(folder)
    return folder

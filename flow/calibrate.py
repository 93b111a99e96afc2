"""Block-by-block calibration: each block sees the outputs of the already-processed
(and, when pruning, already-pruned) blocks before it, as in SparseGPT/Wanda.

Everything stays on each block's execution device (which differs per block under a device
map): activations move only when the next block sits elsewhere, statistics accumulate there in
float32/float64 whatever the weights' dtype, and nothing is copied to the host per block."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm import tqdm

from flow.choices import KEEP_TOKENS
from flow.models import (
    LoadedModel,
    block_sublayers,
    decoder_blocks,
    execution_device,
    sublayer_weights,
)


class _Captured(Exception):
    """Raised by the pre-hook on block 0 to stop the model once block 0's inputs are known."""

    def __init__(self, args: tuple, kwargs: dict) -> None:
        super().__init__()
        self.args, self.kwargs = args, kwargs


@dataclass
class Chunk:
    """One batch of calibration windows at the input of the current block."""

    hidden: torch.Tensor
    kwargs: dict


@dataclass
class BlockInputs:
    """What a visitor sees for one block: per-sublayer mean x^2 over calibration tokens (float32,
    on the block's device) and the first KEEP_TOKENS input vectors of each sublayer (float32,
    same device). `weights` holds each sublayer's stored weight (see models.stored_weight);
    when empty, the sublayers' own parameters are the weights."""

    index: int
    block: nn.Module
    sublayers: dict[str, nn.Linear]
    sq_mean: dict[str, torch.Tensor]
    sample: dict[str, torch.Tensor]
    # Per sublayer, the calibration Hessian 2/n * X^T X (float32), only when asked for (SparseGPT).
    hessian: dict[str, torch.Tensor] = field(default_factory=dict)
    weights: dict[str, torch.Tensor] = field(default_factory=dict)
    # The block's input chunks and its outputs before the visitor ran (the dense block on the
    # already-pruned predecessors' activations); flow.reconstruct fits the pruned block to them.
    inputs: list[Chunk] = field(default_factory=list)
    outputs: list[torch.Tensor] = field(default_factory=list)

    def weight(self, name: str) -> torch.Tensor:
        """The tensor to read and prune for sublayer `name`."""
        return self.weights[name] if name in self.weights else self.sublayers[name].weight


# A visitor returns True when it changed the block's weights (outputs must be recomputed).
Visitor = Callable[[BlockInputs], bool]


def _stop(_module: nn.Module, args: tuple, kwargs: dict) -> None:
    raise _Captured(args, kwargs)


def _to(obj: object, device: torch.device) -> object:
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, tuple | list):
        return type(obj)(_to(v, device) for v in obj)
    if isinstance(obj, dict):
        return {k: _to(v, device) for k, v in obj.items()}
    return obj


@torch.no_grad()
def capture_inputs(lm: LoadedModel, calib: torch.Tensor, batch: int) -> list[Chunk]:
    """Inputs (hidden states and keyword arguments) of block 0 for every batch of windows."""
    block0 = decoder_blocks(lm.model, lm.family)[0]
    hook = block0.register_forward_pre_hook(_stop, with_kwargs=True)
    chunks = []
    embed_device = lm.model.get_input_embeddings().weight.device
    try:
        for lo in range(0, calib.shape[0], batch):
            try:
                lm.model(input_ids=calib[lo : lo + batch].to(embed_device), use_cache=False)
            except _Captured as cap:
                kwargs = dict(cap.kwargs)
                hidden = cap.args[0] if cap.args else kwargs.pop("hidden_states")
                chunks.append(Chunk(hidden, kwargs))
            else:
                raise RuntimeError("block 0 was never called; cannot capture its inputs")
    finally:
        hook.remove()
    return chunks


@torch.no_grad()
def forward_block(block: nn.Module, chunks: list[Chunk]) -> list[torch.Tensor]:
    device = execution_device(block)
    outs = []
    for chunk in chunks:
        out = block(chunk.hidden.to(device), **_to(chunk.kwargs, device))
        outs.append(out[0] if isinstance(out, tuple) else out)
    return outs


@torch.no_grad()
def forward_with_stats(
    block: nn.Module,
    sublayers: dict[str, nn.Linear],
    chunks: list[Chunk],
    hessian: bool = False,
) -> tuple[
    list[torch.Tensor], dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, torch.Tensor]
]:
    """Forward all chunks; hooks accumulate sum x^2 per input feature of every sublayer (and,
    with `hessian`, the Gram matrix X^T X, once per distinct input tensor: q/k/v share theirs)."""
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    sample: dict[str, torch.Tensor] = {}
    # Sublayers fed the very same tensor (q/k/v, gate/up: called one after another) share one
    # reduction and one Gram matrix; `last` holds (input, its sum x^2, the first sublayer).
    last: list[tuple[torch.Tensor, torch.Tensor, str]] = []
    grams: dict[str, torch.Tensor] = {}
    shared: dict[str, str] = {}  # later sublayer -> the first one fed the same input

    def column_sq_sum(x_in: torch.Tensor, name: str) -> tuple[torch.Tensor, str]:
        if last and last[0][0] is x_in:
            return last[0][1], last[0][2]
        x = x_in.detach().reshape(-1, x_in.shape[-1])
        # float32 within a batch whatever the weights' dtype, float64 across batches.
        total = x.float().square().sum(dim=0).double()
        last[:] = [(x_in, total, name)]
        return total, name

    def make_hook(name: str) -> Callable:
        def hook(_mod: nn.Module, inp: tuple, _out: torch.Tensor) -> None:
            x_in = inp[0]
            total, owner = column_sq_sum(x_in, name)
            sums[name] = sums[name] + total if name in sums else total
            counts[name] = counts.get(name, 0) + x_in.numel() // x_in.shape[-1]
            if name not in sample:  # OPT's fc1/fc2 see (batch * tokens, K): flatten alike
                flat = x_in.detach().reshape(-1, x_in.shape[-1])
                sample[name] = flat[:KEEP_TOKENS].float().clone()
            if hessian:
                if owner == name:
                    x = x_in.detach().reshape(-1, x_in.shape[-1]).float()
                    grams[name] = grams[name] + x.T @ x if name in grams else x.T @ x
                else:  # same input as `owner` (q/k/v): share its Gram matrix
                    shared[name] = owner

        return hook

    handles = [mod.register_forward_hook(make_hook(n)) for n, mod in sublayers.items()]
    try:
        outs = forward_block(block, chunks)
    finally:
        for h in handles:
            h.remove()
        last.clear()
    sq_mean = {n: (sums[n] / counts[n]).float() for n in sublayers}
    # Sublayers that share an input share one Hessian object (SparseGPT prunes them together).
    scaled = {owner: g * (2.0 / counts[owner]) for owner, g in grams.items()}
    hess = {n: scaled[shared.get(n, n)] for n in sublayers} if hessian else {}
    return outs, sq_mean, sample, hess


def run_sequential(
    lm: LoadedModel,
    calib: torch.Tensor,
    batch: int,
    visit: Visitor,
    desc: str = "blocks",
    hessian: bool = False,
) -> torch.Tensor:
    """Walk the blocks in order; `visit` sees each block's statistics before its outputs feed
    the next block, so a visitor that prunes makes later blocks see pruned predecessors.
    Returns the last block's outputs for all windows."""
    chunks = capture_inputs(lm, calib, batch)
    blocks = decoder_blocks(lm.model, lm.family)
    for index, block in enumerate(tqdm(blocks, desc=desc, unit="block")):
        subs = block_sublayers(block, lm.family)
        weights = sublayer_weights(block, lm.family)
        outs, sq_mean, sample, hess = forward_with_stats(block, subs, chunks, hessian)
        inp = BlockInputs(index, block, subs, sq_mean, sample, hess, weights, chunks, outs)
        if visit(inp):
            outs = forward_block(block, chunks)
        chunks = [Chunk(o, c.kwargs) for o, c in zip(outs, chunks, strict=True)]
    # Output of the last block (before the final norm), for checks against the model's forward;
    # left on the last block's device.
    return torch.cat([c.hidden for c in chunks])

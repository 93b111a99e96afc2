"""Block reconstruction after N:M pruning (issue 18, lever 4).

After a decoder block is pruned (Wanda, magnitude or SparseGPT), a few Adam steps on its kept
linear-sublayer weights fit the pruned block's outputs to the dense block's, with every keep-mask
fixed: the optimised tensor is `master * mask`, so a pruned weight gets no gradient, and the
result is multiplied by the mask again when it is written back. Pruned positions stay exactly
zero, so the N:M pattern (in the original and, with --permute, in the permuted order) is the one
the pruner chose.

Inputs and targets. The inputs are the block's calibration inputs in the sequential pass: the
activations of the already-pruned (and reconstructed) predecessors, as SparseGPT's own pass
uses. The targets are the *dense* block's outputs on those same inputs: exactly what the pass
has computed anyway before the block is pruned (flow.calibrate.BlockInputs.outputs), so they
cost nothing and need no second, dense activation stream. This is the local objective of
SparseGPT itself (||W X - W' X||, X the pruned model's inputs) and of block-wise methods such as
BESA; the alternative, dense outputs on the *dense* model's inputs, asks each block to also undo
its predecessors' error, needs the dense activations kept beside the pruned ones (twice the
memory), and with 32 windows invites over-fitting of that accumulated error.

Precision. The optimised weights are float32 master copies on the block's execution device,
whatever the model's dtype: a bfloat16 model runs its forward in bfloat16 with the master cast
down (the gradient flows through the cast), the loss is float32. Norms, biases and embeddings are
not touched.

Safety. The block's output error on all calibration windows is measured before and after; when
the steps did not lower it, the pruner's weights are kept (logged as kept "pruner").
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.func import functional_call

from flow.calibrate import BlockInputs, Chunk, _to, forward_block
from flow.choices import RECON_BATCH, RECON_LR, RECON_STEPS, RECONSTRUCT_MODES
from flow.models import execution_device


@dataclass(frozen=True)
class ReconParams:
    """--reconstruct, --recon-steps, --recon-lr, --recon-batch (windows per step)."""

    mode: str = "none"
    steps: int = RECON_STEPS
    lr: float = RECON_LR
    batch: int = RECON_BATCH
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in RECONSTRUCT_MODES:
            raise ValueError(
                f"--reconstruct {self.mode}: use one of {', '.join(RECONSTRUCT_MODES)}"
            )
        if self.steps < 1:
            raise ValueError(f"--recon-steps {self.steps}: must be >= 1")
        if not (self.lr > 0 and self.lr < float("inf")):
            raise ValueError(f"--recon-lr {self.lr}: must be a finite number > 0")
        if self.batch < 1:
            raise ValueError(f"--recon-batch {self.batch}: must be >= 1")

    @property
    def active(self) -> bool:
        return self.mode != "none"

    def as_dict(self) -> dict:
        return asdict(self)


def recon_params(a: object) -> ReconParams | None:
    """The ReconParams of a checked command line (None: --reconstruct none)."""
    mode = getattr(a, "reconstruct", "none")
    if mode == "none":
        return None
    steps, lr, batch = (getattr(a, k, None) for k in ("recon_steps", "recon_lr", "recon_batch"))
    return ReconParams(
        mode,
        RECON_STEPS if steps is None else steps,
        RECON_LR if lr is None else lr,
        RECON_BATCH if batch is None else batch,
    )


def _take(obj: object, lo: int, hi: int, windows: int) -> object:
    """Windows lo:hi of a block keyword argument: tensors whose first dimension is the chunk's
    window count are sliced (hidden states, per-window masks, rotary tables of shape
    (windows, tokens, dim)); broadcast ones (first dimension 1) and 1-D ones pass as they are."""
    if isinstance(obj, torch.Tensor):
        if windows > 1 and obj.ndim >= 2 and obj.shape[0] == windows:
            return obj[lo:hi]
        return obj
    if isinstance(obj, tuple | list):
        return type(obj)(_take(v, lo, hi, windows) for v in obj)
    if isinstance(obj, dict):
        return {k: _take(v, lo, hi, windows) for k, v in obj.items()}
    return obj


def _output(out: object) -> torch.Tensor:
    return out[0] if isinstance(out, tuple) else out


@torch.no_grad()
def output_mse(block: nn.Module, inputs: list[Chunk], targets: list[torch.Tensor]) -> float:
    """Mean squared error of the block's outputs against `targets` over every window (float64
    sum of float32 squares)."""
    total = torch.zeros((), dtype=torch.float64, device=execution_device(block))
    count = 0
    for out, target in zip(forward_block(block, inputs), targets, strict=True):
        diff = out.float() - target.to(out.device).float()
        total += diff.square().sum().double()
        count += diff.numel()
    return float(total) / max(count, 1)


def reconstruct_block(
    inp: BlockInputs, masks: dict[str, torch.Tensor], params: ReconParams
) -> dict[str, object]:
    """Fit block `inp.block`'s kept weights (keep-masks `masks`, by sublayer) to the dense
    outputs `inp.outputs` on `inp.inputs`; the weights are updated in place. Returns the log
    entry: block, seconds, steps, mse before and after, which weights were kept."""
    t0 = time.perf_counter()
    block, device = inp.block, execution_device(inp.block)
    if not inp.inputs or len(inp.outputs) != len(inp.inputs):
        raise ValueError("block reconstruction needs the block's calibration inputs and outputs")
    paths: dict[str, str] = {}
    for dotted, module in block.named_modules():
        for name, lin in inp.sublayers.items():
            if module is lin:
                paths[name] = f"{dotted}.weight"
    stored = {name: inp.weight(name) for name in inp.sublayers}
    for name, w in stored.items():
        if w is not inp.sublayers[name].weight or w.device.type == "meta":
            raise ValueError(
                f"--reconstruct block: the weight of {name} in block {inp.index} is offloaded "
                "(--device-map with host offload); reconstruction needs resident blocks "
                "(--reconstruct none prunes without it)"
            )
    before = output_mse(block, inp.inputs, inp.outputs)
    pruned = {name: w.detach().clone() for name, w in stored.items()}
    keep = {name: masks[name].to(device=device, dtype=torch.float32) for name in stored}
    master = {
        name: (w.detach().to(device=device, dtype=torch.float32) * keep[name]).requires_grad_()
        for name, w in stored.items()
    }
    # Mini-batches: every chunk cut into pieces of params.batch windows, visited in a shuffled
    # order (a fresh permutation per pass over the windows; seed-fixed).
    pieces = [
        (c, lo, min(lo + params.batch, chunk.hidden.shape[0]))
        for c, chunk in enumerate(inp.inputs)
        for lo in range(0, chunk.hidden.shape[0], params.batch)
    ]
    gen = torch.Generator().manual_seed(params.seed + inp.index)
    order: list[int] = []
    frozen = [(p, p.requires_grad) for p in block.parameters()]
    for p, _ in frozen:
        p.requires_grad_(False)
    opt = torch.optim.Adam(list(master.values()), lr=params.lr)
    try:
        with torch.enable_grad():
            for _ in range(params.steps):
                if not order:
                    order = torch.randperm(len(pieces), generator=gen).tolist()
                c, lo, hi = pieces[order.pop()]
                chunk, windows = inp.inputs[c], inp.inputs[c].hidden.shape[0]
                hidden = chunk.hidden[lo:hi].to(device)
                kwargs = _to(_take(chunk.kwargs, lo, hi, windows), device)
                target = inp.outputs[c][lo:hi].to(device).float()
                weights = {
                    paths[name]: (master[name] * keep[name]).to(stored[name].dtype)
                    for name in master
                }
                out = _output(functional_call(block, weights, (hidden,), kwargs))
                loss = (out.float() - target).square().mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    finally:
        for p, flag in frozen:
            p.requires_grad_(flag)
    with torch.no_grad():
        for name, w in stored.items():
            w.copy_((master[name] * keep[name]).to(device=w.device, dtype=w.dtype))
    after = output_mse(block, inp.inputs, inp.outputs)
    kept = "reconstructed"
    if not after < before:  # never worse than the pruner on the calibration windows
        with torch.no_grad():
            for name, w in stored.items():
                w.copy_(pruned[name])
        kept = "pruner"
    return {
        "block": inp.index,
        "seconds": time.perf_counter() - t0,
        "steps": params.steps,
        "mse_before": before,
        "mse_after": after,
        "kept": kept,
    }

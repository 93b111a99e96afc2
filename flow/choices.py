"""The names and small formats of `python -m flow`'s options, with the standard library only, so
the command line is parsed and checked before torch is imported (flow.options), and the Makefile
checks REPLAY_METHOD before the bootstrap (scripts/check_make_vars.py).

Every module that acts on one of these names imports it from here.
"""

from __future__ import annotations

import re
from pathlib import Path

# Selection methods of select / prune / export (flow.methods.select_method).
METHODS = ("flow", "owl", "uniform", "measured")
# Pruners; "sparsegpt" also updates the kept weights (OBS reconstruction on the calibration
# Hessian). Mask kinds: standard N:M, or pair-shared (legal for the core's shared select).
METRICS = ("wanda", "magnitude", "sparsegpt")
MASK_MODES = ("standard", "pair-shared")
# Issue 18 levers. Granularity of the measured-cost selection: one N:M per decoder block, or one
# per linear sublayer (q/k/v/o/gate/up/down each its own job on the core). Sublayer costs:
# measured (probe loss, each sublayer pruned alone) or split (the block's measured cost split
# by each sublayer's relative reconstruction error ||(W - W_c) X||^2 / ||W X||^2).
GRANULARITIES = ("block", "sublayer")
SUBLAYER_COSTS = ("measured", "split")
# Input-channel permutation before N:M grouping (flow.permute).
PERMUTE_MODES = ("none", "balanced", "lsa")
# Issue 18 lever 4 (flow.reconstruct): after a block is pruned, a few Adam steps on its kept
# weights (masks fixed) fit its outputs to the dense block's on the same inputs. Defaults of
# --recon-steps, --recon-lr and --recon-batch (windows per step) when --reconstruct block.
RECONSTRUCT_MODES = ("none", "block")
RECON_STEPS = 50
RECON_LR = 1e-4
RECON_BATCH = 2
# Measured-cost tables after reconstruction: none (costs are the pruner's one-shot damage) or
# block (the operating point and every probed block reconstructed as the final prune will).
COST_RECON_MODES = ("none", "block")
# Plan check (flow.plan_check): none, or uniform (a mixed plan is kept only when it beats the
# uniform pattern at the operating point on calibration windows its costs never probed).
PLAN_CHECKS = ("none", "uniform")
# Weights' dtype; auto: float32 on the CPU, bfloat16 on a GPU (flow.models.resolve_dtype).
DTYPE_NAMES = ("auto", "float32", "bfloat16", "float16")
# accelerate's placement strategies for --device-map.
DEVICE_MAPS = ("auto", "balanced", "balanced_low_0", "sequential")
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
# How many input vectors per sublayer are kept from the first window (for the export).
KEEP_TOKENS = 64
# Relative to the repository root; the corpus stays outside the repo (licence, size).
DEFAULT_TEXT = Path(__file__).resolve().parent.parent.parent / (
    "shared/data/wikitext-2-raw-v1/wiki.test.raw"
)
# A device's memory cap as accelerate reads it: a number and KB, KiB, MB, MiB, GB or GiB.
_AMOUNT = re.compile(r"\d+(\.\d+)?[KMG]i?B", re.IGNORECASE)


def parse_max_memory(text: str | None) -> dict[int | str, str] | None:
    """'0=20GiB,cpu=60GiB' -> {0: '20GiB', 'cpu': '60GiB'} (accelerate's max_memory)."""
    if not text:
        return None
    out: dict[int | str, str] = {}
    for item in text.split(","):
        key, sep, amount = (part.strip() for part in item.strip().partition("="))
        if not sep or not (key.isdigit() or key == "cpu") or not _AMOUNT.fullmatch(amount):
            raise ValueError(
                f"bad --max-memory item {item.strip()!r}: expected DEVICE=AMOUNT with DEVICE a "
                "GPU index or cpu and AMOUNT like 20GiB, e.g. 0=20GiB,cpu=60GiB"
            )
        out[int(key) if key.isdigit() else key] = amount
    return out

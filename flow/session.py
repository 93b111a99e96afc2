"""What every `python -m flow` command does around its own work: load the model and windows
once the options have been checked, print a selection, write the JSON log."""

from __future__ import annotations

import argparse
import json
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from flow.calibrate import KEEP_TOKENS
from flow.data import Windows, make_windows
from flow.export import code_version
from flow.models import (
    LoadedModel,
    default_model_path,
    load_model,
    load_tokenizer,
    parse_max_memory,
)
from flow.options import check_common, full_speed_mask
from flow.pipeline import Selection
from flow.select import validate_candidates
from golden.config import HwConfig

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Context:
    lm: LoadedModel
    windows: Windows
    hw: HwConfig
    t0: float


def check_options(a: argparse.Namespace) -> HwConfig:
    """All checks that need no model (options, candidates, files)."""
    hw = HwConfig.named(a.hw_config)
    check_common(a, hw.P)
    if getattr(a, "mask", None) == "auto":
        a.mask = full_speed_mask(hw)
    if a.candidates is not None:
        validate_candidates(tuple(a.candidates), hw.P)
    if getattr(a, "tokens", 1) < 1 or getattr(a, "tokens", 1) > min(KEEP_TOKENS, a.seqlen):
        raise ValueError(f"--tokens must be in 1..{min(KEEP_TOKENS, a.seqlen)}")
    if getattr(a, "max_cout", 1) < 0:
        raise ValueError("--max-cout must be >= 0 (0: every output channel)")
    return hw


def setup(a: argparse.Namespace, n_eval: int | None = None) -> Context:
    t0 = time.perf_counter()
    torch.set_num_threads(a.threads)
    hw = check_options(a)  # fail before the slow load
    # Texts are tokenised and their lengths checked before the (slow, large) model loads.
    tokenizer = load_tokenizer(a.model)
    n = a.eval_windows if n_eval is None else n_eval
    windows = make_windows(
        tokenizer, a.text, a.nsamples, a.seqlen, n, a.eval_start, a.calib_set, a.calib_text
    )
    print(f"loading model {a.model or default_model_path()} ...", flush=True)
    max_memory = parse_max_memory(a.max_memory)
    lm = load_model(a.model, a.device, a.device_map, a.dtype, max_memory, tokenizer)
    spec = windows.spec
    print(
        f"{lm.family} model ({weights_dtype(lm)}), {spec.total_tokens} tokens in "
        f"{spec.text_path}; calibration tokens {spec.calib_range} of {spec.calib_text_path} "
        f"(sha256 {spec.calib_text_sha256[:12]}), evaluation tokens {spec.eval_range}, "
        f"seqlen {spec.seqlen}",
        flush=True,
    )
    return Context(lm, windows, hw, t0)


def weights_dtype(lm: LoadedModel) -> str:
    return str(next(lm.model.parameters()).dtype).removeprefix("torch.")


def print_selection(sel: Selection) -> None:
    print(f"\n{sel.method}: per-layer choice")
    for r in sel.layers:
        extra = ""
        if "outlier_ratio_pct" in r and "locality" in r:
            extra = (
                f"  O={r['outlier_ratio_pct']:.3f}%  D={r['locality']:.3e}  "
                f"n*={r['n_target']:.2f}  m*={r['m_target']:.2f}"
            )
        elif "cost" in r:
            extra = f"  measured cost {r['cost']:+.4f}"
        print(f"  block {r['layer']:3d}: {r['n']}:{r['m']}{extra}")
    print(
        f"target sparsity {sel.target:.4f}; achieved {sel.achieved:.4f} "
        f"(layer mean {sel.achieved_layer_mean:.4f}, parameter-weighted "
        f"{sel.achieved_param_weighted:.4f}); {'exact' if sel.exact else 'CLOSEST ACHIEVABLE'}"
    )
    for s in sel.status:
        print(f"  solver: {s}")


def usage() -> dict[str, float]:
    return {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def write_log(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, default=str))
    print(f"log: {path}")


def base_log(ctx: Context, a: argparse.Namespace) -> dict:
    return {
        "model": ctx.lm.name,
        "family": ctx.lm.family,
        "model_identity": ctx.lm.identity,
        "dtype": weights_dtype(ctx.lm),
        "windows": ctx.windows.spec.as_dict(),
        "hw_config": ctx.hw.params(),
        "args": {k: str(v) for k, v in vars(a).items() if k != "func"},
        "code_version": code_version(),
    }

"""What every `python -m flow` command does around its own work: load the model and windows
once the options have been checked (flow.options, before torch), check the device and the
windows against the text (after torch and the tokenizer, before the model), print a selection,
write the JSON log."""

from __future__ import annotations

import argparse
import json
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from flow.choices import parse_max_memory
from flow.data import Windows, check_calib_sets, make_windows
from flow.export import code_version
from flow.models import (
    LoadedModel,
    default_model_path,
    load_model,
    load_tokenizer,
)
from flow.options import check_options
from flow.pipeline import Selection
from golden.config import HwConfig
from golden.files import write_atomic


@dataclass
class Context:
    lm: LoadedModel
    windows: Windows
    hw: HwConfig
    t0: float


def check_device(a: argparse.Namespace) -> None:
    """--device against this machine's torch (syntax was checked in flow.options)."""
    device = torch.device(a.device)
    if device.type == "cuda" or a.device_map is not None:
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if device.type == "cuda" and (device.index or 0) >= count:
            raise ValueError(
                f"--device {a.device}: this machine has {count} CUDA device(s) "
                f"(torch {torch.__version__}); use --device cpu"
                + (f" or cuda:0..{count - 1}" if count else "")
            )


def setup(
    a: argparse.Namespace, n_eval: int | None = None, calib_sets: tuple[int, ...] = ()
) -> Context:
    """Checks, tokenizer, windows (and `calib_sets`, every calibration set the command will
    use, checked against them), then the model."""
    t0 = time.perf_counter()
    torch.set_num_threads(a.threads)
    hw = check_options(a)  # the command line already ran it; the API's callers may not have
    check_device(a)
    # Texts are tokenised and their lengths checked before the (slow, large) model loads.
    tokenizer = load_tokenizer(a.model)
    n = a.eval_windows if n_eval is None else n_eval
    windows = make_windows(
        tokenizer, a.text, a.nsamples, a.seqlen, n, a.eval_start, a.calib_set, a.calib_text
    )
    check_calib_sets(windows.spec, a.nsamples, calib_sets)
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
        sub = f" {r['sublayer']}" if "sublayer" in r else ""
        print(f"  block {r['layer']:3d}{sub}: {r['n']}:{r['m']}{extra}")
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
    write_atomic(path, json.dumps(payload, indent=1, default=str))
    print(f"log: {path}")


def base_log(ctx: Context, a: argparse.Namespace) -> dict:
    return {
        "model": ctx.lm.name,
        "family": ctx.lm.family,
        "model_identity": ctx.lm.identity,
        "dtype": weights_dtype(ctx.lm),
        "windows": ctx.windows.spec.as_dict(),
        "hw_config": ctx.hw.params(),
        "args": {k: str(v) for k, v in vars(a).items() if k not in ("func", "check")},
        "code_version": code_version(),
    }

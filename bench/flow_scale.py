"""FLOW at scale: statistics + selection + Wanda prune of a random-weight LLaMA-layout model of
a named size, built from its config alone (nothing is downloaded; random weights measure speed
and memory, never accuracy).

    python -m bench flow_scale --size 7b --device cuda --nsamples 128 --seqlen 2048

Prints wall time per step, s/block, peak device and host memory, the host synchronisations
during the passes (CUDA only) and the ratio to the compute floor: three forward passes over
the blocks (statistics; prune: statistics on the pruned predecessors, then outputs of the
pruned block) at the matrix rate measured on the device at --floor-dtype. Writes JSON to
build/bench/flow_scale-<size>.json (or --json). `make bench` runs the tiny size on the CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch

from flow.models import LoadedModel
from flow.pipeline import collect_stats, prune_model, select_flow
from flow.prune import PrunePlan
from flow.select import FlowParams
from golden.cli import OneLineParser
from golden.config import HwConfig
from golden.files import write_atomic

_REPO = Path(__file__).resolve().parent.parent

# LLaMA-layout shapes: tiny (tests), SmolLM2-135M, TinyLlama-1.1B, LLaMA-2-7B and -13B.
SIZES: dict[str, dict[str, int | float | bool]] = {
    "tiny": dict(hidden_size=64, intermediate_size=172, num_hidden_layers=4,
                 num_attention_heads=4, num_key_value_heads=2, vocab_size=512),
    "smollm2-135m": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                         num_attention_heads=9, num_key_value_heads=3, vocab_size=49152,
                         tie_word_embeddings=True, rope_theta=100000.0),
    "1b": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
               num_attention_heads=32, num_key_value_heads=4, vocab_size=32000),
    "7b": dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
               num_attention_heads=32, num_key_value_heads=32, vocab_size=32000),
    "13b": dict(hidden_size=5120, intermediate_size=13824, num_hidden_layers=40,
                num_attention_heads=40, num_key_value_heads=40, vocab_size=32000),
}  # fmt: skip
FORWARD_PASSES = 3
DTYPE_NAMES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def build_model(
    size: str, blocks: int | None, seqlen: int, dtype: torch.dtype, device: str, seed: int
) -> LoadedModel:
    """Random-weight LlamaForCausalLM of `size`, initialised directly on `device` in `dtype`."""
    from transformers import LlamaConfig, LlamaForCausalLM

    shape = dict(SIZES[size])
    if blocks is not None:
        if not 1 <= blocks <= int(shape["num_hidden_layers"]):
            raise ValueError(f"--blocks must be in 1..{shape['num_hidden_layers']} for {size}")
        shape["num_hidden_layers"] = blocks
    config = LlamaConfig(**shape, max_position_embeddings=max(seqlen, 2048), use_cache=False)
    torch.manual_seed(seed)
    with torch.device(device):
        model = LlamaForCausalLM._from_config(config, dtype=dtype)
    model.eval()
    identity: dict[str, str | int] = {"random_llama": size, "seed": seed}
    return LoadedModel(model, None, "llama", f"random-{size}", identity)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_rate(device: torch.device, dtype: torch.dtype) -> float:
    """Measured dense matrix-product rate (FLOP/s) on random data, median of repeats."""
    n = 8192 if device.type == "cuda" else 1024
    gen = torch.Generator(device=device).manual_seed(1)
    a = torch.randn(n, n, device=device, dtype=dtype, generator=gen)
    b = torch.randn(n, n, device=device, dtype=dtype, generator=gen)
    times = []
    for i in range(13):
        _sync(device)
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        if i >= 3:  # warm-up: library handles, kernel selection
            times.append(time.perf_counter() - t0)
    times.sort()
    return 2.0 * n**3 / times[len(times) // 2]


def forward_flops(lm: LoadedModel, nsamples: int, seqlen: int) -> float:
    """FLOPs of one forward pass of every block over nsamples x seqlen tokens: the linear
    sublayers (2 per weight per token) plus causal attention (QK^T and PV, half the square)."""
    cfg = lm.model.config
    blocks = lm.model.model.layers
    linear = sum(
        m.weight.numel() for b in blocks for m in b.modules() if isinstance(m, torch.nn.Linear)
    )
    tokens = nsamples * seqlen
    attention = len(blocks) * nsamples * 2.0 * seqlen * seqlen * cfg.hidden_size
    return 2.0 * linear * tokens + attention


@contextlib.contextmanager
def count_syncs(device: torch.device) -> Iterator[list[int]]:
    """Counts the operations that made the host wait for the GPU (torch's sync debug mode)."""
    found = [0]
    if device.type != "cuda":
        yield found
        return
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            yield found
        finally:
            torch.cuda.set_sync_debug_mode("default")
    found[0] = sum("synchroniz" in str(w.message) for w in seen)


def run(a: argparse.Namespace) -> dict:
    device = torch.device(a.device)
    dtype = DTYPE_NAMES[a.dtype] if a.dtype != "auto" else (
        torch.float32 if device.type == "cpu" else torch.bfloat16
    )  # fmt: skip
    floor_dtype = DTYPE_NAMES[a.floor_dtype] if a.floor_dtype else dtype
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    import transformers  # noqa: F401  (its import time is not the model's build time)

    t0 = time.perf_counter()
    lm = build_model(a.size, a.blocks, a.seqlen, dtype, a.device, a.seed)
    _sync(device)
    build_s = time.perf_counter() - t0
    rate = matmul_rate(device, floor_dtype)
    gen = torch.Generator().manual_seed(a.seed)
    vocab = lm.model.config.vocab_size
    calib = torch.randint(0, vocab, (a.nsamples, a.seqlen), generator=gen)
    hw = HwConfig.named("default")
    profiler = None
    if a.profile:
        from torch.profiler import ProfilerActivity, profile

        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
        profiler = profile(activities=acts)
        profiler.__enter__()
    with count_syncs(device) as syncs:
        t1 = time.perf_counter()
        stats = collect_stats(lm, calib, a.batch, [5.0])
        _sync(device)
        t2 = time.perf_counter()
        sel = select_flow(stats, FlowParams(), hw.P)
        t3 = time.perf_counter()
        result = prune_model(lm, calib, a.batch, PrunePlan(sel.patterns))
        _sync(device)
        t4 = time.perf_counter()
    if profiler is not None:
        profiler.__exit__(None, None, None)
        key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
        print(profiler.key_averages().table(sort_by=key, row_limit=18))
        print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
    blocks = len(lm.model.model.layers)
    wall = t4 - t1
    floor = FORWARD_PASSES * forward_flops(lm, a.nsamples, a.seqlen) / rate
    peak_dev = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return {
        "size": a.size,
        "blocks": blocks,
        "params": sum(p.numel() for p in lm.model.parameters()),
        "dtype": str(dtype).removeprefix("torch."),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "nsamples": a.nsamples,
        "seqlen": a.seqlen,
        "batch": a.batch,
        "seed": a.seed,
        "build_s": round(build_s, 2),
        "stats_s": round(t2 - t1, 3),
        "select_s": round(t3 - t2, 3),
        "prune_s": round(t4 - t3, 3),
        "wall_s": round(wall, 3),
        "s_per_block": round(wall / blocks, 3),
        "peak_device_gib": None if peak_dev is None else round(peak_dev / 2**30, 2),
        "peak_host_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "host_syncs": syncs[0] if device.type == "cuda" else None,
        "floor_dtype": str(floor_dtype).removeprefix("torch."),
        "matmul_tflops": round(rate / 1e12, 1),
        "floor_s": round(floor, 4),
        "floor_ratio": round(wall / floor, 2),
        "patterns": [f"{n}:{m}" for n, m in sel.patterns],
        "zero_fraction": round(result.zero_fraction, 4),
    }


COLUMNS = ("size", "blocks", "dtype", "nsamples", "seqlen", "build_s", "stats_s", "select_s",
           "prune_s", "wall_s", "s_per_block", "peak_device_gib", "peak_host_gib", "host_syncs",
           "floor_s", "floor_ratio")  # fmt: skip


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m bench flow_scale", description=__doc__)
    p.add_argument("--size", choices=tuple(SIZES), default="tiny")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", choices=("auto", *DTYPE_NAMES), default="auto")
    p.add_argument("--floor-dtype", choices=tuple(DTYPE_NAMES), default=None,
                   help="dtype of the matrix rate the floor uses (default: --dtype's)")  # fmt: skip
    p.add_argument("--nsamples", type=int, default=None, help="(tiny: 8, others: 128)")
    p.add_argument("--seqlen", type=int, default=None, help="(tiny: 64, others: 2048)")
    p.add_argument("--batch", type=int, default=8, help="windows per forward (8)")
    p.add_argument("--blocks", type=int, default=None, help="keep only this many blocks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (2)")
    p.add_argument("--profile", action="store_true", help="torch profiler tables of the passes")
    p.add_argument("--json", type=Path, default=None)
    return p


def main(argv: list[str] | None = None) -> dict:
    a = parser().parse_args(argv or [])
    small = a.size == "tiny"
    a.nsamples = a.nsamples or (8 if small else 128)
    a.seqlen = a.seqlen or (64 if small else 2048)
    for name, low in (("nsamples", 1), ("seqlen", 2), ("batch", 1), ("threads", 1), ("seed", 0)):
        if getattr(a, name) < low:
            parser().error(f"--{name} {getattr(a, name)}: must be >= {low}")
    if a.blocks is not None and a.blocks < 1:
        parser().error(f"--blocks {a.blocks}: must be >= 1")
    torch.set_num_threads(a.threads)
    row = run(a)
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    print("| " + " | ".join(str(row[c]) for c in COLUMNS) + " |")
    path = a.json or _REPO / f"build/bench/flow_scale-{a.size}.json"
    write_atomic(path, json.dumps(row, indent=1))
    print(f"(written to {path})")
    return row


if __name__ == "__main__":
    main()

"""Golden model speed: reference matmul vs structured datapath model vs plain NumPy matmul.

One 1536x576 int8 layer (Cout=1536, K=576), 64 tokens, default config, 2:4. Times are the best
of a few repeats in one run (time.perf_counter); the ratios are what to compare across machines.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from golden.config import HwConfig
from golden.datapath import layer_forward
from golden.mapper import map_layer
from golden.masks import nm_mask
from golden.reference import reference_matmul

COUT, K, TOKENS, N, M = 1536, 576, 64, 2, 4


def best_of(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


SEED = 0  # weights, mask and activations


def main() -> None:
    cfg = HwConfig.named("default")
    rng = np.random.default_rng(SEED)
    mask = nm_mask(rng.random((COUT, K)), N, M)
    w = np.where(mask, rng.integers(-128, 128, (COUT, K)), 0).astype(np.int8)
    x = rng.integers(-128, 128, (TOKENS, K), dtype=np.int8)
    mapping = map_layer(w, N, M, cfg)
    w64, x64 = w.astype(np.int64), x.astype(np.int64)
    wf, xf = w.astype(np.float64), x.astype(np.float64)
    y = reference_matmul(w, x)
    if not (np.array_equal(layer_forward(mapping, x, cfg), y) and np.array_equal(x64 @ w64.T, y)):
        raise SystemExit("golden models disagree: benchmark numbers would be meaningless")
    timings = {
        "numpy float64 x @ W.T": best_of(lambda: xf @ wf.T, 20),
        "numpy int64 x @ W.T": best_of(lambda: x64 @ w64.T, 5),
        "golden.reference_matmul": best_of(lambda: reference_matmul(w, x), 20),
        "golden.map_layer (pair-shared)": best_of(lambda: map_layer(w, N, M, cfg), 3),
        "golden.layer_forward (structured)": best_of(lambda: layer_forward(mapping, x, cfg), 3),
    }
    base = timings["golden.reference_matmul"]
    print(
        f"Layer {COUT}x{K} int8, {TOKENS} tokens, {N}:{M} per-channel mask, config {cfg}, "
        f"seed {SEED}"
    )
    print(
        f"({len(mapping.tiles)} jobs, passes per job {max(mapping.passes)}, "
        f"effective speed-up {mapping.effective_speedup:.3f})\n"
    )
    print("| what | best time (ms) | / reference_matmul |")
    print("|---|---:|---:|")
    for name, t in timings.items():
        print(f"| {name} | {t * 1e3:.2f} | {t / base:.2f} |")


if __name__ == "__main__":
    main()

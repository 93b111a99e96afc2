"""Effective speed-up per (N, M): random per-channel masks vs pair-shared masks vs per-column.

A random 1536x576 layer at P=4, R=16, C=16 and C=32. Speed-up = K_padded / (positions * N_hw)
(ARCHITECTURE §2), so M/N is the best any mapping can do and 1.0 is a dense macro.
- per-channel mask: golden.masks.nm_mask on a random metric, mapped pair-shared (real HW);
- pair-shared mask: golden.masks.pair_shared_mask on the same metric, mapped pair-shared;
- per-column: the per-channel mask in the idealised one-select-per-cell mode.
"""

from __future__ import annotations

import numpy as np

from golden.config import HwConfig, supported_patterns
from golden.mapper import map_layer
from golden.masks import nm_mask, pair_shared_mask

COUT, K, P, R = 1536, 576, 4, 16


def rows() -> list[str]:
    rng = np.random.default_rng(0)
    metric = rng.random((COUT, K))
    values = rng.integers(1, 128, (COUT, K)).astype(np.int8)
    out = []
    patterns = [(n, m) for n, m in supported_patterns(P) if n < m] + [(8, 8)]
    for n, m in patterns:
        for c in (16, 32):
            cfg = HwConfig(P=P, R=R, C=c)
            per_channel = np.where(nm_mask(metric, n, m), values, 0).astype(np.int8)
            shared = np.where(pair_shared_mask(metric, n, m, c), values, 0).astype(np.int8)
            sp = [
                map_layer(per_channel, n, m, cfg).effective_speedup,
                map_layer(shared, n, m, cfg).effective_speedup,
                map_layer(per_channel, n, m, cfg, mode="per-column").effective_speedup,
            ]
            cells = " | ".join(f"{v:.3f}" for v in sp)
            out.append(f"| {n}:{m} | {m / n:.3f} | {c} | {cells} |")
    return out


def main() -> None:
    print(f"Effective speed-up over a dense macro, random {COUT}x{K} layer, P={P}, R={R}\n")
    print("| N:M | M/N | C | per-channel mask | pair-shared mask | per-column (idealised) |")
    print("|---|---:|---:|---:|---:|---:|")
    for line in rows():
        print(line)


if __name__ == "__main__":
    main()

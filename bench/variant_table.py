"""Speed-up and latency per core variant (select-sharing width G, activation rows per beat RPB).

A random Cout x K layer on a named base configuration (default `paper`), for every sparse
pattern: effective speed-up (ARCHITECTURE §2) of a random per-channel N:M mask and of a mask
shared over G columns (golden.masks.pair_shared_mask, c_tile = G, what FLOW exports for that
G), each mapped on the G variant; and the layer's cycles (golden.cycle_model.layer_cycles) for
`--tokens` tokens at RPB = 1 and RPB = R. Every number comes from the golden mapper and cycle
model, the ones the RTL's CYCLES matches at zero tolerance.

    python -m bench.variant_table [--config paper] [--cout 576] [--k 1536] [--tokens 16]
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from golden.cli import OneLineParser, checked_configs
from golden.config import HwConfig, supported_patterns
from golden.cycle_model import layer_cycles
from golden.mapper import map_layer
from golden.masks import nm_mask, pair_shared_mask


def widths(cfg: HwConfig) -> list[int]:
    """G = C, C/2, ... down to 1 where they divide C (C first: today's core)."""
    return sorted(
        {g for g in (cfg.C, 16, 8, 4, 2, 1) if g <= cfg.C and cfg.C % g == 0}, reverse=True
    )


def rows(base: HwConfig, cout: int, k: int, tokens: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    metric = rng.random((cout, k))
    values = rng.integers(1, 128, (cout, k)).astype(np.int8)
    out = []
    for n, m in [(n, m) for n, m in supported_patterns(base.P) if n < m and m % 2 == 0]:
        per_channel = np.where(nm_mask(metric, n, m), values, 0).astype(np.int8)
        for g in widths(base):
            cfg = dataclasses.replace(base, G=g)
            shared = np.where(pair_shared_mask(metric, n, m, g), values, 0).astype(np.int8)
            pc, sh = map_layer(per_channel, n, m, cfg), map_layer(shared, n, m, cfg)
            cyc = [
                layer_cycles(mp, tokens, dataclasses.replace(cfg, RPB=rpb)).total
                for mp in (pc, sh)
                for rpb in (1, base.R)
            ]
            out.append(
                f"| {n}:{m} | {g} | {pc.effective_speedup:.3f} | {sh.effective_speedup:.3f} | "
                + " | ".join(f"{c:,}" for c in cyc)
                + " |"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(
        prog="python -m bench.variant_table", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--config", default="paper", help="named base configuration")
    parser.add_argument("--cout", type=int, default=576)
    parser.add_argument("--k", type=int, default=1536)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args(argv)
    checked_configs([a.config], parser.prog, "--config")
    for name in ("cout", "k", "tokens"):
        if getattr(a, name) < 1:
            parser.error(f"--{name} {getattr(a, name)}: must be >= 1")
    base = dataclasses.replace(HwConfig.named(a.config), G=None, RPB=1)
    print(
        f"Random {a.cout}x{a.k} layer on {a.config} (P={base.P}, R={base.R}, C={base.C}), "
        f"{a.tokens} tokens, seed {a.seed}\n"
    )
    r = base.R
    print(
        "| N:M | G | speed-up, per-channel mask | speed-up, G-shared mask | "
        f"cycles per-channel RPB=1 | per-channel RPB={r} | G-shared RPB=1 | G-shared RPB={r} |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for line in rows(base, a.cout, a.k, a.tokens, a.seed):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

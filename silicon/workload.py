"""The energy workload: a small committed extract of real jobs from the replay stimulus.

``python -m silicon.workload [--source build/stimulus-paper_g1_rpb32/stimulus.npz] [--out F]``
keeps, of a few blocks of the recommended model (every sublayer: q/k/v/o/gate/up/down), the first
`CHANNELS` output channels and the first `TOKENS` tokens: the real int8 weights, N:M masks and
int8 activations, unchanged (a slice of rows keeps a row-wise N:M mask valid). It writes
`docs/data/energy_workload.npz` (format flexcim-stimulus v1, golden.stimulus), whose
``source`` records the provenance: the source file's sha256, its model and its own source
block, the layer names kept and the plan. `make energy` reads the extract on a clean clone,
where the 10-minute FLOW export has not run; ENERGY_WORKLOAD=model uses the whole
stimulus instead when it is present. The fixed-pattern cores' own models (OWN_WORKLOADS) are
extracts of `flow export --method uniform --pattern 1:2|2:4 --metric sparsegpt` exports made
with the replay's other options (docs/ENERGY.md has the commands).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from golden.stimulus import Stimulus, load_stimulus, save_stimulus
from tb.common.runner import ROOT
from tb.replay import DEFAULT_STIMULUS, file_digest, shown

WORKLOAD = ROOT / "docs" / "data" / "energy_workload.npz"
# The models a fixed-pattern core allows (issue 21 item 5): the same SmolLM2, calibration set,
# pruner (SparseGPT) and 50 % sparsity as the recommended model, pruned to the one pattern the
# core serves (`flow export --method uniform --pattern N:M`, provenance inside). Same blocks,
# sublayers, channels and tokens as WORKLOAD.
OWN_WORKLOADS = {
    (n, m): ROOT / "docs" / "data" / f"energy_workload_uniform{n}{m}.npz"
    for n, m in ((1, 2), (2, 4))
}
BLOCKS = (0, 10, 20, 29)  # first, two middle and last block of SmolLM2-135M's 30
SUBLAYERS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
CHANNELS = 8  # output channels kept per sublayer: two column tiles of `small` (C = 4)
TOKENS = 8  # tokens kept: two jobs of MAX_TOK = 4 per tile


def extract(stim: Stimulus, source: Path, blocks=BLOCKS, channels=CHANNELS, tokens=TOKENS):
    names = {f"block{b}.{s}" for b in blocks for s in SUBLAYERS}
    kept = []
    for layer in stim.layers:
        if layer.name not in names:
            continue
        kept.append(
            replace(
                layer,
                weight=layer.weight[:channels].copy(),
                scale=layer.scale[:channels].copy(),
                mask=layer.mask[:channels].copy(),
                act=layer.act[:tokens].copy(),
            )
        )
    missing = names - {ly.name for ly in kept}
    if missing:
        raise ValueError(f"{shown(source)} lacks layers {sorted(missing)}")
    provenance = {
        "tool": "silicon.workload",
        "extract_of": shown(source),
        "extract_of_sha256": file_digest(source),
        "extract_of_source": stim.source,
        "plan": {
            "blocks": list(blocks),
            "sublayers": list(SUBLAYERS),
            "output_channels": f"first {channels} of each layer",
            "tokens": f"first {tokens} calibration tokens",
        },
        "layers": [ly.name for ly in kept],
    }
    return Stimulus(stim.model, provenance, kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m silicon.workload", description=__doc__)
    parser.add_argument("--source", type=Path, default=DEFAULT_STIMULUS)
    parser.add_argument("--out", type=Path, default=WORKLOAD)
    args = parser.parse_args(argv)
    if not args.source.is_file():
        print(f"no stimulus at {shown(args.source)}: run `make replay` first", file=sys.stderr)
        return 2
    stim = extract(load_stimulus(args.source), args.source)
    save_stimulus(args.out, stim)
    size = args.out.stat().st_size
    print(f"wrote {shown(args.out)}: {len(stim.layers)} layers, {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

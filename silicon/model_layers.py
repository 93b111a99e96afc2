"""The replay model's layers, as the paper-size energy composition needs them.

``python -m silicon.model_layers --stimulus build/stimulus-<core>/stimulus.npz`` reads a full
replay stimulus (flow export, every sublayer at full size) and writes
docs/data/energy_model_layers.json: per layer its name, n:m, Cout, K and tokens, and the passes
of every column tile at the geometries whose passes depend on the masks (FlexCiM at G > 1,
`--configs`, golden.mapper on the layer's own weight, as the replay maps it). The stimulus is
412 MB and takes minutes to export; the table is ~40 kB, so a clean clone composes the whole
model and the `paper` core (G = C) without it. Before writing, every tile's passes at G = 1
(`--check`) are compared with the shape's formula (silicon.layer_work.tile_passes), the rule the
composition uses for the G = 1 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from golden.cli import checked_configs
from golden.config import HwConfig
from golden.files import write_atomic
from golden.mapper import map_layer
from silicon.compose import CompositionError
from silicon.layer_work import LayerShape, mask_dependent, pass_geometry, tile_passes
from tb.common.runner import ROOT

PROG = "python -m silicon.model_layers"
TABLE = ROOT / "docs" / "data" / "energy_model_layers.json"
FORMAT, VERSION = "flexcim-model-layers", 1
DEFAULT_CONFIGS = ("paper",)
CHECK_CONFIG = "paper_g1"


def table_of(stim, stim_sha256: str, configs: list[str], check: str | None) -> dict:
    """The table of `stim` (a golden.stimulus.Stimulus); CompositionError when a G = 1 tile's
    mapped passes differ from the formula at `check`."""
    cfgs = {name: HwConfig.named(name) for name in configs}
    for name, cfg in cfgs.items():
        if not mask_dependent(cfg):
            raise CompositionError(f"{name}: its passes follow from the shape; list G > 1 cores")
    layers = []
    for ly in stim.layers:
        cout, k = ly.weight.shape
        row = {"name": ly.name, "n": ly.n, "m": ly.m, "cout": cout, "k": k}
        row["tokens"] = ly.act.shape[0]
        row["passes"] = {
            name: map_layer(ly.weight, ly.n, ly.m, cfg, perm=ly.perm).passes
            for name, cfg in cfgs.items()
        }
        if check is not None:
            cfg = HwConfig.named(check)
            mapped = map_layer(ly.weight, ly.n, ly.m, cfg, perm=ly.perm).passes
            formula = tile_passes(LayerShape(ly.name, ly.n, ly.m, cout, k, 1), cfg)
            if set(mapped) != {formula}:
                raise CompositionError(
                    f"{ly.name} at {check}: mapped passes {sorted(set(mapped))} != the shape's "
                    f"{formula}"
                )
        layers.append(row)
    src = stim.source
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": stim.model,
        "stimulus_sha256": stim_sha256,
        "stimulus_source": {
            k: src.get(k)
            for k in ("tool", "method", "patterns", "perplexity", "achieved_sparsity", "options")
        },
        "geometries": {name: list(pass_geometry(cfg)) for name, cfg in cfgs.items()},
        "checked_at": check,
        "layers": layers,
    }


def load_table(path: Path = TABLE) -> tuple[dict, list[LayerShape]]:
    """(the table's header, its layers in model order); SystemExit naming a missing or foreign
    file."""
    if not path.is_file():
        raise SystemExit(f"{PROG}: error: no model table {path} ({PROG} --stimulus ... writes it)")
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise SystemExit(f"{PROG}: error: {path} is not a {FORMAT} v{VERSION} table")
    geo = {name: tuple(g) for name, g in data["geometries"].items()}
    layers = [
        LayerShape(
            r["name"],
            r["n"],
            r["m"],
            r["cout"],
            r["k"],
            r["tokens"],
            {geo[name]: tuple(p) for name, p in r["passes"].items()},
        )
        for r in data["layers"]
    ]
    header = {k: v for k, v in data.items() if k != "layers"}
    return header, layers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--stimulus", type=Path, required=True, help="full replay stimulus")
    parser.add_argument("--configs", default=",".join(DEFAULT_CONFIGS), help="G > 1 cores")
    parser.add_argument("--check", default=CHECK_CONFIG, help="G = 1 core checked (none: skip)")
    parser.add_argument("--out", type=Path, default=TABLE)
    args = parser.parse_args(argv)
    configs = checked_configs(args.configs.replace(",", " ").split(), PROG)
    check = None if args.check == "none" else checked_configs([args.check], PROG)[0]
    from golden.stimulus import load_stimulus
    from tb.replay import file_digest

    t0 = time.perf_counter()
    stim = load_stimulus(args.stimulus)
    try:
        table = table_of(stim, file_digest(args.stimulus), configs, check)
    except CompositionError as exc:
        raise SystemExit(f"{PROG}: error: {exc}") from None
    write_atomic(args.out, json.dumps(table, indent=None, separators=(",", ":")) + "\n")
    print(
        f"{PROG}: {len(table['layers'])} layers, passes at {', '.join(configs)} -> {args.out} "
        f"({time.perf_counter() - t0:.0f} s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Full-model replay: every layer of a stimulus file through the RTL on the fast path.

`make replay` (or ``python -m tb.replay``) replays every layer of a FLOW export (default
build/stimulus-<config>/stimulus.npz, made by `make replay` itself) in full: every column tile,
every token, on one RTL configuration (default `paper_g1_rpb32`, the recommended core) under
Verilator. Each job's outputs are compared bit-exact
with golden and its CYCLES with golden.cycle_model (tb.common.fast.replay_layer). Layers are
split over WORKERS simulator processes sharing one build; each finished layer is appended to
``<out>/results-<file hash>.jsonl``, so an interrupted run resumes where it stopped. The
per-layer table and the whole-model summary go to ``<out>/replay.md`` and ``<out>/replay.json``,
with the model that ran (selection, pruner, masks, calibration set, perplexity) and what the
flexible core buys over dense and fixed-pattern DCiM of the same geometry (tb.replay_compare:
RTL cycles and perplexity, a table and ``<out>/compare.png``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

from golden.cli import OneLineParser, refuse
from golden.config import ConfigError, HwConfig, check_config_names, supported_patterns
from golden.files import write_atomic
from golden.stimulus import (
    Stimulus,
    StimulusError,
    load_stimulus,
    read_header,
    save_stimulus,
)
from tb import replay_compare as rc
from tb.common.runner import ROOT
from tb.fast.run import run_fast

DEFAULT_CONFIG = "paper_g1_rpb32"  # docs/DESIGN_SPACE.md: the core the project recommends
# The FLOW study whose dense and uniform perplexities the comparison quotes (same windows only).
STUDY = ROOT / "docs" / "results" / "tradeoff"


def default_stimulus(config: str) -> Path:
    """Where `make replay` exports the model for `config`: the Makefile's export writes to
    build/stimulus-$(REPLAY_CORE) (--out-dir); change the two together."""
    return ROOT / "build" / f"stimulus-{config}" / "stimulus.npz"


def shown(path: Path) -> str:
    """A path as reports show it: relative to the repository when inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def default_out(config: str) -> Path:
    return ROOT / "build" / "replay" / config


DEFAULT_STIMULUS = default_stimulus(DEFAULT_CONFIG)
DEFAULT_OUT = default_out(DEFAULT_CONFIG)


class ReplayError(RuntimeError):
    """The replay cannot run as asked (missing file, unsupported layer); the message says why."""


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_supported(stim: Stimulus, cfg: HwConfig, config: str) -> None:
    """Every layer's pattern must run on `config`: a replay never skips a layer silently."""
    supported = set(supported_patterns(cfg.P, max_m=max(16, 2 * cfg.P)))
    bad = [f"{ly.name} ({ly.n}:{ly.m})" for ly in stim.layers if (ly.n, ly.m) not in supported]
    if bad:
        raise ReplayError(
            f"{len(bad)} layer(s) use patterns config {config} (P={cfg.P}) cannot run: "
            + ", ".join(bad[:5])
            + (" ..." if len(bad) > 5 else "")
        )


def read_results(path: Path) -> dict[int, dict]:
    """Finished layers of earlier runs, by layer index (a torn last line is ignored)."""
    done: dict[int, dict] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            done[int(record["index"])] = record
    return done


def split_work(costs: dict[int, int], workers: int) -> list[list[int]]:
    """Layer indices in `workers` groups of similar total cost (largest first, greedy)."""
    groups: list[list[int]] = [[] for _ in range(max(1, workers))]
    loads = [0] * len(groups)
    for index in sorted(costs, key=lambda i: -costs[i]):
        g = loads.index(min(loads))
        groups[g].append(index)
        loads[g] += costs[index]
    return [sorted(group) for group in groups if group]


def layer_table(records: list[dict]) -> str:
    """Markdown: one row per layer and a whole-model total."""
    lines = [
        "| # | layer | N:M | Cout x K | tokens | jobs | RTL cycles | model cycles | diff | "
        "bad jobs | effective speed-up |",
        "|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in records:
        bad = r["value_mismatches"] + r["cycle_mismatches"]
        lines.append(
            f"| {r['index']} | {r['layer']} | {r['n']}:{r['m']} | {r['cout']}x{r['k']} | "
            f"{r['tokens']} | {r['jobs']} | {r['rtl_cycles']:,} | {r['model_cycles']:,} | "
            f"{r['rtl_cycles'] - r['model_cycles']} | {bad} | {r['effective_speedup']:.3f} |"
        )
    return "\n".join(lines)


def summary(records: list[dict], wall_s: float, stim_path: Path, config: str) -> dict:
    rtl = sum(r["rtl_cycles"] for r in records)
    return {
        "stimulus": shown(stim_path),
        "stimulus_sha256": file_digest(stim_path),  # ties the figures to one export
        "config": config,
        "layers": len(records),
        "jobs": sum(r["jobs"] for r in records),
        "rtl_cycles": rtl,
        "model_cycles": sum(r["model_cycles"] for r in records),
        "value_mismatches": sum(r["value_mismatches"] for r in records),
        "cycle_mismatches": sum(r["cycle_mismatches"] for r in records),
        "layers_with_cycle_difference": sum(r["rtl_cycles"] != r["model_cycles"] for r in records),
        "wall_s_this_run": wall_s,
        "sim_s_summed": sum(r["seconds"] for r in records),
    }


def model_line(stim: Stimulus) -> str:
    """Which model ran: its selection, pruner, masks, calibration set, plan and perplexity."""
    src = stim.source
    opts = src.get("options", {})
    windows = src.get("windows", {})
    ppl = src.get("perplexity")
    plan = Counter(src.get("patterns", []))
    return (
        f"Model: {stim.model}, selection `{src.get('method', '?')}`, pruner "
        f"`{opts.get('metric', '?')}`, masks `{opts.get('mask', '?')}`, target "
        f"{opts.get('target', '?')} (achieved {src.get('achieved_sparsity', float('nan')):.4f}), "
        f"calibration "
        f"set {opts.get('calib_set', '?')} (tokens {windows.get('calib_range', '?')}), perplexity "
        + (f"{ppl:.2f} on tokens {windows.get('eval_range')}" if ppl else "not measured")
        + "; blocks: "
        + ", ".join(f"{k} x{v}" for k, v in plan.most_common())
    )


def write_report(
    out: Path, records: list[dict], total: dict, model: str, comparison: dict | None
) -> None:
    payload = {"summary": total, "model": model, "layers": records, "comparison": comparison}
    write_atomic(out / "replay.json", json.dumps(payload, indent=1))
    text = [
        f"# RTL replay of {total['stimulus']} on `{total['config']}`\n",
        model + "\n",
        f"{total['layers']} layers, {total['jobs']:,} jobs, {total['rtl_cycles']:,} RTL cycles "
        f"(model {total['model_cycles']:,}); output mismatches {total['value_mismatches']}, "
        f"cycle mismatches {total['cycle_mismatches']}; wall {total['wall_s_this_run']:.1f} s "
        "(this run).\n",
        layer_table(records),
        "",
    ]
    if comparison:
        text += [comparison["markdown"], comparison["verdict"] + "\n"]
    write_atomic(out / "replay.md", "\n".join(text))


def replay_layers(
    stim_path: Path, stim: Stimulus, config: str, out: Path, workers: int, fresh: bool
) -> tuple[list[dict], list[str]]:
    """Every layer of `stim` not yet in its results file through the RTL; all records and the
    workers' failures."""
    out.mkdir(parents=True, exist_ok=True)
    results = out / f"results-{config}-{file_digest(stim_path)[:12]}.jsonl"
    if fresh:
        results.unlink(missing_ok=True)
    done = read_results(results)
    todo = {
        i: ly.weight.size * ly.act.shape[0] for i, ly in enumerate(stim.layers) if i not in done
    }
    print(
        f"replay {stim_path.name}: {len(stim.layers)} layers on {config}, {len(done)} done "
        f"earlier ({results.name}), {len(todo)} to run on {workers} worker(s)",
        flush=True,
    )
    groups = split_work(todo, workers)

    def work(w: int) -> int:
        return run_fast(
            config,
            ["fast_replay_model"],
            results_name=f"replay-{w}",
            run_dir=out / f"worker{w}",
            REPLAY_FILE=str(stim_path.resolve()),
            REPLAY_LAYERS=",".join(map(str, groups[w])),
            REPLAY_RESULTS=str(results.resolve()),
            REPLAY_WORKER=str(w),
        )

    failures: list[str] = []
    if groups:
        with ThreadPoolExecutor(len(groups)) as pool:
            for w, future in enumerate([pool.submit(work, w) for w in range(len(groups))]):
                try:
                    future.result()
                except AssertionError as err:
                    failures.append(f"worker {w}: {err}")
    return sorted(read_results(results).values(), key=lambda r: r["index"]), failures


def compare_alternatives(
    stim: Stimulus, records: list[dict], cfg: HwConfig, config: str, out: Path, workers: int
) -> dict:
    """RTL cycles of one job per shape the alternatives run (same build), composed per layer
    and whole model, beside the perplexity each allows (tb.replay_compare)."""
    shapes = rc.distinct_shapes(stim, cfg)
    shape_path = out / "shapes" / "shapes.npz"
    shape_path.parent.mkdir(parents=True, exist_ok=True)
    save_stimulus(shape_path, rc.shape_stimulus(shapes, cfg))
    shape_records, failures = replay_layers(
        shape_path, load_stimulus(shape_path), config, shape_path.parent, workers, fresh=False
    )
    if failures:
        raise ReplayError("job-shape replay: " + "; ".join(failures))
    result = rc.compare(records, stim, cfg, rc.check_shapes(shape_records, shapes, cfg))
    src = stim.source
    opts = src.get("options", {})
    study = STUDY / f"g{cfg.sel_width}-{opts.get('metric')}" / "results.json"
    ppl = rc.Perplexities.from_study(
        src.get("perplexity"),
        study,
        opts.get("metric"),
        opts.get("mask"),
        src.get("windows", {}),
        shown(study),
        {k: opts.get(k, "none") for k in ("permute", "reconstruct")},
    )
    label = f"{src.get('method', 'this model')}"
    rows = rc.hardware_rows(result, ppl, label, cfg)
    plotted = rc.plot(rows, out / "compare.png", f"{stim.model} on {config}: {label}")
    return {
        "shapes": [{"shape": s.name, "passes": s.passes} for s in shapes],
        "rows": rows,
        "per_layer": result["layers"],
        "ppl_source": ppl.source,
        "plot": shown(out / "compare.png") if plotted else None,
        "markdown": rc.markdown(result, rows, ppl),
        "verdict": rc.speedup_vs_paper(rows),
    }


def replay(
    stim_path: Path, config: str, out: Path, workers: int, fresh: bool = False
) -> dict[str, object]:
    """Replay every layer not yet in the results file, then compare with dense and
    fixed-pattern DCiM; returns the whole-model summary."""
    t0 = time.perf_counter()
    if not stim_path.is_file():
        raise ReplayError(
            f"stimulus file {stim_path} not found: run `make replay` (it exports SmolLM2 first) "
            "or pass --stimulus"
        )
    stim = load_stimulus(stim_path)  # StimulusError names the file and the problem
    cfg = HwConfig.named(config)
    check_supported(stim, cfg, config)
    records, failures = replay_layers(stim_path, stim, config, out, workers, fresh)
    missing = len(stim.layers) - len(records)
    comparison = None
    if not (failures or missing):
        comparison = compare_alternatives(stim, records, cfg, config, out, workers)
    total = summary(records, time.perf_counter() - t0, stim_path, config)
    write_report(out, records, total, model_line(stim), comparison)
    print(
        f"replayed {total['layers']} of {len(stim.layers)} layers, {total['jobs']:,} jobs, "
        f"{total['rtl_cycles']:,} RTL cycles (model {total['model_cycles']:,}); output "
        f"mismatches {total['value_mismatches']}, cycle mismatches {total['cycle_mismatches']}; "
        f"wall {total['wall_s_this_run']:.1f} s; report {out / 'replay.md'}",
        flush=True,
    )
    if comparison:
        print(comparison["verdict"], flush=True)
    if failures or missing:
        raise ReplayError("; ".join(failures) or f"{missing} layers did not finish")
    return total


def check_args(args: argparse.Namespace) -> None:
    """Every option before anything builds: the configuration, workers, report folder, and the
    stimulus file's header (format, version, every layer's pattern on that configuration;
    load_stimulus checks the arrays when the replay reads them)."""
    check_config_names([args.config], what="--config")
    cfg = HwConfig.named(args.config)
    if args.workers < 1:
        raise ReplayError(f"--workers {args.workers}: at least 1 simulator process")
    if args.out.exists() and not args.out.is_dir():
        raise ReplayError(f"--out {args.out}: is a file, expected a folder")
    if not args.stimulus.is_file():
        raise ReplayError(
            f"--stimulus {args.stimulus}: file not found: run `make replay` (it exports SmolLM2 "
            "first) or pass --stimulus"
        )
    layers = [SimpleNamespace(**meta) for meta in read_header(args.stimulus)["layers"]]
    check_supported(SimpleNamespace(layers=layers), cfg, args.config)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    prog = "python -m tb.replay"
    parser = OneLineParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument(
        "--config", default=DEFAULT_CONFIG, help=f"RTL configuration (default: {DEFAULT_CONFIG})"
    )
    parser.add_argument(
        "--stimulus",
        type=Path,
        default=None,
        help="stimulus .npz (default: build/stimulus-<config>/stimulus.npz)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="report folder (default: build/replay/<config>)"
    )
    parser.add_argument("--workers", type=int, default=2, help="simulator processes (2)")
    parser.add_argument("--fresh", action="store_true", help="ignore results of earlier runs")
    args = parser.parse_args(argv)
    try:
        args.stimulus = args.stimulus or default_stimulus(args.config)
        args.out = args.out or default_out(args.config)
        check_args(args)
    except (ConfigError, StimulusError, ReplayError) as err:  # a bad option or file: refused
        return refuse(prog, str(err))
    try:
        total = replay(args.stimulus.resolve(), args.config, args.out, args.workers, args.fresh)
    except StimulusError as err:  # arrays behind a good header (load_stimulus checks them)
        return refuse(prog, str(err))
    except ReplayError as err:
        print(f"replay failed: {err}", file=sys.stderr)
        return 1
    bad = total["value_mismatches"] or total["cycle_mismatches"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

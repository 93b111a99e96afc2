"""`python -m flow prune`: select, prune, evaluate perplexity, optionally save the model."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path

from flow.commands.select import add_method
from flow.evaluate import perplexity
from flow.methods import run_stats, select_method
from flow.options import add_common, add_pruner
from flow.pipeline import prune_model
from flow.prune import PrunePlan
from flow.session import REPO, base_log, print_selection, setup, usage, write_log


def cmd_prune(a: argparse.Namespace) -> int:
    ctx = setup(a)
    stats = None if a.method == "measured" else run_stats(ctx, a)
    sel = select_method(a.method, ctx, a, stats, a.metric, a.mask)
    print_selection(sel)
    plan = PrunePlan(sel.patterns, a.metric, a.mask, ctx.hw.sel_width)
    result = prune_model(ctx.lm, ctx.windows.calib, a.batch, plan)
    print(f"pruned: {result.zero_fraction:.4f} of the linear-sublayer weights are zero")
    ppl = None
    if ctx.windows.eval.shape[0]:
        ppl = perplexity(ctx.lm, ctx.windows.eval, a.batch)
        print(f"perplexity on evaluation tokens {ctx.windows.spec.eval_range}: {ppl:.3f}")
    if a.save:
        ctx.lm.model.save_pretrained(a.save)
        ctx.lm.tokenizer.save_pretrained(a.save)
        print(f"saved pruned model to {a.save}")
    log = base_log(ctx, a) | {
        "stats": [asdict(s) for s in stats or []],
        "selection": sel.as_dict(),
        "zero_fraction": result.zero_fraction,
        "layer_zero_fraction": result.layer_zero_fraction,
        "perplexity": ppl,
        "seconds": time.perf_counter() - ctx.t0,
        **usage(),
    }
    write_log(a.log or REPO / "build/flow/prune.json", log)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("prune", help="select, prune, evaluate perplexity, optionally save")
    add_common(s, 16)
    add_method(s, "flow")
    add_pruner(s)
    s.add_argument("--save", type=Path, default=None, help="save the pruned model here")
    s.set_defaults(func=cmd_prune)

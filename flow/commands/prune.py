"""`python -m flow prune`: select, prune, evaluate perplexity, optionally save the model."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path

from flow.commands.select import add_method
from flow.options import (
    REPO,
    add_common,
    add_plan_check,
    add_pruner,
    check_options,
    check_out_path,
)
from golden.config import HwConfig
from golden.files import atomic_path


def check_prune(a: argparse.Namespace) -> HwConfig:
    check_out_path("--save", a.save, folder=True)
    return check_options(a)


def cmd_prune(a: argparse.Namespace) -> int:
    from flow.evaluate import perplexity
    from flow.methods import prune_selection, run_stats, select_method
    from flow.session import base_log, print_selection, setup, usage, write_log

    ctx = setup(a)
    stats = None if a.method == "measured" else run_stats(ctx, a)
    sel = select_method(a.method, ctx, a, stats, a.metric, a.mask)
    print_selection(sel)
    sel, result, check = prune_selection(ctx, a, sel, stats, eval_ids=ctx.windows.eval)
    print(f"pruned: {result.zero_fraction:.4f} of the linear-sublayer weights are zero")
    ppl = None
    if check is not None and check.eval_perplexity is not None:
        ppl = check.eval_perplexity[check.kept]  # the kept model, measured in the check
    elif ctx.windows.eval.shape[0]:
        ppl = perplexity(ctx.lm, ctx.windows.eval, a.batch)
    if ppl is not None:
        print(f"perplexity on evaluation tokens {ctx.windows.spec.eval_range}: {ppl:.3f}")
    if a.save:
        with atomic_path(a.save) as folder:  # a model folder is whole or absent
            ctx.lm.model.save_pretrained(folder)
            ctx.lm.tokenizer.save_pretrained(folder)
        print(f"saved pruned model to {a.save}")
    log = base_log(ctx, a) | {
        "stats": [asdict(s) for s in stats or []],
        "selection": sel.as_dict(),
        "zero_fraction": result.zero_fraction,
        "layer_zero_fraction": result.layer_zero_fraction,
        "reconstruction": result.reconstruction,
        "plan_check": None if check is None else check.as_dict(),
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
    add_plan_check(s)
    s.add_argument("--save", type=Path, default=None, help="save the pruned model here")
    s.set_defaults(func=cmd_prune, check=check_prune)

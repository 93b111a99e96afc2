"""`python -m flow select`: a selection (FLOW, OWL-style or measured cost), printed and logged.

Like every command module: the parser and the checks import no torch; the command imports the
heavy modules when it runs, after flow.cli has run its checks."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict

from flow.choices import METHODS
from flow.options import REPO, add_common, add_pruner, check_options


def add_method(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument("--method", choices=METHODS, default=default, help="selection (%(default)s)")
    p.add_argument("--pattern", default="2:4", help="pattern of --method uniform (2:4)")
    p.add_argument(
        "--owl-lamda",
        type=float,
        default=0.25,
        help="OWL deviation band before mapping to candidates (0.25)",
    )


def cmd_select(a: argparse.Namespace) -> int:
    from flow.methods import run_stats, select_method
    from flow.session import base_log, print_selection, setup, usage, write_log

    ctx = setup(a, n_eval=0)
    stats = None if a.method == "measured" else run_stats(ctx, a)
    sel = select_method(a.method, ctx, a, stats, a.metric, a.mask)
    print_selection(sel)
    log = base_log(ctx, a) | {
        "stats": [asdict(s) for s in stats or []],
        "selection": sel.as_dict(),
        "seconds": time.perf_counter() - ctx.t0,
        **usage(),
    }
    write_log(a.log or REPO / "build/flow/select.json", log)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("select", help="statistics + MILP selection; prints and logs the choice")
    add_common(s, 0)
    add_method(s, "flow")
    add_pruner(s)
    s.set_defaults(func=cmd_select, check=check_options)

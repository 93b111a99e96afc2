"""`python -m flow select|prune|export|eval|analyze`: the parser and error reporting.

Each command lives in flow/commands/<name>.py; shared options in flow/options.py, the model
and window set-up in flow/session.py, the selection methods in flow/methods.py.
"""

from __future__ import annotations

import argparse
import sys

from flow.commands import analyze, evaluate, export, prune, select

COMMANDS = (select, prune, export, evaluate, analyze)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m flow", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        return a.func(a)
    except (FileNotFoundError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

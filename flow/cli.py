"""`python -m flow select|prune|export|eval|report|analyze`: the parser and error reporting.

Each command lives in flow/commands/<name>.py; shared options in flow/options.py, the model
and window set-up in flow/session.py, the selection methods in flow/methods.py.

A command runs in two steps: its check (options, names, files, candidates; no torch, a fraction
of a second), then its work, which imports torch and loads the model. A refused command prints
one line, `python -m flow <command>: error: ...`, and exits with status 2.
"""

from __future__ import annotations

from flow.commands import analyze, evaluate, export, prune, select
from golden.cli import OneLineParser, refuse

COMMANDS = (select, prune, export, evaluate, analyze)


def build_parser() -> OneLineParser:
    p = OneLineParser(prog="python -m flow", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        a.check(a)
        return a.func(a)
    except (FileNotFoundError, ValueError, KeyError) as e:
        # A KeyError's str() is its repr: print the message itself.
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        return refuse(f"python -m flow {a.command}", str(message))

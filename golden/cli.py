"""Command-line errors shared by every entry point (flow, tb, bench): one line, exit status 2.

Not part of the model; it lives in golden because every other package imports golden and
nothing heavier (the standard library and golden.config only).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import NoReturn

from golden.config import ConfigError, check_config_names

# Exit status of a refused command (a bad option, file or name), as argparse uses.
USAGE_ERROR = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, except that a usage error is one line, `prog: error: why`, exit status 2.

    (argparse prints the whole usage first, which for `python -m flow prune` is 20 lines.)
    Subparsers made by add_subparsers are of the same class.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (--help lists the options)\n")


def refuse(prog: str, message: str) -> int:
    """Print `prog: error: message` on stderr; returns the exit status of a refused command."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def checked_configs(names: Iterable[str], prog: str, option: str = "configuration") -> list[str]:
    """`names`, each a configuration of configs/flexcim.yaml; else a refusal: one line naming
    the unknown name and the known ones, exit status 2 (SystemExit, as argparse's errors)."""
    try:
        return check_config_names(names, what=option)
    except ConfigError as e:
        raise SystemExit(refuse(prog, str(e))) from None

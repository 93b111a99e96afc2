#!/usr/bin/env python3
"""The Makefile's variables, checked before any target does work (before the bootstrap too).

The Makefile runs `python3 scripts/check_make_vars.py NAME=VALUE ...` while it reads itself, for
every goal but help and clean; the first bad value is printed (stdout, one line naming it, why
it is wrong and what is legal) and make stops with `$(error)`: exit status 2, nothing built.
Standard library only (a fresh clone has no .venv yet): the legal values come from their one
home each, configs/flexcim.yaml through golden.config, tb.settings, flow.choices.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flow.choices import METHODS, METRICS
from golden.config import ConfigError, check_config_names, read_config_table
from tb.settings import (
    SettingError,
    check_configs,
    check_seed,
    check_sim,
    check_waves,
)


def _count(name: str, value: str, low: int) -> None:
    if not (value.isdigit() and int(value) >= low):
        raise SettingError(f"{name}={value}: expected a whole number >= {low}")


def _config_list(name: str, value: str) -> None:
    """Space-separated configuration names."""
    try:
        check_config_names(value.split(), what="configuration")
    except ConfigError as e:
        raise SettingError(f"{name}={value}: {e}") from None


def _one_config(name: str, value: str) -> None:
    if len(value.split()) > 1:
        raise SettingError(f"{name}={value}: takes one configuration name")
    _config_list(name, value)


def _flag(name: str, value: str) -> None:
    if value not in ("0", "1"):
        raise SettingError(f"{name}={value}: use 1 (on) or 0 (off)")


def _method(name: str, value: str) -> None:
    if value not in METHODS:
        legal = ", ".join(METHODS)
        raise SettingError(f"{name}={value}: not a selection method; choose from {legal}")


def _metric(name: str, value: str) -> None:
    if value not in METRICS:
        raise SettingError(f"{name}={value}: not a pruner; choose from {', '.join(METRICS)}")


def _file(name: str, value: str) -> None:
    if not Path(value).is_file():
        raise SettingError(f"{name}={value}: file not found")


def _layers(name: str, value: str) -> None:
    """silicon.energy_flow's --layers: `all` or indices / ranges, comma-separated."""
    if not (value == "all" or re.fullmatch(r"\d+(-\d+)?(,\d+(-\d+)?)*", value)):
        raise SettingError(f"{name}={value}: expected all or indices and ranges like 0,3-5")


def _designs(name: str, value: str) -> None:
    """make energy's designs: configuration names, or all."""
    if value.strip() != "all":
        _config_list(name, value)


def _workload(name: str, value: str) -> None:
    if value not in ("extract", "model"):
        raise SettingError(f"{name}={value}: choose from extract, model")


# What each variable may hold (the Makefile passes them all; an unset one is empty).
CHECKS = {
    "SIM": lambda n, v: check_sim(v, n),
    "CONFIG": lambda n, v: check_configs(v, n),
    "SEED": lambda n, v: check_seed(v, n),
    "WAVES": lambda n, v: check_waves(v, n),
    "JOBS": lambda n, v: _count(n, v, 0),  # pytest-xdist workers; 0 runs in one process
    "WORKERS": lambda n, v: _count(n, v, 1),  # tb.replay's simulator processes
    "REPLAY_CORE": _one_config,
    "REPLAY_METHOD": _method,
    "REPLAY_METRIC": _metric,
    "AREA_CONFIGS": _config_list,
    "TRADEOFF_AREA": _file,
    "ENERGY_DESIGNS": _designs,  # empty: silicon.energy_flow's default designs
    "ENERGY_LAYERS": _layers,
    "ENERGY_WORKLOAD": _workload,
    "ENERGY_PAPER_RUNS": _config_list,  # make energy-paper: the small and mid runs
    "AREA_MAPPED": _flag,  # make area: 1 also maps to the cell library (um^2), 0 generic only
    "AREA_FLAT": _config_list,  # make area: configurations also mapped flattened
}


def problem(assignments: list[str]) -> str | None:
    """The first problem, as one line: configs/flexcim.yaml itself (every target reads it),
    then each NAME=VALUE of `assignments`; None when all is legal."""
    try:
        read_config_table()
    except ConfigError as e:
        return str(e)
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep or name not in CHECKS:
            return f"{__file__}: expected NAME=VALUE, NAME one of {', '.join(CHECKS)}: {item!r}"
        try:
            CHECKS[name](name, value)
        except (SettingError, ConfigError) as e:
            return str(e)
    return None


if __name__ == "__main__":
    message = problem(sys.argv[1:])
    if message:
        print(message)
    sys.exit(2 if message else 0)

"""The environment a cocotb run reads, and its legal values: SIM, CONFIG / CORE_CONFIGS,
COCOTB_RANDOM_SEED (`make sim SEED=...`), WAVES, STIMULUS (a stimulus file to replay).

Standard library (and golden.config) only: scripts/check_make_vars.py runs these checks with
the system Python before the bootstrap, tb/conftest.py before pytest collects anything, and the
runners when they read a value. Each check raises SettingError naming the value, why it is
wrong and what is legal.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from golden.config import ConfigError, check_config_names
from tb.toolchain import SIMULATORS


class SettingError(ValueError):
    """A setting holds a value no run can use; the message names it and the legal ones."""


def check_sim(value: str, name: str = "SIM") -> str:
    if value not in SIMULATORS:
        legal = " or ".join(SIMULATORS)
        raise SettingError(f"{name}={value}: not a simulator of this project; use {legal}")
    return value


def check_configs(value: str, name: str = "CONFIG") -> list[str]:
    """Comma-separated configuration names (empty: every configuration)."""
    try:
        return check_config_names([n for n in value.split(",") if n], what="configuration")
    except ConfigError as e:
        raise SettingError(f"{name}={value}: {e}") from None


def check_seed(value: str, name: str = "COCOTB_RANDOM_SEED") -> int | None:
    """A non-negative integer, or empty (a fresh seed per run)."""
    if not value:
        return None
    if not value.isdigit():
        raise SettingError(f"{name}={value}: a seed is a non-negative integer, e.g. {name}=1234")
    return int(value)


def check_waves(value: str, name: str = "WAVES") -> bool:
    if value not in ("", "0", "1"):
        raise SettingError(f"{name}={value}: use 1 (dump waves) or 0 (none)")
    return value == "1"


def check_stimulus(value: str, name: str = "STIMULUS") -> None:
    """An existing stimulus file whose header reads (the arrays are checked when it loads)."""
    from golden.stimulus import StimulusError, read_header  # numpy: not for the Makefile check

    if not Path(value).expanduser().is_file():
        raise SettingError(f"{name}={value}: no such file")
    try:
        read_header(Path(value).expanduser())
    except StimulusError as e:
        raise SettingError(f"{name}={value}: {e}") from None


def check_environment(env: Mapping[str, str] | None = None) -> None:
    """Every run setting present in `env` (default: this process's environment)."""
    env = os.environ if env is None else env
    if "SIM" in env:
        check_sim(env["SIM"])
    for name in ("CONFIG", "CORE_CONFIGS"):
        check_configs(env.get(name, ""), name)
    check_seed(env.get("COCOTB_RANDOM_SEED", ""))
    check_waves(env.get("WAVES", ""))
    if env.get("STIMULUS"):
        check_stimulus(env["STIMULUS"])

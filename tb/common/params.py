"""The hardware configuration a simulation was built with, read back inside the simulator.

The runner exports every RTL parameter as PARAM_<name> (and, for named configurations,
FLEXCIM_CONFIG); the cocotb side of every testbench reads them here, in one place.
"""

from __future__ import annotations

import dataclasses
import os

from golden.config import HwConfig


def built_config() -> HwConfig:
    """The HwConfig of the running simulation (PARAM_<name> of every HwConfig field)."""
    names = [field.name for field in dataclasses.fields(HwConfig)]
    # Left out: the RTL defaults (G = C, RPB = 1, FIXED_N = FIXED_M = 0), HwConfig's too.
    optional = {"G", "RPB", "FIXED_N", "FIXED_M"}
    missing = [n for n in names if f"PARAM_{n}" not in os.environ and n not in optional]
    if missing:
        raise KeyError(f"the runner exported no PARAM_{missing[0]} (of {names})")
    return HwConfig(
        **{n: int(os.environ[f"PARAM_{n}"]) for n in names if f"PARAM_{n}" in os.environ}
    )


def config_from_env() -> tuple[str, HwConfig]:
    """The named configuration the runner built (FLEXCIM_CONFIG and PARAM_* must agree)."""
    name = os.environ["FLEXCIM_CONFIG"]
    cfg, built = HwConfig.named(name), built_config()
    for key, value in cfg.params().items():
        assert built.params()[key] == value, (
            f"config {name}: PARAM_{key}={built.params()[key]} but flexcim.yaml says {value}"
        )
    return name, cfg

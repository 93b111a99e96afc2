"""`make test` enforces RTL lint: tb.lint must report every module clean, per configuration
(one test each, so the lint of the configurations spreads over the pytest workers).

The paper-size baselines (21-59 s of Verilator each) lint under the `paper` marker (`make sim`,
`make regress`, and `make lint-rtl` always); `make test` lints the same baseline RTL at the
small geometry, where it costs seconds."""

from __future__ import annotations

import pytest

from golden.config import HwConfig
from tb.lint import LINT_CONFIGS, main

SMALL_BASELINES = ("small_dense", "small_fixed12", "small_fixed24")


def is_baseline(config: str) -> bool:
    return HwConfig.named(config).fixed_pattern is not None


CASES = [
    pytest.param(c, marks=pytest.mark.paper) if c in LINT_CONFIGS and is_baseline(c) else c
    for c in (*LINT_CONFIGS, *SMALL_BASELINES)
]


@pytest.mark.parametrize("config", CASES)
def test_rtl_lint_clean(config: str) -> None:
    assert main(["--config", config]) == 0, f"tb.lint found problems at {config} (messages above)"

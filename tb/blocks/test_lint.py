"""`make test` enforces RTL lint: tb.lint must report every module clean, per configuration
(one test each, so the lint of the configurations spreads over the pytest workers)."""

from __future__ import annotations

import pytest

from tb.lint import LINT_CONFIGS, main


@pytest.mark.parametrize("config", LINT_CONFIGS)
def test_rtl_lint_clean(config: str) -> None:
    assert main(["--config", config]) == 0, f"tb.lint found problems at {config} (messages above)"

"""`make test` enforces RTL lint: tb.lint must report every module clean."""

from __future__ import annotations

from tb.lint import main


def test_rtl_lint_clean() -> None:
    assert main([]) == 0, "tb.lint found problems (messages above)"

"""`make bench` runs every module in bench.BENCHES: each must import and expose main().

A bench of FLOW (torch, transformers) is skipped, naming what is missing, where only the
testbench packages are installed (`make sim` bootstraps `make venv`, not `make venv-flow`).
"""

from __future__ import annotations

import importlib

import pytest

from bench.__main__ import BENCHES

# The packages of pyproject.toml's `flow` extra (imported by their module names).
FLOW_ONLY = frozenset(
    ("torch", "transformers", "gguf", "accelerate", "safetensors", "scipy", "matplotlib", "tqdm")
)


@pytest.mark.parametrize("name", BENCHES)
def test_bench_module_has_main(name: str) -> None:
    try:
        module = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as err:
        if err.name not in FLOW_ONLY:
            raise
        pytest.skip(f"bench.{name} needs {err.name} (the FLOW packages: make venv-flow)")
    assert callable(getattr(module, "main", None)), f"bench.{name} has no main()"

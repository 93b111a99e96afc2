"""The testplan maps every testpoint to tests that exist and that the regression schedules."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from tb.core.run import GROUPS, ICARUS_CONFIGS, VERILATOR_CONFIGS

TB = Path(__file__).resolve().parent
ROOT = TB.parent


def _cocotb_tests(path: Path) -> set[str]:
    """Names of the functions decorated with @cocotb.test(...) in a cocotb module."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.AsyncFunctionDef):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if ast.unparse(target) == "cocotb.test":
                    names.add(node.name)
    return names


def _pytest_tests(path: Path) -> set[str]:
    return {
        node.name
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_testpoint_maps_to_a_scheduled_test() -> None:
    plan = yaml.safe_load((TB / "testplan.yaml").read_text())
    cocotb_tests = _cocotb_tests(TB / "core" / "cocotb_core.py")
    scheduled = {name for tests in GROUPS.values() for name in tests}
    assert plan["testpoints"], "empty testplan"
    for point in plan["testpoints"]:
        assert point["tests"], f"testpoint {point['name']} lists no test"
        for test in point["tests"]:
            if "::" in test:
                file, name = test.split("::")
                found = _pytest_tests(ROOT / file)
                assert found if name == "*" else name in found, f"{point['name']}: no {test}"
            else:
                assert test in cocotb_tests, f"{point['name']}: no cocotb test {test}"
                assert test in scheduled, f"{point['name']}: {test} is in no test_core group"


def test_every_cocotb_test_is_in_the_plan_and_scheduled() -> None:
    plan = yaml.safe_load((TB / "testplan.yaml").read_text())
    planned = {t for point in plan["testpoints"] for t in point["tests"]}
    scheduled = {name for tests in GROUPS.values() for name in tests}
    for name in _cocotb_tests(TB / "core" / "cocotb_core.py"):
        assert name in planned, f"cocotb test {name} is in no testpoint"
        assert name in scheduled, f"cocotb test {name} is in no test_core group"


def test_every_planned_config_is_scheduled() -> None:
    """A testpoint's configs are configurations tb/core/test_core.py runs."""
    plan = yaml.safe_load((TB / "testplan.yaml").read_text())
    scheduled = {*VERILATOR_CONFIGS, *ICARUS_CONFIGS}
    for point in plan["testpoints"]:
        missing = sorted(set(point.get("configs", [])) - scheduled)
        assert not missing, f"{point['name']}: configs {missing} are in no tb/core case"

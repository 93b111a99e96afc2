"""HwConfig validation, hw_pattern rules, CSR error codes, named configurations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from golden.config import (
    CONFIG_FILE,
    ConfigError,
    HwConfig,
    UnsupportedPattern,
    csr_error_code,
    hw_pattern,
    read_config_table,
    supported_patterns,
)


def test_defaults_and_widths() -> None:
    cfg = HwConfig()
    assert cfg.params() == {
        "P": 4,
        "R": 16,
        "C": 16,
        "WB": 8,
        "AB": 8,
        "ACC": 32,
        "MAX_TOK": 16,
        "G": 16,
        "RPB": 1,
        "FIXED_N": 0,  # the flexible FlexCiM core (a baseline sets its one pattern)
        "FIXED_M": 0,
    }
    # Hand-worked from §3: 16*8 + 16 + 2 = 146 -> 152; 2*4*4*8 = 256; 16*32 = 512.
    assert (cfg.QW, cfg.A_LANES, cfg.W_TDATA, cfg.A_TDATA, cfg.Y_TDATA) == (2, 32, 152, 256, 512)
    assert (cfg.column_bits, cfg.merge_bits) == (20, 22)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"P": 3},
        {"P": 1},
        {"P": 128},
        {"R": 256},
        {"C": 256},
        {"R": 12},
        {"C": 0},
        {"WB": 9},
        {"AB": 1},
        {"ACC": 21},
        {"ACC": 65},
        {"MAX_TOK": 0},
        {"MAX_TOK": 256},
        {"C": 2.0},
    ],
)
def test_bad_config_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        HwConfig(**kwargs)


def test_named_configs_load() -> None:
    assert HwConfig.named("default") == HwConfig()
    assert HwConfig.named("paper") == HwConfig(P=4, R=32, C=32, MAX_TOK=16)
    with pytest.raises(KeyError, match=r"'nope' is not in flexcim\.yaml; choose from tiny, ") as e:
        HwConfig.named("nope")
    assert str(e.value).startswith("configuration 'nope'")  # no KeyError repr quotes


def test_config_file_reader_agrees_with_yaml() -> None:
    """The standard-library reader of configs/flexcim.yaml sees what a YAML parser sees."""
    assert read_config_table() == yaml.safe_load(CONFIG_FILE.read_text())


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("bad: {P: 3, R: 4, C: 4}", "configuration bad: P=3: must be a power of two"),
        ("bad: {P: 4, R: 12, C: 4}", "configuration bad: R=12: must be a power of two"),
        ("bad: {P: 4, R: 4, C: 0}", "configuration bad: C=0: must be in 1..255"),
        ("bad: {P: 4, R: 4, C: 4, G: 3}", "G=3: must divide C=4"),
        ("bad: {P: 4, R: 4, C: 4, RPB: 3}", "RPB=3: must divide R=4"),
        ("bad: {P: 4, R: 4, C: 4, WB: 9}", "WB=9: must be in 2..8"),
        ("bad: {P: 4, R: 4, C: 4, ACC: 8}", "ACC=8: must be in 20..64"),
        ("bad: {P: 4, R: 4, C: 4, Q: 1}", "parameter Q is not one of P, R, C"),
        ("bad: {P: 4, P: 4}", "parameter P is given twice"),
        ("bad: {P: four}", "expected KEY: integer, got 'P: four'"),
        ("bad: [4, 4]", "expected `name: {KEY: integer, ...}`"),
        ("tiny: {P: 2}", "configuration 'tiny' is defined twice"),
    ],
)
def test_config_file_errors_name_the_line(tmp_path: Path, line: str, words: str) -> None:
    """Every entry is checked wherever the file is read (a broken one stops every name)."""
    path = tmp_path / "flexcim.yaml"
    text = CONFIG_FILE.read_text() + line + "  # added\n"
    path.write_text(text)
    number = len(text.splitlines())
    with pytest.raises(ConfigError, match=f"{path}:{number}: .*{re.escape(words)}"):
        HwConfig.named("tiny", path)


def test_hw_pattern_rules() -> None:
    assert hw_pattern(2, 4, 4) == (2, 4)
    assert hw_pattern(4, 6, 4) == (4, 6)
    assert hw_pattern(8, 8, 4) == (4, 4)  # dense runs as (P, P)
    assert hw_pattern(3, 3, 2) == (2, 2)
    for n, m, rule in [
        (3, 8, "power of two"),
        (8, 16, "power of two"),
        (1, 10, "even"),
        (1, 3, "even"),
        (0, 4, "1 <= N"),
        (5, 4, "1 <= N"),
    ]:
        with pytest.raises(UnsupportedPattern, match=rule):
            hw_pattern(n, m, 4)


def test_supported_patterns_p4() -> None:
    sparse = [p for p in supported_patterns(4) if p[0] != p[1]]
    want = {(1, 2), (1, 4), (2, 4), (1, 6), (2, 6), (4, 6), (1, 8), (2, 8), (4, 8)}
    assert set(sparse) == want
    assert (8, 8) in supported_patterns(4) and (4, 4) in supported_patterns(4)
    assert set(supported_patterns(2)) - {(m, m) for m in range(9)} == {(1, 2), (1, 4), (2, 4)}


def test_csr_error_codes_in_order() -> None:
    cfg = HwConfig()
    assert csr_error_code(2, 4, 1, 1, cfg) == 0
    assert csr_error_code(3, 3, 0, 0, cfg) == 1  # first failing check wins
    assert csr_error_code(8, 8, 1, 1, cfg) == 1
    assert csr_error_code(0, 4, 1, 1, cfg) == 1
    assert csr_error_code(1, 3, 0, 0, cfg) == 2
    assert csr_error_code(1, 0, 1, 1, cfg) == 2
    assert csr_error_code(1, 10, 1, 1, cfg) == 2
    assert csr_error_code(4, 2, 1, 1, cfg) == 3
    assert csr_error_code(1, 2, 0, 1, cfg) == 4
    assert csr_error_code(1, 2, 17, 1, cfg) == 4
    assert csr_error_code(1, 2, 16, 0, cfg) == 5


def test_csr_error_code_sees_register_widths() -> None:
    """Written values are truncated to the CSR widths (N, M 8 bits; PASSES 16) as in the RTL."""
    cfg = HwConfig()
    assert csr_error_code(2, 4, 1, 65536, cfg) == 5  # PASSES reads back 0
    assert csr_error_code(2, 4, 1, 65537, cfg) == 0  # reads back 1
    assert csr_error_code(256 + 2, 4, 1, 1, cfg) == 0  # N reads back 2
    assert csr_error_code(256, 4, 1, 1, cfg) == 1  # N reads back 0
    assert csr_error_code(2, 256 + 4, 1, 1, cfg) == 0  # M reads back 4

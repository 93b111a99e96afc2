"""Hardware configuration of the FlexCiM core and the layer -> hardware pattern rule.

One `HwConfig` holds the RTL parameters (docs/ARCHITECTURE.md §0-§1); `hw_pattern` decides how
a layer's N:M pattern runs on the macro, `csr_error_code` mirrors the core's start checks (§3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

# configs/flexcim.yaml, the single source of truth for named configurations.
CONFIG_FILE = Path(__file__).resolve().parents[1] / "configs" / "flexcim.yaml"
# The file is one configuration per line, `name: {KEY: integer, ...}  # comment`, plus blank and
# comment lines: a subset of YAML read with the standard library, so the Makefile's option check
# (scripts/check_make_vars.py) runs before any package is installed. Anything else is refused.
_ENTRY = re.compile(r"([A-Za-z_]\w*)\s*:\s*\{([^{}#]*)\}\s*(#.*)?")
_ITEM = re.compile(r"\s*([A-Za-z_]\w*)\s*:\s*(-?\d+)\s*")


class ConfigError(ValueError):
    """configs/flexcim.yaml cannot be read, or holds or is asked for a configuration it lacks."""


class UnknownConfig(ConfigError, KeyError):
    """A configuration name the file does not hold (a KeyError too, for lookups)."""

    def __str__(self) -> str:  # KeyError's str() is the repr of its message: keep it plain
        return str(self.args[0]) if self.args else ""


class UnsupportedPattern(ValueError):
    """A layer or hardware N:M pattern the macro cannot run (the message names the rule)."""


def is_pow2(x: int) -> bool:
    return x >= 1 and (x & (x - 1)) == 0


def log2_exact(x: int) -> int:
    if not is_pow2(x):
        raise ValueError(f"{x} is not a power of two")
    return x.bit_length() - 1


def _roundup8(bits: int) -> int:
    return (bits + 7) // 8 * 8


@dataclass(frozen=True)
class HwConfig:
    """RTL parameters of one core (FLEXCIM.md §2). Validated on construction."""

    P: int = 4  # sub-macros, power of two
    R: int = 16  # rows per sub-macro, power of two
    C: int = 16  # columns (output channels) per macro
    WB: int = 8  # weight bits, signed
    AB: int = 8  # activation bits, signed
    ACC: int = 32  # accumulator / output bits, signed, wrapping
    MAX_TOK: int = 16  # tokens one job holds
    # Columns sharing one pair select (select-sharing width); None means C, today's core
    # (one select per slot row). G = 1 is one select per cell. G must divide C.
    G: int | None = None
    # Activation rows per beat: 1 (one macro row per beat, today's core) .. R (one token per
    # beat); must divide R.
    RPB: int = 1
    # Comparison baselines (ARCHITECTURE §1, §4), same geometry and interface: (0, 0) is the
    # flexible FlexCiM core; (P, P) the dense DCiM macro; (1, 2) and (2, 4) the fixed-pattern
    # sparse cores (2:4 needs G = 1: a per-cell 2:1 pair select). rtl/flexcim_pkg.sv fixed_ok.
    FIXED_N: int = 0
    FIXED_M: int = 0

    def __post_init__(self) -> None:
        if self.G is None:
            object.__setattr__(self, "G", self.C)  # frozen dataclass: normalise once
        for name, value in asdict(self).items():
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"HwConfig.{name} must be an int, got {value!r}")
        # The RTL's limits (rtl/flexcim_pkg.sv): PARAMS packs P, R, C, MAX_TOK into 8-bit
        # fields, and M_hw <= 2P must fit the 8-bit M CSR, so P <= 64.
        if not (is_pow2(self.P) and 2 <= self.P <= 64):
            raise ValueError(f"P={self.P}: must be a power of two in 2..64")
        if not (is_pow2(self.R) and 2 <= self.R <= 128):
            raise ValueError(f"R={self.R}: must be a power of two in 2..128")
        if not 1 <= self.C <= 255:
            raise ValueError(f"C={self.C}: must be in 1..255")
        # Images are int8 arrays, so operands are at most 8 bits.
        for name in ("WB", "AB"):
            bits = getattr(self, name)
            if not 2 <= bits <= 8:
                raise ValueError(f"{name}={bits}: must be in 2..8")
        if not self.merge_bits <= self.ACC <= 64:
            raise ValueError(
                f"ACC={self.ACC}: must be in {self.merge_bits}..64 "
                f"(one pass's merged sum needs WB+AB+log2 R+log2 P = {self.merge_bits} bits)"
            )
        if not 1 <= self.MAX_TOK <= 255:
            raise ValueError(f"MAX_TOK={self.MAX_TOK}: must be in 1..255")
        if not (1 <= self.RPB <= self.R and self.R % self.RPB == 0):
            raise ValueError(f"RPB={self.RPB}: must divide R={self.R} (activation rows per beat)")
        if not (1 <= self.sel_width <= self.C and self.C % self.sel_width == 0):
            raise ValueError(f"G={self.G}: must divide C={self.C} (columns sharing one select)")
        why = fixed_core_error(self.FIXED_N, self.FIXED_M, self.P, self.sel_width)
        if why is not None:
            raise ValueError(why)

    @classmethod
    def named(cls, name: str, path: Path | None = None) -> HwConfig:
        """The configuration `name` of configs/flexcim.yaml (or of `path`); every entry of
        the file is checked first, so a broken file is refused wherever it is read."""
        table = read_config_table(path)
        check_config_names([name], path, table)
        return cls(**table[name])

    def params(self) -> dict[str, int]:
        """RTL parameter dict, e.g. for cocotb_tools.runner(parameters=...) (G included)."""
        return {name: int(value) for name, value in asdict(self).items()}

    @property
    def fixed_pattern(self) -> tuple[int, int] | None:
        """The one hardware pattern a baseline core serves, or None for FlexCiM (0, 0)."""
        return None if self.FIXED_M == 0 else (self.FIXED_N, self.FIXED_M)

    @property
    def core_kind(self) -> str:
        """'flexcim', 'dense' (dense DCiM) or 'fixed' (fixed-pattern sparse DCiM)."""
        if self.fixed_pattern is None:
            return "flexcim"
        return "dense" if self.FIXED_N == self.FIXED_M else "fixed"

    @property
    def has_meta(self) -> bool:
        """Do the cells store a metadata bit b (every core but the dense DCiM)?"""
        return self.core_kind != "dense"

    @property
    def q_values(self) -> int:
        """Pairs of its set a slot can read: P (FlexCiM's P:1 mux), P / 2 (dense DCiM, pair
        p // 2 wired to slot p), 2 (fixed 2:4's 2:1 mux), 1 (fixed 1:2: pair 0 wired)."""
        kind = self.core_kind
        if kind == "flexcim":
            return self.P
        if kind == "dense":
            return self.P // 2
        return 2 if self.fixed_pattern == (2, 4) else 1

    @property
    def sel_width(self) -> int:
        """G as a plain int (the field is normalised to C in __post_init__)."""
        assert self.G is not None
        return self.G

    @property
    def SELS(self) -> int:
        """Pair selects per slot row: C / G (1 for today's core, C at G = 1)."""
        return self.C // self.sel_width

    @property
    def QW(self) -> int:
        """Bits of the pair select q."""
        return max(1, log2_exact(self.P))

    @property
    def A_LANES(self) -> int:
        """Activation lanes per beat: P sets x 2P lanes."""
        return 2 * self.P * self.P

    @property
    def W_TDATA(self) -> int:
        """roundup8(C*WB + C + (C/G)*QW): the formula of rtl/flexcim_pkg.sv w_tdata_bits."""
        return _roundup8(self.C * self.WB + self.C + self.SELS * self.QW)

    @property
    def A_TDATA(self) -> int:
        """RPB rows of A_LANES lanes: the formula of rtl/flexcim_pkg.sv a_tdata_bits."""
        return self.RPB * self.A_LANES * self.AB

    @property
    def A_BEATS(self) -> int:
        """Activation beats per token per pass: R / RPB."""
        return self.R // self.RPB

    @property
    def Y_TDATA(self) -> int:
        return self.C * self.ACC

    @property
    def product_bits(self) -> int:
        return self.WB + self.AB

    @property
    def column_bits(self) -> int:
        """Width of a column adder tree's output (sum over R rows)."""
        return self.product_bits + log2_exact(self.R)

    @property
    def merge_bits(self) -> int:
        """Width of the merge tree's output (sum over P sub-macros)."""
        return self.column_bits + log2_exact(self.P)


def read_config_table(path: Path | None = None) -> dict[str, dict[str, int]]:
    """The named configurations of configs/flexcim.yaml (or `path`) as written (G and RPB only
    where set), each checked to be a legal HwConfig; ConfigError names the line or entry."""
    src = Path(path or CONFIG_FILE)
    try:
        lines = src.read_text().splitlines()
    except OSError as e:
        raise ConfigError(f"cannot read the configuration file {src}: {e.strerror}") from None
    known = [f.name for f in fields(HwConfig)]
    table: dict[str, dict[str, int]] = {}
    for number, raw in enumerate(lines, 1):
        line, where = raw.strip(), f"{src}:{number}"
        if not line or line.startswith("#"):
            continue
        entry = _ENTRY.fullmatch(line)
        if entry is None:
            raise ConfigError(f"{where}: expected `name: {{KEY: integer, ...}}`, got {line!r}")
        name, params = entry.group(1), {}
        if name in table:
            raise ConfigError(f"{where}: configuration {name!r} is defined twice")
        for text in entry.group(2).split(","):
            item = _ITEM.fullmatch(text)
            if item is None:
                raise ConfigError(f"{where}: {name}: expected KEY: integer, got {text.strip()!r}")
            key, value = item.group(1), int(item.group(2))
            if key not in known or key in params:
                why = "is given twice" if key in params else f"is not one of {', '.join(known)}"
                raise ConfigError(f"{where}: {name}: parameter {key} {why}")
            params[key] = value
        try:
            HwConfig(**params)
        except ValueError as e:
            raise ConfigError(f"{where}: configuration {name}: {e}") from None
        table[name] = params
    if not table:
        raise ConfigError(f"{src}: no configurations")
    return table


def check_config_names(
    names: Iterable[str],
    path: Path | None = None,
    table: dict[str, dict[str, int]] | None = None,
    what: str = "configuration",
) -> list[str]:
    """`names` as a list, each a configuration of the file; UnknownConfig names the first
    that is not, and lists the legal ones (`what` says where the name came from)."""
    table = read_config_table(path) if table is None else table
    names = list(names)
    for name in names:
        if name not in table:
            raise UnknownConfig(
                f"{what} {name!r} is not in {Path(path or CONFIG_FILE).name}; "
                f"choose from {', '.join(table)}"
            )
    return names


def fixed_core_error(fixed_n: int, fixed_m: int, P: int, G: int) -> str | None:
    """Why (FIXED_N, FIXED_M) is not a core the RTL builds at P (and G), or None.

    The same set as rtl/flexcim_pkg.sv `fixed_ok` plus flexcim_ctrl's G = 1 rule for 2:4."""
    pair = (fixed_n, fixed_m)
    if pair not in ((0, 0), (P, P), (1, 2), (2, 4)):
        return f"FIXED_N:FIXED_M={fixed_n}:{fixed_m}: must be 0:0, P:P ({P}:{P}), 1:2 or 2:4"
    if pair == (2, 4) and G != 1:
        return f"G={G}: the fixed 2:4 core has a per-cell pair select, so G must be 1"
    return None


def hw_pattern_error(n_hw: int, m_hw: int, P: int) -> str | None:
    """Why the hardware cannot run `(n_hw, m_hw)`, or None (ARCHITECTURE §1 table)."""
    if not (is_pow2(n_hw) and n_hw <= P):
        return f"N_hw={n_hw} must be a power of two in 1..P={P}"
    if not (m_hw % 2 == 0 and 2 <= m_hw <= 2 * P):
        return f"M_hw={m_hw} must be even and in 2..2P={2 * P}"
    if n_hw > m_hw:
        return f"N_hw={n_hw} > M_hw={m_hw}"
    return None


def hw_pattern(n: int, m: int, P: int) -> tuple[int, int]:
    """Hardware pattern `(N_hw, M_hw)` running layer pattern `n:m` (dense -> (P, P))."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (n, m, P)):
        raise TypeError(f"hw_pattern takes ints, got n={n!r} m={m!r} P={P!r}")
    if not is_pow2(P):
        raise ValueError(f"P={P} must be a power of two")
    if n < 1 or m < n:
        raise UnsupportedPattern(f"{n}:{m}: need 1 <= N <= M")
    if n == m:
        return P, P  # dense: every pair takes both slots, the dense DCiM mode
    why = hw_pattern_error(n, m, P)
    if why is not None:
        raise UnsupportedPattern(f"{n}:{m} at P={P}: {why}")
    return n, m


def csr_error_code(n_hw: int, m_hw: int, tokens: int, passes: int, cfg: HwConfig) -> int:
    """Error code the core reports at start (0 = ok); checked in the §3 order (code 6: a
    baseline core's start whose N/M is not its fixed hardware pattern).

    Arguments are the values *written* over AXI4-Lite; the CSRs keep only their low bits
    (N and M 8, TOKENS 32, PASSES 16, docs/ARCHITECTURE.md §3), so e.g. PASSES = 65536
    reads back as 0 and is refused with code 5, exactly as the RTL does.
    """
    n_hw, m_hw = n_hw & 0xFF, m_hw & 0xFF
    tokens, passes = tokens & 0xFFFF_FFFF, passes & 0xFFFF
    if not (is_pow2(n_hw) and n_hw <= cfg.P):
        return 1
    if m_hw % 2 != 0 or m_hw == 0 or m_hw > 2 * cfg.P:
        return 2
    if n_hw > m_hw:
        return 3
    if tokens == 0 or tokens > cfg.MAX_TOK:
        return 4
    if passes == 0:
        return 5
    if cfg.fixed_pattern is not None and (n_hw, m_hw) != cfg.fixed_pattern:
        return 6  # a baseline serves its own hardware pattern only
    return 0


def supported_patterns(P: int, max_m: int = 8) -> list[tuple[int, int]]:
    """Every layer pattern `(n, m)`, `1 <= n <= m <= max_m`, that `hw_pattern` accepts."""
    out = []
    for m in range(1, max_m + 1):
        for n in range(1, m + 1):
            try:
                hw_pattern(n, m, P)
            except UnsupportedPattern:
                continue
            out.append((n, m))
    return out

"""A small Liberty (.lib) reader: cells, areas, leakage, pin capacitances, NLDM and power tables.

One home for what the silicon flow (area, slew/load check) and the energy model read from a
standard-cell library. The default is the OSU 0.18 um library that Debian's
``qflow-tech-osu018`` package installs (typical corner, 1.8 V, NLDM, no wire-load model).

The parser is generic Liberty syntax, not OSU-specific: groups ``name (args) { ... }``, simple
attributes ``name : value ;``, complex attributes ``name (a, b) ;``, quoted strings, ``/* */``
comments and backslash line continuations. It then keeps the subset the project needs.

Units (``Library``): Liberty gives every number in the library's units; the ``*_unit_*`` fields
convert to SI. Internal-power tables hold *energy per transition* whose unit Liberty derives as
``capacitive_load_unit * voltage_unit ** 2`` (1 pF * (1 V)^2 = 1 pJ for OSU018): that is
``energy_unit_j``. It uses the voltage *unit*, not ``nom_voltage``.

Table axes: a table's ``index_1`` / ``index_2`` mean what its template's ``variable_1`` /
``variable_2`` say; the reader keeps those names on the ``Table`` (``variable_1``,
``variable_2``). In OSU018 every delay / transition / power table is indexed
``index_1 = total_output_net_capacitance`` and ``index_2 = input_net_transition``; use
``Table.at(transition=..., load=...)`` to look up by meaning instead of by position.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_LIBERTY = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lib")
APT_PACKAGE = "qflow-tech-osu018"

# Template variable names that mean "input transition" and "output load".
TRANSITION_VARS = frozenset(
    {"input_net_transition", "input_transition_time", "related_pin_transition"}
)
LOAD_VARS = frozenset({"total_output_net_capacitance"})


class LibertyError(ValueError):
    """A Liberty file that is missing, malformed, or lacks something the reader needs."""


# ------------------------------------------------------------------------------------------
# Data model


def _segment(axis: tuple[float, ...], v: float) -> tuple[int, float]:
    """(i, t): v lies at axis[i] + t * (axis[i+1] - axis[i]); t < 0 or > 1 extrapolates."""
    if len(axis) == 1:
        return 0, 0.0
    i = min(max(bisect.bisect_right(axis, v) - 1, 0), len(axis) - 2)
    return i, (v - axis[i]) / (axis[i + 1] - axis[i])


@dataclass(frozen=True)
class Table:
    """A lookup table; index_2 is empty for a one-dimensional table (values has one row).

    ``values[i][j]`` is the value at ``(index_1[i], index_2[j])``. For a 1-D table the single
    row runs along ``index_1``.
    """

    index_1: tuple[float, ...]
    index_2: tuple[float, ...]
    values: tuple[tuple[float, ...], ...]
    variable_1: str | None = None  # from the template: what index_1 means
    variable_2: str | None = None

    def lookup(self, x: float, y: float = 0.0) -> float:
        """Bilinear interpolation at (index_1 = x, index_2 = y); linear extrapolation outside."""
        if not self.index_2:
            row = self.values[0]
            i, t = _segment(self.index_1, x)
            return row[i] if len(row) == 1 else row[i] + t * (row[i + 1] - row[i])
        i, t = _segment(self.index_1, x)
        j, u = _segment(self.index_2, y)
        i1 = min(i + 1, len(self.index_1) - 1)
        j1 = min(j + 1, len(self.index_2) - 1)
        v = self.values
        low = v[i][j] + u * (v[i][j1] - v[i][j])
        high = v[i1][j] + u * (v[i1][j1] - v[i1][j])
        return low + t * (high - low)

    def in_range(self, x: float, y: float = 0.0) -> bool:
        """True when (x, y) lies inside the table's index ranges (no extrapolation)."""
        inside = self.index_1[0] <= x <= self.index_1[-1]
        if self.index_2:
            inside = inside and self.index_2[0] <= y <= self.index_2[-1]
        return inside

    def _axes(self) -> tuple[str, str]:
        """('transition'|'load', ...) for index_1 and index_2, from the template variables."""

        def meaning(var: str | None) -> str:
            if var in TRANSITION_VARS:
                return "transition"
            if var in LOAD_VARS:
                return "load"
            return var or "?"

        return meaning(self.variable_1), meaning(self.variable_2)

    def at(self, transition: float, load: float) -> float:
        """Look up by meaning: the template says which index is the transition, which the load."""
        a1, a2 = self._axes()
        args = {"transition": transition, "load": load}
        if not self.index_2:
            if a1 not in args:
                raise LibertyError(f"table axis {self.variable_1!r} is neither transition nor load")
            return self.lookup(args[a1])
        if {a1, a2} != {"transition", "load"}:
            raise LibertyError(
                f"table axes ({self.variable_1!r}, {self.variable_2!r}) are not transition x load"
            )
        return self.lookup(args[a1], args[a2])

    def range_of(self, meaning: str) -> tuple[float, float] | None:
        """(low, high) of the index whose template variable means `meaning` ('transition' /
        'load'); None when the table has no such axis."""
        a1, a2 = self._axes()
        if a1 == meaning:
            return self.index_1[0], self.index_1[-1]
        if a2 == meaning and self.index_2:
            return self.index_2[0], self.index_2[-1]
        return None


@dataclass(frozen=True)
class InternalPower:
    """Energy per transition (library energy units, see Library.energy_unit_j)."""

    related_pin: str | None
    rise: Table | None
    fall: Table | None


@dataclass(frozen=True)
class Timing:
    related_pin: str
    cell_rise: Table | None
    cell_fall: Table | None
    rise_transition: Table | None
    fall_transition: Table | None
    timing_type: str | None = None  # combinational (None), rising_edge, setup_rising, ...


@dataclass(frozen=True)
class Pin:
    name: str
    direction: str  # input | output | inout | internal
    capacitance: float  # library capacitance units
    function: str | None
    internal_power: tuple[InternalPower, ...]
    timing: tuple[Timing, ...]
    max_capacitance: float | None = None
    clock: bool = False  # `clock : true` (a flip-flop's or latch's clock pin)


@dataclass(frozen=True)
class Cell:
    name: str
    area: float  # library area units (um^2 for OSU018: no area unit in Liberty, by convention)
    leakage: float  # cell_leakage_power, library leakage units
    pins: dict[str, Pin]
    sequential: bool  # an ff or latch group is present


@dataclass(frozen=True)
class Library:
    name: str
    nom_voltage: float  # V
    time_unit_s: float
    cap_unit_f: float
    leakage_unit_w: float
    energy_unit_j: float  # cap_unit_f * voltage_unit_v ** 2 (Liberty's internal-power unit)
    cells: dict[str, Cell]
    voltage_unit_v: float = 1.0
    path: Path | None = field(default=None, compare=False)

    def cell(self, name: str) -> Cell:
        """The cell `name`, or a LibertyError naming the library (a netlist cell it lacks)."""
        try:
            return self.cells[name]
        except KeyError:
            raise LibertyError(
                f"cell {name!r} is not in library {self.name} ({self.path}); "
                f"it has {len(self.cells)} cells: {', '.join(sorted(self.cells))}"
            ) from None


# ------------------------------------------------------------------------------------------
# Generic Liberty syntax -> groups


@dataclass
class Group:
    kind: str  # cell, pin, timing, ...
    args: list[str]
    line: int
    simple: dict[str, str] = field(default_factory=dict)
    complex: dict[str, list[str]] = field(default_factory=dict)
    groups: list[Group] = field(default_factory=list)

    def children(self, kind: str) -> list[Group]:
        return [g for g in self.groups if g.kind == kind]


_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+|\\\r?\n)            # whitespace, line continuation
  | (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.|\\\n)*")
  | (?P<punct>[(){}:;,])
  | (?P<word>[^ \t\r\n(){}:;,"\\]+)
    """,
    re.VERBOSE | re.DOTALL,
)


def _tokens(text: str, path: Path) -> list[tuple[str, str, int]]:
    """(kind, text, line) tokens; kind is 'str', 'word' or the punctuation character."""
    out: list[tuple[str, str, int]] = []
    pos, line = 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise LibertyError(f"{path}:{line}: cannot tokenize {text[pos : pos + 20]!r}")
        kind = m.lastgroup
        s = m.group()
        if kind == "string":
            out.append(("str", s[1:-1].replace("\\\n", "").replace("\\\r\n", ""), line))
        elif kind == "punct":
            out.append((s, s, line))
        elif kind == "word":
            out.append(("word", s, line))
        line += s.count("\n")
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str, path: Path) -> None:
        self.toks = _tokens(text, path)
        self.i = 0
        self.path = path

    def _where(self) -> str:
        line = self.toks[min(self.i, len(self.toks) - 1)][2] if self.toks else 1
        return f"{self.path}:{line}"

    def _peek(self) -> str | None:
        return self.toks[self.i][0] if self.i < len(self.toks) else None

    def _take(self, kind: str | None = None) -> tuple[str, str, int]:
        if self.i >= len(self.toks):
            raise LibertyError(f"{self._where()}: unexpected end of file (unclosed group?)")
        tok = self.toks[self.i]
        if kind is not None and tok[0] != kind:
            raise LibertyError(f"{self._where()}: expected {kind!r}, found {tok[1]!r}")
        self.i += 1
        return tok

    def _value(self) -> str:
        kind, text, _ = self._take()
        if kind not in ("str", "word"):
            raise LibertyError(f"{self._where()}: expected a value, found {text!r}")
        return text

    def parse(self) -> Group:
        top = self._statement()
        if not isinstance(top, Group):
            raise LibertyError(f"{self.path}: the file does not start with a library group")
        return top

    def _statement(self) -> Group | tuple[str, str] | tuple[str, list[str]]:
        _, name, line = self._take("word")
        if self._peek() == ":":
            self._take(":")
            parts = [self._value()]
            # Unquoted expressions (e.g. `a + b`) run to the semicolon.
            while self._peek() in ("str", "word"):
                parts.append(self._value())
            if self._peek() == ";":
                self._take(";")
            return name, " ".join(parts)
        self._take("(")
        args: list[str] = []
        while self._peek() != ")":
            if self._peek() == ",":
                self._take(",")
                continue
            args.append(self._value())
        self._take(")")
        if self._peek() == "{":
            self._take("{")
            group = Group(name, args, line)
            while self._peek() != "}":
                if self._peek() is None:
                    raise LibertyError(
                        f"{self.path}:{line}: group {name}({', '.join(args)}) is never closed"
                    )
                st = self._statement()
                if isinstance(st, Group):
                    group.groups.append(st)
                elif isinstance(st[1], list):
                    group.complex[st[0]] = st[1]
                else:
                    group.simple[st[0]] = st[1]
            self._take("}")
            return group
        if self._peek() == ";":
            self._take(";")
        return name, args


def parse_groups(text: str, path: Path = Path("<string>")) -> Group:
    """Liberty text -> its top group (the library), generic syntax only."""
    return _Parser(text, path).parse()


# ------------------------------------------------------------------------------------------
# Groups -> Library

_UNIT = re.compile(r"^\s*([0-9.eE+-]+)\s*([a-zA-Z]+)\s*$")
_PREFIX = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3}


def _unit(text: str, base: str, where: str) -> float:
    """'1ns' -> 1e-9 (base 's'); '10ps' -> 1e-11."""
    m = _UNIT.match(text)
    if m is None or not m.group(2).lower().endswith(base.lower()):
        raise LibertyError(f"{where}: cannot read unit {text!r} (expected a number and *{base})")
    prefix = m.group(2)[: -len(base)]
    if prefix not in _PREFIX:
        raise LibertyError(f"{where}: unknown unit prefix in {text!r}")
    return float(m.group(1)) * _PREFIX[prefix]


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.replace(",", " ").split())


def _table(g: Group, templates: dict[str, Group], where: str) -> Table:
    tmpl = templates.get(g.args[0]) if g.args else None
    if g.args and g.args[0] != "scalar" and tmpl is None:
        raise LibertyError(f"{where}:{g.line}: {g.kind} uses unknown template {g.args[0]!r}")

    def index(n: str) -> tuple[float, ...]:
        own = g.complex.get(n)
        if own is not None:
            return _floats(",".join(own))
        if tmpl is not None and n in tmpl.complex:
            return _floats(",".join(tmpl.complex[n]))
        return ()

    if "values" not in g.complex:
        raise LibertyError(f"{where}:{g.line}: {g.kind} table has no values")
    rows = tuple(_floats(r) for r in g.complex["values"])
    i1, i2 = index("index_1"), index("index_2")
    if not i1:  # scalar table
        i1, rows = (0.0,), rows
    var1 = tmpl.simple.get("variable_1") if tmpl else None
    var2 = tmpl.simple.get("variable_2") if tmpl else None
    if i2:
        if len(rows) != len(i1) or any(len(r) != len(i2) for r in rows):
            raise LibertyError(f"{where}:{g.line}: {g.kind} values are not {len(i1)} x {len(i2)}")
    elif len(rows) != 1 or len(rows[0]) not in (1, len(i1)):
        raise LibertyError(f"{where}:{g.line}: {g.kind} values do not match index_1")
    return Table(i1, i2, rows, var1, var2)


def _opt_table(parent: Group, kind: str, templates: dict[str, Group], where: str) -> Table | None:
    found = parent.children(kind)
    return _table(found[0], templates, where) if found else None


def _pin(g: Group, templates: dict[str, Group], where: str) -> Pin:
    if not g.args:
        raise LibertyError(f"{where}:{g.line}: pin group without a name")
    direction = g.simple.get("direction")
    if direction is None:
        raise LibertyError(f"{where}:{g.line}: pin {g.args[0]} has no direction")
    power = tuple(
        InternalPower(
            p.simple.get("related_pin"),
            _opt_table(p, "rise_power", templates, where),
            _opt_table(p, "fall_power", templates, where),
        )
        for p in g.children("internal_power")
    )
    timing = tuple(
        Timing(
            t.simple.get("related_pin", ""),
            _opt_table(t, "cell_rise", templates, where),
            _opt_table(t, "cell_fall", templates, where),
            _opt_table(t, "rise_transition", templates, where),
            _opt_table(t, "fall_transition", templates, where),
            t.simple.get("timing_type"),
        )
        for t in g.children("timing")
    )
    max_cap = g.simple.get("max_capacitance")
    return Pin(
        g.args[0],
        direction,
        float(g.simple.get("capacitance", "0")),
        g.simple.get("function"),
        power,
        timing,
        float(max_cap) if max_cap is not None else None,
        g.simple.get("clock", "false").lower() == "true",
    )


def _cell(g: Group, templates: dict[str, Group], where: str) -> Cell:
    if "area" not in g.simple:
        raise LibertyError(f"{where}:{g.line}: cell {g.args[0]} has no area")
    pins: dict[str, Pin] = {}
    for p in g.children("pin"):
        pin = _pin(p, templates, where)
        pins[pin.name] = pin
    return Cell(
        g.args[0],
        float(g.simple["area"]),
        float(g.simple.get("cell_leakage_power", "0")),
        pins,
        bool(g.children("ff") or g.children("latch") or g.children("ff_bank")),
    )


def library_from_text(text: str, path: Path = Path("<string>")) -> Library:
    top = parse_groups(text, path)
    where = str(path)
    if top.kind != "library":
        raise LibertyError(f"{where}: top group is {top.kind!r}, not library")
    s = top.simple
    for required in ("time_unit", "nom_voltage", "leakage_power_unit"):
        if required not in s:
            raise LibertyError(f"{where}: library {top.args} has no {required}")
    cap = top.complex.get("capacitive_load_unit")
    if cap is None or len(cap) != 2:
        raise LibertyError(f"{where}: library has no capacitive_load_unit (value, unit)")
    cap_unit = _unit(cap[0] + cap[1], "f", where)
    volt_unit = _unit(s.get("voltage_unit", "1V"), "V", where)
    templates = {
        t.args[0]: t
        for t in top.groups
        if t.kind in ("lu_table_template", "power_lut_template") and t.args
    }
    cells = {}
    for c in top.children("cell"):
        cell = _cell(c, templates, where)
        cells[cell.name] = cell
    if not cells:
        raise LibertyError(f"{where}: library has no cells")
    return Library(
        top.args[0] if top.args else path.stem,
        float(s["nom_voltage"]),
        _unit(s["time_unit"], "s", where),
        cap_unit,
        _unit(s["leakage_power_unit"], "W", where),
        cap_unit * volt_unit**2,
        cells,
        volt_unit,
        path,
    )


def read_liberty(path: Path = DEFAULT_LIBERTY) -> Library:
    """Read a Liberty file. A missing file is a LibertyError naming it (and, for the default
    library, the Debian package that installs it)."""
    path = Path(path)
    if not path.is_file():
        hint = (
            f"; install it with: apt-get install {APT_PACKAGE} (or make apt)"
            if path == DEFAULT_LIBERTY
            else ""
        )
        raise LibertyError(f"Liberty file not found: {path}{hint}")
    return library_from_text(path.read_text(), path)

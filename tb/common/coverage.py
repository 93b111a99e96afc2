"""Functional coverage model of the core (cocotb-coverage), one namespace per RTL config.

Bins depend on the configuration (patterns, pair selects, reachable error codes), so the cover
points are built per config at run time under `flexcim.<config>.*`; merged files from several
configs then keep their bins apart. Every bin listed here is reachable for its config.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db

from golden.config import HwConfig, csr_error_code, supported_patterns
from golden.datapath import wired_selects
from tb.common.jobs import Job
from tb.common.stalls import StallProfile

RESET_PHASES = ("idle", "wload", "aload", "out")
VALUE_CORNERS = ("w_min", "w_max", "w_zero_tile", "x_min", "x_max", "x_zero", "max_sum")


def error_examples(cfg: HwConfig) -> dict[int, tuple[int, int, int, int]]:
    """One (N, M, TOKENS, PASSES) per reachable STATUS error code (code 3 needs P >= 4)."""
    found: dict[int, tuple[int, int, int, int]] = {}
    m_values = range(0, 2 * cfg.P + 3)
    for n, m, t, np_ in itertools.product(m_values, m_values, (1, 0, cfg.MAX_TOK + 1), (1, 0)):
        found.setdefault(csr_error_code(n, m, t, np_, cfg), (n, m, t, np_))
    return {code: found[code] for code in sorted(found) if code}


def _tokens_bin(tokens: int, cfg: HwConfig) -> str:
    return "1" if tokens == 1 else "max" if tokens == cfg.MAX_TOK else "mid"


def value_corners(job: Job) -> list[str]:
    """Which value corners a job exercises (weights of used columns, activations, sums)."""
    w, x = job.weight, job.x
    hits = []
    for name, cond in (
        ("w_min", (w == -128).any()),
        ("w_max", (w == 127).any()),
        ("w_zero_tile", not w.any()),
        ("x_min", (x == -128).any()),
        ("x_max", (x == 127).any()),
        ("x_zero", not x.any()),
    ):
        if cond:
            hits.append(name)
    # Largest possible column sum: every weight and activation -128 on a dense enough mask.
    nnz = np.count_nonzero(w, axis=1)
    if nnz.any() and (job.expected[:, : w.shape[0]] == 16384 * nnz).all():
        hits.append("max_sum")
    return hits


class CoreCoverage:
    """Cover points and crosses of one configuration; call the `sample_*` hooks."""

    def __init__(self, cfg_name: str, cfg: HwConfig) -> None:
        self.root = f"flexcim.{cfg_name}"
        self.cfg = cfg
        r = self.root
        patterns = supported_patterns(cfg.P)
        codes = [0, *error_examples(cfg)]
        kind = cfg.core_kind
        spill = kind == "fixed" or (kind == "flexcim" and cfg.G != 1)
        spill_bins = [False, True] if spill else [False]
        # Stored pair selects that really route a pair: FlexCiM's, the fixed 2:4 core's low bit.
        stored_q = kind == "flexcim" or cfg.fixed_pattern == (2, 4)

        def point(name: str, bins: list, xf: Callable | None = None) -> CoverPoint:
            return CoverPoint(f"{r}.{name}", xf=xf, bins=bins)

        def wrap(hook: Callable, *decorators: Callable) -> Callable:
            # Innermost first, so a cross is built after the points it names exist.
            for decorate in decorators:
                hook = decorate(hook)
            return hook

        def cross(name: str, items: list[str]) -> CoverCross:
            return CoverCross(f"{r}.{name}", items=[f"{r}.{item}" for item in items])

        def job_hook(job: Job, multipass: bool, tokens_bin: str, spill: bool) -> None:
            """Sampled once per completed job."""

        self._job = wrap(
            job_hook,
            point("job.pattern", patterns, lambda j, mp, tb, sp: (j.n, j.m)),
            point("job.multipass", [False, True], lambda j, mp, tb, sp: mp),
            point("job.tokens", ["1", "mid", "max"], lambda j, mp, tb, sp: tb),
            # One select per cell (G = 1) never spills an N:M mask, nor does the dense DCiM: there
            # is only one bin. A fixed-pattern core "spills" a non-compliant layer (runs it dense).
            point("mask.spill", spill_bins, lambda j, mp, tb, sp: sp),
        )
        if cfg.fixed_pattern is None:
            self._job = cross("job.pattern_x_multipass", ["job.pattern", "job.multipass"])(
                self._job
            )
        else:
            # A baseline runs every layer pattern at its own one: a layer's passes follow from
            # its compliance (sparse, or dense: `mask.spill`), not from its n:m.
            self._job = cross("job.spill_x_multipass", ["mask.spill", "job.multipass"])(self._job)

        def slot_hook(q: int, meta: int) -> None:
            """Sampled per distinct (q, b) of the cells holding non-zero weights."""

        self._slot = wrap(
            slot_hook,
            # The pair each non-zero cell really reads (a baseline's wiring: wired_selects).
            point("slot.q", list(range(cfg.q_values)), lambda q, b: q),
            point("slot.meta", [0, 1], lambda q, b: b),
        )
        self._slot = cross("slot.q_x_meta", ["slot.q", "slot.meta"])(self._slot)

        def select_hook(group: int) -> None:
            """Sampled per select group holding a non-zero select under a non-zero weight."""

        def differ_hook(differ: bool) -> None:
            """Sampled per job: did some slot row's select groups hold different selects?"""

        # Per G: every one of the C/G select fields of the weight beat carried a non-zero
        # select, and (G < C) rows whose groups select different pairs really ran.
        # (Only where a stored select routes a pair: not on the dense or fixed 1:2 cores.)
        self._select = (
            point("select.group", list(range(cfg.SELS)))(select_hook) if stored_q else select_hook
        )
        differ_bins = [False, True] if cfg.SELS > 1 and stored_q else [False]
        self._differ = point("select.groups_differ", differ_bins)(differ_hook)

        def beat_row_hook(row: int) -> None:
            """Sampled per row j of an activation beat that carried a live row (a non-zero
            activation into a macro row holding non-zero weights)."""

        def rows_differ_hook(differ: bool) -> None:
            """Sampled per job: did some activation beat carry two live rows that differ?"""

        # Per RPB: every row position of a multi-row activation beat carried live data, and
        # (RPB > 1) beats whose rows differ really ran (a row taking another's data shows).
        self._beat_row = point("beat.row", list(range(cfg.RPB)))(beat_row_hook)
        beat_bins = [False, True] if cfg.RPB > 1 else [False]
        self._rows_differ = point("beat.rows_differ", beat_bins)(rows_differ_hook)

        def corner_hook(corner: str) -> None:
            """Sampled per value corner present in a job."""

        self._corner = point("values.corner", list(VALUE_CORNERS))(corner_hook)

        def stall_hook(w: bool, a: bool, y: bool, counted: bool) -> None:
            """Sampled per job with the stall profile used and whether STALLS counted any."""

        self._stall = wrap(
            stall_hook,
            point("stream.w_gap", [False, True], lambda w, a, y, c: w),
            point("stream.a_gap", [False, True], lambda w, a, y, c: a),
            point("stream.y_backpressure", [False, True], lambda w, a, y, c: y),
            point("stream.stalls_counted", [False, True], lambda w, a, y, c: c),
        )
        self._stall = cross(
            "stream.w_x_a_x_y", ["stream.w_gap", "stream.a_gap", "stream.y_backpressure"]
        )(self._stall)

        def error_hook(code: int) -> None:
            """Sampled per start: 0 for a valid one, the STATUS code for a rejected one."""

        def reset_hook(phase: str) -> None:
            """Sampled per reset with the phase the core was in."""

        self._error = point("control.error_code", codes)(error_hook)
        self._reset = point("control.reset_phase", list(RESET_PHASES))(reset_hook)

    def sample_job(self, job: Job, profile: StallProfile, stalls: int) -> None:
        self._job(job, job.passes > 1, _tokens_bin(job.tokens, self.cfg), job.spilled)
        tile = job.tile
        cell_q = tile.cell_q()  # [passes, P, R, C]: the select each cell sees
        nz = tile.weight != 0
        # (q, meta) pairs the non-zero cells really use (a baseline's wiring), as codes 2q + b
        # (a set over cells: ~8 ms a job)
        wired_q, wired_b = wired_selects(cell_q, tile.meta, self.cfg)
        seen = np.bincount(2 * wired_q[nz].astype(np.int64) + wired_b[nz], minlength=2)
        for code in np.flatnonzero(seen):
            self._slot(int(code) // 2, int(code) % 2)
        # Select groups (C/G per slot row) of the cells holding non-zero weights.
        rows = (*nz.shape[:3], self.cfg.SELS, -1)
        live = nz.reshape(rows).any(-1)  # [passes, P, R, C/G]
        q_sel = cell_q.reshape(rows)[..., 0].astype(np.int64)
        for g in sorted({int(g) for g in np.nonzero(live & (q_sel > 0))[3]}):
            self._select(g)
        q_hi = np.where(live, q_sel, -1).max(-1)
        q_lo = np.where(live, q_sel, self.cfg.P).min(-1)
        self._differ(bool((live.any(-1) & (q_hi > q_lo)).any()))
        self._sample_beats(job)
        for corner in value_corners(job):
            self._corner(corner)
        self._stall(*profile.key, stalls > 0)
        self._error(0)

    def _sample_beats(self, job: Job) -> None:
        """Rows j of the activation beats (RPB per beat) that carried live data, and whether
        some beat's live rows differ."""
        cfg = self.cfg
        passes, tokens = job.rows.shape[:2]
        shape = (passes, tokens, cfg.R // cfg.RPB, cfg.RPB)
        weighted = (job.tile.weight != 0).any(axis=(1, 3))  # [passes, R]
        live = (job.rows != 0).any(-1) & weighted[:, None, :]  # [passes, tokens, R]
        live = live.reshape(shape)
        for j in np.flatnonzero(live.any(axis=(0, 1, 2))):
            self._beat_row(int(j))
        rows = job.rows.reshape(*shape, -1).astype(np.int64)
        hi = np.where(live[..., None], rows, np.iinfo(np.int64).min).max(axis=3)
        lo = np.where(live[..., None], rows, np.iinfo(np.int64).max).min(axis=3)
        differ = (live.sum(axis=3) >= 2) & (hi > lo).any(-1)
        self._rows_differ(bool(differ.any()))

    def sample_error(self, code: int) -> None:
        self._error(code)

    def sample_reset(self, phase: str) -> None:
        self._reset(phase)

    @property
    def percentage(self) -> float:
        return float(coverage_db[self.root].cover_percentage)

    def missing(self) -> list[str]:
        """Names of the cover items below 100% with their empty bins (for failure messages)."""
        out = []
        for name in sorted(coverage_db):
            item = coverage_db[name]
            if name.startswith(self.root + ".") and isinstance(item, CoverPoint | CoverCross):
                empty = [b for b, hits in item.detailed_coverage.items() if not hits]
                if empty:
                    out.append(f"{name}: {empty}")
        return out

    @staticmethod
    def export(path: Path) -> None:
        """Write the whole coverage database of this process (cumulative) as YAML."""
        path.parent.mkdir(parents=True, exist_ok=True)
        coverage_db.export_to_yaml(filename=str(path))

"""The fast path's bulk-load files: a job's beats as $readmemh lines, $writememh read back.

Pure Python + golden (no simulator): tb.common.fast (cocotb), bench.ceiling (C++ driver) and
tests use it. Memory words are {tlast, tdata}: tlast above the beat's top bit.
"""

from __future__ import annotations

from pathlib import Path

from golden.config import HwConfig
from tb.common.jobs import Job


def job_memory_lines(job: Job, cfg: HwConfig) -> tuple[list[str], list[str]]:
    """The hex lines of a job's weight and activation memories: {tlast, tdata} per beat.

    tlast closes each pass of weights and each token of activations, as the cocotbext-axi
    driver frames them (the core ignores tlast on its inputs).
    """
    w_lines: list[str] = []
    a_lines: list[str] = []
    w_last, a_last = 1 << cfg.W_TDATA, 1 << cfg.A_TDATA
    for p, beats in enumerate(job.w_beats):
        w_lines += [f"{beat:x}" for beat in beats[:-1]]
        w_lines.append(f"{beats[-1] | w_last:x}")
        for token in job.a_beats[p]:
            a_lines += [f"{beat:x}" for beat in token[:-1]]
            a_lines.append(f"{token[-1] | a_last:x}")
    return w_lines, a_lines


def read_memh(path: Path) -> list[int]:
    """Values of a $writememh file (one per line; comments and @address lines skipped)."""
    values = []
    for raw in path.read_text().splitlines():
        line = raw.split("//", 1)[0].strip()
        if line and not line.startswith("@"):
            values.append(int(line, 16))
    return values

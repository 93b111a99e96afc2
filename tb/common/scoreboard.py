"""Checkers: outputs against golden (in order, exact) and CYCLES/STALLS against the cycle model."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from tb.common.jobs import Job
from tb.common.monitor import OutputFrame


class Scoreboard:
    """In-order comparison of output frames with the jobs' golden predictions."""

    def __init__(self) -> None:
        self._expected: deque[Job] = deque()
        self.compared_beats = 0
        self.compared_macs = 0  # dense-equivalent MACs of the compared outputs
        self.compared_useful_macs = 0  # of which with a non-zero weight
        self.errors: list[str] = []

    def expect(self, job: Job) -> None:
        self._expected.append(job)

    def flush(self) -> int:
        """Forget outstanding predictions (after a reset); returns how many were dropped."""
        dropped = len(self._expected)
        self._expected.clear()
        return dropped

    @property
    def outstanding(self) -> int:
        return len(self._expected)

    def on_frame(self, frame: OutputFrame) -> None:
        """Monitor callback. Errors are recorded and re-raised by `check` in the test's flow."""
        if not self._expected:
            self.errors.append(f"unexpected output frame of {frame.raw_beats} beats")
            return
        job = self._expected.popleft()
        if frame.raw_beats != job.tokens:
            self.errors.append(
                f"{job.label}: tlast after {frame.raw_beats} beats, expected {job.tokens}"
            )
            return
        diff = np.argwhere(frame.values != job.expected)
        if diff.size:
            t, c = (int(i) for i in diff[0])
            self.errors.append(
                f"{job.label}: output mismatch at token {t} column {c}: "
                f"got {frame.values[t, c]}, want {job.expected[t, c]} "
                f"({len(diff)} of {job.expected.size} values wrong)"
            )
            return
        self.compared_beats += job.tokens
        self.compared_macs += job.macs
        self.compared_useful_macs += job.useful_macs

    def check(self) -> None:
        """Raise the first recorded error."""
        assert not self.errors, self.errors[0]


@dataclass(frozen=True)
class CycleSample:
    label: str
    cycles: int
    stalls: int
    model: int


class CycleChecker:
    """CYCLES - STALLS == model always; CYCLES == model and STALLS == 0 without stalls."""

    def __init__(self) -> None:
        self.checked = 0
        self.samples: list[CycleSample] = []

    def check(self, job: Job, cycles: int, stalls: int, stall_free: bool) -> None:
        sample = CycleSample(job.label, cycles, stalls, job.model_cycles)
        self.samples.append(sample)
        assert cycles - stalls == job.model_cycles, (
            f"{job.label}: CYCLES {cycles} - STALLS {stalls} = {cycles - stalls}, "
            f"golden.cycle_model says {job.model_cycles} (passes {job.passes}, T {job.tokens})"
        )
        if stall_free:
            assert stalls == 0 and cycles == job.model_cycles, (
                f"{job.label}: no stall was driven but STALLS = {stalls}, CYCLES = {cycles} "
                f"(model {job.model_cycles})"
            )
        self.checked += 1

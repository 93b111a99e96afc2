"""The RTL assertion checker's failure log (rtl/flexcim_core_assert.sv) seen from cocotb.

The checker counts failures in ``u_assert.fail_count`` and keeps the first failing
assertion's name in ``u_assert.first_fail``. :class:`AssertionWatcher` wakes on every change
of the count and raises, which fails the running cocotb test with the assertion's name;
:meth:`AssertionWatcher.check` is the same check on demand (end of a job, end of a test).
"""

from __future__ import annotations

import cocotb
from cocotb.handle import SimHandleBase
from cocotb.triggers import ValueChange


def _unsigned(handle: SimHandleBase) -> int:
    value = handle.value
    return value if isinstance(value, int) else value.to_unsigned()


class RtlAssertionFailed(AssertionError):
    """An assertion of the RTL checker failed; the message names it."""


class AssertionWatcher:
    """Fails the running test as soon as the core's checker records a failure."""

    def __init__(self, dut: SimHandleBase) -> None:
        self._log = dut.u_assert
        self._task = cocotb.start_soon(self._watch())

    def pause(self) -> None:
        """Stop failing the test on a new failure (a negative test provokes one on purpose)."""
        self._task.cancel()

    def resume(self) -> None:
        """Forget recorded failures and watch again."""
        self._log.fail_count.value = 0
        self._log.first_fail.value = 0
        self._task = cocotb.start_soon(self._watch())

    def failures(self) -> int:
        return _unsigned(self._log.fail_count)

    def first_failure(self) -> str:
        raw = _unsigned(self._log.first_fail)
        return raw.to_bytes((raw.bit_length() + 7) // 8, "big").decode("ascii", "replace")

    def check(self) -> None:
        count = self.failures()
        if count:
            raise RtlAssertionFailed(
                f"RTL assertion {self.first_failure()} failed ({count} assertion failures, "
                "see FLEXCIM-ASSERT lines in the simulator log)"
            )

    def expect_failed(self, name: str, provoked: str) -> None:
        """A negative test's check: the checker recorded a failure and the first was `name`
        (`provoked` says what the test did, for the message when nothing failed)."""
        try:
            self.check()
        except RtlAssertionFailed as err:
            assert name in str(err), f"another assertion failed: {err}"
        else:
            raise AssertionError(f"{provoked} passed every RTL assertion")

    async def _watch(self) -> None:
        while True:
            await ValueChange(self._log.fail_count)
            self.check()

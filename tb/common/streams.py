"""AXI4-Stream source and sink of whole beats: the protocol tests' stream endpoints.

cocotbext-axi's AxiStreamSource/AxiStreamSink move frames as bytes: every beat is packed and
unpacked one byte lane at a time in Python and every endpoint wakes on every clock edge. On
the paper core that was most of the testbench's time (bench.tb_bench). These endpoints keep
the same handshake rules and the API subset the environment uses (``send_nowait``, ``clear``,
``count``, ``empty``, ``idle``, ``pause``, ``set_pause_generator``, ``recv``) but move one
tdata integer per beat and do one thing per clock:

- they act at the falling edge, half a cycle away from the sampling edge: every flip-flop
  output is settled, so tvalid/tready read there is what the next rising edge samples, and
  writes apply at once (``Immediate``) instead of costing cocotb a ReadWrite phase each;
- a source holding a beat the core does not take sleeps until ``tready`` rises, and a sink
  with nothing offered sleeps until ``tvalid`` rises (or its pause setting changes);
- on Verilator a source steps from the simulator's falling-edge callback itself, re-armed
  edge by edge while it has work, and writes through the simulator object's own setters:
  no cocotb task switch per beat (``FLEXCIM_SOURCE_DRIVE=task`` goes back to one await per
  edge). On the paper core that made the protocol tests 1.37x faster (bench.tb_bench tests,
  six interleaved pairs, seed 12345: median 21.2k vs 15.4k and 25.7k vs 18.7k cycles/s).

The source's one assumption: the slave's tready is a function of its registered state, not
of this cycle's tvalid/tdata (the core's handshakes are registered, docs/ARCHITECTURE.md). A
slave breaking it gets beats sent twice or lost, which the scoreboard reports. The sink needs
nothing beyond AXI4-Stream itself (tvalid and tdata never wait for tready).
``FLEXCIM_STREAMS=cocotbext`` swaps in cocotbext-axi itself (the `Cocotbext*` adapters below)
as an independent reference that samples at the rising edge; the regression runs its stall
group that way.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import cocotb
from cocotb import simulator
from cocotb.handle import Deposit, Immediate, SimHandleBase
from cocotb.task import Task
from cocotb.triggers import Event, FallingEdge, First, RisingEdge, ValueChange
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

try:  # cocotb's own code for an immediate write (private; cocotb is pinned in pyproject.toml)
    from cocotb.handle import _GPISetAction

    _NO_DELAY: int | None = _GPISetAction.NO_DELAY.value
except (ImportError, AttributeError):  # another cocotb: every write takes the public setter
    _NO_DELAY = None

STREAM_KINDS = ("lean", "cocotbext")
ON_VERILATOR = "verilator" in cocotb.SIM_NAME.lower() if cocotb.SIM_NAME else False
# Raw simulator callbacks (cocotb's C extension, what its edge triggers use underneath): the
# lean source's per-beat step runs from them on Verilator (BeatSource, the callback drive).
_register = getattr(simulator, "register_value_change_callback", None)
_FALLING, _RISING = getattr(simulator, "FALLING", None), getattr(simulator, "RISING", None)
SOURCE_DRIVES = ("callback", "task")


def source_drive() -> str:
    """FLEXCIM_SOURCE_DRIVE: how a lean source steps, `callback` (the default where Verilator
    and raw callbacks are there) or `task` (one cocotb task await per edge; Icarus always)."""
    can_callback = ON_VERILATOR and _register is not None
    drive = os.environ.get("FLEXCIM_SOURCE_DRIVE", "callback" if can_callback else "task")
    if drive not in SOURCE_DRIVES:
        raise ValueError(f"FLEXCIM_SOURCE_DRIVE={drive!r}: choose one of {SOURCE_DRIVES}")
    return drive if can_callback else "task"


async def _reraise(err: BaseException) -> None:
    """Raise `err` in a task, which fails the running test (a simulator callback cannot)."""
    raise err


def stream_kind() -> str:
    """FLEXCIM_STREAMS: `lean` (this module; the default on Verilator) or `cocotbext`
    (cocotbext-axi; the default on Icarus, whose runs are small and where the falling-edge
    drive trips the RTL checker's w_held_until_ready: not understood yet, see tb/README.md)."""
    default = "lean" if ON_VERILATOR else "cocotbext"
    kind = os.environ.get("FLEXCIM_STREAMS", default)
    if kind not in STREAM_KINDS:
        raise ValueError(f"FLEXCIM_STREAMS={kind!r}: choose one of {STREAM_KINDS}")
    return kind


def _put(handle: SimHandleBase, value: int | str) -> None:
    """Write at once on Verilator. On Icarus an immediate write to a port net was not seen by
    the core (jobs hung), so there the write waits for this step's ReadWrite phase."""
    handle.value = Immediate(value) if ON_VERILATOR else Deposit(value)


def _raw_writer(handle: SimHandleBase, setter: str) -> Callable[[Any], None] | None:
    """The simulator object's own immediate `setter` on Verilator (None elsewhere)."""
    raw = getattr(getattr(handle, "_handle", None), setter, None)
    if not ON_VERILATOR or _NO_DELAY is None or raw is None:
        return None
    action = _NO_DELAY
    return lambda value: raw(action, value)


def _binstr_writer(handle: SimHandleBase) -> Callable[[str], None]:
    """A writer of binary strings already checked for length and characters (`send_nowait`).

    On Verilator it hands the string to the simulator object as cocotb's immediate write does,
    minus cocotb's re-validation of every character: on the paper core's 1024-bit weight bus
    that check was half the source's Python time per beat (cProfile, bench.tb_bench). Where
    that call is not there (Icarus, another cocotb) it is the public setter, `_put`.
    """
    return _raw_writer(handle, "set_signal_val_binstr") or (lambda value: _put(handle, value))


def _bit_writer(handle: SimHandleBase) -> Callable[[int], None]:
    """A writer of 0/1 to a 1-bit port: raw on Verilator, where it also serves the callback
    drive (cocotb's setter refuses writes while its last trigger was a ReadOnly, and a raw
    callback does not reset that), the public setter elsewhere."""
    return _raw_writer(handle, "set_signal_val_int") or (lambda value: _put(handle, value))


def _high(handle: SimHandleBase) -> bool:
    """The 1-bit signal reads 1 (X or Z, e.g. before the first reset edge, reads as 0)."""
    try:
        return int(handle.value) == 1
    except ValueError:
        return False


class _Endpoint:
    """Reset handling shared by source and sink: the run task stops while rst_ni is low."""

    def __init__(self, clock: SimHandleBase, reset_n: SimHandleBase) -> None:
        self._clock, self._reset_n = clock, reset_n
        self._pauses: Iterator[bool] | None = None
        self._pause = False
        self._pause_changed = Event()
        self._task: Task[None] | None = None
        self._started = False
        self._start()
        # cocotb cancels a test's tasks when it ends; this one's end also stops raw callbacks.
        self._reset_watch = cocotb.start_soon(self._watch_reset())

    @property
    def pause(self) -> bool:
        return self._pause

    @pause.setter
    def pause(self, value: bool) -> None:
        self._pause = bool(value)
        self._pause_changed.set()

    def set_pause_generator(self, generator: Iterator[bool] | None = None) -> None:
        """One pause flag per clock edge (True = pause), as cocotbext-axi's; None: no pauses."""
        self._pauses = generator
        self.pause = False

    def _paused(self) -> bool:
        if self._pauses is not None:
            self._pause = next(self._pauses)
        return self._pause

    async def _watch_reset(self) -> None:
        while True:
            await ValueChange(self._reset_n)
            try:
                level = int(self._reset_n.value)
            except ValueError:  # X or Z: neither in nor out of reset
                continue
            if level == 0 and self._started:
                self._stop()
                self._on_reset()
            elif level == 1 and not self._started:
                self._start()

    def _start(self) -> None:
        """Run the endpoint (at construction and when reset is released)."""
        self._started = True
        self._task = cocotb.start_soon(self._run())

    def _stop(self) -> None:
        """Stop the endpoint while reset is asserted."""
        self._started = False
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _attach(self, dut: SimHandleBase, prefix: str) -> None:
        """The stream's four handles, <prefix>_tdata/tvalid/tlast/tready (before __init__)."""
        self._data, self._valid, self._last, self._ready = (
            getattr(dut, f"{prefix}_{name}") for name in ("tdata", "tvalid", "tlast", "tready")
        )

    def _on_reset(self) -> None:
        raise NotImplementedError

    async def _run(self) -> None:
        raise NotImplementedError


class BeatSource(_Endpoint):
    """Drives <prefix>_tdata/tvalid/tlast from queued frames (sequences of tdata integers)."""

    def __init__(
        self, dut: SimHandleBase, prefix: str, clock: SimHandleBase, reset_n: SimHandleBase
    ) -> None:
        self._attach(dut, prefix)
        self._width = len(self._data)
        self._write_data = _binstr_writer(self._data)
        self._write_valid, self._write_last = _bit_writer(self._valid), _bit_writer(self._last)
        self._frames: deque[list[str]] = deque()
        self._frame: list[str] | None = None
        self._index = 0
        self._driving = False  # tvalid as driven
        self._lasting = False  # tlast as driven (written only when it changes)
        self._queued = Event()
        self._taken = False
        self._ready_now = _high(self._ready)  # tready, kept current by _mirror_ready
        self._callbacks = source_drive() == "callback"
        self._cb: simulator.sim_callback | None = None  # armed falling-edge callback
        self._ready_cb: simulator.sim_callback | None = None  # armed tready-rise callback
        _put(self._valid, 0)
        _put(self._last, 0)
        super().__init__(clock, reset_n)
        cocotb.start_soon(self._mirror_ready())

    async def _mirror_ready(self) -> None:
        """Track tready through its value changes: a read per beat would cost more (tready
        changes a few times per job; every change lands before the next falling edge)."""
        while True:
            await ValueChange(self._ready)
            self._ready_now = _high(self._ready)

    def send_nowait(self, beats: Sequence[int]) -> None:
        """Queue one frame; tlast marks its last beat."""
        if not beats:
            raise ValueError("a stream frame needs at least one beat")
        width = self._width
        if any(not 0 <= b < 1 << width for b in beats):
            raise ValueError(f"a beat does not fit the {width}-bit tdata")
        # As binary strings: cocotb writes a str without the range checks it does on an int
        # (two simulator queries per write), a sixth of a beat's cost on the paper core.
        self._frames.append([f"{b:0{width}b}" for b in beats])
        self._queued.set()
        self._arm()

    def clear(self) -> None:
        """Drop the queued frames (not the one on the bus: reset drops that)."""
        self._frames.clear()

    def count(self) -> int:
        return len(self._frames)

    def empty(self) -> bool:
        return not self._frames

    def idle(self) -> bool:
        return not self._frames and self._frame is None and not self._driving

    def _on_reset(self) -> None:
        self._frame, self._driving, self._lasting, self._taken = None, False, False, False
        _put(self._valid, 0)
        _put(self._last, 0)

    def _nothing_to_send(self) -> bool:
        return not self._driving and self._frame is None and not self._frames

    def _step(self) -> bool:
        """The source's work at one falling edge; True: the held beat waits for tready."""
        if self._taken:  # the rising edge since the last falling edge took the beat on the bus
            self._index += 1
            if self._index == len(self._frame):  # type: ignore[arg-type]
                self._frame = None
        elif self._driving:  # held, not taken: tvalid and tdata must stay
            if not self._ready_now:
                return True  # nothing changes before tready rises
            self._taken = True  # tready rose: the next rising edge takes it
            return False
        if self._frame is None and self._frames:
            self._frame, self._index = self._frames.popleft(), 0
        if self._frame is not None and not self._paused():
            self._write_data(self._frame[self._index])
            last = self._index == len(self._frame) - 1
            if last != self._lasting:
                self._write_last(int(last))
                self._lasting = last
            if not self._driving:
                self._write_valid(1)
                self._driving = True
        elif self._driving:
            self._write_valid(0)
            self._driving = False
        self._taken = self._driving and self._ready_now
        return False

    async def _run(self) -> None:
        """The task drive (Icarus, or a cocotb without raw callbacks): one await per edge."""
        edge, ready_rise = FallingEdge(self._clock), RisingEdge(self._ready)
        while True:
            if self._nothing_to_send():
                self._queued.clear()
                await self._queued.wait()
            await edge
            if self._step():
                await ready_rise

    # The callback drive (Verilator): `_step` runs straight from the simulator's falling-edge
    # callback, re-armed edge by edge while there is work, so a beat costs no task switch.
    def _start(self) -> None:
        if not self._callbacks:
            super()._start()
            return
        self._started = True
        if not self._nothing_to_send():
            self._arm()

    def _stop(self) -> None:
        if not self._callbacks:
            super()._stop()
            return
        self._started = False
        self._disarm()

    def _arm(self) -> None:
        """(Re)arm the falling-edge callback unless armed, stopped by reset, or not in use."""
        if self._callbacks and self._started and self._cb is None and self._ready_cb is None:
            self._cb = _register(self._clock._handle, self._on_edge, _FALLING)

    def _disarm(self) -> None:
        for cb in (self._cb, self._ready_cb):
            if cb is not None:
                cb.deregister()
        self._cb = self._ready_cb = None

    def _on_edge(self) -> None:
        self._cb = None
        if self._reset_watch.done():  # the test that made this source is over: stay off the bus
            self._disarm()
            return
        try:
            if self._step():
                self._ready_cb = _register(self._ready._handle, self._on_ready, _RISING)
            elif not self._nothing_to_send():
                self._arm()
        except BaseException as err:  # fail the test from a task: a callback cannot raise
            self._disarm()
            cocotb.start_soon(_reraise(err))

    def _on_ready(self) -> None:
        self._ready_cb = None
        if not self._reset_watch.done():
            self._arm()


class BeatSink(_Endpoint):
    """Takes <prefix>_tdata beats (tready from `pause` / the pause generator) into frames."""

    def __init__(
        self, dut: SimHandleBase, prefix: str, clock: SimHandleBase, reset_n: SimHandleBase
    ) -> None:
        self._attach(dut, prefix)
        self._frames: deque[list[int]] = deque()
        self._partial: list[int] = []
        self._readying = False  # tready as driven
        self._received = Event()
        _put(self._ready, 0)
        super().__init__(clock, reset_n)

    async def recv(self) -> list[int]:
        """The next complete frame, as its beats' tdata integers."""
        while not self._frames:
            self._received.clear()
            await self._received.wait()
        return self._frames.popleft()

    def _on_reset(self) -> None:
        self._partial, self._readying = [], False
        _put(self._ready, 0)

    async def _run(self) -> None:
        edge, valid_rise = FallingEdge(self._clock), RisingEdge(self._valid)
        while True:
            await edge
            offered = _high(self._valid)  # what the next rising edge samples
            ready = not self._paused()
            if ready != self._readying:
                _put(self._ready, int(ready))
                self._readying = ready
            if offered and ready:  # taken at the next rising edge; tdata is stable till then
                self._partial.append(int(self._data.value))
                if _high(self._last):
                    self._frames.append(self._partial)
                    self._partial = []
                    self._received.set()
            elif not offered:  # nothing to take before tvalid rises or tready must change
                self._pause_changed.clear()
                await First(valid_rise, self._pause_changed.wait())
            elif self._pauses is None:
                self._pause_changed.clear()
                await self._pause_changed.wait()  # held off by `pause` until it changes


class _CocotbextAdapter:
    """What both cocotbext-axi adapters add: the bus from `prefix` with an active-low reset,
    the beat size, quiet logs, and a pause generator that can be taken away."""

    def __init__(
        self, dut: SimHandleBase, prefix: str, clock: SimHandleBase, reset_n: SimHandleBase
    ) -> None:
        bus = AxiStreamBus.from_prefix(dut, prefix)
        super().__init__(bus, clock, reset_n, reset_active_level=False)
        self._beat_bytes = len(bus.tdata) // 8
        self.log.setLevel(logging.WARNING)  # per-frame INFO lines cost more than the sim

    def set_pause_generator(self, generator: Iterator[bool] | None = None) -> None:
        super().set_pause_generator(generator)
        self.pause = False  # a killed generator leaves its last value behind


class CocotbextBeatSource(_CocotbextAdapter, AxiStreamSource):
    """cocotbext-axi's source taking the same integer-beat frames as `BeatSource`."""

    def send_nowait(self, beats: Sequence[int]) -> None:  # type: ignore[override]
        data = b"".join(int(b).to_bytes(self._beat_bytes, "little") for b in beats)
        super().send_nowait(AxiStreamFrame(data))


class CocotbextBeatSink(_CocotbextAdapter, AxiStreamSink):
    """cocotbext-axi's sink returning frames as integer beats, as `BeatSink` does."""

    async def recv(self) -> list[int]:  # type: ignore[override]
        data = bytes((await super().recv()).tdata)
        size = self._beat_bytes
        if len(data) % size:
            raise AssertionError(f"output frame of {len(data)} bytes, beats are {size}")
        return [int.from_bytes(data[i : i + size], "little") for i in range(0, len(data), size)]


def stream_source(
    dut: SimHandleBase, prefix: str, kind: str | None = None
) -> BeatSource | CocotbextBeatSource:
    """The source of stream `prefix` (clocked by clk_i, reset by rst_ni) of `kind`."""
    cls = BeatSource if (kind or stream_kind()) == "lean" else CocotbextBeatSource
    return cls(dut, prefix, dut.clk_i, dut.rst_ni)


def stream_sink(
    dut: SimHandleBase, prefix: str, kind: str | None = None
) -> BeatSink | CocotbextBeatSink:
    """The sink of stream `prefix` (clocked by clk_i, reset by rst_ni) of `kind`."""
    cls = BeatSink if (kind or stream_kind()) == "lean" else CocotbextBeatSink
    return cls(dut, prefix, dut.clk_i, dut.rst_ni)

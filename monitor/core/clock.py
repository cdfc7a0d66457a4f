"""Time, injectable: one Clock protocol, the real clock for the daemon and a manual one for tests.

Everything that reads the time, sleeps, sets a timer or bounds work by a deadline (the
scheduler and its probe timeouts, probes that keep state between runs, inspections, the trap
book, the simulated city) takes a Clock. Tests advance a ManualClock instead of sleeping: a
sleeper wakes, a timer fires and a timeout expires when the test moves time past its deadline,
and never in real time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "TimeoutScope", "TimerHandle"]


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class TimeoutScope(Protocol):
    """``async with`` a deadline, as ``asyncio.timeout``: when the deadline passes, the body is
    cancelled and the block raises ``TimeoutError``."""

    async def __aenter__(self) -> object: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None: ...


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; for intervals and deadlines."""
        ...

    def time(self) -> float:
        """Unix time; for timestamps people read."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return ``seconds`` later on this clock."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return once ``monotonic() >= deadline``."""
        ...

    def call_at(self, deadline: float, callback: Callable[[], object]) -> TimerHandle:
        """Call ``callback`` on the event loop once ``monotonic() >= deadline``."""
        ...

    def timeout(self, seconds: float) -> TimeoutScope:
        """A scope that times out ``seconds`` from now on this clock."""
        ...

    def timeout_at(self, deadline: float) -> TimeoutScope:
        """A scope that times out once ``monotonic() >= deadline``."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def call_at(self, deadline: float, callback: Callable[[], object]) -> TimerHandle:
        return asyncio.get_running_loop().call_at(self._loop_time(deadline), callback)

    def timeout(self, seconds: float) -> TimeoutScope:
        return asyncio.timeout(seconds)

    def timeout_at(self, deadline: float) -> TimeoutScope:
        return asyncio.timeout_at(self._loop_time(deadline))

    @staticmethod
    def _loop_time(deadline: float) -> float:
        # The loop's clock is time.monotonic() on every platform asyncio supports, but convert
        # anyway so a custom loop clock cannot shift our deadlines.
        loop = asyncio.get_running_loop()
        return loop.time() + (deadline - time.monotonic())


class ManualClock:
    """A clock that moves only when told to; sleepers, timers and timeouts fire in deadline
    order as ``advance`` passes their deadlines.

    ``set_time`` steps the wall clock alone (as an operator or NTP might), leaving the
    monotonic clock and everything waiting on it where they are.
    """

    def __init__(self, start: float = 1_000.0, wall: float = 1_780_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall - start
        self._sleepers: list[tuple[float, int, asyncio.Future[None] | _ManualTimer]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now + self._wall_offset

    def set_time(self, wall: float) -> None:
        """Step the wall clock to ``wall``; the monotonic clock does not move."""
        self._wall_offset = wall - self._now

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now + seconds)

    async def sleep_until(self, deadline: float) -> None:
        if deadline <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._seq), future))
        await future

    def call_at(self, deadline: float, callback: Callable[[], object]) -> TimerHandle:
        timer = _ManualTimer(callback)
        heapq.heappush(self._sleepers, (deadline, next(self._seq), timer))
        return timer

    def timeout(self, seconds: float) -> TimeoutScope:
        return _TimerTimeout(self, self._now + seconds)

    def timeout_at(self, deadline: float) -> TimeoutScope:
        return _TimerTimeout(self, deadline)

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking each sleeper at its deadline and letting the tasks it
        starts run before time moves on."""
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go backwards")
        target = self._now + seconds
        while True:
            await _settle()
            if not self._sleepers or self._sleepers[0][0] > target:
                break
            deadline, _, waiter = heapq.heappop(self._sleepers)
            self._now = max(self._now, deadline)
            if isinstance(waiter, _ManualTimer):
                waiter.fire()
            elif not waiter.done():
                waiter.set_result(None)
        self._now = target
        await _settle()


class _ManualTimer:
    __slots__ = ("_callback", "cancelled")

    def __init__(self, callback: Callable[[], object]) -> None:
        self._callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        if not self.cancelled:
            self._callback()


class _TimerTimeout:
    """``asyncio.timeout`` whose deadline is a timer on a Clock rather than on the loop's clock.

    The ``asyncio.Timeout`` inside does the delicate part (cancel the task, and on exit turn
    that cancellation, and only that one, into ``TimeoutError``); the clock only says when.
    """

    __slots__ = ("_clock", "_deadline", "_scope", "_timer")

    def __init__(self, clock: Clock, deadline: float) -> None:
        self._clock = clock
        self._deadline = deadline
        self._scope = asyncio.timeout(None)
        self._timer: TimerHandle | None = None

    async def __aenter__(self) -> None:
        await self._scope.__aenter__()
        if self._clock.monotonic() >= self._deadline:
            self._expire()
        else:
            self._timer = self._clock.call_at(self._deadline, self._expire)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self._scope.__aexit__(exc_type, exc, tb)

    def _expire(self) -> None:
        self._timer = None
        # A deadline at or before the loop's present cancels the body on the loop's next turn.
        self._scope.reschedule(asyncio.get_running_loop().time())


async def _settle(rounds: int = 20) -> None:
    # Several loop iterations so that chains of ready callbacks (task → task) complete.
    for _ in range(rounds):
        await asyncio.sleep(0)

"""Time, injectable: the real clock for the daemon and a manual one for tests.

Schedulers, inspections and the simulator take a Clock, so tests advance time instead of
sleeping for it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "TimerHandle"]


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; for intervals and deadlines."""
        ...

    def time(self) -> float:
        """Unix time; for timestamps people read."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return once ``monotonic() >= deadline``."""
        ...

    def call_at(self, deadline: float, callback: Callable[[], object]) -> TimerHandle:
        """Call ``callback`` on the event loop once ``monotonic() >= deadline``."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def call_at(self, deadline: float, callback: Callable[[], object]) -> TimerHandle:
        loop = asyncio.get_running_loop()
        # The loop's clock is time.monotonic() on every platform asyncio supports, but convert
        # anyway so a custom loop clock cannot shift our deadlines.
        return loop.call_at(loop.time() + (deadline - time.monotonic()), callback)


class ManualClock:
    """A clock that moves only when told to; sleepers wake in deadline order."""

    def __init__(self, start: float = 1_000.0, wall: float = 1_780_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall - start
        self._sleepers: list[tuple[float, int, asyncio.Future[None] | _ManualTimer]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now + self._wall_offset

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

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking each sleeper at its deadline and letting the tasks it
        starts run before time moves on."""
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


async def _settle(rounds: int = 20) -> None:
    # Several loop iterations so that chains of ready callbacks (task → task) complete.
    for _ in range(rounds):
        await asyncio.sleep(0)

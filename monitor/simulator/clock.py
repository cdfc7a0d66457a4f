"""Simulated time for the fleet: a Clock whose seconds pass ``speed`` times faster than those of
the Clock it runs on.

``SimClock`` is a ``monitor.core.clock.Clock`` built on another one, its ``source``: the system
clock in a running simulation, a ``ManualClock`` in tests, which advance it by hand so nothing
ever sleeps. Its ``time()`` is the simulated city's wall time, from ``start``; its
``monotonic()`` counts simulated seconds; its sleeps, timers and timeouts are in simulated
seconds and wait on the source. Local time (for the daily traffic profile) is taken in the
fleet's time zone, Asia/Shanghai by default.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.core.clock import Clock, SystemClock, TimeoutScope, TimerHandle

__all__ = ["DEFAULT_TIMEZONE", "SimClock"]

DEFAULT_TIMEZONE = "Asia/Shanghai"


class SimClock:
    """Simulated time: ``start + (source.monotonic() - source_at_start) * speed``.

    Changing ``speed`` re-anchors the clock at the current simulated instant, so simulated time
    never jumps, it only starts running faster or slower from then on. A sleep, timer or
    timeout already waiting keeps the source deadline it was given at the old speed.
    ``start`` defaults to the source's wall time.
    """

    def __init__(
        self,
        start: float | None = None,
        *,
        speed: float = 1.0,
        source: Clock | None = None,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.source: Clock = source or SystemClock()
        self._anchor_real = self.source.monotonic()
        self._anchor_mono = self._anchor_real
        self._anchor_wall = self.source.time() if start is None else float(start)
        self._speed = float(speed)
        self.tz = ZoneInfo(timezone)

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        now_real = self.source.monotonic()
        elapsed = (now_real - self._anchor_real) * self._speed
        self._anchor_wall += elapsed
        self._anchor_mono += elapsed
        self._anchor_real = now_real
        self._speed = float(speed)

    def time(self) -> float:
        """Simulated wall time, seconds since the Unix epoch."""
        return self._anchor_wall + (self.source.monotonic() - self._anchor_real) * self._speed

    def monotonic(self) -> float:
        """Simulated seconds on a clock that never jumps."""
        return self._anchor_mono + (self.source.monotonic() - self._anchor_real) * self._speed

    def local(self, t: float | None = None) -> datetime:
        """Simulated time as an aware datetime in the fleet's zone."""
        return datetime.fromtimestamp(self.time() if t is None else t, self.tz)

    async def sleep(self, seconds: float) -> None:
        await self.source.sleep(seconds / self._speed)

    async def sleep_until(self, deadline: float) -> None:
        await self.source.sleep_until(self._on_source(deadline))

    def call_at(self, deadline: float, callback: Callable[[], object]) -> TimerHandle:
        return self.source.call_at(self._on_source(deadline), callback)

    def timeout(self, seconds: float) -> TimeoutScope:
        return self.source.timeout(seconds / self._speed)

    def timeout_at(self, deadline: float) -> TimeoutScope:
        return self.source.timeout_at(self._on_source(deadline))

    def _on_source(self, deadline: float) -> float:
        """The source's monotonic time at which this clock's monotonic time reaches
        ``deadline``, at the present speed."""
        return self._anchor_real + (deadline - self._anchor_mono) / self._speed

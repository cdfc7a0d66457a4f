"""Simulated time for the fleet: an epoch clock that runs ``speed`` times faster than real time.

The clock reads an injectable monotonic source, so tests drive it with a ``ManualSource`` they
advance by hand and nothing ever sleeps. Local time (for the daily traffic profile) is taken in
the fleet's time zone, Asia/Shanghai by default.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["DEFAULT_TIMEZONE", "ManualSource", "SimClock", "TimeSource"]

DEFAULT_TIMEZONE = "Asia/Shanghai"

#: A monotonic time source in seconds, like ``time.monotonic``.
TimeSource = Callable[[], float]


class ManualSource:
    """A monotonic source that only moves when told to: the clock of every simulator test."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic source cannot go backwards")
        self._now += seconds


class SimClock:
    """Simulated epoch time: ``start + (source() - source_at_start) * speed``.

    Changing ``speed`` re-anchors the clock at the current simulated instant, so simulated time
    never jumps, it only starts running faster or slower from then on.
    """

    def __init__(
        self,
        start: float | None = None,
        *,
        speed: float = 1.0,
        source: TimeSource = time.monotonic,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._source = source
        self._anchor_real = source()
        self._anchor_sim = time.time() if start is None else float(start)
        self._speed = float(speed)
        self.tz = ZoneInfo(timezone)

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        now_real = self._source()
        self._anchor_sim += (now_real - self._anchor_real) * self._speed
        self._anchor_real = now_real
        self._speed = float(speed)

    def now(self) -> float:
        """Simulated wall time, seconds since the Unix epoch."""
        return self._anchor_sim + (self._source() - self._anchor_real) * self._speed

    def local(self, t: float | None = None) -> datetime:
        """Simulated time as an aware datetime in the fleet's zone."""
        return datetime.fromtimestamp(self.now() if t is None else t, self.tz)

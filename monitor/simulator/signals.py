"""Time-shaped signals for the simulated devices: the daily traffic profile and smooth noise.

Everything here is a pure function of simulated time and a seed key, so a value does not depend
on how often, or in which order, devices are polled.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.simulator.clock import DEFAULT_TIMEZONE

__all__ = [
    "DEFAULT_PROFILE",
    "DailyProfile",
    "key_of",
    "smooth_noise",
    "unit_noise",
]

#: Share of the busy-hour load in each local hour 00–23. A morning busy hour (10:00–11:00)
#: and an evening one (20:00–21:00) both reach 1.0; the night falls to about a sixth. This is
#: the usual two-humped shape of a city's emergency and dispatch traffic.
DEFAULT_PROFILE: tuple[float, ...] = (
    0.32, 0.24, 0.19, 0.16, 0.15, 0.18,  # 00–05
    0.28, 0.48, 0.70, 0.88, 1.00, 0.93,  # 06–11
    0.78, 0.72, 0.80, 0.85, 0.88, 0.92,  # 12–17
    0.90, 0.96, 1.00, 0.86, 0.62, 0.44,  # 18–23
)  # fmt: skip

_HOUR = 3600.0
_MASK64 = (1 << 64) - 1


def key_of(*parts: object) -> int:
    """A stable 32-bit key for a tuple of names (``hash()`` of a str changes per process)."""
    return zlib.crc32("\x1f".join(str(p) for p in parts).encode())


def unit_noise(key: int, bucket: int) -> float:
    """A reproducible pseudo-random value in [-1, 1) for one (key, bucket) pair."""
    # splitmix64 finaliser: cheap, well mixed, and needs no generator state.
    z = (key * 0x9E3779B97F4A7C15 + bucket * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return (z >> 11) / float(1 << 52) - 1.0


def smooth_noise(key: int, t: float, period: float) -> float:
    """Value noise in [-1, 1]: random values every ``period`` seconds, eased in between.

    It behaves like a slow, mean-reverting random walk, yet any instant can be evaluated on its
    own, which is what a lazily polled model needs.
    """
    x = t / period
    bucket = math.floor(x)
    frac = x - bucket
    ease = frac * frac * (3.0 - 2.0 * frac)
    a = unit_noise(key, bucket)
    b = unit_noise(key, bucket + 1)
    return a + (b - a) * ease


class DailyProfile:
    """A piecewise-constant daily load shape by local hour, normalised so its peak is 1.0.

    Rates that follow it are constant within each local hour, so a Poisson process driven by
    it can be simulated exactly, segment by segment.
    """

    def __init__(
        self, hourly: Sequence[float] = DEFAULT_PROFILE, timezone: str = DEFAULT_TIMEZONE
    ) -> None:
        values = [float(v) for v in hourly]
        if len(values) != 24:
            raise ValueError(f"a daily profile has 24 hourly values, got {len(values)}")
        if min(values) < 0 or max(values) <= 0:
            raise ValueError("profile values must be >= 0 with a positive peak")
        peak = max(values)
        self.hourly: tuple[float, ...] = tuple(v / peak for v in values)
        self.tz = ZoneInfo(timezone)
        self.busy_hours: tuple[int, ...] = tuple(h for h, v in enumerate(self.hourly) if v == 1.0)

    @classmethod
    def flat(cls, timezone: str = DEFAULT_TIMEZONE) -> DailyProfile:
        """Busy-hour load all day: the stationary process that Erlang formulas describe."""
        return cls([1.0] * 24, timezone)

    def _offset(self, t: float) -> float:
        offset = datetime.fromtimestamp(t, self.tz).utcoffset()
        return 0.0 if offset is None else offset.total_seconds()

    def segment(self, t: float) -> tuple[int, float, float]:
        """(local hour of day, profile value, end of this constant segment) at ``t``."""
        local = t + self._offset(t)
        hour_start = math.floor(local / _HOUR) * _HOUR
        hour = int(hour_start // _HOUR) % 24
        return hour, self.hourly[hour], t + (hour_start + _HOUR - local)

    def local_hour(self, t: float) -> int:
        return self.segment(t)[0]

    def value(self, t: float) -> float:
        return self.segment(t)[1]

    def integrate(self, t0: float, t1: float, rate: Callable[[float, float], float]) -> float:
        """∫ rate(segment_start, profile_value) dt over [t0, t1], one term per local hour."""
        total = 0.0
        t = t0
        while t < t1:
            _, value, end = self.segment(t)
            stop = min(end, t1)
            total += rate(t, value) * (stop - t)
            t = stop
        return total

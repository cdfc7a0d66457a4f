"""Growth trends and breach dates: the Theil–Sen line through daily busy hours (linear or
compound growth) and the day it reaches a given traffic."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from monitor.capacity.busy_hours import DailyBusyHour

__all__ = ["Growth", "TrendLine", "breach_date", "fit_trend", "theil_sen"]

#: ``compound``: traffic grows by a constant ratio per day (a straight line in log traffic),
#: the way growth is usually quoted ("x % a year"); ``linear``: by constant Erlangs per day.
Growth = Literal["linear", "compound"]


def theil_sen(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """``(slope, intercept)`` of the Theil–Sen line: the median of the slopes between every
    pair of points, and the median of ``y - slope·x``.

    Up to about 29 % of the points can be arbitrarily wrong before the slope follows them, so a
    few surge days or a gap in the data barely move it. O(n²) in time and memory: fine for the
    daily values of a few years.
    """
    if len(xs) != len(ys):
        raise ValueError("xs and ys must have the same length")
    slopes = [
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(len(xs))
        for j in range(i + 1, len(xs))
        if xs[j] != xs[i]
    ]
    if not slopes:
        raise ValueError("a trend needs at least two points at different x")
    slope = statistics.median(slopes)
    intercept = statistics.median(y - slope * x for x, y in zip(xs, ys, strict=True))
    return slope, intercept


@dataclass(frozen=True, slots=True)
class TrendLine:
    """Busy-hour traffic against time, fitted over ``start``…``origin``.

    ``level`` is the trend's value on ``origin`` (the last day fitted) in Erlangs; ``slope`` is
    Erlangs a day (linear) or the natural log of the daily growth ratio (compound).
    """

    start: date
    origin: date
    level: float
    slope: float
    growth: Growth
    points: int

    def at(self, day: date) -> float:
        """The trend's busy-hour traffic on ``day``, never below zero."""
        t = (day - self.origin).days
        if self.growth == "compound":
            return self.level * math.exp(self.slope * t)
        return max(0.0, self.level + self.slope * t)

    @property
    def growth_per_week(self) -> float:
        """Relative growth a week at ``origin`` (0.02: 2 % a week)."""
        if self.growth == "compound":
            return math.expm1(7.0 * self.slope)
        return 7.0 * self.slope / self.level if self.level > 0.0 else math.inf

    def first_day_reaching(self, erlangs: float) -> date | None:
        """The first day on which the trend reaches ``erlangs``; ``start`` if it already had by
        then, None if it never will (a flat or falling trend below it)."""
        if self.at(self.start) >= erlangs:
            return self.start
        if self.slope <= 0.0:
            return None
        if self.growth == "compound":
            t = math.log(erlangs / self.level) / self.slope
        else:
            t = (erlangs - self.level) / self.slope
        day = self.origin + timedelta(days=math.ceil(t))
        # Rounding in the log/division may leave the trend a hair short on that day.
        while self.at(day) < erlangs:
            day += timedelta(days=1)
        return max(day, self.start)


def fit_trend(days: Sequence[DailyBusyHour], *, growth: Growth = "compound") -> TrendLine:
    """A Theil–Sen trend through the daily busy hours, major-incident days left out.

    ``compound`` fits a line to the logarithm of the traffic, so days without traffic (log 0)
    are left out too.
    """
    if growth not in ("linear", "compound"):
        raise ValueError(f"growth must be 'linear' or 'compound', got {growth!r}")
    used = [d for d in days if not d.incident and (growth == "linear" or d.erlangs > 0.0)]
    if len({d.day for d in used}) < 2:
        raise ValueError("a trend needs the busy hours of at least two ordinary days")
    used.sort(key=lambda d: d.day)
    origin = used[-1].day
    xs = [float((d.day - origin).days) for d in used]
    if growth == "compound":
        slope, intercept = theil_sen(xs, [math.log(d.erlangs) for d in used])
        level = math.exp(intercept)
    else:
        slope, intercept = theil_sen(xs, [d.erlangs for d in used])
        level = intercept
    return TrendLine(used[0].day, origin, level, slope, growth, len(used))


def breach_date(
    history: Sequence[DailyBusyHour],
    capacity_at_target: float,
    *,
    growth: Growth = "compound",
) -> date | None:
    """The day the busy-hour trend reaches ``capacity_at_target`` (the traffic at which the
    GoS target is just met), or None if it never does. A date before today means the trend
    is past it already; it is never earlier than the first day of the history."""
    return fit_trend(history, growth=growth).first_day_reaching(capacity_at_target)

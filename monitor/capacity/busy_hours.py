"""Measured traffic and busy hours: hourly measurements, the busy hour of each day, the
time-consistent busy hour, and the busy-hour load of the worst N days per week or month."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from monitor.capacity.checks import check_count

__all__ = [
    "DailyBusyHour",
    "HourlyTraffic",
    "Period",
    "PeriodLoad",
    "busy_hour",
    "daily_busy_hours",
    "time_consistent_busy_hour",
    "worst_n_days_busy_hour",
]

Period = Literal["week", "month"]


@dataclass(frozen=True, slots=True)
class HourlyTraffic:
    """One measured hour of a site or trunk group.

    ``start`` is the start of the hour in the centre's local time zone (days and busy hours are
    local). ``carried_erlangs`` is the mean number of busy traffic channels over the hour;
    ``attempts``, ``queued`` (waited for a channel) and ``blocked`` (never got one) are call
    counts within it.
    """

    start: datetime
    carried_erlangs: float
    attempts: int = 0
    queued: int = 0
    blocked: int = 0


@dataclass(frozen=True, slots=True)
class DailyBusyHour:
    """The busiest hour of one day. ``incident`` marks a major-incident day: reported apart,
    and kept out of trends and worst-day loads so one surge does not drive the plan."""

    day: date
    start: datetime
    erlangs: float
    incident: bool = False


def busy_hour(hours: Iterable[HourlyTraffic]) -> HourlyTraffic:
    """The hour with the most carried traffic (the earliest of equals)."""
    best: HourlyTraffic | None = None
    for hour in hours:
        if best is None or hour.carried_erlangs > best.carried_erlangs:
            best = hour
    if best is None:
        raise ValueError("no hours to find a busy hour in")
    return best


def daily_busy_hours(
    hours: Iterable[HourlyTraffic],
    incident_days: Iterable[date] = (),
    *,
    min_hours: int = 1,
) -> list[DailyBusyHour]:
    """The busy hour of every local day, oldest first.

    Days with fewer than ``min_hours`` measured hours are skipped: the first and last days of a
    history are often partial, and a busy hour picked from a few night hours is not one.
    """
    check_count("min_hours", min_hours, 1)
    incidents = frozenset(incident_days)
    by_day: dict[date, list[HourlyTraffic]] = defaultdict(list)
    for hour in hours:
        by_day[hour.start.date()].append(hour)
    result = []
    for day in sorted(by_day):
        day_hours = sorted(by_day[day], key=lambda h: h.start)
        if len(day_hours) < min_hours:
            continue
        peak = busy_hour(day_hours)
        result.append(DailyBusyHour(day, peak.start, peak.carried_erlangs, day in incidents))
    return result


def time_consistent_busy_hour(hours: Iterable[HourlyTraffic]) -> int:
    """The local hour of day (0–23) with the highest mean traffic over all the days given: the
    same clock hour every day, unlike the daily busy hour, which moves."""
    totals: dict[int, list[float]] = defaultdict(list)
    for hour in hours:
        totals[hour.start.hour].append(hour.carried_erlangs)
    if not totals:
        raise ValueError("no hours to find a busy hour in")
    return max(sorted(totals), key=lambda h: statistics.fmean(totals[h]))


@dataclass(frozen=True, slots=True)
class PeriodLoad:
    """Busy-hour load of one week or month: the mean of its ``n`` worst ordinary days, and,
    apart, the major-incident days that fell in it. ``erlangs`` is None when every day of the
    period was an incident day."""

    start: date
    end: date
    erlangs: float | None
    worst: tuple[DailyBusyHour, ...]
    incidents: tuple[DailyBusyHour, ...]


def _period_start(day: date, period: Period) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _period_end(start: date, period: Period) -> date:
    if period == "week":
        return start + timedelta(days=6)
    next_month = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return next_month - timedelta(days=1)


def worst_n_days_busy_hour(
    days: Iterable[DailyBusyHour], n: int, *, period: Period = "week"
) -> list[PeriodLoad]:
    """Per ISO week (Monday first) or calendar month, the mean busy-hour traffic of the ``n``
    busiest ordinary days, oldest period first.

    Averaging a few of the busiest days is how traffic intensity is read for dimensioning: high
    enough to plan for, without resting on one exceptional day (ITU-T E.500). A period with
    fewer than ``n`` ordinary days averages those it has.
    """
    check_count("n", n, 1)
    if period not in ("week", "month"):
        raise ValueError(f"period must be 'week' or 'month', got {period!r}")
    grouped: dict[date, list[DailyBusyHour]] = defaultdict(list)
    for day in days:
        grouped[_period_start(day.day, period)].append(day)
    loads = []
    for start in sorted(grouped):
        members = grouped[start]
        ordinary = sorted((d for d in members if not d.incident), key=lambda d: -d.erlangs)
        worst = tuple(ordinary[:n])
        incidents = tuple(sorted((d for d in members if d.incident), key=lambda d: d.day))
        mean = statistics.fmean(d.erlangs for d in worst) if worst else None
        loads.append(PeriodLoad(start, _period_end(start, period), mean, worst, incidents))
    return loads

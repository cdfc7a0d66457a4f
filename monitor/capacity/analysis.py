"""The analysis of measured traffic into a capacity plan, per group (a radio site or a trunk
group):

1. hourly carried traffic → the busy hour of every day;
2. major-incident days: those of the incident log, plus days whose busy hour stands far above
   the robust trend (a surge, not growth); they are shown apart and kept out of the plan;
3. the busy-hour traffic of the ``worst`` N ordinary days per week or month — the planning
   basis (ITU-T E.500);
4. growth: a Theil–Sen trend through the ordinary days' busy hours, lifted by the median
   ratio of each period's worst-N load to the trend (the *busy-day factor*) so that it tracks
   the planning basis; where it reaches the traffic the channels carry at the GoS target is
   the breach date, with its statistical uncertainty;
5. carriers (E1 spans) to add so the GoS target holds up to the planning horizon.

All dates are local dates of the centre's time zone.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from monitor.capacity.busy_hours import (
    DailyBusyHour,
    HourlyTraffic,
    Period,
    PeriodLoad,
    daily_busy_hours,
    worst_n_days_busy_hour,
)
from monitor.capacity.channels import ChannelPlan
from monitor.capacity.erlang import GradeOfService
from monitor.capacity.forecasting import Forecast, Recommendation, recommend
from monitor.capacity.history import GroupSystem, MeasuredGroup
from monitor.capacity.trend import Growth, TrendLine, fit_trend

__all__ = [
    "CapacityReport",
    "GroupReport",
    "MeasuredGoS",
    "PlanningOptions",
    "analyse",
    "analyse_group",
    "flag_incident_days",
    "measured_gos",
]


@dataclass(frozen=True, slots=True)
class PlanningOptions:
    """How the history is read into a plan.

    ``worst`` ordinary days per ``period`` make the planning load. ``incident_days`` come from
    the incident log (every group); with ``detect_incidents`` a day is also flagged when its
    busy hour is more than ``incident_threshold`` robust standard deviations *and* more than
    ``incident_min_ratio`` times above the trend. ``margin`` multiplies the traffic designed
    for; ``max_carriers`` / ``max_e1`` mark a proposal beyond them infeasible (split the site).
    Measured GoS is taken over the busy hours of the last ``measured_days`` days.
    """

    horizon: timedelta = timedelta(weeks=26)
    worst: int = 5
    period: Period = "week"
    growth: Growth = "compound"
    margin: float = 1.0
    max_carriers: int | None = None
    max_e1: int | None = None
    incident_days: frozenset[date] = frozenset()
    detect_incidents: bool = True
    incident_threshold: float = 4.0
    incident_min_ratio: float = 1.25
    measured_days: int = 7

    def __post_init__(self) -> None:
        if self.horizon < timedelta(0):
            raise ValueError("horizon must not be negative")
        if self.worst < 1:
            raise ValueError("worst must be >= 1")
        if self.period not in ("week", "month"):
            raise ValueError("period must be 'week' or 'month'")
        if not math.isfinite(self.margin) or self.margin < 1.0:
            raise ValueError("margin must be >= 1")
        if self.incident_threshold <= 0 or self.incident_min_ratio < 1.0:
            raise ValueError("incident_threshold must be > 0 and incident_min_ratio >= 1")
        if self.measured_days < 1:
            raise ValueError("measured_days must be >= 1")


@dataclass(frozen=True, slots=True)
class MeasuredGoS:
    """The grade of service measured over busy hours.

    ``value`` is in the objective's measure. For a loss system it is blocked calls per attempt.
    For a queueing objective P(wait > t) it is ``(served × exp(-t / mean_wait_s) + blocked) /
    attempts``: a queued call's wait is exponential in Erlang C, so of the ``served`` calls
    that queued and then got a channel (queued minus given up), ``exp(-t / mean wait)`` waited
    longer than t; a call that never got one (given up after the queue time-out, or refused)
    failed the objective whatever t. Without a time-out this is the recording rules'
    ``P(queued) × exp(-t / mean wait)``; without the wait counter it falls back to the share
    that queued or never got a channel, an upper bound.
    """

    value: float
    attempts: int
    hours: int
    queued_ratio: float
    blocked_ratio: float
    mean_wait_s: float | None


def measured_gos(
    group: MeasuredGroup, hours: Iterable[HourlyTraffic], gos: GradeOfService | None = None
) -> MeasuredGoS | None:
    """The GoS measured over ``hours`` of ``group``; None when they hold no call attempt."""
    objective = gos or group.traffic.gos
    attempts = queued = blocked = counted = 0
    wait = 0.0
    wait_known = True
    for hour in hours:
        counted += 1
        attempts += hour.attempts
        queued += hour.queued
        blocked += hour.blocked
        if hour.start in group.queue_wait_s:
            wait += group.queue_wait_s[hour.start]
        else:
            wait_known = False
    if attempts == 0:
        return None
    served = max(0, queued - blocked)
    mean_wait = wait / served if wait_known and served else None
    if objective.model == "b":
        value = blocked / attempts
    elif objective.wait_s == 0.0 or (served and mean_wait is None):
        value = max(queued, blocked) / attempts
    else:
        late = served * math.exp(-objective.wait_s / mean_wait) if mean_wait else 0.0
        value = (late + blocked) / attempts
    return MeasuredGoS(value, attempts, counted, queued / attempts, blocked / attempts, mean_wait)


def _log_residuals(days: Sequence[DailyBusyHour], trend: TrendLine) -> list[float]:
    out = []
    for d in days:
        expected = trend.at(d.day)
        if d.erlangs > 0.0 and expected > 0.0:
            out.append(math.log(d.erlangs / expected))
    return out


def _robust_sd(values: Sequence[float]) -> float:
    """1.4826 × the median absolute deviation: the standard deviation for normal data, not
    moved by a few outliers."""
    if len(values) < 2:
        return 0.0
    centre = statistics.median(values)
    return 1.4826 * statistics.median(abs(v - centre) for v in values)


def flag_incident_days(
    days: Sequence[DailyBusyHour],
    known: Iterable[date] = (),
    *,
    threshold: float = 4.0,
    min_ratio: float = 1.25,
    growth: Growth = "compound",
) -> list[DailyBusyHour]:
    """``days`` with ``incident`` set on the known incident days and on the outliers: busy
    hours more than ``threshold`` robust standard deviations and ``min_ratio`` times above
    the Theil–Sen trend of the others.

    Only surges are flagged: a low day (an outage, a holiday) does not load the network and
    the trend is robust to it anyway. Needs 7 days or more to judge; fewer are left as given.
    """
    incidents = set(known)
    marked = [replace(d, incident=d.incident or d.day in incidents) for d in days]
    candidates = [d for d in marked if not d.incident]
    if len(candidates) < 7:
        return marked
    try:
        trend = fit_trend(candidates, growth=growth)
    except ValueError:
        return marked
    residuals = _log_residuals(candidates, trend)
    centre = statistics.median(residuals)
    limit = centre + max(threshold * _robust_sd(residuals), math.log(min_ratio))
    out = []
    for d in marked:
        expected = trend.at(d.day)
        surge = d.erlangs > 0.0 and expected > 0.0 and math.log(d.erlangs / expected) > limit
        out.append(replace(d, incident=True) if surge and not d.incident else d)
    return out


def _trend_value(trend: TrendLine, days_from_origin: float) -> float:
    if trend.growth == "compound":
        return trend.level * math.exp(trend.slope * days_from_origin)
    return max(0.0, trend.level + trend.slope * days_from_origin)


def _busy_day_factor(periods: Sequence[PeriodLoad], trend: TrendLine, worst: int) -> float:
    """Median over the periods with ``worst`` ordinary days of their worst-N load divided by
    the trend at the mean date of those days: how far the planning basis stands above the
    trend of all days. 1.0 when no period is complete."""
    ratios = []
    for p in periods:
        if p.erlangs is None or len(p.worst) < worst:
            continue
        mean_day = statistics.fmean((d.day - trend.origin).days for d in p.worst)
        expected = _trend_value(trend, mean_day)
        if expected > 0.0:
            ratios.append(p.erlangs / expected)
    return statistics.median(ratios) if ratios else 1.0


def _breach_sd_days(
    days: Sequence[DailyBusyHour], trend: TrendLine, breach: date, worst: int, periods: int
) -> float | None:
    """Approximate standard deviation of the breach date in days (delta method).

    The crossing day ``x_b`` moves by ``Δy / slope`` when the trend at ``x_b`` moves by
    ``Δy``; a fitted line's value there has variance ``σ²(1/N + (x_b - x̄)²/Sxx)``, with σ
    the robust scatter of the daily busy hours about the trend. Theil–Sen is ~91 % as
    efficient as least squares on normal data (×1.05 on the deviation); the busy-day factor,
    a median of ``periods`` means of ``worst`` days, adds ``(1.25 σ / √worst)² / periods``.
    """
    used = [d for d in days if not d.incident and d.erlangs > 0.0]
    if trend.slope <= 0.0 or len(used) < 3:
        return None
    if trend.growth == "compound":
        residuals = _log_residuals(used, trend)
    else:
        residuals = [d.erlangs - trend.at(d.day) for d in used]
    sigma = _robust_sd(residuals)
    xs = [float((d.day - trend.origin).days) for d in used]
    mean_x = statistics.fmean(xs)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx <= 0.0:
        return None
    x_b = float((breach - trend.origin).days)
    var = (1.05 * sigma) ** 2 * (1.0 / len(xs) + (x_b - mean_x) ** 2 / sxx)
    if periods:
        var += (1.2533 * sigma) ** 2 / worst / periods
    return math.sqrt(var) / trend.slope


@dataclass(frozen=True, slots=True)
class GroupReport:
    """The analysis of one group. ``forecast`` and ``recommendation`` are None when the
    history is too short to fit a trend (``problem`` says why)."""

    group: MeasuredGroup
    days: tuple[DailyBusyHour, ...]
    periods: tuple[PeriodLoad, ...]
    measured: MeasuredGoS | None
    daily_trend: TrendLine | None = None
    busy_day_factor: float = 1.0
    forecast: Forecast | None = None
    breach_sd_days: float | None = None
    recommendation: Recommendation | None = None
    problem: str | None = None

    @property
    def name(self) -> str:
        return self.group.name

    @property
    def system(self) -> GroupSystem:
        return self.group.system

    @property
    def plan(self) -> ChannelPlan:
        return self.group.traffic.plan

    @property
    def gos(self) -> GradeOfService:
        return self.group.traffic.gos

    @property
    def as_of(self) -> date | None:
        """The last day measured."""
        return self.days[-1].day if self.days else None

    @property
    def incidents(self) -> tuple[DailyBusyHour, ...]:
        return tuple(d for d in self.days if d.incident)

    @property
    def units_to_add(self) -> int:
        return self.recommendation.units_to_add if self.recommendation else 0

    @property
    def needs_expansion(self) -> bool:
        return self.units_to_add > 0

    @property
    def capacity_erlangs(self) -> float:
        return self.gos.traffic_capacity(self.plan.traffic_channels)

    @property
    def load_ratio(self) -> float | None:
        """Planning busy-hour traffic over the traffic carried at the GoS target (> 1: over)."""
        if self.forecast is None or self.forecast.capacity_erlangs <= 0.0:
            return None
        return self.forecast.busy_hour_erlangs / self.forecast.capacity_erlangs

    @property
    def horizon_gos(self) -> float | None:
        """The GoS the present channels would give at the horizon's traffic."""
        if self.forecast is None:
            return None
        return self.gos.of(self.forecast.horizon_erlangs, self.plan.traffic_channels)

    @property
    def last_period(self) -> PeriodLoad | None:
        for p in reversed(self.periods):
            if p.erlangs is not None:
                return p
        return None


@dataclass(frozen=True, slots=True)
class CapacityReport:
    generated: datetime
    source: str
    options: PlanningOptions
    groups: tuple[GroupReport, ...]

    @property
    def radio(self) -> tuple[GroupReport, ...]:
        return tuple(g for g in self.groups if g.system == "radio")

    @property
    def lines(self) -> tuple[GroupReport, ...]:
        return tuple(g for g in self.groups if g.system == "line")

    @property
    def expansions(self) -> tuple[GroupReport, ...]:
        """Groups that need carriers or E1 spans within the horizon."""
        return tuple(g for g in self.groups if g.needs_expansion)

    @property
    def first_day(self) -> date | None:
        days = [g.days[0].day for g in self.groups if g.days]
        return min(days) if days else None

    @property
    def last_day(self) -> date | None:
        days = [g.days[-1].day for g in self.groups if g.days]
        return max(days) if days else None


def analyse_group(group: MeasuredGroup, options: PlanningOptions | None = None) -> GroupReport:
    """Busy hours, incident days, worst-N loads, trend, breach date and recommendation."""
    opts = options or PlanningOptions()
    site = group.traffic
    days = flag_incident_days(
        daily_busy_hours(site.hours),
        opts.incident_days | site.incident_days,
        threshold=opts.incident_threshold if opts.detect_incidents else math.inf,
        min_ratio=opts.incident_min_ratio,
        growth=opts.growth,
    )
    periods = tuple(worst_n_days_busy_hour(days, opts.worst, period=opts.period))
    measured = None
    if days:
        since = days[-1].day - timedelta(days=opts.measured_days - 1)
        busy = {d.start for d in days if not d.incident and d.day >= since}
        measured = measured_gos(group, (h for h in site.hours if h.start in busy))
    base = GroupReport(group, tuple(days), periods, measured)
    try:
        daily = fit_trend(days, growth=opts.growth)
    except ValueError as exc:
        return replace(base, problem=f"no trend: {exc}")
    factor = _busy_day_factor(periods, daily, opts.worst)
    if daily.growth == "compound":
        planning = replace(daily, level=daily.level * factor)
    else:
        planning = replace(daily, level=daily.level * factor, slope=daily.slope * factor)
    channels = site.plan.traffic_channels
    capacity = site.gos.traffic_capacity(channels)
    as_of = days[-1].day
    horizon = as_of + opts.horizon
    now = planning.at(as_of)
    breach = planning.first_day_reaching(capacity)
    outlook = Forecast(
        name=site.name,
        trend=planning,
        channels=channels,
        busy_hour_erlangs=now,
        capacity_erlangs=capacity,
        predicted_gos=site.gos.of(now, channels),
        breach=breach,
        horizon=horizon,
        horizon_erlangs=planning.at(horizon),
    )
    complete = sum(1 for p in periods if p.erlangs is not None and len(p.worst) >= opts.worst)
    sd = _breach_sd_days(days, daily, breach, opts.worst, complete) if breach is not None else None
    limit = opts.max_carriers if group.system == "radio" else opts.max_e1
    advice = recommend(site, outlook, margin=opts.margin, max_units=limit)
    return replace(
        base,
        daily_trend=daily,
        busy_day_factor=factor,
        forecast=outlook,
        breach_sd_days=sd,
        recommendation=advice,
    )


def analyse(
    groups: Iterable[MeasuredGroup],
    options: PlanningOptions | None = None,
    *,
    generated: datetime | None = None,
    source: str = "",
) -> CapacityReport:
    """The report over every group: radio sites first, then trunk groups, each by name."""
    opts = options or PlanningOptions()
    ordered = sorted(groups, key=lambda g: (g.system != "radio", g.name))
    reports = tuple(analyse_group(g, opts) for g in ordered)
    when = generated or datetime.now().astimezone()
    return CapacityReport(when, source, opts, reports)

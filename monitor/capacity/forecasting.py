"""Forecast and recommendation for one site or trunk group: its busy-hour trend against the
traffic its channels carry at the GoS target, and the carriers (E1 spans) to add."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from monitor.capacity.busy_hours import DailyBusyHour, HourlyTraffic, daily_busy_hours
from monitor.capacity.channels import ChannelPlan
from monitor.capacity.erlang import GradeOfService
from monitor.capacity.trend import Growth, TrendLine, fit_trend

__all__ = ["Forecast", "Recommendation", "SiteTraffic", "forecast", "recommend"]


@dataclass(frozen=True, slots=True)
class SiteTraffic:
    """Measured traffic of one base station or trunk group: the input of a forecast.

    ``hours`` are local-time hourly measurements; ``incident_days`` the days of major incidents
    (from the incident log) to keep out of the trend.
    """

    name: str
    plan: ChannelPlan
    gos: GradeOfService
    hours: tuple[HourlyTraffic, ...]
    incident_days: frozenset[date] = field(default_factory=frozenset)

    def daily_busy_hours(self, *, min_hours: int = 1) -> list[DailyBusyHour]:
        return daily_busy_hours(self.hours, self.incident_days, min_hours=min_hours)

    def measured_gos(self) -> float | None:
        """The GoS measured in the busy hours of ordinary days: blocked calls per attempt
        (model b) or queued calls per attempt (model c); None without attempts.

        For model c with ``wait_s > 0`` this counts every wait, however short, so it can only
        overstate ``P(wait > wait_s)``: a site it shows under target is under target.
        """
        busy = {d.start for d in self.daily_busy_hours() if not d.incident}
        attempts = failed = 0
        for hour in self.hours:
            if hour.start in busy:
                attempts += hour.attempts
                failed += hour.blocked if self.gos.model == "b" else hour.queued
        return failed / attempts if attempts else None


@dataclass(frozen=True, slots=True)
class Forecast:
    """Where a site's busy-hour traffic is heading against what its channels carry.

    ``busy_hour_erlangs`` is the trend's value on the last day measured; ``capacity_erlangs``
    the traffic its channels carry at the GoS target; ``breach`` the day the trend reaches it
    (None: never); ``horizon_erlangs`` the trend's value on the planning ``horizon``.
    """

    name: str
    trend: TrendLine
    channels: int
    busy_hour_erlangs: float
    capacity_erlangs: float
    predicted_gos: float
    breach: date | None
    horizon: date
    horizon_erlangs: float

    @property
    def utilisation(self) -> float:
        """Busy-hour traffic per traffic channel."""
        return self.busy_hour_erlangs / self.channels if self.channels else math.inf


def forecast(site: SiteTraffic, horizon: date, *, growth: Growth = "compound") -> Forecast:
    """Fit the site's busy-hour trend and compare it with its capacity at the GoS target.

    Raises ValueError when the site has fewer than two ordinary (non-incident) days measured.
    """
    trend = fit_trend(site.daily_busy_hours(), growth=growth)
    channels = site.plan.traffic_channels
    now = trend.at(trend.origin)
    capacity = site.gos.traffic_capacity(channels)
    return Forecast(
        name=site.name,
        trend=trend,
        channels=channels,
        busy_hour_erlangs=now,
        capacity_erlangs=capacity,
        predicted_gos=site.gos.of(now, channels),
        breach=trend.first_day_reaching(capacity),
        horizon=horizon,
        horizon_erlangs=trend.at(horizon),
    )


@dataclass(frozen=True, slots=True)
class Recommendation:
    """Carriers (or E1 spans) to add so a site meets its GoS target up to the horizon.

    ``design_erlangs`` is the traffic planned for; ``predicted_gos`` the GoS the ``proposed``
    plan gives at it. ``feasible`` is False when the proposal exceeds the most carriers a site
    can take: the traffic has to be split with a new site instead.
    """

    name: str
    current: ChannelPlan
    proposed: ChannelPlan
    design_erlangs: float
    channels_needed: int
    predicted_gos: float
    feasible: bool = True

    @property
    def units_to_add(self) -> int:
        return self.proposed.units - self.current.units


def recommend(
    site: SiteTraffic,
    outlook: Forecast,
    *,
    margin: float = 1.0,
    max_units: int | None = None,
) -> Recommendation:
    """What to add to ``site`` for the larger of today's and the horizon's busy-hour traffic,
    times ``margin`` (1.0: none). Never recommends removing carriers."""
    if not math.isfinite(margin) or margin < 1.0:
        raise ValueError(f"margin must be >= 1, got {margin!r}")
    design = max(outlook.busy_hour_erlangs, outlook.horizon_erlangs) * margin
    needed = site.gos.channels_needed(design)
    units = max(site.plan.units, site.plan.units_for(needed))
    proposed = site.plan.with_units(units)
    return Recommendation(
        name=site.name,
        current=site.plan,
        proposed=proposed,
        design_erlangs=design,
        channels_needed=needed,
        predicted_gos=site.gos.of(design, proposed.traffic_channels),
        feasible=max_units is None or units <= max_units,
    )

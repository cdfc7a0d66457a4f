"""Traffic engineering for capacity planning: Erlang B and C, channel arithmetic, busy hours,
robust growth trends, breach dates and how many carriers or E1s to add.

Pure functions and plain data types, no I/O: fetching history from Prometheus and rendering the
report live elsewhere and hand this module ``HourlyTraffic`` series.

Conventions: traffic is offered traffic in Erlangs, times are seconds, probabilities are ratios
in [0, 1]. A *grade of service* (GoS) is ``P(blocked)`` for a loss system (model ``"b"``,
Erlang B: E1 trunk groups) or ``P(wait > wait_s)`` for a delay system (model ``"c"``, Erlang C:
TETRA queues a call when every traffic channel is busy); with ``wait_s = 0`` the latter is the
probability of waiting at all, Erlang C itself.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal

__all__ = [
    "DEFAULT_TOLERANCE",
    "SLOTS_PER_UNIT",
    "ChannelPlan",
    "DailyBusyHour",
    "Forecast",
    "GradeOfService",
    "Growth",
    "HourlyTraffic",
    "Model",
    "Period",
    "PeriodLoad",
    "Recommendation",
    "SiteTraffic",
    "System",
    "TrendLine",
    "breach_date",
    "busy_hour",
    "carriers_needed",
    "channels_needed",
    "daily_busy_hours",
    "e1_needed",
    "erlang_b",
    "erlang_c",
    "fit_trend",
    "forecast",
    "grade_of_service",
    "mean_wait",
    "offered_traffic",
    "p_wait_longer",
    "pdt_traffic_channels",
    "recommend",
    "tetra_traffic_channels",
    "theil_sen",
    "time_consistent_busy_hour",
    "traffic_capacity",
    "units_needed",
    "worst_n_days_busy_hour",
]

#: ``"b"``: loss system, GoS = P(blocked) (Erlang B). ``"c"``: delay system, GoS =
#: P(wait > wait_s) (Erlang C).
Model = Literal["b", "c"]

#: ``tetra``: 25 kHz carriers of 4 timeslots; ``pdt``: 12.5 kHz carriers of 2 timeslots;
#: ``e1``: 2.048 Mbit/s spans of 30 voice channels.
System = Literal["tetra", "pdt", "e1"]

#: ``compound``: traffic grows by a constant ratio per day (a straight line in log traffic),
#: the way growth is usually quoted ("x % a year"); ``linear``: by constant Erlangs per day.
Growth = Literal["linear", "compound"]

Period = Literal["week", "month"]

#: Timeslots (radio) or voice channels (E1) that one carrier or span brings.
SLOTS_PER_UNIT: dict[System, int] = {"tetra": 4, "pdt": 2, "e1": 30}

_SECONDS_PER_HOUR = 3600.0

#: Relative precision of ``traffic_capacity``: far finer than the three decimals of printed
#: tables, and reached in about 30 bisection steps.
DEFAULT_TOLERANCE = 1e-9


# --- validation -----------------------------------------------------------------------------


def _check_traffic(traffic: float) -> float:
    value = float(traffic)
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"traffic must be a finite number of Erlangs >= 0, got {traffic!r}")
    return value


def _check_channels(channels: int) -> int:
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 0:
        raise ValueError(f"channels must be an integer >= 0, got {channels!r}")
    return channels


def _check_target(target: float) -> float:
    value = float(target)
    if not 0.0 < value < 1.0:
        raise ValueError(f"target must be a probability strictly between 0 and 1, got {target!r}")
    return value


def _check_wait(wait_s: float, hold_s: float | None) -> tuple[float, float]:
    """Validated ``(wait_s, hold_s)``; ``hold_s`` is only needed (and required) for a wait > 0."""
    wait = float(wait_s)
    if not math.isfinite(wait) or wait < 0.0:
        raise ValueError(f"wait_s must be >= 0 seconds, got {wait_s!r}")
    if hold_s is None:
        if wait > 0.0:
            raise ValueError("hold_s (the mean holding time) is needed for P(wait > wait_s)")
        return wait, 1.0
    hold = float(hold_s)
    if not math.isfinite(hold) or hold <= 0.0:
        raise ValueError(f"hold_s must be > 0 seconds, got {hold_s!r}")
    return wait, hold


def _check_model(model: str) -> Model:
    if model == "b":
        return "b"
    if model == "c":
        return "c"
    raise ValueError(f"model must be 'b' (blocking) or 'c' (queueing), got {model!r}")


# --- Erlang B and C -------------------------------------------------------------------------


def _erlang_b_series(traffic: float) -> Iterator[float]:
    """``B(A, 0), B(A, 1), …`` by the recursion ``B(n) = A·B(n-1) / (n + A·B(n-1))``.

    Every term stays in [0, 1], so nothing overflows however large ``n`` or ``A`` get (the
    textbook ``A^n / n!`` form overflows a float near n = 170); the relative error grows by
    about one rounding per step. The inverse form ``1/B(n) = 1 + n/A · 1/B(n-1)`` is the same
    recursion but divides by ``A`` and overflows to ``inf`` when B underflows.
    """
    b = 1.0
    n = 0
    while True:
        yield b
        n += 1
        carried = traffic * b
        b = carried / (n + carried)


def erlang_b(traffic: float, channels: int) -> float:
    """Blocking probability of ``channels`` offered ``traffic`` Erlangs (blocked calls cleared).

    ``traffic`` may be fractional; ``channels`` of a thousand or more are fine. ``B(A, 0) = 1``.
    """
    a = _check_traffic(traffic)
    n = _check_channels(channels)
    b = 1.0
    for k in range(1, n + 1):
        carried = a * b
        b = carried / (k + carried)
    return b


def _erlang_c_from_b(traffic: float, channels: int, b: float) -> float:
    if channels == 0 or traffic >= channels:
        return 1.0
    return channels * b / (channels - traffic * (1.0 - b))


def erlang_c(traffic: float, channels: int) -> float:
    """Probability that a call has to wait (blocked calls queued, served in order of arrival).

    ``C = N·B / (N - A·(1 - B))`` for ``A < N``. At ``A >= N`` the queue grows without bound
    and every call waits: 1.0.
    """
    a = _check_traffic(traffic)
    n = _check_channels(channels)
    return _erlang_c_from_b(a, n, erlang_b(a, n))


def _wait_tail(traffic: float, channels: int, c: float, wait: float, hold: float) -> float:
    if channels == 0 or traffic >= channels:
        return 1.0
    if wait == 0.0:
        return c
    return c * math.exp(-(channels - traffic) * wait / hold)


def p_wait_longer(traffic: float, channels: int, wait_s: float, hold_s: float) -> float:
    """``P(wait > wait_s) = C · exp(-(N - A) · wait_s / hold_s)`` over all calls (Erlang C).

    ``hold_s`` is the mean holding time (exponentially distributed). 1.0 when ``A >= N``.
    """
    a = _check_traffic(traffic)
    n = _check_channels(channels)
    wait, hold = _check_wait(wait_s, hold_s)
    return _wait_tail(a, n, erlang_c(a, n), wait, hold)


def mean_wait(traffic: float, channels: int, hold_s: float) -> float:
    """Mean wait in seconds over all calls, those served at once included: ``C·T / (N - A)``.

    ``inf`` when ``A >= N``.
    """
    a = _check_traffic(traffic)
    n = _check_channels(channels)
    _, hold = _check_wait(0.0, hold_s)
    if n == 0 or a >= n:
        return math.inf
    return erlang_c(a, n) * hold / (n - a)


def grade_of_service(
    traffic: float,
    channels: int,
    model: Model = "b",
    *,
    wait_s: float = 0.0,
    hold_s: float | None = None,
) -> float:
    """The GoS of ``channels`` at ``traffic``: P(blocked) for model b, P(wait > wait_s) for c."""
    a = _check_traffic(traffic)
    n = _check_channels(channels)
    kind = _check_model(model)
    wait, hold = _check_wait(wait_s, hold_s)
    b = erlang_b(a, n)
    if kind == "b":
        return b
    return _wait_tail(a, n, _erlang_c_from_b(a, n, b), wait, hold)


def channels_needed(
    traffic: float,
    target: float,
    model: Model = "b",
    *,
    wait_s: float = 0.0,
    hold_s: float | None = None,
) -> int:
    """The least number of channels whose GoS at ``traffic`` is at most ``target``.

    One pass of the Erlang B recursion, so the cost is proportional to the answer.
    """
    a = _check_traffic(traffic)
    t = _check_target(target)
    kind = _check_model(model)
    wait, hold = _check_wait(wait_s, hold_s)
    for n, b in enumerate(_erlang_b_series(a)):
        gos = b if kind == "b" else _wait_tail(a, n, _erlang_c_from_b(a, n, b), wait, hold)
        if gos <= t:
            return n
    raise AssertionError("unreachable: B(A, n) tends to 0")  # pragma: no cover


def traffic_capacity(
    channels: int,
    target: float,
    model: Model = "b",
    *,
    wait_s: float = 0.0,
    hold_s: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> float:
    """The most traffic ``channels`` can be offered with a GoS of at most ``target``.

    Bisection on the traffic, whose GoS rises strictly with it. The answer ``A`` meets the
    target (``GoS(A) <= target``) and lies within ``tolerance`` (relative) below the exact
    value.
    """
    n = _check_channels(channels)
    t = _check_target(target)
    kind = _check_model(model)
    wait, hold = _check_wait(wait_s, hold_s)
    if not 0.0 < tolerance < 1.0:
        raise ValueError(f"tolerance must be between 0 and 1, got {tolerance!r}")
    if n == 0:
        return 0.0
    # Carried traffic A·(1 - B) never exceeds N, so B >= 1 - N/A and B reaches t by
    # A = N / (1 - t); a delay system is saturated (GoS 1) at A = N.
    hi = n / (1.0 - t) if kind == "b" else float(n)
    lo = 0.0
    while hi - lo > tolerance * hi:
        mid = 0.5 * (lo + hi)
        if grade_of_service(mid, n, kind, wait_s=wait, hold_s=hold) <= t:
            lo = mid
        else:
            hi = mid
    return lo


def offered_traffic(calls_per_hour: float, mean_hold_s: float) -> float:
    """Offered traffic in Erlangs: ``calls_per_hour × mean_hold_s / 3600``."""
    calls = float(calls_per_hour)
    if not math.isfinite(calls) or calls < 0.0:
        raise ValueError(f"calls_per_hour must be >= 0, got {calls_per_hour!r}")
    _, hold = _check_wait(0.0, mean_hold_s)
    return calls * hold / _SECONDS_PER_HOUR


# --- channel arithmetic ---------------------------------------------------------------------


def _check_count(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def tetra_traffic_channels(carriers: int, secondary_control: int = 0, packet_data: int = 0) -> int:
    """Traffic channels of a TETRA site: ``4·carriers - 1 (MCCH) - secondary - packet data``."""
    c = _check_count("carriers", carriers, 1)
    sc = _check_count("secondary_control", secondary_control, 0)
    pd = _check_count("packet_data", packet_data, 0)
    tch = SLOTS_PER_UNIT["tetra"] * c - 1 - sc - pd
    if tch < 0:
        raise ValueError(f"{c} carrier(s) have fewer timeslots than the {1 + sc + pd} reserved")
    return tch


def pdt_traffic_channels(carriers: int, control: int = 1) -> int:
    """Traffic channels of a PDT site: ``2·carriers - control``."""
    c = _check_count("carriers", carriers, 1)
    ctl = _check_count("control", control, 0)
    tch = SLOTS_PER_UNIT["pdt"] * c - ctl
    if tch < 0:
        raise ValueError(f"{c} carrier(s) have fewer timeslots than the {ctl} reserved")
    return tch


def units_needed(system: System, channels: int, reserved: int = 0) -> int:
    """The fewest carriers (E1 spans) of ``system`` that leave ``channels`` traffic channels
    once ``reserved`` slots are set aside; at least 1."""
    if system not in SLOTS_PER_UNIT:
        raise ValueError(f"system must be one of {sorted(SLOTS_PER_UNIT)}, got {system!r}")
    n = _check_channels(channels)
    r = _check_count("reserved", reserved, 0)
    return max(1, -(-(n + r) // SLOTS_PER_UNIT[system]))


@dataclass(frozen=True, slots=True)
class ChannelPlan:
    """How a site's carriers (or a trunk group's E1 spans) divide into traffic channels.

    ``reserved`` counts the timeslots that carry no calls: the MCCH, secondary control and
    dedicated packet-data slots of a TETRA site, the control slots of a PDT site, none on E1
    (its framing and signalling timeslots are not among the 30). Build one with ``tetra``,
    ``pdt`` or ``e1``.
    """

    system: System
    units: int
    reserved: int

    def __post_init__(self) -> None:
        if self.system not in SLOTS_PER_UNIT:
            raise ValueError(f"system must be one of {sorted(SLOTS_PER_UNIT)}, got {self.system!r}")
        _check_count("units", self.units, 1)
        _check_count("reserved", self.reserved, 0)
        if self.traffic_channels < 0:
            raise ValueError(
                f"{self.units} {self.unit_name}(s) have fewer slots than the {self.reserved} "
                "reserved"
            )

    @classmethod
    def tetra(cls, carriers: int, secondary_control: int = 0, packet_data: int = 0) -> ChannelPlan:
        _check_count("secondary_control", secondary_control, 0)
        _check_count("packet_data", packet_data, 0)
        return cls("tetra", carriers, 1 + secondary_control + packet_data)

    @classmethod
    def pdt(cls, carriers: int, control: int = 1) -> ChannelPlan:
        return cls("pdt", carriers, control)

    @classmethod
    def e1(cls, spans: int) -> ChannelPlan:
        return cls("e1", spans, 0)

    @property
    def unit_name(self) -> str:
        return "E1" if self.system == "e1" else "carrier"

    @property
    def traffic_channels(self) -> int:
        return SLOTS_PER_UNIT[self.system] * self.units - self.reserved

    def units_for(self, channels: int) -> int:
        """The fewest carriers (spans) giving at least ``channels`` traffic channels; >= 1."""
        return units_needed(self.system, channels, self.reserved)

    def with_units(self, units: int) -> ChannelPlan:
        return replace(self, units=units)


def carriers_needed(
    traffic: float,
    target: float,
    model: Model = "c",
    *,
    wait_s: float = 0.0,
    hold_s: float | None = None,
    secondary_control: int = 0,
    packet_data: int = 0,
) -> int:
    """TETRA carriers a site needs for ``traffic`` at ``target`` (a delay system by default)."""
    reserved = (
        1
        + _check_count("secondary_control", secondary_control, 0)
        + _check_count("packet_data", packet_data, 0)
    )
    channels = channels_needed(traffic, target, model, wait_s=wait_s, hold_s=hold_s)
    return units_needed("tetra", channels, reserved)


def e1_needed(traffic: float, target: float) -> int:
    """E1 spans (30 voice channels each) a trunk group needs for ``traffic`` at ``target``
    blocking, the spans forming one full-availability group."""
    return units_needed("e1", channels_needed(traffic, target, "b"))


@dataclass(frozen=True, slots=True)
class GradeOfService:
    """A GoS objective: ``P(blocked) <= target`` (model b) or ``P(wait > wait_s) <= target``
    (model c; ``hold_s``, the mean holding time, is needed when ``wait_s > 0``)."""

    target: float
    model: Model = "b"
    wait_s: float = 0.0
    hold_s: float | None = None

    def __post_init__(self) -> None:
        _check_target(self.target)
        _check_model(self.model)
        _check_wait(self.wait_s, self.hold_s)

    def of(self, traffic: float, channels: int) -> float:
        """The GoS ``channels`` give at ``traffic`` (same measure as ``target``)."""
        return grade_of_service(
            traffic, channels, self.model, wait_s=self.wait_s, hold_s=self.hold_s
        )

    def met(self, traffic: float, channels: int) -> bool:
        return self.of(traffic, channels) <= self.target

    def channels_needed(self, traffic: float) -> int:
        return channels_needed(
            traffic, self.target, self.model, wait_s=self.wait_s, hold_s=self.hold_s
        )

    def traffic_capacity(self, channels: int) -> float:
        return traffic_capacity(
            channels, self.target, self.model, wait_s=self.wait_s, hold_s=self.hold_s
        )

    def describe(self) -> str:
        """``P(blocked) <= 1 %`` / ``P(wait > 5 s) <= 5 %`` / ``P(wait) <= 2 %``."""
        if self.model == "b":
            measure = "P(blocked)"
        elif self.wait_s > 0.0:
            measure = f"P(wait > {self.wait_s:g} s)"
        else:
            measure = "P(wait)"
        return f"{measure} <= {self.target * 100:g} %"


# --- measured traffic and busy hours ---------------------------------------------------------


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
    _check_count("min_hours", min_hours, 1)
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
    _check_count("n", n, 1)
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


# --- trend and forecast ---------------------------------------------------------------------


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

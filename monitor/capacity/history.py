"""The capacity report (容量规划报告): measured traffic of every radio site and 110 trunk group,
analysed into busy hours, growth trends, breach dates and expansion recommendations, rendered
as one self-contained HTML page and exported as ``trunkwatch_capacity_*`` metrics.

Measured traffic comes from a ``TrafficHistory``: ``PrometheusHistory`` (hourly ``query_range``
over the recording rules of ``alerts/recording.rules.yml``, falling back to the raw counters
where no rule was recorded yet) or ``SampleHistory`` (a rolling window of the monitor's own
counter readings, for a centre without Prometheus). ``record_simulation`` fills a
``SampleHistory`` from the simulated fleet through its real SNMP agent.

The analysis, per group (a radio site or a trunk group):

1. hourly carried traffic → the busy hour of every day (``monitor.capacity``);
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

import asyncio
import html
import json
import logging
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol
from zoneinfo import ZoneInfo

import aiohttp
from prometheus_client import CollectorRegistry, write_to_textfile
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from monitor.capacity import (
    SLOTS_PER_UNIT,
    ChannelPlan,
    DailyBusyHour,
    Forecast,
    GradeOfService,
    Growth,
    HourlyTraffic,
    Period,
    PeriodLoad,
    Recommendation,
    SiteTraffic,
    System,
    TrendLine,
    daily_busy_hours,
    fit_trend,
    recommend,
    worst_n_days_busy_hour,
)

if TYPE_CHECKING:
    from monitor.core.clock import Clock
    from monitor.results import JobKey, Result
    from monitor.simulator.clock import ManualSource
    from monitor.simulator.fleet import Fleet
    from probes.base import Sample

__all__ = [
    "DEFAULT_LINE_GOS",
    "DEFAULT_RADIO_GOS",
    "CapacityCollector",
    "CapacityError",
    "CapacityReport",
    "GroupReport",
    "GroupSystem",
    "HistoryError",
    "HistoryQueryError",
    "HistoryUnavailable",
    "MeasuredGoS",
    "MeasuredGroup",
    "Objectives",
    "PlanningOptions",
    "Progress",
    "PrometheusHistory",
    "SampleHistory",
    "Surge",
    "TrafficHistory",
    "analyse",
    "analyse_group",
    "flag_incident_days",
    "keep_current",
    "measured_gos",
    "record_simulation",
    "render_html",
    "write_textfile",
]

log = logging.getLogger("trunkwatch.capacity")

#: ``radio``: a TETRA site (its base stations summed); ``line``: an E1 trunk group (one
#: gateway). The values are the ``system`` label of the assets they come from.
GroupSystem = Literal["radio", "line"]

#: ``progress(done, total, what)``: called after each step of a long fetch.
Progress = Callable[[int, int, str], None]

#: TETRA queues a call when every traffic channel is busy: P(wait > 5 s) <= 5 %, with message
#: trunking holding a channel ~20 s (DOMAIN.md).
DEFAULT_RADIO_GOS = GradeOfService(0.05, "c", wait_s=5.0, hold_s=20.0)
#: Emergency trunk groups are sized for P.01 blocking (Erlang B).
DEFAULT_LINE_GOS = GradeOfService(0.01, "b")

_HOUR = 3600
_DAY = timedelta(days=1)


# --- errors ----------------------------------------------------------------------------------


class CapacityError(Exception):
    """Base of the capacity report's errors::

    CapacityError
     └── HistoryError                 the measured history could not be read
          ├── HistoryUnavailable      no answer: connection refused, timeout, HTTP 5xx
          └── HistoryQueryError       Prometheus answered but rejected a query (HTTP 4xx)
    """


class HistoryError(CapacityError):
    pass


class HistoryUnavailable(HistoryError):
    pass


class HistoryQueryError(HistoryError):
    pass


# --- what a history source produces -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Objectives:
    """The grade-of-service target of each kind of group."""

    radio: GradeOfService = DEFAULT_RADIO_GOS
    line: GradeOfService = DEFAULT_LINE_GOS

    def for_system(self, system: GroupSystem) -> GradeOfService:
        return self.radio if system == "radio" else self.line


@dataclass(frozen=True, slots=True)
class MeasuredGroup:
    """The measured traffic of one radio site or trunk group.

    ``traffic`` holds the hourly measurements and the channel plan in force at the end of the
    history (carriers or E1 spans); ``queue_wait_s`` the seconds served calls spent queued, per
    hour start (radio only; empty when the counter is not collected).
    """

    system: GroupSystem
    site: str
    assets: tuple[str, ...]
    title: str
    traffic: SiteTraffic
    queue_wait_s: Mapping[datetime, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.traffic.name


class TrafficHistory(Protocol):
    """Where measured traffic comes from: hourly carried traffic and call counts per group."""

    async def fetch(
        self, start: datetime, end: datetime, *, progress: Progress | None = None
    ) -> list[MeasuredGroup]:
        """The groups measured in ``[start, end)``, hours starting in that range."""
        ...


def _plan(system: GroupSystem, units: int | None, channels: int | None) -> ChannelPlan | None:
    """The channel plan from the unit count (carriers, E1 spans) and the traffic channels
    configured; None when either is unknown or they contradict each other."""
    if units is None or units < 1:
        return None
    kind: System = "tetra" if system == "radio" else "e1"
    slots = SLOTS_PER_UNIT[kind] * units
    if channels is None:
        return ChannelPlan.tetra(units) if kind == "tetra" else ChannelPlan.e1(units)
    if not 0 < channels <= slots:
        return None
    return ChannelPlan(kind, units, slots - channels)


def _hour_floor(t: float, tz: ZoneInfo) -> int:
    """The start of the local hour holding ``t``, in epoch seconds."""
    local = datetime.fromtimestamp(t, tz)
    return round(t - (local.minute * 60 + local.second + local.microsecond / 1e6))


def _hour_ceil(t: float, tz: ZoneInfo) -> int:
    floor = _hour_floor(t, tz)
    return floor if floor >= t else floor + _HOUR


# --- the monitor's own readings ---------------------------------------------------------------

#: Counter fields kept per asset, in this order.
_FIELDS = ("channel_seconds", "attempts", "queued", "blocked", "queue_wait_seconds")
_RADIO_COUNTERS = {
    "trunkwatch_bs_channel_seconds_total": 0,
    "trunkwatch_bs_calls_total": 1,
    "trunkwatch_bs_calls_queued_total": 2,
    "trunkwatch_bs_calls_blocked_total": 3,
    "trunkwatch_bs_queue_wait_seconds_total": 4,
}
_LINE_COUNTERS = {
    "trunkwatch_trunk_channel_seconds_total": 0,
    "trunkwatch_trunk_calls_total": 1,
    "trunkwatch_trunk_calls_blocked_total": 3,
}
_NAN = float("nan")


@dataclass(slots=True)
class _AssetWindow:
    """One asset's counters, unwrapped across resets, interpolated at local hour boundaries."""

    system: GroupSystem
    site: str
    asset: str
    title: str
    last_t: float | None = None
    last_raw: list[float] = field(default_factory=lambda: [_NAN] * len(_FIELDS))
    total: list[float] = field(default_factory=lambda: [0.0] * len(_FIELDS))
    #: Unwrapped counter values at local hour boundaries (epoch seconds), oldest first.
    boundaries: dict[int, tuple[float, ...]] = field(default_factory=dict)
    units: int | None = None
    channels: int | None = None

    def hours(self, first: int, last: int) -> Iterator[tuple[int, tuple[float, ...]]]:
        """``(hour start, counter increases)`` for every whole hour in ``[first, last)``."""
        for b, at_start in self.boundaries.items():
            if b < first or b >= last:
                continue
            at_end = self.boundaries.get(b + _HOUR)
            if at_end is not None:
                yield b, tuple(e - s for s, e in zip(at_start, at_end, strict=True))


class SampleHistory:
    """A rolling window of counter readings from the monitor's own polls: the traffic history
    of a centre without Prometheus.

    Only what hourly traffic needs is kept: each asset's counters at every local hour boundary,
    interpolated between the two readings around it when they are at most ``max_gap_s`` apart
    (a reading exactly on a boundary is used whatever the gap), for ``retention``. Counter
    resets (a device reboot) are unwrapped as Prometheus' ``increase()`` does. Memory is about
    24 × 6 floats per asset per day retained.

    Feed it with ``observe(result)`` (or make it a ``ResultStore`` listener, ``on_result``);
    results of the ``trunked_bs`` and ``trunk_gateway`` profiles are used, others ignored.
    """

    def __init__(
        self,
        *,
        timezone: str = "Asia/Shanghai",
        objectives: Objectives | None = None,
        retention: timedelta = timedelta(days=400),
        max_gap_s: float = 600.0,
        titles: Mapping[str, str] | None = None,
    ) -> None:
        if retention <= timedelta(0):
            raise ValueError("retention must be positive")
        if max_gap_s <= 0:
            raise ValueError("max_gap_s must be positive")
        self.tz = ZoneInfo(timezone)
        self.objectives = objectives or Objectives()
        self.retention_s = retention.total_seconds()
        self.max_gap_s = float(max_gap_s)
        #: Display names by site id (radio) or asset id (trunk groups).
        self.titles: dict[str, str] = dict(titles or {})
        self._assets: dict[str, _AssetWindow] = {}
        # Jobs whose first successful run carried no traffic counters (an if_mib poll, an
        # ICMP probe …): their later runs are not scanned sample by sample again.
        self._unrelated: set[tuple[str, str, str]] = set()

    # -- input -----------------------------------------------------------------------------

    def on_result(self, key: JobKey, result: Result | None) -> None:
        """A ``ResultStore`` listener: ``store.subscribe(history.on_result)``."""
        if result is not None:
            self.observe(result)

    def observe(self, result: Result) -> None:
        """Take the counters of one probe run (failed runs carry none and are skipped)."""
        if not result.success:
            return
        job = result.job
        identity = (*job.key, job.fingerprint)
        if identity in self._unrelated:
            return
        asset = job.asset
        if not self.observe_samples(
            site=asset.site,
            asset=asset.id,
            t=result.finished_at,
            samples=result.samples,
            title=asset.name,
        ):
            self._unrelated.add(identity)

    def observe_samples(
        self, *, site: str, asset: str, t: float, samples: Iterable[Sample], title: str = ""
    ) -> bool:
        """Take one reading of an asset's samples at epoch time ``t``; False when they hold no
        traffic counters."""
        radio = [_NAN] * len(_FIELDS)
        line = [_NAN] * len(_FIELDS)
        carriers = tch = None
        spans = trunk_channels = 0
        for sample in samples:
            name = sample.family.name
            if name in _RADIO_COUNTERS:
                radio[_RADIO_COUNTERS[name]] = float(sample.value)
            elif name in _LINE_COUNTERS:
                line[_LINE_COUNTERS[name]] = float(sample.value)
            elif name == "trunkwatch_bs_carriers":
                carriers = int(sample.value)
            elif name == "trunkwatch_bs_traffic_channels":
                tch = int(sample.value)
            elif name == "trunkwatch_e1_channels":
                spans += 1
                trunk_channels += int(sample.value)
        if not math.isnan(radio[0]):
            self.record(
                system="radio",
                site=site,
                asset=asset,
                t=t,
                counters=radio,
                units=carriers,
                channels=tch,
                title=title,
            )
        elif not math.isnan(line[0]):
            self.record(
                system="line",
                site=site,
                asset=asset,
                t=t,
                counters=line,
                units=spans or None,
                channels=trunk_channels or None,
                title=title,
            )
        else:
            return False
        return True

    def record(
        self,
        *,
        system: GroupSystem,
        site: str,
        asset: str,
        t: float,
        counters: Sequence[float],
        units: int | None = None,
        channels: int | None = None,
        title: str = "",
    ) -> None:
        """One reading of ``counters`` (in ``_FIELDS`` order, NaN where not measured)."""
        window = self._assets.get(asset)
        if window is None or window.system != system or window.site != site:
            window = self._assets[asset] = _AssetWindow(system, site, asset, title or asset)
        if units is not None:
            window.units = units
        if channels is not None:
            window.channels = channels
        raw = [float(v) for v in counters]
        last_t = window.last_t
        if last_t is not None and t <= last_t:
            return  # out of order or repeated: the window only moves forward
        if last_t is None:
            delta = [_NAN] * len(_FIELDS)
        else:
            # A counter that went down was reset (the device rebooted): it counted `raw` since.
            delta = [
                (r if r < p else r - p) if not (math.isnan(r) or math.isnan(p)) else _NAN
                for r, p in zip(raw, window.last_raw, strict=True)
            ]
        previous = list(window.total)
        window.total = [
            p + d if not math.isnan(d) else p for p, d in zip(previous, delta, strict=True)
        ]
        # Boundaries in (last_t, t], inserted oldest first: every stored one is <= last_t.
        found: list[tuple[int, tuple[float, ...]]] = []
        b = _hour_floor(t, self.tz)
        if b == t:
            # On a boundary: the counters there are known whatever came before.
            known = [
                tot if not math.isnan(r) else _NAN for tot, r in zip(window.total, raw, strict=True)
            ]
            found.append((b, tuple(known)))
            b -= _HOUR
        if last_t is not None and t - last_t <= self.max_gap_s:
            gap = t - last_t
            while b > last_t:
                frac = (b - last_t) / gap
                found.append((b, tuple(p + frac * d for p, d in zip(previous, delta, strict=True))))
                b -= _HOUR
        for boundary, values in reversed(found):
            window.boundaries[boundary] = values
        window.last_t = t
        window.last_raw = raw
        self._prune(window, t)

    def _prune(self, window: _AssetWindow, now: float) -> None:
        oldest = now - self.retention_s
        while window.boundaries:
            first = next(iter(window.boundaries))
            if first >= oldest:
                return
            del window.boundaries[first]

    # -- output ----------------------------------------------------------------------------

    async def fetch(
        self, start: datetime, end: datetime, *, progress: Progress | None = None
    ) -> list[MeasuredGroup]:
        groups = self.groups(start, end)
        if progress is not None:
            progress(1, 1, "rolling window")
        return groups

    def groups(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[MeasuredGroup]:
        """The measured groups, hours starting in ``[start, end)`` (default: all retained).

        Radio sites first, then trunk groups, each by name. A radio site sums its base
        stations; a trunk group is one gateway. Groups whose channel plan was never read are
        left out: without it there is no capacity to compare with.
        """
        first = -(2**62) if start is None else round(start.timestamp())
        last = 2**62 if end is None else round(end.timestamp())
        by_group: dict[tuple[GroupSystem, str], list[_AssetWindow]] = defaultdict(list)
        for window in self._assets.values():
            key = window.site if window.system == "radio" else window.asset
            by_group[(window.system, key)].append(window)
        out = []
        for (system, name), windows in sorted(
            by_group.items(), key=lambda kv: (kv[0][0] != "radio", kv[0][1])
        ):
            units = sum(w.units or 0 for w in windows) or None
            channels = sum(w.channels or 0 for w in windows) or None
            plan = _plan(system, units, channels)
            if plan is None:
                continue
            sums: dict[int, list[float]] = {}
            for window in windows:
                for b, increase in window.hours(first, last):
                    acc = sums.setdefault(b, [0.0] * len(_FIELDS))
                    for i, value in enumerate(increase):
                        acc[i] += value  # NaN propagates: that field was not measured
            hours = []
            waits: dict[datetime, float] = {}
            for b in sorted(sums):
                values = sums[b]
                if math.isnan(values[0]):
                    continue
                start_dt = datetime.fromtimestamp(b, self.tz)
                hours.append(
                    HourlyTraffic(
                        start_dt,
                        max(0.0, values[0] / _HOUR),
                        attempts=_count(values[1]),
                        queued=_count(values[2]),
                        blocked=_count(values[3]),
                    )
                )
                if system == "radio" and not math.isnan(values[4]):
                    waits[start_dt] = max(0.0, values[4])
            site = windows[0].site
            title = self.titles.get(name) or (windows[0].title if system == "line" else name)
            traffic = SiteTraffic(name, plan, self.objectives.for_system(system), tuple(hours))
            assets = tuple(sorted(w.asset for w in windows))
            out.append(MeasuredGroup(system, site, assets, title, traffic, waits))
        return out


def _count(value: float) -> int:
    return 0 if math.isnan(value) else max(0, round(value))


# --- Prometheus -----------------------------------------------------------------------------

# Every range query is evaluated at the end of each local hour T over [T - 1h, T]. Carried
# traffic prefers the recording rules (alerts/recording.rules.yml) and falls back, series by
# series, to the raw counters where a rule has not been recorded (history older than the rules).
# Like the rules, each first collapses duplicate replicas by (site, asset).
_RADIO_QUERIES = {
    "carried": "site:trunkwatch_bs_traffic_erlangs:rate1h"
    " or sum by (site) (max by (site, asset) (rate(trunkwatch_bs_channel_seconds_total[1h])))",
    "attempts": "sum by (site) (max by (site, asset) (increase(trunkwatch_bs_calls_total[1h])))",
    "queued": "sum by (site) (max by (site, asset) "
    "(increase(trunkwatch_bs_calls_queued_total[1h])))",
    "blocked": "sum by (site) (max by (site, asset) "
    "(increase(trunkwatch_bs_calls_blocked_total[1h])))",
    "queue_wait": "sum by (site) (max by (site, asset) "
    "(increase(trunkwatch_bs_queue_wait_seconds_total[1h])))",
}
_LINE_QUERIES = {
    "carried": "asset:trunkwatch_trunk_traffic_erlangs:rate1h"
    " or max by (site, asset, system, kind) (rate(trunkwatch_trunk_channel_seconds_total[1h]))",
    "attempts": "max by (site, asset) (increase(trunkwatch_trunk_calls_total[1h]))",
    "blocked": "max by (site, asset) (increase(trunkwatch_trunk_calls_blocked_total[1h]))",
}
# Evaluated once at the end of the history: the channel plan in force and display names.
_PLAN_QUERIES = {
    "carriers": "max by (site, asset) (last_over_time(trunkwatch_bs_carriers[1w]))",
    "tch": "max by (site, asset) (last_over_time(trunkwatch_bs_traffic_channels[1w]))",
    "spans": "count by (site, asset) "
    "(max by (site, asset, span) (last_over_time(trunkwatch_e1_channels[1w])))",
    "trunk_channels": "sum by (site, asset) "
    "(max by (site, asset, span) (last_over_time(trunkwatch_e1_channels[1w])))",
    "site_names": "max by (site, name, name_en) (last_over_time(trunkwatch_site_info[1w]))",
    "asset_names": "max by (asset, name) (last_over_time(trunkwatch_asset_info[1w]))",
}

_Series = dict[tuple[str, ...], dict[int, float]]


class PrometheusHistory:
    """Hourly traffic from the Prometheus HTTP API (``/api/v1/query_range``, step 1 h).

    Hours are local hours of ``timezone``; the channel plan is the one in force at the end of
    the history. Sites and trunk groups are named from ``trunkwatch_site_info`` /
    ``trunkwatch_asset_info``, else from ``titles``, else by id.

    Requests are bounded: each covers at most ``chunk`` of history, at most ``concurrency``
    are in flight, each gives up after ``timeout`` seconds. ``progress`` is told after each.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timezone: str = "Asia/Shanghai",
        objectives: Objectives | None = None,
        chunk: timedelta = timedelta(days=7),
        concurrency: int = 2,
        timeout: float = 30.0,
        session: aiohttp.ClientSession | None = None,
        titles: Mapping[str, str] | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"Prometheus URL must be http:// or https://, got {base_url!r}")
        if chunk < timedelta(hours=1):
            raise ValueError("chunk must be at least one hour")
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.base_url = base_url.rstrip("/")
        self.tz = ZoneInfo(timezone)
        self.objectives = objectives or Objectives()
        self.chunk_hours = int(chunk.total_seconds() // _HOUR)
        self.concurrency = concurrency
        self.timeout = timeout
        self._session = session
        #: Display names by site or asset id, where Prometheus has no trunkwatch_*_info.
        self.titles = dict(titles or {})

    async def fetch(
        self, start: datetime, end: datetime, *, progress: Progress | None = None
    ) -> list[MeasuredGroup]:
        # Evaluation instants: the end of every local hour that starts in [start, end).
        first_t = _hour_ceil(start.timestamp(), self.tz) + _HOUR
        last_t = _hour_floor(end.timestamp(), self.tz)
        if last_t < first_t:
            raise ValueError("the history must span at least one whole hour")
        chunks = []
        t = first_t
        while t <= last_t:
            stop = min(last_t, t + (self.chunk_hours - 1) * _HOUR)
            chunks.append((t, stop))
            t = stop + _HOUR
        ranged = [("radio", k, q) for k, q in _RADIO_QUERIES.items()]
        ranged += [("line", k, q) for k, q in _LINE_QUERIES.items()]
        total = len(ranged) * len(chunks) + len(_PLAN_QUERIES)
        done = 0
        results: dict[tuple[str, str], _Series] = {(s, k): {} for s, k, _ in ranged}
        plan: dict[str, list[tuple[dict[str, str], float]]] = {}
        gate = asyncio.Semaphore(self.concurrency)

        session = self._session or aiohttp.ClientSession()
        try:

            async def one_range(system: str, key: str, query: str, a: int, b: int) -> None:
                nonlocal done
                async with gate:
                    data = await self._get(
                        session,
                        "/api/v1/query_range",
                        {"query": query, "start": str(a), "end": str(b), "step": str(_HOUR)},
                    )
                label_names = ("site",) if system == "radio" else ("site", "asset")
                series = results[(system, key)]
                for item in _result_list(data, "matrix"):
                    labels = item.get("metric", {})
                    ident = tuple(str(labels.get(n, "")) for n in label_names)
                    points = series.setdefault(ident, {})
                    for stamp, v in _values(item.get("values", [])):
                        # The value at T is the hour that ended at T.
                        points[stamp - _HOUR] = v
                done += 1
                if progress is not None:
                    day = datetime.fromtimestamp(a - _HOUR, self.tz).date()
                    progress(done, total, f"{system} {key} from {day}")

            async def one_instant(key: str, query: str) -> None:
                nonlocal done
                async with gate:
                    data = await self._get(
                        session, "/api/v1/query", {"query": query, "time": str(last_t)}
                    )
                plan[key] = [
                    ({k: str(v) for k, v in item.get("metric", {}).items()}, value)
                    for item in _result_list(data, "vector")
                    for _, value in _values([item.get("value")])
                ]
                done += 1
                if progress is not None:
                    progress(done, total, f"channel plan: {key}")

            async with asyncio.TaskGroup() as tasks:
                for system, key, query in ranged:
                    for a, b in chunks:
                        tasks.create_task(one_range(system, key, query, a, b))
                for key, query in _PLAN_QUERIES.items():
                    tasks.create_task(one_instant(key, query))
        except* HistoryError as group:
            raise group.exceptions[0] from None
        finally:
            if self._session is None:
                await session.close()
        return self._assemble(results, plan)

    async def _get(
        self, session: aiohttp.ClientSession, path: str, params: Mapping[str, str]
    ) -> Any:
        url = self.base_url + path
        try:
            async with session.get(
                url, params=params, timeout=aiohttp.ClientTimeout(total=self.timeout)
            ) as response:
                status = response.status
                text = await response.text()
        except TimeoutError as exc:
            raise HistoryUnavailable(f"{url}: no answer within {self.timeout:g} s") from exc
        except aiohttp.ClientError as exc:
            raise HistoryUnavailable(f"{url}: {exc}") from exc
        try:
            body = _json(text)
        except ValueError as exc:
            raise HistoryUnavailable(f"{url}: HTTP {status}, not a Prometheus answer") from exc
        if status >= 500 or status in (401, 403, 404):
            raise HistoryUnavailable(f"{url}: HTTP {status} {body.get('error', '')}".rstrip())
        if status != 200 or body.get("status") != "success":
            raise HistoryQueryError(
                f"{url}: {body.get('errorType', 'error')}: {body.get('error', f'HTTP {status}')}"
            )
        return body.get("data", {})

    def _assemble(
        self,
        results: Mapping[tuple[str, str], _Series],
        plan: Mapping[str, list[tuple[dict[str, str], float]]],
    ) -> list[MeasuredGroup]:
        site_names = {
            m.get("site", ""): " ".join(filter(None, (m.get("name"), m.get("name_en"))))
            for m, _ in plan.get("site_names", [])
        }
        asset_names = {
            m.get("asset", ""): m.get("name", "") for m, _ in plan.get("asset_names", [])
        }
        out: list[MeasuredGroup] = []

        radio_units: dict[str, int] = defaultdict(int)
        radio_tch: dict[str, int] = defaultdict(int)
        radio_assets: dict[str, list[str]] = defaultdict(list)
        for labels, value in plan.get("carriers", []):
            radio_units[labels.get("site", "")] += int(value)
            radio_assets[labels.get("site", "")].append(labels.get("asset", ""))
        for labels, value in plan.get("tch", []):
            radio_tch[labels.get("site", "")] += int(value)
        for (site,), carried in sorted(results[("radio", "carried")].items()):
            channel_plan = _plan("radio", radio_units.get(site), radio_tch.get(site))
            if channel_plan is None:
                log.warning("capacity: no channel plan for radio site %s, left out", site)
                continue
            counts = {k: results[("radio", k)].get((site,), {}) for k in _RADIO_QUERIES}
            hours, waits = self._hours(carried, counts, radio=True)
            traffic = SiteTraffic(site, channel_plan, self.objectives.radio, hours)
            title = site_names.get(site) or self.titles.get(site) or site
            assets = tuple(sorted(radio_assets.get(site, [])))
            out.append(MeasuredGroup("radio", site, assets, title, traffic, waits))

        spans: dict[tuple[str, ...], int] = {
            (m.get("site", ""), m.get("asset", "")): int(v) for m, v in plan.get("spans", [])
        }
        trunks: dict[tuple[str, ...], int] = {
            (m.get("site", ""), m.get("asset", "")): int(v)
            for m, v in plan.get("trunk_channels", [])
        }
        for ident, carried in sorted(results[("line", "carried")].items()):
            site, asset = ident[0], ident[-1]
            channel_plan = _plan("line", spans.get(ident), trunks.get(ident))
            if channel_plan is None:
                log.warning("capacity: no channel plan for trunk group %s, left out", asset)
                continue
            counts = {k: results[("line", k)].get(ident, {}) for k in _LINE_QUERIES}
            hours, _ = self._hours(carried, counts, radio=False)
            traffic = SiteTraffic(asset, channel_plan, self.objectives.line, hours)
            title = asset_names.get(asset) or self.titles.get(asset) or asset
            out.append(MeasuredGroup("line", site, (asset,), title, traffic))
        return out

    def _hours(
        self,
        carried: Mapping[int, float],
        counts: Mapping[str, Mapping[int, float]],
        *,
        radio: bool,
    ) -> tuple[tuple[HourlyTraffic, ...], dict[datetime, float]]:
        hours = []
        waits: dict[datetime, float] = {}
        for b in sorted(carried):
            start = datetime.fromtimestamp(b, self.tz)
            hours.append(
                HourlyTraffic(
                    start,
                    max(0.0, carried[b]),
                    attempts=_count(counts["attempts"].get(b, _NAN)),
                    queued=_count(counts.get("queued", {}).get(b, _NAN)),
                    blocked=_count(counts["blocked"].get(b, _NAN)),
                )
            )
            if radio and b in counts["queue_wait"]:
                waits[start] = max(0.0, counts["queue_wait"][b])
        return tuple(hours), waits


def _json(text: str) -> dict[str, Any]:
    body = json.loads(text)
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    return body


def _values(pairs: Iterable[Any]) -> Iterator[tuple[int, float]]:
    """``(timestamp, value)`` of Prometheus' ``[time, "value"]`` pairs, finite values only."""
    for pair in pairs:
        try:
            stamp, value = round(float(pair[0])), float(pair[1])
        except (TypeError, ValueError, IndexError) as exc:
            raise HistoryQueryError(f"malformed sample in Prometheus' answer: {pair!r}") from exc
        if math.isfinite(value):
            yield stamp, value


def _result_list(data: Any, kind: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or data.get("resultType") != kind:
        raise HistoryQueryError(f"expected a {kind} result from Prometheus")
    result = data.get("result", [])
    return [r for r in result if isinstance(r, dict)]


# --- analysis -------------------------------------------------------------------------------


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


# --- the simulated fleet as a history source --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Surge:
    """A major incident in a simulation: ``asset``'s offered traffic (and that of sites within
    ``radius_km``) times ``multiplier`` from ``start`` for ``hours`` (simulated epoch time)."""

    asset: str
    start: float
    hours: float = 24.0
    multiplier: float = 3.0
    radius_km: float = 0.0


async def record_simulation(
    fleet: Fleet,
    source: ManualSource,
    history: SampleHistory,
    *,
    hours: int,
    sites: Mapping[str, str] | None = None,
    surges: Sequence[Surge] = (),
    read_hours: Iterable[int] | None = None,
    progress: Progress | None = None,
) -> None:
    """Run ``fleet`` (driven by the manual ``source``) for ``hours`` simulated hours, reading
    every base station and E1 gateway through the simulator's real SNMP agent at each local
    hour boundary into ``history``, as the daemon's probes would.

    ``sites`` maps asset ids to the site label their results carry (default: the asset id);
    ``read_hours`` limits the readings to the boundaries of those local hours of day (the
    start and end of each is read), to save time on long runs; ``surges`` are injected and
    cleared on the way. Polls that fail are skipped (their hours go missing).
    """
    from monitor.inventory import Asset, Job
    from monitor.results import Result
    from monitor.simulator.agent import SnmpAgent
    from monitor.simulator.lines import E1Gateway
    from monitor.simulator.radio import BaseStation
    from probes.base import ProbeError, Target
    from probes.snmp import close_shared_sessions, create

    if hours < 1:
        raise ValueError("hours must be >= 1")
    wanted: set[int] | None = None
    if read_hours is not None:
        wanted = set()
        for h in read_hours:
            wanted |= {h % 24, (h + 1) % 24}
    labels = dict(sites or {})
    tz = history.tz
    events: list[tuple[float, bool, Surge]] = []
    for s in surges:
        events += [(s.start, True, s), (s.start + s.hours * _HOUR, False, s)]
    events.sort(key=lambda e: (e[0], e[1]))

    def advance_to(t: float) -> None:
        step = (t - fleet.now()) / fleet.clock.speed
        if step > 0:
            source.advance(step)

    try:
        async with SnmpAgent(fleet, ephemeral=True) as agent:
            jobs = []
            for device in fleet:
                if isinstance(device, BaseStation):
                    system, kind, profile = "radio", "tetra_bs", "trunked_bs"
                elif isinstance(device, E1Gateway):
                    system, kind, profile = "line", "e1_gateway", "trunk_gateway"
                else:
                    continue
                host, port = agent.endpoints[device.asset_id]
                target = Target(device.asset_id, host, port, {"community": fleet.agent.community})
                asset = Asset(
                    device.asset_id,
                    labels.get(device.asset_id, device.asset_id),
                    system,
                    kind,
                    device.name,
                    target,
                    None,
                )
                probe = create({"profile": profile}, timeout=3.0)
                jobs.append(Job(asset, f"snmp:{profile}", "snmp", 3600.0, 3.0, probe))

            async def poll(job: Job, t: float) -> None:
                try:
                    run = await job.probe.run(job.asset.target)
                except ProbeError as exc:
                    log.warning("simulation: %s not read at %s: %s", job.asset.id, t, exc)
                    return
                history.observe(Result(job, True, 0.0, t, tuple(run.samples)))

            t = float(_hour_ceil(fleet.now(), tz))
            end = t + hours * _HOUR
            pending = list(events)
            step = 0
            while t <= end:
                advance_to(t)
                if wanted is None or datetime.fromtimestamp(t, tz).hour in wanted:
                    async with asyncio.TaskGroup() as tasks:
                        for job in jobs:
                            tasks.create_task(poll(job, t))
                while pending and pending[0][0] <= t:
                    _, on, surge = pending.pop(0)
                    if on:
                        fleet.inject(
                            "traffic_surge",
                            surge.asset,
                            multiplier=surge.multiplier,
                            radius_km=surge.radius_km,
                        )
                    else:
                        fleet.clear("traffic_surge", surge.asset)
                step += 1
                if progress is not None and (step % 24 == 0 or t + _HOUR > end):
                    progress(step - 1, hours, datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d"))
                t += _HOUR
    finally:
        await close_shared_sessions()


# --- metrics -----------------------------------------------------------------------------------


class CapacityCollector(Collector):
    """``trunkwatch_capacity_*`` gauges of the last report, read at scrape time.

    Register it once (``registry.register(collector)``) and hand it each new report with
    ``update``; until the first report it exports nothing.
    """

    def __init__(self, report: CapacityReport | None = None) -> None:
        self._report = report

    def update(self, report: CapacityReport) -> None:
        self._report = report

    @property
    def report(self) -> CapacityReport | None:
        return self._report

    def describe(self) -> Iterator[Metric]:
        yield from self._families().values()

    def collect(self) -> Iterator[Metric]:
        families = self._families()
        report = self._report
        if report is not None:
            families["report"].add_metric([], report.generated.timestamp())
            for g in report.groups:
                self._add(families, g)
        yield from families.values()

    @staticmethod
    def _families() -> dict[str, GaugeMetricFamily]:
        labels = ["site", "asset", "system", "group"]

        def gauge(name: str, doc: str, extra: Sequence[str] = ()) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"trunkwatch_capacity_{name}", doc, labels=[*labels, *extra])

        return {
            "report": GaugeMetricFamily(
                "trunkwatch_capacity_report_timestamp_seconds",
                "Unix time of the capacity analysis these gauges come from.",
            ),
            "busy": gauge(
                "busy_hour_erlangs",
                "Planning busy-hour traffic (worst-N days basis) on the last day measured.",
            ),
            "horizon": gauge(
                "horizon_erlangs", "Planning busy-hour traffic forecast for the planning horizon."
            ),
            "capacity": gauge(
                "at_target_erlangs",
                "Traffic the configured channels carry at the grade-of-service target.",
            ),
            "channels": gauge("traffic_channels", "Traffic channels (or trunks) configured."),
            "units": gauge("units", "Carriers (radio) or E1 spans (lines) configured."),
            "utilisation": gauge(
                "utilisation_ratio", "Planning busy-hour traffic per traffic channel."
            ),
            "load": gauge(
                "target_load_ratio",
                "Planning busy-hour traffic over the traffic carried at the GoS target (>1: over).",
            ),
            "target": gauge("gos_target_ratio", "The grade-of-service target."),
            "measured": gauge(
                "measured_gos_ratio", "Grade of service measured over the recent busy hours."
            ),
            "predicted": gauge(
                "predicted_gos_ratio",
                "Grade of service of the configured channels at the planning traffic "
                "(at=now: last day measured; at=horizon).",
                ["at"],
            ),
            "proposed": gauge(
                "proposed_gos_ratio",
                "Grade of service of the recommended plan at the traffic designed for.",
            ),
            "growth": gauge("growth_per_week_ratio", "Busy-hour traffic growth per week."),
            "breach": gauge(
                "breach_timestamp_seconds",
                "Start of the day the planning traffic reaches capacity at target; +Inf: never.",
            ),
            "carriers": gauge(
                "carriers_to_add", "Carriers to add so the GoS target holds to the horizon."
            ),
            "e1": gauge(
                "e1_spans_to_add", "E1 spans to add so the GoS target holds to the horizon."
            ),
            "incidents": gauge(
                "incident_days", "Major-incident days in the history, kept out of the plan."
            ),
        }

    @staticmethod
    def _add(families: Mapping[str, GaugeMetricFamily], g: GroupReport) -> None:
        group = g.group
        labels = [group.site, "+".join(group.assets), group.system, group.name]
        families["channels"].add_metric(labels, g.plan.traffic_channels)
        families["units"].add_metric(labels, g.plan.units)
        families["capacity"].add_metric(labels, g.capacity_erlangs)
        families["target"].add_metric(labels, g.gos.target)
        families["incidents"].add_metric(labels, len(g.incidents))
        if g.measured is not None:
            families["measured"].add_metric(labels, g.measured.value)
        f = g.forecast
        if f is None:
            return
        families["busy"].add_metric(labels, f.busy_hour_erlangs)
        families["horizon"].add_metric(labels, f.horizon_erlangs)
        families["utilisation"].add_metric(labels, f.utilisation)
        if g.load_ratio is not None:
            families["load"].add_metric(labels, g.load_ratio)
        families["predicted"].add_metric([*labels, "now"], f.predicted_gos)
        if g.horizon_gos is not None:
            families["predicted"].add_metric([*labels, "horizon"], g.horizon_gos)
        families["growth"].add_metric(labels, f.trend.growth_per_week)
        tz = group.traffic.hours[-1].start.tzinfo if group.traffic.hours else None
        if f.breach is None:
            breach = math.inf
        else:
            breach = datetime.combine(f.breach, datetime.min.time(), tz).timestamp()
        families["breach"].add_metric(labels, breach)
        if g.recommendation is not None:
            families["proposed"].add_metric(labels, g.recommendation.predicted_gos)
            key = "carriers" if group.system == "radio" else "e1"
            families[key].add_metric(labels, g.units_to_add)


def write_textfile(report: CapacityReport, path: str | Path) -> None:
    """Write the report's gauges in the text format (node_exporter's textfile collector),
    atomically."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(CapacityCollector(report))
    write_to_textfile(str(path), registry)


async def keep_current(
    history: TrafficHistory,
    collector: CapacityCollector,
    options: PlanningOptions | None = None,
    *,
    clock: Clock,
    timezone: str = "Asia/Shanghai",
    window: timedelta = timedelta(weeks=13),
    every_s: float = 3600.0,
    source: str = "",
) -> None:
    """Re-analyse the last ``window`` of history every ``every_s`` seconds into ``collector``,
    until cancelled. A history that cannot be read keeps the last report; it is logged once
    when it starts failing and once when it recovers."""
    tz = ZoneInfo(timezone)
    failing = False
    while True:
        deadline = clock.monotonic() + every_s
        end = datetime.fromtimestamp(clock.time(), tz)
        try:
            groups = await history.fetch(end - window, end)
        except HistoryError as exc:
            if not failing:
                log.warning("capacity: history unavailable, keeping the last report: %s", exc)
            failing = True
        else:
            if failing:
                log.info("capacity: history readable again")
            failing = False
            collector.update(analyse(groups, options, generated=end, source=source))
        await clock.sleep_until(deadline)


# --- HTML ------------------------------------------------------------------------------------

_CSS = """
:root { --ink: #1d2733; --muted: #5b6b7c; --line: #d5dde5; --bad: #c0392b; --good: #1e8449;
  --warn: #b9770e; --accent: #1f5f99; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
  system-ui, sans-serif; color: var(--ink); margin: 0 auto; max-width: 1180px; padding: 24px;
  line-height: 1.45; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.25em; margin: 32px 0 8px; border-bottom: 2px solid var(--accent);
  padding-bottom: 4px; }
h3 { font-size: 1.08em; margin: 28px 0 6px; }
.en { color: var(--muted); font-weight: normal; font-size: 0.86em; }
.meta { color: var(--muted); margin: 0 0 16px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 12px; font-size: 0.9em; }
th, td { border: 1px solid var(--line); padding: 4px 6px; text-align: right;
  vertical-align: top; }
th { background: #eef3f8; text-align: center; font-weight: 600; }
th .en { display: block; font-size: 0.82em; }
td.name, th.name { text-align: left; }
tr.over td { background: #fdecea; }
tr.soon td { background: #fef5e7; }
.bad { color: var(--bad); font-weight: 600; }
.good { color: var(--good); }
.warn { color: var(--warn); font-weight: 600; }
ul.summary li { margin: 2px 0; }
figure { margin: 6px 0 12px; }
figure svg { width: 100%; height: auto; border: 1px solid var(--line); background: #fff; }
figcaption { color: var(--muted); font-size: 0.85em; }
.note { color: var(--muted); font-size: 0.85em; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px;
  font-size: 0.9em; margin: 4px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _bi(zh: str, en: str) -> str:
    return f'{_e(zh)} <span class="en">{_e(en)}</span>'


def _pct(p: float | None) -> str:
    if p is None:
        return "—"
    if p >= 0.1:
        return f"{p * 100:.0f} %"
    if p >= 0.001:
        return f"{p * 100:.1f} %"
    return "< 0.1 %"


def _gos_label(gos: GradeOfService) -> tuple[str, str]:
    if gos.model == "b":
        return "呼损率", f"P(blocked) ≤ {gos.target * 100:g} % (Erlang B)"
    if gos.wait_s > 0:
        return (
            "等待概率",
            f"P(wait > {gos.wait_s:g} s) ≤ {gos.target * 100:g} % (Erlang C, "
            f"hold {gos.hold_s:g} s)",
        )
    return "等待概率", f"P(wait) ≤ {gos.target * 100:g} % (Erlang C)"


def _breach_text(g: GroupReport) -> tuple[str, str]:
    """(cell HTML, row class) for the breach date."""
    f = g.forecast
    if f is None:
        return "—", ""
    if f.breach is None:
        return '<span class="good">无 none</span>', ""
    as_of = g.as_of or f.breach
    spread = ""
    if g.breach_sd_days is not None and g.breach_sd_days >= 0.5:
        spread = f' <span class="en">± {2 * g.breach_sd_days:.0f} d</span>'
    if f.breach <= f.trend.start:
        return '<span class="bad">已超标 over throughout</span>', "over"
    if f.breach <= as_of:
        return f'<span class="bad">已超标 over since {f.breach}</span>', "over"
    cls = "soon" if f.breach <= f.horizon else ""
    style = "warn" if cls else ""
    return f'<span class="{style}">{f.breach}</span>{spread}', cls


def _units_cell(g: GroupReport) -> str:
    r = g.recommendation
    if r is None:
        return "—"
    unit = "载波 carrier" if g.system == "radio" else "E1"
    if r.units_to_add == 0:
        return '<span class="good">0</span>'
    text = (
        f'<span class="bad">+{r.units_to_add}</span> {_e(unit)} '
        f"({r.current.units}→{r.proposed.units})"
    )
    if not r.feasible:
        text += ' <span class="warn">超出上限 beyond the limit: split the site</span>'
    return text


def _table(groups: Sequence[GroupReport], system: GroupSystem) -> str:
    unit = ("载波", "carriers") if system == "radio" else ("E1", "spans")
    channels = ("业务信道", "traffic channels") if system == "radio" else ("中继", "trunks")
    name = ("基站", "site") if system == "radio" else ("中继群", "trunk group")
    gos_zh = "等待概率" if system == "radio" else "呼损率"
    add = ("扩容", "carriers to add") if system == "radio" else ("扩容", "E1s to add")
    heads = [
        name,
        unit,
        channels,
        ("忙时话务量", "busy-hour E"),
        ("目标容量", "capacity E at target"),
        ("利用率", "utilisation"),
        (f"实测{gos_zh}", "measured GoS"),
        (f"预测{gos_zh}", "predicted GoS (horizon)"),
        ("周增长", "growth / week"),
        ("预计超标日期", "breach date"),
        add,
    ]
    cells = "".join(
        f'<th class="{"name" if i == 0 else ""}">{_e(zh)}<span class="en">{_e(en)}</span></th>'
        for i, (zh, en) in enumerate(heads)
    )
    rows = [f"<tr>{cells}</tr>"]
    for g in groups:
        f = g.forecast
        breach, cls = _breach_text(g)
        measured = g.measured.value if g.measured else None
        m_cls = "bad" if measured is not None and measured > g.gos.target else ""
        h_gos = g.horizon_gos
        h_cls = "bad" if h_gos is not None and h_gos > g.gos.target else ""
        anchor = _anchor(g)
        row = [
            f'<td class="name"><a href="#{anchor}">{_e(g.group.title)}</a>'
            f'<br><span class="en">{_e(g.name)}</span></td>',
            f"<td>{g.plan.units}</td>",
            f"<td>{g.plan.traffic_channels}</td>",
            f"<td>{f.busy_hour_erlangs:.2f}</td>" if f else "<td>—</td>",
            f"<td>{g.capacity_erlangs:.2f}</td>",
            f"<td>{_pct(f.utilisation)}</td>" if f else "<td>—</td>",
            f'<td class="{m_cls}">{_pct(measured)}</td>',
            f'<td class="{h_cls}">{_pct(h_gos)}</td>',
            f"<td>{f.trend.growth_per_week * 100:+.1f} %</td>" if f else "<td>—</td>",
            f"<td>{breach}</td>",
            f"<td>{_units_cell(g)}</td>",
        ]
        rows.append(f'<tr class="{cls}">{"".join(row)}</tr>')
    return "<table>" + "".join(rows) + "</table>"


def _anchor(g: GroupReport) -> str:
    return f"{g.system}-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in g.name)


def _nice_step(span: float, target_ticks: int = 5) -> float:
    if span <= 0:
        return 1.0
    raw = span / target_ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= m * magnitude:
            return float(m * magnitude)
    return float(10.0 * magnitude)


class _Plot:
    """Maps days and Erlangs to SVG coordinates and collects the drawing."""

    W, H = 960, 320
    LEFT, RIGHT, TOP, BOTTOM = 58, 18, 18, 62

    def __init__(self, first: date, last: date, y_max: float) -> None:
        self.first = first
        self.days = max(1, (last - first).days)
        self.y_max = y_max if y_max > 0 else 1.0
        self.parts: list[str] = []

    def x0(self, day: date) -> float:
        """The left edge (midnight) of ``day``."""
        return self.LEFT + (day - self.first).days / self.days * (self.W - self.LEFT - self.RIGHT)

    def x(self, when: date | datetime) -> float:
        if isinstance(when, datetime):
            d = (when.date() - self.first).days + (when.hour + when.minute / 60) / 24
        else:
            d = (when - self.first).days + 0.5
        return self.LEFT + d / self.days * (self.W - self.LEFT - self.RIGHT)

    def y(self, erlangs: float) -> float:
        inner = self.H - self.TOP - self.BOTTOM
        return self.TOP + inner * (1.0 - min(erlangs, self.y_max * 1.5) / self.y_max)

    def add(self, element: str) -> None:
        self.parts.append(element)

    def svg(self, label: str) -> str:
        body = "".join(self.parts)
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.W} {self.H}" '
            f'role="img" aria-label="{_e(label)}" font-size="11" '
            f'font-family="sans-serif">{body}</svg>'
        )


def _points(pairs: Iterable[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in pairs)


def _plot(g: GroupReport, horizon_end: date, worst: int) -> str:
    hours = g.group.traffic.hours
    f = g.forecast
    if not hours or not g.days:
        return '<p class="note">无数据 no data</p>'
    first = g.days[0].day
    last = max(horizon_end, g.days[-1].day) + _DAY
    proposed_cap = None
    if g.recommendation is not None and g.recommendation.units_to_add > 0:
        proposed_cap = g.gos.traffic_capacity(g.recommendation.proposed.traffic_channels)
    candidates = [h.carried_erlangs for h in hours] + [g.capacity_erlangs]
    if f is not None:
        candidates += [f.horizon_erlangs, f.busy_hour_erlangs]
    if proposed_cap is not None:
        candidates.append(proposed_cap)
    y_top = max(candidates) * 1.08
    step = _nice_step(y_top)
    y_max = math.ceil(y_top / step) * step
    p = _Plot(first, last, y_max)
    left, right = p.LEFT, p.W - p.RIGHT
    bottom = p.H - p.BOTTOM
    # Grid and axes.
    tick = 0.0
    for _ in range(40):
        if tick > y_max + 1e-9:
            break
        yy = p.y(tick)
        p.add(f'<line x1="{left}" y1="{yy:.1f}" x2="{right}" y2="{yy:.1f}" stroke="#e3e8ee"/>')
        p.add(
            f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#5b6b7c">'
            f"{tick:g}</text>"
        )
        tick += step
    p.add(
        f'<text x="14" y="{(p.TOP + bottom) / 2:.0f}" transform="rotate(-90 14 '
        f'{(p.TOP + bottom) / 2:.0f})" text-anchor="middle" fill="#5b6b7c">'
        "话务量 traffic (E)</text>"
    )
    span_days = (last - first).days
    every = 7 if span_days <= 120 else 14 if span_days <= 240 else 28
    day = first - timedelta(days=first.weekday())
    for _ in range(400):
        if day > last:
            break
        if day >= first:
            xx = p.x0(day)
            p.add(
                f'<line x1="{xx:.1f}" y1="{bottom}" x2="{xx:.1f}" y2="{bottom + 4}" '
                'stroke="#5b6b7c"/>'
            )
            p.add(
                f'<text x="{xx:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#5b6b7c">'
                f"{day:%m-%d}</text>"
            )
        day += timedelta(days=every)
    p.add(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#5b6b7c"/>')
    p.add(f'<line x1="{left}" y1="{p.TOP}" x2="{left}" y2="{bottom}" stroke="#5b6b7c"/>')
    # Hourly carried traffic, broken where hours are missing.
    runs: list[list[tuple[float, float]]] = []
    previous: datetime | None = None
    for h in hours:
        if previous is None or (h.start - previous) > timedelta(hours=1):
            runs.append([])
        runs[-1].append((p.x(h.start), p.y(h.carried_erlangs)))
        previous = h.start
    for run in runs:
        if len(run) > 1:
            p.add(
                f'<polyline points="{_points(run)}" fill="none" stroke="#9fb3c8" '
                'stroke-width="0.6"/>'
            )
    # Worst-N load per period.
    for period in g.periods:
        if period.erlangs is None:
            continue
        x0 = p.x0(max(period.start, first))
        x1 = p.x0(min(period.end + _DAY, last))
        yy = p.y(period.erlangs)
        p.add(
            f'<line x1="{x0:.1f}" y1="{yy:.1f}" x2="{x1:.1f}" y2="{yy:.1f}" stroke="#e67e22" '
            'stroke-width="2.2"><title>'
            f"{_e(period.start)}: worst {len(period.worst)} days {period.erlangs:.2f} E"
            "</title></line>"
        )
    # Daily busy hours; incident days apart.
    for d in g.days:
        xx, yy = p.x(d.start), p.y(d.erlangs)
        tip = f"{d.day} {d.start:%H:%M} {d.erlangs:.2f} E"
        if d.incident:
            p.add(
                f'<rect x="{xx - 4:.1f}" y="{yy - 4:.1f}" width="8" height="8" fill="#c0392b" '
                f'transform="rotate(45 {xx:.1f} {yy:.1f})"><title>重大事件 major incident '
                f"{_e(tip)}</title></rect>"
            )
        else:
            p.add(
                f'<circle cx="{xx:.1f}" cy="{yy:.1f}" r="2.4" fill="#1f5f99">'
                f"<title>{_e(tip)}</title></circle>"
            )
    # Capacity lines.
    yy = p.y(g.capacity_erlangs)
    p.add(
        f'<line x1="{left}" y1="{yy:.1f}" x2="{right}" y2="{yy:.1f}" stroke="#c0392b" '
        'stroke-width="1.6"/>'
        f'<text x="{right - 4}" y="{yy - 5:.1f}" text-anchor="end" fill="#c0392b">'
        f"目标容量 capacity at target {g.capacity_erlangs:.2f} E "
        f"({g.plan.units} × {_e(g.plan.unit_name)}, {g.plan.traffic_channels} ch)</text>"
    )
    if proposed_cap is not None and g.recommendation is not None:
        yy = p.y(proposed_cap)
        p.add(
            f'<line x1="{left}" y1="{yy:.1f}" x2="{right}" y2="{yy:.1f}" stroke="#1e8449" '
            'stroke-width="1.4" stroke-dasharray="7 4"/>'
            f'<text x="{right - 4}" y="{yy - 5:.1f}" text-anchor="end" fill="#1e8449">'
            f"扩容后 after expansion {proposed_cap:.2f} E "
            f"({g.recommendation.proposed.units} × {_e(g.plan.unit_name)})</text>"
        )
    # Planning trend: solid over the history, dashed beyond it.
    if f is not None:
        trend = f.trend
        as_of = g.days[-1].day
        past = [(p.x(d), p.y(trend.at(d))) for d in _date_range(trend.start, as_of)]
        future = [(p.x(d), p.y(trend.at(d))) for d in _date_range(as_of, f.horizon)]
        if len(past) > 1:
            p.add(
                f'<polyline points="{_points(past)}" fill="none" stroke="#6c3483" '
                'stroke-width="1.8"/>'
            )
        if len(future) > 1:
            p.add(
                f'<polyline points="{_points(future)}" fill="none" stroke="#6c3483" '
                'stroke-width="1.8" stroke-dasharray="5 4"/>'
            )
        if f.breach is not None and f.breach <= last:
            xx = p.x(f.breach)
            p.add(
                f'<line x1="{xx:.1f}" y1="{p.TOP}" x2="{xx:.1f}" y2="{bottom}" stroke="#c0392b" '
                'stroke-dasharray="3 3"/>'
                f'<text x="{xx + 4:.1f}" y="{p.TOP + 12}" fill="#c0392b">'
                f"超标 breach {f.breach}</text>"
            )
        xx = p.x(f.horizon)
        p.add(
            f'<line x1="{xx:.1f}" y1="{p.TOP}" x2="{xx:.1f}" y2="{bottom}" stroke="#5b6b7c" '
            'stroke-dasharray="1 3"/>'
        )
    # Legend.
    ly = p.H - 18
    legend = [
        (
            '<line x1="0" y1="0" x2="18" y2="0" stroke="#9fb3c8" stroke-width="1.5"/>',
            "每小时 hourly",
        ),
        ('<circle cx="9" cy="0" r="2.6" fill="#1f5f99"/>', "每日忙时 daily busy hour"),
        (
            '<rect x="5" y="-4" width="8" height="8" fill="#c0392b" transform="rotate(45 9 0)"/>',
            "重大事件 incident",
        ),
        (
            '<line x1="0" y1="0" x2="18" y2="0" stroke="#e67e22" stroke-width="2.2"/>',
            f"最忙 {worst} 日 worst-{worst} days",
        ),
        ('<line x1="0" y1="0" x2="18" y2="0" stroke="#6c3483" stroke-width="1.8"/>', "趋势 trend"),
    ]
    lx = float(left)
    for glyph, text in legend:
        p.add(
            f'<g transform="translate({lx:.0f},{ly})">{glyph}'
            f'<text x="24" y="4">{_e(text)}</text></g>'
        )
        lx += 34 + 7.2 * len(text)
    return p.svg(f"{g.group.title} traffic history")


def _date_range(a: date, b: date) -> Iterator[date]:
    day = a
    for _ in range(5000):
        if day > b:
            return
        yield day
        day += _DAY


def _group_section(g: GroupReport, options: PlanningOptions) -> str:
    f = g.forecast
    gos_zh, gos_en = _gos_label(g.gos)
    unit = "载波 carriers" if g.system == "radio" else "E1"
    facts: list[tuple[str, str]] = [
        ("资产 assets", ", ".join(g.group.assets) or "—"),
        (
            "配置 plan",
            f"{g.plan.units} {unit}, {g.plan.traffic_channels} 业务信道 traffic channels"
            f" ({g.plan.reserved} reserved)",
        ),
        ("服务等级 GoS target", f"{gos_zh} {gos_en}"),
    ]
    if g.measured is not None:
        m = g.measured
        text = (
            f"{_pct(m.value)} over {m.hours} busy hours, {m.attempts} calls "
            f"(queued {_pct(m.queued_ratio)}, blocked {_pct(m.blocked_ratio)}"
        )
        if m.mean_wait_s is not None:
            text += f", mean wait of those served after queueing {m.mean_wait_s:.1f} s"
        facts.append(("实测 measured", text + ")"))
    if f is not None:
        facts += [
            (
                "忙时话务量 busy hour",
                f"{f.busy_hour_erlangs:.2f} E now (trend × busy-day factor "
                f"{g.busy_day_factor:.3f}), {f.horizon_erlangs:.2f} E on {f.horizon}",
            ),
            (
                "增长 growth",
                f"{f.trend.growth_per_week * 100:+.2f} % a week "
                f"(Theil–Sen over {f.trend.points} ordinary days)",
            ),
            (
                "预测 predicted",
                f"{_pct(f.predicted_gos)} now, {_pct(g.horizon_gos)} on {f.horizon} "
                "with the present channels",
            ),
        ]
        if f.breach is not None:
            spread = (
                f" (± {2 * g.breach_sd_days:.0f} days, about 95 %)"
                if g.breach_sd_days is not None
                else ""
            )
            facts.append(("超标 breach", f"{f.breach}{spread}"))
    r = g.recommendation
    if r is not None:
        if r.units_to_add:
            text = (
                f"+{r.units_to_add} ({r.current.units} → {r.proposed.units} {unit}, "
                f"{r.proposed.traffic_channels} channels) for {r.design_erlangs:.2f} E: "
                f"{_pct(r.predicted_gos)}"
            )
            if not r.feasible:
                text += " — beyond the most the site takes: split the traffic with a new site"
        else:
            text = f"none needed up to {f.horizon if f else '—'}"
        facts.append(("扩容 expansion", text))
    if g.problem:
        facts.append(("说明 note", g.problem))
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    periods = [p for p in g.periods if p.erlangs is not None or p.incidents][-12:]
    rows = [
        "<tr><th>周期 period</th>"
        f"<th>最忙 {options.worst} 日均值 worst-{options.worst} mean (E)</th>"
        "<th>最忙日 worst days</th><th>重大事件日 incident days</th></tr>"
    ]
    for p in periods:
        worst = ", ".join(f"{d.day:%m-%d} {d.erlangs:.2f}" for d in p.worst)
        inc = ", ".join(f"{d.day:%m-%d} {d.erlangs:.2f} E" for d in p.incidents) or "—"
        load = f"{p.erlangs:.2f}" if p.erlangs is not None else "—"
        rows.append(
            f'<tr><td class="name">{p.start} … {p.end}</td><td>{load}</td>'
            f'<td class="name">{_e(worst)}</td><td class="name">{_e(inc)}</td></tr>'
        )
    horizon_end = f.horizon if f else (g.as_of or date.today())
    return (
        f'<section id="{_anchor(g)}"><h3>{_e(g.group.title)} <span class="en">'
        f"{_e(g.name)}</span></h3>"
        f'<dl class="facts">{dl}</dl>'
        f"<figure>{_plot(g, horizon_end, options.worst)}<figcaption>"
        "话务量历史、趋势与容量 traffic history, trend and capacity at target"
        "</figcaption></figure>"
        f"<table>{''.join(rows)}</table></section>"
    )


def render_html(report: CapacityReport, *, title: str = "", centre: str = "") -> str:
    """The report as one self-contained HTML page: inline CSS and SVG, no scripts."""
    opts = report.options
    heading = title or "容量规划报告"
    first, last = report.first_day, report.last_day
    span = f"{first} … {last}" if first and last else "—"
    radio, lines = report.radio, report.lines
    objectives = []
    if radio:
        zh, en = _gos_label(radio[0].gos)
        objectives.append(f"基站 radio: {zh} {en}")
    if lines:
        zh, en = _gos_label(lines[0].gos)
        objectives.append(f"中继 trunks: {zh} {en}")
    horizon_weeks = opts.horizon.days / 7
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(heading)} Capacity planning report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_bi(heading, 'Capacity planning report')}</h1>",
        f'<p class="meta">{_e(centre) + " · " if centre else ""}'
        f"历史 history {_e(span)} · 规划期 horizon {horizon_weeks:g} 周 weeks · "
        f"计划基础 basis: 每{'周' if opts.period == 'week' else '月'}最忙 {opts.worst} 日忙时均值 "
        f"mean busy hour of the worst {opts.worst} days per {opts.period} · "
        f"生成 generated {report.generated:%Y-%m-%d %H:%M}"
        f"{' · ' + _e(report.source) if report.source else ''}</p>",
        f'<p class="meta">服务等级目标 GoS targets: {_e("; ".join(objectives))}</p>',
        f"<h2>{_bi('扩容建议', 'Expansion needed')}</h2>",
    ]
    if report.expansions:
        items = []
        for g in report.expansions:
            r = g.recommendation
            assert r is not None
            unit = "载波 carrier(s)" if g.system == "radio" else "E1"
            breach = g.forecast.breach if g.forecast else None
            items.append(
                f'<li><a href="#{_anchor(g)}">{_e(g.group.title)}</a> ({_e(g.name)}): '
                f"+{r.units_to_add} {_e(unit)} ({r.current.units} → {r.proposed.units})"
                f"{f', 超标 breach {breach}' if breach else ''}</li>"
            )
        parts.append(f'<ul class="summary">{"".join(items)}</ul>')
    else:
        parts.append("<p>无 None: every group meets its target up to the horizon.</p>")
    if radio:
        parts += [f"<h2>{_bi('基站', 'Base stations')}</h2>", _table(radio, "radio")]
    if lines:
        parts += [f"<h2>{_bi('110 中继群', '110 trunk groups')}</h2>", _table(lines, "line")]
    incidents = [(g, d) for g in report.groups for d in g.incidents]
    parts.append(f"<h2>{_bi('重大事件日', 'Major-incident days')}</h2>")
    if incidents:
        rows = "".join(
            f'<tr><td class="name">{d.day}</td><td class="name">{_e(g.group.title)}</td>'
            f"<td>{d.start:%H:%M}</td><td>{d.erlangs:.2f}</td></tr>"
            for g, d in sorted(incidents, key=lambda gd: (gd[1].day, gd[0].name))
        )
        parts.append(
            "<table><tr><th class='name'>日期 day</th><th class='name'>基站/中继 group</th>"
            "<th>忙时 busy hour</th><th>话务量 E</th></tr>" + rows + "</table>"
            '<p class="note">Shown apart and left out of the trend and of the worst-day loads, '
            "so one surge does not drive the plan.</p>"
        )
    else:
        parts.append("<p>无 none</p>")
    parts.append(f"<h2>{_bi('详情', 'Details')}</h2>")
    parts += [_group_section(g, opts) for g in report.groups]
    parts.append(
        f"<h2>{_bi('方法', 'Method')}</h2>"
        '<p class="note">Hourly carried traffic is the rate of the busy-channel-seconds counters. '
        "The busy hour of each day is its busiest hour. Days of the incident log, and days "
        f"more than {opts.incident_threshold:g} robust standard deviations and "
        f"{opts.incident_min_ratio:g}× above the trend, are major-incident days. The planning load "
        f"is the mean busy hour of the worst {opts.worst} ordinary days per {opts.period}; the "
        "growth trend is a Theil–Sen line through the ordinary days' busy hours "
        f"({opts.growth}), lifted to the planning load by the median ratio of the two. The "
        "breach date is where it reaches the traffic the present channels carry at the target; "
        "carriers (E1 spans) are added for the larger of today's and the horizon's planning "
        f"traffic{f' × {opts.margin:g}' if opts.margin != 1 else ''}. Measured P(wait &gt; t) "
        "counts the calls served after queueing by exp(−t / their mean wait), as on the "
        "dashboards, and every call that never got a channel.</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)

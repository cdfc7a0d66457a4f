"""``PrometheusHistory``: hourly traffic from the Prometheus HTTP API (``query_range``) over the
recording rules of ``alerts/recording.rules.yml``, falling back to the raw counters where no
rule was recorded yet. aiohttp's errors become ``HistoryError`` here."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from monitor.capacity.busy_hours import HourlyTraffic
from monitor.capacity.errors import HistoryError, HistoryQueryError, HistoryUnavailable
from monitor.capacity.forecasting import SiteTraffic
from monitor.capacity.history import (
    HOUR_S,
    MeasuredGroup,
    Objectives,
    Progress,
    call_count,
    local_hour_ceil,
    local_hour_floor,
    plan_from_counts,
)
from monitor.core.prometheus_api import api_get
from monitor.core.promql import scope

__all__ = ["CENTRE_LABEL", "PrometheusHistory"]

#: The label a region's store tells centres apart by (each centre's Prometheus adds it as an
#: external label).
CENTRE_LABEL = "centre"

log = logging.getLogger("trunkwatch.capacity")

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

    With ``centre``, every query reads that centre's series of a region's store only.

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
        centre: str | None = None,
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
        self.chunk_hours = int(chunk.total_seconds() // HOUR_S)
        self.concurrency = concurrency
        self.timeout = timeout
        self._session = session
        #: Display names by site or asset id, where Prometheus has no trunkwatch_*_info.
        self.titles = dict(titles or {})
        #: One centre of a region's store (its ``centre`` label); None reads every series.
        self.centre = centre

    def query(self, expr: str) -> str:
        """``expr`` as sent: scoped to ``centre`` when one is chosen."""
        if self.centre is None:
            return expr
        return scope(expr, CENTRE_LABEL, f"{CENTRE_LABEL}={json.dumps(self.centre)}")

    async def fetch(
        self, start: datetime, end: datetime, *, progress: Progress | None = None
    ) -> list[MeasuredGroup]:
        # Evaluation instants: the end of every local hour that starts in [start, end).
        first_t = local_hour_ceil(start.timestamp(), self.tz) + HOUR_S
        last_t = local_hour_floor(end.timestamp(), self.tz)
        if last_t < first_t:
            raise ValueError("the history must span at least one whole hour")
        chunks = []
        t = first_t
        while t <= last_t:
            stop = min(last_t, t + (self.chunk_hours - 1) * HOUR_S)
            chunks.append((t, stop))
            t = stop + HOUR_S
        ranged = [("radio", k, self.query(q)) for k, q in _RADIO_QUERIES.items()]
        ranged += [("line", k, self.query(q)) for k, q in _LINE_QUERIES.items()]
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
                        {"query": query, "start": str(a), "end": str(b), "step": str(HOUR_S)},
                    )
                label_names = ("site",) if system == "radio" else ("site", "asset")
                series = results[(system, key)]
                for item in _result_list(data, "matrix"):
                    labels = item.get("metric", {})
                    ident = tuple(str(labels.get(n, "")) for n in label_names)
                    points = series.setdefault(ident, {})
                    for stamp, v in _values(item.get("values", [])):
                        # The value at T is the hour that ended at T.
                        points[stamp - HOUR_S] = v
                done += 1
                if progress is not None:
                    day = datetime.fromtimestamp(a - HOUR_S, self.tz).date()
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
                    tasks.create_task(one_instant(key, self.query(query)))
        except* HistoryError as group:
            raise group.exceptions[0] from None
        finally:
            if self._session is None:
                await session.close()
        return self._assemble(results, plan)

    async def instant(self, expr: str, at: float) -> list[tuple[dict[str, str], float]]:
        """``expr``, scoped to the centre, evaluated at ``at``: each series' labels and value."""
        session = self._session or aiohttp.ClientSession()
        try:
            data = await self._get(
                session, "/api/v1/query", {"query": self.query(expr), "time": str(at)}
            )
        finally:
            if self._session is None:
                await session.close()
        return [
            ({k: str(v) for k, v in item.get("metric", {}).items()}, value)
            for item in _result_list(data, "vector")
            for _, value in _values([item.get("value")])
        ]

    async def label_values(self, label: str) -> list[str]:
        """Every value ``label`` has in the store (``/api/v1/label/…/values``), sorted."""
        session = self._session or aiohttp.ClientSession()
        try:
            data = await self._get(session, f"/api/v1/label/{label}/values", {})
        finally:
            if self._session is None:
                await session.close()
        if not isinstance(data, list):
            raise HistoryQueryError(f"{self.base_url}: label values of {label} are not a list")
        return sorted(str(v) for v in data)

    async def _get(
        self, session: aiohttp.ClientSession, path: str, params: Mapping[str, str]
    ) -> Any:
        return await api_get(
            session,
            self.base_url + path,
            params,
            request_timeout=self.timeout,
            unavailable=HistoryUnavailable,
            rejected=HistoryQueryError,
        )

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
            channel_plan = plan_from_counts("radio", radio_units.get(site), radio_tch.get(site))
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
            channel_plan = plan_from_counts("line", spans.get(ident), trunks.get(ident))
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
                    attempts=call_count(counts["attempts"].get(b, math.nan)),
                    queued=call_count(counts.get("queued", {}).get(b, math.nan)),
                    blocked=call_count(counts["blocked"].get(b, math.nan)),
                )
            )
            if radio and b in counts["queue_wait"]:
                waits[start] = max(0.0, counts["queue_wait"][b])
        return tuple(hours), waits


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

"""``PrometheusSamples``: the raw samples of a period from the Prometheus HTTP API, exact to the
scrape — the probe series as runs, the E1 interval gauges summed, the inventory's info series.
aiohttp's errors become ``SourceError`` here.

The period is read in chunks: at the end ``T`` of each chunk of width ``W``, an instant query of
the range selector ``…[W]`` returns every raw sample in it (no step, no lookback, no
interpolation), from one staleness limit before the period (a sample just before it still
holds at its start) to one E1 interval after it (an interval begun in the period ends after
it). A range selector includes the samples at both its ends: the one at a chunk's edge is read
twice and kept once. Each chunk is folded into runs (``timeline.compress``) as it arrives, so a
month of polls never sits in memory as samples.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp

from monitor.availability.calculator import AssetInfo, ProbeSeries
from monitor.availability.errors import SourceError, SourceQueryError, SourceUnavailable
from monitor.availability.g826 import COUNTERS, ELAPSED, INTERVAL_S, E1Counts, E1Line
from monitor.availability.periods import Period
from monitor.availability.timeline import STALENESS_S, Run, compress, ms
from monitor.core.prometheus_api import api_get
from monitor.core.promql import scope

__all__ = ["CENTRE_LABEL", "Progress", "PrometheusSamples", "Samples"]

#: The label a region's store tells centres apart by.
CENTRE_LABEL = "centre"

SUCCESS = "trunkwatch_probe_success"
FAILURE = "trunkwatch_probe_failure_info"
# The probe series, and only the failures the monitor put down to a failed upstream asset
# (a regex that matches "" also matches a series without the label: the success series).
_PROBES = f'{{__name__=~"{SUCCESS}|{FAILURE}", reason=~"|unreachable"}}'
_E1 = '{__name__=~"' + "|".join([*COUNTERS.values(), ELAPSED]) + '"}'
# The inventory as the monitor exported it: assets with their parent, sites with their names.
_INVENTORY = (
    "max by (site, asset, system, kind, name, parent) (last_over_time(trunkwatch_asset_info[{w}]))"
    " or max by (site, name, name_en) (last_over_time(trunkwatch_site_info[{w}]))"
)
# Labels of the asset and probe; the others (replica, member, instance …) name the process.
_NOT_SOURCE = frozenset({"__name__", "site", "asset", "system", "kind", "probe", "reason"})

#: ``progress(done, total, what)`` after each request.
Progress = Callable[[int, int, str], None]

_SeriesKey = tuple[str, str, str, str, str]  # asset, probe, source, site, system


@dataclass(slots=True)
class Samples:
    """What a period's raw samples say, ready for ``compute``."""

    success: list[ProbeSeries] = field(default_factory=list)
    unreachable: list[ProbeSeries] = field(default_factory=list)
    e1: list[E1Line] = field(default_factory=list)
    #: The inventory of ``trunkwatch_asset_info`` (latest in the period).
    assets: list[AssetInfo] = field(default_factory=list)
    site_names: dict[str, str] = field(default_factory=dict)


class PrometheusSamples:
    """Raw samples from ``base_url`` (Prometheus or any store answering its HTTP API).

    Requests are bounded: each reads at most ``chunk`` of history, at most ``concurrency`` are
    in flight, each gives up after ``timeout`` seconds. With ``centre``, every query reads that
    centre's series of a region's store only.
    """

    def __init__(
        self,
        base_url: str,
        *,
        staleness: float = STALENESS_S,
        chunk: timedelta = timedelta(hours=12),
        concurrency: int = 2,
        timeout: float = 30.0,
        centre: str | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"Prometheus URL must be http:// or https://, got {base_url!r}")
        if chunk < timedelta(minutes=1):
            raise ValueError("chunk must be at least a minute")
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        if not staleness > 0:
            raise ValueError("the staleness limit must be above 0")
        self.base_url = base_url.rstrip("/")
        self.staleness = staleness
        self.chunk_s = int(chunk.total_seconds())
        self.concurrency = concurrency
        self.timeout = timeout
        self.centre = centre
        self._session = session

    def query(self, expr: str) -> str:
        """``expr`` as sent: scoped to ``centre`` when one is chosen."""
        if self.centre is None:
            return expr
        return scope(expr, CENTRE_LABEL, f"{CENTRE_LABEL}={json.dumps(self.centre)}")

    def chunks(self, period: Period) -> list[tuple[int, int]]:
        """``(evaluation time, range in seconds)`` of each chunk."""
        first = math.floor(period.start.timestamp() - self.staleness)
        last = math.ceil(period.end.timestamp()) + INTERVAL_S
        out = []
        t = first
        while t < last:
            step = min(self.chunk_s, last - t)
            out.append((t + step, step))
            t += step
        return out

    async def fetch(self, period: Period, *, progress: Progress | None = None) -> Samples:
        """Every raw sample of the period. Raises SourceUnavailable or SourceQueryError."""
        limit = ms(self.staleness)
        success: dict[_SeriesKey, list[list[Run]]] = {}
        unreachable: dict[_SeriesKey, list[list[Run]]] = {}
        e1 = E1Counts()
        inventory: dict[str, tuple[int, AssetInfo]] = {}
        site_names: dict[str, tuple[int, str]] = {}
        chunks = self.chunks(period)
        total, done = 3 * len(chunks), 0
        gate = asyncio.Semaphore(self.concurrency)
        session = self._session or aiohttp.ClientSession()

        async def ask(expr: str, at: int) -> Any:
            nonlocal done
            async with gate:
                data = await self._get(session, {"query": self.query(expr), "time": str(at)})
            done += 1
            if progress is not None:
                progress(done, total, f"up to {at}")
            return data

        async def probes(at: int, width: int) -> None:
            for labels, samples in _matrix(await ask(f"{_PROBES}[{width}s]", at)):
                name = labels.get("__name__")
                key = (
                    labels.get("asset", ""),
                    labels.get("probe", ""),
                    _source(labels),
                    labels.get("site", ""),
                    labels.get("system", ""),
                )
                found = success if name == SUCCESS else unreachable
                found.setdefault(key, []).append(compress(samples, limit))

        async def lines(at: int, width: int) -> None:
            e1.add(list(_matrix(await ask(f"{_E1}[{width}s]", at))))

        async def info(at: int, width: int) -> None:
            for labels, _ in _vector(await ask(_INVENTORY.format(w=f"{width}s"), at)):
                if "asset" in labels:
                    a = AssetInfo(
                        labels["asset"],
                        labels.get("site", ""),
                        labels.get("system", ""),
                        labels.get("name", ""),
                        labels.get("parent") or None,
                    )
                    if a.id not in inventory or inventory[a.id][0] <= at:
                        inventory[a.id] = (at, a)
                elif "site" in labels:
                    name = " ".join(filter(None, (labels.get("name"), labels.get("name_en"))))
                    if labels["site"] not in site_names or site_names[labels["site"]][0] <= at:
                        site_names[labels["site"]] = (at, name)

        try:
            async with asyncio.TaskGroup() as tasks:
                for at, width in chunks:
                    tasks.create_task(probes(at, width))
                    tasks.create_task(lines(at, width))
                    tasks.create_task(info(at, width))
        except* SourceError as group:
            raise group.exceptions[0] from None
        finally:
            if self._session is None:
                await session.close()

        def series(found: Mapping[_SeriesKey, list[list[Run]]]) -> list[ProbeSeries]:
            return [
                ProbeSeries.from_runs(
                    asset,
                    probe,
                    parts,
                    staleness=self.staleness,
                    source=source,
                    site=site,
                    system=system,
                )
                for (asset, probe, source, site, system), parts in sorted(found.items())
            ]

        start, end = ms(period.start.timestamp()), ms(period.end.timestamp())
        return Samples(
            series(success),
            series(unreachable),
            e1.lines(start, end),
            [a for _, a in sorted(inventory.values(), key=lambda ta: ta[1].id)],
            {site: name for site, (_, name) in sorted(site_names.items()) if name},
        )

    async def _get(self, session: aiohttp.ClientSession, params: Mapping[str, str]) -> Any:
        return await api_get(
            session,
            self.base_url + "/api/v1/query",
            params,
            request_timeout=self.timeout,
            unavailable=SourceUnavailable,
            rejected=SourceQueryError,
        )


def _source(labels: Mapping[str, str]) -> str:
    """The exporting process of a series: its labels other than the asset's and the probe's."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in _NOT_SOURCE)


def _results(data: Any, kind: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or data.get("resultType") != kind:
        raise SourceQueryError(f"expected a {kind} result from Prometheus")
    return [r for r in data.get("result", []) if isinstance(r, dict)]


def _labels(item: Mapping[str, Any]) -> dict[str, str]:
    metric = item.get("metric", {})
    return {str(k): str(v) for k, v in metric.items()} if isinstance(metric, dict) else {}


def _sample(pair: Any) -> tuple[int, float]:
    try:
        return ms(float(pair[0])), float(pair[1])
    except (TypeError, ValueError, IndexError) as exc:
        raise SourceQueryError(f"malformed sample in Prometheus' answer: {pair!r}") from exc


def _matrix(data: Any) -> Iterator[tuple[dict[str, str], list[tuple[int, float]]]]:
    """Each series' labels and its ``(ms, value)`` samples, in time order."""
    for item in _results(data, "matrix"):
        values = item.get("values", [])
        samples = [_sample(pair) for pair in values] if isinstance(values, list) else []
        yield _labels(item), samples


def _vector(data: Any) -> Iterator[tuple[dict[str, str], float]]:
    for item in _results(data, "vector"):
        yield _labels(item), _sample(item.get("value"))[1]

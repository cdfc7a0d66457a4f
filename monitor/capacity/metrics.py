"""The ``trunkwatch_capacity_*`` metrics of the last capacity analysis: a prometheus-client
collector read at scrape time, the same gauges as a textfile, and ``keep_current``, the loop
that re-analyses a traffic history every hour into the collector."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry, write_to_textfile
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from monitor.capacity.analysis import CapacityReport, GroupReport, PlanningOptions, analyse
from monitor.capacity.errors import HistoryError
from monitor.capacity.history import TrafficHistory
from monitor.core.clock import Clock

__all__ = ["CapacityCollector", "keep_current", "write_textfile"]

log = logging.getLogger("trunkwatch.capacity")


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

"""Planned maintenance as Prometheus metrics, read from the service's windows in force at
scrape time (no store access):

- ``trunkwatch_maintenance_active{site,asset,system,kind}`` — 1 while the asset is in a
  maintenance window (its own, or its site's), 0 otherwise; one series per configured asset,
  so availability and the boards can leave maintenance time out with ``unless`` or ``* (1 - …)``
- ``trunkwatch_maintenance_windows`` — windows in force now
- ``trunkwatch_maintenance_silences_pending`` — windows whose Alertmanager silence is not yet
  as it should be (not made, or not expired after an early end)
- ``trunkwatch_maintenance_silence_errors_total{operation="create|expire"}`` — failed tries

The per-asset family is kept (text and all, ``monitor.exposition.registry.kept``) while the
configuration and the assets held in maintenance stay the same: at 20,000 assets it would
otherwise be written anew at every scrape to say the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.exposition.registry import kept

if TYPE_CHECKING:
    from monitor.inspections.maintenance.service import MaintenanceService
    from monitor.inspections.maintenance.setup import MaintenanceSetup

__all__ = ["MaintenanceCollector"]


class MaintenanceCollector(Collector):
    def __init__(self, service: MaintenanceService) -> None:
        self._service = service
        #: The per-asset family, with what it was written from: the setup and the held set.
        self._active: tuple[object, frozenset[str], Metric] | None = None

    def describe(self) -> Iterator[Metric]:
        return self._families(collect=False)

    def collect(self) -> Iterator[Metric]:
        return self._families(collect=True)

    def _families(self, *, collect: bool) -> Iterator[Metric]:
        service = self._service
        active: Metric = _active_family()
        windows = GaugeMetricFamily(
            "trunkwatch_maintenance_windows", "Planned maintenance windows in force."
        )
        pending = GaugeMetricFamily(
            "trunkwatch_maintenance_silences_pending",
            "Maintenance windows whose Alertmanager silence is not yet made or expired.",
        )
        errors = CounterMetricFamily(
            "trunkwatch_maintenance_silence_errors",
            "Failed tries to make or expire a maintenance silence in Alertmanager.",
            labels=["operation"],
        )
        if collect:
            now = service.now()
            active = self._active_of(service.setup, frozenset(service.in_force(now)))
            windows.add_metric([], len(service.active_windows(now)))
            pending.add_metric([], service.pending)
            for operation, count in sorted(service.errors.items()):
                errors.add_metric([operation], count)
        yield from (active, windows, pending, errors)

    def _active_of(self, setup: MaintenanceSetup, held: frozenset[str]) -> Metric:
        last = self._active
        if last is not None and last[0] is setup and last[1] == held:
            return last[2]
        active = _active_family()
        for asset in setup.assets.values():
            active.add_metric(
                [asset.site, asset.id, asset.system, asset.kind], 1.0 if asset.id in held else 0.0
            )
        self._active = (setup, held, kept(active))
        return active


def _active_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "trunkwatch_maintenance_active",
        "1 while the asset is in a planned maintenance window (计划检修).",
        labels=["site", "asset", "system", "kind"],
    )

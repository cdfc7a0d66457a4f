"""Shift handover as Prometheus metrics, read from the service's last status (no store access
at scrape time):

- ``trunkwatch_duty_handover_overdue{shift,stage,supervisor}`` — per ``stage`` (``outgoing``:
  not signed over; ``incoming``: signed over, not taken over), 1 while the handover of the
  last shift that ended waits for that signature ``sign_within`` after the change-over, else
  0; both series always present, so a stage that is signed resolves at once rather than going
  stale. ``supervisor`` is who is told (a person or team id, or ``supervisor`` for the
  roster's)
- ``trunkwatch_duty_handover_deadline_timestamp_seconds{shift}`` — when both signatures of
  that handover are due
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from monitor.inspections.handover.service import HandoverService

__all__ = ["HandoverCollector"]


class HandoverCollector(Collector):
    def __init__(self, service: HandoverService) -> None:
        self._service = service

    def describe(self) -> Iterator[Metric]:
        return self._families(collect=False)

    def collect(self) -> Iterator[Metric]:
        return self._families(collect=True)

    def _families(self, *, collect: bool) -> Iterator[Metric]:
        overdue = GaugeMetricFamily(
            "trunkwatch_duty_handover_overdue",
            "1 while the last shift's handover (交接班) is not signed by both in time.",
            labels=["shift", "stage", "supervisor"],
        )
        deadline = GaugeMetricFamily(
            "trunkwatch_duty_handover_deadline_timestamp_seconds",
            "When both signatures of the last shift's handover are due.",
            labels=["shift"],
        )
        status = self._service.status if collect else None
        if status is not None:
            supervisor = self._service.setup.supervisor or "supervisor"
            for stage in ("outgoing", "incoming"):
                late = status.overdue and status.stage == stage
                overdue.add_metric([status.shift.key, stage, supervisor], 1.0 if late else 0.0)
            deadline.add_metric([status.shift.key], status.deadline)
        yield from (overdue, deadline)

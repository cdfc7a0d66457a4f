"""Once-only background work of the inspections: of the instances sharing one store, only the
one holding the store's leader lock (a PostgreSQL advisory lock; always held with SQLite) does
it. Every instance retries the lock once per interval, so when the holder dies the work moves
to a survivor within one interval. ``trunkwatch_inspections_leader`` is 1 on the holder.

The work today is housekeeping of the shared store (expired sign-in sessions). Reminders and
escalations are not done by trunkwatch itself: overdue rounds are metrics, and Alertmanager
(clustered) notifies once; a job added here runs on one instance only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.core.clock import Clock
from monitor.inspections.errors import InspectionError
from monitor.inspections.leadership import LeaderLock

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["INTERVAL_SECONDS", "Job", "OnceOnly"]

log = logging.getLogger("trunkwatch.inspections")

INTERVAL_SECONDS = 30.0

#: A named piece of once-only work; runs in a worker thread (it talks to the store).
Job = tuple[str, Callable[[], object]]


class _LeaderCollector(Collector):
    def __init__(self, once: OnceOnly) -> None:
        self._once = once

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "trunkwatch_inspections_leader",
            "1 on the instance that does the inspections' once-only work (advisory lock holder).",
            value=1.0 if self._once.leading else 0.0,
        )


class OnceOnly:
    """Retry the leader lock every ``interval``; while held, run the jobs each time."""

    def __init__(
        self,
        lock: LeaderLock,
        clock: Clock,
        jobs: Sequence[Job] = (),
        *,
        interval: float = INTERVAL_SECONDS,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._lock = lock
        self._clock = clock
        self._jobs = list(jobs)
        self.interval = interval
        self.leading = False
        #: Rounds done so far (each one a try for the lock).
        self.attempts = 0
        if registry is not None:
            registry.register(_LeaderCollector(self))

    async def step(self) -> bool:
        """One round: take (or keep) the lock, and do the work if it is ours."""
        held = await asyncio.to_thread(self._lock.hold)
        self.attempts += 1
        if held != self.leading:
            if held:
                log.info("this instance now does the inspections' once-only work")
            else:
                log.warning("this instance no longer holds the inspections' leader lock")
        self.leading = held
        if held:
            for name, job in self._jobs:
                try:
                    await asyncio.to_thread(job)
                except InspectionError as exc:
                    log.warning("inspections job %s failed: %s", name, exc)
        return held

    async def run(self) -> None:
        """Forever, once per interval (cancel to stop; the lock is released)."""
        try:
            while True:
                await self.step()
                await self._clock.sleep(self.interval)
        finally:
            self.leading = False
            await asyncio.to_thread(self._lock.release)

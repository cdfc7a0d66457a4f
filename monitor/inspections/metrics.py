"""The inspections as Prometheus metrics: a custom Collector that reads the calendar and the
store at scrape time (cached for a few seconds, and dropped on every write).

Per round (labels plan, site, asset, system, owner; a per-site round has asset="", a
per-system round site="" and asset=""):

- ``trunkwatch_inspection_due_timestamp_seconds`` — due time of the current period
- ``trunkwatch_inspection_deadline_timestamp_seconds`` — due time plus grace
- ``trunkwatch_inspection_last_completed_timestamp_seconds`` — last signature, 0 if never
- ``trunkwatch_inspection_overdue`` — 1 while the current round is past its deadline
- ``trunkwatch_inspection_state{state=…}`` — 1 for the current state, 0 for the others
- ``trunkwatch_inspection_failed_items`` / ``…_discrepancies`` — in the latest signed record
  of the current or previous period
- ``trunkwatch_inspection_follow_ups_open`` — follow-ups (整改) not yet closed

Per plan, target and owner of open follow-ups (the same labels; the owner is the round's, or
whoever opened it for a plan removed since): ``trunkwatch_inspection_followups_overdue`` —
open follow-ups past their due date (0 while every open one is within it).

Per plan and owner: ``trunkwatch_inspection_compliance_ratio`` — of this month's rounds whose
deadline has passed or that were signed, the share signed on time (1 when none was due yet).
``trunkwatch_inspection_store_up`` is 0 while the store cannot be read.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.inspections.calendar import RoundState
from monitor.inspections.errors import StoreError
from monitor.inspections.followups import follow_up_owner, follow_up_place
from monitor.inspections.ledger import index_rounds

if TYPE_CHECKING:
    from monitor.inspections.service import InspectionService

__all__ = ["LABELS", "InspectionCollector", "month_bounds"]

log = logging.getLogger("trunkwatch.inspections")

LABELS = ["plan", "site", "asset", "system", "owner"]
CACHE_SECONDS = 5.0

#: What counts against compliance: rounds that could have been done on time by now.
_COUNTED = (RoundState.DONE, RoundState.DONE_LATE, RoundState.OVERDUE, RoundState.MISSED)


def month_bounds(t: datetime) -> tuple[datetime, datetime]:
    start = t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def _families() -> dict[str, GaugeMetricFamily]:
    def gauge(name: str, doc: str, labels: list[str] = LABELS) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"trunkwatch_inspection_{name}", doc, labels=labels)

    return {
        "due": gauge("due_timestamp_seconds", "Due time of the current inspection round."),
        "deadline": gauge(
            "deadline_timestamp_seconds", "Due time plus grace; past it the round is overdue."
        ),
        "last": gauge(
            "last_completed_timestamp_seconds",
            "When the round was last signed; 0 if never.",
        ),
        "overdue": gauge("overdue", "1 while the current round is past its deadline (逾期)."),
        "state": gauge(
            "state", "1 for the current round's state, 0 for the others.", [*LABELS, "state"]
        ),
        "failed": gauge(
            "failed_items", "Failed checklist items (不合格项) in the latest signed record."
        ),
        "discrepancies": gauge(
            "discrepancies", "Readings that disagree with the live value in the latest record."
        ),
        "follow_ups": gauge("follow_ups_open", "Follow-ups (整改) opened and not yet closed."),
        "follow_ups_overdue": gauge(
            "followups_overdue",
            "Open follow-ups (整改) past their due date, per owner and target.",
        ),
        "compliance": gauge(
            "compliance_ratio",
            "Share of this month's due rounds signed on time (合规率), per plan and owner.",
            ["plan", "owner"],
        ),
    }


class InspectionCollector(Collector):
    def __init__(self, service: InspectionService) -> None:
        self._service = service
        self._lock = threading.Lock()
        self._cached: list[Metric] | None = None
        self._cached_at = 0.0
        self._store_failing = False

    def invalidate(self) -> None:
        with self._lock:
            self._cached = None

    def describe(self) -> Iterator[Metric]:
        yield from _families().values()
        yield GaugeMetricFamily("trunkwatch_inspection_store_up", "1 if the store can be read.")

    def collect(self) -> Iterator[Metric]:
        now = self._service.now()
        with self._lock:
            if self._cached is not None and 0 <= now - self._cached_at < CACHE_SECONDS:
                yield from self._cached
                return
        up = GaugeMetricFamily("trunkwatch_inspection_store_up", "1 if the store can be read.")
        try:
            metrics = list(self._compute(now))
        except StoreError as exc:
            if not self._store_failing:
                log.error("inspection metrics unavailable: %s", exc)
            self._store_failing = True
            up.add_metric([], 0)
            yield up
            return
        if self._store_failing:
            log.info("inspection store readable again")
        self._store_failing = False
        up.add_metric([], 1)
        metrics.append(up)
        with self._lock:
            self._cached, self._cached_at = metrics, now
        yield from metrics

    def _compute(self, now: float) -> Iterator[Metric]:
        service = self._service
        setup, store = service.setup, service.store
        families = _families()
        entries = service.calendar(now=now)
        last = store.last_signed()
        still_open = store.follow_ups(open_only=True)
        open_follow_ups = Counter((f.plan_id, f.target) for f in still_open)
        overdue_follow_ups: Counter[tuple[str, str, str, str, str]] = Counter()
        for f in still_open:
            place = follow_up_place(setup, f)
            where = (f.plan_id, place.site, place.asset, place.system, follow_up_owner(setup, f))
            overdue_follow_ups[where] += f.overdue(now)

        latest: dict[tuple[str, str], tuple[int, int]] = {}
        for plan in setup.plans.values():
            current = plan.schedule.period_at(now)
            if current is None:
                continue
            before = plan.schedule.preceding(current)
            slots = index_rounds(
                store.rounds(plan_id=plan.id, period_from=(before or current).start_ts)
            )
            for (plan_id, target, _start), slot in sorted(slots.items(), key=lambda kv: kv[0][2]):
                if slot.effective is not None:
                    latest[(plan_id, target)] = (
                        slot.effective.failed_items,
                        slot.effective.discrepancies,
                    )

        for e in entries:
            key = (e.plan.id, e.target.key)
            labels = [e.plan.id, e.target.site, e.target.asset, e.target.system, e.owner]
            families["due"].add_metric(labels, e.due_at)
            families["deadline"].add_metric(labels, e.deadline_at)
            families["last"].add_metric(labels, last.get(key, 0.0))
            families["overdue"].add_metric(labels, 1.0 if e.state is RoundState.OVERDUE else 0.0)
            for state in RoundState:
                families["state"].add_metric([*labels, state.value], float(e.state is state))
            failed, discrepancies = latest.get(key, (0, 0))
            families["failed"].add_metric(labels, failed)
            families["discrepancies"].add_metric(labels, discrepancies)
            families["follow_ups"].add_metric(labels, open_follow_ups.get(key, 0))

        for follow_up_labels, n in sorted(overdue_follow_ups.items()):
            families["follow_ups_overdue"].add_metric(list(follow_up_labels), n)

        start, end = month_bounds(service.local(now))
        counted: Counter[tuple[str, str]] = Counter()
        on_time: Counter[tuple[str, str]] = Counter()
        for e in service.due_between(start.timestamp(), end.timestamp(), now=now):
            key = (e.plan.id, e.owner)
            counted[key] += 0  # every plan and owner gets a series, due yet or not
            if e.state in _COUNTED:
                counted[key] += 1
                on_time[key] += e.state is RoundState.DONE
        for (plan_id, owner), n in sorted(counted.items()):
            families["compliance"].add_metric(
                [plan_id, owner], on_time[(plan_id, owner)] / n if n else 1.0
            )
        yield from families.values()

"""The inspections as Prometheus metrics: a custom Collector that reads the calendar and the
store at a scrape, and serves the same families (their text kept, see
``monitor.exposition.registry.kept``) until something they show can have changed:

- a write through this service (``invalidate``);
- a write by any instance on the same store: the audit log's head has moved (looked at
  once every ``CHECK_SECONDS``);
- the clock reaching the next instant at which a round opens, passes its deadline or its
  period ends, a follow-up falls due or the month turns (``next_change``);
- ``REFRESH_SECONDS`` since they were computed, whatever happened.

Between those instants a scrape copies their text. At 10,000 base stations they are some
900,000 series, and computing and writing them takes about five seconds: a set that took
longer than ``INLINE_SECONDS`` is computed again in a worker thread while the one before is
served, so a signature at one site shows a few seconds later instead of stopping every poll
for those seconds. A small estate's sets are computed in the scrape that needs them, so a
signature shows at the very next scrape. The daemon has the first set computed apart as it
starts (``warm``), and the daemon is not ready (``/-/ready``) until it is served; a scrape
that comes before waits for it at most ``INLINE_SECONDS`` and is served without the inspection
families if it is not done by then.

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
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.exposition.registry import KeptGauge, kept
from monitor.inspections.calendar import RoundState
from monitor.inspections.errors import StoreError
from monitor.inspections.followups import follow_up_owner, follow_up_place
from monitor.inspections.ledger import CalendarEntry, index_rounds
from monitor.inspections.records import FollowUp

if TYPE_CHECKING:
    from monitor.inspections.plans import ScheduledPlan
    from monitor.inspections.service import InspectionService

__all__ = ["LABELS", "InspectionCollector", "month_bounds", "next_change"]

log = logging.getLogger("trunkwatch.inspections")

LABELS = ["plan", "site", "asset", "system", "owner"]
#: How often a served set looks at the store's audit log for another instance's writes.
CHECK_SECONDS = 5.0
#: The longest a computed set is served, whatever the calendar says.
REFRESH_SECONDS = 3600.0
#: A set whose last computation took longer (seconds) is computed in a worker thread.
INLINE_SECONDS = 0.25

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


def next_change(
    now: float,
    entries: Iterable[CalendarEntry],
    follow_ups: Iterable[FollowUp],
    later: Iterable[float] = (),
) -> float:
    """The first instant after ``now`` at which one of ``entries`` can change state (its
    round opens, passes its deadline or its period ends), one of ``follow_ups`` falls due,
    or one of ``later`` comes; infinity if none does."""
    instants = [t for e in entries for t in (e.opens_at, e.deadline_at, e.period.end_ts)]
    instants += [f.due_at for f in follow_ups if f.due_at is not None]
    instants += later
    return min((t for t in instants if t > now), default=float("inf"))


def _families() -> dict[str, KeptGauge]:
    def gauge(name: str, doc: str, labels: list[str] = LABELS) -> KeptGauge:
        return KeptGauge(f"trunkwatch_inspection_{name}", doc, labels)

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
        #: Bumped by every write through this service; a set computed from an older one is
        #: stale however young it is.
        self._version = 0
        self._cached_version = -1
        self._computed_at = 0.0
        self._valid_until = 0.0
        self._head = 0
        self._checked_at = 0.0
        #: Seconds the last computation took, writing the text included.
        self._cost = 0.0
        self._worker: threading.Thread | None = None
        self._store_failing = False

    def invalidate(self) -> None:
        with self._lock:
            self._version += 1

    def warm(self) -> None:
        """Start computing the first set in a worker thread, so that the first scrape after a
        start does not compute it on the event loop (seconds at 10,000 sites)."""
        with self._lock:
            if self._cached is None and self._worker is None:
                self._start_worker(self._service.now())

    def _start_worker(self, now: float) -> None:
        """Compute the set at ``now`` in a worker thread. Called with the lock held."""
        self._worker = threading.Thread(
            target=self._refresh_apart, args=(now,), name="inspection metrics", daemon=True
        )
        self._worker.start()

    @property
    def warmed(self) -> bool:
        """Whether a set is served, or none is being computed for the first time (``warm``):
        a failed first computation is retried by the next scrape, inline."""
        worker = self._worker
        return self._cached is not None or worker is None or not worker.is_alive()

    def settle(self, timeout: float | None = None) -> None:
        """Wait for a computation in the worker thread, if one runs, to finish."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)

    def describe(self) -> Iterator[Metric]:
        yield from _families().values()
        yield GaugeMetricFamily("trunkwatch_inspection_store_up", "1 if the store can be read.")

    def _still_valid(self, now: float) -> bool:
        """Whether the served set still shows what the calendar and the store hold at
        ``now``. Called with the lock held."""
        if (
            self._cached is None
            or self._cached_version != self._version
            or not (
                self._computed_at
                <= now
                < min(self._valid_until, self._computed_at + REFRESH_SECONDS)
            )
        ):
            return False
        if now - self._checked_at < CHECK_SECONDS:
            return True
        self._checked_at = now
        try:
            return self._service.store.audit_head() == self._head
        except StoreError:
            return False

    def collect(self) -> Iterator[Metric]:
        now = self._service.now()
        with self._lock:
            first = self._worker if self._cached is None else None
        if first is not None and first.is_alive():
            # The first set is being computed apart (``warm``): wait a moment for it, no more.
            first.join(INLINE_SECONDS)
        with self._lock:
            if self._cached is None and first is not None and first.is_alive():
                return
            cached = self._cached
            if cached is not None and not self._still_valid(now):
                if self._cost <= INLINE_SECONDS:
                    cached = None  # cheap: computed again right here
                elif self._worker is None or not self._worker.is_alive():
                    self._start_worker(now)
        if cached is None:
            cached = self._refresh(now)
        yield from cached

    def _refresh_apart(self, now: float) -> None:
        try:
            self._refresh(now)
        except Exception:  # a bug: the set before stays served, and the next scrape tries again
            log.exception("inspection metrics could not be computed")

    def _refresh(self, now: float) -> list[Metric]:
        """Compute the set at ``now`` and serve it from then on; returns it."""
        with self._lock:
            version = self._version
        up = GaugeMetricFamily("trunkwatch_inspection_store_up", "1 if the store can be read.")
        started = time.perf_counter()
        try:
            head = self._service.store.audit_head()
            metrics, valid_until = self._compute(now)
        except StoreError as exc:
            if not self._store_failing:
                log.error("inspection metrics unavailable: %s", exc)
            self._store_failing = True
            up.add_metric([], 0)
            # Served until the next scrape, which tries again (a failing store fails fast).
            metrics, head, valid_until, cost = [up], self._head, now, 0.0
        else:
            if self._store_failing:
                log.info("inspection store readable again")
            self._store_failing = False
            up.add_metric([], 1)
            metrics = [kept(m, written=True) for m in [*metrics, up]]
            cost = time.perf_counter() - started
        with self._lock:
            self._cached, self._cached_version, self._head = metrics, version, head
            self._computed_at = self._checked_at = now
            self._valid_until, self._cost = valid_until, cost
        return metrics

    def _compute(self, now: float) -> tuple[list[Metric], float]:
        """The families at ``now``, and until when they stay as they are."""
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
            labels = (e.plan.id, e.target.site, e.target.asset, e.target.system, e.owner)
            families["due"].add_metric(labels, e.due_at)
            families["deadline"].add_metric(labels, e.deadline_at)
            families["last"].add_metric(labels, last.get(key, 0.0))
            families["overdue"].add_metric(labels, 1.0 if e.state is RoundState.OVERDUE else 0.0)
            for state in RoundState:
                families["state"].add_metric((*labels, state.value), float(e.state is state))
            failed, discrepancies = latest.get(key, (0, 0))
            families["failed"].add_metric(labels, failed)
            families["discrepancies"].add_metric(labels, discrepancies)
            families["follow_ups"].add_metric(labels, open_follow_ups.get(key, 0))

        for follow_up_labels, n in sorted(overdue_follow_ups.items()):
            families["follow_ups_overdue"].add_metric(follow_up_labels, n)

        start, end = month_bounds(service.local(now))
        counted: Counter[tuple[str, str]] = Counter()
        on_time: Counter[tuple[str, str]] = Counter()
        month = service.due_between(start.timestamp(), end.timestamp(), now=now)
        for e in month:
            key = (e.plan.id, e.owner)
            counted[key] += 0  # every plan and owner gets a series, due yet or not
            if e.state in _COUNTED:
                counted[key] += 1
                on_time[key] += e.state is RoundState.DONE
        for (plan_id, owner), n in sorted(counted.items()):
            families["compliance"].add_metric(
                (plan_id, owner), on_time[(plan_id, owner)] / n if n else 1.0
            )
        firsts = [_first_start(plan, now) for plan in setup.plans.values()]
        later = [end.timestamp(), *(t for t in firsts if t is not None)]
        return [*families.values()], next_change(now, [*entries, *month], still_open, later)


def _first_start(plan: ScheduledPlan, now: float) -> float | None:
    """When an RRULE plan's first period starts, if it is still to come at ``now``."""
    if plan.schedule.period_at(now) is not None:
        return None
    first = next(plan.schedule.periods(now, float("inf")), None)
    return None if first is None else first.start_ts

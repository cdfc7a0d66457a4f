"""The inspection service: opens, fills, signs and corrects rounds against the calendar, reads
automated items from live probe results, and publishes its state as metrics and HTTP routes.

Everything that decides (who may sign, which period a round belongs to, whether an item
passed) happens here, once, for the web page, the JSON API and the CLI alike. The signer of
a record is always the authenticated person handed in by the caller, never a value from a
request body.

The service records in the store when each configured plan first appeared there and runs
its setup with those starts (``InspectionSetup.started``), so no reader of the calendar sees
a round due before its plan existed. A failed item opens a follow-up (整改) due the plan's
``follow_up_within`` later; the open ones past that are the duty board's problems
(``monitor.inspections.followups``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from monitor.core.clock import Clock
from monitor.inspections.checklist import (
    Accept,
    LiveValue,
    evaluate,
    judge_confirmation,
    judge_reading,
    live_mean,
)
from monitor.inspections.config import AutomatedItem, ConfirmationItem, Person, ReadingItem
from monitor.inspections.errors import (
    Conflict,
    InspectionError,
    InvalidEntry,
    NotAllowed,
    NotFound,
    StoreError,
)
from monitor.inspections.followups import FollowUpBook
from monitor.inspections.handover.service import HandoverService, Problems
from monitor.inspections.leader import INTERVAL_SECONDS, OnceOnly
from monitor.inspections.ledger import (
    CalendarEntry,
    Slot,
    current_entries,
    entries_between,
    index_rounds,
    make_entry,
    upcoming_entries,
)
from monitor.inspections.maintenance.service import MaintenanceService
from monitor.inspections.maintenance.silences import SilenceApi
from monitor.inspections.offline.service import OfflineRounds
from monitor.inspections.photos.service import PhotoService, missing_photos
from monitor.inspections.plans import InspectionSetup, ScheduledPlan, build_setup
from monitor.inspections.records import (
    FollowUp,
    ItemKind,
    ItemResult,
    Outcome,
    RoundRecord,
    RoundTarget,
)
from monitor.inspections.sessions import Sessions
from monitor.inspections.store import InspectionStore
from monitor.results import ResultStore

if TYPE_CHECKING:
    from aiohttp import web
    from prometheus_client import CollectorRegistry

    from monitor.config import Config
    from monitor.inspections.metrics import InspectionCollector

__all__ = [
    "Entries",
    "ExpositionLive",
    "InspectionService",
    "LiveSource",
    "ResultsLive",
]

log = logging.getLogger("trunkwatch.inspections")

#: Item id → {"value": …, "note": …}; either key may be absent.
Entries = Mapping[str, Mapping[str, Any]]
#: (metric name, labels, value) of one live series.
LiveSeries = tuple[str, Mapping[str, str], float]

T = TypeVar("T")

#: A result older than this many probe intervals no longer describes the asset.
STALE_INTERVALS = 3
MIN_STALE_SECONDS = 300.0


class LiveSource(Protocol):
    """Where automated items and live readings come from."""

    def series(self, assets: Sequence[str]) -> list[LiveSeries]: ...

    def measured_at(self, assets: Sequence[str]) -> float | None:
        """When the newest of those series was measured (None: as of now)."""
        ...


class ResultsLive:
    """Live series from the daemon's result store: each sample with its asset's labels, plus
    ``trunkwatch_probe_success`` per probe. Stale results are left out."""

    def __init__(self, results: ResultStore, clock: Clock) -> None:
        self._results = results
        self._clock = clock

    def series(self, assets: Sequence[str]) -> list[LiveSeries]:
        now = self._clock.time()
        out: list[LiveSeries] = []
        for asset_id in assets:
            for result in self._results.asset_results(asset_id):
                base = dict(result.job.asset.label_pairs)
                out.append(
                    (
                        "trunkwatch_probe_success",
                        {**base, "probe": result.job.name},
                        1.0 if result.success else 0.0,
                    )
                )
                age = now - result.finished_at
                if age > max(STALE_INTERVALS * result.job.interval, MIN_STALE_SECONDS):
                    continue
                for sample in result.samples:
                    out.append(
                        (
                            sample.family.name + sample.suffix,
                            {**base, **dict(sample.labels)},
                            sample.value,
                        )
                    )
        return out

    def measured_at(self, assets: Sequence[str]) -> float | None:
        times = [r.finished_at for a in assets for r in self._results.asset_results(a)]
        return max(times, default=None)


class ExpositionLive:
    """Live series parsed from a /metrics text (the CLI reads the running daemon's)."""

    def __init__(self, text: str) -> None:
        from prometheus_client.parser import text_string_to_metric_families

        self._by_asset: dict[str, list[LiveSeries]] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                asset = sample.labels.get("asset")
                if asset:
                    self._by_asset.setdefault(asset, []).append(
                        (sample.name, dict(sample.labels), float(sample.value))
                    )

    def series(self, assets: Sequence[str]) -> list[LiveSeries]:
        return [s for a in assets for s in self._by_asset.get(a, ())]

    def measured_at(self, assets: Sequence[str]) -> float | None:
        return None


class NoLive:
    def series(self, assets: Sequence[str]) -> list[LiveSeries]:
        return []

    def measured_at(self, assets: Sequence[str]) -> float | None:
        return None


def _new_id() -> str:
    return str(uuid.uuid4())


class InspectionService:
    """Rounds, the calendar and its metrics for one configuration and one store."""

    def __init__(
        self,
        config: Config | InspectionSetup,
        store: InspectionStore,
        clock: Clock,
        results: ResultStore | LiveSource | None = None,
        registry: CollectorRegistry | None = None,
        *,
        leader_interval: float = INTERVAL_SECONDS,
        silences: SilenceApi | None = None,
    ) -> None:
        setup = config if isinstance(config, InspectionSetup) else build_setup(config)
        self.store = store
        self.clock = clock
        self.setup = self._started(setup, None)
        #: The open follow-ups, named for the duty board (its overdue ones are problems).
        self.follow_ups = FollowUpBook(lambda: self.setup, store, clock)
        if results is None:
            self.live: LiveSource = NoLive()
        elif isinstance(results, ResultStore):
            self.live = ResultsLive(results, clock)
        else:
            self.live = results
        self._listeners: list[Callable[[], None]] = []
        #: The inspection metrics, when they are exported (a registry was given).
        self.collector: InspectionCollector | None = None
        if registry is not None:
            from monitor.inspections.metrics import InspectionCollector

            self.collector = InspectionCollector(self)
            registry.register(self.collector)
            self._listeners.append(self.collector.invalidate)
        self.sessions = Sessions(store, clock)
        #: Planned maintenance windows (计划检修); ``silences`` stands in for Alertmanager.
        self.maintenance = MaintenanceService(
            self.setup.maintenance, store, clock, registry, silences=silences
        )
        #: Shift handover (交接班); ``problems`` (set by the daemon) is the duty board's.
        self.handover = HandoverService(self)
        #: Photos of checklist items (现场照片).
        self.photos = PhotoService(self)
        #: Rounds filled in and signed off line (离线巡检).
        self.offline = OfflineRounds(self)
        self.problems: Problems | None = None
        if registry is not None:
            from monitor.inspections.handover.metrics import HandoverCollector

            registry.register(HandoverCollector(self.handover))
        self.once_only = OnceOnly(
            store.leader_lock(),
            clock,
            [("expired sessions", self.sessions.purge)],
            interval=leader_interval,
            registry=registry,
        )

    async def background(self) -> None:
        """For as long as the daemon runs: the once-only work (only on the instance holding
        the store's leader lock), the maintenance windows in force read again every few
        seconds (with their silences kept in step by the leading instance), and the shift
        log's faults and handover status."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.once_only.run(), name="inspections once-only")
            group.create_task(
                self.maintenance.watch(lambda: self.once_only.leading), name="maintenance"
            )
            group.create_task(
                self.handover.watch(self.problems, lambda: self.once_only.leading),
                name="shift log",
            )
            group.create_task(self.follow_ups.watch(), name="follow-ups")

    def install(self, setup: InspectionSetup) -> None:
        """Run with a new setup (a reloaded configuration); records stay where they are."""
        self.setup = self._started(setup, self.setup)
        self.maintenance.install(setup.maintenance)
        self._changed()

    def _started(self, setup: InspectionSetup, running: InspectionSetup | None) -> InspectionSetup:
        """``setup`` with each plan that has no configured start owing rounds from when it
        first appeared in the store; a plan the store has not seen appears now."""
        now = self.now()
        try:
            first_seen = self.store.plan_starts(list(setup.plans), now)
        except StoreError as exc:
            if running is None:
                raise
            # A reload while the store cannot be written: the plans keep the starts they
            # ran with, and a new one owes rounds from now (recorded at the next start).
            log.error("when the plans first appeared cannot be recorded: %s", exc)
            ran = {p.id: p.start for p in running.plans.values() if p.start is not None}
            first_seen = {plan_id: ran.get(plan_id, now) for plan_id in setup.plans}
        return setup.started(first_seen)

    def reconfigure(self, config: Config) -> None:
        """Install a reloaded configuration. Raises ConfigError and keeps the running one."""
        self.install(build_setup(config))

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def now(self) -> float:
        return self.clock.time()

    def local(self, t: float) -> datetime:
        return datetime.fromtimestamp(t, self.setup.zone)

    def due_text(self, t: float) -> str:
        """A due time as people say it: the end of the 5th is "05 24:00", not "06 00:00"."""
        when = self.local(t)
        if (when.hour, when.minute, when.second) == (0, 0, 0):
            return f"{when - timedelta(days=1):%Y-%m-%d} 24:00"
        return f"{when:%Y-%m-%d %H:%M}"

    # -- lookups ---------------------------------------------------------------------------

    def plan(self, plan_id: str) -> ScheduledPlan:
        plan = self.setup.plans.get(plan_id)
        if plan is None:
            raise NotFound(f"no plan {plan_id!r}")
        return plan

    def target(self, plan: ScheduledPlan, key: str) -> RoundTarget:
        target = plan.target(key)
        if target is None:
            raise NotFound(f"plan {plan.id!r} has no target {key!r}")
        return target

    def person(self, person_id: str) -> Person:
        person = self.setup.roster.people.get(person_id)
        if person is None:
            raise NotFound(f"no person {person_id!r} on the roster")
        return person

    def authenticate(self, token: str | None) -> Person | None:
        return self.setup.roster.authenticate(token)

    def _authorize(self, person: Person, plan: ScheduledPlan, target: RoundTarget) -> None:
        if not self.setup.may_sign(person, plan, target):
            raise NotAllowed(
                f"{person.id} is neither owner nor deputy of {plan.id} on {target.id} "
                "(责任人/代理人)"
            )

    def get_round(self, round_id: str) -> RoundRecord:
        record = self.store.get_round(round_id)
        if record is None:
            raise NotFound(f"no round {round_id}")
        return record

    def plan_of(self, record: RoundRecord) -> tuple[ScheduledPlan, RoundTarget]:
        """The plan and target a record belongs to, as configured now."""
        plan = self.setup.plans.get(record.plan_id)
        target = plan.target(record.target) if plan else None
        if plan is None or target is None:
            raise NotFound(f"round {record.id}: plan {record.plan_id} no longer covers it")
        return plan, target

    # -- the calendar ----------------------------------------------------------------------

    def calendar(
        self, *, person: str | None = None, now: float | None = None
    ) -> list[CalendarEntry]:
        """The current round of every plan and target (of ``person`` if given), overdue first."""
        return current_entries(
            self.setup, self.store, self.now() if now is None else now, person=person
        )

    def due_between(
        self, start: float, end: float, *, person: str | None = None, now: float | None = None
    ) -> list[CalendarEntry]:
        return entries_between(
            self.setup, self.store, start, end, self.now() if now is None else now, person=person
        )

    def upcoming(self, person: str | None, days: float = 35.0) -> list[CalendarEntry]:
        now = self.now()
        return upcoming_entries(self.setup, self.store, now, now + days * 86400, person=person)

    def entry_for(self, plan: ScheduledPlan, target: RoundTarget, now: float) -> CalendarEntry:
        """The plan's current round on ``target``: the one the duty page shows."""
        period = plan.current(now)
        if period is None:
            raise Conflict(f"plan {plan.id} has not started yet")
        slots = index_rounds(
            self.store.rounds(
                plan_id=plan.id,
                target=target.key,
                period_from=period.start_ts,
                period_before=period.start_ts + 1,
            )
        )
        slot = next(iter(slots.values()), Slot())
        return make_entry(plan, target, period, now, slot)

    # -- checklist -------------------------------------------------------------------------

    def live_series(self, target: RoundTarget) -> list[LiveSeries]:
        return self.live.series(target.assets)

    def live_readings(self, plan: ScheduledPlan, target: RoundTarget) -> dict[str, LiveValue]:
        """Item id → the live value of each reading tied to a metric that has one now, with
        when it was measured: what the round page offers to confirm or correct."""
        if not plan.live:
            return {}
        series = self.live_series(target)
        at = self.live.measured_at(target.assets)
        out: dict[str, LiveValue] = {}
        for item_id, selector in plan.live.items():
            value = live_mean(selector, series)
            if value is not None:
                out[item_id] = LiveValue(value, self.now() if at is None else at)
        return out

    def fill(
        self,
        plan: ScheduledPlan,
        base: Iterable[ItemResult],
        entries: Entries,
        live: Sequence[LiveSeries] | None,
        now: float,
    ) -> list[ItemResult]:
        """The checklist with ``entries`` applied over ``base``. Automated items are
        evaluated from ``live`` (kept as they were when ``live`` is None: a correction)."""
        existing = {i.item_id: i for i in base}
        known = {item.id for item in plan.plan.checklist}
        problems = {
            k: "非本计划检查项 / not an item of this checklist" for k in entries if k not in known
        }
        out: list[ItemResult] = []
        for item in plan.plan.checklist:
            entry = entries.get(item.id, {})
            old = existing.get(item.id)
            note = str(entry["note"]).strip() if entry.get("note") is not None else None
            keep_note = note if note is not None else (old.note if old else "")
            value = entry.get("value")
            given = value is not None and not (isinstance(value, str) and not value.strip())
            if not given and old is not None and old.value is not None:
                # A value saved earlier is judged again, against the live value of now: the
                # discrepancy check belongs to sign-off as much as the automated items do.
                value, given = old.value, True
            try:
                if isinstance(item, AutomatedItem):
                    if given:
                        raise ValueError(
                            "自动检测项，无需填写 / measured automatically; it takes no value"
                        )
                    if live is not None:
                        result = evaluate(
                            plan.conditions[item.id], live, item_id=item.id, at=now, note=keep_note
                        )
                    else:
                        result = (
                            replace(old, note=keep_note)
                            if old
                            else ItemResult(item.id, ItemKind.AUTOMATED, note=keep_note)
                        )
                elif isinstance(item, ReadingItem) and given:
                    selector = plan.live.get(item.id)
                    current: float | None
                    if selector is None:
                        current = None
                    elif live is None:
                        current = old.live_value if old else None
                    else:
                        current = live_mean(selector, live)
                    result = judge_reading(
                        value,
                        item_id=item.id,
                        accept=_accept(item),
                        at=now,
                        note=keep_note,
                        live=current,
                        tolerance=item.live.tolerance if item.live else None,
                        tolerance_ratio=item.live.tolerance_ratio if item.live else None,
                    )
                elif isinstance(item, ConfirmationItem) and given:
                    result = judge_confirmation(value, item_id=item.id, at=now, note=keep_note)
                else:
                    kind = ItemKind(item.kind)
                    result = (
                        replace(old, note=keep_note)
                        if old
                        else ItemResult(item.id, kind, note=keep_note)
                    )
            except ValueError as exc:
                problems[item.id] = str(exc)
                continue
            # The photos live in tables of their own; a judged item keeps those it shows.
            out.append(replace(result, photos=old.photos) if old else result)
        if problems:
            raise InvalidEntry("部分检查项无法接受 / some items cannot be accepted", problems)
        return out

    @staticmethod
    def check_complete(plan: ScheduledPlan, items: Sequence[ItemResult]) -> None:
        problems = missing_photos(plan, items)
        for item in items:
            if item.outcome is Outcome.PENDING:
                problems[item.item_id] = "未填写 / not filled in"
            elif item.failed and not item.note:
                problems[item.item_id] = "不合格项须填写说明 / a failed item needs a note"
        if problems:
            raise InvalidEntry("尚不能签字确认 / the round cannot be signed yet", problems)

    def new_follow_ups(
        self,
        record_id: str,
        plan: ScheduledPlan,
        target: RoundTarget,
        items: Sequence[ItemResult],
        person: Person,
        now: float,
        already: Iterable[str] = (),
    ) -> list[FollowUp]:
        skip = set(already)
        due = now + plan.plan.follow_up_within.total_seconds()
        return [
            FollowUp(
                _new_id(),
                record_id,
                plan.id,
                target.key,
                i.item_id,
                now,
                person.id,
                i.note,
                due_at=due,
            )
            for i in items
            if i.failed and i.item_id not in skip
        ]

    # -- rounds ----------------------------------------------------------------------------

    def open_round(
        self,
        person: Person,
        plan_id: str,
        target_key: str,
        *,
        live: Sequence[LiveSeries] | None = None,
    ) -> RoundRecord:
        """Start (or resume) ``person``'s round for the current period, evaluating the
        automated items."""
        now = self.now()
        plan = self.plan(plan_id)
        target = self.target(plan, target_key)
        self._authorize(person, plan, target)
        entry = self.entry_for(plan, target, now)
        if entry.slot.original is not None:
            raise Conflict(
                "已签字，如需更正请提交更正记录 / "
                f"{plan.id} on {target.id} for {entry.period.key} is already signed; "
                "file a correction instead"
            )
        if now < entry.opens_at:
            raise Conflict(
                f"尚未开始 / {plan.id} for {entry.period.key} opens at "
                f"{self.local(entry.opens_at):%Y-%m-%d %H:%M}"
            )
        series = self.live_series(target) if live is None else live
        if entry.draft is not None:
            items = self.fill(plan, entry.draft.items, {}, series, now)
            saved = self.store.save_items(entry.draft.id, items, person.id, now)
            self._take_off_line(person, plan, target, saved)
            return saved
        period = entry.period
        record = RoundRecord(
            id=_new_id(),
            plan_id=plan.id,
            target=target.key,
            site=target.site,
            asset=target.asset,
            system=target.system,
            period_key=period.key,
            period_start=period.start_ts,
            period_end=period.end_ts,
            due_at=entry.due_at,
            deadline_at=entry.deadline_at,
            opened_at=now,
            opened_by=person.id,
            items=tuple(self.fill(plan, (), {}, series, now)),
        )
        stored = self.store.open_round(record, person.id)
        log.info(
            "round opened plan=%s target=%s period=%s by=%s",
            plan.id,
            target.key,
            period.key,
            person.id,
        )
        self._changed()
        self._take_off_line(person, plan, target, stored)
        return stored

    def _take_off_line(
        self, person: Person, plan: ScheduledPlan, target: RoundTarget, record: RoundRecord
    ) -> None:
        """Open the round's maintenance window when items of its checklist take the equipment
        off line (once per round: a resumed round keeps the window it had)."""
        offline = [i for i in plan.plan.checklist if i.offline is not None]
        if not offline or target.per not in ("asset", "site"):
            return
        seconds = max(i.offline.total_seconds() for i in offline if i.offline is not None)
        items = "、".join(i.title for i in offline)
        self.maintenance.open_for_round(
            person.id,
            record.id,
            target.per,
            target.id,
            seconds,
            f"{plan.plan.title}: {items} (巡检 round {record.period_key})",
        )

    def save(
        self,
        person: Person,
        round_id: str,
        entries: Entries,
        *,
        sign: bool = False,
        live: Sequence[LiveSeries] | None = None,
    ) -> RoundRecord:
        """Fill in items of a draft; with ``sign``, re-evaluate the automated items and sign
        it as ``person``."""
        now = self.now()
        record = self.get_round(round_id)
        plan, target = self.plan_of(record)
        self._authorize(person, plan, target)
        if record.signed:
            raise Conflict(f"round {round_id} is signed; file a correction instead")
        if now >= record.period_end:
            raise Conflict(
                f"已漏检 / the period {record.period_key} has ended: the round was missed"
            )
        if not sign:
            items = self.fill(plan, record.items, entries, None, now)
            return self.store.save_items(round_id, items, person.id, now)
        series = self.live_series(target) if live is None else live
        items = self.fill(plan, record.items, entries, series, now)
        self.check_complete(plan, items)
        follow_ups = self.new_follow_ups(round_id, plan, target, items, person, now)
        signed = self.store.sign(round_id, items, person.id, now, follow_ups)
        log.info(
            "round signed plan=%s target=%s period=%s by=%s failed=%d",
            plan.id,
            target.key,
            record.period_key,
            person.id,
            signed.failed_items,
        )
        self.signed(person, round_id)
        return signed

    def signed(self, person: Person, round_id: str) -> None:
        """What follows a signature: the metrics see it, and the round's maintenance window
        (if it opened one) ends."""
        self._changed()
        try:
            self.maintenance.close_for_round(person.id, round_id)
        except InspectionError as exc:
            # The signature stands; the window ends at its planned time instead.
            log.error("round %s signed, but its maintenance window stays open: %s", round_id, exc)

    def record(
        self,
        person: Person,
        plan_id: str,
        target_key: str,
        entries: Entries,
        *,
        sign: bool = True,
        live: Sequence[LiveSeries] | None = None,
    ) -> RoundRecord:
        """Open (or resume) the current round, fill it in and sign it, in one call."""
        draft = self.open_round(person, plan_id, target_key, live=live)
        return self.save(person, draft.id, entries, sign=sign, live=live)

    def correct(self, person: Person, round_id: str, entries: Entries, reason: str) -> RoundRecord:
        """A new signed record replacing a signed one's content; the old one stays as it was."""
        now = self.now()
        old = self.get_round(round_id)
        plan, target = self.plan_of(old)
        if not old.signed:
            raise Conflict(f"round {round_id} is not signed yet; edit it instead")
        if person.id != old.signed_by:
            self._authorize(person, plan, target)
        if not reason.strip():
            raise InvalidEntry(
                "更正须说明原因 / a correction needs a reason", {"reason": "required"}
            )
        items = self.fill(plan, old.items, entries, None, now)
        self.check_complete(plan, items)
        new_id = _new_id()
        failed_before = {i.item_id for i in old.items if i.failed}
        follow_ups = self.new_follow_ups(new_id, plan, target, items, person, now, failed_before)
        correction = replace(
            old,
            id=new_id,
            opened_at=now,
            opened_by=person.id,
            signed_at=now,
            signed_by=person.id,
            corrects=old.id,
            reason=reason.strip(),
            items=tuple(items),
        )
        stored = self.store.record_correction(correction, follow_ups)
        log.info(
            "record corrected plan=%s target=%s old=%s new=%s by=%s",
            plan.id,
            target.key,
            old.id,
            stored.id,
            person.id,
        )
        self._changed()
        return stored

    def close_follow_up(self, person: Person, follow_up_id: str, note: str) -> FollowUp:
        found = self.store.follow_up(follow_up_id)
        if found is None:
            raise NotFound(f"no follow-up {follow_up_id}")
        plan = self.setup.plans.get(found.plan_id)
        target = plan.target(found.target) if plan else None
        if person.role != "supervisor":
            if plan is None or target is None:
                raise NotAllowed("only a supervisor closes follow-ups of removed plans")
            self._authorize(person, plan, target)
        if not note.strip():
            raise InvalidEntry("closing a follow-up needs a note", {"note": "required"})
        closed = self.store.close_follow_up(follow_up_id, person.id, self.now(), note.strip())
        self._changed()
        return closed

    # -- async faces for the HTTP handlers -------------------------------------------------

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store-bound call off the event loop (a commit waits for the disk)."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def live_for_round(self, round_id: str) -> list[LiveSeries]:
        """The live series of a round's target, read on the event loop where results change."""
        record = await self.run(self.get_round, round_id)
        _, target = self.plan_of(record)
        return self.live_series(target)

    def live_for(self, plan_id: str, target_key: str) -> list[LiveSeries]:
        plan = self.plan(plan_id)
        return self.live_series(self.target(plan, target_key))

    # -- HTTP ------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """The duty page with its photos and the pages the QR labels open, the JSON API, the
        iCalendar feed, planned maintenance and shift handover."""
        from monitor.inspections import api, web
        from monitor.inspections.handover import api as handover_api
        from monitor.inspections.handover import web as handover_web
        from monitor.inspections.labels import web as labels_web
        from monitor.inspections.maintenance import api as maintenance_api
        from monitor.inspections.maintenance import web as maintenance_web
        from monitor.inspections.offline import web as offline_web
        from monitor.inspections.photos import web as photos_web

        return [
            *web.routes(self),
            *photos_web.routes(web.DutyPages(self)),
            *offline_web.routes(web.DutyPages(self)),
            *labels_web.routes(web.DutyPages(self)),
            *api.routes(self),
            *maintenance_api.routes(self.maintenance, self.authenticate),
            *maintenance_web.routes(web.DutyPages(self)),
            *handover_api.routes(self.handover, self.authenticate),
            *handover_web.routes(web.DutyPages(self)),
        ]


def _accept(item: ReadingItem) -> Accept:
    a = item.accept
    return Accept(lt=a.lt, le=a.le, gt=a.gt, ge=a.ge)

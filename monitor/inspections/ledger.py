"""The calendar joined with the records: for each plan, target and period, who owns it, when
it is due, what was recorded and the resulting state.

Only the rounds a plan owes are here: a period due before the plan's start
(``ScheduledPlan.owes``) is not applicable, so every reader of the calendar (the duty page,
metrics and alerts, the report, the shift log, the CLI) leaves it out alike. A plan's
current round is the period containing now if it is owed, else the first owed one to come.

A period's original record decides when the round was completed; a correction replaces the
record's content (failed items, values) but not that time, since it fixes data and does not
redo the inspection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.inspections.calendar import Period, RoundState, round_state
from monitor.inspections.plans import InspectionSetup, ScheduledPlan
from monitor.inspections.records import RoundRecord, RoundTarget
from monitor.inspections.store import InspectionStore

__all__ = [
    "CalendarEntry",
    "Slot",
    "current_entries",
    "entries_between",
    "entries_overlapping",
    "upcoming_entries",
]

#: The duty page's order: what can be done now, then what is late, then what is to come,
#: then what is done.
STATE_ORDER = {
    RoundState.OPEN: 0,
    RoundState.OVERDUE: 1,
    RoundState.UPCOMING: 2,
    RoundState.DONE_LATE: 3,
    RoundState.DONE: 4,
    RoundState.MISSED: 5,
}


@dataclass(frozen=True, slots=True)
class Slot:
    """What the store holds for one plan, target and period."""

    original: RoundRecord | None = None
    effective: RoundRecord | None = None
    draft: RoundRecord | None = None


def _key(plan_id: str, target: str, period_start: float) -> tuple[str, str, int]:
    return plan_id, target, round(period_start)


def index_rounds(rounds: Iterable[RoundRecord]) -> dict[tuple[str, str, int], Slot]:
    """Group records by (plan, target, period): original, latest correction, open draft."""
    by_id = {r.id: r for r in rounds}
    corrected_by = {r.corrects: r for r in by_id.values() if r.corrects is not None}
    slots: dict[tuple[str, str, int], Slot] = {}
    for r in by_id.values():
        if r.corrects is not None:
            continue
        key = _key(r.plan_id, r.target, r.period_start)
        if not r.signed:
            slots[key] = Slot(draft=r)
            continue
        effective = r
        while effective.id in corrected_by:
            effective = corrected_by[effective.id]
        slots[key] = Slot(original=r, effective=effective)
    return slots


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """One round of the calendar: a plan on a target for a period, and its state."""

    plan: ScheduledPlan
    target: RoundTarget
    period: Period
    opens_at: float
    due_at: float
    deadline_at: float
    state: RoundState
    owner: str
    deputy: str | None
    slot: Slot

    @property
    def record(self) -> RoundRecord | None:
        """The signed record in force (the latest correction, else the original)."""
        return self.slot.effective

    @property
    def draft(self) -> RoundRecord | None:
        return self.slot.draft

    @property
    def completed_at(self) -> float | None:
        return self.slot.original.signed_at if self.slot.original else None

    @property
    def completed_by(self) -> str | None:
        return self.slot.original.signed_by if self.slot.original else None

    @property
    def sort_key(self) -> tuple[int, float, str, str]:
        """Open rounds due soonest first, overdue ones longest overdue first, upcoming ones
        opening soonest first, then the signed."""
        if self.state is RoundState.OVERDUE:
            when = self.deadline_at
        elif self.state is RoundState.UPCOMING:
            when = self.opens_at
        else:
            when = self.due_at
        return (STATE_ORDER[self.state], when, self.plan.id, self.target.key)

    def as_json(self) -> dict[str, Any]:
        record = self.record
        return {
            "plan": self.plan.id,
            "title": self.plan.plan.title,
            "title_en": self.plan.plan.title_en,
            "frequency": self.plan.schedule.frequency.value,
            "target": self.target.key,
            "target_name": self.target.name,
            "site": self.target.site,
            "asset": self.target.asset,
            "system": self.target.system,
            "period": self.period.key,
            "period_start": self.period.start_ts,
            "period_end": self.period.end_ts,
            "opens_at": self.opens_at,
            "due_at": self.due_at,
            "deadline_at": self.deadline_at,
            "state": self.state.value,
            "owner": self.owner,
            "deputy": self.deputy,
            "draft": self.draft.id if self.draft else None,
            "record": record.id if record else None,
            "completed_at": self.completed_at,
            "completed_by": self.completed_by,
            "failed_items": record.failed_items if record else 0,
            "discrepancies": record.discrepancies if record else 0,
        }


def make_entry(
    plan: ScheduledPlan, target: RoundTarget, period: Period, now: float, slot: Slot
) -> CalendarEntry:
    schedule = plan.schedule
    due = schedule.due(period).timestamp()
    # A record keeps the deadline that was in force when its round was opened.
    recorded = slot.original or slot.draft
    deadline = recorded.deadline_at if recorded else schedule.deadline(period).timestamp()
    completed = slot.original.signed_at if slot.original else None
    state = round_state(
        now=now,
        opens=schedule.opens(period).timestamp(),
        deadline=deadline,
        end=period.end_ts,
        completed_at=completed,
    )
    return CalendarEntry(
        plan=plan,
        target=target,
        period=period,
        opens_at=schedule.opens(period).timestamp(),
        due_at=due,
        deadline_at=deadline,
        state=state,
        owner=plan.owner_of(target),
        deputy=plan.deputy_of(target),
        slot=slot,
    )


def _for_person(setup: InspectionSetup, person: str | None) -> Any:
    def keep(plan: ScheduledPlan, target: RoundTarget) -> bool:
        return person is None or person in setup.responsible(plan, target)

    return keep


def current_entries(
    setup: InspectionSetup,
    store: InspectionStore,
    now: float,
    *,
    person: str | None = None,
    plans: Sequence[str] | None = None,
) -> list[CalendarEntry]:
    """The current round of every plan and target (only ``person``'s rounds if given), in the
    duty page's order (``CalendarEntry.sort_key``)."""
    keep = _for_person(setup, person)
    out: list[CalendarEntry] = []
    for plan in setup.plans.values():
        if plans is not None and plan.id not in plans:
            continue
        period = plan.current(now)
        targets = [t for t in plan.targets if keep(plan, t)]
        if period is None or not targets:
            continue
        slots = index_rounds(
            store.rounds(
                plan_id=plan.id, period_from=period.start_ts, period_before=period.start_ts + 1
            )
        )
        for target in targets:
            slot = slots.get(_key(plan.id, target.key, period.start_ts), Slot())
            out.append(make_entry(plan, target, period, now, slot))
    out.sort(key=lambda e: e.sort_key)
    return out


def _entries_of(
    plan: ScheduledPlan,
    periods: Sequence[Period],
    store: InspectionStore,
    now: float,
    keep: Callable[[ScheduledPlan, RoundTarget], bool],
) -> list[CalendarEntry]:
    """The rounds of ``plan`` in ``periods`` (in order) for the targets ``keep`` accepts,
    with what the store holds for each."""
    if not periods:
        return []
    slots = index_rounds(
        store.rounds(
            plan_id=plan.id,
            period_from=periods[0].start_ts,
            period_before=periods[-1].start_ts + 1,
        )
    )
    return [
        make_entry(
            plan, target, period, now, slots.get(_key(plan.id, target.key, period.start_ts), Slot())
        )
        for period in periods
        for target in plan.targets
        if keep(plan, target)
    ]


def entries_between(
    setup: InspectionSetup,
    store: InspectionStore,
    start: float,
    end: float,
    now: float,
    *,
    person: str | None = None,
) -> list[CalendarEntry]:
    """Every round whose due time falls in [start, end), as it stands at ``now``."""
    keep = _for_person(setup, person)
    out: list[CalendarEntry] = []
    for plan in setup.plans.values():
        schedule = plan.schedule
        # A due time lies inside its period, so the period containing ``start`` is the first
        # whose due time can fall in the range.
        periods = [
            p
            for p in schedule.periods(start, end)
            if start <= schedule.due(p).timestamp() < end and plan.owes(p)
        ]
        out += _entries_of(plan, periods, store, now, keep)
    out.sort(key=lambda e: (e.due_at, e.plan.id, e.target.key))
    return out


def entries_overlapping(
    setup: InspectionSetup, store: InspectionStore, start: float, end: float, now: float
) -> list[CalendarEntry]:
    """Every round whose period overlaps [start, end), as it stands at ``now`` (the shift
    log's: a shift sees a few periods of each plan, not a year of them)."""
    keep = _for_person(setup, None)
    out: list[CalendarEntry] = []
    for plan in setup.plans.values():
        periods = [p for p in plan.schedule.periods(start, end) if plan.owes(p)]
        out += _entries_of(plan, periods, store, now, keep)
    return out


def upcoming_entries(
    setup: InspectionSetup,
    store: InspectionStore,
    now: float,
    until: float,
    *,
    person: str | None = None,
    limit: int = 500,
) -> list[CalendarEntry]:
    """Rounds not yet signed from the current period up to ``until`` (the iCalendar feed)."""
    keep = _for_person(setup, person)
    out: list[CalendarEntry] = []
    for plan in setup.plans.values():
        targets = [t for t in plan.targets if keep(plan, t)]
        if not targets:
            continue
        periods = [p for p in plan.schedule.periods(now, until) if plan.owes(p)][:limit]
        if not periods:
            continue
        slots = index_rounds(
            store.rounds(
                plan_id=plan.id,
                period_from=periods[0].start_ts,
                period_before=periods[-1].start_ts + 1,
            )
        )
        for period in periods:
            for target in targets:
                slot = slots.get(_key(plan.id, target.key, period.start_ts), Slot())
                if slot.original is None:
                    out.append(make_entry(plan, target, period, now, slot))
    out.sort(key=lambda e: (e.due_at, e.plan.id, e.target.key))
    return out[:limit]

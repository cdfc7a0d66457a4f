"""The shift log (值班日志): what happened in one shift, read from where each thing is kept.

- faults the duty board showed, raised and cleared, with how long each lasted, and those still
  open at the end of the shift (or now, for the shift in progress);
- planned maintenance windows started and ended;
- inspection rounds signed on time, signed late (after their deadline), gone overdue
  (deadline passed unsigned) and missed (period over unsigned);
- drills and notes people wrote, and configuration reloads (accepted or rejected).

A log is drawn "as of" the end of the shift, or now while it runs, and is the same whenever
it is drawn again for that instant: its SHA-256 (``digest``) is what a handover signs.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from monitor.inspections.handover.records import EventKind
from monitor.inspections.handover.shifts import Shift
from monitor.inspections.ledger import entries_overlapping

if TYPE_CHECKING:
    from monitor.inspections.plans import InspectionSetup
    from monitor.inspections.store import InspectionStore

__all__ = ["KINDS", "LogEntry", "ShiftLog", "collect"]

#: Every kind of line, in Chinese and English, in the order the summary lists them.
KINDS: Final = {
    "fault_raised": ("告警产生", "fault raised"),
    "fault_cleared": ("告警恢复", "fault cleared"),
    "maintenance_started": ("检修开始", "maintenance started"),
    "maintenance_ended": ("检修结束", "maintenance ended"),
    "inspection_done": ("巡检完成", "inspection done"),
    "inspection_late": ("巡检逾期完成", "inspection done late"),
    "inspection_overdue": ("巡检逾期未签", "inspection overdue"),
    "inspection_missed": ("漏检", "inspection missed"),
    "drill": ("演练", "drill"),
    "note": ("值班记录", "note"),
    "config_reload": ("配置重载", "configuration reloaded"),
    "config_rejected": ("配置重载被拒绝", "configuration reload rejected"),
}


@dataclass(frozen=True, slots=True)
class LogEntry:
    at: float
    kind: str
    zh: str
    en: str
    site: str = ""
    asset: str = ""
    severity: str = ""
    actor: str = ""
    #: How long the fault lasted or the window ran, when it is over.
    duration: float | None = None
    #: The fault, window, round or event this line is about.
    ref: str = ""


@dataclass(frozen=True, slots=True)
class OpenFault:
    asset: str
    site: str
    alert: str
    severity: str
    zh: str
    en: str
    since: float
    ref: str


@dataclass(frozen=True, slots=True)
class ShiftLog:
    shift: Shift
    #: The instant the log describes: the end of the shift, or now while it runs.
    as_of: float
    entries: tuple[LogEntry, ...]
    open_faults: tuple[OpenFault, ...]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether the shift is over, so the log can no longer grow."""
        return self.as_of >= self.shift.end_ts

    def as_json(self) -> dict[str, Any]:
        return {
            "shift": self.shift.key,
            "start": self.shift.start_ts,
            "end": self.shift.end_ts,
            "as_of": self.as_of,
            "entries": [asdict(e) for e in self.entries],
            "open_faults": [asdict(f) for f in self.open_faults],
            "counts": self.counts,
        }

    def text(self) -> str:
        """The log as stored with a handover: canonical JSON, so its digest can be checked."""
        return json.dumps(self.as_json(), ensure_ascii=False, sort_keys=True)

    def digest(self) -> str:
        return hashlib.sha256(self.text().encode()).hexdigest()


def collect(shift: Shift, now: float, store: InspectionStore, setup: InspectionSetup) -> ShiftLog:
    """The log of ``shift`` as of ``min(now, its end)``. Raises StoreError."""
    start = shift.start_ts
    as_of = min(now, shift.end_ts)
    names = _Names(setup)
    entries: list[LogEntry] = []
    open_faults: list[OpenFault] = []

    for f in store.faults_between(start, as_of):
        where: dict[str, Any] = {
            "site": f.site,
            "asset": f.asset,
            "severity": f.severity,
            "ref": f.id,
        }
        cleared = f.cleared_at if f.cleared_at is not None and f.cleared_at < as_of else None
        lasted = None if cleared is None else cleared - f.raised_at
        if f.raised_at >= start:
            entries.append(
                LogEntry(
                    f.raised_at,
                    "fault_raised",
                    f"{names.asset(f.asset)}：{f.zh}",
                    f"{names.asset(f.asset)}: {f.en}",
                    duration=lasted,
                    **where,
                )
            )
        if cleared is not None and cleared >= start:
            assert lasted is not None
            entries.append(
                LogEntry(
                    cleared,
                    "fault_cleared",
                    f"{names.asset(f.asset)}：{f.zh}，持续 {_lasted(lasted)}",
                    f"{names.asset(f.asset)}: {f.en}, lasted {_lasted(lasted)}",
                    duration=lasted,
                    **where,
                )
            )
        if cleared is None:
            open_faults.append(
                OpenFault(f.asset, f.site, f.alert, f.severity, f.zh, f.en, f.raised_at, f.id)
            )

    for w in store.windows(ending_after=start, starting_before=as_of, limit=5000):
        described = setup.maintenance
        asset = described.assets.get(w.target) if w.scope.value == "asset" else None
        name = asset.name if asset is not None else described.sites.get(w.target, w.target)
        owner = names.person(w.owner)
        place: dict[str, Any] = {"site": w.site, "asset": w.target if asset else "", "ref": w.id}
        if w.starts_at >= start:
            entries.append(
                LogEntry(
                    w.starts_at,
                    "maintenance_started",
                    f"{name}：{w.reason}（负责人 {owner}）",
                    f"{name}: {w.reason} (owner {owner})",
                    actor=w.owner,
                    **place,
                )
            )
        if start <= w.end < as_of:
            early = w.ended_at is not None
            ran = _lasted(w.end - w.starts_at)
            entries.append(
                LogEntry(
                    w.end,
                    "maintenance_ended",
                    f"{name}：{'提前结束' if early else '按计划结束'}，历时 {ran}",
                    f"{name}: {'ended early' if early else 'ended as planned'}, after {ran}",
                    actor=w.ended_by or "",
                    duration=w.end - w.starts_at,
                    **place,
                )
            )

    for r in store.rounds_signed_between(start, as_of):
        assert r.signed_at is not None
        late = r.signed_at > r.deadline_at
        title = names.round(r.plan_id, r.target)
        signer = names.person(r.signed_by)
        entries.append(
            LogEntry(
                r.signed_at,
                "inspection_late" if late else "inspection_done",
                f"{title}，{signer} 签字" + ("（已逾期）" if late else ""),
                f"{title}, signed by {signer}" + (" (late)" if late else ""),
                site=r.site,
                asset=r.asset,
                actor=r.signed_by or "",
                ref=f"{r.plan_id} {r.target} {r.period_key}",
            )
        )

    # A round's deadline is up to its grace after its due time, which may be after its
    # period: look back that far for the periods whose deadline or end is in the shift.
    reach = max((p.schedule.grace for p in setup.plans.values()), default=timedelta(0))
    for e in entries_overlapping(setup, store, start - reach.total_seconds() - 1, as_of, as_of):
        title = names.round(e.plan.id, e.target.key)
        owner = names.person(e.owner)
        on: dict[str, Any] = {"site": e.target.site, "asset": e.target.asset}
        if start <= e.deadline_at < as_of and (
            e.completed_at is None or e.completed_at > e.deadline_at
        ):
            entries.append(
                LogEntry(
                    e.deadline_at,
                    "inspection_overdue",
                    f"{title}：截止时间已过仍未签字，责任人 {owner}",
                    f"{title}: past its deadline unsigned, owner {owner}",
                    actor=e.owner,
                    ref=f"{e.plan.id} {e.target.key} {e.period.key}",
                    **on,
                )
            )
        end = e.period.end_ts
        if start <= end < as_of and (e.completed_at is None or e.completed_at > end):
            entries.append(
                LogEntry(
                    end,
                    "inspection_missed",
                    f"{title}：本周期结束仍未巡检，责任人 {owner}",
                    f"{title}: the period ended without a round, owner {owner}",
                    actor=e.owner,
                    ref=f"{e.plan.id} {e.target.key} {e.period.key}",
                    **on,
                )
            )

    for ev in store.events_between(start, as_of):
        by = names.person(ev.actor) if ev.kind in (EventKind.DRILL, EventKind.NOTE) else ""
        # What people write is one text in their words, shown once.
        text = f"{ev.text}（{by}）" if by else ev.text
        entries.append(
            LogEntry(
                ev.at,
                ev.kind.value,
                text,
                text,
                site=ev.site,
                asset=ev.asset,
                actor=ev.actor,
                ref=ev.id,
            )
        )

    order = list(KINDS)
    entries.sort(key=lambda x: (x.at, order.index(x.kind), x.ref))
    counted = Counter(x.kind for x in entries)
    return ShiftLog(
        shift,
        as_of,
        tuple(entries),
        tuple(open_faults),
        {kind: counted[kind] for kind in KINDS if counted[kind]},
    )


def _lasted(seconds: float) -> str:
    """``2h05m``, ``12m30s``, ``40s``."""
    hours, rest = divmod(max(round(seconds), 1), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class _Names:
    """Ids as people read them."""

    def __init__(self, setup: InspectionSetup) -> None:
        self._setup = setup

    def person(self, who: str | None) -> str:
        return self._setup.roster.label(who) or (who or "")

    def asset(self, asset_id: str) -> str:
        found = self._setup.maintenance.assets.get(asset_id)
        return found.name if found is not None else asset_id

    def round(self, plan_id: str, target: str) -> str:
        plan = self._setup.plans.get(plan_id)
        if plan is None:
            return f"{plan_id} {target}"
        found = plan.target(target)
        return f"{plan.title} · {found.name if found else target}"

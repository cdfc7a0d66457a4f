"""The monthly compliance report (巡检合规月报): every round due in a month, counted per
responsible person, per site and per plan, as printable HTML and as CSV (UTF-8 with a byte
order mark, so spreadsheet programs read the Chinese).

A round counts as due once its deadline has passed or it was signed; it is compliant when
signed by its deadline (due time plus grace). The CSV of the rounds names the SHA-256 of each
photo a record shows, as its signature's audit line does.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web

from monitor.inspections.calendar import RoundState
from monitor.inspections.errors import InvalidEntry
from monitor.inspections.metrics import month_bounds
from monitor.inspections.templates import STATE_NAMES, render

if TYPE_CHECKING:
    from monitor.inspections.ledger import CalendarEntry
    from monitor.inspections.service import InspectionService

__all__ = [
    "MonthlyReport",
    "ReportRow",
    "monthly_report",
    "parse_month",
    "render_csv",
    "render_html",
]


@dataclass(slots=True)
class ReportRow:
    key: str
    name: str
    done: int = 0
    done_late: int = 0
    overdue: int = 0
    missed: int = 0
    pending: int = 0
    failed_items: int = 0

    @property
    def due(self) -> int:
        return self.done + self.done_late + self.overdue + self.missed

    @property
    def ratio(self) -> float | None:
        return self.done / self.due if self.due else None

    @property
    def ratio_text(self) -> str:
        return "—" if self.ratio is None else f"{self.ratio:.1%}"

    def add(self, entry: CalendarEntry) -> None:
        match entry.state:
            case RoundState.DONE:
                self.done += 1
            case RoundState.DONE_LATE:
                self.done_late += 1
            case RoundState.OVERDUE:
                self.overdue += 1
            case RoundState.MISSED:
                self.missed += 1
            case _:
                self.pending += 1
        if entry.record is not None:
            self.failed_items += entry.record.failed_items


@dataclass(slots=True)
class Section:
    key: str
    title: str
    column: str
    rows: list[ReportRow] = field(default_factory=list)


@dataclass(slots=True)
class MonthlyReport:
    month: str
    centre: str
    generated: str
    as_of: str
    sections: list[Section]
    entries: list[CalendarEntry]
    exceptions: list[dict[str, str]]
    #: Record id → item id → the SHA-256 of its photos.
    photos: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)


def parse_month(text: str | None, service: InspectionService) -> tuple[datetime, datetime]:
    """'YYYY-MM' (default: the current month) → its local [start, end)."""
    now = service.local(service.now())
    if not text:
        return month_bounds(now)
    m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if m is None or not 1 <= int(m.group(2)) <= 12:
        raise InvalidEntry("month is YYYY-MM", {"month": "expected YYYY-MM"})
    return month_bounds(now.replace(year=int(m.group(1)), month=int(m.group(2)), day=1))


def _group(
    entries: Iterable[CalendarEntry], key: Callable[[CalendarEntry], tuple[str, str]]
) -> list[ReportRow]:
    rows: dict[str, ReportRow] = {}
    for e in entries:
        k, name = key(e)
        rows.setdefault(k, ReportRow(k, name)).add(e)
    return sorted(rows.values(), key=lambda r: (r.ratio if r.ratio is not None else 2.0, r.key))


def monthly_report(service: InspectionService, month: str | None = None) -> MonthlyReport:
    start, end = parse_month(month, service)
    now = service.now()
    entries = service.due_between(start.timestamp(), end.timestamp(), now=now)
    roster = service.setup.roster
    site_names = service.setup.site_names

    def by_person(e: CalendarEntry) -> tuple[str, str]:
        return e.owner, roster.label(e.owner)

    def by_site(e: CalendarEntry) -> tuple[str, str]:
        if not e.target.site:
            return f"system:{e.target.system}", e.target.name
        return e.target.site, site_names.get(e.target.site, e.target.site)

    def by_plan(e: CalendarEntry) -> tuple[str, str]:
        return e.plan.id, f"{e.plan.title} ({e.plan.frequency_name})"

    sections = [
        Section(
            "person", "按责任人 By person responsible", "责任人 owner", _group(entries, by_person)
        ),
        Section("site", "按站点 By site", "站点 site", _group(entries, by_site)),
        Section("plan", "按计划 By plan", "计划 plan", _group(entries, by_plan)),
    ]
    exceptions = [
        {
            "plan": e.plan.plan.title,
            "target": e.target.name,
            "period": e.period.key,
            "due": service.due_text(e.due_at),
            "state": STATE_NAMES[e.state.value],
            "owner": roster.label(e.owner),
            "signed": (
                f"{service.local(e.completed_at):%Y-%m-%d %H:%M} {roster.label(e.completed_by)}"
                if e.completed_at
                else ""
            ),
        }
        for e in entries
        if e.state in (RoundState.DONE_LATE, RoundState.OVERDUE, RoundState.MISSED)
    ]
    as_of = min(now, end.timestamp())
    records = [e.record.id for e in entries if e.record is not None]
    return MonthlyReport(
        month=f"{start:%Y-%m}",
        centre=service.setup.centre,
        generated=f"{service.local(now):%Y-%m-%d %H:%M}",
        as_of=f"{service.local(as_of):%Y-%m-%d %H:%M}",
        sections=sections,
        entries=entries,
        exceptions=exceptions,
        photos=service.store.photos_of(records),
    )


def render_html(report: MonthlyReport) -> str:
    return render(
        "report.html",
        month=report.month,
        centre=report.centre,
        generated=report.generated,
        as_of=report.as_of,
        sections=report.sections,
        exceptions=report.exceptions,
    )


CSV_HEADER = [
    "dimension",
    "key",
    "name",
    "due",
    "done",
    "done_late",
    "overdue",
    "missed",
    "not_yet_due",
    "failed_items",
    "compliance_ratio",
]
DETAIL_HEADER = [
    "plan",
    "site",
    "asset",
    "system",
    "target",
    "period",
    "due",
    "deadline",
    "state",
    "owner",
    "signed_at",
    "signed_by",
    "received_at",
    "failed_items",
    "discrepancies",
    "record",
    "photos",
]


def render_csv(
    report: MonthlyReport, *, detail: bool = False, zone_fmt: Callable[[float], str] | None = None
) -> str:
    """One row per person, site and plan (``detail``: one row per round)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    if not detail:
        writer.writerow(CSV_HEADER)
        for section in report.sections:
            for row in section.rows:
                writer.writerow(
                    [
                        section.key,
                        row.key,
                        row.name,
                        row.due,
                        row.done,
                        row.done_late,
                        row.overdue,
                        row.missed,
                        row.pending,
                        row.failed_items,
                        "" if row.ratio is None else f"{row.ratio:.4f}",
                    ]
                )
        return out.getvalue()
    fmt = zone_fmt or (lambda t: f"{t:.0f}")
    writer.writerow(DETAIL_HEADER)
    for e in report.entries:
        record = e.record
        writer.writerow(
            [
                e.plan.id,
                e.target.site,
                e.target.asset,
                e.target.system,
                e.target.key,
                e.period.key,
                fmt(e.due_at),
                fmt(e.deadline_at),
                e.state.value,
                e.owner,
                fmt(e.completed_at) if e.completed_at else "",
                e.completed_by or "",
                # A round signed off line: when it arrived (signed_at is the tablet's time).
                fmt(record.received_at) if record and record.received_at is not None else "",
                record.failed_items if record else 0,
                record.discrepancies if record else 0,
                record.id if record else "",
                " ".join(
                    f"{item}:{sha256}"
                    for item, hashes in (report.photos.get(record.id, {}) if record else {}).items()
                    for sha256 in hashes
                ),
            ]
        )
    return out.getvalue()


async def report_response(service: InspectionService, request: web.Request) -> web.Response:
    """``?month=YYYY-MM&format=html|csv|json[&detail=1]``."""
    from monitor.inspections.errors import InspectionError

    try:
        report = await service.run(monthly_report, service, request.query.get("month"))
    except InspectionError as exc:
        return web.json_response({"error": str(exc)}, status=exc.status)
    fmt = request.query.get("format", "html")
    name = f"inspections-{report.month}"
    if fmt == "csv":
        detail = request.query.get("detail") == "1"
        body = render_csv(
            report, detail=detail, zone_fmt=lambda t: f"{service.local(t):%Y-%m-%d %H:%M}"
        )
        return web.Response(
            body=body.encode(),
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{name}.csv"',
            },
        )
    if fmt == "json":
        return web.json_response(
            {
                "month": report.month,
                "as_of": report.as_of,
                "sections": {
                    s.key: [
                        {
                            "key": r.key,
                            "name": r.name,
                            "due": r.due,
                            "done": r.done,
                            "done_late": r.done_late,
                            "overdue": r.overdue,
                            "missed": r.missed,
                            "not_yet_due": r.pending,
                            "failed_items": r.failed_items,
                            "compliance_ratio": r.ratio,
                        }
                        for r in s.rows
                    ]
                    for s in report.sections
                },
            }
        )
    return web.Response(text=render_html(report), content_type="text/html", charset="utf-8")

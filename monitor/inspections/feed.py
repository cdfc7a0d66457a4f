"""An iCalendar (RFC 5545) feed of each person's upcoming rounds, for the calendar on their
phone: one event per round, ending at its due time.

Calendar apps cannot send a bearer token, so the feed URL carries a key derived from the
person's token hash (HMAC): it opens only that person's feed and reveals nothing of the token.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from monitor.inspections.ledger import CalendarEntry
    from monitor.inspections.plans import Roster
    from monitor.inspections.service import InspectionService

__all__ = ["feed_handler", "feed_key", "render_feed"]

Handler = Callable[[web.Request], Awaitable[web.Response]]

#: How far ahead the feed looks.
HORIZON_DAYS = 35.0


def feed_key(roster: Roster, person: str) -> str | None:
    digest = roster.token_hash(person)
    if digest is None:
        return None
    mac = hmac.new(bytes.fromhex(digest), b"trunkwatch-ics:" + person.encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1),
    never splitting a UTF-8 character."""
    out: list[str] = []
    current, size = "", 0
    for ch in line:
        width = len(ch.encode())
        limit = 75 if not out else 74
        if size + width > limit:
            out.append(current)
            current, size = "", 0
        current += ch
        size += width
    out.append(current)
    return "\r\n ".join(out)


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y%m%dT%H%M%SZ")


def render_feed(entries: Iterable[CalendarEntry], *, person_label: str, now: float) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//trunkwatch//inspections//ZH",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape('巡检 Inspections — ' + person_label)}",
    ]
    for e in entries:
        plan = e.plan.plan
        start = max(e.opens_at, e.due_at - 3600.0)
        items = "\n".join(f"- {i.title}" for i in plan.checklist)
        description = (
            f"{e.plan.frequency_name} · {e.target.name} · {e.period.key}\n"
            f"逾期 overdue after {_utc(e.deadline_at)}\n{items}"
        )
        lines += [
            "BEGIN:VEVENT",
            f"UID:{e.plan.id}.{e.target.key.replace(':', '-')}.{e.period.key}@trunkwatch",
            f"DTSTAMP:{_utc(now)}",
            f"DTSTART:{_utc(start)}",
            f"DTEND:{_utc(e.due_at)}",
            f"SUMMARY:{_escape(f'{plan.title} — {e.target.name}')}",
            f"DESCRIPTION:{_escape(description)}",
            f"CATEGORIES:{_escape(e.plan.frequency_name)}",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "TRIGGER:-PT1H",
            f"DESCRIPTION:{_escape(plan.title)}",
            "END:VALARM",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def ics_response(service: InspectionService, person: str) -> web.Response:
    entries = service.upcoming(person, HORIZON_DAYS)
    label = service.setup.roster.label(person)
    body = render_feed(entries, person_label=label, now=service.now())
    return web.Response(
        body=body.encode(),
        headers={
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": f'inline; filename="{person}.ics"',
            "Cache-Control": "no-store",
        },
    )


def feed_handler(service: InspectionService) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        person = request.match_info["person"]
        expected = feed_key(service.setup.roster, person)
        given = request.query.get("key", "")
        if expected is None or not hmac.compare_digest(given, expected):
            raise web.HTTPNotFound()
        return await service.run(ics_response, service, person)

    return handler

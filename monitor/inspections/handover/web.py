"""The shift handover page at /inspections/duty (``/duty`` leads there) and the printable shift
log at /inspections/duty/log/{shift}, signed in as on the inspection pages (whose session
cookie is scoped to /inspections): the current shift and its handover, the previous one while its
handover is not complete, the forms to sign over, to take over and to write a drill or a
note, the log so far, and the last seven days. Forms carry the session's CSRF token and are
refused from another origin; the signer is always the signed-in person.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from monitor.inspections.errors import InspectionError, InvalidEntry, StoreError
from monitor.inspections.handover.records import Handover
from monitor.inspections.handover.shiftlog import KINDS, ShiftLog
from monitor.inspections.handover.shifts import Shift
from monitor.inspections.templates import render
from monitor.inspections.web import DutyPages, html_page, see_other

if TYPE_CHECKING:
    from monitor.inspections.config import Person
    from monitor.inspections.handover.service import HandoverService
    from monitor.inspections.sessions import Session

__all__ = ["PAGE", "routes"]

PAGE = "/inspections/duty"
#: The short address the issue and the duty room use.
SHORT = "/duty"


class HandoverPages:
    def __init__(self, duty: DutyPages) -> None:
        self.duty = duty
        self.inspections = duty.service
        self.service: HandoverService = duty.service.handover

    # -- views -----------------------------------------------------------------------------

    def _time(self, t: float | None) -> str:
        return "" if t is None else f"{self.service.local(t):%m-%d %H:%M}"

    def _asset(self, asset_id: str) -> str:
        found = self.inspections.setup.maintenance.assets.get(asset_id)
        return found.name if found is not None else asset_id

    def _person(self, who: str | None) -> str:
        return self.inspections.setup.roster.label(who) if who else ""

    def _shift_view(self, shift: Shift, handover: Handover | None) -> dict[str, Any]:
        service, setup = self.service, self.service.setup
        now = service.now()
        zh, en = shift.name()
        opens = shift.end_ts - setup.sign_from
        due = shift.end_ts + setup.sign_within
        complete = handover is not None and handover.complete
        return {
            "key": shift.key,
            "label": shift.label,
            "name": f"{zh} {en}",
            "opens": self._time(opens),
            "due": self._time(due),
            "signable": now >= opens and handover is None,
            "overdue": not complete and now >= due,
            "complete": complete,
            "outgoing": self._person(handover.outgoing) if handover else "",
            "incoming": self._person(handover.incoming) if handover else "",
            "handover": None
            if handover is None
            else {
                "outgoing": self._person(handover.outgoing),
                "outgoing_notes": handover.outgoing_notes,
                "signed": self._time(handover.signed_at),
                "incoming": self._person(handover.incoming),
                "incoming_notes": handover.incoming_notes,
                "acknowledged": self._time(handover.acknowledged_at),
                "complete": handover.complete,
                "log_digest": handover.log_digest,
            },
        }

    def _log_view(self, log: ShiftLog) -> dict[str, Any]:
        def lasted(seconds: float | None) -> str:
            if seconds is None:
                return ""
            hours, rest = divmod(round(seconds), 3600)
            return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"

        return {
            "counts": [(" ".join(KINDS[k]), n) for k, n in log.counts.items()],
            "entries": [
                {
                    "time": self._time(e.at),
                    "kind": e.kind,
                    "kind_name": " ".join(KINDS[e.kind]),
                    "zh": e.zh,
                    "en": e.en,
                    "lasted": lasted(e.duration),
                }
                for e in log.entries
            ],
            "open_faults": [
                {
                    "since": self._time(f.since),
                    "asset": self._asset(f.asset),
                    "severity": f.severity,
                    "zh": f.zh,
                    "en": f.en,
                    "lasted": lasted(log.as_of - f.since),
                }
                for f in log.open_faults
            ],
        }

    def _read(self, person: Person) -> dict[str, Any]:
        """Everything the page shows, read from the store (in a worker thread)."""
        service = self.service
        if not service.enabled:
            return {"enabled": False}
        current = service.shift()
        previous = service.setup.rota.previous(current)
        now = service.now()
        handovers = {s.key: service.handover(s) for s in (current, previous)}
        to_sign = service.to_hand_over()
        before = handovers[previous.key]
        waiting_previous = service.kept(previous) and (before is None or not before.complete)
        acknowledge = next(
            (
                s
                for s in (current, previous)
                if (h := handovers[s.key]) is not None
                and not h.complete
                and h.outgoing != person.id
            ),
            None,
        )
        # to_hand_over is the current shift or the one before: both read above.
        opens = to_sign.end_ts - service.setup.sign_from
        sign = to_sign if handovers[to_sign.key] is None and now >= opens else None
        return {
            "enabled": True,
            "current": self._shift_view(current, handovers[current.key]),
            "waiting": self._shift_view(previous, handovers[previous.key])
            if waiting_previous
            else None,
            "sign": None if sign is None else self._shift_view(sign, None),
            "acknowledge": None
            if acknowledge is None
            else self._shift_view(acknowledge, handovers[acknowledge.key]),
            "log": self._log_view(service.log(current)),
            "recent": [self._shift_view(s, h) for s, h in service.recent()],
        }

    def _page(
        self,
        person: Person,
        session: Session,
        view: dict[str, Any],
        *,
        typed: dict[str, str] | None = None,
        problems: dict[str, str] | None = None,
        error: str | None = None,
        flash: str | None = None,
        status: int = 200,
    ) -> web.Response:
        return html_page(
            render(
                "duty.html",
                person=person,
                csrf=session.csrf,
                centre=self.inspections.setup.centre,
                typed=typed or {},
                problems=problems or {},
                error=error,
                flash=flash,
                **{"enabled": True, **view},
            ),
            status=status,
        )

    async def _again(
        self, person: Person, session: Session, data: dict[str, str], exc: InspectionError
    ) -> web.Response:
        try:
            view = await asyncio.to_thread(self._read, person)
        except StoreError:
            return html_page(render("message.html", error=str(exc)), status=exc.status)
        problems = dict(exc.problems) if isinstance(exc, InvalidEntry) else {}
        return self._page(
            person, session, view, typed=data, problems=problems, error=str(exc),
            status=exc.status,
        )  # fmt: skip

    # -- handlers --------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.Response:
        person, session = await self.duty.require(request)
        try:
            view = await asyncio.to_thread(self._read, person)
        except StoreError as exc:
            return html_page(render("message.html", error=str(exc)), status=exc.status)
        flash = {
            "signed": "已交班 Signed over.",
            "taken": "已接班 Taken over.",
            "written": "已记录 Written into the log.",
        }.get(request.query.get("done", ""))
        return self._page(person, session, view, flash=flash)

    async def sign(self, request: web.Request) -> web.Response:
        person, session = await self.duty.require(request)
        data = await self.duty.form(request, session)
        try:
            await asyncio.to_thread(
                self.service.sign, person, data.get("notes", ""), data.get("shift") or None
            )
        except InspectionError as exc:
            return await self._again(person, session, data, exc)
        return see_other(f"{PAGE}?done=signed")

    async def acknowledge(self, request: web.Request) -> web.Response:
        person, session = await self.duty.require(request)
        data = await self.duty.form(request, session)
        try:
            await asyncio.to_thread(
                self.service.acknowledge,
                person,
                data.get("notes", ""),
                data.get("shift") or None,
            )
        except InspectionError as exc:
            return await self._again(person, session, data, exc)
        return see_other(f"{PAGE}?done=taken")

    async def write(self, request: web.Request) -> web.Response:
        person, session = await self.duty.require(request)
        data = await self.duty.form(request, session)
        try:
            await asyncio.to_thread(
                self.service.write, person, data.get("kind", ""), data.get("text", "")
            )
        except InspectionError as exc:
            return await self._again(person, session, data, exc)
        return see_other(f"{PAGE}?done=written")

    async def shift_log(self, request: web.Request) -> web.Response:
        """The printable log of one shift, with its handover."""
        person, session = await self.duty.require(request)
        service = self.service

        def read() -> dict[str, Any]:
            shift = service.shift(request.match_info["shift"])
            handover = service.handover(shift)
            log = service.log(shift)
            return {
                "shift": self._shift_view(shift, handover),
                "log": self._log_view(log),
                "as_of": self._time(log.as_of),
                "complete": log.complete,
                # The sealed log is the one signed; events written later still show here.
                "sealed_differs": handover is not None
                and log.complete
                and handover.log_digest != log.digest(),
            }

        try:
            view = await asyncio.to_thread(read)
        except InspectionError as exc:
            return html_page(render("message.html", error=str(exc)), status=exc.status)
        return html_page(
            render(
                "duty_log.html",
                person=person,
                csrf=session.csrf,
                centre=self.inspections.setup.centre,
                **view,
            )
        )


async def _to_page(request: web.Request) -> web.Response:
    rest = request.match_info.get("rest", "")
    return see_other(PAGE + (f"/log/{quote(rest, safe=':')}" if rest else ""))


def routes(duty: DutyPages) -> list[web.RouteDef]:
    pages = HandoverPages(duty)
    return [
        web.get(SHORT, _to_page),
        web.get(f"{SHORT}/log/{{rest}}", _to_page),
        web.get(PAGE, pages.page),
        web.post(f"{PAGE}/handover", pages.sign),
        web.post(f"{PAGE}/acknowledge", pages.acknowledge),
        web.post(f"{PAGE}/events", pages.write),
        web.get(f"{PAGE}/log/{{shift}}", pages.shift_log),
    ]

"""The planned maintenance page at /inspections/maintenance, beside the duty page and signed in
the same way: the windows in force and to come, a form to start one (asset or site, how long,
why) and a button to end one early. The owner is the signed-in person; forms carry the
session's CSRF token and are refused from another origin, as on the duty page.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from monitor.inspections.errors import InspectionError, InvalidEntry, StoreError
from monitor.inspections.maintenance.api import parse_request
from monitor.inspections.maintenance.records import MaintenanceWindow
from monitor.inspections.templates import render
from monitor.inspections.web import DutyPages, html_page, see_other

if TYPE_CHECKING:
    from monitor.inspections.config import Person
    from monitor.inspections.sessions import Session

__all__ = ["DURATIONS", "routes"]

PAGE = "/inspections/maintenance"
#: The lengths offered on the form (any other can be typed into the API or the CLI).
DURATIONS = (("30m", "30 分钟"), ("1h", "1 小时"), ("2h", "2 小时"), ("4h", "4 小时"),
             ("8h", "8 小时"), ("1d", "1 天"))  # fmt: skip


class MaintenancePages:
    def __init__(self, duty: DutyPages) -> None:
        self.duty = duty
        self.service = duty.service
        self.maintenance = duty.service.maintenance

    def _window_view(self, window: MaintenanceWindow) -> dict[str, Any]:
        service, roster = self.service, self.service.setup.roster
        names = self.maintenance.describe(window)
        return {
            "id": window.id,
            "scope": window.scope.value,
            "target": window.target,
            "name": names["name"],
            "site": names["site"],
            "state": window.state(service.now()).value,
            "from": f"{service.local(window.starts_at):%m-%d %H:%M}",
            "until": f"{service.local(window.ends_at):%m-%d %H:%M}",
            "owner": roster.label(window.owner),
            "reason": window.reason,
            "silence": window.silence_id,
            "silence_pending": self.maintenance.silences is not None and window.silence_id is None,
        }

    def _page(
        self,
        person: Person,
        session: Session,
        windows: list[MaintenanceWindow],
        *,
        typed: dict[str, str] | None = None,
        problems: dict[str, str] | None = None,
        error: str | None = None,
        flash: str | None = None,
        status: int = 200,
    ) -> web.Response:
        setup = self.maintenance.setup
        return html_page(
            render(
                "maintenance.html",
                person=person,
                csrf=session.csrf,
                windows=[self._window_view(w) for w in windows],
                sites=sorted(setup.sites.items()),
                assets=[(a.id, f"{a.name} ({a.id})") for a in setup.assets.values()],
                durations=DURATIONS,
                typed=typed or {},
                problems=problems or {},
                error=error,
                flash=flash,
                alertmanager=bool(setup.alertmanagers),
            ),
            status=status,
        )

    async def page(self, request: web.Request) -> web.Response:
        person, session = await self.duty.require(request)
        try:
            windows = await asyncio.to_thread(self.maintenance.windows)
        except StoreError as exc:
            return self._page(person, session, [], error=str(exc), status=exc.status)
        flash = None
        if request.query.get("started"):
            flash = "已登记计划检修 Maintenance window started."
        elif request.query.get("ended"):
            flash = "计划检修已结束 Maintenance window ended."
        return self._page(person, session, windows, flash=flash)

    async def start(self, request: web.Request) -> web.Response:
        person, session = await self.duty.require(request)
        data = await self.duty.form(request, session)
        scope, _, target = data.get("target", "").partition(":")
        fields = {scope: target, "for": data.get("for", ""), "reason": data.get("reason", "")}
        try:
            parsed = parse_request(fields)
            window = await asyncio.to_thread(self.maintenance.start, person.id, *parsed)
        except InspectionError as exc:
            problems = dict(exc.problems) if isinstance(exc, InvalidEntry) else {}
            # The form has one control for both; its problem is under its own name.
            for key in ("asset", "site"):
                if key in problems:
                    problems["target"] = problems.pop(key)
            try:
                windows = await asyncio.to_thread(self.maintenance.windows)
            except StoreError:
                windows = []
            return self._page(
                person,
                session,
                windows,
                typed=data,
                problems=problems,
                error=str(exc),
                status=exc.status,
            )
        return see_other(f"{PAGE}?started={quote(window.id)}")

    async def end(self, request: web.Request) -> web.Response:
        person, session = await self.duty.require(request)
        await self.duty.form(request, session)
        try:
            await asyncio.to_thread(
                self.maintenance.end, person.id, request.match_info["window_id"]
            )
        except InspectionError as exc:
            try:
                windows = await asyncio.to_thread(self.maintenance.windows)
            except StoreError:
                windows = []
            return self._page(person, session, windows, error=str(exc), status=exc.status)
        return see_other(f"{PAGE}?ended=1")


def routes(duty: DutyPages) -> list[web.RouteDef]:
    pages = MaintenancePages(duty)
    return [
        web.get(PAGE, pages.page),
        web.post(PAGE, pages.start),
        web.post(f"{PAGE}/{{window_id}}/end", pages.end),
    ]

"""The JSON API of planned maintenance under /api/v1/maintenance, with the inspection API's
personal bearer tokens: the owner of a window, and whoever ends one, is the token's person,
never a field of the body. A POST from a page of another origin is refused (403).

    GET   /api/v1/maintenance[?all=1]       windows in force or to come (all: the latest 500)
    POST  /api/v1/maintenance               {asset | site, for, reason} → 201 the window
    GET   /api/v1/maintenance/{id}
    POST  /api/v1/maintenance/{id}/end      → the window, ended now

``for`` is a duration (``2h``, ``90m``) or a number of seconds. A window answers with its
silence (``silence``: Alertmanager's id, null while it is being made) and, while Alertmanager
cannot be reached, ``silence_pending`` with the reason: the window is stored all the same and
its silence is made as soon as Alertmanager answers.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from monitor.core.durations import parse_duration
from monitor.inspections.api import authed, json_object
from monitor.inspections.errors import InvalidEntry
from monitor.inspections.maintenance.records import MaintenanceWindow
from monitor.web.guard import require_same_origin

if TYPE_CHECKING:
    from monitor.inspections.config import Person
    from monitor.inspections.maintenance.service import MaintenanceService

__all__ = ["PREFIX", "parse_request", "routes", "window_json"]

PREFIX = "/api/v1/maintenance"
#: Asset and site ids, as monitor.yaml's identifiers are spelled.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def window_json(service: MaintenanceService, window: MaintenanceWindow) -> dict[str, Any]:
    """A window as the API, the page and the command line show it."""
    out = window.as_json(service.now())
    out.update(service.describe(window))
    waiting = service.silences is not None and window.silence_id is None
    out["silence_pending"] = (service.silence_problem or "being made") if waiting else None
    return out


def parse_request(data: dict[str, Any]) -> tuple[str, str, float, str]:
    """(scope, target, seconds, reason) from a request's fields; raises InvalidEntry."""
    problems: dict[str, str] = {}
    given = [k for k in ("asset", "site") if data.get(k) not in (None, "")]
    if len(given) != 1:
        problems["asset"] = "give one of asset or site"
    scope = given[0] if len(given) == 1 else "asset"
    target = data.get(scope)
    if len(given) == 1 and not (isinstance(target, str) and _ID.fullmatch(target)):
        problems[scope] = "an id as monitor.yaml spells it"
    seconds = 0.0
    try:
        seconds = parse_duration(data.get("for"))
    except ValueError as exc:
        problems["for"] = f"{exc} (how long, such as 2h)"
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        problems["reason"] = "须说明原因 / say why"
    if problems:
        raise InvalidEntry("计划检修无法登记 / the maintenance window is not valid", problems)
    assert isinstance(target, str)
    assert isinstance(reason, str)
    return scope, target, seconds, reason


class MaintenanceApi:
    def __init__(self, service: MaintenanceService) -> None:
        self.service = service

    async def list(self, request: web.Request, person: Person) -> web.StreamResponse:
        past = request.query.get("all") == "1"
        found = await asyncio.to_thread(self.service.windows, past=past)
        return web.json_response(
            {
                "now": self.service.now(),
                "windows": [window_json(self.service, w) for w in found],
            }
        )

    async def start(self, request: web.Request, person: Person) -> web.StreamResponse:
        require_same_origin(request)
        scope, target, seconds, reason = parse_request(await json_object(request))
        window = await asyncio.to_thread(
            self.service.start, person.id, scope, target, seconds, reason
        )
        return web.json_response(window_json(self.service, window), status=201)

    async def get(self, request: web.Request, person: Person) -> web.StreamResponse:
        window = await asyncio.to_thread(self.service.get, request.match_info["window_id"])
        return web.json_response(window_json(self.service, window))

    async def end(self, request: web.Request, person: Person) -> web.StreamResponse:
        require_same_origin(request)
        window = await asyncio.to_thread(
            self.service.end, person.id, request.match_info["window_id"]
        )
        return web.json_response(window_json(self.service, window))


def routes(
    service: MaintenanceService, authenticate: Callable[[str | None], Person | None]
) -> list[web.RouteDef]:
    api = MaintenanceApi(service)
    return [
        web.get(PREFIX, authed(authenticate, api.list)),
        web.post(PREFIX, authed(authenticate, api.start)),
        web.get(f"{PREFIX}/{{window_id}}", authed(authenticate, api.get)),
        web.post(f"{PREFIX}/{{window_id}}/end", authed(authenticate, api.end)),
    ]

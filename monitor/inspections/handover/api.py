"""The JSON API of shift handover under /api/v1/duty, with the inspection API's personal bearer
tokens: whoever signs, acknowledges or writes is the token's person. A body that names
someone else (``person``, ``outgoing``, ``incoming``, ``signer``) is refused with 403: nobody
signs as another. A POST from a page of another origin is refused (403).

    GET   /api/v1/duty/shift[?shift=current|previous|KEY]   the shift, its log and handover
    GET   /api/v1/duty/handovers                            the last 7 days' shifts
    POST  /api/v1/duty/handover              {notes[, shift]} → 201 signed over (outgoing)
    POST  /api/v1/duty/handover/acknowledge  {[notes][, shift]} → taken over (incoming)
    POST  /api/v1/duty/events                {kind: drill|note, text[, site][, asset]} → 201
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from monitor.inspections.api import authed, json_object
from monitor.inspections.errors import NotAllowed
from monitor.web.guard import require_same_origin

if TYPE_CHECKING:
    from monitor.inspections.config import Person
    from monitor.inspections.handover.records import Handover
    from monitor.inspections.handover.service import HandoverService
    from monitor.inspections.handover.shifts import Shift

__all__ = ["PREFIX", "routes", "shift_json"]

PREFIX = "/api/v1/duty"
#: Body fields that would name a signer: only the token may.
_IDENTITY_FIELDS = ("person", "outgoing", "incoming", "signer", "signed_by")


def _shift_fields(service: HandoverService, shift: Shift) -> dict[str, Any]:
    zh, en = shift.name()
    return {
        "shift": shift.key,
        "label": shift.label,
        "name": f"{zh} {en}",
        "start": shift.start_ts,
        "end": shift.end_ts,
        "signing_opens_at": shift.end_ts - service.setup.sign_from,
        "due_at": shift.end_ts + service.setup.sign_within,
    }


def shift_json(service: HandoverService, shift: Shift, *, with_log: bool = True) -> dict[str, Any]:
    """A shift, its handover and (``with_log``) its log, as the API and the CLI show them.
    Raises StoreError."""
    out = _shift_fields(service, shift)
    handover = service.handover(shift)
    out["handover"] = None if handover is None else handover.as_json()
    if with_log:
        out["log"] = service.log(shift).as_json()
    return out


def handover_json(service: HandoverService, handover: Handover) -> dict[str, Any]:
    shift = service.setup.rota.by_key(handover.shift)
    return {**_shift_fields(service, shift), "handover": handover.as_json()}


def _no_one_else(data: dict[str, Any], person: Person) -> None:
    for key in _IDENTITY_FIELDS:
        if key in data and data[key] != person.id:
            raise NotAllowed(
                f"不能代他人签字 / {person.id} cannot sign as {data[key]!r}: "
                "the signer is the token's person"
            )


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    return value if isinstance(value, str) else ""


def _shift_key(data: dict[str, Any]) -> str | None:
    value = data.get("shift")
    return value if isinstance(value, str) and value else None


class HandoverApi:
    def __init__(self, service: HandoverService) -> None:
        self.service = service

    async def shift(self, request: web.Request, person: Person) -> web.StreamResponse:
        service = self.service

        def read() -> dict[str, Any]:
            return shift_json(service, service.shift(request.query.get("shift")))

        return web.json_response(await asyncio.to_thread(read))

    async def handovers(self, request: web.Request, person: Person) -> web.StreamResponse:
        service = self.service

        def read() -> list[dict[str, Any]]:
            return [
                {
                    **_shift_fields(service, shift),
                    "handover": None if h is None else h.as_json(),
                }
                for shift, h in service.recent()
            ]

        return web.json_response({"now": service.now(), "shifts": await asyncio.to_thread(read)})

    async def sign(self, request: web.Request, person: Person) -> web.StreamResponse:
        require_same_origin(request)
        data = await json_object(request)
        _no_one_else(data, person)
        signed = await asyncio.to_thread(
            self.service.sign, person, _text(data, "notes"), _shift_key(data)
        )
        return web.json_response(handover_json(self.service, signed), status=201)

    async def acknowledge(self, request: web.Request, person: Person) -> web.StreamResponse:
        require_same_origin(request)
        data = await json_object(request)
        _no_one_else(data, person)
        done = await asyncio.to_thread(
            self.service.acknowledge, person, _text(data, "notes"), _shift_key(data)
        )
        return web.json_response(handover_json(self.service, done))

    async def write(self, request: web.Request, person: Person) -> web.StreamResponse:
        require_same_origin(request)
        data = await json_object(request)
        _no_one_else(data, person)
        event = await asyncio.to_thread(
            self.service.write,
            person,
            _text(data, "kind"),
            _text(data, "text"),
            site=_text(data, "site"),
            asset=_text(data, "asset"),
        )
        return web.json_response(
            {
                "id": event.id,
                "at": event.at,
                "kind": event.kind.value,
                "actor": event.actor,
                "text": event.text,
                "site": event.site,
                "asset": event.asset,
            },
            status=201,
        )


def routes(
    service: HandoverService, authenticate: Callable[[str | None], Person | None]
) -> list[web.RouteDef]:
    api = HandoverApi(service)
    return [
        web.get(f"{PREFIX}/shift", authed(authenticate, api.shift)),
        web.get(f"{PREFIX}/handovers", authed(authenticate, api.handovers)),
        web.post(f"{PREFIX}/handover", authed(authenticate, api.sign)),
        web.post(f"{PREFIX}/handover/acknowledge", authed(authenticate, api.acknowledge)),
        web.post(f"{PREFIX}/events", authed(authenticate, api.write)),
    ]

"""The JSON API under /api/v1/inspections, authenticated by a personal bearer token.

The person a request acts as is the token's person, always: opener, signer and corrector are
never read from the body (fields such as ``signed_by`` are ignored). A missing or unknown
token is answered 401 before anything else is looked at. A body that is not an acceptable JSON
object (not UTF-8, NaN, lone surrogate escapes, nesting past 32 levels: see
``monitor.web.jsonbody``) is answered 400 with the reason.

    GET   /api/v1/inspections/plans
    GET   /api/v1/inspections/calendar[?all=1]            current rounds (yours, or all)
    POST  /api/v1/inspections/rounds                      {plan, target} → draft
    GET   /api/v1/inspections/rounds/{id}
    PATCH /api/v1/inspections/rounds/{id}                 {items} → saved draft
    POST  /api/v1/inspections/rounds/{id}/sign            {items} → signed record
    POST  /api/v1/inspections/rounds/{id}/corrections     {items, reason} → new record
    POST  /api/v1/inspections/records                     {plan, target, items[, sign]}
    GET   /api/v1/inspections/records?month=YYYY-MM
    GET   /api/v1/inspections/follow-ups[?open=1]
    POST  /api/v1/inspections/follow-ups/{id}/close       {note}
    GET   /api/v1/inspections/report?month=YYYY-MM&format=json|csv|html
    GET   /api/v1/inspections/feed.ics
    GET   /api/v1/inspections/audit?after=SEQ             supervisors

``items`` maps item id → ``{"value": …, "note": …}`` or just the value.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from monitor.inspections.errors import (
    InspectionError,
    InvalidEntry,
    MalformedRequest,
    NotAllowed,
    StoreError,
)
from monitor.inspections.records import RoundRecord
from monitor.web.guard import authenticates_itself
from monitor.web.jsonbody import MalformedJson, parse_json

if TYPE_CHECKING:
    from monitor.inspections.config import Person
    from monitor.inspections.service import InspectionService

__all__ = ["authed", "bearer_token", "error_response", "json_object", "routes"]

log = logging.getLogger("trunkwatch.inspections")

PREFIX = "/api/v1/inspections"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Action = Callable[[web.Request, "Person"], Awaitable[web.StreamResponse]]


def error_response(status: int, message: str, **extra: Any) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="trunkwatch"'} if status == 401 else None
    if status == StoreError.status:
        headers = {"Retry-After": str(StoreError.retry_after)}
    return web.json_response({"error": message, **extra}, status=status, headers=headers)


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        data = parse_json(await request.read())
    except MalformedJson as exc:
        raise MalformedRequest(str(exc)) from None
    if not isinstance(data, dict):
        raise MalformedRequest("the body must be a JSON object")
    return data


def _entries(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    raw = data.get("items", {})
    if not isinstance(raw, dict):
        raise InvalidEntry("items must be an object of item id → value or {value, note}")
    return {str(k): dict(v) if isinstance(v, dict) else {"value": v} for k, v in raw.items()}


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidEntry(f"`{key}` is required", {key: "required"})
    return value


def authed(authenticate: Callable[[str | None], Person | None], action: Action) -> Handler:
    """A handler that acts as the bearer token's person (401 without one) and answers the
    inspection errors with their status and a JSON reason."""

    async def handler(request: web.Request) -> web.StreamResponse:
        person = authenticate(bearer_token(request))
        if person is None:
            return error_response(
                401, "a valid personal token is required (Authorization: Bearer …)"
            )
        try:
            return await action(request, person)
        except InvalidEntry as exc:
            return error_response(exc.status, str(exc), problems=exc.problems)
        except InspectionError as exc:
            return error_response(exc.status, str(exc))

    return authenticates_itself(handler)


class InspectionsApi:
    def __init__(self, service: InspectionService) -> None:
        self.service = service

    def authed(self, action: Action) -> Handler:
        return authed(self.service.authenticate, action)

    def _record_json(self, record: RoundRecord) -> dict[str, Any]:
        out = record.as_json()
        state = None
        if record.signed_at is not None:
            state = "done" if record.signed_at <= record.deadline_at else "done_late"
        out["state"] = state
        return out

    async def plans(self, request: web.Request, person: Person) -> web.StreamResponse:
        setup = self.service.setup
        return web.json_response(
            {
                "plans": [
                    {
                        "id": p.id,
                        "title": p.plan.title,
                        "title_en": p.plan.title_en,
                        "frequency": p.schedule.frequency.value,
                        "recurrence": p.plan.recurrence,
                        "grace_seconds": p.schedule.grace.total_seconds(),
                        "owner": p.plan.owner,
                        "deputy": p.plan.deputy,
                        "targets": [t.key for t in p.targets],
                        "checklist": [
                            {"id": i.id, "kind": i.kind, "title": i.title, "title_en": i.title_en}
                            for i in p.plan.checklist
                        ],
                    }
                    for p in setup.plans.values()
                ]
            }
        )

    async def calendar(self, request: web.Request, person: Person) -> web.StreamResponse:
        everyone = request.query.get("all") == "1"
        entries = await self.service.run(
            self.service.calendar, person=None if everyone else person.id
        )
        return web.json_response(
            {
                "person": person.id,
                "now": self.service.now(),
                "rounds": [e.as_json() for e in entries],
            }
        )

    async def open_round(self, request: web.Request, person: Person) -> web.StreamResponse:
        data = await json_object(request)
        plan, target = _text(data, "plan"), _text(data, "target")
        service = self.service
        live = service.live_for(plan, target)
        record = await service.run(service.open_round, person, plan, target, live=live)
        return web.json_response(self._record_json(record), status=201)

    async def get_round(self, request: web.Request, person: Person) -> web.StreamResponse:
        record = await self.service.run(self.service.get_round, request.match_info["round_id"])
        return web.json_response(self._record_json(record))

    async def save_round(self, request: web.Request, person: Person) -> web.StreamResponse:
        entries = _entries(await json_object(request))
        service = self.service
        record = await service.run(service.save, person, request.match_info["round_id"], entries)
        return web.json_response(self._record_json(record))

    async def sign_round(self, request: web.Request, person: Person) -> web.StreamResponse:
        data = await json_object(request) if request.can_read_body else {}
        entries = _entries(data)
        service = self.service
        round_id = request.match_info["round_id"]
        live = await service.live_for_round(round_id)
        record = await service.run(service.save, person, round_id, entries, sign=True, live=live)
        return web.json_response(self._record_json(record))

    async def correct_round(self, request: web.Request, person: Person) -> web.StreamResponse:
        data = await json_object(request)
        service = self.service
        record = await service.run(
            service.correct,
            person,
            request.match_info["round_id"],
            _entries(data),
            str(data.get("reason") or ""),
        )
        return web.json_response(self._record_json(record), status=201)

    async def record(self, request: web.Request, person: Person) -> web.StreamResponse:
        data = await json_object(request)
        plan, target = _text(data, "plan"), _text(data, "target")
        sign = data.get("sign", True)
        if not isinstance(sign, bool):
            raise InvalidEntry("`sign` is true or false", {"sign": "expected a boolean"})
        service = self.service
        live = service.live_for(plan, target)
        record = await service.run(
            service.record, person, plan, target, _entries(data), sign=sign, live=live
        )
        return web.json_response(self._record_json(record), status=201)

    async def records(self, request: web.Request, person: Person) -> web.StreamResponse:
        from monitor.inspections.report import parse_month

        service = self.service
        start, end = parse_month(request.query.get("month"), service)
        found = await service.run(
            service.store.rounds,
            period_from=start.timestamp() - 366 * 86400,
            period_before=end.timestamp(),
            with_items=True,
        )
        # Periods start up to a year before a due time in the month: keep the month's.
        rows = [r for r in found if start.timestamp() <= r.due_at < end.timestamp()]
        return web.json_response({"records": [self._record_json(r) for r in rows]})

    async def follow_ups(self, request: web.Request, person: Person) -> web.StreamResponse:
        only_open = request.query.get("open") == "1"
        found = await self.service.run(self.service.store.follow_ups, open_only=only_open)
        return web.json_response({"follow_ups": [f.as_json() for f in found]})

    async def close_follow_up(self, request: web.Request, person: Person) -> web.StreamResponse:
        data = await json_object(request)
        service = self.service
        closed = await service.run(
            service.close_follow_up,
            person,
            request.match_info["follow_up_id"],
            str(data.get("note") or ""),
        )
        return web.json_response(closed.as_json())

    async def report(self, request: web.Request, person: Person) -> web.StreamResponse:
        from monitor.inspections.report import report_response

        return await report_response(self.service, request)

    async def feed(self, request: web.Request, person: Person) -> web.StreamResponse:
        from monitor.inspections.feed import ics_response

        return await self.service.run(ics_response, self.service, person.id)

    async def audit(self, request: web.Request, person: Person) -> web.StreamResponse:
        if person.role != "supervisor":
            raise NotAllowed("the audit log is for supervisors")
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            raise InvalidEntry("`after` is a sequence number") from None
        entries = await self.service.run(self.service.store.audit_log, after_seq=after)
        return web.json_response(
            {
                "entries": [
                    {
                        "seq": e.seq,
                        "at": e.at,
                        "actor": e.actor,
                        "action": e.action,
                        "round": e.round_id,
                        "detail": e.detail,
                        "digest": e.digest,
                    }
                    for e in entries
                ]
            }
        )


def routes(service: InspectionService) -> list[web.RouteDef]:
    api = InspectionsApi(service)
    a = api.authed
    return [
        web.get(f"{PREFIX}/plans", a(api.plans)),
        web.get(f"{PREFIX}/calendar", a(api.calendar)),
        web.post(f"{PREFIX}/rounds", a(api.open_round)),
        web.get(f"{PREFIX}/rounds/{{round_id}}", a(api.get_round)),
        web.patch(f"{PREFIX}/rounds/{{round_id}}", a(api.save_round)),
        web.post(f"{PREFIX}/rounds/{{round_id}}/sign", a(api.sign_round)),
        web.post(f"{PREFIX}/rounds/{{round_id}}/corrections", a(api.correct_round)),
        web.post(f"{PREFIX}/records", a(api.record)),
        web.get(f"{PREFIX}/records", a(api.records)),
        web.get(f"{PREFIX}/follow-ups", a(api.follow_ups)),
        web.post(f"{PREFIX}/follow-ups/{{follow_up_id}}/close", a(api.close_follow_up)),
        web.get(f"{PREFIX}/report", a(api.report)),
        web.get(f"{PREFIX}/feed.ics", a(api.feed)),
        web.get(f"{PREFIX}/audit", a(api.audit)),
    ]

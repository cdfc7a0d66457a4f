"""The round page off line: the sync endpoint the page's queue sends to, the page's script
(offline.js) and the service worker (offline-worker.js) that keeps the round page and its
scripts for when there is no network.

``POST /inspections/rounds/{id}/sync`` takes one queued round as JSON (``service``), from this
origin, carrying the session's form token (``csrf``, queued with it; a page opened again after
sign-in sends its new one). It answers JSON: 201 with the round when taken, 200 with the same
round when the key was taken before, 409 with who signed it and when if someone did
meanwhile, 401 (not a redirect) when nobody is signed in, so the queue waits for sign-in.

The worker is served from ``/inspections/``, so its scope is the duty pages under it (the
session cookie's path), with a policy of its own: it fetches from this server only.
"""

from __future__ import annotations

import hmac
import json
from importlib import resources
from typing import TYPE_CHECKING

from aiohttp import web

from monitor.inspections.errors import InspectionError, InvalidEntry, MalformedRequest, StoreError
from monitor.inspections.offline.service import SignedMeanwhile, as_json, parse_queued
from monitor.web.guard import require_same_origin

if TYPE_CHECKING:
    from monitor.inspections.web import DutyPages

__all__ = ["MAX_BODY", "WORKER_POLICY", "routes"]

#: A queued round is text: entries, notes and photo hashes (the photos go before it).
MAX_BODY = 256 * 1024
#: The worker's own Content-Security-Policy: it fetches from this server, nothing else.
WORKER_POLICY = "default-src 'none'; connect-src 'self'"
_FOLDER = resources.files("monitor") / "templates" / "inspections"
_SCRIPT = (_FOLDER / "offline.js").read_bytes()
_WORKER = (_FOLDER / "offline-worker.js").read_bytes()


def _refused(exc: InspectionError, duty: DutyPages) -> web.Response:
    body: dict[str, object] = {"error": str(exc)}
    headers = {}
    if isinstance(exc, InvalidEntry):
        body["problems"] = exc.problems
    if isinstance(exc, SignedMeanwhile):
        body["conflict"] = True
        body["round"] = as_json(duty.service, exc.record)
        body["signed_by_name"] = (
            duty.service.setup.roster.label(exc.record.signed_by) if exc.record.signed_by else None
        )
    if isinstance(exc, StoreError):
        headers["Retry-After"] = str(exc.retry_after)
    return web.json_response(body, status=exc.status, headers=headers)


def _json_error(status: int, text: str, **extra: object) -> web.Response:
    return web.json_response({"error": text, **extra}, status=status)


class SyncEndpoint:
    def __init__(self, duty: DutyPages) -> None:
        self.duty = duty
        self.service = duty.service

    async def sync(self, request: web.Request) -> web.Response:
        require_same_origin(request)
        round_id = request.match_info["round_id"]
        found = await self.duty.signed_in(request)
        if found is None:
            return _json_error(
                401,
                "登录已过期，请重新登录后发送 / signed out: sign in to send the queued round",
                sign_in=f"/inspections/login?next=/inspections/rounds/{round_id}",
            )
        person, session = found
        if request.content_type != "application/json":
            return _json_error(415, "expected application/json")
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _json_error(413, f"a queued round is at most {MAX_BODY // 1024} kB")
        try:
            raw = await request.content.read(MAX_BODY + 1)
            if len(raw) > MAX_BODY:
                return _json_error(413, f"a queued round is at most {MAX_BODY // 1024} kB")
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return _refused(MalformedRequest("the body is not JSON text"), self.duty)
        token = body.get("csrf") if isinstance(body, dict) else None
        if not isinstance(token, str) or not hmac.compare_digest(token, session.csrf):
            return _json_error(403, "stale or missing form token; reload the page")
        service = self.service
        try:
            queued = parse_queued(body)
            live = await service.live_for_round(round_id)
            record, before = await service.run(service.offline.take, person, round_id, queued, live)
        except InspectionError as exc:
            return _refused(exc, self.duty)
        status = 200 if before or queued.signed_at is None else 201
        return web.json_response(
            {"round": as_json(service, record), "replayed": before}, status=status
        )


def _script(body: bytes, **headers: str) -> web.Response:
    return web.Response(
        body=body,
        content_type="text/javascript",
        charset="utf-8",
        headers={"Cache-Control": "no-cache", **headers},
    )


async def script(request: web.Request) -> web.Response:
    return _script(_SCRIPT)


async def worker(request: web.Request) -> web.Response:
    return _script(_WORKER, **{"Content-Security-Policy": WORKER_POLICY})


def routes(duty: DutyPages) -> list[web.RouteDef]:
    endpoint = SyncEndpoint(duty)
    return [
        web.post("/inspections/rounds/{round_id}/sync", endpoint.sync),
        web.get("/inspections/offline.js", script),
        web.get("/inspections/offline-worker.js", worker),
    ]

"""Hostile request bodies to every inspection API endpoint that reads one, and to the duty
page's forms, over real HTTP into a real SQLite store: a clear 400 with a JSON reason, never a
500, nothing written, and the event loop keeps serving meanwhile."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import test_utils, web
from prometheus_client import CollectorRegistry

from monitor.inspections.service import InspectionService
from monitor.results import ResultStore
from tests.unit.inspections_fleet import TOKENS, SetClock, local, make_service, write_config

pytestmark = pytest.mark.integration

API = "/api/v1/inspections"
BODY_ENDPOINTS = [
    ("POST", f"{API}/rounds"),
    ("PATCH", f"{API}/rounds/r-1"),
    ("POST", f"{API}/rounds/r-1/sign"),
    ("POST", f"{API}/rounds/r-1/corrections"),
    ("POST", f"{API}/records"),
    ("POST", f"{API}/follow-ups/f-1/close"),
]
# A record the supervisor may sign, but for its note: before the decoder refused it, this one
# left a draft behind and answered 500 (the surrogate reached SQLite).
RECORD = (
    b'{"plan": "monthly-power", "target": "xingning", "items": {"condition": "yes", '
    b'"battery-voltage": {"value": 54.2, "note": "%s"}}}'
)
HOSTILE = {
    # The six characters \ud800 in the JSON text: valid JSON syntax, not a Unicode string.
    "lone-surrogate": (b'{"a": "\\ud800"}', "lone UTF-16 surrogate"),
    "lone-surrogate-in-a-note": (RECORD % b"\\udfff", "lone UTF-16 surrogate"),
    "surrogate-bytes": (b'{"a": "\xed\xa0\x80"}', "not UTF-8"),
    "200k-deep-arrays": (b"[" * 200_000 + b"]" * 200_000, "deeper than 32 levels"),
    # 1,000,001 bytes: under aiohttp's 1 MiB body limit (past it, 413).
    "200k-deep-objects": (b'{"":' * 200_000 + b"1" + b"}" * 200_000, "deeper than 32 levels"),
    "nan": (RECORD.replace(b"54.2", b"NaN") % b"", "NaN is not a JSON number"),
    "not-an-object": (b'["plan"]', "the body must be a JSON object"),
}
# Bounds for a loaded CI machine; the work itself takes milliseconds.
MAX_LOOP_STALL_S = 0.5
MAX_TOTAL_S = 30.0


@pytest.fixture
def service(tmp_path: Path) -> Iterator[InspectionService]:
    clock = SetClock(local(2028, 3, 3, 9, 0))
    service = make_service(write_config(tmp_path), clock, ResultStore(), CollectorRegistry())
    yield service
    service.store.close()


@pytest.fixture
async def client(service: InspectionService) -> AsyncIterator[test_utils.TestClient[Any, Any]]:
    app = web.Application()
    app.add_routes(service.routes())
    async with test_utils.TestClient(test_utils.TestServer(app)) as client:
        yield client


async def test_hostile_json_is_a_400_with_a_reason_and_the_loop_keeps_serving(
    client: test_utils.TestClient[Any, Any], service: InspectionService
) -> None:
    gaps: list[float] = []

    async def tick() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    answers: dict[tuple[str, str], tuple[int, str, str]] = {}
    started = time.monotonic()
    async with asyncio.TaskGroup() as group:
        ticker = group.create_task(tick())
        for name, (body, _) in HOSTILE.items():
            for method, path in BODY_ENDPOINTS:
                response = await client.request(
                    method, path, data=io.BytesIO(body), headers={
                        "Authorization": f"Bearer {TOKENS['zhaomin']}",
                        "Content-Type": "application/json",
                    },
                )  # fmt: skip
                payload = await response.json()
                answers[(name, f"{method} {path}")] = (
                    response.status, response.content_type, payload["error"]
                )  # fmt: skip
            # Between bodies: a cheap request is answered at once.
            calendar = await client.get(f"{API}/calendar", headers={
                "Authorization": f"Bearer {TOKENS['lina']}"})  # fmt: skip
            assert calendar.status == 200
        ticker.cancel()
    elapsed = time.monotonic() - started

    for (name, endpoint), (status, content_type, error) in answers.items():
        assert (status, content_type) == (400, "application/json"), (name, endpoint, error)
        assert HOSTILE[name][1] in error, (name, endpoint, error)
    assert len(answers) == len(HOSTILE) * len(BODY_ENDPOINTS)
    assert service.store.rounds() == []
    assert [e.action for e in service.store.audit_log()] == ["migrate"]
    assert elapsed < MAX_TOTAL_S
    assert max(gaps) < MAX_LOOP_STALL_S, f"event loop stalled {max(gaps):.3f}s"


async def test_a_form_that_is_not_utf8_is_a_400(
    client: test_utils.TestClient[Any, Any], service: InspectionService
) -> None:
    response = await client.post(
        "/inspections/login", data=b"token=\xed\xa0\x80\xff",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert response.status == 400
    assert await response.text() == "the form is not UTF-8 text"
    # Percent-escaped, the same bytes decode (with replacement characters) to a wrong token.
    escaped = await client.post(
        "/inspections/login", data=b"token=%ED%A0%80%FF",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert escaped.status == 401

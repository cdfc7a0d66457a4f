"""/api/v1/maintenance as a client (or a hostile page) calls it: the owner is the token's
person whatever the body says, every bad field is named in one answer, nothing is echoed back
unbounded, and a POST from another origin or without a token changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import test_utils, web

from monitor.config import load_config
from monitor.inspections.plans import build_setup
from monitor.inspections.service import InspectionService
from monitor.inspections.store import open_store
from tests.unit.inspections_fleet import TOKENS, SetClock, local, write_config
from tests.unit.test_maintenance import FakeSilences

PATH = "/api/v1/maintenance"


@pytest.fixture
def service(tmp_path: Path) -> InspectionService:
    setup = build_setup(load_config(write_config(tmp_path)))
    store = open_store(setup.store_url, setup.data_dir)
    return InspectionService(setup, store, SetClock(local(2028, 3, 1, 9)), silences=FakeSilences())


def bearer(person: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[person]}"}


async def call(
    service: InspectionService, method: str, path: str, **kwargs: Any
) -> tuple[int, Any]:
    app = web.Application()
    app.add_routes(service.routes())
    async with test_utils.TestClient(test_utils.TestServer(app)) as client:
        response = await client.request(method, path, **kwargs)
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body


async def test_the_owner_is_the_tokens_person_not_the_body(service: InspectionService) -> None:
    status, window = await call(
        service, "POST", PATH, headers=bearer("lina"),
        json={"site": "xixiangtang", "for": "2h", "reason": "割接 cut-over", "owner": "zhaomin"},
    )  # fmt: skip
    assert status == 201
    assert (window["owner"], window["target"], window["name"], window["silence"]) == (
        "lina", "xixiangtang", "西乡塘基站 Xixiangtang", "s1",
    )  # fmt: skip
    assert window["ends_at"] - window["starts_at"] == 7200
    assert window["silence_pending"] is None

    status, listed = await call(service, "GET", PATH, headers=bearer("wangqiang"))
    assert status == 200
    assert [w["id"] for w in listed["windows"]] == [window["id"]]
    status, ended = await call(
        service, "POST", f"{PATH}/{window['id']}/end", headers=bearer("wangqiang")
    )
    assert (status, ended["state"], ended["ended_by"]) == (200, "ended", "wangqiang")
    status, again = await call(
        service, "POST", f"{PATH}/{window['id']}/end", headers=bearer("wangqiang")
    )
    assert (status, again["error"]) == (409, f"maintenance window {window['id']} was already ended")


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        ({}, {"asset": "give one of asset or site", "for": "expected a duration such as 30s, "
              "5m or 1h (how long, such as 2h)", "reason": "须说明原因 / say why"}),
        ({"asset": "bs-xingning", "site": "xixiangtang", "for": 3600, "reason": "r"},
         {"asset": "give one of asset or site"}),
        ({"asset": ["bs-xingning"], "for": "1h", "reason": "r"},
         {"asset": "an id as monitor.yaml spells it"}),
        ({"site": "x" * 100_000, "for": "1h", "reason": "r"},
         {"site": "an id as monitor.yaml spells it"}),
        ({"site": "xixiangtang", "for": True, "reason": "r"},
         {"for": "expected a duration such as 30s, 5m or 1h (how long, such as 2h)"}),
        ({"site": "xixiangtang", "for": "30s", "reason": "r"}, {"for": "between 1m and 7d"}),
        ({"site": "xixiangtang", "for": "1h", "reason": "a\u0000b"},
         {"reason": "text without control characters"}),
        ({"site": "xixiangtang", "for": "1h", "reason": 42}, {"reason": "须说明原因 / say why"}),
    ],
)  # fmt: skip
async def test_every_bad_field_is_named_in_one_answer(
    service: InspectionService, body: dict[str, Any], problems: dict[str, str]
) -> None:
    status, answer = await call(service, "POST", PATH, headers=bearer("lina"), json=body)
    assert status == 422
    assert answer["problems"] == problems
    assert len(str(answer)) < 1000
    assert service.maintenance.windows(past=True) == []


async def test_no_token_or_another_origin_changes_nothing(service: InspectionService) -> None:
    body = {"site": "xixiangtang", "for": "1h", "reason": "r"}
    status, answer = await call(service, "POST", PATH, json=body)
    assert (status, answer["error"]) == (
        401, "a valid personal token is required (Authorization: Bearer …)",
    )  # fmt: skip
    status, _ = await call(
        service, "POST", PATH, json=body,
        headers={**bearer("lina"), "Origin": "https://evil.example"},
    )  # fmt: skip
    assert status == 403
    status, answer = await call(service, "GET", f"{PATH}/nope", headers=bearer("lina"))
    assert (status, answer["error"]) == (404, "no maintenance window nope")
    status, answer = await call(
        service, "POST", PATH, headers={**bearer("lina"), "Content-Type": "application/json"},
        data=b"[1, 2]",
    )  # fmt: skip
    assert (status, answer["error"]) == (400, "the body must be a JSON object")
    assert service.maintenance.windows(past=True) == []

"""The JSON API, the duty page and the CLI, each recording a round into a real SQLite store:
tokens refused when wrong or missing, the signer always the token's (or session's) person,
CSRF and cross-origin posts refused, and the CLI's --as rule."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import test_utils, web
from prometheus_client import CollectorRegistry

from monitor.cli import main
from monitor.inspections.service import InspectionService
from monitor.inspections.web import COOKIE
from monitor.results import ResultStore
from tests.helpers import free_tcp_port
from tests.unit.inspections_fleet import (
    TOKENS,
    SetClock,
    local,
    make_service,
    put_result,
    write_config,
)

pytestmark = pytest.mark.integration

API = "/api/v1/inspections"


def bearer(person: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[person]}"}


@pytest.fixture
def clock() -> SetClock:
    return SetClock(local(2028, 3, 3, 9, 0))


@pytest.fixture
def service(tmp_path: Path, clock: SetClock) -> Iterator[InspectionService]:
    results = ResultStore()
    for asset, site in (("bs-xingning", "xingning"), ("bs-xixiangtang", "xixiangtang")):
        put_result(results, asset, site=site, at=clock.t,
                   samples=[("trunkwatch_ups_battery_voltage_volts", {}, 54.0)])  # fmt: skip
    service = make_service(write_config(tmp_path), clock, results, CollectorRegistry())
    yield service
    service.store.close()


@pytest.fixture
async def client(service: InspectionService) -> AsyncIterator[test_utils.TestClient[Any, Any]]:
    app = web.Application()
    app.add_routes(service.routes())
    async with test_utils.TestClient(test_utils.TestServer(app)) as client:
        yield client


POWER_ITEMS = {"battery-voltage": {"value": 54.2}, "condition": "yes"}


# -- API -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-valid-token-0000000000"},
        {"Authorization": f"Basic {TOKENS['lina']}"},
        {"Authorization": "Bearer "},
    ],
    ids=["missing", "wrong", "not-bearer", "empty"],
)
async def test_api_refuses_a_missing_or_wrong_token(
    client: test_utils.TestClient[Any, Any], service: InspectionService, headers: dict[str, str]
) -> None:
    for method, path in (("GET", f"{API}/calendar"), ("POST", f"{API}/records")):
        response = await client.request(
            method, path, headers=headers,
            json={"plan": "monthly-power", "target": "xingning", "items": POWER_ITEMS},
        )  # fmt: skip
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        body = await response.text()
        assert "not-a-valid-token" not in body
    assert service.store.rounds() == []


async def test_api_signer_is_the_tokens_person_whatever_the_body_says(
    client: test_utils.TestClient[Any, Any], service: InspectionService
) -> None:
    response = await client.post(
        f"{API}/records",
        headers=bearer("lina"),
        json={
            "plan": "monthly-power",
            "target": "site:xingning",
            "items": POWER_ITEMS,
            "signed_by": "zhaomin",
            "opened_by": "zhaomin",
            "person": "zhaomin",
        },
    )
    assert response.status == 201, await response.text()
    record = await response.json()
    assert (record["signed_by"], record["opened_by"], record["state"]) == ("lina", "lina", "done")
    stored = service.store.get_round(record["id"])
    assert stored is not None
    assert stored.signed_by == "lina"
    assert [(e.actor, e.action) for e in service.store.audit_log()][-2:] == [
        ("lina", "open"), ("lina", "sign"),
    ]  # fmt: skip


async def test_api_round_life_cycle_draft_save_sign_correct(
    client: test_utils.TestClient[Any, Any], service: InspectionService
) -> None:
    opened = await client.post(f"{API}/rounds", headers=bearer("wangqiang"),
                               json={"plan": "yearly-earthing", "target": "hq"})  # fmt: skip
    assert opened.status == 201
    draft = await opened.json()
    assert (draft["signed_at"], draft["items"][0]["outcome"]) == (None, "pending")
    saved = await client.patch(f"{API}/rounds/{draft['id']}", headers=bearer("wangqiang"),
                               json={"items": {"earthing": "4.4"}})  # fmt: skip
    assert (await saved.json())["items"][0]["outcome"] == "fail"
    refused = await client.post(f"{API}/rounds/{draft['id']}/sign", headers=bearer("wangqiang"),
                                json={})  # fmt: skip
    assert refused.status == 422
    assert (await refused.json())["problems"] == {
        "earthing": "不合格项须填写说明 / a failed item needs a note"
    }
    signed = await client.post(
        f"{API}/rounds/{draft['id']}/sign", headers=bearer("wangqiang"),
        json={"items": {"earthing": {"value": "3.4", "note": ""}}},
    )  # fmt: skip
    assert signed.status == 200
    assert (await signed.json())["signed_by"] == "wangqiang"
    again = await client.post(f"{API}/rounds/{draft['id']}/sign", headers=bearer("wangqiang"))
    assert again.status == 409
    corrected = await client.post(
        f"{API}/rounds/{draft['id']}/corrections", headers=bearer("zhaomin"),
        json={"items": {"earthing": "3.1"}, "reason": "读数抄错", "signed_by": "wangqiang"},
    )  # fmt: skip
    assert corrected.status == 201
    correction = await corrected.json()
    assert (correction["corrects"], correction["signed_by"]) == (draft["id"], "zhaomin")
    original = await (await client.get(f"{API}/rounds/{draft['id']}",
                                       headers=bearer("lina"))).json()  # fmt: skip
    assert original["items"][0]["value"] == "3.4"


async def test_api_refuses_people_who_are_not_responsible(
    client: test_utils.TestClient[Any, Any],
) -> None:
    response = await client.post(
        f"{API}/records", headers=bearer("wangqiang"),
        json={"plan": "monthly-power", "target": "xingning", "items": POWER_ITEMS},
    )  # fmt: skip
    assert response.status == 403
    audit = await client.get(f"{API}/audit", headers=bearer("lina"))
    assert audit.status == 403
    audit = await client.get(f"{API}/audit", headers=bearer("zhaomin"))
    assert audit.status == 200
    unknown = await client.post(f"{API}/records", headers=bearer("zhaomin"),
                                json={"plan": "nope", "target": "hq"})  # fmt: skip
    assert unknown.status == 404
    bad = await client.post(f"{API}/records", headers=bearer("zhaomin"), data=b"{not json")
    assert bad.status == 400


async def test_api_calendar_report_and_feed(
    client: test_utils.TestClient[Any, Any], service: InspectionService, clock: SetClock
) -> None:
    calendar = await (await client.get(f"{API}/calendar", headers=bearer("wangqiang"))).json()
    assert [(r["plan"], r["target"], r["state"]) for r in calendar["rounds"]] == [
        ("yearly-earthing", "site:hq", "open"),
    ]
    everyone = await (await client.get(f"{API}/calendar?all=1", headers=bearer("lina"))).json()
    assert {r["plan"] for r in everyone["rounds"]} == {
        "daily-radio", "monthly-power", "quarterly-vswr", "yearly-earthing",
    }  # fmt: skip
    report = await client.get(f"{API}/report?month=2028-02&format=csv", headers=bearer("zhaomin"))
    assert report.status == 200
    assert report.headers["Content-Type"].startswith("text/csv")
    assert (await report.text()).startswith("\ufeffdimension,")
    bad_month = await client.get(f"{API}/report?month=2028-13", headers=bearer("zhaomin"))
    assert bad_month.status == 422
    feed = await client.get(f"{API}/feed.ics", headers=bearer("lina"))
    assert feed.status == 200
    assert "BEGIN:VCALENDAR" in await feed.text()


# -- the duty page ---------------------------------------------------------------------------


async def login(client: test_utils.TestClient[Any, Any], person: str) -> str:
    """Sign in through the form; returns the page's CSRF token."""
    response = await client.post("/inspections/login", data={"token": TOKENS[person]},
                                 allow_redirects=False)  # fmt: skip
    assert response.status == 303
    cookie = response.headers["Set-Cookie"]
    assert COOKIE in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    page = await client.get("/inspections")
    assert page.status == 200
    found = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert found is not None
    return found.group(1)


async def test_duty_page_sign_in_open_fill_and_sign(
    client: test_utils.TestClient[Any, Any], service: InspectionService
) -> None:
    first = await client.get("/inspections", allow_redirects=False)
    assert (first.status, first.headers["Location"]) == (303, "/inspections/login")
    wrong = await client.post("/inspections/login", data={"token": "nope-nope-nope-nope"})
    assert wrong.status == 401
    csrf = await login(client, "lina")
    page = await (await client.get("/inspections")).text()
    assert 'id="whoami">李娜 Li Na<' in page
    assert 'id="start-monthly-power--xingning"' in page
    # Without the form's token, or from another site, nothing happens.
    no_csrf = await client.post("/inspections/open", data={"plan": "monthly-power",
                                                           "target": "site:xingning"})  # fmt: skip
    assert no_csrf.status == 403
    cross = await client.post(
        "/inspections/open", headers={"Origin": "http://evil.example"},
        data={"plan": "monthly-power", "target": "site:xingning", "csrf": csrf},
    )  # fmt: skip
    assert cross.status == 403
    assert service.store.rounds() == []

    opened = await client.post(
        "/inspections/open", data={"plan": "monthly-power", "target": "site:xingning", "csrf": csrf},
        allow_redirects=False,
    )  # fmt: skip
    assert opened.status == 303
    round_url = opened.headers["Location"]
    form = await (await client.get(round_url)).text()
    for control in ('name="value.battery-voltage"', 'id="value-condition-yes"', 'id="sign"',
                    'id="note-condition"'):  # fmt: skip
        assert control in form
    # "No" without a note cannot be signed; the page says which item and keeps the input.
    refused = await client.post(round_url, data={
        "csrf": csrf, "action": "sign", "value.battery-voltage": "54.3",
        "value.condition": "no", "note.condition": "",
    })  # fmt: skip
    assert refused.status == 422
    text = await refused.text()
    assert 'id="problem-condition"' in text
    assert 'value="54.3"' in text
    signed = await client.post(round_url, allow_redirects=False, data={
        "csrf": csrf, "action": "sign", "value.battery-voltage": "54.3",
        "value.condition": "no", "note.condition": "2号电池鼓胀，已报修",
        "signed_by": "zhaomin",
    })  # fmt: skip
    assert signed.status == 303
    [record] = service.store.rounds(signed=True, with_items=True)
    assert (record.signed_by, record.failed_items) == ("lina", 1)
    assert record.item("condition").note == "2号电池鼓胀，已报修"  # type: ignore[union-attr]
    view = await (await client.get(round_url)).text()
    assert 'id="signed-by">李娜 Li Na<' in view
    assert 'id="sign"' not in view
    home = await (await client.get("/inspections")).text()
    assert 'data-plan="monthly-power" data-target="site:xingning" data-state="done"' in home
    assert "未关闭整改 Open follow-ups" in home


async def test_duty_page_sign_out_ends_the_session(
    client: test_utils.TestClient[Any, Any],
) -> None:
    csrf = await login(client, "zhaomin")
    out = await client.post("/inspections/logout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303
    again = await client.get("/inspections", allow_redirects=False)
    assert again.status == 303


# -- the CLI ---------------------------------------------------------------------------------


def test_cli_records_as_the_tokens_person_and_checks_as(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    dead = f"http://127.0.0.1:{free_tcp_port()}/metrics"
    base = ["inspections", "record", "-c", str(config), "yearly-earthing", "site:hq",
            "--set", "earthing=2.9", "--metrics-url", dead]  # fmt: skip
    monkeypatch.delenv("TRUNKWATCH_TOKEN", raising=False)
    assert main(base) == 2
    assert "TRUNKWATCH_TOKEN" in capsys.readouterr().err

    monkeypatch.setenv("TRUNKWATCH_TOKEN", TOKENS["wangqiang"])
    assert main([*base, "--as", "zhaomin"]) == 2
    err = capsys.readouterr().err
    assert "not zhaomin's" in err
    assert TOKENS["wangqiang"] not in err
    assert main([*base, "--as", "wangqiang", "--api", "http://127.0.0.1:1"]) == 2

    assert main([*base, "--as", "wangqiang"]) == 0
    out = capsys.readouterr().out
    assert "signed_by=wangqiang" in out
    assert re.search(r"earthing\s+pass\s+2.9", out)

    assert main(["inspections", "due", "-c", str(config), "--person", "wangqiang"]) == 0
    # The CLI runs on the real clock: on time before 8 May, late after.
    assert re.search(r"done(_late)?\s+yearly-earthing\s+site:hq", capsys.readouterr().out)
    assert main(["inspections", "list", "-c", str(config), "--json"]) == 0
    assert '"plan": "quarterly-vswr"' in capsys.readouterr().out
    report = tmp_path / "report.csv"
    assert main(["inspections", "report", "-c", str(config), "--format", "csv", "-o",
                 str(report)]) == 0  # fmt: skip
    assert report.read_text(encoding="utf-8").startswith("\ufeffdimension,")
    assert main(["inspections", "audit", "-c", str(config)]) == 0
    assert "audit log intact: 3 lines" in capsys.readouterr().out

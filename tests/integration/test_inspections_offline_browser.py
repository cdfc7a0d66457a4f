"""A round filled in and signed without a network, against the real daemon in headless
Chromium: the round page, opened once on line, is kept by its service worker; with the browser
off line (``context.set_offline``) it opens again, offers the live value of a reading tied to
a metric, takes the entries and the signature into the tablet's queue; back on line, the queue
sends it, and it arrives exactly once, with the time it was signed on the tablet and the time
it arrived, both on the page, in the JSON API and in the signature's audit line.

The daemon has no injected clock: the centre's zone puts "now" between 12:00 and 13:00, so the
daily plan (due 23:00) is open whatever the hour of the run.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import http_get
from tests.integration.browser import (  # noqa: F401
    TabletPage,
    fixture_chromium,
    fixture_tablet,
    listening_port,
    wait_for_probes,
)
from tests.integration.daemons import start_daemon
from tests.integration.test_inspections_browser import tap_and_load, zone_at_noon

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

TOKEN_ENV = "TRUNKWATCH_TEST_TOKEN_ZHANGWEI"

CONFIG = """\
centre:
  name: 应急联动中心 Emergency Linkage Centre
  timezone: {zone}
server:
  data_dir: {data_dir}
defaults:
  interval: 1s
  timeout: 1s
sites:
  - {{id: xingning, name: 兴宁区基站, name_en: Xingning}}
assets:
  - {{id: bs-xingning, name: 兴宁区基站 base station, site: xingning, system: radio,
      kind: tetra_bs, address: "127.0.0.1:{radio}", probes: [{{module: tcp}}]}}
inspections:
  roster:
    - {{id: zhangwei, name: 张伟, name_en: Zhang Wei, team: radio, token_env: {token_env}}}
  plans:
    - id: daily-bs
      title: 基站日检
      title_en: Daily base station check
      scope: {{per: asset, system: radio}}
      recurrence: daily
      due: {{time: "23:00"}}
      owner: zhangwei
      checklist:
        - {{id: link, kind: reading, title: 链路在线（1 在线）, title_en: Link up (1 = up),
            accept: {{ge: 1}}, live: {{metric: trunkwatch_probe_success, tolerance: 0.1}}}}
        - {{id: feeder, kind: confirmation, title: 馈线无进水, title_en: Feeder dry}}
"""


@dataclass(frozen=True)
class Daemon:
    base: str
    token: str
    store: Path


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    folder = tmp_path / "daemon"
    folder.mkdir()
    token = secrets.token_urlsafe(24)
    with listening_port() as radio:
        config = folder / "monitor.yaml"
        config.write_text(
            CONFIG.format(zone=zone_at_noon(time.time()), data_dir=folder / "data", radio=radio,
                          token_env=TOKEN_ENV),
            encoding="utf-8",
        )  # fmt: skip
        env = {TOKEN_ENV: token}
        with start_daemon(config, folder / "daemon.log", env=env, timeout=15) as (_, base):
            wait_for_probes(base)
            yield Daemon(base, token, folder / "data" / "inspections.sqlite3")


def api_round(daemon: Daemon, round_id: str) -> Any:
    status, body = http_get(
        f"{daemon.base}/api/v1/inspections/rounds/{round_id}",
        headers={"Authorization": f"Bearer {daemon.token}"},
    )
    assert status == 200, body
    return json.loads(body)


def test_a_round_signed_off_line_arrives_once_with_both_times(
    tablet: TabletPage, daemon: Daemon
) -> None:
    page = tablet.page
    page.goto(f"{daemon.base}/inspections")
    page.locator("#token").fill(daemon.token)
    tap_and_load(page, "#login")
    tap_and_load(page, "#start-daily-bs--bs-xingning")
    round_url = page.url
    round_id = round_url.rsplit("/", 1)[1]
    # The reading tied to a metric offers its live value and when it was measured.
    assert page.locator("#value-link").input_value() == "1"
    assert page.locator("#live-link").inner_text().startswith("实测 live 1 · ")
    assert page.locator("#network").get_attribute("data-state") == "online"
    # The service worker keeps the page for when there is no network.
    page.wait_for_selector("#network[data-kept=yes]", state="attached")

    tablet.context.set_offline(True)
    reloaded = page.reload()
    assert reloaded is not None and reloaded.from_service_worker
    assert page.url == round_url
    assert page.locator("#network").get_attribute("data-state") == "offline"
    page.locator("#value-feeder-yes").check()
    page.locator("#note-feeder").fill("离线巡检 filled in off line")
    before = time.time()
    page.locator("#sign").tap()
    page.wait_for_selector("#queued[data-state=waiting]")
    assert "在本机签字" in page.locator("#queued").inner_text()
    assert page.url == round_url, "nothing left the tablet"
    with sqlite3.connect(daemon.store) as db:
        assert db.execute("SELECT signed_at FROM rounds WHERE id = ?", (round_id,)).fetchone() == (
            None,
        )
    time.sleep(2.5)  # off line for a while: the arrival comes measurably after the signature

    with page.expect_navigation(url=round_url):
        tablet.context.set_offline(False)
    page.wait_for_selector("#received-at")
    body = api_round(daemon, round_id)
    signed_at, received_at = body["signed_at"], body["received_at"]
    assert body["signed_by"] == "zhangwei"
    assert body["signed_offline"] is True
    assert before - 1 <= signed_at <= before + 1
    assert received_at - signed_at >= 2.0
    assert [i["note"] for i in body["items"] if i["item"] == "feeder"] == [
        "离线巡检 filled in off line"
    ]
    link = next(i for i in body["items"] if i["item"] == "link")
    assert (link["value"], link["discrepancy"]) == ("1", False)

    # Exactly once: one signature, one submission, one audit line naming both times.
    with sqlite3.connect(daemon.store) as db:
        assert db.execute(
            "SELECT COUNT(*) FROM round_submissions WHERE round_id = ?", (round_id,)
        ).fetchone() == (1,)
        lines = db.execute(
            "SELECT detail FROM audit_log WHERE action = 'sign' AND round_id = ?", (round_id,)
        ).fetchall()
    assert len(lines) == 1
    detail = json.loads(lines[0][0])
    assert (detail["signed_at"], detail["received_at"]) == (signed_at, received_at)
    # The queue is empty: loading the page again sends nothing more.
    page.reload()
    assert (
        page.evaluate(
            """() => new Promise((resolve) => {
             const open = indexedDB.open("trunkwatch-offline", 1);
             open.onsuccess = () => {
               const all = open.result.transaction("rounds").objectStore("rounds").getAll();
               all.onsuccess = () => resolve(all.result.length);
             };
           })"""
        )
        == 0
    )
    assert page.locator("#signed-by").inner_text() == "张伟 Zhang Wei"
    assert tablet.errors == []


SEND = """async ([round, body]) => {
  const response = await fetch(`/inspections/rounds/${round}/sync`, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  return [response.status, await response.json()];
}"""


def test_the_sync_endpoint_wants_the_form_token_and_answers_a_retry_and_a_conflict(
    tablet: TabletPage, daemon: Daemon
) -> None:
    page = tablet.page
    page.goto(f"{daemon.base}/inspections")
    page.locator("#token").fill(daemon.token)
    tap_and_load(page, "#login")
    tap_and_load(page, "#start-daily-bs--bs-xingning")
    round_id = page.url.rsplit("/", 1)[1]
    csrf = page.locator("#round-form input[name=csrf]").input_value()
    body = {
        "key": "6f1c1f7e-3d2a-4b8e-9a51-0c2d3e4f5a6b",
        "filled_by": "zhangwei",
        "entries": {"link": {"value": "1"}, "feeder": {"value": "yes"}},
        "signed_at_client": time.time(),
    }
    status, answer = page.evaluate(SEND, [round_id, body])
    assert (status, answer["error"]) == (403, "stale or missing form token; reload the page")
    status, first = page.evaluate(SEND, [round_id, {**body, "csrf": csrf}])
    assert status == 201, first
    assert (first["replayed"], first["round"]["signed_offline"]) == (False, True)
    status, again = page.evaluate(SEND, [round_id, {**body, "csrf": csrf}])
    assert (status, again["replayed"], again["round"]) == (200, True, first["round"])
    other = {**body, "csrf": csrf, "key": "0b7a2c44-5e6f-4a1b-8c9d-e0f1a2b3c4d5"}
    status, conflict = page.evaluate(SEND, [round_id, other])
    assert (status, conflict["conflict"], conflict["signed_by_name"]) == (
        409,
        True,
        "张伟 Zhang Wei",
    )
    assert conflict["round"]["signed_at"] == first["round"]["signed_at"]
    tablet.context.clear_cookies()
    status, signed_out = page.evaluate(SEND, [round_id, {**body, "csrf": csrf}])
    assert (status, signed_out["sign_in"]) == (
        401,
        f"/inspections/login?next=/inspections/rounds/{round_id}",
    )
    with sqlite3.connect(daemon.store) as db:
        assert db.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'sign' AND round_id = ?", (round_id,)
        ).fetchone() == (1,)

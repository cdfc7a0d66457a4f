"""A duty technician records a daily round on the duty page in headless Chromium on a tablet:
signs in with a personal token, finds today's rounds (what is open now first, then what is
overdue, each due time in words), starts one, types a reading and answers a confirmation, is
refused while a failed item lacks a note, and signs. The record is then read back through the
JSON API and straight from the SQLite file. A failed item's follow-up left open past its due
date shows on the duty board among the active problems and on the duty page as overdue.

The daemon runs as a real process with TCP probes against loopback listeners, so the
automated item is judged from live results. It has no injected clock, so the centre's time
zone is chosen to put "now" between 12:00 and 13:00 local time: one plan (due 06:00, one hour
of grace, owed since its configured start) is then overdue and the other (due 23:00) open,
whatever the hour of the run.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from monitor.inspections.web import COOKIE
from tests.helpers import http_get, wait_until
from tests.integration.browser import (  # noqa: F401
    TABLET,
    TabletPage,
    fixture_chromium,
    fixture_tablet,
    listening_port,
    png_size,
    run_daemon,
    wait_for_probes,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

TOKEN_ENV = "TRUNKWATCH_TEST_TOKEN_ZHANGWEI"
#: A finger needs about 44 CSS pixels (WCAG 2.5.5); the pages promise large touch targets.
MIN_TOUCH_PX = 44

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
  - {{id: hq, name: 市应急联动中心, name_en: Centre}}
  - {{id: xingning, name: 兴宁基站, name_en: Xingning}}
  - {{id: xixiangtang, name: 西乡塘基站, name_en: Xixiangtang}}
assets:
  - {{id: bs-xingning, site: xingning, system: radio, kind: tetra_bs, address: "127.0.0.1:{radio1}",
      probes: [{{module: tcp}}]}}
  - {{id: bs-xixiangtang, site: xixiangtang, system: radio, kind: tetra_bs, address: "127.0.0.1:{radio2}",
      probes: [{{module: tcp}}]}}
  - {{id: e1-gw-110, site: hq, system: line, kind: e1_gateway, address: "127.0.0.1:{line}",
      probes: [{{module: tcp}}]}}
inspections:
  roster:
    - {{id: zhangwei, name: 张伟, name_en: Zhang Wei, team: radio, token_env: {token_env}}}
  plans:
    - id: daily-radio
      title: 无线集群系统日检
      title_en: Daily radio check
      scope: {{per: system, system: radio}}
      recurrence: daily
      due: {{time: "23:00"}}
      grace: 30m
      owner: zhangwei
      follow_up_within: 2s
      checklist:
        - {{id: reachable, kind: automated, title: 基站可达, title_en: Base stations reachable,
            check: "all trunkwatch_probe_success == 1"}}
        - {{id: cabinet-temp, kind: reading, title: 机柜温度, title_en: Cabinet temperature,
            unit: °C, accept: {{ge: 5, le: 35}}}}
        - {{id: test-call, kind: confirmation, title: 试呼正常, title_en: Test call}}
    # Its 06:00 round was due before the daemon first ran: owed only because its start says
    # so. Second on the page, after the round open now: it is overdue.
    - id: daily-line
      title: 有线通信系统日检
      title_en: Daily line check
      scope: {{per: system, system: line}}
      recurrence: daily
      start: 2020-01-01
      due: {{time: "06:00"}}
      grace: 1h
      owner: zhangwei
      checklist:
        - {{id: hotline, kind: confirmation, title: 专线试呼正常, title_en: Hotline test call}}
"""


def zone_at_noon(now: float) -> str:
    """A fixed-offset zone in which ``now`` is between 12:00 and 13:00 local time."""
    east = 12 - datetime.fromtimestamp(now, UTC).hour  # hours east of UTC: -11 … 12
    # The POSIX-style Etc zones count the other way: Etc/GMT-8 is eight hours east.
    return "Etc/GMT" if east == 0 else f"Etc/GMT{-east:+d}"


@dataclass(frozen=True)
class DutyDaemon:
    base: str
    token: str
    store: Path


@pytest.fixture
def duty(tmp_path: Path) -> Iterator[DutyDaemon]:
    """The daemon with the two daily plans and an empty store, its probes' first results
    already in."""
    folder = tmp_path / "duty"
    folder.mkdir()
    token = secrets.token_urlsafe(24)
    zone = zone_at_noon(time.time())
    with listening_port() as radio1, listening_port() as radio2, listening_port() as line:
        config = folder / "monitor.yaml"
        config.write_text(
            CONFIG.format(
                zone=zone, data_dir=folder / "data", token_env=TOKEN_ENV,
                radio1=radio1, radio2=radio2, line=line,
            ),
            encoding="utf-8",
        )  # fmt: skip
        with run_daemon(config, folder / "daemon.log", {TOKEN_ENV: token}) as base:
            states = wait_for_probes(base)
            assert states == {"bs-xingning": "up", "bs-xixiangtang": "up", "e1-gw-110": "up"}
            yield DutyDaemon(base, token, folder / "data" / "inspections.sqlite3")


def api(duty: DutyDaemon, path: str) -> Any:
    status, body = http_get(
        f"{duty.base}/api/v1/inspections{path}",
        headers={"Authorization": f"Bearer {duty.token}"},
    )
    assert status == 200, body
    return json.loads(body)


def tap_and_load(page: Page, selector: str) -> None:
    """Tap a control that submits a form or follows a link, and wait for the next page."""
    with page.expect_navigation():
        page.locator(selector).tap()


def sign_in(page: Page, duty: DutyDaemon, token: str) -> None:
    page.goto(f"{duty.base}/inspections")
    assert page.url == f"{duty.base}/inspections/login", "an unsigned visitor is sent to sign in"
    page.locator("#token").fill(token)
    tap_and_load(page, "#login")


def status_logged(url: str, status: str) -> str:
    """The console error Chromium logs for a document answered with an HTTP error status: a
    refusal the test provokes on purpose leaves exactly this one line."""
    return (
        f"console: Failed to load resource: the server responded with a status of {status} ({url})"
    )


def touch_height(page: Page, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not displayed"
    return float(box["height"])


def test_a_round_is_filled_in_and_signed_on_a_tablet(
    tablet: TabletPage, duty: DutyDaemon, tmp_path: Path
) -> None:
    page = tablet.page
    sign_in(page, duty, duty.token)

    assert page.url == f"{duty.base}/inspections"
    assert page.locator("#whoami").inner_text() == "张伟 Zhang Wei"
    session = next(c for c in tablet.context.cookies() if c["name"] == COOKIE)
    assert (session["httpOnly"], session["sameSite"], session["path"]) == (
        True,
        "Strict",
        "/inspections",
    )

    # Today's rounds, at noon in the centre's zone: the one open now first, then the overdue
    # one, each due time in words.
    assert re.match(r"\d{4}-\d\d-\d\d 1[23]:\d\d ", page.locator("p.meta").inner_text())
    cards = page.locator("section.card")
    assert [cards.nth(i).get_attribute("data-state") for i in range(cards.count())] == [
        "open",
        "overdue",
    ]
    assert cards.nth(0).get_attribute("id") == "round-daily-radio--radio"
    assert cards.nth(1).get_attribute("id") == "round-daily-line--line"
    assert "待检 open" in cards.nth(0).inner_text()
    assert page.locator("#when-daily-radio--radio").inner_text() == (
        "今天 23:00 截止 · due today 23:00"
    )
    overdue = cards.nth(1).inner_text()
    assert "逾期 overdue" in overdue
    assert cards.nth(1).locator("h2").inner_text() == "有线通信系统日检 Daily line check"
    assert "宽限 grace 1h" in overdue
    assert "责任人 owner 张伟 Zhang Wei" in overdue
    # Deadline 07:00, now 12:xx: five whole hours late; the due time itself on touch and hold.
    when = page.locator("#when-daily-line--line")
    assert when.inner_text() == "已逾期 5 小时 · 5 hours overdue"
    assert re.fullmatch(r"截止 due \d{4}-\d\d-\d\d 06:00", when.get_attribute("title") or "")
    # Touch-sized controls, and nothing wider than the screen.
    assert touch_height(page, "#start-daily-radio--radio") >= MIN_TOUCH_PX
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["viewport"]["width"]

    tap_and_load(page, "#start-daily-radio--radio")
    assert re.search(r"/inspections/rounds/[0-9a-f-]{36}$", page.url), page.url
    round_id = page.url.rsplit("/", 1)[1]
    assert page.locator("h1").inner_text() == "无线集群系统日检 Daily radio check · 日检 daily"
    # The automated item was judged from the live probe results of both base stations.
    reachable = page.locator("#item-reachable")
    assert reachable.get_attribute("data-outcome") == "pass"
    assert page.locator("#outcome-reachable").inner_text() == "合格 pass"
    assert "2/2 == 1" in reachable.inner_text()
    assert page.locator("#item-cabinet-temp legend").inner_text() == "机柜温度 Cabinet temperature"
    assert page.locator("#value-cabinet-temp").get_attribute("inputmode") == "decimal"
    assert "(°C) — 合格 accept ≥ 5, ≤ 35" in page.locator("#item-cabinet-temp").inner_text()

    # A reading in range, a "no" without a note: refused, with the reason beside the item.
    page.locator("#value-cabinet-temp").fill("24.5")
    page.locator("#value-test-call-no").tap()
    assert touch_height(page, "#sign") >= MIN_TOUCH_PX
    tap_and_load(page, "#sign")
    assert page.locator("#error").is_visible()
    assert page.locator("#error").inner_text() == "尚不能签字确认 / the round cannot be signed yet"
    problem = page.locator("#problem-test-call")
    assert problem.is_visible()
    assert problem.inner_text() == "不合格项须填写说明 / a failed item needs a note"
    assert page.locator("#item-test-call").get_attribute("class") == "invalid"
    assert page.locator("#problem-cabinet-temp").count() == 0
    # What was typed is still there, and nothing was signed.
    assert page.locator("#value-cabinet-temp").input_value() == "24.5"
    assert page.locator("#value-test-call-no").is_checked()
    assert api(duty, f"/rounds/{round_id}")["signed_at"] is None
    assert tablet.statuses[-1] == (page.url, 422)
    refusal = status_logged(page.url, "422 (Unprocessable Entity)")

    note = "3号手台无应答，已报修 handset 3 silent, reported"
    page.locator("#note-test-call").fill(note)
    tap_and_load(page, "#sign")
    assert page.url == f"{duty.base}/inspections?signed={round_id}"
    assert page.locator("#flash").inner_text() == "已签字确认 Signed and recorded."
    done = page.locator("#round-daily-radio--radio")
    assert done.get_attribute("data-state") == "done"
    assert "签字 signed" in done.inner_text()
    # The failed confirmation opened a follow-up (整改) with the note as written.
    assert note in page.locator("section[id^=follow-up-]").inner_text()

    tap_and_load(page, "#view-daily-radio--radio")
    assert page.url == f"{duty.base}/inspections/rounds/{round_id}"
    assert page.locator("#signed-by").inner_text() == "张伟 Zhang Wei"
    assert page.locator("#state").inner_text() == "已完成 done"
    assert page.locator("#value-cabinet-temp").is_disabled()
    assert page.locator("#value-cabinet-temp").input_value() == "24.5"
    assert page.locator("#note-test-call").input_value() == note

    # Bilingual throughout: Chinese first, English beside it.
    text = page.locator("body").inner_text()
    for chinese, english in (("签字确认", "Signed by"), ("今日巡检", "Today"), ("说明", "Note")):
        assert chinese in text
        assert english in text

    page.wait_for_load_state("networkidle")  # anything the page fetches late is judged too
    shot = tmp_path / "signed-round.png"
    page.screenshot(path=shot, full_page=True)
    width, height = png_size(shot.read_bytes())
    assert width == TABLET["viewport"]["width"]
    assert height >= TABLET["viewport"]["height"]
    # Nothing went wrong in the pages but the refusal the test provoked.
    assert tablet.errors == [refusal]

    record = api(duty, f"/rounds/{round_id}")
    assert (record["signed_by"], record["opened_by"], record["state"]) == (
        "zhangwei",
        "zhangwei",
        "done",
    )
    assert record["failed_items"] == 1
    items = {i["item"]: i for i in record["items"]}
    assert (items["reachable"]["outcome"], items["reachable"]["live_value"]) == ("pass", 1.0)
    assert (items["cabinet-temp"]["value"], items["cabinet-temp"]["number"]) == ("24.5", 24.5)
    assert items["cabinet-temp"]["outcome"] == "pass"
    assert (items["test-call"]["value"], items["test-call"]["outcome"]) == ("no", "fail")
    assert items["test-call"]["note"] == note
    follow_ups = api(duty, "/follow-ups?open=1")["follow_ups"]
    assert [(f["round"], f["item"], f["note"]) for f in follow_ups] == [
        (round_id, "test-call", note)
    ]

    # The store file holds the same signed record.
    raw = sqlite3.connect(f"file:{duty.store}?mode=ro", uri=True)
    try:
        row = raw.execute(
            "SELECT plan_id, target, signed_by, signed_at FROM rounds WHERE id = ?", (round_id,)
        ).fetchone()
        stored = {
            item: (value, text)
            for item, value, text in raw.execute(
                "SELECT item_id, value, note FROM round_items WHERE round_id = ?", (round_id,)
            )
        }
    finally:
        raw.close()
    assert row == ("daily-radio", "system:radio", "zhangwei", record["signed_at"])
    assert stored == {
        "reachable": (None, ""),
        "cabinet-temp": ("24.5", ""),
        "test-call": ("no", note),
    }


def test_a_wrong_token_is_refused_without_a_session(tablet: TabletPage, duty: DutyDaemon) -> None:
    page = tablet.page
    login = f"{duty.base}/inspections/login"
    page.goto(login)
    assert page.locator("legend").inner_text() == "个人令牌 Personal token"
    assert page.locator("#login").inner_text() == "登录 Sign in"
    assert page.locator("#token").get_attribute("type") == "password"
    assert touch_height(page, "#login") >= MIN_TOUCH_PX

    sign_in(page, duty, "not-the-token-" + secrets.token_urlsafe(12))
    assert page.url == login
    assert tablet.statuses[-1] == (login, 401)
    assert tablet.errors == [status_logged(login, "401 (Unauthorized)")]
    error = page.locator("#error")
    assert error.is_visible()
    assert error.inner_text() == "令牌无效 Unknown token"
    assert page.locator("#whoami").count() == 0
    assert tablet.cookies() == {}, "no session cookie, nor any other"
    # Still signed out: the duty page sends the visitor back to sign in.
    page.goto(f"{duty.base}/inspections")
    assert page.url == login


def test_a_round_signed_after_its_deadline_reads_done_late(
    tablet: TabletPage, duty: DutyDaemon
) -> None:
    page = tablet.page
    sign_in(page, duty, duty.token)
    tap_and_load(page, "#start-daily-line--line")
    round_id = page.url.rsplit("/", 1)[1]
    assert page.locator("#state").inner_text() == "逾期 overdue"
    page.locator("#value-hotline-yes").tap()
    tap_and_load(page, "#sign")

    card = page.locator("#round-daily-line--line")
    assert card.get_attribute("data-state") == "done_late"
    assert card.locator(".badge").inner_text() == "逾期完成 done late"
    # The record's own page says the same as the list and the API: late is late.
    tap_and_load(page, "#view-daily-line--line")
    assert page.locator("#state").inner_text() == "逾期完成 done late"
    assert page.locator("#state").get_attribute("class") == "badge done_late"
    assert api(duty, f"/rounds/{round_id}")["state"] == "done_late"
    assert tablet.errors == []


def test_a_follow_up_left_open_past_its_date_is_a_problem_on_the_board(
    tablet: TabletPage, duty: DutyDaemon, tmp_path: Path
) -> None:
    page = tablet.page
    sign_in(page, duty, duty.token)
    tap_and_load(page, "#start-daily-radio--radio")
    page.locator("#value-cabinet-temp").fill("24.5")
    page.locator("#value-test-call-no").tap()
    note = "3号手台无应答，已报修 handset 3 silent, reported"
    page.locator("#note-test-call").fill(note)
    tap_and_load(page, "#sign")
    [follow_up] = api(duty, "/follow-ups?open=1")["follow_ups"]
    assert follow_up["due_at"] == pytest.approx(follow_up["opened_at"] + 2)

    # Two seconds later it is overdue; the board lists it once the service has read it again.
    def listed() -> dict[str, Any] | None:
        status, body = http_get(f"{duty.base}/api/v1/board", timeout=2)
        assert status == 200, body
        found = [
            p for p in json.loads(body)["problems"] if p["alert"] == "InspectionFollowUpOverdue"
        ]
        return found[0] if found else None

    problem = wait_until(listed, 15.0, "the overdue follow-up on the board")
    assert problem["key"] == f"follow-up {follow_up['id']}"
    assert (problem["severity"], problem["since"]) == ("warning", follow_up["due_at"])
    assert problem["zh"] == "整改逾期：试呼正常（无线集群系统日检），责任人 张伟 Zhang Wei"
    assert problem["detail"] == note

    page.goto(f"{duty.base}/")
    item = page.locator('#problem-list li[data-alert="InspectionFollowUpOverdue"]')
    assert item.count() == 1
    text = item.inner_text()
    assert "整改逾期：试呼正常" in text
    assert "Follow-up overdue: Test call (Daily radio check), owner 张伟 Zhang Wei" in text
    assert item.locator("a.runbook").get_attribute("href") == (
        "/runbooks/InspectionFollowUpOverdue.md"
    )
    page.screenshot(path=tmp_path / "board-follow-up.png")

    # The duty page says the same of it.
    page.goto(f"{duty.base}/inspections")
    card = page.locator(f"#follow-up-{follow_up['id']}")
    assert card.get_attribute("data-state") == "overdue"
    assert re.fullmatch(
        r"已逾期 (\d+) 分钟 · \1 minutes? overdue", card.locator(".when").inner_text()
    )
    assert "责任人 owner 张伟 Zhang Wei" in card.inner_text()
    assert tablet.errors == []

"""A duty technician takes a site out of service on the planned maintenance page in headless
Chromium on a tablet, sees it blue on the duty board, and ends it early.

The daemon runs as a real process with TCP probes against loopback listeners; the window is
started and ended through the page's forms as the signed-in person, and read back from the
JSON API.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import http_get
from tests.integration.browser import (  # noqa: F401
    TABLET,
    TabletPage,
    fixture_chromium,
    fixture_tablet,
    listening_port,
    run_daemon,
    wait_for_probes,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

TOKEN_ENV = "TRUNKWATCH_TEST_TOKEN_LINA"
#: The board's blue, for a tile in maintenance (#1e88e5).
BLUE = "rgb(30, 136, 229)"
GREEN = "rgb(46, 125, 50)"

CONFIG = """\
centre:
  timezone: Asia/Shanghai
server:
  data_dir: {data_dir}
defaults:
  interval: 1s
  timeout: 1s
sites:
  - {{id: xingning, name: 兴宁基站, name_en: Xingning}}
  - {{id: xixiangtang, name: 西乡塘基站, name_en: Xixiangtang}}
assets:
  - {{id: bs-xingning, name: 兴宁基站主机, site: xingning, system: radio, kind: tetra_bs,
      address: "127.0.0.1:{port1}", probes: [{{module: tcp}}]}}
  - {{id: bs-xixiangtang, name: 西乡塘基站主机, site: xixiangtang, system: radio, kind: tetra_bs,
      address: "127.0.0.1:{port2}", probes: [{{module: tcp}}]}}
  - {{id: ups-xixiangtang, name: 西乡塘UPS, site: xixiangtang, system: power, kind: ups,
      address: "127.0.0.1:{port3}", probes: [{{module: tcp}}]}}
inspections:
  roster:
    - {{id: lina, name: 李娜, name_en: Li Na, team: radio, token_env: {token_env}}}
"""


@dataclass(frozen=True)
class Daemon:
    base: str
    token: str


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    token = secrets.token_urlsafe(24)
    with listening_port() as port1, listening_port() as port2, listening_port() as port3:
        config = tmp_path / "monitor.yaml"
        config.write_text(
            CONFIG.format(data_dir=tmp_path / "data", token_env=TOKEN_ENV,
                          port1=port1, port2=port2, port3=port3),
            encoding="utf-8",
        )  # fmt: skip
        with run_daemon(config, tmp_path / "daemon.log", {TOKEN_ENV: token}) as base:
            assert set(wait_for_probes(base).values()) == {"up"}
            yield Daemon(base, token)


def tap_and_load(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.locator(selector).tap()


def tile(page: Page, site: str, expected: tuple[str, str]) -> tuple[str, str]:
    """A board tile's state (its class) and left border colour: ``expected`` as soon as the
    tile shows it, else what it shows after 5 s. A live update may replace the tile while it
    is read (its colour then reads empty), so one reading is not enough."""
    deadline = time.monotonic() + 5.0
    while True:
        section = page.locator(f"#site-{site}")
        classes = set((section.get_attribute("class") or "").split()) - {"tile"}
        colour = section.evaluate("e => getComputedStyle(e).borderLeftColor")
        got = (" ".join(sorted(classes)), str(colour))
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_a_site_is_taken_out_of_service_on_the_page_shown_blue_and_ended_early(
    tablet: TabletPage, daemon: Daemon
) -> None:
    page = tablet.page
    page.goto(f"{daemon.base}/inspections/login")
    page.locator("#token").fill(daemon.token)
    tap_and_load(page, "#login")
    page.goto(f"{daemon.base}/inspections/maintenance")
    assert page.locator("h1").inner_text() == "计划检修 Planned maintenance"
    assert page.locator("#no-windows").is_visible()
    assert page.locator("#no-alertmanager").is_visible()  # this daemon has no alerting: section

    # A reason of blanks is refused by the server, the choices kept.
    page.locator("#target").select_option("site:xixiangtang")
    page.locator("#reason").fill("   ")
    tap_and_load(page, "#start")
    assert page.locator("#error").inner_text().startswith("计划检修无法登记")
    assert page.locator("fieldset.invalid legend").inner_text() == "原因 Reason"
    assert page.locator("#target").input_value() == "site:xixiangtang"

    page.locator("#for-4h").check()
    page.locator("#reason").fill("更换整流模块 rectifier swap")
    tap_and_load(page, "#start")
    assert "?started=" in page.url
    assert page.locator("#flash").inner_text() == "已登记计划检修 Maintenance window started."
    card = page.locator("section.card.maintenance")
    assert card.count() == 1
    assert (card.get_attribute("data-target"), card.get_attribute("data-state")) == (
        "site:xixiangtang", "active",
    )  # fmt: skip
    text = card.inner_text()
    assert "西乡塘基站 Xixiangtang" in text
    assert "负责人 owner 李娜 Li Na" in text
    assert "更换整流模块 rectifier swap" in text
    window_id = card.get_attribute("data-window")

    status, body = http_get(
        f"{daemon.base}/api/v1/maintenance",
        headers={"Authorization": f"Bearer {daemon.token}"},
    )
    assert status == 200
    [window] = json.loads(body)["windows"]
    assert (window["id"], window["owner"], window["ends_at"] - window["starts_at"]) == (
        window_id, "lina", 4 * 3600,
    )  # fmt: skip

    # The duty board: the whole site blue, each of its assets "维护 maintenance".
    page.goto(f"{daemon.base}/")
    assert tile(page, "xixiangtang", ("maintenance", BLUE)) == ("maintenance", BLUE)
    assert tile(page, "xingning", ("up", GREEN)) == ("up", GREEN)
    rows = page.locator("#site-xixiangtang li")
    assert [rows.nth(i).locator("em").inner_text() for i in range(rows.count())] == [
        "维护 maintenance", "维护 maintenance",
    ]  # fmt: skip
    assert rows.nth(0).get_attribute("title") == "更换整流模块 rectifier swap — lina"

    # The work is done early.
    page.goto(f"{daemon.base}/inspections/maintenance")
    tap_and_load(page, f"#end-{window_id}")
    assert page.locator("#flash").inner_text() == "计划检修已结束 Maintenance window ended."
    assert page.locator("#no-windows").is_visible()
    page.goto(f"{daemon.base}/")
    assert tile(page, "xixiangtang", ("up", GREEN)) == ("up", GREEN)
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["viewport"]["width"]
    refused = f"{daemon.base}/inspections/maintenance"
    assert tablet.errors == [
        "console: Failed to load resource: the server responded with a status of 422 "
        f"(Unprocessable Entity) ({refused})"
    ]

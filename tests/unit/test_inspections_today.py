"""Today's page (/inspections) on a fresh store of the shipped monitor.yaml: no round overdue
from before the plans existed; then, weeks later, what is open now first (due soonest), then
what is overdue (longest first), then what opens within the week, with when each is due in
words relative to now and teams by their names. The words themselves, and the ``teams:`` and
``start:`` settings, checked on their own."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import test_utils, web

from monitor.config import load_config
from monitor.inspections.calendar import RoundState
from monitor.inspections.plans import build_setup
from monitor.inspections.service import InspectionService
from monitor.inspections.store import open_store
from monitor.inspections.wording import day_and_time, due_words, opens_words, overdue_words
from tests.unit.inspections_fleet import ROSTER, SetClock, local
from tests.unit.test_inspections_config import plan, problems_of

SHIPPED = Path(__file__).parents[2] / "monitor.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")
TOKEN = "token-zhangwei-today-0123456789abcdef"
#: A Monday morning: the store first sees the shipped plans then.
FIRST_SEEN = local(2027, 3, 1, 8, 0)
CARD = re.compile(r'<section class="card (\w+)" id="round-([^"]+)"')


@pytest.fixture
def clock() -> SetClock:
    return SetClock(FIRST_SEEN)


@pytest.fixture
def service(
    tmp_path: Path, clock: SetClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InspectionService]:
    """The shipped configuration's inspections on an empty store under ``tmp_path``."""
    text = SHIPPED.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(\s*data_dir:).*$", rf"\1 {tmp_path / 'data'}", text, count=1)
    config = tmp_path / "monitor.yaml"
    config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("TRUNKWATCH_TOKEN_ZHANGWEI", TOKEN)
    setup = build_setup(load_config(config))
    service = InspectionService(setup, open_store(None, setup.data_dir), clock)
    yield service
    service.store.close()


@pytest.fixture
async def client(service: InspectionService) -> AsyncIterator[test_utils.TestClient[Any, Any]]:
    app = web.Application()
    app.add_routes(service.routes())
    async with test_utils.TestClient(test_utils.TestServer(app)) as client:
        response = await client.post("/inspections/login", data={"token": TOKEN})
        assert response.status == 200
        yield client


def cards(page: str) -> list[tuple[str, str]]:
    """(state, plan--target) of each round card, in page order."""
    return [(m.group(1), m.group(2)) for m in CARD.finditer(page)]


def card(page: str, ident: str) -> str:
    start = page.index(f'id="round-{ident}"')
    return page[start : page.index("</section>", start)]


async def test_a_fresh_store_owes_nothing_from_before_the_plans_existed(
    service: InspectionService, client: test_utils.TestClient[Any, Any]
) -> None:
    everyone = service.calendar()
    assert [e for e in everyone if e.state is RoundState.OVERDUE] == []
    # The first quarter's VSWR round (due 20 January) and the three-yearly battery test of
    # October 2025 are not owed: their next rounds are the plans' first.
    vswr = {e.period.key for e in everyone if e.plan.id == "quarterly-vswr"}
    battery = {e.period.key for e in everyone if e.plan.id == "battery-discharge"}
    assert (vswr, battery) == ({"2027-Q2"}, {"2028-10-01T00:00"})

    page = await (await client.get("/inspections")).text()
    shown = cards(page)
    assert shown[0] == ("open", "daily-radio--radio")
    assert {state for state, _ in shown} == {"open"}
    assert len(shown) == 13  # today's radio check, and March's battery check at 12 sites
    assert "今天 10:00 截止 · due today 10:00" in card(page, "daily-radio--radio")
    assert "周五 24:00 截止 · due Fri 24:00" in card(page, "monthly-power--binyang")
    # The quarterly and three-yearly rounds open later than a week from now: counted only.
    assert 'id="later">另有 24 项巡检在 7 天后开始' in page
    assert "24 more rounds open after the next 7 days" in page


async def test_today_lists_open_then_overdue_then_upcoming_in_words(
    service: InspectionService, client: test_utils.TestClient[Any, Any], clock: SetClock
) -> None:
    clock.set(2027, 3, 26, 8, 0)  # a Friday; nothing was signed in March
    await client.post("/inspections/login", data={"token": TOKEN})  # the session expired
    page = await (await client.get("/inspections")).text()
    shown = cards(page)
    sites = ["binyang", "hengzhou", "jiangnan", "liangqing", "longan", "mashan", "qingxiu",
             "shanglin", "wuming", "xingning", "xixiangtang", "yongning"]  # fmt: skip
    assert shown == [
        ("open", "daily-radio--radio"),
        *[("overdue", f"monthly-power--{site}") for site in sites],
        *[("upcoming", f"quarterly-vswr--bs-{site}") for site in sites],
    ]
    assert "今天 10:00 截止 · due today 10:00" in card(page, "daily-radio--radio")
    overdue = card(page, "monthly-power--binyang")
    assert "已逾期 19 天 · 19 days overdue" in overdue
    assert 'title="截止 due 2027-03-05 24:00"' in overdue
    upcoming = card(page, "quarterly-vswr--bs-binyang")
    assert (
        "周四 00:00 开始，2027-04-20 24:00 截止 · opens Thu 00:00, due 2027-04-20 24:00" in upcoming
    )
    # A team owns the VSWR checks: it goes by its name, not its id.
    assert "责任人 owner 无线组 Radio team" in upcoming
    assert "radio 组" not in page
    # The three-yearly battery test opens in 2028.
    assert 'id="later">另有 12 项巡检在 7 天后开始' in page
    # An RRULE period reads as the days it spans, not as a timestamp.
    assert "T00:00" not in page

    clock.set(2027, 3, 26, 11, 0)  # past 10:00, within the two hours of grace
    later = await (await client.get("/inspections")).text()
    assert "已过截止时间，宽限至 今天 12:00 · past due, grace until today 12:00" in card(
        later, "daily-radio--radio"
    )


def test_due_times_in_words_relative_to_now() -> None:
    now = local(2027, 3, 26, 8, 0)  # Friday
    assert (
        str(due_words(local(2027, 3, 26, 18, 0), now, SHANGHAI))
        == "今天 18:00 截止 due today 18:00"
    )
    # Midnight is the end of the day before.
    assert due_words(local(2027, 3, 27), now, SHANGHAI).en == "due today 24:00"
    assert due_words(local(2027, 3, 27, 10), now, SHANGHAI).zh == "明天 10:00 截止"
    assert due_words(local(2027, 3, 31, 9, 30), now, SHANGHAI).en == "due Wed 09:30"
    assert due_words(local(2027, 4, 2, 9, 30), now, SHANGHAI).en == "due 2027-04-02 09:30"
    assert day_and_time(local(2027, 3, 25, 12), now, SHANGHAI).zh == "昨天 12:00"
    assert opens_words(local(2027, 3, 27), now, SHANGHAI).en == "opens tomorrow 00:00"
    assert str(overdue_words(now - 2 * 86400 - 5, now)) == "已逾期 2 天 2 days overdue"
    assert overdue_words(now - 86400, now).en == "1 day overdue"
    assert overdue_words(now - 3 * 3600 - 59, now).zh == "已逾期 3 小时"
    assert overdue_words(now - 5, now).en == "1 minute overdue"


def test_teams_are_named_once_each_and_only_teams_of_the_roster(tmp_path: Path) -> None:
    teams = """\
  teams:
    - {id: radio, name: 无线组, name_en: Radio team}
    - {id: radio, name: 无线二组}
    - {id: power, name: 动力组}
"""
    problems = problems_of(tmp_path, ROSTER + teams + plan().removeprefix(ROSTER))
    assert [(p.field, p.reason) for p in problems] == [
        ("inspections.teams[1].id", "team 'radio' is named twice"),
        ("inspections.teams[2].id", "no one on the roster has team: power"),
    ]


@pytest.mark.parametrize(
    ("setting", "field", "reason"),
    [
        ("      start: someday\n", "inspections.plans[0].start", "Input should be a valid date"),
        ("      follow_up_within: '0'\n", "inspections.plans[0].follow_up_within",
         "Input should be greater than 0 seconds"),
        ("      starts: 2027-01-01\n", "inspections.plans[0].starts",
         "only an RRULE plan has a first occurrence; `start` says from when rounds are owed"),
    ],
)  # fmt: skip
def test_start_and_follow_up_settings_are_checked(
    tmp_path: Path, setting: str, field: str, reason: str
) -> None:
    text = plan().replace("      grace: 1d\n", "      grace: 1d\n" + setting)
    problems = problems_of(tmp_path, text)
    assert [p.field for p in problems] == [field]
    assert problems[0].reason.startswith(reason)

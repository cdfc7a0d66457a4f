"""The `inspections:` section: every problem reported as file:line: field: reason, and the
shipped demo plans valid for a fleet with every system."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from monitor.config import load_config
from monitor.core.sources import ConfigError, Problem
from monitor.inspections.config import validate_inspections
from monitor.inspections.plans import build_setup
from monitor.inspections.section import INSPECTIONS
from tests.unit.inspections_fleet import FLEET, ROSTER, write_config

SHIPPED = Path(__file__).parents[2] / "monitor.yaml"


def demo_plans_text() -> str:
    """The shipped configuration's ``inspections:`` section, as a document of its own."""
    section = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))["inspections"]
    return yaml.safe_dump({"inspections": section}, allow_unicode=True, sort_keys=False)


def problems_of(tmp_path: Path, inspections: str) -> list[Problem]:
    """What loading the configuration reports about its inspections section."""
    path = write_config(tmp_path, inspections=inspections)
    try:
        config = load_config(path)
    except ConfigError as exc:
        return exc.problems
    # A valid file: the section validates on its own the same way.
    _, problems = validate_inspections(
        INSPECTIONS.of(config),
        config.source,
        assets=config.assets,
        sites={s.id: s for s in config.sites},
        base=tmp_path,
    )
    return problems


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


PLAN = """\
  plans:
    - id: p1
      title: 测试
      scope: {scope}
      recurrence: {recurrence}
      due: {due}
      grace: {grace}
      owner: {owner}
      checklist:
        - {{id: a, kind: automated, title: 自动, check: "{check}"}}
        - {{id: a2, kind: confirmation, title: 确认}}
"""


def plan(**overrides: str) -> str:
    values = {
        "scope": "{per: asset, system: radio}",
        "recurrence": "monthly",
        "due": "{day: 5}",
        "grace": "1d",
        "owner": "zhangwei",
        "check": "all trunkwatch_probe_success == 1",
    }
    values.update(overrides)
    return ROSTER + PLAN.format(**values)


def test_a_valid_plan_has_no_problems(tmp_path: Path) -> None:
    assert problems_of(tmp_path, plan()) == []


@pytest.mark.parametrize(
    ("overrides", "needle", "field", "reason"),
    [
        ({"owner": "nobody"}, "owner: nobody", "inspections.plans[0].owner",
         "no person or team 'nobody' in inspections.roster"),
        ({"scope": "{per: asset, system: power}"}, "scope:", "inspections.plans[0].scope",
         "selects nothing to inspect"),
        ({"scope": "{per: site, site: [nowhere]}"}, "scope:",
         "inspections.plans[0].scope.site[0]", "no site 'nowhere'"),
        ({"check": "all trunkwatch_x <"}, "check:", "inspections.plans[0].checklist[0].check",
         "expected a number, found the end"),
        ({"due": "{day: 5, weekday: mon}"}, "due:", "inspections.plans[0].due.weekday",
         "not used by a monthly plan"),
        ({"due": "{time: '10:00'}"}, "due:", "inspections.plans[0].due",
         "a monthly plan needs `day`"),
        ({"recurrence": "quarterly", "due": "{month: 4, day: 1}"}, "due:",
         "inspections.plans[0].due.month", "the month within the quarter: 1, 2 or 3"),
        ({"recurrence": "fortnightly"}, "recurrence:", "inspections.plans[0].recurrence",
         "expected daily, weekly, monthly, quarterly, yearly or an RRULE (FREQ=…)"),
        ({"recurrence": "FREQ=DAILY;COUNT=5", "due": "{after: 2h}"}, "recurrence:",
         "inspections.plans[0].recurrence",
         "an inspection plan recurs without end: remove COUNT/UNTIL"),
        ({"recurrence": "FREQ=DAILY"}, "due:", "inspections.plans[0].due",
         "a plan with an RRULE is due `after` a duration"),
        ({"due": "{day: 31}", "grace": "1d"}, "grace:", "inspections.plans[0].grace",
         "due time plus grace reaches the end of period 2027-01: a round could never be "
         "overdue"),
        ({"recurrence": "daily", "due": "{time: '23:00'}", "grace": "2h"}, "grace:",
         "inspections.plans[0].grace",
         "due time plus grace reaches the end of period 2027-01-15: a round could never be "
         "overdue"),
        ({"grace": "soon"}, "grace:", "inspections.plans[0].grace",
         "expected a duration such as 30m, 2h or 1d"),
    ],
)  # fmt: skip
def test_plan_problems_name_the_line_and_field(
    tmp_path: Path, overrides: dict[str, str], needle: str, field: str, reason: str
) -> None:
    problems = problems_of(tmp_path, plan(**overrides))
    assert [(p.field, p.reason) for p in problems] == [(field, reason)]
    path = tmp_path / "monitor.yaml"
    assert problems[0].line == line_of(path, needle)
    assert problems[0].file == str(path)


def test_shape_errors_come_from_pydantic_with_clean_paths(tmp_path: Path) -> None:
    text = (
        ROSTER
        + """\
  plans:
    - id: p1
      title: 测试
      recurrence: daily
      due: {time: "10:00"}
      owner: zhangwei
      colour: red
      checklist:
        - {id: r, kind: reading, title: 读数}
"""
    )
    problems = problems_of(tmp_path, text)
    assert {(p.field, p.reason) for p in problems} == {
        ("inspections.plans[0].colour", "unknown key"),
        ("inspections.plans[0].checklist[0].accept", "Field required"),
    }
    path = tmp_path / "monitor.yaml"
    assert {p.line for p in problems} == {line_of(path, "colour:"), line_of(path, "- {id: r")}


def test_duplicates_and_token_sources(tmp_path: Path) -> None:
    text = """\
  roster:
    - {id: a, name: 甲, team: radio}
    - {id: a, name: 乙}
    - {id: radio, name: 丙}
    - {id: d, name: 丁, token_env: X_TOKEN, token_sha256: "%s"}
    - {id: e, name: 戊, token_file: missing.token}
  plans: []
""" % ("0" * 64)
    problems = problems_of(tmp_path, text)
    assert [(p.field, p.reason) for p in problems] == [
        ("inspections.roster[3]", "give one of token_env, token_file, token_sha256"),
    ]
    text = text.replace(f', token_env: X_TOKEN, token_sha256: "{"0" * 64}"', "")
    problems = problems_of(tmp_path, text)
    assert [(p.field, p.reason) for p in problems] == [
        ("inspections.roster[1].id", "duplicate person 'a'"),
        (
            "inspections.roster[4].token_file",
            f"cannot read secret file {tmp_path / 'missing.token'}: No such file or directory",
        ),
        ("inspections.roster[2].id", "'radio' is both a person and a team"),
    ]


def test_a_store_url_from_an_unset_variable_is_reported_without_a_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TW_TEST_DB_URL", raising=False)
    problems = problems_of(tmp_path, "  store: {url: '${TW_TEST_DB_URL}'}\n" + plan())
    assert [(p.field, p.reason) for p in problems] == [
        ("inspections.store.url", "environment variable TW_TEST_DB_URL is not set"),
    ]


def test_the_leader_interval_reaches_the_setup_and_must_be_positive(tmp_path: Path) -> None:
    path = write_config(tmp_path, inspections="  store: {leader_interval: 3s}\n" + plan())
    assert build_setup(load_config(path)).leader_interval == 3.0
    default = write_config(tmp_path, inspections=plan())
    assert build_setup(load_config(default)).leader_interval == 30.0
    problems = problems_of(tmp_path, "  store: {leader_interval: '0'}\n" + plan())
    assert [(p.field, p.reason) for p in problems] == [
        ("inspections.store.leader_interval", "Input should be greater than 0 seconds"),
    ]


def test_build_setup_raises_config_error_listing_the_problems(tmp_path: Path) -> None:
    path = write_config(tmp_path, inspections=plan(owner="nobody"))
    with pytest.raises(ConfigError) as caught:
        build_setup(load_config(path))
    assert [p.field for p in caught.value.problems] == ["inspections.plans[0].owner"]


def test_the_shipped_demo_plans_are_valid_for_a_fleet_of_every_system(tmp_path: Path) -> None:
    body = demo_plans_text()
    fleet = FLEET.format(data_dir=tmp_path / "data") + (
        "  - {id: srv-platform-1, site: hq, system: platform, kind: server, address: 127.0.0.1}\n"
    )
    path = tmp_path / "monitor.yaml"
    path.write_text(fleet + body, encoding="utf-8")
    config = load_config(path)
    setup = build_setup(config)
    assert list(setup.plans) == [
        "daily-radio", "daily-line", "daily-network", "daily-platform", "monthly-power",
        "monthly-room", "quarterly-vswr", "quarterly-aircon", "quarterly-generator",
        "yearly-earthing", "yearly-lightning", "battery-discharge",
    ]  # fmt: skip
    assert len(setup.roster.people) == 6
    assert {p.schedule.frequency.value for p in setup.plans.values()} == {
        "daily", "monthly", "quarterly", "yearly", "rrule",
    }  # fmt: skip
    assert [t.key for t in setup.plans["quarterly-vswr"].targets] == [
        "asset:bs-xingning", "asset:bs-xixiangtang",
    ]  # fmt: skip
    # Every metric alias is used by some check, and every check reads an alias, so the names
    # to align with the probe profiles are all in the one `metrics:` map.
    raw = INSPECTIONS.of(config) or {}
    aliases = set(raw["metrics"])
    used = {
        word[1:].split("{")[0]
        for p in raw["plans"]
        for item in p["checklist"]
        for word in (
            item.get("check", "") + " " + str(item.get("live", {}).get("metric", ""))
        ).split()
        if word.startswith("$")
    }
    assert used == aliases
    assert all(
        "$" in item["check"] for p in raw["plans"] for item in p["checklist"] if "check" in item
    )


def test_the_demo_plans_fit_the_shipped_demo_fleet(tmp_path: Path) -> None:
    config = load_config(SHIPPED)
    setup = build_setup(config)
    targets = {plan_id: len(plan.targets) for plan_id, plan in setup.plans.items()}
    assert targets["daily-radio"] == targets["daily-line"] == 1  # one round per system
    assert targets["quarterly-vswr"] == 12  # every base station
    assert targets["monthly-power"] == 12  # every base station site
    assert targets["quarterly-generator"] == 1  # the centre
    assert targets["yearly-earthing"] == 13  # every site


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: os.mkfifo(p), "not a regular file"),
        (lambda p: p.write_bytes(b"t" * (64 * 1024 + 1)), "larger than 64 KiB"),
        (lambda p: p.write_bytes(b"\xff\xfe-not-utf8-token-secret"), "is not UTF-8 text"),
    ],
    ids=["fifo", "huge", "not-utf8"],
)
def test_a_token_file_that_is_not_a_small_text_file_is_refused_without_its_content(
    tmp_path: Path, make: Callable[[Path], object], reason: str
) -> None:
    make(tmp_path / "zhang.token")
    text = """\
  roster:
    - {id: e, name: 戊, token_file: zhang.token}
  plans: []
"""
    problems = problems_of(tmp_path, text)
    assert [p.field for p in problems] == ["inspections.roster[0].token_file"]
    assert reason in problems[0].reason
    assert "ttt" not in str(problems[0])
    assert "not-utf8-token-secret" not in str(problems[0])

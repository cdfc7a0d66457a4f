"""A plan owes the rounds due from its start, and only those: a quarterly plan the store first
sees on 10 February 2028 owes nothing for the first quarter (due 20 January) — not overdue on
the duty page or in the metrics, not missed in the report or the shift log, not counted in
compliance — and its second quarter is due as any other. A configured ``start`` wins over
the first appearance; a plan added by a reload owes rounds from the reload; a restart keeps
the first appearance. Driven by a set clock over a real SQLite store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from monitor.config import load_config
from monitor.inspections.calendar import RoundState
from monitor.inspections.errors import Conflict, StoreUnavailable
from monitor.inspections.handover.shiftlog import collect
from monitor.inspections.handover.shifts import Shift
from monitor.inspections.ledger import CalendarEntry
from monitor.inspections.plans import build_setup
from monitor.inspections.report import monthly_report
from monitor.inspections.service import InspectionService
from tests.unit.inspections_fleet import (
    ROSTER,
    SHANGHAI,
    SetClock,
    local,
    make_service,
    write_config,
)

PLANS = """\
  plans:
    - id: quarterly-vswr
      title: 天馈驻波比季检
      scope: {per: asset, system: radio}
      recurrence: quarterly
      due: {month: 1, day: 20}
      grace: 2d
      owner: radio
      checklist:
        - {id: feeder, kind: confirmation, title: 馈线无进水}
    - id: monthly-power
      title: 蓄电池月检
      scope: {per: site, system: radio}
      recurrence: monthly
      due: {day: 5}
      grace: 1d
      owner: radio
      checklist:
        - {id: condition, kind: confirmation, title: 无鼓胀漏液}
    - id: daily-radio
      title: 无线集群系统日检
      scope: {per: system, system: radio}
      recurrence: daily
      due: {time: "10:00"}
      grace: 2h
      owner: zhangwei
      checklist:
        - {id: test-call, kind: confirmation, title: 试呼正常}
"""
#: The same quarterly plan, said to be in force since the start of 2028.
CONFIGURED = PLANS.replace(
    "      recurrence: quarterly\n", "      recurrence: quarterly\n      start: 2028-01-01\n"
)
LINE_CHECK = """\
    - id: daily-line
      title: 有线通信系统日检
      scope: {per: system, system: line}
      recurrence: daily
      due: {time: "10:00"}
      grace: 2h
      owner: wangqiang
      checklist:
        - {id: hotline, kind: confirmation, title: 专线试呼正常}
"""
VSWR = {"plan": "quarterly-vswr", "site": "xingning", "asset": "bs-xingning", "system": "radio",
        "owner": "radio"}  # fmt: skip


def rounds(service: InspectionService, plan: str) -> list[CalendarEntry]:
    return [e for e in service.calendar() if e.plan.id == plan]


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(f"trunkwatch_inspection_{name}", labels)


def test_a_plan_first_seen_mid_quarter_owes_nothing_for_that_quarter(tmp_path: Path) -> None:
    clock = SetClock(local(2028, 2, 10, 9, 0))
    registry = CollectorRegistry()
    service = make_service(write_config(tmp_path, inspections=ROSTER + PLANS), clock,
                           registry=registry)  # fmt: skip
    assert service.setup.plans["quarterly-vswr"].start == local(2028, 2, 10, 9, 0)

    # The first quarter's round was due 20 January, before the plan existed: the plan's
    # round is the second quarter's, still to come.
    [xingning, xixiangtang] = rounds(service, "quarterly-vswr")
    assert (xingning.period.key, xingning.state, xingning.due_at) == (
        "2028-Q2", RoundState.UPCOMING, local(2028, 4, 21),
    )  # fmt: skip
    assert xixiangtang.state is RoundState.UPCOMING
    assert sample(registry, "overdue", **VSWR) == 0
    assert sample(registry, "due_timestamp_seconds", **VSWR) == local(2028, 4, 21)
    # February's monthly round was due on the 5th: not owed either; the daily one at 10:00 is.
    assert {e.period.key for e in rounds(service, "monthly-power")} == {"2028-03"}
    [today] = rounds(service, "daily-radio")
    assert (today.period.key, today.state) == ("2028-02-10", RoundState.OPEN)
    # Nor can the first quarter's round be opened now: the plan's round opens in April.
    with pytest.raises(Conflict, match="尚未开始 / quarterly-vswr for 2028-Q2 opens at 2028-04-01"):
        service.open_round(service.person("zhangwei"), "quarterly-vswr", "bs-xingning")

    # Neither the report nor the compliance ratio counts the January round.
    january = monthly_report(service, "2028-01")
    assert [r.key for r in january.sections[2].rows] == []
    clock.set(2028, 2, 10, 12, 0)  # the daily round is now overdue: it was owed
    assert rounds(service, "daily-radio")[0].state is RoundState.OVERDUE
    assert sample(registry, "compliance_ratio", plan="daily-radio", owner="zhangwei") == 0.0
    assert sample(registry, "compliance_ratio", plan="quarterly-vswr", owner="radio") is None

    # The shift log of the day before the plan existed says nothing of the quarterly round
    # going overdue on 22 January.
    shift = Shift(
        datetime(2028, 1, 22, 20, tzinfo=SHANGHAI), datetime(2028, 1, 23, 8, tzinfo=SHANGHAI)
    )
    assert [e for e in collect(shift, clock.t, service.store, service.setup).entries
            if e.kind.startswith("inspection")] == []  # fmt: skip

    # The second quarter is due as any: overdue once its grace is over, oldest first on the page.
    clock.set(2028, 4, 23, 0, 0)
    assert [e.state for e in rounds(service, "quarterly-vswr")] == [RoundState.OVERDUE] * 2
    assert sample(registry, "overdue", **VSWR) == 1
    clock.set(2028, 4, 23, 9, 0)
    order = [(e.plan.id, e.state.value) for e in service.calendar(person="zhangwei")]
    assert order == [
        ("daily-radio", "open"),  # due today 10:00
        ("monthly-power", "overdue"), ("monthly-power", "overdue"),  # since 7 April
        ("quarterly-vswr", "overdue"), ("quarterly-vswr", "overdue"),  # since 23 April
    ]  # fmt: skip
    april = monthly_report(service, "2028-04")
    vswr = next(r for r in april.sections[2].rows if r.key == "quarterly-vswr")
    assert (vswr.overdue, vswr.due) == (2, 2)

    # A restart on the same store keeps when the plan first appeared.
    again = make_service(write_config(tmp_path, inspections=ROSTER + PLANS), clock)
    assert again.setup.plans["quarterly-vswr"].start == local(2028, 2, 10, 9, 0)
    assert again.due_between(local(2028, 1, 1), local(2028, 2, 1)) == []


def test_a_configured_start_wins_over_the_first_appearance(tmp_path: Path) -> None:
    clock = SetClock(local(2028, 2, 10, 9, 0))
    service = make_service(write_config(tmp_path, inspections=ROSTER + CONFIGURED), clock)
    assert service.setup.plans["quarterly-vswr"].start == local(2028, 1, 1)
    [xingning, _] = rounds(service, "quarterly-vswr")
    assert (xingning.period.key, xingning.state) == ("2028-Q1", RoundState.OVERDUE)
    # The other plans still owe rounds only from when the store first saw them.
    assert service.setup.plans["daily-radio"].start == local(2028, 2, 10, 9, 0)


def test_a_plan_added_by_a_reload_owes_rounds_from_the_reload(tmp_path: Path) -> None:
    clock = SetClock(local(2028, 2, 10, 9, 0))
    path = write_config(tmp_path, inspections=ROSTER + PLANS)
    service = make_service(path, clock)
    clock.set(2028, 2, 10, 13, 0)  # after today's 10:00 checks were due
    write_config(tmp_path, inspections=ROSTER + PLANS + LINE_CHECK)
    service.reconfigure(load_config(path))
    starts = {p.id: p.start for p in service.setup.plans.values()}
    assert starts["daily-radio"] == local(2028, 2, 10, 9, 0)
    assert starts["daily-line"] == local(2028, 2, 10, 13, 0)
    # Today's line check was due before the plan existed: tomorrow's is its first round.
    [line] = rounds(service, "daily-line")
    assert (line.period.key, line.state) == ("2028-02-11", RoundState.UPCOMING)
    [radio] = rounds(service, "daily-radio")
    assert (radio.period.key, radio.state) == ("2028-02-10", RoundState.OVERDUE)
    # A setup built without a store owes every round: only the service knows the starts.
    assert build_setup(load_config(path)).plans["daily-line"].start is None


def test_a_reload_while_the_store_cannot_be_written_keeps_the_starts_it_ran_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = SetClock(local(2028, 2, 10, 9, 0))
    path = write_config(tmp_path, inspections=ROSTER + PLANS)
    service = make_service(path, clock)

    def unavailable(plan_ids: object, at: float) -> dict[str, float]:
        raise StoreUnavailable("cannot reach the PostgreSQL inspection store: refused")

    monkeypatch.setattr(service.store, "plan_starts", unavailable)
    clock.set(2028, 2, 10, 13, 0)
    write_config(tmp_path, inspections=ROSTER + PLANS + LINE_CHECK)
    service.reconfigure(load_config(path))
    starts = {p.id: p.start for p in service.setup.plans.values()}
    assert starts["quarterly-vswr"] == local(2028, 2, 10, 9, 0)
    assert starts["daily-line"] == local(2028, 2, 10, 13, 0)
    assert "when the plans first appeared cannot be recorded" in caplog.text

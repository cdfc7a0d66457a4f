"""Shift handover (交接班) over a real SQLite store, with a clock that is set rather than waited
for: two shifts of a 08:00/20:00 rota, each with events injected at known times, and the
log, the signatures and the overdue status checked against exactly those events."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from monitor.config import load_config
from monitor.core.sources import ConfigError
from monitor.inspections.errors import Conflict, InvalidEntry, NotAllowed, NotFound
from monitor.inspections.handover.shiftlog import ShiftLog
from monitor.inspections.plans import build_setup
from monitor.inspections.service import InspectionService
from monitor.results import ResultStore
from tests.unit.inspections_fleet import (
    PLANS,
    ROSTER,
    SHANGHAI,
    SetClock,
    local,
    make_service,
    put_result,
    write_config,
)

#: A daily round of the lines due at 18:00 with no grace: overdue in the day shift, missed at
#: midnight in the night shift.
LINE_PLAN = """\
    - id: daily-line
      title: 有线通信日检
      scope: {per: system, system: line}
      recurrence: daily
      due: {time: "18:00"}
      owner: wangqiang
      checklist:
        - {id: hotline, kind: confirmation, title: 110 热线试呼}
"""
DUTY = """\
  duty:
    shifts: ["20:00", "08:00"]
    sign_from: 1h
    sign_within: 30m
    supervisor: zhaomin
"""


@pytest.fixture
def clock() -> SetClock:
    return SetClock(local(2028, 3, 1, 7, 30))


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def results() -> ResultStore:
    return ResultStore()


@pytest.fixture
def service(
    tmp_path: Path, clock: SetClock, results: ResultStore, registry: CollectorRegistry
) -> InspectionService:
    config = write_config(tmp_path, inspections=ROSTER + PLANS + LINE_PLAN + DUTY)
    service = make_service(config, clock, results, registry)
    service.handover.begin()  # as the daemon does when it starts: handovers are kept from now
    return service


def problem(asset: str, site: str, alert: str, since: float) -> dict[str, Any]:
    return {
        "key": f"{asset} {alert}",
        "asset": asset,
        "site": site,
        "alert": alert,
        "severity": "critical",
        "zh": f"{alert} 中文",
        "en": alert,
        "since": since,
    }


def lines(log: ShiftLog) -> list[tuple[str, str, str]]:
    """(local time, kind, asset or ref) of each line: what a test injected."""
    return [
        (
            f"{_hm(e.at)}",
            e.kind,
            e.ref.split(" ")[0]
            if e.kind.startswith("inspection")
            else e.asset or e.site or e.actor,
        )
        for e in log.entries
    ]


def _hm(t: float) -> str:
    from datetime import datetime

    return f"{datetime.fromtimestamp(t, SHANGHAI):%d %H:%M}"


def radio_up(results: ResultStore, at: float) -> None:
    for asset, site in (("bs-xingning", "xingning"), ("bs-xixiangtang", "xixiangtang")):
        put_result(results, asset, site=site, at=at)


def test_two_shifts_log_exactly_what_happened_and_are_handed_over_by_two_people(
    service: InspectionService, clock: SetClock, results: ResultStore, registry: CollectorRegistry
) -> None:
    handover = service.handover
    zhangwei, lina = service.person("zhangwei"), service.person("lina")
    wangqiang, zhaomin = service.person("wangqiang"), service.person("zhaomin")
    known = {"bs-xixiangtang", "bs-xingning", "e1-gw-110", "core-sw-1"}

    # -- the day shift, 03-01 08:00–20:00 ----------------------------------------------------
    clock.set(2028, 3, 1, 9, 0, 5)
    handover.observe(
        [problem("bs-xixiangtang", "xixiangtang", "SiteMainsFailure", local(2028, 3, 1, 9))], known
    )
    clock.set(2028, 3, 1, 9, 30)
    handover.observe([], known)  # mains back
    clock.set(2028, 3, 1, 10)
    service.maintenance.start("lina", "site", "xingning", 3600.0, "更换整流模块 rectifier swap")
    clock.set(2028, 3, 1, 10, 30)
    radio_up(results, clock.t)
    service.record(zhangwei, "daily-radio", "radio", {"test-call": {"value": "yes"}})
    clock.set(2028, 3, 1, 13)
    handover.write(zhangwei, "drill", "110 热线倒换演练 hotline failover drill", site="hq")
    clock.set(2028, 3, 1, 14)
    handover.reloaded([])
    clock.set(2028, 3, 1, 15)
    e1_down = problem("e1-gw-110", "hq", "E1LineDown", local(2028, 3, 1, 14, 59))
    handover.observe([e1_down], known)
    # A daemon that has just started knows no result of an asset yet: its fault stays open.
    clock.set(2028, 3, 1, 16)
    handover.observe([], set())

    day = handover.shift("current")
    assert (day.key, day.label, day.name()) == ("2028-03-01T08:00", "03-01 08:00–20:00",
                                                ("白班", "day shift"))  # fmt: skip

    # Too early to sign over: the shift runs until 20:00, signing opens at 19:00.
    clock.set(2028, 3, 1, 18, 30)
    with pytest.raises(Conflict, match="19:00"):
        handover.sign(zhangwei, "正常", "2028-03-01T08:00")
    clock.set(2028, 3, 1, 19, 30)
    with pytest.raises(InvalidEntry):
        handover.sign(zhangwei, "   ")
    signed = handover.sign(zhangwei, "E1 至 110 中继仍中断，已报运营商 E1 to 110 still down")
    assert signed.shift == "2028-03-01T08:00" and signed.outgoing == "zhangwei"

    log = handover.log(day)
    assert log.as_of == clock.t and not log.complete
    assert lines(log) == [
        ("01 09:00", "fault_raised", "bs-xixiangtang"),
        ("01 09:30", "fault_cleared", "bs-xixiangtang"),
        ("01 10:00", "maintenance_started", "xingning"),
        ("01 10:30", "inspection_done", "daily-radio"),
        ("01 11:00", "maintenance_ended", "xingning"),
        ("01 13:00", "drill", "hq"),
        ("01 14:00", "config_reload", "trunkwatch"),
        ("01 14:59", "fault_raised", "e1-gw-110"),
        ("01 18:00", "inspection_overdue", "daily-line"),
    ]
    cleared = log.entries[1]
    assert cleared.duration == 1800.0 and "30m00s" in cleared.en
    assert [f.asset for f in log.open_faults] == ["e1-gw-110"]
    assert log.counts["fault_raised"] == 2 and "inspection_missed" not in log.counts
    # The signature keeps the log as it stood, and its digest.
    assert signed.log == log.text() and signed.log_digest == log.digest()

    # The outgoing technician cannot also take over; someone else does.
    clock.set(2028, 3, 1, 20, 5)
    with pytest.raises(NotAllowed):
        handover.acknowledge(zhangwei)
    taken = handover.acknowledge(lina, "已知悉 noted")
    assert (taken.incoming, taken.complete) == ("lina", True)
    with pytest.raises(Conflict):
        handover.acknowledge(wangqiang)
    with pytest.raises(Conflict):
        handover.sign(lina, "again", "2028-03-01T08:00")

    # -- the night shift, 03-01 20:00 – 03-02 08:00 ------------------------------------------
    clock.set(2028, 3, 2, 2)
    handover.observe([], known)  # the E1 line is back
    clock.set(2028, 3, 2, 8, 20)
    night = handover.shift("previous")
    assert (night.key, night.name()) == ("2028-03-01T20:00", ("夜班", "night shift"))
    assert lines(handover.log(night)) == [
        ("02 00:00", "inspection_missed", "daily-line"),
        ("02 02:00", "fault_cleared", "e1-gw-110"),
    ]
    e1_cleared = handover.log(night).entries[1]
    assert e1_cleared.duration == local(2028, 3, 2, 2) - local(2028, 3, 1, 14, 59)
    assert handover.log(night).complete and handover.log(night).open_faults == ()

    # Not signed within 30 minutes of the change-over: overdue, to the supervisor.
    handover._refresh_status()
    assert (overdue(registry, "outgoing"), overdue(registry, "incoming")) == (0.0, 0.0)
    clock.set(2028, 3, 2, 8, 31)
    handover._refresh_status()
    assert (overdue(registry, "outgoing"), overdue(registry, "incoming")) == (1.0, 0.0)
    handover.sign(wangqiang, "无 none")
    assert (overdue(registry, "outgoing"), overdue(registry, "incoming")) == (0.0, 1.0)
    handover.acknowledge(zhaomin)
    assert (overdue(registry, "outgoing"), overdue(registry, "incoming")) == (0.0, 0.0)
    deadline = registry.get_sample_value(
        "trunkwatch_duty_handover_deadline_timestamp_seconds", {"shift": "2028-03-01T20:00"}
    )
    assert deadline == local(2028, 3, 2, 8, 30)

    # Every signature is in the audit chain, which still verifies.
    actions = [(a.actor, a.action) for a in service.store.audit_log() if "handover" in a.action]
    assert actions == [
        ("zhangwei", "handover_sign"),
        ("lina", "handover_acknowledge"),
        ("wangqiang", "handover_sign"),
        ("zhaomin", "handover_acknowledge"),
    ]
    assert service.store.verify_audit_chain() > 0


def overdue(registry: CollectorRegistry, stage: str) -> float | None:
    return registry.get_sample_value(
        "trunkwatch_duty_handover_overdue",
        {"shift": "2028-03-01T20:00", "stage": stage, "supervisor": "zhaomin"},
    )


def test_a_signed_handover_cannot_be_altered_even_in_the_database(
    service: InspectionService, clock: SetClock, tmp_path: Path
) -> None:
    clock.set(2028, 3, 1, 19, 45)
    service.handover.write(service.person("lina"), "note", "机房巡视正常 machine room normal")
    service.handover.sign(service.person("zhangwei"), "正常 all normal")
    db = sqlite3.connect(tmp_path / "data" / "inspections.sqlite3", isolation_level=None)
    for statement in (
        "UPDATE handovers SET outgoing_notes = 'forged'",
        "UPDATE handovers SET log = '{}'",
        "UPDATE handovers SET outgoing = 'lina'",
        "DELETE FROM handovers",
        "UPDATE duty_events SET text = 'x'",
    ):
        with pytest.raises(sqlite3.IntegrityError, match=r"handover|append-only"):
            db.execute(statement)
    # Once acknowledged, not even the acknowledgement changes.
    service.store.acknowledge_handover("2028-03-01T08:00", "lina", "", clock.t)
    with pytest.raises(Conflict):
        service.store.acknowledge_handover("2028-03-01T08:00", "wangqiang", "", clock.t)
    with pytest.raises(sqlite3.IntegrityError, match="only ever acknowledged, once"):
        db.execute("UPDATE handovers SET incoming = 'wangqiang'")
    db.close()


def test_no_handover_is_due_for_the_time_before_they_were_kept(
    service: InspectionService, clock: SetClock, registry: CollectorRegistry
) -> None:
    # Kept from 07:30 on 03-01: the night shift that ended at 08:00 is due, the one before
    # it (ended 02-29 20:00) never is, on the page, in the metrics or when signing.
    handover = service.handover
    clock.set(2028, 3, 1, 9)
    assert handover.to_hand_over().key == "2028-02-29T20:00"
    assert [s.key for s, _ in handover.recent()] == ["2028-02-29T20:00"]
    clock.set(2028, 3, 1, 21)
    handover._refresh_status()
    assert (
        registry.get_sample_value(
            "trunkwatch_duty_handover_overdue",
            {"shift": "2028-03-01T08:00", "stage": "outgoing", "supervisor": "zhaomin"},
        )
        == 1.0
    )
    assert [s.key for s, _ in handover.recent()] == ["2028-03-01T08:00", "2028-02-29T20:00"]
    # A centre that started keeping handovers at 21:00 would owe none yet.
    fresh = make_service(write_config(clock_dir(service), inspections=ROSTER + PLANS + DUTY),
                         clock, registry=CollectorRegistry())  # fmt: skip
    fresh.handover.begin()
    fresh.handover._refresh_status()
    assert fresh.handover.status is not None and not fresh.handover.status.overdue
    assert fresh.handover.recent() == []
    # A new rota is noted, and the time handovers are kept from stays the first one's.
    assert fresh.store.record_rota("09:00,21:00", clock.t + 60) == clock.t


def clock_dir(service: InspectionService) -> Path:
    """A folder of its own for a second centre's configuration and store."""
    folder = service.setup.data_dir.parent / "fresh"
    folder.mkdir(exist_ok=True)
    return folder


def test_shift_names_and_refusals(service: InspectionService, clock: SetClock) -> None:
    handover = service.handover
    clock.set(2028, 3, 1, 7, 59, 59)
    assert handover.shift().key == "2028-02-29T20:00"
    clock.set(2028, 3, 1, 8)
    assert handover.shift().key == "2028-03-01T08:00"
    with pytest.raises(InvalidEntry) as not_a_shift:
        handover.shift("2028-03-01T09:00")
    assert not_a_shift.value.problems == {
        "shift": "no shift begins at 2028-03-01T09:00 (shifts begin at 08:00, 20:00)"
    }
    with pytest.raises(NotFound):
        handover.shift("2028-03-01T20:00")  # not begun
    with pytest.raises(NotFound):
        handover.acknowledge(service.person("lina"))  # nothing signed
    with pytest.raises(InvalidEntry) as refused:
        handover.write(service.person("lina"), "config_reload", "", asset="nowhere")
    assert set(refused.value.problems) == {"kind", "text", "asset"}


def test_duty_section_errors_name_the_line(tmp_path: Path) -> None:
    bad = """\
  duty:
    shifts: ["08:00", "08:00", "25:00"]
    supervisor: nobody
"""
    path = write_config(tmp_path, inspections=ROSTER + PLANS + bad)
    with pytest.raises(ConfigError) as refused:
        build_setup(load_config(path))
    text = str(refused.value)
    assert "monitor.yaml:" in text and "shifts" in text
    fixed = bad.replace(', "25:00"', "")
    path = write_config(tmp_path, inspections=ROSTER + PLANS + fixed)
    with pytest.raises(ConfigError) as refused:
        build_setup(load_config(path))
    messages = [str(p) for p in refused.value.problems]
    assert any("shift 08:00 is given twice" in m for m in messages)
    assert any("'nobody' is neither a person nor a team" in m for m in messages)

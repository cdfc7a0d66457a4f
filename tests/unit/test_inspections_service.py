"""The inspection service over a real SQLite store, driven by an injected clock across day,
quarter and year boundaries in Asia/Shanghai: calendar states, late completion, missed
periods, sign-off rules, corrections, follow-ups, metrics, the report and the feed.
Nothing here sleeps: the clock is moved."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from monitor.core.clock import ManualClock
from monitor.inspections.errors import Conflict, InvalidEntry, NotAllowed, RecordImmutable
from monitor.inspections.feed import render_feed
from monitor.inspections.ledger import CalendarEntry
from monitor.inspections.report import monthly_report, render_csv, render_html
from monitor.inspections.service import InspectionService
from monitor.results import ResultStore
from tests.unit.inspections_fleet import (
    SetClock,
    local,
    make_service,
    put_result,
    radio_up,
    write_config,
)

Labels = dict[str, str]


@pytest.fixture
def results() -> ResultStore:
    return ResultStore()


@pytest.fixture
def clock() -> SetClock:
    return SetClock(local(2028, 2, 28, 8))


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def service(
    tmp_path: Path, clock: SetClock, results: ResultStore, registry: CollectorRegistry
) -> InspectionService:
    return make_service(write_config(tmp_path), clock, results, registry)


def entry(service: InspectionService, plan: str, target: str) -> CalendarEntry:
    return next(e for e in service.calendar() if e.plan.id == plan and e.target.key == target)


def state(service: InspectionService, plan: str, target: str) -> str:
    return entry(service, plan, target).state.value


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(f"trunkwatch_inspection_{name}", labels)


RADIO: Labels = {"plan": "daily-radio", "site": "", "asset": "", "system": "radio",
                 "owner": "zhangwei"}  # fmt: skip


async def test_daily_round_walks_open_overdue_done_late_then_missed_across_midnight(
    tmp_path: Path, results: ResultStore, registry: CollectorRegistry
) -> None:
    clock = ManualClock(wall=local(2028, 2, 28, 8))
    service = make_service(write_config(tmp_path), clock, results, registry)  # type: ignore[arg-type]
    zhangwei = service.person("zhangwei")

    assert state(service, "daily-radio", "system:radio") == "open"
    assert sample(registry, "due_timestamp_seconds", **RADIO) == local(2028, 2, 28, 10)
    assert sample(registry, "deadline_timestamp_seconds", **RADIO) == local(2028, 2, 28, 12)
    assert sample(registry, "overdue", **RADIO) == 0
    assert sample(registry, "last_completed_timestamp_seconds", **RADIO) == 0

    await clock.advance(4 * 3600 - 1)  # 11:59:59, inside the grace period
    assert state(service, "daily-radio", "system:radio") == "open"
    await clock.advance(1)  # 12:00
    assert state(service, "daily-radio", "system:radio") == "overdue"
    assert sample(registry, "overdue", **RADIO) == 1
    assert sample(registry, "state", **RADIO, state="overdue") == 1
    assert sample(registry, "state", **RADIO, state="open") == 0

    await clock.advance(1800)  # 12:30: done late
    radio_up(results, clock.time())
    record = service.record(zhangwei, "daily-radio", "system:radio", {"test-call": {"value": "是"}})
    assert (record.signed_by, record.signed_at, record.failed_items) == (
        "zhangwei", local(2028, 2, 28, 12, 30), 0,
    )  # fmt: skip
    assert record.item("reachable").outcome.value == "pass"  # type: ignore[union-attr]
    assert state(service, "daily-radio", "system:radio") == "done_late"
    assert sample(registry, "overdue", **RADIO) == 0
    assert sample(registry, "last_completed_timestamp_seconds", **RADIO) == local(
        2028, 2, 28, 12, 30
    )

    await clock.advance(11.5 * 3600)  # 2028-02-29 00:00: the leap day's round opens
    leap = entry(service, "daily-radio", "system:radio")
    assert (leap.period.key, leap.state.value) == ("2028-02-29", "open")
    assert sample(registry, "due_timestamp_seconds", **RADIO) == local(2028, 2, 29, 10)

    await clock.advance(24 * 3600)  # 2028-03-01 00:00: the leap day was missed
    missed = service.due_between(local(2028, 2, 29), local(2028, 3, 1))
    assert [(e.period.key, e.state.value) for e in missed if e.plan.id == "daily-radio"] == [
        ("2028-02-29", "missed"),
    ]
    assert state(service, "daily-radio", "system:radio") == "open"


def test_signing_within_grace_is_done_and_counts_as_compliant(
    service: InspectionService, clock: SetClock, results: ResultStore, registry: CollectorRegistry
) -> None:
    clock.set(2028, 2, 27, 11, 0)
    radio_up(results, clock.t)
    service.record(service.person("lina"), "daily-radio", "radio", {"test-call": {"value": "yes"}})
    assert state(service, "daily-radio", "system:radio") == "done"
    clock.set(2028, 2, 29, 23, 0)
    # February so far: the 27th on time; 1st-26th and 28th missed; the 29th overdue.
    compliance = sample(registry, "compliance_ratio", plan="daily-radio", owner="zhangwei")
    assert compliance == pytest.approx(1 / 29)


def test_quarter_and_year_boundaries_switch_periods_at_local_midnight(
    service: InspectionService, clock: SetClock, results: ResultStore, registry: CollectorRegistry
) -> None:
    xingning = {"plan": "quarterly-vswr", "site": "xingning", "asset": "bs-xingning",
              "system": "radio", "owner": "radio"}  # fmt: skip
    xixiangtang = {**xingning, "site": "xixiangtang", "asset": "bs-xixiangtang"}
    clock.set(2027, 12, 31, 23, 59, 59)
    q4 = entry(service, "quarterly-vswr", "asset:bs-xingning")
    assert (q4.period.key, q4.state.value) == ("2027-Q4", "overdue")
    clock.set(2028, 1, 1, 0, 0, 0)
    q1 = entry(service, "quarterly-vswr", "asset:bs-xingning")
    assert (q1.period.key, q1.state.value) == ("2028-Q1", "open")
    assert sample(registry, "due_timestamp_seconds", **xingning) == local(2028, 1, 21)

    clock.set(2028, 1, 22, 23, 0)  # due on the 21st, 2 days of grace: still on time
    radio_up(results, clock.t)
    service.record(service.person("zhangwei"), "quarterly-vswr", "bs-xingning",
                   {"feeder": {"value": "yes"}})  # fmt: skip
    clock.set(2028, 1, 23, 0, 0)
    assert state(service, "quarterly-vswr", "asset:bs-xingning") == "done"
    assert state(service, "quarterly-vswr", "asset:bs-xixiangtang") == "overdue"
    assert sample(registry, "overdue", **xingning) == 0
    assert sample(registry, "overdue", **xixiangtang) == 1

    clock.set(2028, 4, 1, 0, 0)
    q1_rounds = service.due_between(local(2028, 1, 1), local(2028, 2, 1))
    assert {(e.target.asset, e.state.value) for e in q1_rounds
            if e.plan.id == "quarterly-vswr"} == {("bs-xingning", "done"), ("bs-xixiangtang", "missed")}  # fmt: skip


def test_failed_reading_needs_a_note_opens_a_follow_up_and_is_exported(
    service: InspectionService, clock: SetClock, registry: CollectorRegistry
) -> None:
    labels = {"plan": "yearly-earthing", "site": "hq", "asset": "", "system": "",
              "owner": "wangqiang"}  # fmt: skip
    clock.set(2028, 5, 8, 0, 0)  # due 30 April 24:00 + 7 days
    assert state(service, "yearly-earthing", "site:hq") == "overdue"
    assert sample(registry, "overdue", **labels) == 1
    wangqiang = service.person("wangqiang")
    clock.set(2028, 6, 1, 9, 0)
    with pytest.raises(InvalidEntry) as caught:
        service.record(wangqiang, "yearly-earthing", "hq", {"earthing": {"value": "4.5"}})
    assert caught.value.problems == {"earthing": "不合格项须填写说明 / a failed item needs a note"}
    record = service.record(
        wangqiang, "yearly-earthing", "hq",
        {"earthing": {"value": "4.5", "note": "接地极锈蚀，已报修"}},
    )  # fmt: skip
    assert (record.failed_items, record.item("earthing").outcome.value) == (1, "fail")  # type: ignore[union-attr]
    assert state(service, "yearly-earthing", "site:hq") == "done_late"
    assert sample(registry, "failed_items", **labels) == 1
    assert sample(registry, "follow_ups_open", **labels) == 1
    [follow_up] = service.store.follow_ups(open_only=True)
    assert (follow_up.item_id, follow_up.note) == ("earthing", "接地极锈蚀，已报修")
    with pytest.raises(NotAllowed):
        service.close_follow_up(service.person("lina"), follow_up.id, "done")
    service.close_follow_up(service.person("zhaomin"), follow_up.id, "更换接地极后复测 2.6 Ω")
    assert sample(registry, "follow_ups_open", **labels) == 0


def test_only_owner_deputy_team_or_supervisor_may_sign(
    service: InspectionService, clock: SetClock, results: ResultStore
) -> None:
    clock.set(2028, 3, 3, 9, 0)
    radio_up(results, clock.t)
    items = {"battery-voltage": {"value": "54.1"}, "condition": {"value": "yes"}}
    with pytest.raises(NotAllowed):
        service.record(service.person("wangqiang"), "monthly-power", "xingning", items)
    by_team = service.record(service.person("lina"), "monthly-power", "xingning", items)
    by_supervisor = service.record(service.person("zhaomin"), "monthly-power", "xixiangtang", items)
    assert (by_team.signed_by, by_supervisor.signed_by) == ("lina", "zhaomin")


def test_reading_off_the_live_value_is_a_discrepancy_in_the_record_and_metrics(
    service: InspectionService, clock: SetClock, results: ResultStore, registry: CollectorRegistry
) -> None:
    clock.set(2028, 3, 3, 9, 0)
    radio_up(results, clock.t)  # live battery voltage 54.0 V
    record = service.record(
        service.person("lina"), "monthly-power", "site:xingning",
        {"battery-voltage": {"value": "52.6"}, "condition": {"value": "yes"}},
    )  # fmt: skip
    item = record.item("battery-voltage")
    assert item is not None
    assert (item.outcome.value, item.discrepancy, item.live_value) == ("pass", True, 54.0)
    assert record.discrepancies == 1
    labels = {"plan": "monthly-power", "site": "xingning", "asset": "", "system": "",
              "owner": "radio"}  # fmt: skip
    assert sample(registry, "discrepancies", **labels) == 1


def test_a_reading_saved_in_a_draft_is_checked_against_the_live_value_at_sign_off(
    service: InspectionService, clock: SetClock, results: ResultStore
) -> None:
    clock.set(2028, 3, 3, 9, 0)
    lina = service.person("lina")
    draft = service.open_round(lina, "monthly-power", "site:xingning")
    saved = service.save(lina, draft.id, {"battery-voltage": {"value": "52.6"}})
    assert saved.item("battery-voltage").discrepancy is False  # type: ignore[union-attr]
    radio_up(results, clock.t)  # live 54.0 V from now on
    signed = service.save(lina, draft.id, {"condition": {"value": "yes"}}, sign=True)
    item = signed.item("battery-voltage")
    assert item is not None
    assert (item.value, item.discrepancy, item.live_value) == ("52.6", True, 54.0)


def test_automated_items_are_evaluated_at_open_and_again_at_sign_off(
    service: InspectionService, clock: SetClock, results: ResultStore
) -> None:
    clock.set(2028, 2, 28, 8, 0)
    zhangwei = service.person("zhangwei")
    draft = service.open_round(zhangwei, "daily-radio", "system:radio")
    assert draft.item("reachable").outcome.value == "no_data"  # type: ignore[union-attr]
    radio_up(results, clock.t)
    put_result(
        results, "bs-xixiangtang", site="xixiangtang", success=False, at=clock.t, probe="tcp"
    )
    clock.set(2028, 2, 28, 9, 0)
    with pytest.raises(InvalidEntry) as caught:
        service.save(zhangwei, draft.id, {"test-call": {"value": "yes"}}, sign=True)
    assert caught.value.problems == {"reachable": "不合格项须填写说明 / a failed item needs a note"}
    signed = service.save(
        zhangwei, draft.id,
        {"test-call": {"value": "yes"}, "reachable": {"note": "西乡塘基站 TCP 不通，已报修"}},
        sign=True,
    )  # fmt: skip
    reachable = signed.item("reachable")
    assert reachable is not None
    assert reachable.outcome.value == "fail"
    assert "asset=bs-xixiangtang" in reachable.detail
    assert reachable.evaluated_at == local(2028, 2, 28, 9)


def test_a_round_is_one_draft_per_period_and_signed_records_are_immutable(
    service: InspectionService, clock: SetClock, results: ResultStore
) -> None:
    clock.set(2028, 2, 28, 8, 0)
    radio_up(results, clock.t)
    zhangwei = service.person("zhangwei")
    first = service.open_round(zhangwei, "daily-radio", "system:radio")
    again = service.open_round(service.person("lina"), "daily-radio", "system:radio")
    assert again.id == first.id
    service.save(zhangwei, first.id, {"test-call": {"value": "yes"}}, sign=True)
    with pytest.raises(Conflict, match="already signed"):
        service.open_round(zhangwei, "daily-radio", "system:radio")
    with pytest.raises(Conflict, match="correction"):
        service.save(zhangwei, first.id, {"test-call": {"value": "no"}})
    with pytest.raises(RecordImmutable):
        service.store.save_items(first.id, first.items, "zhangwei", clock.t)


def test_a_draft_cannot_be_signed_once_its_period_has_ended(
    service: InspectionService, clock: SetClock
) -> None:
    clock.set(2028, 2, 28, 23, 0)
    zhangwei = service.person("zhangwei")
    draft = service.open_round(zhangwei, "daily-radio", "system:radio")
    clock.set(2028, 2, 29, 0, 5)
    with pytest.raises(Conflict, match="missed"):
        service.save(zhangwei, draft.id, {"test-call": {"value": "yes"}}, sign=True)
    earlier = service.due_between(local(2028, 2, 28), local(2028, 2, 29))
    assert [e.state.value for e in earlier if e.plan.id == "daily-radio"] == ["missed"]


def test_a_correction_is_a_new_record_and_keeps_the_completion_time(
    service: InspectionService, clock: SetClock
) -> None:
    wangqiang = service.person("wangqiang")
    clock.set(2028, 4, 10, 9, 0)
    original = service.record(wangqiang, "yearly-earthing", "site:hq",
                              {"earthing": {"value": "3.6"}})  # fmt: skip
    clock.set(2028, 4, 11, 9, 0)
    with pytest.raises(InvalidEntry):
        service.correct(wangqiang, original.id, {"earthing": {"value": "3.2"}}, reason=" ")
    correction = service.correct(
        service.person("zhaomin"), original.id, {"earthing": {"value": "3.2"}},
        reason="读数抄错 transcription error",
    )  # fmt: skip
    assert correction.corrects == original.id
    assert (correction.signed_by, correction.signed_at) == ("zhaomin", local(2028, 4, 11, 9))
    assert correction.item("earthing").value == "3.2"  # type: ignore[union-attr]
    unchanged = service.get_round(original.id)
    assert unchanged.item("earthing").value == "3.6"  # type: ignore[union-attr]
    current = entry(service, "yearly-earthing", "site:hq")
    assert current.record is not None and current.record.id == correction.id
    assert current.completed_at == local(2028, 4, 10, 9)
    with pytest.raises(Conflict):
        service.correct(wangqiang, original.id, {"earthing": {"value": "3.0"}}, reason="again")
    assert [e.action for e in service.store.audit_log()] == [
        "migrate", "open", "sign", "correct",
    ]  # fmt: skip
    assert service.store.verify_audit_chain() == 4


def test_monthly_report_counts_per_person_site_and_plan(
    service: InspectionService, clock: SetClock, results: ResultStore
) -> None:
    radio_up(results, local(2028, 2, 1))
    zhangwei = service.person("zhangwei")
    for day, hour in ((1, 9), (2, 11), (3, 13)):  # on time, in grace, late
        clock.set(2028, 2, day, hour, 0)
        radio_up(results, clock.t)
        service.record(zhangwei, "daily-radio", "radio", {"test-call": {"value": "yes"}})
    clock.set(2028, 3, 15, 12, 0)
    report = monthly_report(service, "2028-02")
    by_plan = {r.key: r for r in report.sections[2].rows}
    daily = by_plan["daily-radio"]
    assert (daily.done, daily.done_late, daily.missed, daily.due) == (2, 1, 26, 29)
    assert daily.ratio == pytest.approx(2 / 29)
    monthly = by_plan["monthly-power"]
    assert (monthly.missed, monthly.due) == (2, 2)  # two radio sites, nothing signed
    by_person = {r.key: r for r in report.sections[0].rows}
    assert by_person["zhangwei"].due == 29
    by_site = {r.key: r.name for r in report.sections[1].rows}
    assert by_site["xingning"] == "兴宁基站 Xingning"
    html = render_html(report)
    assert "巡检合规月报" in html
    assert "6.9%" in html  # 2 of 29
    csv_text = render_csv(report)
    assert csv_text.startswith("\ufeffdimension,key,name,due,done")
    assert (
        "plan,daily-radio,无线集群系统日检 Daily radio check (日检 daily),29,2,1,0,26,0,0,0.0690"
        in csv_text
    )
    detail = render_csv(report, detail=True)
    assert detail.count("\r\n") == 1 + len(report.entries)


def test_feed_lists_upcoming_rounds_as_events_with_folded_lines(
    service: InspectionService, clock: SetClock
) -> None:
    clock.set(2028, 2, 28, 8, 0)
    entries = service.upcoming("zhangwei", days=3)
    # Rounds still to do, by due time: an overdue quarterly one first, then the days ahead.
    assert (entries[0].plan.id, entries[0].state.value) == ("quarterly-vswr", "overdue")
    keys = [(e.plan.id, e.period.key) for e in entries if e.plan.id == "daily-radio"]
    assert keys == [
        ("daily-radio", "2028-02-28"), ("daily-radio", "2028-02-29"),
        ("daily-radio", "2028-03-01"), ("daily-radio", "2028-03-02"),
    ]  # fmt: skip
    text = render_feed(entries, person_label="张伟 Zhang Wei", now=clock.t)
    assert text.count("BEGIN:VEVENT") == len(entries)
    assert "UID:daily-radio.system-radio.2028-02-29@trunkwatch" in text
    assert "DTEND:20280229T020000Z" in text  # 10:00 in Shanghai
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert text.endswith("END:VCALENDAR\r\n")

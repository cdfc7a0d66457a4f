"""Rounds signed off line, taken by the service (``monitor.inspections.offline.service``): the
tablet's signing time within bounds and the arrival time both kept, a retry answered with the
stored round, a round signed meanwhile a conflict naming who and when; and the live value a
reading tied to a metric offers to confirm or correct (``InspectionService.live_readings``)."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import Any

import pytest

from monitor.inspections.errors import Conflict, InvalidEntry, MalformedRequest, NotAllowed
from monitor.inspections.offline.service import (
    CLOCK_SKEW,
    QueuedRound,
    SignedMeanwhile,
    as_json,
    parse_queued,
)
from monitor.inspections.records import RoundRecord
from monitor.inspections.report import monthly_report, render_csv
from monitor.inspections.service import InspectionService
from monitor.inspections.web import _items_view
from monitor.results import ResultStore
from tests.unit.inspections_fleet import SetClock, local, make_service, put_result, write_config

PLAN, TARGET = "monthly-power", "site:xingning"
ENTRIES = {"battery-voltage": {"value": "54.1"}, "condition": {"value": "是"}}


@pytest.fixture
def results() -> ResultStore:
    return ResultStore()


@pytest.fixture
def clock() -> SetClock:
    return SetClock(local(2028, 2, 20, 8))


@pytest.fixture
def service(tmp_path: Path, clock: SetClock, results: ResultStore) -> InspectionService:
    return make_service(write_config(tmp_path), clock, results)


def battery(results: ResultStore, at: float, volts: float = 54.0) -> None:
    put_result(results, "bs-xingning", site="xingning", at=at,
               samples=[("trunkwatch_ups_battery_voltage_volts", {}, volts)])  # fmt: skip


def queued(signed_at: float | None, *, key: str | None = None, by: str = "zhangwei",
           entries: Any = None, photos: Any = None) -> QueuedRound:  # fmt: skip
    return parse_queued(
        {
            "key": key or str(uuid.uuid4()),
            "filled_by": by,
            "entries": ENTRIES if entries is None else entries,
            "photos": photos or {},
            "signed_at_client": signed_at,
        }
    )


def opened(service: InspectionService) -> RoundRecord:
    return service.open_round(service.person("zhangwei"), PLAN, TARGET)


def test_a_round_signed_off_line_keeps_the_tablets_time_and_the_arrival(
    service: InspectionService, clock: SetClock, results: ResultStore
) -> None:
    draft = opened(service)
    signed_on_tablet = clock.t + 600  # 08:10, off line
    clock.set(2028, 2, 20, 9, 30)  # the network returns
    battery(results, clock.t)
    record, before = service.offline.take(service.person("zhangwei"), draft.id,
                                          queued(signed_on_tablet))  # fmt: skip
    assert before is False
    assert (record.signed_by, record.signed_at, record.received_at) == (
        "zhangwei", signed_on_tablet, local(2028, 2, 20, 9, 30),
    )  # fmt: skip
    body = as_json(service, service.get_round(draft.id))
    assert (body["signed_at"], body["received_at"], body["signed_offline"]) == (
        signed_on_tablet, clock.t, True,
    )  # fmt: skip
    assert (body["signed_at_text"], body["received_at_text"]) == (
        "2028-02-20 08:10:00", "2028-02-20 09:30:00",
    )  # fmt: skip
    [line] = [a for a in service.store.audit_log() if a.action == "sign"]
    assert (line.at, line.detail["signed_at"], line.detail["received_at"]) == (
        clock.t, signed_on_tablet, clock.t,
    )  # fmt: skip
    # A round signed on line arrived as it was signed.
    other = service.record(service.person("zhangwei"), PLAN, "site:xixiangtang",
                           {"battery-voltage": {"value": "54"}, "condition": {"value": "是"}})  # fmt: skip
    assert other.received_at is None
    assert other.as_json()["received_at"] == other.signed_at


def test_a_retry_with_the_same_key_returns_the_stored_round_and_signs_once(
    service: InspectionService, clock: SetClock
) -> None:
    draft = opened(service)
    sent = queued(clock.t + 60)
    clock.set(2028, 2, 20, 9)
    first, _ = service.offline.take(service.person("zhangwei"), draft.id, sent)
    clock.set(2028, 2, 20, 9, 5)
    again, before = service.offline.take(service.person("zhangwei"), draft.id, sent)
    assert before is True
    assert again == first
    assert again.received_at == local(2028, 2, 20, 9)
    assert [a.action for a in service.store.audit_log()].count("sign") == 1
    # The same key with other content is not a retry.
    changed = queued(clock.t - 60, key=sent.key)
    with pytest.raises(Conflict, match="sent before with other content"):
        service.offline.take(service.person("zhangwei"), draft.id, changed)


def test_a_round_signed_meanwhile_is_a_conflict_naming_who_and_when(
    service: InspectionService, clock: SetClock
) -> None:
    draft = opened(service)
    signed_on_tablet = clock.t + 60
    clock.set(2028, 2, 20, 8, 30)
    service.save(service.person("lina"), draft.id, ENTRIES, sign=True)
    clock.set(2028, 2, 20, 9)
    with pytest.raises(SignedMeanwhile, match=r"李娜.*2028-02-20 08:30") as caught:
        service.offline.take(service.person("zhangwei"), draft.id, queued(signed_on_tablet))
    assert caught.value.status == 409
    assert caught.value.record.signed_by == "lina"
    stored = service.get_round(draft.id)
    assert (stored.signed_by, stored.signed_at, stored.received_at) == (
        "lina", local(2028, 2, 20, 8, 30), None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("signed", "error", "reason"),
    [
        (lambda t, r: t + CLOCK_SKEW + 5, InvalidEntry, "ahead of the server's clock"),
        (lambda t, r: r.opened_at - 1, InvalidEntry, "before the round was opened"),
        (lambda t, r: t - 8 * 86400, InvalidEntry, "more than 7 days ago"),
        (lambda t, r: r.period_end, Conflict, "the period 2028-02 ended"),
    ],
    ids=["future", "before-open", "too-old", "period-ended"],
)
def test_a_signing_time_out_of_bounds_is_refused_with_its_reason(
    tmp_path: Path, clock: SetClock, results: ResultStore, signed: Any, error: type, reason: str
) -> None:
    clock.set(2028, 2, 1, 8)
    service = make_service(write_config(tmp_path), clock, results)
    draft = opened(service)
    if error is Conflict:
        clock.set(2028, 3, 1, 1)  # the period has ended by the time it arrives
    else:
        clock.set(2028, 2, 29, 20)
    with pytest.raises(error, match=reason):
        service.offline.take(service.person("zhangwei"), draft.id,
                             queued(signed(clock.t, draft)))  # fmt: skip
    assert not service.get_round(draft.id).signed


def test_only_the_person_who_filled_it_in_sends_it(
    service: InspectionService, clock: SetClock
) -> None:
    draft = opened(service)
    with pytest.raises(NotAllowed, match="filled in by zhangwei, signed in as lina"):
        service.offline.take(service.person("lina"), draft.id, queued(clock.t, by="zhangwei"))
    assert not service.get_round(draft.id).signed


def test_photos_named_by_the_round_must_have_arrived_before_it(
    service: InspectionService, clock: SetClock
) -> None:
    draft = opened(service)
    with pytest.raises(InvalidEntry) as caught:
        service.offline.take(service.person("zhangwei"), draft.id,
                             queued(clock.t, photos={"condition": ["a" * 64]}))  # fmt: skip
    assert caught.value.problems == {
        "condition": "照片尚未上传 / photo aaaaaaaaaaaa not uploaded yet"
    }


def test_a_queued_save_saves_without_signing(service: InspectionService, clock: SetClock) -> None:
    draft = opened(service)
    record, before = service.offline.take(service.person("zhangwei"), draft.id, queued(None))
    assert (record.signed, before) == (False, False)
    assert record.item("condition").value == "yes"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "expected a JSON object"),
        ({"key": "not-a-uuid", "filled_by": "x"}, "key: expected a UUID"),
        ({"key": str(uuid.uuid4()), "filled_by": "x", "photos": {"a": ["zz"]}}, "SHA-256"),
        ({"key": str(uuid.uuid4()), "filled_by": "x", "signed_at_client": "noon"}, "epoch"),
        ({"key": str(uuid.uuid4()), "filled_by": "x", "entries": {"a": {"value": 1}}}, "text"),
    ],
)
def test_a_malformed_queued_round_names_the_field(body: Any, reason: str) -> None:
    with pytest.raises(MalformedRequest, match=reason):
        parse_queued(body)


def test_a_reading_tied_to_a_metric_offers_its_live_value_and_time(
    service: InspectionService, clock: SetClock, results: ResultStore
) -> None:
    battery(results, clock.t - 30, volts=54.2)  # measured 07:59:30
    draft = opened(service)
    plan, target = service.plan_of(draft)
    live = service.live_readings(plan, target)
    assert set(live) == {"battery-voltage"}
    assert (live["battery-voltage"].text, live["battery-voltage"].at) == ("54.2", clock.t - 30)
    view = {i["id"]: i for i in _items_view(plan, draft, None, None, live, service.setup.zone)}
    assert view["battery-voltage"]["value"] == "54.2"
    assert view["battery-voltage"]["live"] == "实测 live 54.2 V · 07:59"
    assert view["condition"]["live"] == ""
    # What was typed wins over the live value.
    typed = _items_view(
        plan, draft, {"value.battery-voltage": "53"}, None, live, service.setup.zone
    )
    assert typed[0]["value"] == "53"


@pytest.mark.parametrize(("typed", "discrepancy"), [("54.2", False), ("52.6", True)])
def test_confirming_the_offered_value_is_no_discrepancy_and_changing_it_is(
    service: InspectionService, clock: SetClock, results: ResultStore, typed: str,
    discrepancy: bool,
) -> None:  # fmt: skip
    battery(results, clock.t, volts=54.2)
    draft = opened(service)
    plan, target = service.plan_of(draft)
    offered = service.live_readings(plan, target)["battery-voltage"].text
    value = offered if typed == "54.2" else typed
    signed = service.save(service.person("zhangwei"), draft.id,
                          {"battery-voltage": {"value": value}, "condition": {"value": "是"}},
                          sign=True)  # fmt: skip
    item = signed.item("battery-voltage")
    assert item is not None
    assert (item.discrepancy, item.live_value) == (discrepancy, 54.2)
    assert signed.discrepancies == int(discrepancy)


def test_the_monthly_report_says_when_a_round_signed_off_line_arrived(
    service: InspectionService, clock: SetClock
) -> None:
    draft = opened(service)
    signed_on_tablet = clock.t + 60
    clock.set(2028, 2, 20, 9)
    service.offline.take(service.person("zhangwei"), draft.id, queued(signed_on_tablet))
    service.record(service.person("zhangwei"), PLAN, "site:xixiangtang", ENTRIES)
    rows = list(csv.DictReader(io.StringIO(
        render_csv(monthly_report(service, "2028-02"), detail=True).lstrip("\ufeff")
    )))  # fmt: skip
    by_target = {r["target"]: r for r in rows if r["plan"] == PLAN}
    assert by_target[TARGET]["signed_at"] == f"{signed_on_tablet:.0f}"
    assert by_target[TARGET]["received_at"] == f"{clock.t:.0f}"
    assert by_target["site:xixiangtang"]["received_at"] == ""

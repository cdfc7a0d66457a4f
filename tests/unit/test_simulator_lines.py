"""E1 trunk gateway (DS1-MIB status, 15-minute interval counters, span faults, trunk traffic)
and SIP trunk endpoints."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from monitor.simulator.lines import (
    CHANNELS_PER_E1,
    E1Alarm,
    E1Gateway,
    GatewaySpec,
    LineStatus,
    SipState,
    SipTrunk,
    SipTrunkSpec,
)
from monitor.simulator.signals import DailyProfile

# 10:00 local on a quarter-hour boundary.
T0 = datetime(2016, 7, 1, 10, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


def gateway(spans: int = 2, erlangs: float = 10.2) -> E1Gateway:
    spec = GatewaySpec("e1-gw-test", "测试网关", spans=spans, busy_hour_erlangs=erlangs)
    return E1Gateway(spec, start=T0, seed=7, profile=DailyProfile())


def test_time_elapsed_cycles_through_the_fifteen_minutes() -> None:
    gw = gateway()
    seen = []
    for second in (0, 1, 450, 899, 900, 901, 1799):
        gw.advance(T0 + second)
        seen.append(gw.time_elapsed)
    assert seen == [0, 1, 450, 899, 0, 1, 899]


def test_interval_counters_grow_within_and_reset_at_the_boundary() -> None:
    gw = gateway()
    span = gw.span(1)
    gw.set_alarm(1, E1Alarm.LOS, True, T0 + 100)
    gw.set_alarm(1, E1Alarm.LOS, False, T0 + 160)  # 60 s outage: unavailable seconds
    at_500 = span.interval_counters(T0 + 500)
    at_899 = span.interval_counters(T0 + 899)
    assert at_500.uas == 60
    assert at_500.sefs == 60
    assert at_899.uas == 60
    assert at_899.es >= at_500.es
    after = span.interval_counters(T0 + 900)
    assert after == span.interval_counters(T0 + 900)
    assert after.uas == 0 and after.sefs == 0
    assert after.es == 0  # nothing has happened yet in the new interval


def test_short_los_counts_errored_not_unavailable_seconds() -> None:
    gw = gateway()
    gw.set_alarm(2, E1Alarm.LOS, True, T0 + 200)
    gw.set_alarm(2, E1Alarm.LOS, False, T0 + 205)
    counters = gw.span(2).interval_counters(T0 + 600)
    assert counters.uas == 0
    assert counters.ses >= 5
    assert counters.es >= 5


def test_outage_across_the_boundary_counts_in_both_intervals() -> None:
    gw = gateway()
    gw.set_alarm(1, E1Alarm.AIS, True, T0 + 840)
    gw.advance(T0 + 960)
    assert gw.span(1).interval_counters(T0 + 899).uas == 59
    assert gw.span(1).interval_counters(T0 + 960).uas == 60


def test_background_errors_are_rare_and_reproducible() -> None:
    a, b = gateway(), gateway()
    totals = [a.span(1).interval_counters(T0 + k * 900 + 899).es for k in range(96)]
    assert totals == [b.span(1).interval_counters(T0 + k * 900 + 899).es for k in range(96)]
    assert 0 < sum(totals) < 200
    assert all(es < 20 for es in totals)


@pytest.mark.parametrize(
    ("alarm", "status", "in_service"),
    [
        (E1Alarm.LOS, 96, False),  # LOS + LOF, as a framer reports a lost signal
        (E1Alarm.LOF, 32, False),
        (E1Alarm.AIS, 8, False),
        (E1Alarm.RAI, 2, True),  # far end in trouble; our receive side is fine
    ],
)
def test_span_alarm_sets_line_status_and_takes_channels(
    alarm: E1Alarm, status: int, in_service: bool
) -> None:
    gw = gateway()
    gw.advance(T0 + 1800)
    assert gw.span(1).line_status == int(LineStatus.NO_ALARM)
    gw.set_alarm(1, alarm, True, T0 + 1800)
    assert gw.span(1).line_status == status
    assert gw.span_available(1) == (CHANNELS_PER_E1 if in_service else 0)
    assert gw.span_busy(1) <= gw.span_available(1)
    assert gw.span(2).line_status == 1
    gw.set_alarm(1, alarm, False, T0 + 2400)
    assert gw.span(1).line_status == 1
    assert gw.span_available(1) == CHANNELS_PER_E1


def test_trunk_group_is_a_loss_system_that_hunts_span_one_first() -> None:
    gw = gateway(spans=1, erlangs=40.0)  # far beyond 30 channels: heavy blocking
    gw.advance(T0 + 3600)
    counters = gw.engine.counters
    assert counters.blocked > 0.2 * counters.attempts
    assert counters.queued == 0
    light = gateway(spans=2, erlangs=5.0)
    light.advance(T0 + 3600)
    assert light.span_busy(1) >= light.span_busy(2)


def test_sip_trunk_answers_200_then_503_then_nothing() -> None:
    trunk = SipTrunk(
        SipTrunkSpec("sip-test", "测试", response_delay_s=0.02),
        start=T0,
        seed=1,
        profile=DailyProfile(),
    )
    ok = trunk.answer()
    assert ok is not None and ok.status == 200
    assert 0.015 <= ok.delay_s <= 0.025
    trunk.set_state(SipState.UNAVAILABLE, T0 + 1)
    busy = trunk.answer()
    assert busy is not None and (busy.status, busy.reason) == (503, "Service Unavailable")
    trunk.set_state(SipState.SILENT, T0 + 2)
    assert trunk.answer() is None
    trunk.set_state(SipState.OK, T0 + 3)
    trunk.set_extra_delay(2.0, T0 + 4)
    slow = trunk.answer()
    assert slow is not None and slow.delay_s > 2.0

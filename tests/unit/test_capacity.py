"""Traffic engineering: Erlang B/C against published tables and an exact oracle, the inverse
functions, channel arithmetic, busy hours, trends and the ``capacity erlang`` command.

Published values, each checked to the precision it is printed with:

- D. Collins, *Carrier Grade Voice over IP*, 2nd ed., McGraw-Hill 2003, Appendix A "Table of
  Erlang B" (reproduced at https://www.globalspec.com/reference/55139/203279/
  appendix-a-table-of-erlang-b): offered traffic for 1–10 channels at blocking 0.01 %–5 %,
  printed to 0.1 E.
- Westbay Engineers, Erlang calculator manual, "How much traffic can a trunk group handle?"
  (https://erlang.com/calculatormanual/howmuchtrafficcanatrunkgrouphandle.htm): 15 lines at
  1 % blocking carry 8.108 E.
- R package ``queueing`` 0.2.12, ``B_erlang`` help page, example output
  (https://rdrr.io/cran/queueing/man/B_erlang.html): ``B_erlang(2, 0.5/0.7)`` = 0.1295337.
- J. Dunlop, D. Girma, J. Irvine, *Digital Mobile Communications and the TETRA System*, Wiley
  1999. Appendix A.3 (Erlang B): an emergency centre with 150 calls an hour of 30 s offers
  1.25 E. Appendix A.4 (Erlang C table, worked example): 8 channels with 5 % of calls queued
  carry 3.87 E, 10 channels at 1 % carry 4.08 E; at 3.87 E, the share of queued calls still
  waiting after one mean holding time is 0.016 with 8 channels and 0.0022 with 10.
- DOMAIN.md, "The centre's own figures (2016)": 1,413,989 calls a year, 8–12 % in the busy
  hour, 95 s holding → ≈ 10.2 E → 18 trunks at P.01 (one E1), 31 for a doubled peak.

Beyond the tables, an exact oracle: the defining sums ``Σ A^k/k!`` evaluated in integer
arithmetic for a rational ``A``, independent of the recursion under test and exact for 1000
channels.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from monitor.capacity import (
    ChannelPlan,
    DailyBusyHour,
    GradeOfService,
    HourlyTraffic,
    SiteTraffic,
    breach_date,
    busy_hour,
    carriers_needed,
    channels_needed,
    daily_busy_hours,
    e1_needed,
    erlang_b,
    erlang_c,
    fit_trend,
    forecast,
    grade_of_service,
    mean_wait,
    offered_traffic,
    p_wait_longer,
    pdt_traffic_channels,
    recommend,
    tetra_traffic_channels,
    theil_sen,
    time_consistent_busy_hour,
    traffic_capacity,
    units_needed,
    worst_n_days_busy_hour,
)
from monitor.cli import main

TZ = ZoneInfo("Asia/Shanghai")

# --- an exact oracle ------------------------------------------------------------------------


def _scaled_terms(traffic: Fraction, channels: int) -> list[int]:
    """``A^k/k!`` for k = 0…N, all multiplied by ``q^N·N!`` (A = p/q) so each is an integer."""
    p, q = traffic.numerator, traffic.denominator
    terms = [q**channels * math.factorial(channels)]
    for k in range(1, channels + 1):
        # T_k = T_{k-1} · p / (q·k), exact: T_k = p^k · q^(N-k) · N!/k!.
        terms.append(terms[-1] * p // (q * k))
    return terms


def exact_erlang_b(traffic: Fraction, channels: int) -> Fraction:
    terms = _scaled_terms(traffic, channels)
    return Fraction(terms[-1], sum(terms))


def exact_erlang_c(traffic: Fraction, channels: int) -> Fraction:
    terms = _scaled_terms(traffic, channels)
    top = Fraction(terms[-1]) * channels / (channels - traffic)
    return top / (sum(terms[:-1]) + top)


# --- published Erlang B table ---------------------------------------------------------------

COLLINS_BLOCKING = (
    0.0001, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006,
    0.007, 0.008, 0.009, 0.01, 0.02, 0.03, 0.04, 0.05,
)  # fmt: skip
COLLINS_ROWS = {
    1: "0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.1",
    2: "0.0 0.0 0.0 0.1 0.1 0.1 0.1 0.1 0.1 0.1 0.1 0.2 0.2 0.3 0.3 0.4",
    3: "0.1 0.2 0.2 0.2 0.3 0.3 0.3 0.4 0.4 0.4 0.4 0.5 0.6 0.7 0.8 0.9",
    4: "0.2 0.4 0.4 0.5 0.6 0.7 0.7 0.7 0.8 0.8 0.8 0.9 1.1 1.3 1.4 1.5",
    5: "0.5 0.6 0.8 0.9 1.0 1.1 1.1 1.2 1.2 1.3 1.3 1.4 1.7 1.9 2.1 2.2",
    6: "0.7 1.0 1.1 1.3 1.4 1.5 1.6 1.7 1.8 1.8 1.9 1.9 2.3 2.5 2.8 3.0",
    7: "1.1 1.4 1.6 1.8 1.9 2.1 2.2 2.2 2.3 2.4 2.4 2.5 2.9 3.2 3.5 3.7",
    8: "1.4 1.8 2.1 2.3 2.5 2.6 2.7 2.8 2.9 3.0 3.1 3.1 3.6 4.0 4.3 4.5",
    9: "1.8 2.3 2.6 2.9 3.1 3.2 3.3 3.4 3.5 3.6 3.7 3.8 4.3 4.7 5.1 5.4",
    10: "2.3 2.8 3.1 3.4 3.6 3.8",  # the rest of the row is not in the reproduction
}
COLLINS_CELLS = [
    (channels, COLLINS_BLOCKING[i], printed)
    for channels, row in COLLINS_ROWS.items()
    for i, printed in enumerate(row.split())
]


@pytest.mark.parametrize(("channels", "blocking", "printed"), COLLINS_CELLS)
def test_traffic_capacity_matches_collins_erlang_b_table(
    channels: int, blocking: float, printed: str
) -> None:
    assert f"{traffic_capacity(channels, blocking):.1f}" == printed


def test_fifteen_lines_at_one_percent_carry_westbay_figure() -> None:
    assert f"{traffic_capacity(15, 0.01):.3f}" == "8.108"


def test_erlang_b_matches_r_queueing_example() -> None:
    assert f"{erlang_b(0.5 / 0.7, 2):.7f}" == "0.1295337"


def test_offered_traffic_of_dunlop_emergency_centre_example() -> None:
    assert offered_traffic(150, 30) == pytest.approx(1.25)


# --- published Erlang C table ---------------------------------------------------------------


@pytest.mark.parametrize(("channels", "queued", "printed"), [(8, 0.05, "3.87"), (10, 0.01, "4.08")])
def test_traffic_capacity_matches_dunlop_erlang_c_table(
    channels: int, queued: float, printed: str
) -> None:
    assert f"{traffic_capacity(channels, queued, 'c'):.2f}" == printed


@pytest.mark.parametrize(("channels", "printed"), [(8, "0.016"), (10, "0.0022")])
def test_queued_calls_waiting_past_one_holding_time_match_dunlop(
    channels: int, printed: str
) -> None:
    hold = 20.0
    traffic = 3.87
    conditional = p_wait_longer(traffic, channels, hold, hold) / erlang_c(traffic, channels)
    decimals = len(printed.split(".")[1])
    assert f"{conditional:.{decimals}f}" == printed


# --- the exact oracle, small to very large --------------------------------------------------

ORACLE_CASES = [
    (Fraction(1, 10), 1),
    (Fraction(5, 7), 2),
    (Fraction(51, 10), 7),
    (Fraction(1022, 100), 18),
    (Fraction(2045, 100), 30),
    (Fraction(8061, 100), 100),
    (Fraction(4001, 10), 500),
    (Fraction(9712, 10), 1000),
    (Fraction(1500), 1000),
]


@pytest.mark.parametrize(("traffic", "channels"), ORACLE_CASES)
def test_erlang_b_agrees_with_exact_sums(traffic: Fraction, channels: int) -> None:
    expected = float(exact_erlang_b(traffic, channels))
    assert erlang_b(float(traffic), channels) == pytest.approx(expected, rel=1e-11)


@pytest.mark.parametrize(("traffic", "channels"), [(a, n) for a, n in ORACLE_CASES if a < n])
def test_erlang_c_agrees_with_exact_sums(traffic: Fraction, channels: int) -> None:
    expected = float(exact_erlang_c(traffic, channels))
    assert erlang_c(float(traffic), channels) == pytest.approx(expected, rel=1e-11)


def test_erlang_b_underflows_to_zero_instead_of_overflowing() -> None:
    # 1/1000! is far below the smallest float: the exact value rounds to zero, and so must we.
    assert float(exact_erlang_b(Fraction(1), 1000)) == 0.0
    assert erlang_b(1.0, 1000) == 0.0
    assert erlang_b(1e6, 5000) == pytest.approx(1 - 5000 / 1e6, rel=1e-3)


def test_erlang_b_edges() -> None:
    assert erlang_b(3.2, 0) == 1.0
    assert erlang_b(0.0, 4) == 0.0
    assert erlang_b(2.5, 1) == pytest.approx(2.5 / 3.5)


def test_erlang_c_is_one_when_traffic_reaches_the_channels() -> None:
    assert erlang_c(7.0, 7) == 1.0
    assert erlang_c(9.5, 7) == 1.0
    assert p_wait_longer(7.0, 7, 5.0, 20.0) == 1.0
    assert mean_wait(7.0, 7, 20.0) == math.inf


def test_erlang_c_exceeds_erlang_b() -> None:
    for traffic, channels in [(0.3, 1), (3.87, 8), (20.0, 30), (900.0, 1000)]:
        assert erlang_c(traffic, channels) > erlang_b(traffic, channels)


def test_p_wait_longer_starts_at_erlang_c_and_decays() -> None:
    c = erlang_c(5.0, 7)
    assert p_wait_longer(5.0, 7, 0.0, 20.0) == c
    # The tail of M/M/N: exponential at rate (N - A)/T.
    assert p_wait_longer(5.0, 7, 10.0, 20.0) == pytest.approx(c * math.exp(-2 * 10 / 20))


def test_mean_wait_is_the_integral_of_the_waiting_tail() -> None:
    traffic, channels, hold = 5.3, 7, 20.0
    step = 0.01
    integral = step * sum(
        p_wait_longer(traffic, channels, (i + 0.5) * step, hold) for i in range(40_000)
    )
    assert mean_wait(traffic, channels, hold) == pytest.approx(integral, rel=1e-6)


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda: erlang_b(-1.0, 3), "traffic"),
        (lambda: erlang_b(math.nan, 3), "traffic"),
        (lambda: erlang_b(math.inf, 3), "traffic"),
        (lambda: erlang_b(1.0, -1), "channels"),
        (lambda: erlang_b(1.0, 2.5), "channels"),  # type: ignore[arg-type]
        (lambda: channels_needed(1.0, 0.0), "target"),
        (lambda: channels_needed(1.0, 1.0), "target"),
        (lambda: channels_needed(1.0, 0.1, "x"), "model"),  # type: ignore[arg-type]
        (lambda: channels_needed(1.0, 0.1, "c", wait_s=5.0), "hold_s"),
        (lambda: p_wait_longer(1.0, 3, 5.0, 0.0), "hold_s"),
        (lambda: traffic_capacity(3, 0.1, tolerance=0.0), "tolerance"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_argument(
    call: Callable[[], object], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        call()


# --- inverses ---------------------------------------------------------------------------------

TRAFFICS = [0.05, 0.5, 2.7, 10.2, 47.3, 180.0, 750.5]
TARGETS = [0.001, 0.01, 0.02, 0.05, 0.2]
OBJECTIVES = [
    GradeOfService(0.01),
    GradeOfService(0.05, "c"),
    GradeOfService(0.05, "c", wait_s=5.0, hold_s=20.0),
]


@pytest.mark.parametrize("traffic", TRAFFICS)
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("model", ["b", "c"])
def test_channels_needed_is_the_least_meeting_the_target(
    traffic: float, target: float, model: str
) -> None:
    gos = GradeOfService(target, "b" if model == "b" else "c", wait_s=5.0, hold_s=20.0)
    n = channels_needed(traffic, target, gos.model, wait_s=5.0, hold_s=20.0)
    assert gos.of(traffic, n) <= target
    assert gos.of(traffic, n - 1) > target


@pytest.mark.parametrize("channels", [1, 2, 7, 18, 30, 60, 120, 500])
@pytest.mark.parametrize("gos", OBJECTIVES, ids=lambda g: g.describe())
def test_traffic_capacity_meets_the_target_to_its_precision(
    channels: int, gos: GradeOfService
) -> None:
    capacity = gos.traffic_capacity(channels)
    assert gos.of(capacity, channels) <= gos.target
    assert gos.of(capacity * (1 + 1e-8), channels) > gos.target
    assert gos.of(capacity, channels) == pytest.approx(gos.target, rel=1e-6)
    # Round trip: the channels needed for that traffic are these channels.
    assert gos.channels_needed(capacity) == channels


def test_traffic_capacity_grows_faster_than_the_channels() -> None:
    capacities = [traffic_capacity(n, 0.01) for n in (10, 20, 40, 80, 160)]
    per_channel = [c / n for c, n in zip(capacities, (10, 20, 40, 80, 160), strict=True)]
    assert per_channel == sorted(per_channel)


def test_a_thousand_channels_round_trip() -> None:
    capacity = traffic_capacity(1000, 0.01)
    assert erlang_b(capacity, 1000) == pytest.approx(0.01, rel=1e-6)
    assert channels_needed(capacity, 0.01) == 1000
    assert channels_needed(capacity * 1.001, 0.01) == 1001


def test_grade_of_service_function_matches_the_objective() -> None:
    assert grade_of_service(4.0, 7) == erlang_b(4.0, 7)
    assert grade_of_service(4.0, 7, "c") == erlang_c(4.0, 7)
    assert grade_of_service(4.0, 7, "c", wait_s=5.0, hold_s=20.0) == p_wait_longer(
        4.0, 7, 5.0, 20.0
    )


# --- the centre's own figures ---------------------------------------------------------------


def test_centre_110_hotline_needs_eighteen_trunks_and_one_e1() -> None:
    calls_a_day = 1_413_989 / 365
    busy_hour_calls = calls_a_day * 0.10  # the middle of the 8–12 % busy-hour share
    traffic = offered_traffic(busy_hour_calls, 95.0)
    assert f"{traffic:.1f}" == "10.2"
    assert channels_needed(traffic, 0.01) == 18
    assert e1_needed(traffic, 0.01) == 1


def test_centre_doubled_holiday_peak_needs_thirty_one_trunks() -> None:
    traffic = 2 * offered_traffic(1_413_989 / 365 * 0.10, 95.0)
    assert channels_needed(traffic, 0.01) == 31
    # 30 trunks (one full E1) carry less than the doubled peak at 1 %.
    assert traffic_capacity(30, 0.01) < traffic <= traffic_capacity(31, 0.01)
    assert e1_needed(traffic, 0.01) == 2


# --- channel arithmetic ---------------------------------------------------------------------


def test_two_carrier_tetra_site_has_seven_traffic_channels() -> None:
    assert tetra_traffic_channels(2) == 7
    assert ChannelPlan.tetra(2).traffic_channels == 7


def test_tetra_reserved_slots_come_off_the_traffic_channels() -> None:
    assert tetra_traffic_channels(1) == 3
    assert tetra_traffic_channels(4, secondary_control=1, packet_data=2) == 16 - 1 - 1 - 2
    assert ChannelPlan.tetra(4, 1, 2).traffic_channels == 12
    with pytest.raises(ValueError, match="reserved"):
        tetra_traffic_channels(1, secondary_control=2, packet_data=2)
    with pytest.raises(ValueError, match="carriers"):
        tetra_traffic_channels(0)


def test_pdt_and_e1_channel_arithmetic() -> None:
    assert pdt_traffic_channels(1) == 1
    assert pdt_traffic_channels(4) == 7
    assert pdt_traffic_channels(4, control=2) == 6
    assert ChannelPlan.e1(2).traffic_channels == 60


@pytest.mark.parametrize(
    ("system", "reserved"), [("tetra", 1), ("tetra", 3), ("pdt", 1), ("e1", 0)]
)
@pytest.mark.parametrize("channels", [0, 1, 3, 7, 8, 29, 30, 31, 61])
def test_units_needed_is_the_fewest_giving_the_channels(
    system: str, reserved: int, channels: int
) -> None:
    units = units_needed(system, channels, reserved)  # type: ignore[arg-type]
    assert ChannelPlan(system, units, reserved).traffic_channels >= channels  # type: ignore[arg-type]
    if units > 1:
        fewer = ChannelPlan(system, units - 1, reserved)  # type: ignore[arg-type]
        assert fewer.traffic_channels < channels


def test_carriers_needed_gives_a_tetra_plan_that_meets_the_target() -> None:
    gos = GradeOfService(0.05, "c", wait_s=5.0, hold_s=20.0)
    for traffic in (0.5, 3.0, 6.0, 11.0):
        carriers = carriers_needed(traffic, 0.05, "c", wait_s=5.0, hold_s=20.0)
        assert gos.met(traffic, tetra_traffic_channels(carriers))
        if carriers > 1:
            assert not gos.met(traffic, tetra_traffic_channels(carriers - 1))


def test_e1_needed_counts_thirty_channel_spans() -> None:
    assert e1_needed(traffic_capacity(30, 0.01), 0.01) == 1
    assert e1_needed(traffic_capacity(31, 0.01), 0.01) == 2
    assert e1_needed(traffic_capacity(60, 0.01), 0.01) == 2


# --- busy hours -------------------------------------------------------------------------------


def _hours(
    first_day: date,
    days: int,
    daily_peak: list[float],
    *,
    peak_hour: int = 10,
    attempts: int = 0,
    queued: int = 0,
) -> list[HourlyTraffic]:
    """Local hours with the peak traffic at ``peak_hour`` and a third of it otherwise."""
    hours = []
    for d in range(days):
        day = first_day + timedelta(days=d)
        for h in range(24):
            erlangs = daily_peak[d] if h == peak_hour else daily_peak[d] / 3
            start = datetime(day.year, day.month, day.day, h, tzinfo=TZ)
            hours.append(
                HourlyTraffic(start, erlangs, attempts=attempts, queued=queued, blocked=queued)
            )
    return hours


def test_busy_hour_is_the_busiest_and_the_earliest_of_equals() -> None:
    start = datetime(2016, 7, 1, tzinfo=TZ)
    hours = [HourlyTraffic(start + timedelta(hours=h), e) for h, e in enumerate([1, 4, 2, 4])]
    assert busy_hour(hours).start == start + timedelta(hours=1)
    with pytest.raises(ValueError, match="no hours"):
        busy_hour([])


def test_daily_busy_hours_group_by_local_day_and_flag_incidents() -> None:
    peaks = [5.0, 6.0, 15.0]
    hours = _hours(date(2016, 7, 1), 3, peaks, peak_hour=20)
    days = daily_busy_hours(hours, [date(2016, 7, 3)])
    assert [d.day for d in days] == [date(2016, 7, 1), date(2016, 7, 2), date(2016, 7, 3)]
    assert [d.erlangs for d in days] == peaks
    assert [d.start.hour for d in days] == [20, 20, 20]
    assert [d.incident for d in days] == [False, False, True]


def test_daily_busy_hours_skip_partial_days() -> None:
    hours = _hours(date(2016, 7, 1), 2, [5.0, 6.0])[:30]  # a full day and six hours
    assert len(daily_busy_hours(hours)) == 2
    assert [d.day for d in daily_busy_hours(hours, min_hours=12)] == [date(2016, 7, 1)]


def test_time_consistent_busy_hour_is_the_best_clock_hour_on_average() -> None:
    hours = _hours(date(2016, 7, 1), 3, [5.0, 5.0, 5.0], peak_hour=10)
    # One day peaks higher at 20:00, but 10:00 is busier on average.
    hours.append(HourlyTraffic(datetime(2016, 7, 4, 20, tzinfo=TZ), 9.0))
    assert time_consistent_busy_hour(hours) == 10


def test_worst_days_per_week_keep_incidents_apart() -> None:
    # 2016-07-04 is a Monday: two full weeks.
    first = date(2016, 7, 4)
    peaks = [float(v) for v in (3, 9, 4, 5, 6, 2, 1, 7, 30, 7, 8, 6, 5, 4)]
    days = [
        DailyBusyHour(first + timedelta(days=i), datetime(2016, 7, 4, tzinfo=TZ), e, i == 8)
        for i, e in enumerate(peaks)
    ]
    weeks = worst_n_days_busy_hour(days, 3, period="week")
    assert [w.start for w in weeks] == [first, first + timedelta(days=7)]
    assert weeks[0].end == first + timedelta(days=6)
    assert weeks[0].erlangs == pytest.approx((9 + 6 + 5) / 3)
    assert weeks[1].erlangs == pytest.approx((8 + 7 + 7) / 3)
    assert [d.erlangs for d in weeks[1].incidents] == [30.0]
    assert all(not d.incident for d in weeks[1].worst)


def test_worst_days_per_month_span_calendar_months() -> None:
    days = [
        DailyBusyHour(date(2016, 2, 28), datetime(2016, 2, 28, tzinfo=TZ), 4.0),
        DailyBusyHour(date(2016, 2, 29), datetime(2016, 2, 29, tzinfo=TZ), 5.0, incident=True),
        DailyBusyHour(date(2016, 3, 1), datetime(2016, 3, 1, tzinfo=TZ), 6.0),
    ]
    months = worst_n_days_busy_hour(days, 5, period="month")
    assert [(m.start, m.end) for m in months] == [
        (date(2016, 2, 1), date(2016, 2, 29)),
        (date(2016, 3, 1), date(2016, 3, 31)),
    ]
    assert months[0].erlangs == 4.0
    assert len(months[0].incidents) == 1


# --- trend, breach date, forecast, recommendation ------------------------------------------


def test_theil_sen_recovers_a_line_through_outliers() -> None:
    xs = [float(x) for x in range(40)]
    ys = [2.0 + 0.5 * x for x in xs]
    for i in (3, 11, 17, 25, 33, 38):  # 15 % wild values
        ys[i] = 100.0
    slope, intercept = theil_sen(xs, ys)
    assert slope == pytest.approx(0.5)
    assert intercept == pytest.approx(2.0)
    with pytest.raises(ValueError, match="two points"):
        theil_sen([1.0, 1.0], [2.0, 3.0])


def _growing_days(
    weeks: int, start_erlangs: float, growth_per_week: float, incident_every: int = 0
) -> list[DailyBusyHour]:
    first = date(2016, 7, 1)
    days = []
    for i in range(weeks * 7):
        erlangs = start_erlangs * (1 + growth_per_week) ** (i / 7)
        incident = incident_every > 0 and i % incident_every == incident_every - 1
        if incident:
            erlangs *= 3  # a surge the trend must ignore
        day = first + timedelta(days=i)
        start = datetime(day.year, day.month, day.day, 10, tzinfo=TZ)
        days.append(DailyBusyHour(day, start, erlangs, incident))
    return days


def test_compound_trend_recovers_weekly_growth_despite_incident_days() -> None:
    trend = fit_trend(_growing_days(8, 4.0, 0.03, incident_every=9))
    assert trend.growth_per_week == pytest.approx(0.03, rel=1e-9)
    assert trend.at(date(2016, 7, 1)) == pytest.approx(4.0, rel=1e-9)
    assert trend.points == 8 * 7 - (8 * 7) // 9


def test_linear_trend_measures_erlangs_a_day() -> None:
    first = date(2016, 7, 1)
    days = [
        DailyBusyHour(first + timedelta(days=i), datetime(2016, 7, 1, tzinfo=TZ), 3.0 + 0.1 * i)
        for i in range(20)
    ]
    trend = fit_trend(days, growth="linear")
    assert trend.slope == pytest.approx(0.1)
    assert trend.at(first + timedelta(days=30)) == pytest.approx(6.0)


def test_breach_date_is_where_the_configured_growth_reaches_capacity() -> None:
    start, growth = 2.5, 0.03
    capacity = traffic_capacity(7, 0.05, "c", wait_s=5.0, hold_s=20.0)
    assert start < capacity  # the breach lies beyond the six weeks measured
    breach = breach_date(_growing_days(6, start, growth, incident_every=9), capacity)
    weeks_to_breach = math.log(capacity / start) / math.log(1 + growth)
    expected = date(2016, 7, 1) + timedelta(days=math.ceil(weeks_to_breach * 7))
    assert breach == expected


def test_breach_date_never_for_flat_traffic_and_first_day_when_already_over() -> None:
    flat = _growing_days(3, 2.0, 0.0)
    assert breach_date(flat, 5.0) is None
    assert breach_date(flat, 1.5) == date(2016, 7, 1)


def _site(name: str, carriers: int, start: float, growth: float, weeks: int = 6) -> SiteTraffic:
    days = weeks * 7
    peaks = [start * (1 + growth) ** (d / 7) for d in range(days)]
    return SiteTraffic(
        name=name,
        plan=ChannelPlan.tetra(carriers),
        gos=GradeOfService(0.05, "c", wait_s=5.0, hold_s=20.0),
        hours=tuple(_hours(date(2016, 7, 1), days, peaks, attempts=100, queued=3)),
    )


def test_forecast_and_recommendation_for_an_overloading_site() -> None:
    site = _site("bs-xingning", 2, 3.0, 0.04)
    horizon = date(2017, 1, 1)
    outlook = forecast(site, horizon)
    assert outlook.channels == 7
    assert outlook.capacity_erlangs == pytest.approx(site.gos.traffic_capacity(7))
    assert outlook.breach is not None and outlook.breach < horizon
    assert outlook.trend.at(outlook.breach) >= outlook.capacity_erlangs
    assert outlook.trend.at(outlook.breach - timedelta(days=1)) < outlook.capacity_erlangs

    advice = recommend(site, outlook)
    assert advice.units_to_add >= 1
    assert site.gos.met(outlook.horizon_erlangs, advice.proposed.traffic_channels)
    fewer = advice.proposed.with_units(advice.proposed.units - 1)
    assert not site.gos.met(outlook.horizon_erlangs, fewer.traffic_channels)
    assert recommend(site, outlook, max_units=advice.proposed.units - 1).feasible is False


def test_a_quiet_site_needs_nothing_added() -> None:
    site = _site("bs-xixiangtang", 3, 1.0, 0.0)
    outlook = forecast(site, date(2017, 1, 1))
    assert outlook.breach is None
    assert outlook.predicted_gos < site.gos.target
    assert recommend(site, outlook).units_to_add == 0


def test_measured_gos_counts_the_busy_hours_of_ordinary_days() -> None:
    site = _site("bs-yongning", 2, 3.0, 0.0, weeks=1)
    assert site.measured_gos() == pytest.approx(3 / 100)


# --- the command line -------------------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["capacity", "erlang", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _rows(text: str) -> dict[str, str]:
    """``label  value`` lines: the label ends at the first run of two spaces."""
    rows = {}
    for line in text.splitlines():
        label, _, value = line.partition("  ")
        rows[label] = value.strip()
    return rows


def _number(value: str) -> float:
    return float(value.split()[0])


def test_cli_grade_of_service_prints_b_c_and_wait(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--traffic", "10.2", "--channels", "18", "--wait", "5")
    assert code == 0
    rows = _rows(out)
    assert _number(rows["blocking (Erlang B)"]) == pytest.approx(erlang_b(10.2, 18), rel=1e-5)
    assert _number(rows["P(wait) (Erlang C)"]) == pytest.approx(erlang_c(10.2, 18), rel=1e-5)
    assert _number(rows["P(wait > 5 s)"]) == pytest.approx(
        p_wait_longer(10.2, 18, 5.0, 20.0), rel=1e-5
    )
    assert _number(rows["mean wait"]) == pytest.approx(mean_wait(10.2, 18, 20.0), rel=1e-3)


def test_cli_channels_needed_for_the_centre_busy_hour(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(
        capsys, "--calls-per-hour", "390", "--hold", "95", "--target", "0.01", "--system", "e1"
    )
    assert code == 0
    rows = _rows(out)
    assert rows["channels needed"] == "18"
    assert rows["E1 spans needed"] == "1"


def test_cli_channels_needed_with_queueing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "--traffic", "6", "--target", "0.05", "--model", "c", "--system", "tetra"
    )
    assert code == 0
    needed = channels_needed(6.0, 0.05, "c", wait_s=5.0, hold_s=20.0)
    rows = _rows(out)
    assert rows["objective"] == "P(wait > 5 s) <= 5 %"
    assert rows["channels needed"] == str(needed)
    assert rows["TETRA carriers needed"] == str(carriers_needed(6.0, 0.05, wait_s=5, hold_s=20))


def test_cli_traffic_carried_by_two_carriers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--carriers", "2", "--target", "0.02")
    assert code == 0
    rows = _rows(out)
    assert rows["traffic channels"] == "7"
    assert _number(rows["traffic carried"]) == pytest.approx(traffic_capacity(7, 0.02), abs=5e-5)


def test_cli_json_for_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--carriers", "3", "--system", "pdt", "--target", "0.05", "--json")
    assert code == 0
    result = json.loads(out)
    channels = pdt_traffic_channels(3)
    assert result["mode"] == "traffic_capacity"
    assert result["channels"] == channels
    assert result["traffic_erlangs"] == pytest.approx(traffic_capacity(channels, 0.05))
    assert result["gos"] <= 0.05


def test_cli_json_grade_of_service_against_a_target(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys,
        "--traffic",
        "12",
        "--channels",
        "7",
        "--target",
        "0.05",
        "--model",
        "c",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert result["blocking"] == pytest.approx(erlang_b(12.0, 7))
    assert result["p_wait"] == 1.0
    assert result["mean_wait_s"] is None  # overloaded: the queue never empties
    assert result["meets_target"] is False


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--traffic", "0", "--channels", "3"], "--traffic must be > 0"),
        (["--traffic", "-2", "--target", "0.01"], "--traffic must be > 0"),
        (["--channels", "3", "--target", "0"], "--target must be"),
        (["--channels", "3", "--target", "1"], "--target must be"),
        (["--channels", "3", "--target", "1.5"], "--target must be"),
        (["--traffic", "3"], "give two of"),
        (["--traffic", "3", "--calls-per-hour", "10", "--channels", "3"], "not both"),
        (["--channels", "3", "--carriers", "1", "--target", "0.1"], "not both"),
        (["--channels", "0", "--target", "0.1"], "--channels must be >= 1"),
        (["--carriers", "1", "--secondary-control", "4", "--target", "0.1"], "reserved"),
        (["--carriers", "1", "--system", "e1", "--packet-data", "1", "--target", "0.1"], "E1"),
        (["--traffic", "3", "--channels", "5", "--hold", "0"], "--hold must be > 0"),
        (["--traffic", "3", "--channels", "5", "--wait", "-1"], "--wait must be >= 0"),
    ],
)
def test_cli_bad_usage_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], reason: str
) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert reason in err


def test_cli_unparsable_number_is_an_argparse_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["capacity", "erlang", "--traffic", "lots", "--channels", "3"])
    assert exc.value.code == 2
    assert "--traffic" in capsys.readouterr().err


def test_cli_capacity_without_a_command_shows_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["capacity"]) == 2
    assert "erlang" in capsys.readouterr().err

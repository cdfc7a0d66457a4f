"""Periods, due times and round states in Asia/Shanghai across day, week, month, quarter and
year boundaries, leap day included, from explicit instants (nothing sleeps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.inspections.calendar import (
    DueRule,
    Frequency,
    RoundState,
    Schedule,
    parse_rrule,
    round_state,
)
from tests.unit.inspections_fleet import SHANGHAI, local


def daily(grace_h: float = 2, opens_before: timedelta | None = None) -> Schedule:
    rule = DueRule(minutes=10 * 60, opens_before=opens_before)
    return Schedule(Frequency.DAILY, SHANGHAI, rule, timedelta(hours=grace_h))


def states(
    schedule: Schedule, instants: list[float], completed_at: float | None = None
) -> list[str]:
    out = []
    for t in instants:
        period = schedule.period_at(t)
        assert period is not None
        out.append(schedule.state(period, t, completed_at).value)
    return out


def test_round_state_covers_every_transition() -> None:
    common = {"opens": 100.0, "deadline": 200.0, "end": 300.0}
    assert round_state(now=99, completed_at=None, **common) is RoundState.UPCOMING
    assert round_state(now=100, completed_at=None, **common) is RoundState.OPEN
    assert round_state(now=199.9, completed_at=None, **common) is RoundState.OPEN
    assert round_state(now=200, completed_at=None, **common) is RoundState.OVERDUE
    assert round_state(now=299.9, completed_at=None, **common) is RoundState.OVERDUE
    assert round_state(now=300, completed_at=None, **common) is RoundState.MISSED
    assert round_state(now=150, completed_at=150, **common) is RoundState.DONE
    assert round_state(now=400, completed_at=200, **common) is RoundState.DONE  # at the deadline
    assert round_state(now=250, completed_at=200.5, **common) is RoundState.DONE_LATE
    # A signature after "now" has not happened yet as far as "now" is concerned.
    assert round_state(now=150, completed_at=160, **common) is RoundState.OPEN
    assert round_state(now=250, completed_at=260, **common) is RoundState.OVERDUE


def test_daily_period_turns_at_local_midnight_not_utc() -> None:
    schedule = daily()
    period = schedule.period_at(local(2027, 12, 31, 23, 59, 59))
    assert period is not None
    assert period.key == "2027-12-31"
    # Local midnight in Shanghai is 16:00 UTC the day before.
    assert datetime.fromtimestamp(period.start_ts, UTC) == datetime(2027, 12, 30, 16, tzinfo=UTC)
    assert period.end_ts == local(2028, 1, 1)
    nxt = schedule.following(period)
    assert nxt.key == "2028-01-01"
    assert schedule.period_at(local(2028, 1, 1)) == nxt
    # 10:00 Shanghai is 02:00 UTC.
    assert datetime.fromtimestamp(schedule.due(nxt).timestamp(), UTC).hour == 2


def test_daily_walk_open_overdue_missed_and_the_next_day_opens() -> None:
    schedule = daily()
    walk = [
        local(2028, 2, 28, 0, 0),
        local(2028, 2, 28, 9, 59),
        local(2028, 2, 28, 11, 59, 59),  # past 10:00 but within the 2 h grace
        local(2028, 2, 28, 12, 0),
        local(2028, 2, 28, 23, 59, 59),
    ]
    assert states(schedule, walk) == ["open", "open", "open", "overdue", "overdue"]
    feb28 = schedule.period_at(local(2028, 2, 28, 12))
    assert feb28 is not None
    assert schedule.state(feb28, local(2028, 2, 29, 0, 0), None) is RoundState.MISSED
    # The leap day is a period of its own, open at its first second.
    leap = schedule.following(feb28)
    assert leap.key == "2028-02-29"
    assert schedule.state(leap, local(2028, 2, 29, 0, 0), None) is RoundState.OPEN
    assert schedule.following(leap).key == "2028-03-01"


def test_daily_done_in_grace_is_on_time_after_it_late() -> None:
    schedule = daily()
    period = schedule.period_at(local(2028, 2, 29, 8))
    assert period is not None
    assert schedule.state(period, local(2028, 2, 29, 23), local(2028, 2, 29, 11, 30)).value == (
        "done"
    )
    assert schedule.state(period, local(2028, 2, 29, 23), local(2028, 2, 29, 12, 0, 1)).value == (
        "done_late"
    )
    # Done late stays done late after the period ended: it is not missed.
    assert schedule.state(period, local(2028, 3, 5), local(2028, 2, 29, 12, 0, 1)).value == (
        "done_late"
    )


def test_window_opening_before_due_makes_the_round_upcoming_first() -> None:
    schedule = daily(opens_before=timedelta(hours=4))
    walk = [local(2028, 1, 1, 5, 59, 59), local(2028, 1, 1, 6, 0)]
    assert states(schedule, walk) == ["upcoming", "open"]


def test_weekly_iso_weeks_across_the_year_end() -> None:
    rule = DueRule(minutes=17 * 60, weekday=4)  # Friday 17:00
    schedule = Schedule(Frequency.WEEKLY, SHANGHAI, rule, timedelta(hours=1))
    # 1 January 2028 is a Saturday: it belongs to ISO week 52 of 2027.
    period = schedule.period_at(local(2028, 1, 1, 12))
    assert period is not None
    assert period.key == "2027-W52"
    assert period.start_ts == local(2027, 12, 27)
    assert schedule.due(period).timestamp() == local(2027, 12, 31, 17)
    assert schedule.following(period).key == "2028-W01"
    assert schedule.following(period).start_ts == local(2028, 1, 3)


def test_monthly_by_the_fifth_across_february_of_a_leap_year() -> None:
    schedule = Schedule(Frequency.MONTHLY, SHANGHAI, DueRule(day=5), timedelta(days=1))
    jan = schedule.period_at(local(2028, 1, 31, 23, 59, 59))
    assert jan is not None
    assert jan.key == "2028-01"
    feb = schedule.following(jan)
    assert feb.key == "2028-02"
    assert feb.end_ts - feb.start_ts == 29 * 86400
    # Due at the end of the 5th, overdue a day later.
    assert schedule.due(feb).timestamp() == local(2028, 2, 6)
    assert schedule.deadline(feb).timestamp() == local(2028, 2, 7)
    walk = [
        local(2028, 2, 1),
        local(2028, 2, 6, 0, 0),
        local(2028, 2, 6, 23, 59, 59),
        local(2028, 2, 7),
        local(2028, 2, 29, 23, 59, 59),
    ]
    assert states(schedule, walk) == ["open", "open", "open", "overdue", "overdue"]
    assert schedule.state(feb, local(2028, 3, 1), None) is RoundState.MISSED
    assert schedule.state(feb, local(2028, 3, 1), local(2028, 2, 20)) is RoundState.DONE_LATE
    assert schedule.state(feb, local(2028, 3, 1), local(2028, 2, 6, 12)) is RoundState.DONE


@pytest.mark.parametrize(
    ("year", "last_day"),
    [(2027, 28), (2028, 29), (2100, 28), (2000, 29)],
)
def test_a_day_past_the_month_end_clamps_to_its_last_day(year: int, last_day: int) -> None:
    schedule = Schedule(Frequency.MONTHLY, SHANGHAI, DueRule(day=31, minutes=12 * 60))
    feb = schedule.period_at(local(year, 2, 10))
    assert feb is not None
    assert schedule.due(feb).timestamp() == local(year, 2, last_day, 12)


def test_quarterly_by_the_twentieth_of_the_first_month_across_the_year_end() -> None:
    schedule = Schedule(Frequency.QUARTERLY, SHANGHAI, DueRule(month=1, day=20), timedelta(days=2))
    q4 = schedule.period_at(local(2027, 12, 31, 23, 59, 59))
    assert q4 is not None
    assert q4.key == "2027-Q4"
    assert q4.start_ts == local(2027, 10, 1)
    assert schedule.due(q4).timestamp() == local(2027, 10, 21)
    q1 = schedule.following(q4)
    assert (q1.key, q1.start_ts, q1.end_ts) == ("2028-Q1", local(2028, 1, 1), local(2028, 4, 1))
    walk = [
        local(2028, 1, 1),
        local(2028, 1, 22, 23, 59, 59),  # due the 21st 00:00, grace 2 days
        local(2028, 1, 23),
        local(2028, 3, 31, 23, 59, 59),
    ]
    assert states(schedule, walk) == ["open", "open", "overdue", "overdue"]
    assert schedule.state(q1, local(2028, 4, 1), None) is RoundState.MISSED
    assert [p.key for p in schedule.periods(local(2027, 11, 1), local(2029, 1, 1))] == [
        "2027-Q4", "2028-Q1", "2028-Q2", "2028-Q3", "2028-Q4",
    ]  # fmt: skip


def test_quarterly_due_in_the_second_month_lands_on_the_leap_day() -> None:
    schedule = Schedule(Frequency.QUARTERLY, SHANGHAI, DueRule(month=2, day=29, minutes=600))
    q1_2028 = schedule.period_at(local(2028, 1, 5))
    q1_2027 = schedule.period_at(local(2027, 1, 5))
    assert q1_2028 is not None
    assert q1_2027 is not None
    assert schedule.due(q1_2028).timestamp() == local(2028, 2, 29, 10)
    assert schedule.due(q1_2027).timestamp() == local(2027, 2, 28, 10)


def test_yearly_periods_have_366_days_in_a_leap_year() -> None:
    schedule = Schedule(Frequency.YEARLY, SHANGHAI, DueRule(month=4, day=30), timedelta(days=7))
    y2028 = schedule.period_at(local(2028, 12, 31, 23, 59, 59))
    assert y2028 is not None
    assert y2028.key == "2028"
    assert y2028.end_ts - y2028.start_ts == 366 * 86400
    y2027 = schedule.preceding(y2028)
    assert y2027 is not None
    assert y2027.end_ts - y2027.start_ts == 365 * 86400
    assert schedule.deadline(y2028).timestamp() == local(2028, 5, 8)
    walk = [local(2028, 5, 7, 23, 59, 59), local(2028, 5, 8), local(2028, 12, 31, 23, 59, 59)]
    assert states(schedule, walk) == ["open", "overdue", "overdue"]
    assert schedule.state(y2028, local(2029, 1, 1), None) is RoundState.MISSED
    assert schedule.following(y2028).key == "2029"


def test_rrule_every_three_years_and_nothing_before_its_start() -> None:
    rule = parse_rrule("FREQ=YEARLY;INTERVAL=3;BYMONTH=10;BYMONTHDAY=1", datetime(2025, 10, 1))
    schedule = Schedule(
        Frequency.RRULE, SHANGHAI, DueRule(after=timedelta(days=30)), timedelta(days=7),
        rule=rule,
    )  # fmt: skip
    assert schedule.period_at(local(2025, 9, 30, 23, 59)) is None
    period = schedule.period_at(local(2028, 9, 30, 23, 59, 59))
    assert period is not None
    assert (period.key, period.start_ts, period.end_ts) == (
        "2025-10-01T00:00",
        local(2025, 10, 1),
        local(2028, 10, 1),
    )
    assert schedule.due(period).timestamp() == local(2025, 10, 31)
    assert schedule.following(period).key == "2028-10-01T00:00"
    assert [p.key for p in schedule.periods(local(2025, 1, 1), local(2031, 10, 2))] == [
        "2025-10-01T00:00", "2028-10-01T00:00", "2031-10-01T00:00",
    ]  # fmt: skip


def test_rrule_twice_a_week_periods_run_from_one_occurrence_to_the_next() -> None:
    rule = parse_rrule("RRULE:FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=8", datetime(2028, 1, 3, 8))
    schedule = Schedule(Frequency.RRULE, SHANGHAI, DueRule(after=timedelta(hours=6)), rule=rule)
    period = schedule.period_at(local(2028, 1, 5, 12))  # a Wednesday
    assert period is not None
    assert (period.start_ts, period.end_ts) == (local(2028, 1, 3, 8), local(2028, 1, 6, 8))
    assert schedule.due(period).timestamp() == local(2028, 1, 3, 14)
    previous = schedule.preceding(schedule.following(period))
    assert previous == period


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("FREQ=DAILY;COUNT=3", "without end"),
        ("FREQ=DAILY;UNTIL=20300101T000000", "without end"),
        ("every day", "expected an RRULE"),
        ("FREQ=SOMETIMES", "FREQ"),
        ("DTSTART:20240101T000000\nRRULE:FREQ=DAILY", "expected an RRULE"),
    ],
)
def test_bad_rrules_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_rrule(text, datetime(2024, 1, 1))

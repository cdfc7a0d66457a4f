"""Inspection periods, due times and round states, computed in the centre's local time zone.

Pure functions over an explicit ``now`` (Unix seconds) and a ``ZoneInfo``: a period is a span of
local calendar time (a day, an ISO week, a month, a quarter, a year, or the gap between two
occurrences of an iCalendar RRULE); its due time is placed by a ``DueRule`` inside it; the
round's state follows from ``now``, the due time, the grace period and when it was signed.
"""

from __future__ import annotations

import calendar as _gregorian
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

__all__ = [
    "DueRule",
    "Frequency",
    "Period",
    "RoundState",
    "Schedule",
    "parse_rrule",
    "round_state",
]


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    RRULE = "rrule"


class RoundState(StrEnum):
    """未开始 / 进行中 / 已完成 / 逾期完成 / 逾期 / 漏检."""

    UPCOMING = "upcoming"
    OPEN = "open"
    DONE = "done"
    DONE_LATE = "done_late"
    OVERDUE = "overdue"
    MISSED = "missed"


def round_state(
    *,
    now: float,
    opens: float,
    deadline: float,
    end: float,
    completed_at: float | None,
) -> RoundState:
    """The state of one round at ``now``.

    A round signed by its deadline (due time + grace) is done, later done-late. Unsigned, it is
    upcoming before its window opens, open until the deadline, overdue until the period ends,
    and missed after. A signature later than ``now`` does not count yet, so a report drawn
    "as of" a past instant sees the state of that instant.
    """
    if completed_at is not None and completed_at <= now:
        return RoundState.DONE if completed_at <= deadline else RoundState.DONE_LATE
    if now < opens:
        return RoundState.UPCOMING
    if now < deadline:
        return RoundState.OPEN
    if now < end:
        return RoundState.OVERDUE
    return RoundState.MISSED


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in local time; ``key`` names it for people and for the store."""

    start: datetime
    end: datetime
    key: str

    @property
    def start_ts(self) -> float:
        return self.start.timestamp()

    @property
    def end_ts(self) -> float:
        return self.end.timestamp()

    def contains(self, t: float) -> bool:
        return self.start_ts <= t < self.end_ts


@dataclass(frozen=True, slots=True)
class DueRule:
    """Where the due time falls in a period.

    Either ``after`` (an offset from the period start), or a calendar position: ``month``
    (1-based, within a quarter or a year), ``day`` (of that month, clamped to its length, so 31
    means the last day), ``weekday`` (0 = Monday) and ``minutes`` after local midnight of that
    day (1440 = the end of the day). ``opens_before`` limits how early the round may start;
    None means from the start of the period.
    """

    minutes: int = 1440
    after: timedelta | None = None
    month: int | None = None
    day: int | None = None
    weekday: int | None = None
    opens_before: timedelta | None = None


def parse_rrule(text: str, starts: datetime) -> rrule:
    """An RRULE (``FREQ=…;…``, optionally prefixed ``RRULE:``) anchored at naive local
    ``starts``. Raises ValueError for anything else, including rules that end."""
    body = text.strip().removeprefix("RRULE:")
    if not body.upper().startswith("FREQ="):
        raise ValueError("expected an RRULE such as FREQ=WEEKLY;BYDAY=MO")
    parts = {p.split("=", 1)[0].strip().upper() for p in body.split(";") if p.strip()}
    if parts & {"COUNT", "UNTIL"}:
        raise ValueError("an inspection plan recurs without end: remove COUNT/UNTIL")
    if "DTSTART" in body.upper():
        raise ValueError("give the first occurrence as `starts`, not DTSTART")
    rule = rrulestr(body, dtstart=starts)
    if not isinstance(rule, rrule):  # pragma: no cover - rrulestr returns a set only on request
        raise ValueError("expected a single RRULE")
    return rule


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


class Schedule:
    """The periods of one plan and where due times fall in them."""

    def __init__(
        self,
        frequency: Frequency,
        zone: ZoneInfo,
        due: DueRule,
        grace: timedelta = timedelta(0),
        *,
        rule: rrule | None = None,
    ) -> None:
        if (frequency is Frequency.RRULE) != (rule is not None):
            raise ValueError("an RRULE schedule needs its rule, and only it")
        self.frequency = frequency
        self.zone = zone
        self.due_rule = due
        self.grace = grace
        self._rule = rule

    # -- periods ---------------------------------------------------------------------------

    def _midnight(self, d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=self.zone)

    def _local(self, naive: datetime) -> datetime:
        return naive.replace(tzinfo=self.zone)

    def period_at(self, t: float) -> Period | None:
        """The period containing instant ``t``; None before an RRULE's first occurrence."""
        local = datetime.fromtimestamp(t, self.zone)
        d = local.date()
        match self.frequency:
            case Frequency.DAILY:
                return self._day(d)
            case Frequency.WEEKLY:
                return self._week(d - timedelta(days=d.weekday()))
            case Frequency.MONTHLY:
                return self._months(d.year, d.month, 1)
            case Frequency.QUARTERLY:
                return self._months(d.year, (d.month - 1) // 3 * 3 + 1, 3)
            case Frequency.YEARLY:
                return self._months(d.year, 1, 12)
            case Frequency.RRULE:
                assert self._rule is not None
                start = self._rule.before(local.replace(tzinfo=None), inc=True)
                return None if start is None else self._occurrence(start)
        raise AssertionError(self.frequency)  # pragma: no cover

    def _day(self, d: date) -> Period:
        return Period(self._midnight(d), self._midnight(d + timedelta(days=1)), d.isoformat())

    def _week(self, monday: date) -> Period:
        iso = monday.isocalendar()
        return Period(
            self._midnight(monday),
            self._midnight(monday + timedelta(days=7)),
            f"{iso.year}-W{iso.week:02d}",
        )

    def _months(self, year: int, month: int, length: int) -> Period:
        end_year, end_month = _add_months(year, month, length)
        if length == 1:
            key = f"{year}-{month:02d}"
        elif length == 3:
            key = f"{year}-Q{(month - 1) // 3 + 1}"
        else:
            key = f"{year}"
        return Period(
            self._midnight(date(year, month, 1)),
            self._midnight(date(end_year, end_month, 1)),
            key,
        )

    def _occurrence(self, start: datetime) -> Period:
        assert self._rule is not None
        end = self._rule.after(start)
        if end is None:  # pragma: no cover - rules with an end are rejected by parse_rrule
            raise ValueError("the RRULE has no further occurrence")
        return Period(self._local(start), self._local(end), start.strftime("%Y-%m-%dT%H:%M"))

    def following(self, period: Period) -> Period:
        """The period after ``period``."""
        if self.frequency is Frequency.RRULE:
            return self._occurrence(period.end.replace(tzinfo=None))
        nxt = self.period_at(period.end_ts)
        assert nxt is not None
        return nxt

    def preceding(self, period: Period) -> Period | None:
        """The period before ``period``; None before an RRULE's first occurrence."""
        if self.frequency is Frequency.RRULE:
            assert self._rule is not None
            start = self._rule.before(period.start.replace(tzinfo=None))
            return None if start is None else self._occurrence(start)
        return self.period_at(period.start_ts - 1)

    def periods(self, start: float, end: float) -> Iterator[Period]:
        """Every period that overlaps [start, end), in order."""
        period = self.period_at(start)
        if period is None:
            assert self._rule is not None
            first = self._rule.after(datetime.fromtimestamp(start, self.zone).replace(tzinfo=None))
            if first is None:  # pragma: no cover
                return
            period = self._occurrence(first)
        while period.start_ts < end:
            yield period
            period = self.following(period)

    # -- due times -------------------------------------------------------------------------

    def due(self, period: Period) -> datetime:
        rule = self.due_rule
        if rule.after is not None:
            return period.start + rule.after
        start = period.start.date()
        match self.frequency:
            case Frequency.DAILY:
                day = start
            case Frequency.WEEKLY:
                day = start + timedelta(days=rule.weekday or 0)
            case Frequency.MONTHLY | Frequency.QUARTERLY | Frequency.YEARLY:
                year, month = _add_months(start.year, start.month, (rule.month or 1) - 1)
                last = _gregorian.monthrange(year, month)[1]
                day = date(year, month, min(rule.day or 1, last))
            case _:  # pragma: no cover - config validation requires `after` for RRULE plans
                raise ValueError("an RRULE plan's due time is `after` its start")
        return self._midnight(day) + timedelta(minutes=rule.minutes)

    def opens(self, period: Period) -> datetime:
        if self.due_rule.opens_before is None:
            return period.start
        return max(period.start, self.due(period) - self.due_rule.opens_before)

    def deadline(self, period: Period) -> datetime:
        """Due time plus grace: past it, an unsigned round is overdue."""
        return self.due(period) + self.grace

    def state(self, period: Period, now: float, completed_at: float | None) -> RoundState:
        return round_state(
            now=now,
            opens=self.opens(period).timestamp(),
            deadline=self.deadline(period).timestamp(),
            end=period.end_ts,
            completed_at=completed_at,
        )

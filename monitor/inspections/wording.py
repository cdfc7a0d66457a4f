"""When a round is due, in words relative to now in the centre's time zone, as the duty page
says it: 今天 18:00 截止 / due today 18:00, 明天 …/tomorrow, 周三 …/Wed for the days of the
coming week, a date further away; 已逾期 2 天 / 2 days overdue.

A time at local midnight is the end of the day before (24:00), as the centre reads a due
time: the end of the 5th is "5th 24:00", not "6th 00:00".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Words", "day_and_time", "due_words", "opens_words", "overdue_words"]

WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class Words:
    """One phrase in Chinese and in English."""

    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} {self.en}"


def _wall(t: float, zone: ZoneInfo, *, end_of_day: bool) -> tuple[date, str]:
    """The local day and HH:MM of ``t``; with ``end_of_day``, midnight is 24:00 of the day
    before."""
    local = datetime.fromtimestamp(t, zone)
    if end_of_day and (local.hour, local.minute, local.second) == (0, 0, 0):
        return local.date() - timedelta(days=1), "24:00"
    return local.date(), f"{local:%H:%M}"


def day_and_time(t: float, now: float, zone: ZoneInfo, *, end_of_day: bool = True) -> Words:
    """``t`` as a day relative to ``now`` and a time: 今天 18:00 / today 18:00, 明天 / tomorrow,
    昨天 / yesterday, the weekday within the coming week, else the date."""
    day, clock = _wall(t, zone, end_of_day=end_of_day)
    today = datetime.fromtimestamp(now, zone).date()
    days = (day - today).days
    if days == 0:
        return Words(f"今天 {clock}", f"today {clock}")
    if days == 1:
        return Words(f"明天 {clock}", f"tomorrow {clock}")
    if days == -1:
        return Words(f"昨天 {clock}", f"yesterday {clock}")
    if 1 < days < 7:
        weekday = day.weekday()
        return Words(f"{WEEKDAYS_ZH[weekday]} {clock}", f"{WEEKDAYS_EN[weekday]} {clock}")
    return Words(f"{day:%Y-%m-%d} {clock}", f"{day:%Y-%m-%d} {clock}")


def due_words(due: float, now: float, zone: ZoneInfo) -> Words:
    """今天 18:00 截止 / due today 18:00."""
    when = day_and_time(due, now, zone)
    return Words(f"{when.zh} 截止", f"due {when.en}")


def opens_words(opens: float, now: float, zone: ZoneInfo) -> Words:
    """明天 00:00 开始 / opens tomorrow 00:00 (a start at midnight is that day's 00:00)."""
    when = day_and_time(opens, now, zone, end_of_day=False)
    return Words(f"{when.zh} 开始", f"opens {when.en}")


def overdue_words(deadline: float, now: float) -> Words:
    """How long past its deadline: 已逾期 2 天 / 2 days overdue, in whole days, else hours,
    else minutes (at least one)."""
    late = max(now - deadline, 0.0)
    for size, zh, one, many in (
        (86400, "天", "day", "days"),
        (3600, "小时", "hour", "hours"),
        (60, "分钟", "minute", "minutes"),
    ):
        count = int(late // size)
        if count >= 1 or size == 60:
            count = max(count, 1)
            return Words(f"已逾期 {count} {zh}", f"{count} {one if count == 1 else many} overdue")
    raise AssertionError  # pragma: no cover - the loop always returns

"""Reporting periods: a calendar month (``2026-11``) or quarter (``2026-Q4``) in the centre's
time zone, as the half-open interval ``[start, end)`` between two local midnights.

A month in a zone with daylight saving is not 30 × 86,400 s: the bounds are local midnights, so
the period is as long as the wall clock says. A period that has not ended yet is cut at the
moment of the report (``Period.until``) and says so (``partial``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.availability.errors import PeriodError

__all__ = ["Period", "month", "quarter"]

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)``, both aware datetimes in the centre's zone; ``label`` as it was asked
    for (``2026-11``, ``2026-Q4``)."""

    label: str
    start: datetime
    end: datetime
    #: Cut short at the time of the report: the period has not ended yet.
    partial: bool = False

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise PeriodError("a period's bounds must carry a time zone")
        if self.end.timestamp() <= self.start.timestamp():
            raise PeriodError(f"period {self.label} ends before it starts")

    @property
    def seconds(self) -> float:
        # Not end - start: between datetimes of the same zone that is wall-clock time.
        return self.end.timestamp() - self.start.timestamp()

    def until(self, now: datetime) -> Period:
        """This period, or the part of it before ``now`` when it has not ended yet.

        Raises PeriodError when the period has not begun."""
        if now <= self.start:
            raise PeriodError(f"period {self.label} has not begun yet")
        if now >= self.end:
            return self
        return replace(self, end=now.astimezone(self.start.tzinfo), partial=True)


def _local_midnight(year: int, month_: int, tz: ZoneInfo) -> datetime:
    return datetime(year, month_, 1, tzinfo=tz)


def month(text: str, timezone: str) -> Period:
    """The calendar month ``YYYY-MM`` in ``timezone``. Raises PeriodError."""
    match = _MONTH.fullmatch(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1970:
        raise PeriodError(f"expected a month YYYY-MM, got {text!r}")
    year, m = int(match.group(1)), int(match.group(2))
    tz = ZoneInfo(timezone)
    end = _local_midnight(year + 1, 1, tz) if m == 12 else _local_midnight(year, m + 1, tz)
    return Period(f"{year:04d}-{m:02d}", _local_midnight(year, m, tz), end)


def quarter(text: str, timezone: str) -> Period:
    """The calendar quarter ``YYYY-Qn`` in ``timezone``. Raises PeriodError."""
    match = _QUARTER.fullmatch(text.strip())
    if match is None or int(match.group(1)) < 1970:
        raise PeriodError(f"expected a quarter YYYY-Qn (n 1–4), got {text!r}")
    year, q = int(match.group(1)), int(match.group(2))
    tz = ZoneInfo(timezone)
    first = 3 * (q - 1) + 1
    end = _local_midnight(year + 1, 1, tz) if q == 4 else _local_midnight(year, first + 3, tz)
    return Period(f"{year:04d}-Q{q}", _local_midnight(year, first, tz), end)

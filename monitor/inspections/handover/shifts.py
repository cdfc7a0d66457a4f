"""The duty shifts (班次) from the configuration's change-over times: which shift an instant
falls in, the one before it, and a shift named by its key.

A shift begins at one of the change-over times (``08:00``, ``20:00``, in the centre's time
zone) and runs until the next one, across midnight when it must. Its key is its local start,
``2026-12-06T08:00``: what the store, the API and the command line call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Shift", "ShiftPlan"]

KEY_FORMAT = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True, slots=True)
class Shift:
    """[start, end) in the centre's time zone."""

    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        return self.start.strftime(KEY_FORMAT)

    @property
    def start_ts(self) -> float:
        return self.start.timestamp()

    @property
    def end_ts(self) -> float:
        return self.end.timestamp()

    @property
    def label(self) -> str:
        """As the duty room says it: ``12-06 08:00–20:00``."""
        return f"{self.start:%m-%d %H:%M}–{self.end:%H:%M}"

    @property
    def night(self) -> bool:
        """A shift that crosses midnight is the night shift (夜班)."""
        return self.end.date() != self.start.date()

    def name(self) -> tuple[str, str]:
        return ("夜班", "night shift") if self.night else ("白班", "day shift")


class ShiftPlan:
    """The change-over times of one centre."""

    def __init__(self, times: list[str] | tuple[str, ...], zone: ZoneInfo) -> None:
        parsed = sorted({time.fromisoformat(t) for t in times})
        if not parsed:
            raise ValueError("a duty rota needs at least one change-over time")
        self.times = tuple(parsed)
        self.zone = zone

    def _starts(self, day: date) -> list[datetime]:
        return [datetime.combine(day, t, tzinfo=self.zone) for t in self.times]

    def at(self, t: float) -> Shift:
        """The shift ``t`` falls in."""
        today = datetime.fromtimestamp(t, self.zone).date()
        starts = [
            s for d in (-1, 0, 1) for s in self._starts(today + timedelta(days=d))
        ]  # sorted: the days in order, each day's times in order
        current = max(s for s in starts if s.timestamp() <= t)
        following = min(s for s in starts if s.timestamp() > current.timestamp())
        return Shift(current, following)

    def previous(self, shift: Shift) -> Shift:
        return self.at(shift.start_ts - 1)

    def following(self, shift: Shift) -> Shift:
        return self.at(shift.end_ts)

    def by_key(self, key: str) -> Shift:
        """The shift that starts at ``key``; ValueError when none does."""
        try:
            start = datetime.strptime(key, KEY_FORMAT).replace(tzinfo=self.zone)
        except ValueError:
            raise ValueError(f"{key!r} is not a shift (YYYY-MM-DDTHH:MM)") from None
        shift = self.at(start.timestamp())
        if shift.start != start:
            times = ", ".join(f"{t:%H:%M}" for t in self.times)
            raise ValueError(f"no shift begins at {key} (shifts begin at {times})")
        return shift

"""Time lines of state: raw 0/1 samples into up / down / unknown over a period, and the
rules that combine many time lines into one.

Time is integer milliseconds since the epoch throughout (Prometheus stores milliseconds), so
sums over a month are exact. A time line is a tuple of ``Span``s that covers ``[start, end)``
without a hole, adjacent spans in different states.

How a series of samples becomes a time line: a sample holds from its timestamp until the next
sample, but never longer than the series' *staleness limit* (by default five minutes, Prometheus'
lookback: the time for which an instant query, an alert or a board would still show that
sample). Time that no sample covers is unknown — never up.

A series is kept as ``Run``s, not samples: consecutive samples of the same value at most the
staleness limit apart are one run, so a month of 30-second polls of a device that never failed
is one run, not 86,400 samples.
"""

from __future__ import annotations

import enum
import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

__all__ = [
    "STALENESS_S",
    "Run",
    "Span",
    "State",
    "combine",
    "compress",
    "covered",
    "merge_runs",
    "ms",
    "overlay",
    "spans_of",
    "state_at",
    "totals",
]

#: Prometheus' default lookback (``--query.lookback-delta``): how long a sample stands for.
STALENESS_S = 300.0


def ms(seconds: float) -> int:
    """Seconds since the epoch as integer milliseconds (Prometheus' own resolution)."""
    return round(seconds * 1000)


class State(enum.IntEnum):
    UP = 0
    DOWN = 1
    UNKNOWN = 2
    #: Planned work: neither up nor down, left out of the availability.
    MAINTENANCE = 3


@dataclass(frozen=True, slots=True)
class Span:
    """``[start, end)`` in milliseconds, in one state."""

    start: int
    end: int
    state: State

    @property
    def duration(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive samples of one value, none more than the staleness limit after the one
    before: they cover ``[first, last]`` without a gap."""

    first: int
    last: int
    value: bool


def compress(samples: Iterable[tuple[int, float]], staleness: int) -> list[Run]:
    """Time-ordered ``(ms, value)`` samples as runs; a value of 1 (or more) is true, anything
    else false; NaN is no sample. A repeated timestamp keeps its first sample."""
    runs: list[Run] = []
    previous: int | None = None
    for t, raw in samples:
        if math.isnan(raw) or (previous is not None and t <= previous):
            continue
        value = raw >= 1
        last = runs[-1] if runs else None
        if last is not None and last.value == value and t - last.last <= staleness:
            runs[-1] = Run(last.first, t, value)
        else:
            runs.append(Run(t, t, value))
        previous = t
    return runs


def merge_runs(parts: Iterable[Sequence[Run]], staleness: int) -> list[Run]:
    """The runs of one series read in pieces (chunks of a query, in any order, overlapping at
    their edges) as one sequence."""
    merged: list[Run] = []
    for run in sorted((r for part in parts for r in part), key=lambda r: (r.first, r.last)):
        last = merged[-1] if merged else None
        if last is not None and last.value == run.value and run.first - last.last <= staleness:
            # Also the same sample read twice, at the edge of two chunks.
            merged[-1] = Run(last.first, max(last.last, run.last), run.value)
        else:
            merged.append(run)
    return merged


def _append(out: list[Span], start: int, end: int, state: State) -> None:
    if end <= start:
        return
    if out and out[-1].state == state and out[-1].end == start:
        out[-1] = Span(out[-1].start, end, state)
    else:
        out.append(Span(start, end, state))


def spans_of(runs: Sequence[Run], start: int, end: int, staleness: int) -> list[Span]:
    """The time line of one series over ``[start, end)``: up where a true sample holds, down
    where a false one does, unknown where none does."""
    out: list[Span] = []
    cursor = start
    for i, run in enumerate(runs):
        reach = run.last + staleness
        if i + 1 < len(runs):
            reach = min(reach, runs[i + 1].first)
        a, b = max(run.first, start, cursor), min(reach, end)
        if b <= a:
            if run.first >= end:
                break
            continue
        _append(out, cursor, a, State.UNKNOWN)
        _append(out, a, b, State.UP if run.value else State.DOWN)
        cursor = b
    _append(out, cursor, end, State.UNKNOWN)
    return out


def covered(runs: Sequence[Run], start: int, end: int, staleness: int) -> list[tuple[int, int]]:
    """Where within ``[start, end)`` a true sample of the series holds."""
    return [(s.start, s.end) for s in spans_of(runs, start, end, staleness) if s.state == State.UP]


Rule = Callable[[Sequence[int]], State]


def combine(timelines: Sequence[Sequence[Span]], rule: Rule, start: int, end: int) -> list[Span]:
    """One time line from many over ``[start, end)``: at each moment ``rule`` gets how many of
    them are in each state (indexed by ``State``) and says what the combination is.

    Each input must cover ``[start, end)``. Cost grows with the number of spans, not with the
    number of time lines times the number of spans."""
    events: dict[int, list[int]] = {}
    for timeline in timelines:
        for span in timeline:
            events.setdefault(span.start, [0, 0, 0, 0])[span.state] += 1
            events.setdefault(span.end, [0, 0, 0, 0])[span.state] -= 1
    events.setdefault(start, [0, 0, 0, 0])
    events.setdefault(end, [0, 0, 0, 0])
    counts = [0, 0, 0, 0]
    out: list[Span] = []
    times = sorted(t for t in events if start <= t <= end)
    for here, after in pairwise(times):
        for state, delta in enumerate(events[here]):
            counts[state] += delta
        _append(out, here, after, rule(counts))
    return out


def overlay(timeline: Sequence[Span], windows: Iterable[tuple[int, int]]) -> list[Span]:
    """``timeline`` with the time inside any of ``windows`` in maintenance."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted(w for w in windows if w[1] > w[0]):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    if not merged:
        return list(timeline)
    out: list[Span] = []
    i = 0
    for span in timeline:
        cursor = span.start
        while i < len(merged) and merged[i][1] <= cursor:
            i += 1
        j = i
        while j < len(merged) and merged[j][0] < span.end:
            a, b = max(merged[j][0], cursor), min(merged[j][1], span.end)
            _append(out, cursor, a, span.state)
            _append(out, a, b, State.MAINTENANCE)
            cursor = b
            if merged[j][1] > span.end:
                break
            j += 1
        _append(out, cursor, span.end, span.state)
    return out


def state_at(timeline: Sequence[Span], t: int) -> State | None:
    """The state at ``t``, None outside the time line."""
    i = bisect_right([s.start for s in timeline], t) - 1
    if i < 0 or t >= timeline[i].end:
        return None
    return timeline[i].state


def totals(timeline: Iterable[Span]) -> dict[State, int]:
    """Milliseconds in each state."""
    out = dict.fromkeys(State, 0)
    for span in timeline:
        out[span.state] += span.duration
    return out

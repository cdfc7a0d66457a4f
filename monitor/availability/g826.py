"""E1 performance over a period (ITU-T G.826 as DS1-MIB counts it): errored, severely errored
and unavailable seconds per line, from the current 15-minute interval gauges
``trunkwatch_ds1_current_{errored,severely_errored,unavailable}_seconds`` (probes/snmp/profiles/
ds1_mib.yaml).

The gauges count up within an interval and restart at the next, so a period's total is the sum
of each interval's last reading, not an increase: a new interval can open with a count above
the last one's. An interval is told apart by ``dsx1TimeElapsed``
(``trunkwatch_ds1_interval_elapsed_seconds``, read in the same poll, so with the same
timestamp): a reading belongs to the interval that began ``elapsed`` seconds before it, and a
new one starts when that start moves by more than half an interval, or ``elapsed`` falls.
Without the elapsed gauge a fall of the count, or a gap of a whole interval, starts a new one.

An interval belongs to the period in which it began, so quarter-hour intervals never count in
two months; readings are needed up to one interval after the period's end. Seconds of an
interval after its last reading (a poll missed at its end) are not counted: the device's
interval history (dsx1IntervalTable) is not polled. Replicas read the same device: each line's
totals are the largest any one replica saw.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["COUNTERS", "ELAPSED", "INTERVAL_S", "E1Counts", "E1Line"]

#: One DS1-MIB current interval.
INTERVAL_S = 900
#: The period's totals, by the gauge they are read from.
COUNTERS: Mapping[str, str] = {
    "errored": "trunkwatch_ds1_current_errored_seconds",
    "severely_errored": "trunkwatch_ds1_current_severely_errored_seconds",
    "unavailable": "trunkwatch_ds1_current_unavailable_seconds",
}
ELAPSED = "trunkwatch_ds1_interval_elapsed_seconds"

_INTERVAL_MS = INTERVAL_S * 1000
# Labels of the line itself; the rest (replica, member, instance …) name who read it.
_NOT_SOURCE = frozenset({"__name__", "site", "asset", "system", "kind", "probe", "line", "circuit"})


@dataclass(frozen=True, slots=True)
class E1Line:
    """One E1 line's seconds over the period."""

    asset: str
    line: str
    circuit: str
    errored_seconds: float
    severely_errored_seconds: float
    unavailable_seconds: float
    #: 15-minute intervals read in the period.
    intervals: int

    @property
    def observed_seconds(self) -> int:
        return self.intervals * INTERVAL_S

    @property
    def errored_ratio(self) -> float | None:
        """ES ÷ available seconds observed (G.826's ESR), None without any."""
        available = self.observed_seconds - self.unavailable_seconds
        return self.errored_seconds / available if available > 0 else None

    @property
    def severely_errored_ratio(self) -> float | None:
        """SES ÷ available seconds observed (G.826's SESR), None without any."""
        available = self.observed_seconds - self.unavailable_seconds
        return self.severely_errored_seconds / available if available > 0 else None


@dataclass(frozen=True, slots=True)
class _Reading:
    t: int
    value: float
    #: Milliseconds into the interval, None without the elapsed gauge.
    elapsed: int | None


@dataclass(frozen=True, slots=True)
class _Piece:
    """Readings of one interval, first and last."""

    first: _Reading
    last: _Reading

    @property
    def start(self) -> int:
        """When the interval began, as well as the readings tell."""
        return self.first.t - (self.first.elapsed or 0)


def _new_interval(a: _Reading, b: _Reading) -> bool:
    """Whether reading ``b``, the next after ``a``, opens a new interval."""
    if a.elapsed is not None and b.elapsed is not None:
        moved = abs((b.t - b.elapsed) - (a.t - a.elapsed))
        return b.elapsed < a.elapsed or 2 * moved > _INTERVAL_MS
    return b.value < a.value or b.t - a.t >= _INTERVAL_MS


def _pieces(readings: Sequence[_Reading]) -> list[_Piece]:
    out: list[_Piece] = []
    for r in readings:
        if out and (r.t <= out[-1].last.t or not _new_interval(out[-1].last, r)):
            if r.t > out[-1].last.t:
                out[-1] = _Piece(out[-1].first, r)
            continue
        out.append(_Piece(r, r))
    return out


def _merge(pieces: Iterable[_Piece]) -> list[_Piece]:
    merged: list[_Piece] = []
    for p in sorted(pieces, key=lambda p: p.first.t):
        last = merged[-1] if merged else None
        if last is not None and (p.first.t <= last.last.t or not _new_interval(last.last, p.first)):
            if p.last.t > last.last.t:
                merged[-1] = _Piece(last.first, p.last)
            continue
        merged.append(p)
    return merged


Labels = Mapping[str, str]
_Key = tuple[tuple[str, str], ...]


class E1Counts:
    """The interval readings of every E1 line, fed a chunk of raw samples at a time (chunks in
    any order), summed over a period at the end."""

    def __init__(self) -> None:
        # (series labels without __name__, counter) → pieces of intervals
        self._pieces: dict[tuple[_Key, str], list[_Piece]] = {}

    def add(self, series: Iterable[tuple[Labels, Sequence[tuple[int, float]]]]) -> None:
        """One chunk: each series' labels (with ``__name__``) and its ``(ms, value)`` samples
        in time order. Series other than the DS1 gauges are ignored."""
        counters: dict[_Key, list[tuple[str, Sequence[tuple[int, float]]]]] = {}
        elapsed: dict[_Key, dict[int, float]] = {}
        names = {v: k for k, v in COUNTERS.items()}
        for labels, samples in series:
            name = labels.get("__name__", "")
            key = tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))
            if name == ELAPSED:
                elapsed.setdefault(key, {}).update(samples)
            elif name in names:
                counters.setdefault(key, []).append((names[name], samples))
        for key, found in counters.items():
            seconds_in = elapsed.get(key, {})
            for counter, samples in found:
                readings = []
                for t, v in samples:
                    e = seconds_in.get(t)
                    readings.append(_Reading(t, v, None if e is None else round(e * 1000)))
                self._pieces.setdefault((key, counter), []).extend(_pieces(readings))

    def lines(self, start: int, end: int) -> list[E1Line]:
        """Each line's totals over the intervals that began in ``[start, end)`` (ms)."""
        # line → counter → reader → (seconds, intervals)
        totals: dict[tuple[str, str], dict[str, dict[_Key, tuple[float, int]]]] = {}
        circuits: dict[tuple[str, str], str] = {}
        for (key, counter), pieces in self._pieces.items():
            labels = dict(key)
            ident = (labels.get("asset", ""), labels.get("line", ""))
            source = tuple((k, v) for k, v in key if k not in _NOT_SOURCE)
            counted = [p for p in _merge(pieces) if start <= p.start < end]
            value = sum(p.last.value for p in counted)
            totals.setdefault(ident, {}).setdefault(counter, {})[source] = (value, len(counted))
            circuits[ident] = circuits.get(ident) or labels.get("circuit", "")
        out = []
        for (asset, number), by_counter in sorted(totals.items()):
            best = {
                counter: max((v for v, _ in by_counter.get(counter, {}).values()), default=0.0)
                for counter in COUNTERS
            }
            intervals = max(
                (n for readers in by_counter.values() for _, n in readers.values()), default=0
            )
            out.append(
                E1Line(
                    asset,
                    number,
                    circuits[(asset, number)],
                    best["errored"],
                    best["severely_errored"],
                    best["unavailable"],
                    intervals,
                )
            )
        return out

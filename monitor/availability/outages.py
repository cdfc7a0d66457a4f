"""Outages and their root asset: whether an asset failed on its own (``down``) or only because an
asset above it in the topology failed (``unreachable``), and which asset that was.

An asset is *silent* while none of its probes succeeds (it answers nothing), the state in
which a failure upstream leaves it. The cause of a silent span of asset X is decided in the
order of the topology, the assets nearest the centre first:

1. Walk up from X's parent (nearest first). If the ancestor has a silent span that overlaps
   X's and began no later than ``grace`` after X's (the ancestor's own failure may be noticed a
   poll later than the child's), and X did not answer from ``grace`` after the ancestor fell
   silent until X did (then the path to X still worked), X is ``unreachable`` and its root is
   that span's root. If the ancestor answered when X fell silent, the path to X worked: stop.
   An ancestor without data at that moment is passed over.
2. Otherwise, if the monitor itself reported X's failures as ``reason="unreachable"`` for at
   least half of the span (it decides that from the topology at poll time), X is
   ``unreachable``; the root is the root of the nearest ancestor silent at the same time, else
   X's parent (None without a topology).
3. Otherwise X is ``down``: its root is X.

An availability outage (a span in which some probe fails) takes the cause of X's first silent
span within it; an outage in which X kept answering is X's own (``down``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from monitor.availability.timeline import Span, State, state_at

__all__ = ["Cause", "Outage", "Silences", "Topology", "attribute_silences", "cause_of_outage"]

CauseKind = Literal["down", "unreachable"]


@dataclass(frozen=True, slots=True)
class Cause:
    kind: CauseKind
    #: The asset whose own failure it was; None when upstream but not known which.
    root: str | None


@dataclass(frozen=True, slots=True)
class Outage:
    """``[start, end)`` in milliseconds; ``assets`` the assets down in it (one for an asset's
    outage, those that took part for a site's or a system's)."""

    start: int
    end: int
    cause: Cause
    assets: tuple[str, ...]

    @property
    def duration(self) -> int:
        return self.end - self.start


class Topology:
    """Each asset's nearest upstream asset (its parent, else its site's backhaul …), as
    ``monitor.inventory`` derives it."""

    def __init__(self, parents: Mapping[str, str | None]) -> None:
        self._parents = dict(parents)

    def parent(self, asset: str) -> str | None:
        return self._parents.get(asset)

    def upstream(self, asset: str) -> list[str]:
        """The assets between this one and the centre, nearest first (a cycle ends it)."""
        chain: list[str] = []
        seen = {asset}
        current = self._parents.get(asset)
        while current is not None and current not in seen:
            chain.append(current)
            seen.add(current)
            current = self._parents.get(current)
        return chain


def _overlap(spans: Sequence[tuple[int, int]], start: int, end: int) -> int:
    return sum(max(0, min(b, end) - max(a, start)) for a, b in spans)


class Silences:
    """Every asset's silent spans, in start order, with their causes as they are decided."""

    def __init__(self, answering: Mapping[str, Sequence[Span]]) -> None:
        self.answering = answering
        self.spans = {
            asset: [s for s in timeline if s.state == State.DOWN]
            for asset, timeline in answering.items()
        }
        self.starts = {asset: [s.start for s in spans] for asset, spans in self.spans.items()}
        self._answering_starts = {
            asset: [s.start for s in timeline] for asset, timeline in answering.items()
        }
        self.causes: dict[tuple[str, int], Cause] = {}

    def overlapping(self, asset: str, start: int, end: int) -> list[Span]:
        spans = self.spans.get(asset, [])
        i = max(0, bisect_right(self.starts.get(asset, []), start) - 1)
        out = []
        for span in spans[i:]:
            if span.start >= end:
                break
            if span.end > start:
                out.append(span)
        return out

    def answered(self, asset: str, start: int, end: int) -> bool:
        """Whether the asset answered at some moment of ``[start, end)``."""
        timeline = self.answering.get(asset, ())
        i = max(0, bisect_right(self._answering_starts.get(asset, []), start) - 1)
        for span in timeline[i:]:
            if span.start >= end:
                break
            if span.state == State.UP and span.end > start:
                return True
        return False

    def cause(self, asset: str, span: Span) -> Cause:
        # An ancestor in a cycle of the topology may not be decided yet: its own, then.
        return self.causes.get((asset, span.start), Cause("down", asset))


def _decide(
    asset: str,
    span: Span,
    topology: Topology,
    silences: Silences,
    reported: Mapping[str, Sequence[tuple[int, int]]],
    grace: int,
) -> Cause:
    chain = topology.upstream(asset)
    for ancestor in chain:
        timeline = silences.answering.get(ancestor)
        if timeline is None:
            continue
        for theirs in silences.overlapping(ancestor, span.start, span.end):
            if theirs.start <= span.start + grace and not silences.answered(
                asset, theirs.start + grace, span.start
            ):
                return Cause("unreachable", silences.cause(ancestor, theirs).root)
        if state_at(timeline, span.start) == State.UP:
            break
    if 2 * _overlap(reported.get(asset, ()), span.start, span.end) >= span.duration:
        for ancestor in chain:
            theirs_all = silences.overlapping(ancestor, span.start, span.end)
            if theirs_all:
                return Cause("unreachable", silences.cause(ancestor, theirs_all[0]).root)
        return Cause("unreachable", topology.parent(asset))
    return Cause("down", asset)


def attribute_silences(
    answering: Mapping[str, Sequence[Span]],
    topology: Topology,
    reported: Mapping[str, Sequence[tuple[int, int]]],
    grace: int,
) -> Silences:
    """Decide the cause of every silent span (the DOWN spans of each asset's ``answering``
    time line), the assets nearest the centre first."""
    silences = Silences(answering)
    for asset in sorted(answering, key=lambda a: (len(topology.upstream(a)), a)):
        for span in silences.spans[asset]:
            silences.causes[(asset, span.start)] = _decide(
                asset, span, topology, silences, reported, grace
            )
    return silences


def cause_of_outage(asset: str, start: int, end: int, silences: Silences) -> Cause:
    """The cause of the asset's outage ``[start, end)``: that of its first silent span within
    it, else its own failure."""
    for span in silences.overlapping(asset, start, end):
        return silences.cause(asset, span)
    return Cause("down", asset)

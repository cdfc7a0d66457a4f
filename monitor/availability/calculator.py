"""The availability account of a period: per asset, site and system, the time up, down, in
planned maintenance and without data, the outages with their root asset, MTTR and MTBF.

The rules (README, "Availability"):

- **Asset.** Each probe series is a time line (``timeline``: a sample holds until the next one,
  at most the staleness limit). As seen by one exporting process (a replica of an HA pair, a
  shard member: the series' labels other than site, asset, system, kind and probe), the asset
  is *down* while any of its probes fails, *up* while every probe it has data for succeeds
  (a probe without a fresh sample does not count against it), *unknown* while it has no fresh
  sample at all. Across processes, the asset is up while **any** of them sees it up, else down
  while any sees it down, else unknown.
- **Maintenance.** A window names an asset, or a site (every asset of it); time inside it is
  maintenance whatever the probes said, and is no outage.
- **Site and system.** The site (the system) is interrupted — *down* — while **any** of its
  assets is down outside planned work; else *unknown* while any asset is without data (time
  without data is never counted as up); else *up* while any asset is up; else (every asset in
  planned work) *maintenance*. That is what a supervisor means by "no unplanned interruption":
  a site's availability is the share of its known, unplanned time in which everything at it
  worked.
- **Outages** are the maximal down spans of a row's time line (planned work or a gap without
  data ends one). An asset's outage is ``down`` (its own) or ``unreachable`` (an asset above it
  failed) with its root asset (``outages``); a site's or system's outage takes the cause and
  root of the asset outage that began it, and lists every asset down in it.
- ``availability = up / (period − maintenance − unknown) = up / (up + down)``; None when the
  row has no known, unplanned time. ``MTTR = down / outages`` (the mean outage duration);
  ``MTBF = up / outages`` (operating time per failure, IEC 60050-192's estimate; with one
  outage it is all the up time); both None without an outage. Outages that run over the
  period's bounds count with their part inside it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from monitor.availability.g826 import E1Line
from monitor.availability.outages import (
    Cause,
    Outage,
    Topology,
    attribute_silences,
    cause_of_outage,
)
from monitor.availability.periods import Period
from monitor.availability.timeline import (
    STALENESS_S,
    Run,
    Span,
    State,
    combine,
    compress,
    covered,
    merge_runs,
    ms,
    overlay,
    spans_of,
    totals,
)

__all__ = [
    "SYSTEMS",
    "AssetInfo",
    "AvailabilityReport",
    "AvailabilityRow",
    "Level",
    "MaintenanceWindow",
    "ProbeSeries",
    "compute",
]

Level = Literal["asset", "site", "system"]
#: Systems in the order the duty room reports them; others follow by name.
SYSTEMS = ("line", "radio", "network", "platform", "power")


@dataclass(frozen=True, slots=True)
class ProbeSeries:
    """One raw series of an asset's probe (``trunkwatch_probe_success``, or the
    ``trunkwatch_probe_failure_info{reason="unreachable"}`` that says why it failed), as runs.

    ``source`` names the exporting process (a replica, a shard member), "" for a single one;
    ``site`` and ``system`` are the series' labels, used where no inventory names the asset.
    """

    asset: str
    probe: str
    runs: tuple[Run, ...]
    staleness_ms: int = ms(STALENESS_S)
    source: str = ""
    site: str = ""
    system: str = ""

    @classmethod
    def from_samples(
        cls,
        asset: str,
        probe: str,
        samples: Iterable[tuple[float, float]],
        *,
        staleness: float = STALENESS_S,
        source: str = "",
        site: str = "",
        system: str = "",
    ) -> ProbeSeries:
        """From ``(seconds since the epoch, value)`` samples in time order."""
        limit = ms(staleness)
        runs = compress(((ms(t), v) for t, v in samples), limit)
        return cls(asset, probe, tuple(runs), limit, source, site, system)

    @classmethod
    def from_runs(
        cls,
        asset: str,
        probe: str,
        parts: Iterable[Sequence[Run]],
        *,
        staleness: float = STALENESS_S,
        source: str = "",
        site: str = "",
        system: str = "",
    ) -> ProbeSeries:
        """From the runs of the series read in pieces (``timeline.compress`` of each chunk)."""
        limit = ms(staleness)
        return cls(asset, probe, tuple(merge_runs(parts, limit)), limit, source, site, system)

    def spans(self, start: int, end: int) -> list[Span]:
        return spans_of(self.runs, start, end, self.staleness_ms)


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """What the inventory says of an asset; ``parent`` is its nearest upstream asset."""

    id: str
    site: str
    system: str
    name: str = ""
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """Planned work on an asset, or on every asset of a site, over ``[start, end)``."""

    scope: Literal["asset", "site"]
    id: str
    start: datetime
    end: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AvailabilityRow:
    """One asset, site or system over the period. Durations in milliseconds; the
    ``*_seconds`` properties in seconds."""

    level: Level
    id: str
    name: str
    site: str | None
    system: str | None
    up_ms: int
    down_ms: int
    maintenance_ms: int
    unknown_ms: int
    outages: tuple[Outage, ...]
    e1_lines: tuple[E1Line, ...] = ()
    #: For a site or system, the assets it is made of.
    assets: tuple[str, ...] = field(default=())

    @property
    def availability(self) -> float | None:
        known = self.up_ms + self.down_ms
        return self.up_ms / known if known else None

    @property
    def up_seconds(self) -> float:
        return self.up_ms / 1000

    @property
    def down_seconds(self) -> float:
        return self.down_ms / 1000

    @property
    def maintenance_seconds(self) -> float:
        return self.maintenance_ms / 1000

    @property
    def unknown_seconds(self) -> float:
        return self.unknown_ms / 1000

    @property
    def mttr_seconds(self) -> float | None:
        return self.down_ms / len(self.outages) / 1000 if self.outages else None

    @property
    def mtbf_seconds(self) -> float | None:
        return self.up_ms / len(self.outages) / 1000 if self.outages else None


@dataclass(frozen=True, slots=True)
class AvailabilityReport:
    period: Period
    rows: tuple[AvailabilityRow, ...]
    generated: datetime
    source: str = ""
    staleness_s: float = STALENESS_S
    maintenance: tuple[MaintenanceWindow, ...] = ()

    def level(self, level: Level) -> list[AvailabilityRow]:
        return [r for r in self.rows if r.level == level]

    @property
    def outages(self) -> list[tuple[AvailabilityRow, Outage]]:
        """Every asset outage, in time order."""
        found = [(r, o) for r in self.level("asset") for o in r.outages]
        return sorted(found, key=lambda ro: (ro[1].start, ro[0].id))


# --- the rules, over counts of states (indexed by State) -----------------------------------


def _all_probes(n: Sequence[int]) -> State:
    """One process's view of an asset: down if a probe fails, up if every fresh one succeeds."""
    if n[State.DOWN]:
        return State.DOWN
    return State.UP if n[State.UP] else State.UNKNOWN


def _any_process(n: Sequence[int]) -> State:
    """Replicas: up if any process sees the asset up."""
    if n[State.UP]:
        return State.UP
    return State.DOWN if n[State.DOWN] else State.UNKNOWN


def _interrupted(n: Sequence[int]) -> State:
    """A site or system: down while any asset is down, unknown while any is without data."""
    for state in (State.DOWN, State.UNKNOWN, State.UP, State.MAINTENANCE):
        if n[state]:
            return state
    return State.UNKNOWN


def _system_key(system: str) -> tuple[int, str]:
    return (SYSTEMS.index(system) if system in SYSTEMS else len(SYSTEMS), system)


def _catalogue(success: Sequence[ProbeSeries], assets: Iterable[AssetInfo]) -> dict[str, AssetInfo]:
    found: dict[str, AssetInfo] = {}
    for series in success:
        if series.asset not in found:
            found[series.asset] = AssetInfo(series.asset, series.site, series.system)
    for info in assets:
        found[info.id] = info
    return found


def compute(
    period: Period,
    success: Iterable[ProbeSeries],
    *,
    assets: Iterable[AssetInfo] = (),
    site_names: Mapping[str, str] | None = None,
    maintenance: Sequence[MaintenanceWindow] = (),
    unreachable: Iterable[ProbeSeries] = (),
    e1: Iterable[E1Line] = (),
    grace: float = STALENESS_S,
    generated: datetime | None = None,
    source: str = "",
) -> AvailabilityReport:
    """The account of ``period`` from the raw probe series.

    ``assets`` (the inventory) adds the assets that sent nothing, names them and gives the
    topology; assets it does not know are taken from the series' labels. ``unreachable`` are
    the ``trunkwatch_probe_failure_info{reason="unreachable"}`` series. ``grace`` is how long
    after a child an upstream asset's failure may be noticed and still be its cause.
    """
    start, end = ms(period.start.timestamp()), ms(period.end.timestamp())
    success = list(success)
    catalogue = _catalogue(success, assets)

    by_asset: dict[str, dict[str, list[list[Span]]]] = {}
    for series in success:
        by_asset.setdefault(series.asset, {}).setdefault(series.source, []).append(
            series.spans(start, end)
        )
    unknown = [Span(start, end, State.UNKNOWN)]
    health: dict[str, list[Span]] = {}
    answering: dict[str, list[Span]] = {}
    for asset in catalogue:
        sources = by_asset.get(asset, {})
        views = [combine(probes, _all_probes, start, end) for probes in sources.values()]
        health[asset] = combine(views, _any_process, start, end) if views else unknown
        flat = [spans for probes in sources.values() for spans in probes]
        # Silent: no probe of any process succeeds (the asset answers nothing).
        answering[asset] = combine(flat, _any_process, start, end) if flat else unknown

    reported: dict[str, list[tuple[int, int]]] = {}
    for series in unreachable:
        reported.setdefault(series.asset, []).extend(
            covered(series.runs, start, end, series.staleness_ms)
        )
    topology = Topology({a: info.parent for a, info in catalogue.items()})
    silences = attribute_silences(answering, topology, reported, ms(grace))

    windows: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for w in maintenance:
        windows.setdefault((w.scope, w.id), []).append(
            (max(start, ms(w.start.timestamp())), min(end, ms(w.end.timestamp())))
        )
    lines: dict[str, list[E1Line]] = {}
    for line in e1:
        lines.setdefault(line.asset, []).append(line)

    effective: dict[str, list[Span]] = {}
    asset_rows: dict[str, AvailabilityRow] = {}
    for asset, info in catalogue.items():
        planned = windows.get(("asset", asset), []) + windows.get(("site", info.site), [])
        timeline = effective[asset] = overlay(health[asset], planned)
        outages = tuple(
            Outage(s.start, s.end, cause_of_outage(asset, s.start, s.end, silences), (asset,))
            for s in timeline
            if s.state == State.DOWN
        )
        asset_rows[asset] = _row(
            "asset",
            asset,
            info.name or asset,
            timeline,
            outages,
            site=info.site,
            system=info.system,
            e1_lines=tuple(lines.get(asset, ())),
        )

    rows = []
    levels: tuple[tuple[Level, dict[str, list[str]]], ...] = (("system", {}), ("site", {}))
    for asset, info in sorted(catalogue.items()):
        levels[0][1].setdefault(info.system, []).append(asset)
        levels[1][1].setdefault(info.site, []).append(asset)
    for level, groups in levels:
        for group in sorted(groups, key=_system_key if level == "system" else str):
            members = groups[group]
            timeline = combine([effective[a] for a in members], _interrupted, start, end)
            outages = _group_outages(timeline, [asset_rows[a] for a in members])
            name = group if level == "system" else (site_names or {}).get(group, group)
            rows.append(
                _row(
                    level,
                    group,
                    name,
                    timeline,
                    outages,
                    site=group if level == "site" else None,
                    system=group if level == "system" else None,
                    assets=tuple(members),
                )
            )
    rows += sorted(
        asset_rows.values(), key=lambda r: (_system_key(r.system or ""), r.site or "", r.id)
    )
    staleness = max((s.staleness_ms for s in success), default=ms(STALENESS_S))
    return AvailabilityReport(
        period,
        tuple(rows),
        generated or datetime.now(period.start.tzinfo),
        source,
        staleness / 1000,
        tuple(maintenance),
    )


def _group_outages(
    timeline: Sequence[Span], members: Sequence[AvailabilityRow]
) -> tuple[Outage, ...]:
    """A site's or system's outages: each down span, with the cause of the asset outage that
    began it and every asset down in it.

    An asset's outage lies within one of them: while an asset is down, so is its group."""
    downs = [s for s in timeline if s.state == State.DOWN]
    starts = [s.start for s in downs]
    inside: list[list[tuple[Outage, str]]] = [[] for _ in downs]
    for row in members:
        for o in row.outages:
            i = bisect_right(starts, o.start) - 1
            if i >= 0 and o.start < downs[i].end:
                inside[i].append((o, row.id))
    out = []
    for span, parts in zip(downs, inside, strict=True):
        parts.sort(key=lambda oa: (oa[0].start, oa[1]))
        cause = parts[0][0].cause if parts else Cause("down", None)
        assets = tuple(sorted({a for _, a in parts}))
        out.append(Outage(span.start, span.end, cause, assets))
    return tuple(out)


def _row(
    level: Level,
    ident: str,
    name: str,
    timeline: Sequence[Span],
    outages: tuple[Outage, ...],
    *,
    site: str | None,
    system: str | None,
    e1_lines: tuple[E1Line, ...] = (),
    assets: tuple[str, ...] = (),
) -> AvailabilityRow:
    spent = totals(timeline)
    return AvailabilityRow(
        level,
        ident,
        name,
        site,
        system,
        spent[State.UP],
        spent[State.DOWN],
        spent[State.MAINTENANCE],
        spent[State.UNKNOWN],
        outages,
        e1_lines,
        assets,
    )

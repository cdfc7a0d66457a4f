"""The regional account (区域容量与可用率报告): for every centre feeding a region's store
(VictoriaMetrics, or any Prometheus-compatible URL whose series carry a ``centre`` label), the
availability of each system and of its sites over the period, and its capacity plan, on one
self-contained page (``monitor/templates/region_report.html``) and as JSON.

Each centre's Prometheus adds ``centre`` as an external label, so the recording rules of
``alerts/recording.rules.yml`` arrive in the store already evaluated per centre; every query
here is the centre's own query scoped to its ``centre`` (``PrometheusHistory(centre=…)``), so
centres with sites of the same id never mix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.capacity.analysis import CapacityReport, PlanningOptions, analyse
from monitor.capacity.errors import HistoryQueryError
from monitor.capacity.history import Objectives
from monitor.capacity.prometheus_history import CENTRE_LABEL, PrometheusHistory
from monitor.web.pages import environment

__all__ = [
    "CentreAccount",
    "RegionError",
    "RegionReport",
    "SiteAvailability",
    "dumps",
    "region_json",
    "region_report",
    "render_region_html",
]

#: Systems in the order the duty room reports them (the four of the seed's rule, then power).
SYSTEMS = ("line", "radio", "network", "platform", "power")
#: Sites named per centre in the account: the worst below target.
_WORST_SITES = 5


@dataclass(frozen=True, slots=True)
class SiteAvailability:
    site: str
    name: str
    ratio: float


@dataclass(frozen=True, slots=True)
class CentreAccount:
    """One centre over the period. ``capacity`` is None when nothing was measured or the
    history could not be read (``problem`` says which)."""

    centre: str
    availability: dict[str, float]
    sites: int
    below_target: tuple[SiteAvailability, ...]
    capacity: CapacityReport | None
    problem: str | None = None

    @property
    def worst_sites(self) -> tuple[SiteAvailability, ...]:
        return self.below_target[:_WORST_SITES]

    @property
    def expansions(self) -> int:
        return len(self.capacity.expansions) if self.capacity else 0


@dataclass(frozen=True, slots=True)
class RegionReport:
    generated: datetime
    source: str
    start: datetime
    end: datetime
    target: float
    centres: tuple[CentreAccount, ...]


class RegionError(HistoryQueryError):
    """The store answers, but no series carries a ``centre`` label."""


async def region_report(
    base_url: str,
    start: datetime,
    end: datetime,
    *,
    options: PlanningOptions,
    objectives: Objectives,
    timezone: str = "Asia/Shanghai",
    target: float = 0.999,
    request_timeout: float = 30.0,
    progress: Callable[[str], None] | None = None,
) -> RegionReport:
    """Read every centre of the store at ``base_url`` over ``[start, end)``.

    Raises RegionError when no centre is found, HistoryUnavailable when the store does not
    answer; a centre whose capacity history cannot be read has its ``problem`` set instead."""
    region = PrometheusHistory(base_url, timeout=request_timeout)
    centres = await region.label_values(CENTRE_LABEL)
    if not centres:
        raise RegionError(
            f"{region.base_url}: no series carries a {CENTRE_LABEL!r} label; give each "
            f"centre's Prometheus external_labels: {{{CENTRE_LABEL}: <id>}}"
        )
    window = f"[{max(3600, int((end - start).total_seconds()))}s]"
    at = end.timestamp()
    accounts = []
    for centre in centres:
        if progress is not None:
            progress(centre)
        history = PrometheusHistory(
            base_url,
            timezone=timezone,
            objectives=objectives,
            timeout=request_timeout,
            centre=centre,
        )
        systems = await history.instant(
            f"avg by (system) (avg_over_time(system:trunkwatch_availability:ratio_avg1h{window}))",
            at,
        )
        sites = await history.instant(
            f"avg by (site) (avg_over_time(site:trunkwatch_availability:ratio_avg1h{window}))", at
        )
        names = await history.instant(
            f"max by (site, name) (last_over_time(trunkwatch_site_info{window}))", at
        )
        titles = {labels.get("site", ""): labels.get("name", "") for labels, _ in names}
        below = sorted(
            (
                SiteAvailability(labels.get("site", ""), titles.get(labels.get("site", ""), ""), v)
                for labels, v in sites
                if v < target
            ),
            key=lambda s: (s.ratio, s.site),
        )
        capacity: CapacityReport | None = None
        problem: str | None = None
        try:
            groups = await history.fetch(start, end)
        except HistoryQueryError as exc:
            problem = str(exc)
        else:
            if groups:
                capacity = analyse(
                    groups, options, generated=end, source=f"{region.base_url} {centre}"
                )
            else:
                problem = "no radio site or trunk group measured"
        accounts.append(
            CentreAccount(
                centre=centre,
                availability={labels.get("system", ""): v for labels, v in systems},
                sites=len(sites),
                below_target=tuple(below),
                capacity=capacity,
                problem=problem,
            )
        )
    return RegionReport(
        generated=datetime.now(start.tzinfo),
        source=region.base_url,
        start=start,
        end=end,
        target=target,
        centres=tuple(accounts),
    )


def _pct(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value * 100:.{digits}f} %"


_ENV = environment(filters={"pct": _pct}, globals={"systems": SYSTEMS})


def render_region_html(report: RegionReport, *, title: str = "") -> str:
    """The account as one self-contained HTML page: inline CSS, no scripts."""
    return _ENV.get_template("region_report.html").render(
        report=report, heading=title or "区域可用率与容量报告"
    )


def region_json(report: RegionReport) -> dict[str, Any]:
    """The account as plain data (for ``--json`` and tests)."""

    def capacity(c: CapacityReport | None) -> list[dict[str, Any]]:
        if c is None:
            return []
        return [
            {
                "group": g.name,
                "system": g.system,
                "units": g.plan.units,
                "units_to_add": g.units_to_add,
                "busy_hour_erlangs": g.forecast.busy_hour_erlangs if g.forecast else None,
            }
            for g in c.groups
        ]

    return {
        "source": report.source,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "target": report.target,
        "centres": {
            a.centre: {
                "availability": a.availability,
                "sites": a.sites,
                "below_target": [
                    {"site": s.site, "name": s.name, "ratio": s.ratio} for s in a.below_target
                ],
                "capacity": capacity(a.capacity),
                "expansions": a.expansions,
                "problem": a.problem,
            }
            for a in report.centres
        },
    }


def dumps(report: RegionReport) -> str:
    """``region_json`` as text."""
    return json.dumps(region_json(report), indent=2, ensure_ascii=False)

"""The capacity report (容量规划报告) as one self-contained HTML page, rendered from the Jinja
template ``monitor/templates/capacity_report.html``: the expansions needed, a table of every
radio site and trunk group, the major-incident days, a section per group (facts, chart,
worst-day loads) and the method. This module prepares what the template prints; the template
lays it out.

The template gets the report and these helpers: filters ``pct`` (a probability as a
percentage), ``fmt`` (Python's ``format``), ``anchor`` (a group's element id), ``spaceless``
(drops the line breaks between tags, so a table laid out over many lines is emitted as one);
functions ``breach`` (what the breach-date cell says), ``facts`` (a group's facts as text),
``recent_periods`` and ``traffic_chart`` (SVG markup).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from markupsafe import Markup

from monitor.capacity.analysis import CapacityReport, GroupReport
from monitor.capacity.busy_hours import PeriodLoad
from monitor.capacity.charts import traffic_chart
from monitor.capacity.erlang import GradeOfService
from monitor.web.pages import environment

__all__ = ["render_html"]

#: Periods shown in a group's table of worst-day loads, the most recent last.
_PERIODS_SHOWN = 12


def _escape(value: object) -> object:
    """Escape what the template prints as ``html.escape`` does (``&quot;``, ``&#x27;``),
    markup (a macro's output) excepted."""
    if hasattr(value, "__html__"):
        return value
    return Markup(html.escape(str(value), quote=True))  # noqa: S704 - escaped on this line


_BETWEEN_TAGS = re.compile(r">\s*\n\s*<")


def _spaceless(markup: Markup) -> Markup:
    """``markup`` without the whitespace that holds a line break between a ``>`` and a ``<``.

    Escaped text holds neither character, so only the template's own layout goes; a space
    between two inline elements (no line break) is kept.
    """
    return Markup(_BETWEEN_TAGS.sub("><", str(markup)).strip())  # noqa: S704 - already markup


def _pct(p: float | None) -> str:
    if p is None:
        return "—"
    if p >= 0.1:
        return f"{p * 100:.0f} %"
    if p >= 0.001:
        return f"{p * 100:.1f} %"
    return "< 0.1 %"


def _anchor(g: GroupReport) -> str:
    return f"{g.system}-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in g.name)


def _gos_text(gos: GradeOfService) -> str:
    """The objective in words, Chinese first: ``呼损率 P(blocked) ≤ 1 % (Erlang B)``."""
    if gos.model == "b":
        return f"呼损率 P(blocked) ≤ {gos.target * 100:g} % (Erlang B)"
    if gos.wait_s > 0:
        return (
            f"等待概率 P(wait > {gos.wait_s:g} s) ≤ {gos.target * 100:g} % (Erlang C, "
            f"hold {gos.hold_s:g} s)"
        )
    return f"等待概率 P(wait) ≤ {gos.target * 100:g} % (Erlang C)"


@dataclass(frozen=True, slots=True)
class _Breach:
    """What the table's breach-date cell says about a group, and how its row is marked.

    ``state``: ``unknown`` (no forecast), ``never``, ``over_throughout`` (over capacity on
    every day measured), ``over_since`` (``day``, within the history) or ``ahead`` (``day``,
    after it; ``soon`` when within the horizon). ``spread_days`` is the ± of about 95 %.
    """

    state: Literal["unknown", "never", "over_throughout", "over_since", "ahead"]
    day: date | None = None
    soon: bool = False
    spread_days: float | None = None

    @property
    def row_class(self) -> str:
        if self.state in ("over_throughout", "over_since"):
            return "over"
        return "soon" if self.soon else ""


def _breach(g: GroupReport) -> _Breach:
    f = g.forecast
    if f is None:
        return _Breach("unknown")
    if f.breach is None:
        return _Breach("never")
    if f.breach <= f.trend.start:
        return _Breach("over_throughout", f.breach)
    if f.breach <= (g.as_of or f.breach):
        return _Breach("over_since", f.breach)
    spread = None
    if g.breach_sd_days is not None and g.breach_sd_days >= 0.5:
        spread = 2 * g.breach_sd_days
    return _Breach("ahead", f.breach, f.breach <= f.horizon, spread)


def _facts(g: GroupReport) -> list[tuple[str, str]]:
    """The facts of a group's section, as (term, text) pairs."""
    f = g.forecast
    unit = "载波 carriers" if g.system == "radio" else "E1"
    facts: list[tuple[str, str]] = [
        ("资产 assets", ", ".join(g.group.assets) or "—"),
        (
            "配置 plan",
            f"{g.plan.units} {unit}, {g.plan.traffic_channels} 业务信道 traffic channels"
            f" ({g.plan.reserved} reserved)",
        ),
        ("服务等级 GoS target", _gos_text(g.gos)),
    ]
    if g.measured is not None:
        m = g.measured
        text = (
            f"{_pct(m.value)} over {m.hours} busy hours, {m.attempts} calls "
            f"(queued {_pct(m.queued_ratio)}, blocked {_pct(m.blocked_ratio)}"
        )
        if m.mean_wait_s is not None:
            text += f", mean wait of those served after queueing {m.mean_wait_s:.1f} s"
        facts.append(("实测 measured", text + ")"))
    if f is not None:
        facts += [
            (
                "忙时话务量 busy hour",
                f"{f.busy_hour_erlangs:.2f} E now (trend × busy-day factor "
                f"{g.busy_day_factor:.3f}), {f.horizon_erlangs:.2f} E on {f.horizon}",
            ),
            (
                "增长 growth",
                f"{f.trend.growth_per_week * 100:+.2f} % a week "
                f"(Theil–Sen over {f.trend.points} ordinary days)",
            ),
            (
                "预测 predicted",
                f"{_pct(f.predicted_gos)} now, {_pct(g.horizon_gos)} on {f.horizon} "
                "with the present channels",
            ),
        ]
        if f.breach is not None:
            spread = (
                f" (± {2 * g.breach_sd_days:.0f} days, about 95 %)"
                if g.breach_sd_days is not None
                else ""
            )
            facts.append(("超标 breach", f"{f.breach}{spread}"))
    r = g.recommendation
    if r is not None:
        if r.units_to_add:
            text = (
                f"+{r.units_to_add} ({r.current.units} → {r.proposed.units} {unit}, "
                f"{r.proposed.traffic_channels} channels) for {r.design_erlangs:.2f} E: "
                f"{_pct(r.predicted_gos)}"
            )
            if not r.feasible:
                text += " — beyond the most the site takes: split the traffic with a new site"
        else:
            text = f"none needed up to {f.horizon if f else '—'}"
        facts.append(("扩容 expansion", text))
    if g.problem:
        facts.append(("说明 note", g.problem))
    return facts


def _recent_periods(g: GroupReport) -> list[PeriodLoad]:
    """The last periods with a load or an incident day, oldest first."""
    return [p for p in g.periods if p.erlangs is not None or p.incidents][-_PERIODS_SHOWN:]


_ENV = environment(
    finalize=_escape,
    filters={"pct": _pct, "fmt": format, "anchor": _anchor, "spaceless": _spaceless},
    globals={
        "breach": _breach,
        "facts": _facts,
        "recent_periods": _recent_periods,
        "traffic_chart": traffic_chart,
    },
)


def render_html(report: CapacityReport, *, title: str = "", centre: str = "") -> str:
    """The report as one self-contained HTML page: inline CSS and SVG, no scripts."""
    targets = []
    if report.radio:
        targets.append(f"基站 radio: {_gos_text(report.radio[0].gos)}")
    if report.lines:
        targets.append(f"中继 trunks: {_gos_text(report.lines[0].gos)}")
    incidents = sorted(
        ((g, d) for g in report.groups for d in g.incidents), key=lambda gd: (gd[1].day, gd[0].name)
    )
    return _ENV.get_template("capacity_report.html").render(
        report=report,
        options=report.options,
        heading=title or "容量规划报告",
        centre=centre,
        gos_targets="; ".join(targets),
        incidents=incidents,
    )

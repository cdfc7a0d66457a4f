"""The SVG chart of one group in the capacity report: hourly carried traffic, daily busy hours
(incident days apart), the worst-N load per period, the planning trend, the capacity at target
before and after the recommended expansion, and the breach date. Inline SVG markup, no
scripts, so the report stays one self-contained file."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

from monitor.capacity.analysis import GroupReport

__all__ = ["traffic_chart"]

_DAY = timedelta(days=1)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _nice_step(span: float, target_ticks: int = 5) -> float:
    if span <= 0:
        return 1.0
    raw = span / target_ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= m * magnitude:
            return float(m * magnitude)
    return float(10.0 * magnitude)


class _Plot:
    """Maps days and Erlangs to SVG coordinates and collects the drawing."""

    W, H = 960, 320
    LEFT, RIGHT, TOP, BOTTOM = 58, 18, 18, 62

    def __init__(self, first: date, last: date, y_max: float) -> None:
        self.first = first
        self.days = max(1, (last - first).days)
        self.y_max = y_max if y_max > 0 else 1.0
        self.parts: list[str] = []

    def x0(self, day: date) -> float:
        """The left edge (midnight) of ``day``."""
        return self.LEFT + (day - self.first).days / self.days * (self.W - self.LEFT - self.RIGHT)

    def x(self, when: date | datetime) -> float:
        if isinstance(when, datetime):
            d = (when.date() - self.first).days + (when.hour + when.minute / 60) / 24
        else:
            d = (when - self.first).days + 0.5
        return self.LEFT + d / self.days * (self.W - self.LEFT - self.RIGHT)

    def y(self, erlangs: float) -> float:
        inner = self.H - self.TOP - self.BOTTOM
        return self.TOP + inner * (1.0 - min(erlangs, self.y_max * 1.5) / self.y_max)

    def add(self, element: str) -> None:
        self.parts.append(element)

    def svg(self, label: str) -> str:
        body = "".join(self.parts)
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.W} {self.H}" '
            f'role="img" aria-label="{_e(label)}" font-size="11" '
            f'font-family="sans-serif">{body}</svg>'
        )


def _points(pairs: Iterable[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in pairs)


def traffic_chart(g: GroupReport, worst: int) -> str | None:
    """The SVG markup of the chart of ``g`` up to its planning horizon, ``worst`` naming the
    per-period load in the legend; None when the group has no measured day to draw."""
    hours = g.group.traffic.hours
    f = g.forecast
    if not hours or not g.days:
        return None
    horizon_end = f.horizon if f else g.days[-1].day
    first = g.days[0].day
    last = max(horizon_end, g.days[-1].day) + _DAY
    proposed_cap = None
    if g.recommendation is not None and g.recommendation.units_to_add > 0:
        proposed_cap = g.gos.traffic_capacity(g.recommendation.proposed.traffic_channels)
    candidates = [h.carried_erlangs for h in hours] + [g.capacity_erlangs]
    if f is not None:
        candidates += [f.horizon_erlangs, f.busy_hour_erlangs]
    if proposed_cap is not None:
        candidates.append(proposed_cap)
    y_top = max(candidates) * 1.08
    step = _nice_step(y_top)
    y_max = math.ceil(y_top / step) * step
    p = _Plot(first, last, y_max)
    left, right = p.LEFT, p.W - p.RIGHT
    bottom = p.H - p.BOTTOM
    # Grid and axes.
    tick = 0.0
    for _ in range(40):
        if tick > y_max + 1e-9:
            break
        yy = p.y(tick)
        p.add(f'<line x1="{left}" y1="{yy:.1f}" x2="{right}" y2="{yy:.1f}" stroke="#e3e8ee"/>')
        p.add(
            f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#5b6b7c">'
            f"{tick:g}</text>"
        )
        tick += step
    p.add(
        f'<text x="14" y="{(p.TOP + bottom) / 2:.0f}" transform="rotate(-90 14 '
        f'{(p.TOP + bottom) / 2:.0f})" text-anchor="middle" fill="#5b6b7c">'
        "话务量 traffic (E)</text>"
    )
    span_days = (last - first).days
    every = 7 if span_days <= 120 else 14 if span_days <= 240 else 28
    day = first - timedelta(days=first.weekday())
    for _ in range(400):
        if day > last:
            break
        if day >= first:
            xx = p.x0(day)
            p.add(
                f'<line x1="{xx:.1f}" y1="{bottom}" x2="{xx:.1f}" y2="{bottom + 4}" '
                'stroke="#5b6b7c"/>'
            )
            p.add(
                f'<text x="{xx:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#5b6b7c">'
                f"{day:%m-%d}</text>"
            )
        day += timedelta(days=every)
    p.add(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#5b6b7c"/>')
    p.add(f'<line x1="{left}" y1="{p.TOP}" x2="{left}" y2="{bottom}" stroke="#5b6b7c"/>')
    # Hourly carried traffic, broken where hours are missing.
    runs: list[list[tuple[float, float]]] = []
    previous: datetime | None = None
    for h in hours:
        if previous is None or (h.start - previous) > timedelta(hours=1):
            runs.append([])
        runs[-1].append((p.x(h.start), p.y(h.carried_erlangs)))
        previous = h.start
    for run in runs:
        if len(run) > 1:
            p.add(
                f'<polyline points="{_points(run)}" fill="none" stroke="#9fb3c8" '
                'stroke-width="0.6"/>'
            )
    # Worst-N load per period.
    for period in g.periods:
        if period.erlangs is None:
            continue
        x0 = p.x0(max(period.start, first))
        x1 = p.x0(min(period.end + _DAY, last))
        yy = p.y(period.erlangs)
        p.add(
            f'<line x1="{x0:.1f}" y1="{yy:.1f}" x2="{x1:.1f}" y2="{yy:.1f}" stroke="#e67e22" '
            'stroke-width="2.2"><title>'
            f"{_e(period.start)}: worst {len(period.worst)} days {period.erlangs:.2f} E"
            "</title></line>"
        )
    # Daily busy hours; incident days apart.
    for d in g.days:
        xx, yy = p.x(d.start), p.y(d.erlangs)
        tip = f"{d.day} {d.start:%H:%M} {d.erlangs:.2f} E"
        if d.incident:
            p.add(
                f'<rect x="{xx - 4:.1f}" y="{yy - 4:.1f}" width="8" height="8" fill="#c0392b" '
                f'transform="rotate(45 {xx:.1f} {yy:.1f})"><title>重大事件 major incident '
                f"{_e(tip)}</title></rect>"
            )
        else:
            p.add(
                f'<circle cx="{xx:.1f}" cy="{yy:.1f}" r="2.4" fill="#1f5f99">'
                f"<title>{_e(tip)}</title></circle>"
            )
    # Capacity lines.
    yy = p.y(g.capacity_erlangs)
    p.add(
        f'<line x1="{left}" y1="{yy:.1f}" x2="{right}" y2="{yy:.1f}" stroke="#c0392b" '
        'stroke-width="1.6"/>'
        f'<text x="{right - 4}" y="{yy - 5:.1f}" text-anchor="end" fill="#c0392b">'
        f"目标容量 capacity at target {g.capacity_erlangs:.2f} E "
        f"({g.plan.units} × {_e(g.plan.unit_name)}, {g.plan.traffic_channels} ch)</text>"
    )
    if proposed_cap is not None and g.recommendation is not None:
        yy = p.y(proposed_cap)
        p.add(
            f'<line x1="{left}" y1="{yy:.1f}" x2="{right}" y2="{yy:.1f}" stroke="#1e8449" '
            'stroke-width="1.4" stroke-dasharray="7 4"/>'
            f'<text x="{right - 4}" y="{yy - 5:.1f}" text-anchor="end" fill="#1e8449">'
            f"扩容后 after expansion {proposed_cap:.2f} E "
            f"({g.recommendation.proposed.units} × {_e(g.plan.unit_name)})</text>"
        )
    # Planning trend: solid over the history, dashed beyond it.
    if f is not None:
        trend = f.trend
        as_of = g.days[-1].day
        past = [(p.x(d), p.y(trend.at(d))) for d in _date_range(trend.start, as_of)]
        future = [(p.x(d), p.y(trend.at(d))) for d in _date_range(as_of, f.horizon)]
        if len(past) > 1:
            p.add(
                f'<polyline points="{_points(past)}" fill="none" stroke="#6c3483" '
                'stroke-width="1.8"/>'
            )
        if len(future) > 1:
            p.add(
                f'<polyline points="{_points(future)}" fill="none" stroke="#6c3483" '
                'stroke-width="1.8" stroke-dasharray="5 4"/>'
            )
        if f.breach is not None and f.breach <= last:
            xx = p.x(f.breach)
            p.add(
                f'<line x1="{xx:.1f}" y1="{p.TOP}" x2="{xx:.1f}" y2="{bottom}" stroke="#c0392b" '
                'stroke-dasharray="3 3"/>'
                f'<text x="{xx + 4:.1f}" y="{p.TOP + 12}" fill="#c0392b">'
                f"超标 breach {f.breach}</text>"
            )
        xx = p.x(f.horizon)
        p.add(
            f'<line x1="{xx:.1f}" y1="{p.TOP}" x2="{xx:.1f}" y2="{bottom}" stroke="#5b6b7c" '
            'stroke-dasharray="1 3"/>'
        )
    # Legend.
    ly = p.H - 18
    legend = [
        (
            '<line x1="0" y1="0" x2="18" y2="0" stroke="#9fb3c8" stroke-width="1.5"/>',
            "每小时 hourly",
        ),
        ('<circle cx="9" cy="0" r="2.6" fill="#1f5f99"/>', "每日忙时 daily busy hour"),
        (
            '<rect x="5" y="-4" width="8" height="8" fill="#c0392b" transform="rotate(45 9 0)"/>',
            "重大事件 incident",
        ),
        (
            '<line x1="0" y1="0" x2="18" y2="0" stroke="#e67e22" stroke-width="2.2"/>',
            f"最忙 {worst} 日 worst-{worst} days",
        ),
        ('<line x1="0" y1="0" x2="18" y2="0" stroke="#6c3483" stroke-width="1.8"/>', "趋势 trend"),
    ]
    lx = float(left)
    for glyph, text in legend:
        p.add(
            f'<g transform="translate({lx:.0f},{ly})">{glyph}'
            f'<text x="24" y="4">{_e(text)}</text></g>'
        )
        lx += 34 + 7.2 * len(text)
    return p.svg(f"{g.group.title} traffic history")


def _date_range(a: date, b: date) -> Iterator[date]:
    day = a
    for _ in range(5000):
        if day > b:
            return
        yield day
        day += _DAY

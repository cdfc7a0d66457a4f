"""The duty board's site map, drawn without a tile server (the duty room is offline): each
site's ``coordinates`` projected into a fixed SVG box, markers kept apart, and a two-line label
(Chinese, English) beside each marker where it covers no other label or marker.

The projection is equirectangular (longitude scaled by the cosine of the middle latitude)
around the centre (the one site without a parent, else the middle of the sites), with each
site's distance from the centre compressed to its square root: bearings and the order of
distances stay true, while a city's districts a few kilometres apart get room beside counties
fifty kilometres out. The sites are then fitted into the box, centred, with room for the
labels at the edges. Sites a few hundred metres apart (the districts of a city centre) are
pushed apart until their markers no longer touch, and a label that had to move away from its
marker is joined to it by a leader line.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["MapSite", "PlacedSite", "SiteMap", "site_map", "text_width"]

#: The SVG's own units (viewBox): square, as the board's map panel is near enough on a wall
#: screen, a desk and a tablet; its labels are sized in these units.
WIDTH: Final = 480.0
HEIGHT: Final = 480.0
#: Room kept free of sites at the edges (a label fits beside a site at the edge).
PAD_X: Final = 60.0
PAD_Y: Final = 30.0
RADIUS: Final = 8.0
#: Markers closer than this are pushed apart.
SPACING: Final = 2 * RADIUS + 4
FONT_ZH: Final = 14.0
FONT_EN: Final = 10.5
LINE_GAP: Final = 1.5
GAP: Final = 4.0  # between a marker and its label

Box = tuple[float, float, float, float]  # left, top, right, bottom


@dataclass(frozen=True, slots=True)
class MapSite:
    """A site as the map needs it."""

    id: str
    name: str
    name_en: str | None
    coordinates: tuple[float, float] | None  # latitude, longitude
    parent: str | None


@dataclass(frozen=True, slots=True)
class PlacedSite:
    id: str
    x: float
    y: float
    #: The label's box: its left edge, the baselines of its two lines.
    label_x: float
    label_zh_y: float
    label_en_y: float
    #: Where a leader line from the marker meets the label (None: the label is beside it).
    leader: tuple[float, float] | None


@dataclass(frozen=True, slots=True)
class SiteMap:
    width: float
    height: float
    sites: tuple[PlacedSite, ...]
    #: Parent → child site, as lines between their markers.
    links: tuple[tuple[str, str], ...]
    #: Sites without coordinates: listed beside the map, not drawn.
    unplaced: tuple[str, ...]


def text_width(text: str, size: float) -> float:
    """The width of ``text`` at font ``size``, near enough: CJK characters are square, Latin
    letters a little over half as wide."""
    width = 0.0
    for char in text:
        if ord(char) >= 0x2E80:
            width += size
        elif char == " ":
            width += 0.3 * size
        else:
            width += 0.58 * size
    return width


def site_map(sites: Sequence[MapSite]) -> SiteMap:
    """The map of ``sites``; the same sites always give the same map (it is worked out once
    per configuration, not per update: states only colour it)."""
    return _layout(tuple(sites))


@functools.lru_cache(maxsize=4)
def _layout(sites: tuple[MapSite, ...]) -> SiteMap:
    located = [s for s in sites if s.coordinates is not None]
    points = _spread(_project(located))
    boxes = {s.id: _marker_box(points[s.id]) for s in located}
    labels: dict[str, PlacedSite] = {}
    placed: list[Box] = []
    for site in located:
        x, y = points[site.id]
        width = max(text_width(site.name, FONT_ZH), text_width(site.name_en or "", FONT_EN))
        height = FONT_ZH + LINE_GAP + (FONT_EN if site.name_en else 0)
        # Only what is within a label's reach of the marker can be in the way.
        reach = RADIUS + GAP + 5 * 12.0 + width + height
        near = (x - reach, y - reach, x + reach, y + reach)
        taken = [b for sid, b in boxes.items() if sid != site.id and _overlap(b, near)]
        taken += [b for b in placed if _overlap(b, near)]
        box, leader = _place_label(x, y, width, height, taken)
        placed.append(box)
        left, top = box[0], box[1]
        labels[site.id] = PlacedSite(
            site.id,
            round(x, 1),
            round(y, 1),
            round(left, 1),
            round(top + FONT_ZH * 0.88, 1),
            round(top + FONT_ZH + LINE_GAP + FONT_EN * 0.88, 1),
            (round(leader[0], 1), round(leader[1], 1)) if leader else None,
        )
    ids = {s.id for s in located}
    links = tuple((s.parent, s.id) for s in located if s.parent is not None and s.parent in ids)
    return SiteMap(
        WIDTH,
        HEIGHT,
        tuple(labels[s.id] for s in located),
        links,
        tuple(s.id for s in sites if s.coordinates is None),
    )


def _project(sites: Sequence[MapSite]) -> dict[str, tuple[float, float]]:
    """Equirectangular around the centre, distances from it compressed, then fitted and
    centred in the box inside the padding."""
    if not sites:
        return {}
    lats = [s.coordinates[0] for s in sites if s.coordinates]
    lons = [s.coordinates[1] for s in sites if s.coordinates]
    roots = [s for s in sites if s.parent is None]
    if len(roots) == 1 and roots[0].coordinates is not None:
        lat0, lon0 = roots[0].coordinates
    else:
        lat0, lon0 = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
    scale_x = math.cos(math.radians((min(lats) + max(lats)) / 2))
    flat = {
        s.id: ((s.coordinates[1] - lon0) * scale_x, (lat0 - s.coordinates[0]))
        for s in sites
        if s.coordinates is not None
    }
    reach = max(math.hypot(x, y) for x, y in flat.values())
    if reach > 0:
        flat = {i: _compress(x, y, reach) for i, (x, y) in flat.items()}
    xs, ys = [x for x, _ in flat.values()], [y for _, y in flat.values()]
    span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
    inner_w, inner_h = WIDTH - 2 * PAD_X, HEIGHT - 2 * PAD_Y
    if span_x == 0 and span_y == 0:
        scale = 0.0
    elif span_x == 0:
        scale = inner_h / span_y
    elif span_y == 0:
        scale = inner_w / span_x
    else:
        scale = min(inner_w / span_x, inner_h / span_y)
    # Centred: what the narrower side leaves free is split on both sides.
    left = (WIDTH - span_x * scale) / 2
    top = (HEIGHT - span_y * scale) / 2
    return {
        i: (left + (x - min(xs)) * scale, top + (y - min(ys)) * scale) for i, (x, y) in flat.items()
    }


def _compress(x: float, y: float, reach: float) -> tuple[float, float]:
    """The point at the same bearing from the centre, at the square root of its (relative)
    distance: a city's districts a few kilometres apart get room beside counties 50 km out,
    and every site keeps its direction and its rank in distance."""
    distance = math.hypot(x, y)
    if distance == 0:
        return 0.0, 0.0
    factor = reach * math.sqrt(distance / reach) / distance
    return x * factor, y * factor


def _spread(points: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Push markers that touch apart, a little at a time, each pair along the line joining
    them (deterministic: the same sites always land in the same places)."""
    ids = sorted(points)
    moved = {i: list(points[i]) for i in ids}
    for _ in range(60):
        changed = False
        # Swept along x: only markers less than SPACING apart across can touch.
        ids.sort(key=lambda i: (moved[i][0], i))
        for n, a in enumerate(ids):
            for b in ids[n + 1 :]:
                if moved[b][0] - moved[a][0] >= SPACING:
                    break
                dx = moved[b][0] - moved[a][0]
                dy = moved[b][1] - moved[a][1]
                distance = math.hypot(dx, dy)
                if distance >= SPACING:
                    continue
                if distance == 0:
                    dx, dy, distance = 1.0, 0.0, 1.0
                push = (SPACING - distance) / 2 + 0.1
                ux, uy = dx / distance, dy / distance
                moved[a][0] -= ux * push
                moved[a][1] -= uy * push
                moved[b][0] += ux * push
                moved[b][1] += uy * push
                changed = True
        if not changed:
            break
    return {
        i: (
            min(max(moved[i][0], RADIUS + 1), WIDTH - RADIUS - 1),
            min(max(moved[i][1], RADIUS + 1), HEIGHT - RADIUS - 1),
        )
        for i in ids
    }


def _marker_box(point: tuple[float, float]) -> Box:
    x, y = point
    return (x - RADIUS, y - RADIUS, x + RADIUS, y + RADIUS)


#: Directions to try a label in, best first: right, left, below, above, then the diagonals.
_DIRECTIONS: Final = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (1, 1), (-1, -1), (-1, 1))


def _place_label(
    x: float, y: float, width: float, height: float, taken: list[Box]
) -> tuple[Box, tuple[float, float] | None]:
    best: tuple[float, Box, tuple[float, float] | None] | None = None
    for step in range(6):
        reach = RADIUS + GAP + step * 12.0
        for dx, dy in _DIRECTIONS:
            left = x + reach if dx > 0 else x - reach - width if dx < 0 else x - width / 2
            top = y + reach if dy > 0 else y - reach - height if dy < 0 else y - height / 2
            box = (left, top, left + width, top + height)
            if box[0] < 0 or box[1] < 0 or box[2] > WIDTH or box[3] > HEIGHT:
                continue
            limit = best[0] if best is not None else math.inf
            overlap = 0.0
            for other in taken:
                overlap += _overlap(box, other)
                if overlap >= limit:
                    break  # no better than one already found
            # Away from the marker, or off its corner, a line says whose label it is.
            leader = _nearest_point(box, x, y) if step or (dx and dy) else None
            if overlap == 0:
                return box, leader
            if overlap < limit:
                best = (overlap, box, leader)
    if best is None:  # nowhere inside the box: beside the marker, whatever it covers
        box = (x + RADIUS + GAP, y - height / 2, x + RADIUS + GAP + width, y + height / 2)
        return box, None
    return best[1], best[2]


def _overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _nearest_point(box: Box, x: float, y: float) -> tuple[float, float]:
    return (min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3]))

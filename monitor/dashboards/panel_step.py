"""How Grafana turns a panel's ``interval``, ``maxDataPoints`` and time range into the step of
its Prometheus range queries, so a board's resolution can be chosen and checked without a
Grafana server.

Grafana 10/11 does it in two places, reproduced here:

1. the browser (``rangeutil.calculateInterval``): ``intervalMs`` is the range divided by
   ``maxDataPoints`` (the panel's width in pixels when unset), rounded down a ladder of
   "nice" durations, and raised to the panel's ``interval`` (else the datasource's
   ``timeInterval``, the scrape interval). ``$__interval`` is this value.
2. the Prometheus datasource's backend (``models.calculatePrometheusInterval``): the minimum
   is the target's own ``interval`` if set, else ``intervalMs``; the range divided by
   ``maxDataPoints`` is used if not below the minimum (rounded down its own, slightly
   different ladder), never finer than the range over 11,000 points (Prometheus refuses
   more), and multiplied by the target's ``intervalFactor``.

The start and end of the query are then rounded down to a multiple of the step, counted from
local midnight of the dashboard's time zone (``align``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "SAFE_RESOLUTION",
    "PanelStep",
    "align",
    "duration_ms",
    "max_data_points_for",
    "panel_step",
]

#: Prometheus answers at most 11,000 points per series; Grafana never asks for more.
SAFE_RESOLUTION: Final = 11_000
#: What Grafana's Prometheus datasource assumes when nothing says otherwise.
DEFAULT_SCRAPE_INTERVAL: Final = "15s"

_UNITS_MS: Final = {
    "ms": 1,
    "s": 1_000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "y": 31_536_000_000,
}
_DURATION: Final = re.compile(r"(\d+)(ms|[smhdwy])")

#: The rounding ladder both of Grafana's interval calculators share up to half a day:
#: (bound in ms, the interval used below it).
_LADDER: Final = (
    (10, 1), (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500),
    (1_500, 1_000), (3_500, 2_000), (7_500, 5_000), (12_500, 10_000), (17_500, 15_000),
    (25_000, 20_000), (45_000, 30_000), (90_000, 60_000), (210_000, 120_000),
    (450_000, 300_000), (750_000, 600_000), (1_050_000, 900_000), (1_500_000, 1_200_000),
    (2_700_000, 1_800_000), (5_400_000, 3_600_000), (9_000_000, 7_200_000),
    (16_200_000, 10_800_000), (32_400_000, 21_600_000), (86_400_000, 43_200_000),
)  # fmt: skip
#: The browser's ladder: (strictly below this many ms, use this many ms).
_BROWSER_LADDER: Final = (
    *_LADDER, (604_800_000, 86_400_000), (1_814_400_000, 604_800_000),
    (3_628_800_000, 2_592_000_000),
)  # fmt: skip
#: The backend's ladder: (at most this many ms, use this many ms); it differs at the top.
_BACKEND_LADDER: Final = (
    *_LADDER, (172_800_000, 86_400_000), (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
)  # fmt: skip
_YEAR_MS: Final = 31_536_000_000
_MONTH_MS: Final = 2_592_000_000


def duration_ms(text: str) -> int:
    """``"15s"``, ``"1h"``, ``"1d"`` … (or bare seconds, ``"30"``) in milliseconds."""
    text = text.strip()
    if text.isdigit():
        return int(text) * 1_000
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"not a Grafana duration: {text!r}")
    return int(match.group(1)) * _UNITS_MS[match.group(2)]


def _round_browser(ms: float) -> int:
    for below, nice in _BROWSER_LADDER:
        if ms < below:
            return nice
    return _YEAR_MS


def _round_backend(ms: float) -> int:
    for at_most, nice in _BACKEND_LADDER:
        if ms <= at_most:
            return nice
    return _MONTH_MS if ms < 3_628_800_000 else _YEAR_MS


@dataclass(frozen=True, slots=True)
class PanelStep:
    """What Grafana asks Prometheus for: the step, and ``$__interval`` in the expression."""

    step_ms: int
    interval_ms: int

    @property
    def step_s(self) -> float:
        return self.step_ms / 1_000


def panel_step(
    range_ms: int,
    *,
    max_data_points: int | None,
    panel_interval: str | None = None,
    datasource_interval: str = DEFAULT_SCRAPE_INTERVAL,
    target_interval: str = "",
    interval_factor: int = 1,
    width_px: int = 1_000,
) -> PanelStep:
    """The step of a range query over ``range_ms`` for a panel (``maxDataPoints``,
    ``interval``) and one of its targets (``interval``, ``intervalFactor``); without
    ``maxDataPoints`` Grafana uses the panel's width in pixels, ``width_px``."""
    if range_ms <= 0:
        raise ValueError("the range must be positive")
    resolution = max_data_points or width_px
    low = duration_ms(panel_interval or datasource_interval)
    interval_ms = max(low, _round_browser(range_ms / resolution))
    minimum = duration_ms(target_interval) if target_interval else interval_ms
    per_point = range_ms / resolution
    calculated = minimum if per_point < minimum else _round_backend(per_point)
    safe = _round_backend(range_ms / SAFE_RESOLUTION)
    return PanelStep(max(calculated, safe) * max(interval_factor, 1), interval_ms)


def max_data_points_for(range_ms: int, step: str) -> int:
    """The ``maxDataPoints`` that pins a panel's step to ``step`` (its ``interval``) over
    ``range_ms``: the range over it must fall just below the step, or the backend rounds it
    down its ladder (a day over 30 days would become 12 hours)."""
    return math.floor(range_ms / duration_ms(step)) + 1


def align(t_ms: int, step_ms: int, utc_offset_s: int = 0) -> int:
    """``t_ms`` rounded down to a multiple of the step counted from local midnight, as the
    backend aligns the start and end of every range query."""
    offset = utc_offset_s * 1_000
    return (t_ms + offset) // step_ms * step_ms - offset

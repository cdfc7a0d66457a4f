"""本月可用率 The month-to-date availability of each system against its target, for the NOC
board: the targets (``TARGETS``) and the bar gauge that holds each system to its own.

The figure is ``system:trunkwatch_availability:ratio_mtd`` (alerts/recording.rules.yml), counted
as ``trunkwatch availability report`` counts a month: up ÷ (time − planned maintenance − no
data), the month in the centre's time zone, so the board and the month's report agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import attr
from grafanalib import core as g

from monitor.dashboards import GREEN, RED, BarGauge, bargauge, steps, target

__all__ = ["METRIC", "SYSTEM_NAMES", "TARGETS", "availability_against_targets", "target_label"]

#: The recording rule the panel reads: one series per system, labelled with the month.
METRIC: Final = "system:trunkwatch_availability:ratio_mtd"

#: Availability targets (可用率目标) per system, the share of a month's known time outside
#: planned work in which every asset of the system worked. The lines (the 110 hotline's E1 and
#: SIP trunks) and the emergency platform carry every call: 99.99 %, about 4 minutes a month;
#: the radio network, the computer network and the sites' power: 99.9 %, about 43 minutes, the
#: region report's default target. The centre's own objectives replace these; rebuild the
#: boards (`trunkwatch dashboards build`) after a change.
TARGETS: Final[Mapping[str, float]] = MappingProxyType(
    {
        "radio": 0.999,
        "line": 0.9999,
        "network": 0.999,
        "platform": 0.9999,
        "power": 0.999,
    }
)

#: The systems in the duty board's words (monitor.duty.board.SYSTEMS).
SYSTEM_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "radio": "无线集群 Radio",
        "line": "有线通信 Lines",
        "network": "计算机网络 Network",
        "platform": "应急平台 Platform",
        "power": "动力环境 Power",
    }
)

#: The bars start here: every target lies above it, so a bar's length tells the margin.
_BARS_FROM = 0.99


def target_label(ratio: float) -> str:
    """A target as people read it: 0.9999 → "99.99%"."""
    return f"{ratio * 100:.6g}%"


def _held_to(system: str, ratio: float) -> dict[str, Any]:
    """The field override of one system: its name with its target, red below it, green at it."""
    return {
        "matcher": {"id": "byName", "options": system},
        "properties": [
            {
                "id": "displayName",
                "value": f"{SYSTEM_NAMES[system]}（目标 target {target_label(ratio)}）",
            },
            {
                "id": "thresholds",
                "value": {"mode": "absolute", "steps": steps((RED, None), (GREEN, ratio))},
            },
        ],
    }


def availability_against_targets(
    title: str, pos: g.GridPos, *, systems: str = "$system"
) -> BarGauge:
    """One bar per system: its availability this month, red below its target, green at or
    above it, the target in its name. ``systems`` is the regex of the systems shown."""
    bars = bargauge(
        title,
        [target(f'{METRIC}{{system=~"{systems}"}}', "{{system}}", instant=True)],
        pos,
        unit="percentunit",
        minimum=_BARS_FROM,
        maximum=1,
        decimals=3,
        # Any system without a target of its own is held to the strictest.
        thresholds=steps((RED, None), (GREEN, max(TARGETS.values()))),
        overrides=[_held_to(system, ratio) for system, ratio in TARGETS.items()],
        description="各系统本月（中心时区）至今的可用率：正常时间 ÷（时间 − 计划检修 − 无数据），"
        "与月度可用率报告的算法相同；低于目标为红，达到目标为绿。"
        " Each system's availability this month so far (the centre's time zone): up time ÷"
        " (time − planned maintenance − time without data), counted as the monthly"
        " availability report counts it; red below the system's target, green at or above it.",
    )
    # One colour per bar, the threshold's: a gradient would paint a bar above its target red
    # at its start.
    return attr.evolve(bars, display_mode="basic")

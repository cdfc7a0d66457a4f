"""What a traffic history is: the measured groups (radio sites and trunk groups) a history
source produces, the ``TrafficHistory`` protocol they come through, the grade-of-service
objectives they are judged by, and the local-hour arithmetic every source shares.

The sources are ``PrometheusHistory`` (``monitor.capacity.prometheus_history``) and
``SampleHistory`` (``monitor.capacity.sample_history``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from monitor.capacity.channels import SLOTS_PER_UNIT, ChannelPlan, System
from monitor.capacity.erlang import GradeOfService
from monitor.capacity.forecasting import SiteTraffic

__all__ = [
    "DEFAULT_LINE_GOS",
    "DEFAULT_RADIO_GOS",
    "HOUR_S",
    "GroupSystem",
    "MeasuredGroup",
    "Objectives",
    "Progress",
    "TrafficHistory",
    "call_count",
    "local_hour_ceil",
    "local_hour_floor",
    "plan_from_counts",
]

#: ``radio``: a TETRA site (its base stations summed); ``line``: an E1 trunk group (one
#: gateway). The values are the ``system`` label of the assets they come from.
GroupSystem = Literal["radio", "line"]

#: ``progress(done, total, what)``: called after each step of a long fetch.
Progress = Callable[[int, int, str], None]

#: TETRA queues a call when every traffic channel is busy: P(wait > 5 s) <= 5 %, with message
#: trunking holding a channel ~20 s (DOMAIN.md).
DEFAULT_RADIO_GOS = GradeOfService(0.05, "c", wait_s=5.0, hold_s=20.0)
#: Emergency trunk groups are sized for P.01 blocking (Erlang B).
DEFAULT_LINE_GOS = GradeOfService(0.01, "b")

#: Seconds in an hour: the step of every history.
HOUR_S = 3600


@dataclass(frozen=True, slots=True)
class Objectives:
    """The grade-of-service target of each kind of group."""

    radio: GradeOfService = DEFAULT_RADIO_GOS
    line: GradeOfService = DEFAULT_LINE_GOS

    def for_system(self, system: GroupSystem) -> GradeOfService:
        return self.radio if system == "radio" else self.line


@dataclass(frozen=True, slots=True)
class MeasuredGroup:
    """The measured traffic of one radio site or trunk group.

    ``traffic`` holds the hourly measurements and the channel plan in force at the end of the
    history (carriers or E1 spans); ``queue_wait_s`` the seconds served calls spent queued, per
    hour start (radio only; empty when the counter is not collected).
    """

    system: GroupSystem
    site: str
    assets: tuple[str, ...]
    title: str
    traffic: SiteTraffic
    queue_wait_s: Mapping[datetime, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.traffic.name


class TrafficHistory(Protocol):
    """Where measured traffic comes from: hourly carried traffic and call counts per group."""

    async def fetch(
        self, start: datetime, end: datetime, *, progress: Progress | None = None
    ) -> list[MeasuredGroup]:
        """The groups measured in ``[start, end)``, hours starting in that range."""
        ...


def plan_from_counts(
    system: GroupSystem, units: int | None, channels: int | None
) -> ChannelPlan | None:
    """The channel plan from the unit count (carriers, E1 spans) and the traffic channels
    configured; None when either is unknown or they contradict each other."""
    if units is None or units < 1:
        return None
    kind: System = "tetra" if system == "radio" else "e1"
    slots = SLOTS_PER_UNIT[kind] * units
    if channels is None:
        return ChannelPlan.tetra(units) if kind == "tetra" else ChannelPlan.e1(units)
    if not 0 < channels <= slots:
        return None
    return ChannelPlan(kind, units, slots - channels)


def local_hour_floor(t: float, tz: ZoneInfo) -> int:
    """The start of the local hour holding ``t``, in epoch seconds."""
    local = datetime.fromtimestamp(t, tz)
    return round(t - (local.minute * 60 + local.second + local.microsecond / 1e6))


def local_hour_ceil(t: float, tz: ZoneInfo) -> int:
    """The first local hour boundary at or after ``t``, in epoch seconds."""
    floor = local_hour_floor(t, tz)
    return floor if floor >= t else floor + HOUR_S


def call_count(value: float) -> int:
    """A summed counter increase as a whole number of calls; 0 where it was not measured."""
    return 0 if math.isnan(value) else max(0, round(value))

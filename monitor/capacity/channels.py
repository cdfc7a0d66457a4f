"""Channel arithmetic: how TETRA and PDT carriers and E1 spans divide into traffic channels, and
how many carriers or spans a number of channels (or a traffic at a GoS target) takes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from monitor.capacity.checks import check_channels, check_count
from monitor.capacity.erlang import Model, channels_needed

__all__ = [
    "SLOTS_PER_UNIT",
    "ChannelPlan",
    "System",
    "carriers_needed",
    "e1_needed",
    "pdt_traffic_channels",
    "tetra_traffic_channels",
    "units_needed",
]

#: ``tetra``: 25 kHz carriers of 4 timeslots; ``pdt``: 12.5 kHz carriers of 2 timeslots;
#: ``e1``: 2.048 Mbit/s spans of 30 voice channels.
System = Literal["tetra", "pdt", "e1"]


#: Timeslots (radio) or voice channels (E1) that one carrier or span brings.
SLOTS_PER_UNIT: dict[System, int] = {"tetra": 4, "pdt": 2, "e1": 30}


def tetra_traffic_channels(carriers: int, secondary_control: int = 0, packet_data: int = 0) -> int:
    """Traffic channels of a TETRA site: ``4·carriers - 1 (MCCH) - secondary - packet data``."""
    c = check_count("carriers", carriers, 1)
    sc = check_count("secondary_control", secondary_control, 0)
    pd = check_count("packet_data", packet_data, 0)
    tch = SLOTS_PER_UNIT["tetra"] * c - 1 - sc - pd
    if tch < 0:
        raise ValueError(f"{c} carrier(s) have fewer timeslots than the {1 + sc + pd} reserved")
    return tch


def pdt_traffic_channels(carriers: int, control: int = 1) -> int:
    """Traffic channels of a PDT site: ``2·carriers - control``."""
    c = check_count("carriers", carriers, 1)
    ctl = check_count("control", control, 0)
    tch = SLOTS_PER_UNIT["pdt"] * c - ctl
    if tch < 0:
        raise ValueError(f"{c} carrier(s) have fewer timeslots than the {ctl} reserved")
    return tch


def units_needed(system: System, channels: int, reserved: int = 0) -> int:
    """The fewest carriers (E1 spans) of ``system`` that leave ``channels`` traffic channels
    once ``reserved`` slots are set aside; at least 1."""
    if system not in SLOTS_PER_UNIT:
        raise ValueError(f"system must be one of {sorted(SLOTS_PER_UNIT)}, got {system!r}")
    n = check_channels(channels)
    r = check_count("reserved", reserved, 0)
    return max(1, -(-(n + r) // SLOTS_PER_UNIT[system]))


@dataclass(frozen=True, slots=True)
class ChannelPlan:
    """How a site's carriers (or a trunk group's E1 spans) divide into traffic channels.

    ``reserved`` counts the timeslots that carry no calls: the MCCH, secondary control and
    dedicated packet-data slots of a TETRA site, the control slots of a PDT site, none on E1
    (its framing and signalling timeslots are not among the 30). Build one with ``tetra``,
    ``pdt`` or ``e1``.
    """

    system: System
    units: int
    reserved: int

    def __post_init__(self) -> None:
        if self.system not in SLOTS_PER_UNIT:
            raise ValueError(f"system must be one of {sorted(SLOTS_PER_UNIT)}, got {self.system!r}")
        check_count("units", self.units, 1)
        check_count("reserved", self.reserved, 0)
        if self.traffic_channels < 0:
            raise ValueError(
                f"{self.units} {self.unit_name}(s) have fewer slots than the {self.reserved} "
                "reserved"
            )

    @classmethod
    def tetra(cls, carriers: int, secondary_control: int = 0, packet_data: int = 0) -> ChannelPlan:
        check_count("secondary_control", secondary_control, 0)
        check_count("packet_data", packet_data, 0)
        return cls("tetra", carriers, 1 + secondary_control + packet_data)

    @classmethod
    def pdt(cls, carriers: int, control: int = 1) -> ChannelPlan:
        return cls("pdt", carriers, control)

    @classmethod
    def e1(cls, spans: int) -> ChannelPlan:
        return cls("e1", spans, 0)

    @property
    def unit_name(self) -> str:
        return "E1" if self.system == "e1" else "carrier"

    @property
    def traffic_channels(self) -> int:
        return SLOTS_PER_UNIT[self.system] * self.units - self.reserved

    def units_for(self, channels: int) -> int:
        """The fewest carriers (spans) giving at least ``channels`` traffic channels; >= 1."""
        return units_needed(self.system, channels, self.reserved)

    def with_units(self, units: int) -> ChannelPlan:
        return replace(self, units=units)


def carriers_needed(
    traffic: float,
    target: float,
    model: Model = "c",
    *,
    wait_s: float = 0.0,
    hold_s: float | None = None,
    secondary_control: int = 0,
    packet_data: int = 0,
) -> int:
    """TETRA carriers a site needs for ``traffic`` at ``target`` (a delay system by default)."""
    reserved = (
        1
        + check_count("secondary_control", secondary_control, 0)
        + check_count("packet_data", packet_data, 0)
    )
    channels = channels_needed(traffic, target, model, wait_s=wait_s, hold_s=hold_s)
    return units_needed("tetra", channels, reserved)


def e1_needed(traffic: float, target: float) -> int:
    """E1 spans (30 voice channels each) a trunk group needs for ``traffic`` at ``target``
    blocking, the spans forming one full-availability group."""
    return units_needed("e1", channels_needed(traffic, target, "b"))

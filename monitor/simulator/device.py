"""What every simulated device shares: identity, uptime, power and crash state, parent link, and
IF-MIB interfaces whose octet counters grow with the daily profile.

A device is advanced lazily to the simulated instant it is asked about (``advance``); its
readings are then properties of that instant, so a poll costs what changed since the last one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Protocol

from monitor.simulator.signals import DailyProfile, key_of, unit_noise

__all__ = ["Device", "IfType", "Interface", "OperStatus"]

_COUNTER64 = 1 << 64


class OperStatus(IntEnum):
    """IF-MIB ifOperStatus values the simulator uses."""

    UP = 1
    DOWN = 2
    LOWER_LAYER_DOWN = 7


class IfType(IntEnum):
    """IANAifType values of the simulated interfaces."""

    ETHERNET = 6
    DS1 = 18
    SOFTWARE_LOOPBACK = 24


@dataclass(slots=True)
class Interface:
    """One IF-MIB interface: configuration, link state and lazily integrated octet counters.

    Octets grow at ``speed × utilisation`` where utilisation follows the daily profile around
    ``busy_utilisation`` (the busy-hour share of the line rate) with an hourly wobble. Counters
    start at a random point so that 32-bit wraps show up early, as on a long-running device.
    """

    index: int
    descr: str
    name: str
    alias: str = ""
    if_type: IfType = IfType.ETHERNET
    mtu: int = 1500
    speed_bps: int = 1_000_000_000
    busy_utilisation: float = 0.2
    out_in_ratio: float = 0.8
    admin_up: bool = True
    link_up: bool = True
    mac: bytes = b"\x00\x00\x00\x00\x00\x00"
    in_octets: float = 0.0
    out_octets: float = 0.0
    last_change_ticks: int = 0
    _key: int = 0
    _last: float = 0.0

    @classmethod
    def create(
        cls,
        index: int,
        descr: str,
        name: str,
        *,
        seed_key: int,
        start: float,
        alias: str = "",
        if_type: IfType = IfType.ETHERNET,
        mtu: int = 1500,
        speed_bps: int = 1_000_000_000,
        busy_utilisation: float = 0.2,
        out_in_ratio: float = 0.8,
    ) -> Interface:
        rng = random.Random(key_of(seed_key, "if", index))
        iface = cls(
            index,
            descr,
            name,
            alias=alias,
            if_type=if_type,
            mtu=mtu,
            speed_bps=speed_bps,
            busy_utilisation=busy_utilisation,
            out_in_ratio=out_in_ratio,
            mac=bytes([0x02, 0x54, *rng.randbytes(4)]),
            in_octets=float(rng.randrange(1 << 32)),
            out_octets=float(rng.randrange(1 << 32)),
        )
        iface._key = key_of(seed_key, "ifrate", index)
        iface._last = start
        return iface

    def oper_status(self, device_up: bool) -> OperStatus:
        if not (self.admin_up and device_up):
            return OperStatus.DOWN
        return OperStatus.UP if self.link_up else OperStatus.DOWN

    def advance(self, t: float, profile: DailyProfile, carrying: bool) -> None:
        """Integrate octets up to ``t``; ``carrying`` is whether traffic flowed since ``_last``."""
        if t <= self._last:
            return
        if carrying and self.admin_up and self.link_up:
            bytes_per_s = self.speed_bps / 8.0 * self.busy_utilisation
            key = self._key

            def rate(start: float, value: float) -> float:
                wobble = 1.0 + 0.15 * unit_noise(key, int(start // 3600))
                return bytes_per_s * (0.15 + 0.85 * value) * wobble

            octets = profile.integrate(self._last, t, rate)
            self.in_octets = (self.in_octets + octets) % _COUNTER64
            self.out_octets = (self.out_octets + octets * self.out_in_ratio) % _COUNTER64
        self._last = t

    # Error and packet counters are fixed fractions of the octets: monotonic, cheap, and
    # plausible (about one errored frame per few gigabytes on a healthy link).
    @property
    def in_ucast_pkts(self) -> int:
        return int(self.in_octets // 700)

    @property
    def out_ucast_pkts(self) -> int:
        return int(self.out_octets // 700)

    @property
    def in_errors(self) -> int:
        return int(self.in_octets // 4.0e9)

    @property
    def in_discards(self) -> int:
        return int(self.in_octets // 1.5e9)

    @property
    def out_discards(self) -> int:
        # Egress queues drop a little under load, like the ingress side.
        return int(self.out_octets // 2.0e9)

    @property
    def out_errors(self) -> int:
        return 0


class Placement(Protocol):
    """What every device spec says about where the device stands in the fleet."""

    @property
    def asset_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def location(self) -> str: ...
    @property
    def parent(self) -> str | None: ...
    @property
    def parent_port(self) -> int | None: ...


class Device:
    """A simulated asset: what the SNMP agent and the fault controls need from every kind.

    ``answering`` says whether its agent would reply if a packet reached it (powered, not
    crashed); whether packets reach it is the fleet's business (``uplink_up`` and parents).
    """

    kind: ClassVar[str] = "device"

    def __init__(
        self,
        spec: Placement,
        *,
        start: float,
        seed: int,
        profile: DailyProfile,
        descr: str = "",
    ) -> None:
        self.asset_id = spec.asset_id
        self.name = spec.name
        self.location = spec.location
        self.parent = spec.parent
        self.parent_port = spec.parent_port
        self.descr = descr
        self.profile = profile
        self.seed_key = key_of(seed, spec.asset_id)
        self.now = start
        self.boot_time = start - random.Random(self.seed_key).uniform(3 * 86400, 90 * 86400)
        self.crashed = False
        self.interfaces: list[Interface] = []

    # -- state -----------------------------------------------------------------------------

    @property
    def powered(self) -> bool:
        return True

    @property
    def answering(self) -> bool:
        return self.powered and not self.crashed

    @property
    def uplink_up(self) -> bool:
        """Whether the device's own link towards the monitoring network is up."""
        return True

    @property
    def uptime_s(self) -> float:
        return max(0.0, self.now - self.boot_time)

    @property
    def uptime_ticks(self) -> int:
        """sysUpTime in hundredths of a second, wrapping like a TimeTicks."""
        return int(self.uptime_s * 100) % (1 << 32)

    # -- time ------------------------------------------------------------------------------

    def advance(self, t: float) -> None:
        """Bring the device's state to simulated instant ``t`` (never backwards)."""
        if t <= self.now:
            return
        self._advance(t)
        self.now = t

    def _advance(self, t: float) -> None:
        self._advance_interfaces(t)

    def _advance_interfaces(self, t: float) -> None:
        carrying = self.answering
        for iface in self.interfaces:
            iface.advance(t, self.profile, carrying)

    # -- faults ----------------------------------------------------------------------------

    def reboot(self, t: float) -> None:
        """Restart the agent: sysUpTime and the device's counters start again from zero."""
        self.advance(t)
        self.boot_time = t
        ticks = 0
        for iface in self.interfaces:
            iface.in_octets = iface.out_octets = 0.0
            iface.last_change_ticks = ticks

    def set_crashed(self, crashed: bool, t: float) -> None:
        """The device stops answering (``True``); clearing it boots the device again."""
        self.advance(t)
        if crashed == self.crashed:
            return
        self.crashed = crashed
        self._on_service_change(t)
        if not crashed:
            self.reboot(t)

    def _on_service_change(self, t: float) -> None:
        """Hook for subclasses: ``answering`` may have changed at ``t``."""

    def mark_link_change(self, iface: Interface) -> None:
        iface.last_change_ticks = self.uptime_ticks

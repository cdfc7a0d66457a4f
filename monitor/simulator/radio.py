"""A TETRA base station (基站): carriers and timeslots, call traffic on its traffic channels,
RF readings (forward/reflected power, VSWR, RSSI, noise floor), cabinet temperature, power
plant and backhaul link, with the faults a site suffers.

Channel plan: each carrier has 4 timeslots. Timeslot 1 of the main carrier is the MCCH; any
secondary control and packet-data timeslots are taken next, on the main carrier first, then on
the following carriers. The main carrier is the lowest-numbered carrier in service, so when
carrier 1 fails the MCCH moves to carrier 2.

Why a carrier failure costs 4 traffic channels even when it is the main carrier: the failed
main carrier held only 3 TCH (timeslots 2–4), but the MCCH then re-establishes on timeslot 1 of
the new main carrier, which was a TCH, so ``tch`` drops by 4 for any carrier of a multi-carrier
site — exactly ``4*carriers - 1 - …`` with one carrier fewer. A single-carrier site loses its 3
TCH and its control channel with them: it stops carrying calls altogether.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import IntEnum

from monitor.simulator.device import Device, Interface
from monitor.simulator.power import PowerPlant
from monitor.simulator.signals import DailyProfile, key_of, smooth_noise
from monitor.simulator.traffic import CallEngine, OfferedTraffic

__all__ = [
    "BaseStation",
    "Carrier",
    "CarrierState",
    "SiteSpec",
    "reflection_coefficient",
    "return_loss_db",
    "vswr_from_powers",
]

TIMESLOTS_PER_CARRIER = 4
NO_SIGNAL_DBM = -140
#: Interfaces a site's equipment may have (``SiteSpec.interfaces``).
MAX_SITE_INTERFACES = 64


def reflection_coefficient(forward_w: float, reflected_w: float) -> float:
    """|Γ| = sqrt(Pr / Pf)."""
    if forward_w <= 0:
        return 0.0
    return math.sqrt(max(0.0, reflected_w) / forward_w)


def vswr_from_powers(forward_w: float, reflected_w: float) -> float:
    """VSWR = (1 + Γ) / (1 − Γ); 50 W forward and 1 W reflected give 1.33."""
    gamma = reflection_coefficient(forward_w, reflected_w)
    if gamma >= 1.0:
        return math.inf
    return (1.0 + gamma) / (1.0 - gamma)


def return_loss_db(forward_w: float, reflected_w: float) -> float:
    """Return loss 10·log10(Pf / Pr) in dB; 50 W / 1 W give 17.0 dB."""
    if reflected_w <= 0:
        return math.inf
    return 10.0 * math.log10(forward_w / reflected_w)


class CarrierState(IntEnum):
    """tsimCarrierState."""

    UP = 1
    DOWN = 2


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """What configures one base station (see ``fleet`` for the YAML shape).

    ``queue_timeout_s`` is how long a call waits for a traffic channel before it is given up
    (``None``: it waits as long as it takes; ``0``: no queueing, a loss system).
    ``battery_ah`` is at 48 V; the site draws ``base_load_w + load_per_carrier_w`` per carrier.
    """

    asset_id: str
    name: str
    lat: float
    lon: float
    carriers: int = 2
    busy_hour_erlangs: float = 3.0
    mean_hold_s: float = 20.0
    queue_timeout_s: float | None = 10.0
    extra_control: int = 0
    packet_data: int = 0
    growth_per_week: float = 0.0
    terminals: int = 500
    tx_power_w: float = 25.0
    battery_ah: float = 50.0
    base_load_w: float = 300.0
    load_per_carrier_w: float = 250.0
    backhaul_mbps: int = 100
    #: IF-MIB interfaces of the site's equipment: the backhaul (ge0/0) and ``interfaces - 1``
    #: local Ethernet ports (ge0/1 …) to the site's radios, power plant and cameras.
    interfaces: int = 1
    location: str = ""
    parent: str | None = None
    parent_port: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.carriers <= 4:
            raise ValueError("carriers must be 1–4")
        if self.extra_control < 0 or self.packet_data < 0:
            raise ValueError("extra_control and packet_data must be >= 0")
        if self.configured_tch < 1:
            raise ValueError("the channel plan leaves no traffic channel")
        if not 1 <= self.interfaces <= MAX_SITE_INTERFACES:
            raise ValueError(f"interfaces must be 1–{MAX_SITE_INTERFACES}")

    @property
    def configured_tch(self) -> int:
        """``4*carriers - 1 (MCCH) - extra_control - packet_data``."""
        reserved = 1 + self.extra_control + self.packet_data
        return TIMESLOTS_PER_CARRIER * self.carriers - reserved


@dataclass(slots=True)
class Carrier:
    """One 25 kHz TETRA carrier of a site: 4 timeslots and one transmitter."""

    index: int
    nominal_power_w: float
    nominal_vswr: float
    failed: bool = False
    vswr_fault: float | None = None


class BaseStation(Device):
    """A TETRA site: carriers, traffic engine, power plant, backhaul and readings."""

    kind = "base_station"

    def __init__(self, spec: SiteSpec, *, start: float, seed: int, profile: DailyProfile) -> None:
        super().__init__(
            spec,
            start=start,
            seed=seed,
            profile=profile,
            descr=f"TETRA base station, {spec.carriers} carrier(s), trunkwatch simulator",
        )
        self.location = spec.location or f"{spec.name} ({spec.lat:.4f}, {spec.lon:.4f})"
        self.spec = spec
        rng = random.Random(key_of(self.seed_key, "carriers"))
        self.carriers = [
            Carrier(i, spec.tx_power_w, rng.uniform(1.12, 1.30))
            for i in range(1, spec.carriers + 1)
        ]
        self.backhaul_up = True
        self.mains_losses = 0
        # The plant comes first: whether the site is powered decides its channel plan.
        self.power = PowerPlant(load_w=0.0, battery_wh=spec.battery_ah * 48.0, start=start)
        self.offered = OfferedTraffic(
            spec.busy_hour_erlangs,
            spec.mean_hold_s,
            profile,
            growth_per_week=spec.growth_per_week,
            growth_epoch=start,
        )
        self.engine = CallEngine(
            self._layout(),
            self.offered,
            rng=random.Random(key_of(self.seed_key, "calls")),
            start=start,
            queue_timeout_s=spec.queue_timeout_s,
            hunting="balanced",
        )
        self.power.set_load(self._load_w(), start)
        self.interfaces = [
            Interface.create(
                1,
                "backhaul",
                "ge0/0",
                alias=f"backhaul {spec.asset_id}",
                seed_key=self.seed_key,
                start=start,
                speed_bps=spec.backhaul_mbps * 1_000_000,
                busy_utilisation=0.08,
            )
        ] + [
            Interface.create(
                port + 1,
                f"ethernet {port}",
                f"ge0/{port}",
                seed_key=self.seed_key,
                start=start,
                speed_bps=1_000_000_000,
                busy_utilisation=0.01,
            )
            for port in range(1, spec.interfaces)
        ]

    # -- channel plan ----------------------------------------------------------------------

    @property
    def carrying(self) -> bool:
        """Whether the site carries calls: powered, not crashed, a carrier in service."""
        return self.answering and any(not c.failed for c in self.carriers)

    @property
    def mcch_carrier(self) -> int:
        """Index of the carrier holding the MCCH (0 when no carrier is in service)."""
        if not self.answering:
            return 0
        return next((c.index for c in self.carriers if not c.failed), 0)

    def _layout(self) -> list[int]:
        """Traffic channels in service per carrier, control timeslots taken main-first."""
        if not self.carrying:
            return [0] * len(self.carriers)
        reserved = 1 + self.spec.extra_control + self.spec.packet_data
        capacities = []
        for carrier in self.carriers:
            if carrier.failed:
                capacities.append(0)
                continue
            taken = min(TIMESLOTS_PER_CARRIER, reserved)
            reserved -= taken
            capacities.append(TIMESLOTS_PER_CARRIER - taken)
        return capacities

    def _load_w(self) -> float:
        if not self.powered:
            return 0.0
        working = sum(1 for c in self.carriers if self.carrier_in_service(c))
        return self.spec.base_load_w + self.spec.load_per_carrier_w * working

    def _apply_layout(self, t: float) -> None:
        self.engine.set_in_service(self.carrying, t)
        for group, channels in enumerate(self._layout()):
            self.engine.set_group_capacity(group, channels, t)
        self.power.set_load(self._load_w(), t)

    def _on_service_change(self, t: float) -> None:
        self._apply_layout(t)

    # -- time ------------------------------------------------------------------------------

    @property
    def powered(self) -> bool:
        return not self.power.depleted

    @property
    def uplink_up(self) -> bool:
        return self.backhaul_up

    def _advance(self, t: float) -> None:
        depleted_at = self.power.depletion_time()
        if depleted_at <= t:
            # The battery runs flat inside this step: settle everything up to that instant,
            # then the site goes dark and stops drawing power.
            self._advance_parts(depleted_at)
            self.power.charge_pct = 0.0
            self._apply_layout(depleted_at)
        self._advance_parts(t)

    def _advance_parts(self, t: float) -> None:
        self.engine.advance(t)
        self.power.advance(t)
        self._advance_interfaces(t)

    # -- readings --------------------------------------------------------------------------

    @property
    def tch_configured(self) -> int:
        return self.spec.configured_tch

    @property
    def tch_available(self) -> int:
        """Traffic channels in service (idle or busy)."""
        return self.engine.capacity if self.carrying else 0

    @property
    def tch_busy(self) -> int:
        return self.engine.busy

    @property
    def queue_length(self) -> int:
        return self.engine.queue_length

    @property
    def registered_terminals(self) -> int:
        if not self.carrying:
            return 0
        slow = smooth_noise(key_of(self.seed_key, "ms"), self.now, 1800.0)
        fast = smooth_noise(key_of(self.seed_key, "ms-fast"), self.now, 120.0)
        daily = 0.8 + 0.2 * self.profile.value(self.now)
        level = self.spec.terminals * daily * (1.0 + 0.04 * slow + 0.01 * fast)
        return max(0, round(level))

    def carrier_in_service(self, carrier: Carrier) -> bool:
        return self.answering and not carrier.failed

    def carrier_state(self, carrier: Carrier) -> CarrierState:
        return CarrierState.UP if self.carrier_in_service(carrier) else CarrierState.DOWN

    def carrier_timeslots(self, carrier: Carrier) -> int:
        """Timeslots of the carrier in service (control and traffic)."""
        return TIMESLOTS_PER_CARRIER if self.carrier_in_service(carrier) else 0

    def carrier_busy_tch(self, carrier: Carrier) -> int:
        return self.engine.group_busy(carrier.index - 1)

    def forward_power_w(self, carrier: Carrier) -> float:
        if not self.carrier_in_service(carrier):
            return 0.0
        wobble = smooth_noise(key_of(self.seed_key, "pf", carrier.index), self.now, 300.0)
        return carrier.nominal_power_w * (1.0 + 0.01 * wobble)

    def vswr(self, carrier: Carrier) -> float:
        """The antenna line's VSWR: its nominal value drifting slightly, or the fault's."""
        if carrier.vswr_fault is not None:
            return carrier.vswr_fault
        drift = smooth_noise(key_of(self.seed_key, "vswr", carrier.index), self.now, 3600.0)
        return carrier.nominal_vswr + 0.01 * drift

    def reflected_power_w(self, carrier: Carrier) -> float:
        vswr = self.vswr(carrier)
        gamma = (vswr - 1.0) / (vswr + 1.0)
        return self.forward_power_w(carrier) * gamma * gamma

    def measured_vswr(self, carrier: Carrier) -> float:
        """VSWR as the site measures it, from forward and reflected power (1.0 when off)."""
        forward = self.forward_power_w(carrier)
        if forward <= 0:
            return 1.0
        return vswr_from_powers(forward, self.reflected_power_w(carrier))

    def noise_floor_dbm(self, carrier: Carrier, path: int) -> float:
        if not self.carrier_in_service(carrier):
            return NO_SIGNAL_DBM
        wobble = smooth_noise(key_of(self.seed_key, "nf", carrier.index, path), self.now, 600.0)
        # Interference from neighbouring sites rises a little with the city's load.
        return -118.0 + 1.5 * self.profile.value(self.now) + 0.8 * wobble

    def rssi_dbm(self, carrier: Carrier, path: int) -> float:
        """Mean uplink signal on the carrier's busy timeslots (the noise floor when idle)."""
        floor = self.noise_floor_dbm(carrier, path)
        if floor == NO_SIGNAL_DBM:
            return NO_SIGNAL_DBM
        busy = self.carrier_busy_tch(carrier)
        if busy == 0:
            return floor
        diversity_loss = 2.0 if path == 2 else 0.0
        wobble = smooth_noise(key_of(self.seed_key, "rssi", carrier.index, path), self.now, 30.0)
        return -92.0 - diversity_loss + 4.0 * wobble

    @property
    def cabinet_temperature_c(self) -> float:
        """Cabinet air: a daily cycle peaking mid-afternoon, transmitter heat, and no cooling
        while on battery (the air conditioner runs on mains)."""
        local_hour = self.profile.local_hour(self.now) + (self.now % 3600.0) / 3600.0
        daily = 3.0 * math.cos(2.0 * math.pi * (local_hour - 15.0) / 24.0)
        working = sum(1 for c in self.carriers if self.carrier_in_service(c))
        heat = 1.2 * working
        noise = 0.3 * smooth_noise(key_of(self.seed_key, "temp"), self.now, 900.0)
        since = self.power.seconds_on_battery
        no_cooling = min(15.0, 6.0 * since / 3600.0) if self.power.on_battery else 0.0
        return 23.0 + daily + heat + noise + no_cooling

    # -- faults ----------------------------------------------------------------------------

    def carrier(self, index: int) -> Carrier:
        if not 1 <= index <= len(self.carriers):
            raise ValueError(f"{self.asset_id} has carriers 1–{len(self.carriers)}, not {index}")
        return self.carriers[index - 1]

    def set_carrier_failed(self, index: int, failed: bool, t: float) -> None:
        self.advance(t)
        self.carrier(index).failed = failed
        self._apply_layout(t)

    def set_vswr_fault(self, index: int, vswr: float | None, t: float) -> None:
        if vswr is not None and vswr < 1.0:
            raise ValueError("vswr must be >= 1.0")
        self.advance(t)
        self.carrier(index).vswr_fault = vswr

    def set_mains(self, present: bool, t: float) -> None:
        self.advance(t)
        was_powered = self.powered
        if not present and not self.power.on_battery:
            self.mains_losses += 1
        self.power.set_mains(present, t)
        if present and not was_powered:
            # Mains back on a dark site: it boots.
            self._apply_layout(t)
            self.reboot(t)

    def set_backhaul(self, up: bool, t: float) -> None:
        """Backhaul down: the site keeps trunking locally (fallback) but cannot be reached."""
        self.advance(t)
        self.backhaul_up = up
        self.interfaces[0].link_up = up
        self.mark_link_change(self.interfaces[0])

    def set_surge(self, multiplier: float, t: float) -> None:
        if multiplier <= 0:
            raise ValueError("surge multiplier must be positive")
        self.advance(t)
        self.offered.surge = multiplier
        self.engine.reschedule(t)

    def reboot(self, t: float) -> None:
        super().reboot(t)
        self.engine.reset_counters()

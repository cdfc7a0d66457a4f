"""The simulated fleet: builds every device from the ``simulator:`` section of monitor.yaml,
looks devices up by asset id, works out who is reachable through the parent chain, and injects
and clears faults.

Configuration shape (every key but the ids optional; numbers are SI unless the name says)::

    simulator:
      seed: 2016                  # one seed for the whole fleet; each device derives its own
      speed: 1.0                  # simulated seconds per real second (60: an hour a minute)
      start: "2016-07-01T08:00:00+08:00"   # ISO 8601 or epoch seconds; default: now
      timezone: Asia/Shanghai     # local time of the daily traffic profile
      profile: [0.32, 0.24, …]    # 24 hourly shares of the busy hour, peak = busy hour
      agent: {host: 127.0.0.1, base_port: 16100, community: public}
      defaults:                   # applied to every site unless it sets the key itself
        mean_hold_s: 20           # ~5 transmission trunking, ~20 message trunking
        queue_timeout_s: 10       # null: wait forever (Erlang C); 0: no queue (Erlang B)
      sites:                      # TETRA base stations
        - id: bs-xingning         # asset id (pinyin)
          name: 兴宁区
          lat: 22.8546
          lon: 108.3686
          carriers: 3             # 1–4, 4 timeslots each
          busy_hour_erlangs: 7.0  # offered traffic at the profile's peak
          mean_hold_s: 20
          queue_timeout_s: 10
          extra_control: 0        # secondary control timeslots
          packet_data: 0          # dedicated packet-data timeslots
          growth_per_week: 0.01   # compound growth of offered traffic
          terminals: 1500         # registered terminals around which the count wanders
          tx_power_w: 25
          battery_ah: 50          # at 48 V
          base_load_w: 300
          load_per_carrier_w: 250
          backhaul_mbps: 100
          interfaces: 1           # IF-MIB rows: the backhaul, then local ports ge0/1 …
          parent: core-sw-1       # what it is reached through (a switch, router or site)
          parent_port: 11         # the parent switch's port it hangs off
          port: 16101             # agent UDP port; default base_port + position
      lines:                      # E1 trunk gateways
        - {id: e1-gw-110, name: 110 中继网关, spans: 2, busy_hour_erlangs: 10.2,
           mean_hold_s: 95, growth_per_week: 0, parent: core-sw-1, parent_port: 3}
      sip_trunks:                 # SIP endpoints answering OPTIONS (no SNMP agent)
        - {id: sip-119-fire, name: 119 消防专线, response_delay_s: 0.02, parent: core-rtr-1}
      switches:                   # switches and routers
        - {id: core-sw-1, name: 核心交换机, role: switch, ports: 48, port_speed_mbps: 1000,
           busy_utilisation: 0.25, port_aliases: {1: uplink}, parent: core-rtr-1,
           parent_port: 1}
      servers:
        - {id: srv-cad-1, name: 接处警服务器, cpus: 8, busy_cpu_load: 55,
           storage: [{descr: /, kind: disk, size_gb: 100, used_fraction: 0.35,
                      growth_gb_per_day: 0.05}],
           parent: core-sw-1, parent_port: 5}

Faults (``Fault``), their targets and parameters::

    site_down        any asset             its agent stops answering; clearing boots it
    mains_failure    site                  battery carries the load; flat battery → site down
    vswr_high        site  carrier=1 vswr=2.5
    carrier_failure  site  carrier=1       timeslots leave service; MCCH moves off carrier 1
    backhaul_down    site                  the site and everything behind it unreachable
    e1_los / e1_lof / e1_ais / e1_rai      gateway  span=1
    sip_503 / sip_silent                   SIP trunk
    sip_slow         SIP trunk  delay_s=2.0
    port_down        switch/router  port=N  link down; whatever hangs off it unreachable
    traffic_surge    site or gateway  multiplier=3.0 radius_km=3.0  (sites within the radius
                     of the target site surge too)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from monitor.core.clock import Clock
from monitor.simulator.clock import DEFAULT_TIMEZONE, SimClock
from monitor.simulator.device import Device
from monitor.simulator.lines import (
    E1Alarm,
    E1Gateway,
    GatewaySpec,
    SipState,
    SipTrunk,
    SipTrunkSpec,
)
from monitor.simulator.mib import MibView, build_view
from monitor.simulator.network import (
    NetworkDevice,
    NetworkDeviceSpec,
    Server,
    ServerSpec,
    StorageSpec,
)
from monitor.simulator.radio import BaseStation, SiteSpec
from monitor.simulator.signals import DEFAULT_PROFILE, DailyProfile
from monitor.simulator.specs import Problems, build_spec

__all__ = [
    "DEFAULT_FLEET",
    "ActiveFault",
    "Fault",
    "FaultError",
    "Fleet",
    "SimulatorConfigError",
    "UnknownAsset",
    "distance_km",
]


class Fault(StrEnum):
    SITE_DOWN = "site_down"
    MAINS_FAILURE = "mains_failure"
    VSWR_HIGH = "vswr_high"
    CARRIER_FAILURE = "carrier_failure"
    BACKHAUL_DOWN = "backhaul_down"
    E1_LOS = "e1_los"
    E1_LOF = "e1_lof"
    E1_AIS = "e1_ais"
    E1_RAI = "e1_rai"
    SIP_503 = "sip_503"
    SIP_SILENT = "sip_silent"
    SIP_SLOW = "sip_slow"
    PORT_DOWN = "port_down"
    TRAFFIC_SURGE = "traffic_surge"


_E1_ALARMS = {
    Fault.E1_LOS: E1Alarm.LOS,
    Fault.E1_LOF: E1Alarm.LOF,
    Fault.E1_AIS: E1Alarm.AIS,
    Fault.E1_RAI: E1Alarm.RAI,
}
#: The parameter that tells two faults of one kind on one asset apart, and its default.
_SUB_TARGET: dict[Fault, tuple[str, int]] = {
    Fault.VSWR_HIGH: ("carrier", 1),
    Fault.CARRIER_FAILURE: ("carrier", 1),
    Fault.E1_LOS: ("span", 1),
    Fault.E1_LOF: ("span", 1),
    Fault.E1_AIS: ("span", 1),
    Fault.E1_RAI: ("span", 1),
}


class SimulatorConfigError(ValueError):
    """A bad ``simulator:`` section: every problem as (dotted field, reason)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{key}: {reason}" for key, reason in problems))


class UnknownAsset(KeyError):
    """No simulated device has this asset id."""


class FaultError(ValueError):
    """A fault that does not fit its target (wrong kind of device, bad parameter)."""


#: Device kinds and the device classes faults need, in the words of a drill's report.
_KIND_WORDS: dict[str, str] = {
    "base_station": "a base station",
    "e1_gateway": "an E1 gateway",
    "sip_trunk": "a SIP trunk",
    "switch": "a switch",
    "router": "a router",
    "server": "a server",
}


_NEEDED_WORDS: dict[type, str] = {
    BaseStation: "a base station",
    E1Gateway: "an E1 gateway",
    SipTrunk: "a SIP trunk",
    NetworkDevice: "a switch or a router",
}


def _kind_words(device: Device) -> str:
    return _KIND_WORDS.get(device.kind, f"a {device.kind}")


@dataclass(frozen=True, slots=True)
class ActiveFault:
    """A fault in force: what, where, with which parameters, since when (simulated time)."""

    fault: Fault
    target: str
    params: Mapping[str, Any]
    since: float
    affected: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[Fault, str, int | None]:
        sub = _SUB_TARGET.get(self.fault)
        if self.fault is Fault.PORT_DOWN:
            return self.fault, self.target, int(self.params["port"])
        return self.fault, self.target, None if sub is None else int(self.params[sub[0]])


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius 6371 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


# -- configuration ----------------------------------------------------------------------------

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class AgentSettings:
    host: str = "127.0.0.1"
    base_port: int = 16100
    community: str = "public"
    #: "host:port" where devices send SNMPv2c notifications of their faults; none if unset.
    trap_sink: str | None = None


def _number(cfg: Mapping[str, Any], key: str, default: float, problems: Problems) -> float:
    raw = cfg.get(key, default)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        problems.add(f"simulator.{key}", "must be a number")
        return default
    return float(raw)


def _parse_start(raw: Any, problems: Problems) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, datetime):
        return raw.timestamp()
    try:
        parsed = datetime.fromisoformat(str(raw))
    except ValueError:
        problems.add("simulator.start", "must be ISO 8601 or epoch seconds")
        return None
    if parsed.tzinfo is None:
        problems.add("simulator.start", "needs a UTC offset, e.g. +08:00")
        return None
    return parsed.timestamp()


# -- the fleet --------------------------------------------------------------------------------


class Fleet:
    """Every simulated device, their reachability and their faults.

    Devices advance lazily: ``poll`` and ``reachable`` bring the devices they touch up to the
    clock's present; ``tick`` advances all of them (a coarse background step that keeps the
    work per poll small). Simulated time runs on ``source`` (default: the system clock) at the
    configured speed, unless a whole ``clock`` is given.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        clock: SimClock | None = None,
        source: Clock | None = None,
    ) -> None:
        cfg: Mapping[str, Any] = DEFAULT_FLEET if config is None else config
        if "simulator" in cfg and isinstance(cfg["simulator"], Mapping):
            cfg = cfg["simulator"]
        problems = Problems()
        self.seed = int(_number(cfg, "seed", 0, problems))
        timezone = str(cfg.get("timezone", DEFAULT_TIMEZONE))
        try:
            self.profile = DailyProfile(cfg.get("profile", DEFAULT_PROFILE), timezone)
        except (ValueError, TypeError) as exc:
            problems.add("simulator.profile", str(exc))
            self.profile = DailyProfile(DEFAULT_PROFILE)
        start = _parse_start(cfg.get("start"), problems)
        speed = _number(cfg, "speed", 1.0, problems)
        if speed <= 0:
            problems.add("simulator.speed", "must be positive")
            speed = 1.0
        if clock is None:
            kwargs: dict[str, Any] = {"speed": speed, "timezone": timezone}
            if source is not None:
                kwargs["source"] = source
            clock = SimClock(start, **kwargs)
        self.clock = clock
        agent, _ = build_spec(
            AgentSettings, cfg.get("agent", {}), "simulator.agent", problems, keyed=False
        )
        self.agent = agent or AgentSettings()

        self.devices: dict[str, Device] = {}
        self.ports: dict[str, int] = {}
        self._views: dict[str, MibView | None] = {}
        self._faults: dict[tuple[Fault, str, int | None], ActiveFault] = {}
        #: Told of every fault put in force (True) or cleared (False), after it took effect.
        self.fault_listeners: list[Callable[[ActiveFault, bool], None]] = []
        now = self.clock.time()
        site_defaults = cfg.get("defaults", {}) or {}

        def add(device: Device, where: str, aside: Mapping[str, Any]) -> None:
            if device.asset_id in self.devices:
                problems.add(f"{where}.id", f"duplicate asset id {device.asset_id!r}")
                return
            self.devices[device.asset_id] = device
            if device.kind != "sip_trunk":
                port = aside.get("port")
                self.ports[device.asset_id] = (
                    int(port) if port is not None else self.agent.base_port + len(self.ports)
                )

        seed, profile = self.seed, self.profile
        for i, raw in enumerate(cfg.get("sites", []) or []):
            where = f"simulator.sites[{i}]"
            spec, aside = build_spec(
                SiteSpec, raw, where, problems, defaults=site_defaults, extra=("port",)
            )
            if spec is not None:
                add(BaseStation(spec, start=now, seed=seed, profile=profile), where, aside)
        for i, raw in enumerate(cfg.get("lines", []) or []):
            where = f"simulator.lines[{i}]"
            gw_spec, aside = build_spec(GatewaySpec, raw, where, problems, extra=("port",))
            if gw_spec is not None:
                add(E1Gateway(gw_spec, start=now, seed=seed, profile=profile), where, aside)
        for i, raw in enumerate(cfg.get("sip_trunks", []) or []):
            where = f"simulator.sip_trunks[{i}]"
            sip_spec, aside = build_spec(SipTrunkSpec, raw, where, problems)
            if sip_spec is not None:
                add(SipTrunk(sip_spec, start=now, seed=seed, profile=profile), where, aside)
        for i, raw in enumerate(cfg.get("switches", []) or []):
            where = f"simulator.switches[{i}]"
            if isinstance(raw, Mapping) and "port_aliases" in raw:
                aliases = raw["port_aliases"]
                if not isinstance(aliases, Mapping) or not all(str(k).isdigit() for k in aliases):
                    problems.add(f"{where}.port_aliases", "must map port numbers to names")
                    aliases = {}
                raw = {**raw, "port_aliases": {int(k): str(v) for k, v in aliases.items()}}
            net_spec, aside = build_spec(NetworkDeviceSpec, raw, where, problems, extra=("port",))
            if net_spec is not None:
                add(
                    NetworkDevice.for_spec(net_spec, start=now, seed=seed, profile=profile),
                    where,
                    aside,
                )
        for i, raw in enumerate(cfg.get("servers", []) or []):
            where = f"simulator.servers[{i}]"
            if isinstance(raw, Mapping) and "storage" in raw:
                storage = []
                for j, row in enumerate(raw["storage"] or []):
                    st, _ = build_spec(
                        StorageSpec, row, f"{where}.storage[{j}]", problems, keyed=False
                    )
                    if st is not None:
                        storage.append(st)
                raw = {**raw, "storage": tuple(storage)}
            srv_spec, aside = build_spec(ServerSpec, raw, where, problems, extra=("port",))
            if srv_spec is not None:
                add(Server(srv_spec, start=now, seed=seed, profile=profile), where, aside)
        self._check_parents(problems)
        if problems.items:
            raise SimulatorConfigError(problems.items)

    def _check_parents(self, problems: Problems) -> None:
        for asset_id, device in self.devices.items():
            if device.parent is None:
                continue
            parent = self.devices.get(device.parent)
            if parent is None:
                problems.add(f"{asset_id}.parent", f"unknown asset {device.parent!r}")
                continue
            if device.parent_port is not None:
                if not isinstance(parent, NetworkDevice):
                    problems.add(f"{asset_id}.parent_port", "parent is not a switch or router")
                elif not 1 <= device.parent_port <= parent.spec.ports:
                    problems.add(f"{asset_id}.parent_port", f"{device.parent} has no such port")
            seen = {asset_id}
            node: Device | None = parent
            while node is not None and node.parent is not None:
                if node.asset_id in seen:
                    problems.add(f"{asset_id}.parent", "parent chain loops")
                    break
                seen.add(node.asset_id)
                node = self.devices.get(node.parent)

    # -- lookup ----------------------------------------------------------------------------

    def device(self, asset_id: str) -> Device:
        try:
            return self.devices[asset_id]
        except KeyError:
            raise UnknownAsset(asset_id) from None

    def __iter__(self) -> Iterator[Device]:
        return iter(self.devices.values())

    def __len__(self) -> int:
        return len(self.devices)

    @property
    def sites(self) -> list[BaseStation]:
        return [d for d in self.devices.values() if isinstance(d, BaseStation)]

    def site(self, asset_id: str) -> BaseStation:
        device = self.device(asset_id)
        if not isinstance(device, BaseStation):
            raise FaultError(f"{asset_id} is {_kind_words(device)}, not a base station")
        return device

    def reboot(self, asset_id: str) -> None:
        """Restart a device now: sysUpTime and its counters start again from zero."""
        self.device(asset_id).reboot(self.clock.time())

    def view(self, asset_id: str) -> MibView | None:
        """The device's MIB view (built once), whatever its state."""
        if asset_id not in self._views:
            self._views[asset_id] = build_view(self.device(asset_id))
        return self._views[asset_id]

    # -- time and reachability -------------------------------------------------------------

    def now(self) -> float:
        return self.clock.time()

    def tick(self, t: float | None = None) -> float:
        """Advance every device to ``t`` (default: now)."""
        t = self.clock.time() if t is None else t
        for device in self.devices.values():
            device.advance(t)
        return t

    def reachable(self, asset_id: str, t: float | None = None) -> bool:
        """Whether a packet from the monitor reaches the device and it answers: it is up,
        its own link is up, and so is every parent and parent port on the way."""
        t = self.clock.time() if t is None else t
        device: Device | None = self.device(asset_id)
        while device is not None:
            device.advance(t)
            if not (device.answering and device.uplink_up):
                return False
            if device.parent is None:
                return True
            parent = self.devices[device.parent]
            if (
                device.parent_port is not None
                and isinstance(parent, NetworkDevice)
                and not parent.port_up(device.parent_port)
            ):
                return False
            device = parent
        return True

    def poll(self, asset_id: str, t: float | None = None) -> MibView | None:
        """The view to answer an SNMP request with, or ``None`` when it would go unanswered."""
        t = self.clock.time() if t is None else t
        if not self.reachable(asset_id, t):
            return None
        return self.view(asset_id)

    def neighbours(self, site_id: str, radius_km: float) -> list[BaseStation]:
        """The site itself and every site within ``radius_km`` of it."""
        centre = self.site(site_id)
        return [
            s
            for s in self.sites
            if s is centre
            or distance_km(centre.spec.lat, centre.spec.lon, s.spec.lat, s.spec.lon) <= radius_km
        ]

    # -- faults ----------------------------------------------------------------------------

    def active_faults(self) -> list[ActiveFault]:
        return sorted(self._faults.values(), key=lambda f: (f.since, f.target, f.fault))

    def inject(self, fault: Fault | str, target: str, **params: Any) -> ActiveFault:
        """Put a fault in force (re-injecting the same one updates its parameters)."""
        kind = Fault(fault)
        device = self.device(target)
        t = self.clock.time()
        params = self._with_defaults(kind, params)
        active = ActiveFault(kind, target, params, t, self._apply(kind, device, params, t, True))
        previous = self._faults.get(active.key)
        if previous is not None:
            active = ActiveFault(kind, target, params, previous.since, active.affected)
        self._faults[active.key] = active
        if kind is Fault.TRAFFIC_SURGE:
            self._apply_surges(t)
        if previous is None:
            for listener in self.fault_listeners:
                listener(active, True)
        return active

    def clear(self, fault: Fault | str, target: str, **params: Any) -> list[ActiveFault]:
        """Clear a fault (all of that kind on the target when no sub-target is given);
        returns what was cleared."""
        kind = Fault(fault)
        t = self.clock.time()
        sub = _SUB_TARGET.get(kind)
        wanted: int | None = None
        if sub is not None and sub[0] in params:
            wanted = int(params[sub[0]])
        if kind is Fault.PORT_DOWN and "port" in params:
            wanted = int(params["port"])
        cleared = [
            f
            for key, f in self._faults.items()
            if key[0] is kind and key[1] == target and (wanted is None or key[2] == wanted)
        ]
        for f in cleared:
            del self._faults[f.key]
            self._apply(kind, self.device(target), f.params, t, False)
        if kind is Fault.TRAFFIC_SURGE:
            self._apply_surges(t)
        for f in cleared:
            for listener in self.fault_listeners:
                listener(f, False)
        return cleared

    def clear_all(self) -> list[ActiveFault]:
        cleared = []
        for f in self.active_faults():
            cleared += self.clear(f.fault, f.target, **f.params)
        return cleared

    @staticmethod
    def _with_defaults(kind: Fault, params: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(params)
        sub = _SUB_TARGET.get(kind)
        if sub is not None:
            out.setdefault(*sub)
        if kind is Fault.VSWR_HIGH:
            out.setdefault("vswr", 2.5)
        elif kind is Fault.SIP_SLOW:
            out.setdefault("delay_s", 2.0)
        elif kind is Fault.TRAFFIC_SURGE:
            out.setdefault("multiplier", 3.0)
            out.setdefault("radius_km", 3.0)
        elif kind is Fault.PORT_DOWN and "port" not in out:
            raise FaultError("port_down needs port=N")
        return out

    def _apply(
        self, kind: Fault, device: Device, params: Mapping[str, Any], t: float, on: bool
    ) -> tuple[str, ...]:
        try:
            return self._apply_unchecked(kind, device, params, t, on)
        except FaultError:
            raise
        except (ValueError, KeyError) as exc:
            raise FaultError(f"{kind} on {device.asset_id}: {exc}") from exc

    def _apply_unchecked(
        self, kind: Fault, device: Device, params: Mapping[str, Any], t: float, on: bool
    ) -> tuple[str, ...]:
        target = device.asset_id
        if kind is Fault.SITE_DOWN:
            device.set_crashed(on, t)
        elif kind is Fault.MAINS_FAILURE:
            self._typed(device, BaseStation, kind).set_mains(not on, t)
        elif kind is Fault.VSWR_HIGH:
            vswr = float(params["vswr"]) if on else None
            self._typed(device, BaseStation, kind).set_vswr_fault(int(params["carrier"]), vswr, t)
        elif kind is Fault.CARRIER_FAILURE:
            site = self._typed(device, BaseStation, kind)
            site.set_carrier_failed(int(params["carrier"]), on, t)
        elif kind is Fault.BACKHAUL_DOWN:
            self._typed(device, BaseStation, kind).set_backhaul(not on, t)
        elif kind in _E1_ALARMS:
            gw = self._typed(device, E1Gateway, kind)
            gw.set_alarm(int(params["span"]), _E1_ALARMS[kind], on, t)
        elif kind is Fault.SIP_503:
            state = SipState.UNAVAILABLE if on else SipState.OK
            self._typed(device, SipTrunk, kind).set_state(state, t)
        elif kind is Fault.SIP_SILENT:
            state = SipState.SILENT if on else SipState.OK
            self._typed(device, SipTrunk, kind).set_state(state, t)
        elif kind is Fault.SIP_SLOW:
            delay = float(params["delay_s"]) if on else 0.0
            self._typed(device, SipTrunk, kind).set_extra_delay(delay, t)
        elif kind is Fault.PORT_DOWN:
            switch = self._typed(device, NetworkDevice, kind)
            switch.set_port_link(int(params["port"]), not on, t)
        elif kind is Fault.TRAFFIC_SURGE:
            if float(params["multiplier"]) <= 0:
                raise ValueError("multiplier must be positive")
            if isinstance(device, BaseStation):
                radius = float(params["radius_km"])
                return tuple(s.asset_id for s in self.neighbours(target, radius))
            if not isinstance(device, E1Gateway):
                raise FaultError(
                    f"{target} is {_kind_words(device)}; {kind} needs a base station "
                    "or an E1 gateway"
                )
            return (target,)
        return (target,)

    @staticmethod
    def _typed(device: Device, cls: type[S], kind: Fault) -> S:
        if not isinstance(device, cls):
            needed = _NEEDED_WORDS.get(cls, cls.__name__)
            raise FaultError(f"{device.asset_id} is {_kind_words(device)}; {kind} needs {needed}")
        return device

    def _apply_surges(self, t: float) -> None:
        """Each surging device's multiplier is the product of the surges covering it."""
        multipliers: dict[str, float] = {}
        for f in self._faults.values():
            if f.fault is Fault.TRAFFIC_SURGE:
                for asset_id in f.affected:
                    multipliers[asset_id] = multipliers.get(asset_id, 1.0) * float(
                        f.params["multiplier"]
                    )
        for device in self.devices.values():
            if isinstance(device, BaseStation | E1Gateway):
                wanted = multipliers.get(device.asset_id, 1.0)
                if device.offered.surge != wanted:
                    device.set_surge(wanted, t)


def _site(
    asset_id: str,
    name: str,
    lat: float,
    lon: float,
    carriers: int,
    erlangs: float,
    terminals: int,
    parent: str,
    parent_port: int | None,
    growth: float = 0.005,
) -> dict[str, Any]:
    return {
        "id": asset_id,
        "name": name,
        "lat": lat,
        "lon": lon,
        "carriers": carriers,
        "busy_hour_erlangs": erlangs,
        "terminals": terminals,
        "growth_per_week": growth,
        "parent": parent,
        "parent_port": parent_port,
    }


#: A 12-site city (南宁, Nanning): its seven districts, Hengzhou city and four
#: counties. Busy-hour loads give comfortable grade of service except at
#: bs-xingning (11 TCH at 7.0 E: P(wait > 5 s) ≈ 4.5 %, right at the 5 % target and growing)
#: and bs-longan (7 TCH at 4.0 E: ≈ 6.4 %, already over it) — the capacity report's
#: expansion candidates. bs-shanglin and bs-hengzhou are reached over the microwave of
#: bs-binyang and bs-yongning, so their parents' backhaul takes them down too.
DEFAULT_FLEET: dict[str, Any] = {
    "seed": 2016,
    "speed": 1.0,
    "timezone": DEFAULT_TIMEZONE,
    "agent": {"host": "127.0.0.1", "base_port": 16100, "community": "public"},
    "defaults": {"mean_hold_s": 20.0, "queue_timeout_s": 10.0},
    "sites": [
        _site("bs-xingning", "兴宁区", 22.8546, 108.3686, 3, 7.0, 1500, "core-sw-1", 11, 0.01),
        _site("bs-qingxiu", "青秀区", 22.8163, 108.3951, 3, 5.0, 1300, "core-sw-1", 12),
        _site("bs-jiangnan", "江南区", 22.7812, 108.2731, 2, 2.6, 900, "core-sw-1", 13),
        _site("bs-xixiangtang", "西乡塘区", 22.8336, 108.3066, 2, 2.2, 800, "core-sw-1", 14),
        _site("bs-yongning", "邕宁区", 22.7588, 108.4872, 2, 1.8, 600, "core-sw-1", 15),
        _site("bs-liangqing", "良庆区", 22.7521, 108.4118, 1, 0.6, 400, "core-sw-1", 16),
        _site("bs-wuming", "武鸣区", 23.1588, 108.2747, 1, 0.5, 350, "core-sw-1", 17),
        _site("bs-binyang", "宾阳县", 23.2174, 108.8106, 1, 0.5, 300, "core-sw-1", 18),
        _site("bs-shanglin", "上林县", 23.432, 108.6048, 1, 0.4, 250, "bs-binyang", None),
        _site("bs-hengzhou", "横州市", 22.6842, 109.2612, 1, 0.4, 280, "bs-yongning", None),
        _site("bs-mashan", "马山县", 23.7082, 108.177, 2, 2.4, 700, "core-sw-1", 19),
        _site("bs-longan", "隆安县", 23.1664, 107.696, 2, 4.0, 1100, "core-sw-1", 20, 0.01),
    ],
    "lines": [
        {
            "id": "e1-gw-110",
            "name": "110 中继网关",
            "spans": 2,
            "busy_hour_erlangs": 10.2,
            "mean_hold_s": 95.0,
            "parent": "core-sw-1",
            "parent_port": 3,
        }
    ],
    "sip_trunks": [
        {"id": "sip-110-telecom", "name": "110 运营商 SIP 中继", "parent": "core-rtr-1"},
        {"id": "sip-119-fire", "name": "119 消防专线", "parent": "core-rtr-1"},
        {"id": "sip-120-ambulance", "name": "120 急救专线", "parent": "core-rtr-1"},
        {"id": "sip-122-traffic", "name": "122 交警专线", "parent": "core-rtr-1"},
    ],
    "switches": [
        {
            "id": "core-rtr-1",
            "name": "核心路由器",
            "role": "router",
            "ports": 8,
            "port_speed_mbps": 10000,
            "port_aliases": {1: "core-sw-1", 2: "carrier SIP/PSTN", 3: "government network"},
        },
        {
            "id": "core-sw-1",
            "name": "核心交换机",
            "role": "switch",
            "ports": 48,
            "port_aliases": {
                1: "uplink core-rtr-1",
                2: "dispatch-sw-1",
                3: "e1-gw-110",
                5: "srv-cad-1",
                6: "srv-gis-1",
                7: "srv-rec-1",
                8: "srv-platform-1",
            },
            "parent": "core-rtr-1",
            "parent_port": 1,
        },
        {
            "id": "dispatch-sw-1",
            "name": "接处警大厅交换机",
            "role": "switch",
            "ports": 24,
            "busy_utilisation": 0.1,
            "parent": "core-sw-1",
            "parent_port": 2,
        },
    ],
    "servers": [
        {"id": "srv-cad-1", "name": "接处警服务器", "cpus": 8, "parent": "core-sw-1",
         "parent_port": 5},
        {"id": "srv-gis-1", "name": "地理信息服务器", "cpus": 4, "busy_cpu_load": 35.0,
         "parent": "core-sw-1", "parent_port": 6},
        {"id": "srv-rec-1", "name": "录音服务器", "cpus": 4, "busy_cpu_load": 25.0,
         "storage": [
             {"descr": "Physical memory", "kind": "ram", "size_gb": 16, "used_fraction": 0.4},
             {"descr": "/", "kind": "disk", "size_gb": 100, "used_fraction": 0.3},
             {"descr": "/srv/recordings", "kind": "disk", "size_gb": 4000,
              "used_fraction": 0.62, "growth_gb_per_day": 9.5},
         ],
         "parent": "core-sw-1", "parent_port": 7},
        {"id": "srv-platform-1", "name": "政府应急平台服务器", "cpus": 8, "parent": "core-sw-1",
         "parent_port": 8},
    ],
}  # fmt: skip

"""The computer network (计算机网络) and platform servers: switches and routers with IF-MIB
ports whose counters follow the daily profile, and servers with HOST-RESOURCES-MIB CPU load
and storage.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from monitor.simulator.device import Device, Interface
from monitor.simulator.signals import DailyProfile, key_of, smooth_noise

__all__ = [
    "NetworkDevice",
    "NetworkDeviceSpec",
    "Router",
    "Server",
    "ServerSpec",
    "StorageSpec",
    "Switch",
]


@dataclass(frozen=True, slots=True)
class NetworkDeviceSpec:
    """A switch or router: ``ports`` Ethernet ports of ``port_speed_mbps``.

    ``port_aliases`` names what is cabled to a port (ifAlias), keyed by port number.
    """

    asset_id: str
    name: str
    role: str = "switch"
    ports: int = 24
    port_speed_mbps: int = 1000
    busy_utilisation: float = 0.25
    port_aliases: dict[int, str] = field(default_factory=dict)
    location: str = ""
    parent: str | None = None
    parent_port: int | None = None

    def __post_init__(self) -> None:
        if self.role not in ("switch", "router"):
            raise ValueError("role must be switch or router")
        if not 1 <= self.ports <= 512:
            raise ValueError("ports must be 1–512")


class NetworkDevice(Device):
    """A switch or router. A port-down fault takes the link down (ifOperStatus down, admin up)
    and makes whatever the fleet has attached to that port unreachable."""

    kind = "switch"

    def __init__(
        self, spec: NetworkDeviceSpec, *, start: float, seed: int, profile: DailyProfile
    ) -> None:
        super().__init__(
            spec,
            start=start,
            seed=seed,
            profile=profile,
            descr=f"Ethernet {spec.role}, {spec.ports} ports, trunkwatch simulator",
        )
        self.spec = spec
        rng = random.Random(key_of(self.seed_key, "ports"))
        prefix = "GigabitEthernet" if spec.port_speed_mbps <= 1000 else "TenGigabitEthernet"
        short = "Gi" if spec.port_speed_mbps <= 1000 else "Te"
        self.interfaces = [
            Interface.create(
                port,
                f"{prefix}0/{port}",
                f"{short}0/{port}",
                alias=spec.port_aliases.get(port, ""),
                seed_key=self.seed_key,
                start=start,
                speed_bps=spec.port_speed_mbps * 1_000_000,
                # Ports differ: uplinks run hot, most access ports idle along.
                busy_utilisation=spec.busy_utilisation * rng.uniform(0.1, 1.0),
                out_in_ratio=rng.uniform(0.5, 1.5),
            )
            for port in range(1, spec.ports + 1)
        ]

    @staticmethod
    def for_spec(
        spec: NetworkDeviceSpec, *, start: float, seed: int, profile: DailyProfile
    ) -> NetworkDevice:
        """A Switch or a Router, as the spec's role says."""
        cls = Router if spec.role == "router" else Switch
        return cls(spec, start=start, seed=seed, profile=profile)

    def port(self, number: int) -> Interface:
        if not 1 <= number <= len(self.interfaces):
            raise ValueError(f"{self.asset_id} has ports 1–{len(self.interfaces)}, not {number}")
        return self.interfaces[number - 1]

    def port_up(self, number: int) -> bool:
        iface = self.port(number)
        return self.answering and iface.admin_up and iface.link_up

    def set_port_link(self, number: int, up: bool, t: float) -> None:
        self.advance(t)
        iface = self.port(number)
        iface.link_up = up
        self.mark_link_change(iface)


class Switch(NetworkDevice):
    kind = "switch"


class Router(NetworkDevice):
    kind = "router"


@dataclass(frozen=True, slots=True)
class StorageSpec:
    """One hrStorage row: ``kind`` is ram, virtual or disk."""

    descr: str
    kind: str
    size_gb: float
    used_fraction: float
    growth_gb_per_day: float = 0.0


def _default_storage() -> tuple[StorageSpec, ...]:
    return (
        StorageSpec("Physical memory", "ram", 32.0, 0.55),
        StorageSpec("Swap space", "virtual", 8.0, 0.02),
        StorageSpec("/", "disk", 100.0, 0.35, 0.05),
        StorageSpec("/var", "disk", 500.0, 0.48, 0.8),
    )


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """A platform server (接处警 CAD, GIS, voice recorder …)."""

    asset_id: str
    name: str
    cpus: int = 4
    busy_cpu_load: float = 55.0
    storage: tuple[StorageSpec, ...] = field(default_factory=_default_storage)
    location: str = ""
    parent: str | None = None
    parent_port: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.cpus <= 256:
            raise ValueError("cpus must be 1–256")


#: hrStorage allocation unit reported for every row.
ALLOCATION_UNIT = 4096


class Server(Device):
    """A server: per-CPU load following the day's load, storage rows that fill slowly."""

    kind = "server"

    def __init__(self, spec: ServerSpec, *, start: float, seed: int, profile: DailyProfile) -> None:
        super().__init__(
            spec,
            start=start,
            seed=seed,
            profile=profile,
            descr=f"Linux {spec.name} x86_64, {spec.cpus} CPU, trunkwatch simulator",
        )
        self.spec = spec
        self.start = start
        self.interfaces = [
            Interface.create(1, "lo", "lo", seed_key=self.seed_key, start=start,
                             busy_utilisation=0.0001, mtu=65536),
            Interface.create(2, "eth0", "eth0", seed_key=self.seed_key, start=start,
                             busy_utilisation=0.05),
        ]  # fmt: skip

    def cpu_load(self, cpu: int) -> int:
        """hrProcessorLoad: average percent busy over the last minute."""
        if not self.answering:
            return 0
        wobble = smooth_noise(key_of(self.seed_key, "cpu", cpu), self.now, 60.0)
        load = self.spec.busy_cpu_load * (0.25 + 0.75 * self.profile.value(self.now))
        return max(0, min(100, round(load * (1.0 + 0.25 * wobble))))

    def storage_used_units(self, row: int) -> int:
        storage = self.spec.storage[row]
        size = storage.size_gb * 1e9
        days = (self.now - self.start) / 86400.0
        used = size * storage.used_fraction + storage.growth_gb_per_day * 1e9 * days
        if storage.kind == "ram":
            used *= 1.0 + 0.1 * smooth_noise(key_of(self.seed_key, "ram"), self.now, 300.0)
        return int(min(used, size) // ALLOCATION_UNIT)

    def storage_size_units(self, row: int) -> int:
        return int(self.spec.storage[row].size_gb * 1e9 // ALLOCATION_UNIT)

    @property
    def processes(self) -> int:
        return 180 + round(40 * self.profile.value(self.now))

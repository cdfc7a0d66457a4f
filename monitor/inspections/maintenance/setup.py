"""What planned maintenance takes from the configuration: the estate (which assets each site
has, for site windows and the per-asset gauge) and the Alertmanager to silence alerts in
(``alerting.alertmanager_url``, one URL or a cluster's peers)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from monitor.config import Config

__all__ = ["EstateAsset", "MaintenanceSetup", "build_maintenance_setup"]


@dataclass(frozen=True, slots=True)
class EstateAsset:
    id: str
    site: str
    system: str
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class MaintenanceSetup:
    #: Asset id → where it is and what it is, in configuration order.
    assets: Mapping[str, EstateAsset] = field(default_factory=lambda: MappingProxyType({}))
    #: Site id → its name as people read it.
    sites: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Alertmanager base URLs, tried in order; none: windows are not silenced.
    alertmanagers: tuple[str, ...] = ()
    timeout: float = 5.0

    def assets_of(self, scope: str, target: str) -> tuple[str, ...]:
        """The assets a window on ``scope:target`` takes out of service."""
        if scope == "asset":
            return (target,) if target in self.assets else ()
        return tuple(a.id for a in self.assets.values() if a.site == target)


def build_maintenance_setup(config: Config) -> MaintenanceSetup:
    alerting = config.model.alerting
    return MaintenanceSetup(
        assets=MappingProxyType(
            {
                a.id: EstateAsset(a.id, a.site, a.system, a.kind, a.name or a.id)
                for a in config.assets
            }
        ),
        sites=MappingProxyType(
            {s.id: f"{s.name} {s.name_en}" if s.name_en else s.name for s in config.sites}
        ),
        alertmanagers=tuple(alerting.alertmanager_url),
        timeout=alerting.timeout,
    )

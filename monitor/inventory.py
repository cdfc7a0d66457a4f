"""The monitored estate as the scheduler sees it: sites, assets, and the jobs to run on them.

Built from a validated Config. Each asset's identifying labels (``site``, ``asset``, ``system``,
``kind``) are rendered once here, so no poll or scrape formats them again. Topology lives
here too: an asset's upstream chain (its own parent, else its site's backhaul, else the parent
site's backhaul …) decides whether a failure is the asset's own or it is merely unreachable.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from monitor.config import Config, ProbeConfig, probe_name
from monitor.core.addresses import split_address
from monitor.core.collection import collector_paused
from probes import load_factory
from probes.base import Probe, Target

__all__ = ["Asset", "Inventory", "Job", "Site", "build_inventory", "escape_label_value"]

ASSET_LABELS = ("site", "asset", "system", "kind")


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render_labels(pairs: Iterable[tuple[str, str]]) -> str:
    if isinstance(pairs, tuple):
        return _rendered(pairs)
    return _render(pairs)


def _render(pairs: Iterable[tuple[str, str]]) -> str:
    return ",".join(f'{name}="{escape_label_value(value)}"' for name, value in pairs)


#: A device's rows carry the same labels poll after poll (and several families share a row's
#: labels), so their escaped text is made once and looked up after: escaping every label of
#: every sample of every poll was a quarter of the daemon's time polling large interface
#: tables. Bounded, so label values that keep changing cannot grow it.
_rendered = functools.lru_cache(maxsize=1 << 16)(_render)


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    name_en: str | None
    district: str | None
    coordinates: tuple[float, float] | None
    parent: str | None
    backhaul: str | None


@dataclass(frozen=True, slots=True)
class Asset:
    id: str
    site: str
    system: str
    kind: str
    name: str
    target: Target
    #: The asset whose failure makes this one unreachable, if any.
    parent: str | None
    labels: Mapping[str, str] = field(default_factory=dict)
    #: Labels of the exporting process every series of this asset also carries (a cluster's
    #: ``replica`` and ``member``), set once when the inventory is built, never per scrape.
    process_labels: tuple[tuple[str, str], ...] = ()

    @property
    def label_pairs(self) -> tuple[tuple[str, str], ...]:
        return (
            ("site", self.site),
            ("asset", self.id),
            ("system", self.system),
            ("kind", self.kind),
            *self.process_labels,
        )

    #: ``site="…",asset="…",system="…",kind="…"``, ready to splice into exposition lines.
    label_text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "label_text", render_labels(self.label_pairs))


@dataclass(frozen=True, slots=True)
class Job:
    """One probe on one asset, scheduled every ``interval`` with a stable ``offset``."""

    asset: Asset
    name: str
    module: str
    interval: float
    timeout: float
    probe: Probe = field(compare=False, repr=False)
    #: Identity across reloads: a job whose fingerprint is unchanged keeps its results.
    fingerprint: str = ""
    #: A shift of the offset, as a fraction of the interval (replicas poll in anti-phase).
    phase: float = 0.0

    @property
    def key(self) -> tuple[str, str]:
        return (self.asset.id, self.name)

    @property
    def offset(self) -> float:
        """Where in its interval this job fires, from a hash of its ids (stable across runs),
        so that thousands of jobs with the same interval never fire together; ``phase`` shifts
        it within the interval."""
        digest = hashlib.blake2b(f"{self.asset.id}\0{self.name}".encode(), digest_size=8).digest()
        return (int.from_bytes(digest, "big") / 2**64 + self.phase) % 1.0 * self.interval


@dataclass(frozen=True, slots=True)
class Inventory:
    sites: Mapping[str, Site]
    assets: Mapping[str, Asset]
    jobs: tuple[Job, ...]
    #: Labels of the exporting process on the configuration's own series (site and build
    #: info); the assets carry theirs in ``Asset.process_labels``.
    process_labels: tuple[tuple[str, str], ...] = ()

    #: Asset id → the assets whose nearest upstream asset it is (derived from ``assets``).
    children_of: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        children: dict[str, list[str]] = {}
        for asset in self.assets.values():
            if asset.parent is not None:
                children.setdefault(asset.parent, []).append(asset.id)
        object.__setattr__(
            self, "children_of", MappingProxyType({k: tuple(v) for k, v in children.items()})
        )

    def children(self, asset_id: str) -> list[str]:
        """The assets whose nearest upstream asset is this one."""
        return list(self.children_of.get(asset_id, ()))

    def upstream(self, asset_id: str) -> list[str]:
        """The assets between this one and the centre, nearest first."""
        chain: list[str] = []
        seen = {asset_id}
        current = self.assets[asset_id].parent if asset_id in self.assets else None
        while current is not None and current not in seen:
            chain.append(current)
            seen.add(current)
            current = self.assets[current].parent if current in self.assets else None
        return chain


def _effective_parent(
    asset_id: str, explicit: str | None, site_id: str, sites: Mapping[str, Site]
) -> str | None:
    if explicit is not None:
        return explicit
    site: Site | None = sites.get(site_id)
    while site is not None:
        if site.backhaul is not None and site.backhaul != asset_id:
            return site.backhaul
        site = sites.get(site.parent) if site.parent else None
    return None


def _probe_params(probes: Iterable[ProbeConfig]) -> list[dict[str, Any]]:
    """Each probe's parameters as its factory gets them.

    One asset is one agent identity: its system group, uptime and restarts are one set of
    series, exported by its first SNMP probe. The others would repeat them under the same
    labels, so their ``identity`` is off unless the probe sets it.
    """
    out: list[dict[str, Any]] = []
    identified = False
    for probe in probes:
        params = probe.params
        if probe.module == "snmp":
            if identified:
                params.setdefault("identity", False)
            identified = identified or params.get("identity", True) is not False
        out.append(params)
    return out


def build_inventory(config: Config) -> Inventory:
    """Turn a validated Config into sites, assets and ready-to-run jobs."""
    with collector_paused():
        return _build(config)


def _build(config: Config) -> Inventory:
    model = config.model
    sites = {
        s.id: Site(s.id, s.name, s.name_en, s.district, s.coordinates, s.parent, s.backhaul)
        for s in model.sites
    }
    assets: dict[str, Asset] = {}
    jobs: list[Job] = []
    for a in model.assets:
        host, port = split_address(a.address)
        secrets = config.secrets.get(a.credentials, {}) if a.credentials else {}
        asset = Asset(
            id=a.id,
            site=a.site,
            system=a.system,
            kind=a.kind,
            name=a.name or a.id,
            target=Target(a.id, host, port, MappingProxyType(dict(secrets)), a.charset),
            parent=_effective_parent(a.id, a.parent, a.site, sites),
            labels=MappingProxyType(dict(a.labels)),
        )
        assets[a.id] = asset
        for p, params in zip(a.probes, _probe_params(a.probes), strict=True):
            interval = p.interval or model.defaults.interval
            timeout = p.timeout or model.defaults.timeout
            probe = load_factory(p.module)(params, timeout=timeout)
            fingerprint = hashlib.blake2b(
                repr(
                    (
                        a.address,
                        a.charset,
                        a.credentials,
                        sorted(secrets.items()),
                        p.model_dump(),
                        interval,
                        timeout,
                    )
                ).encode(),
                digest_size=12,
            ).hexdigest()
            jobs.append(Job(asset, probe_name(p), p.module, interval, timeout, probe, fingerprint))
    return Inventory(MappingProxyType(sites), MappingProxyType(assets), tuple(jobs))

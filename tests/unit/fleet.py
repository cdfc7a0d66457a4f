"""Small in-memory inventories for unit tests of the scheduler and exporter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from monitor.inventory import Asset, Inventory, Job, Site
from probes.base import Probe, ProbeResult, Target


@dataclass
class ScriptedProbe:
    """A probe whose behaviour a test decides: ``behaviour`` is awaited on each run."""

    behaviour: Callable[[Target], object]
    calls: list[str] = field(default_factory=list)

    async def run(self, target: Target) -> ProbeResult:
        self.calls.append(target.asset)
        outcome = self.behaviour(target)
        if hasattr(outcome, "__await__"):
            outcome = await outcome
        assert isinstance(outcome, ProbeResult)
        return outcome


def asset(
    asset_id: str, *, site: str = "s1", host: str = "127.0.0.1", parent: str | None = None
) -> Asset:
    return Asset(
        id=asset_id,
        site=site,
        system="radio",
        kind="tetra_bs",
        name=asset_id,
        target=Target(asset_id, host, 1),
        parent=parent,
    )


def job(
    a: Asset, probe: Probe, *, name: str = "p", interval: float = 10.0, timeout: float = 5.0
) -> Job:
    return Job(a, name, "scripted", interval, timeout, probe, fingerprint=f"{a.id}/{name}")


def inventory(jobs: Sequence[Job]) -> Inventory:
    assets = {j.asset.id: j.asset for j in jobs}
    sites = {a.site: Site(a.site, a.site, None, None, None, None, None) for a in assets.values()}
    return Inventory(MappingProxyType(sites), MappingProxyType(assets), tuple(jobs))


def switch_fleet(count: int, *, allow_shrink: bool = False) -> str:
    """A ``monitor.yaml`` of ``count`` switches (a0, a1 …) at one site, on 127.0.0.1."""
    lines = ["allow_shrink: true"] if allow_shrink else []
    lines += ["sites: [{id: hq, name: HQ}]", "assets:" if count else "assets: []"]
    lines += [
        f"  - {{id: a{i}, site: hq, system: network, kind: switch, address: 127.0.0.1}}"
        for i in range(count)
    ]
    return "\n".join(lines) + "\n"

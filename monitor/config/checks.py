"""Cross-checks of a configuration whose shape is valid: unique ids, references between sites,
assets and credentials, parent chains, addresses, probe modules and their parameters, and the
secrets the credentials refer to.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.config.schema import ConfigModel, probe_name
from monitor.config.secrets import resolve_secret
from monitor.core.addresses import split_address
from monitor.core.durations import format_duration
from monitor.core.sources import Problem, SourceMap
from probes import UnknownProbeModule, load_factory
from probes.base import ProbeParamsError

__all__ = ["Origin", "cross_checks"]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the validated lists' items stand in the document, and the ids of items that
    failed validation (so references to them are not reported a second time)."""

    sites: list[int]
    assets: list[int]
    broken_site_ids: frozenset[str] = frozenset()
    broken_asset_ids: frozenset[str] = frozenset()

    @classmethod
    def whole(cls, model: ConfigModel) -> Origin:
        """Every item of the document validated, in its place."""
        return cls(list(range(len(model.sites))), list(range(len(model.assets))))


def cross_checks(
    model: ConfigModel, smap: SourceMap, base: Path, origin: Origin
) -> Iterator[Problem]:
    """Every reference and constraint between the parts of ``model``, as problems.

    ``base`` is the folder ``file:`` secrets are read from (the configuration file's).
    """
    site_ids: dict[str, int] = dict.fromkeys(origin.broken_site_ids, -1)
    for i, site in enumerate(model.sites):
        if site.id in site_ids:
            yield smap.problem(("sites", origin.sites[i], "id"), f"duplicate site id {site.id!r}")
        site_ids.setdefault(site.id, i)
    asset_index: dict[str, int] = dict.fromkeys(origin.broken_asset_ids, -1)
    for i, asset in enumerate(model.assets):
        if asset.id in asset_index:
            yield smap.problem(
                ("assets", origin.assets[i], "id"), f"duplicate asset id {asset.id!r}"
            )
        asset_index.setdefault(asset.id, i)

    for i, site in enumerate(model.sites):
        at = ("sites", origin.sites[i])
        if site.parent is not None and site.parent not in site_ids:
            yield smap.problem((*at, "parent"), f"no site {site.parent!r}")
        if site.backhaul is not None and site.backhaul not in asset_index:
            yield smap.problem((*at, "backhaul"), f"no asset {site.backhaul!r}")
    parents = {s.id: s.parent for s in reversed(model.sites)}  # the first of a duplicate wins
    for i, site in enumerate(model.sites):
        if site_ids.get(site.id) != i:
            continue  # a duplicate, already reported
        seen, cur = {site.id}, site.parent
        while cur is not None and cur in parents:
            if cur in seen:
                yield smap.problem(("sites", origin.sites[i], "parent"), "parent chain loops back")
                break
            seen.add(cur)
            cur = parents[cur]

    for name, fields in model.credentials.items():
        for key, value in fields.items():
            try:
                resolve_secret(value, base)
            except ValueError as exc:
                yield smap.problem(("credentials", name, key), str(exc))

    probe_check = _ProbeChecks()
    for i, asset in enumerate(model.assets):
        where: tuple[str | int, ...] = ("assets", origin.assets[i])
        if asset.site not in site_ids:
            yield smap.problem((*where, "site"), f"no site {asset.site!r}")
        if asset.parent is not None:
            if asset.parent not in asset_index:
                yield smap.problem((*where, "parent"), f"no asset {asset.parent!r}")
            elif asset.parent == asset.id:
                yield smap.problem((*where, "parent"), "an asset cannot be its own parent")
        if asset.credentials is not None and asset.credentials not in model.credentials:
            yield smap.problem((*where, "credentials"), f"no credentials {asset.credentials!r}")
        try:
            split_address(asset.address)
        except ValueError as exc:
            yield smap.problem((*where, "address"), str(exc))
        names: set[str] = set()
        for j, probe in enumerate(asset.probes):
            pwhere = (*where, "probes", j)
            pname = probe_name(probe)
            if pname in names:
                yield smap.problem((*pwhere, "name"), f"duplicate probe name {pname!r}")
            names.add(pname)
            interval = probe.interval or model.defaults.interval
            timeout = probe.timeout or model.defaults.timeout
            if interval < timeout:
                yield smap.problem(
                    (*pwhere, "interval"),
                    f"interval {format_duration(interval)} is below the timeout "
                    f"{format_duration(timeout)}",
                )
            for field, reason in probe_check(probe.module, probe.params, timeout):
                yield smap.problem((*pwhere, *field), reason)


class _ProbeChecks:
    """The problems of each distinct probe entry, found once per load.

    Whether a probe's module exists and accepts its parameters depends on nothing but the
    module, the parameters and the timeout, and a fleet of thousands of assets has a handful
    of distinct entries: each is checked once, by building the probe, and the answer reused.
    """

    def __init__(self) -> None:
        self._seen: dict[str, list[tuple[tuple[str | int, ...], str]]] = {}

    def __call__(
        self, module: str, params: dict[str, Any], timeout: float
    ) -> list[tuple[tuple[str | int, ...], str]]:
        key = repr((module, sorted(params.items()), timeout))
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = self._check(module, params, timeout)
        return found

    @staticmethod
    def _check(
        module: str, params: dict[str, Any], timeout: float
    ) -> list[tuple[tuple[str | int, ...], str]]:
        try:
            factory = load_factory(module)
        except UnknownProbeModule as exc:
            return [(("module",), str(exc))]
        try:
            factory(params, timeout=timeout)
        except ProbeParamsError as exc:
            return [
                (tuple(int(p) if p.isdigit() else p for p in key.split(".")), reason)
                for key, reason in exc.problems
            ]
        return []

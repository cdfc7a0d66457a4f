"""Which member polls which asset, and what that changes in one process's inventory.

An asset belongs to the ``replication`` members with the highest rendezvous
(highest-random-weight) score ``blake2b(member, asset id)``: every process computes the same
answer from the configuration alone, and a member joining or leaving moves only the assets it
gains or held (about 1/N of them). A member also polls the topology parents of its own assets
(the asset's upstream chain: its parent, else its site's backhaul …), so that it can tell an
asset that is down from one that is merely unreachable without asking another member; those
are its *parents*, listed apart from what it owns.

Replicas poll the same assets in anti-phase: replica *i* of *n* (by its place in the sorted
``replicas``) shifts every job by i/n of its interval, so two replicas are half an interval
apart and a slow device never sees both at once. Without a ``replicas`` list the shift is a
stable hash of the replica's name: spread, but not guaranteed opposite.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from monitor.cluster.section import CLUSTER, ClusterConfig
from monitor.config import Config
from monitor.core.sources import ConfigError, Problem
from monitor.inventory import Asset, Inventory

__all__ = ["ClusterPlan", "ClusterRole", "apply_role", "owners", "plan", "resolve_role"]


def _score(member: str, asset_id: str) -> int:
    digest = hashlib.blake2b(f"{member}\0{asset_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owners(asset_id: str, members: Sequence[str], replication: int = 1) -> tuple[str, ...]:
    """The members that poll ``asset_id``: the ``replication`` highest rendezvous scores
    (ties, which need a 64-bit collision, go to the lower name)."""
    ranked = sorted(members, key=lambda m: (-_score(m, asset_id), m))
    return tuple(ranked[:replication])


@dataclass(frozen=True, slots=True)
class ClusterPlan:
    """Each member's own assets, and the topology parents it polls to judge them."""

    owned: dict[str, list[str]]
    parents: dict[str, list[str]]

    def as_json(self) -> dict[str, object]:
        """``{"m1": [asset, …], …, "parents": {"m1": [asset, …], …}}``."""
        return {**self.owned, "parents": self.parents}


def _parents_of(inventory: Inventory, owned: Iterable[str]) -> list[str]:
    mine = set(owned)
    needed: set[str] = set()
    for asset_id in mine:
        needed.update(a for a in inventory.upstream(asset_id) if a in inventory.assets)
    return sorted(needed - mine)


def plan(inventory: Inventory, cluster: ClusterConfig) -> ClusterPlan:
    """Who polls what; one member ``""`` owning everything when the cluster has no members."""
    members = cluster.members or [""]
    owned: dict[str, list[str]] = {m: [] for m in members}
    for asset_id in sorted(inventory.assets):
        for member in owners(asset_id, members, cluster.replication):
            owned[member].append(asset_id)
    parents = {m: _parents_of(inventory, ids) for m, ids in owned.items()}
    return ClusterPlan(owned, parents)


@dataclass(frozen=True, slots=True)
class ClusterRole:
    """This process's place in the cluster: its names and the labels it exports."""

    cluster: ClusterConfig
    replica: str | None
    member: str | None

    @property
    def labels(self) -> tuple[tuple[str, str], ...]:
        out: list[tuple[str, str]] = []
        if self.replica is not None:
            out.append(("replica", self.replica))
        if self.member is not None:
            out.append(("member", self.member))
        return tuple(out)

    @property
    def phase(self) -> float:
        """The fraction of an interval this replica's jobs are shifted by."""
        if self.replica is None:
            return 0.0
        replicas = sorted(self.cluster.replicas)
        if self.replica in replicas:
            return replicas.index(self.replica) / len(replicas)
        digest = hashlib.blake2b(self.replica.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64


def resolve_role(
    config: Config, replica: str | None = None, member: str | None = None
) -> ClusterRole | None:
    """This process's role from the ``cluster:`` section and ``--replica``/``--member``
    (which win); None without a section and without options. Raises ConfigError."""
    section = CLUSTER.of(config)
    if section is None:
        if member is not None:
            raise ConfigError([_problem(config, ("cluster",), "--member needs cluster.members")])
        if replica is None:
            return None
        section = ClusterConfig(replica=replica)
    replica = replica or section.replica
    if replica is not None and section.replicas and replica not in section.replicas:
        where = ("cluster", "replicas")
        raise ConfigError([_problem(config, where, f"replica {replica!r} is not listed")])
    if section.members:
        if member is None:
            where = ("cluster", "members")
            raise ConfigError([_problem(config, where, "this process needs --member NAME")])
        if member not in section.members:
            where = ("cluster", "members")
            raise ConfigError([_problem(config, where, f"--member {member!r} is not listed")])
    elif member is not None:
        raise ConfigError([_problem(config, ("cluster",), "--member needs cluster.members")])
    return ClusterRole(section, replica, member)


def _problem(config: Config, path: tuple[str, ...], reason: str) -> Problem:
    return config.source.problem(path, reason)


def apply_role(inventory: Inventory, role: ClusterRole) -> Inventory:
    """The part of ``inventory`` this process polls, every series labelled with its role.

    Every configured asset stays in ``assets`` (its ``trunkwatch_asset_info`` is what shows an
    asset no member polls); only the jobs of the member's own assets and their parents stay.
    """
    labels = role.labels
    if role.member is not None:
        shares = plan(inventory, role.cluster)
        polled = {*shares.owned[role.member], *shares.parents[role.member]}
    else:
        polled = set(inventory.assets)
    assets: dict[str, Asset] = {
        a.id: replace(a, process_labels=labels) for a in inventory.assets.values()
    }
    phase = role.phase
    jobs = tuple(
        replace(job, asset=assets[job.asset.id], phase=phase)
        for job in inventory.jobs
        if job.asset.id in polled
    )
    return Inventory(inventory.sites, MappingProxyType(assets), jobs, process_labels=labels)

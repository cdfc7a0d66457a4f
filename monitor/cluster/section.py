"""The ``cluster:`` section of monitor.yaml and its checks; registered as a configuration
section::

    cluster:
      replica: a                 # HA pair: this instance's replica name (or --replica NAME)
      replicas: [a, b]           # every replica's name: their polls run in anti-phase
      members: [m1, m2, m3]      # shards: member names; this process is --member NAME
      replication: 1             # members that poll each asset (1 … len(members))
      addresses:                 # member (or, unsharded, replica) → its server.listen:
        m1: 10.0.0.1:9750        #   the targets of `trunkwatch cluster prometheus-config`;
                                 #   shards of an HA pair are MEMBER.REPLICA (m1.a, m1.b)

Without the section nothing changes: one process polls everything and exports no ``replica``
or ``member`` label.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

from pydantic import Field

from monitor.config import ConfigModel, ConfigSection, Identifier
from monitor.core.addresses import parse_listen
from monitor.core.sources import Problem, SourceMap, Strict

__all__ = ["CLUSTER", "ClusterConfig", "check_cluster", "processes_of"]


class ClusterConfig(Strict):
    """Replicas (the same assets, polled by each) and shards (the assets split by member)."""

    replica: Identifier | None = None
    replicas: list[Identifier] = Field(default_factory=list, max_length=16)
    members: list[Identifier] = Field(default_factory=list, max_length=1000)
    replication: int = Field(default=1, ge=1)
    addresses: dict[Identifier, str] = Field(default_factory=dict)


def processes_of(section: ClusterConfig) -> list[tuple[str, dict[str, str]]]:
    """Every process of the cluster: its name (the key of ``addresses``) and the labels it
    exports. Shards of an HA pair are ``MEMBER.REPLICA`` (``m1.a``, ``m1.b``, …)."""
    if section.members and section.replicas:
        return [
            (f"{m}.{r}", {"member": m, "replica": r})
            for m in section.members
            for r in section.replicas
        ]
    if section.members:
        return [(m, {"member": m}) for m in section.members]
    names = list(section.replicas) or [section.replica or "all"]
    return [(r, {"replica": r}) for r in names]


def _duplicates(names: list[str]) -> Iterator[tuple[int, str]]:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            yield i, name
        seen.add(name)


def check_cluster(
    section: ClusterConfig, model: ConfigModel, smap: SourceMap, base: Path
) -> Iterator[Problem]:
    """The section against itself: unique names, a replication the members can hold, the
    replica among the replicas, addresses (HOST:PORT) of members only (of replicas when the
    cluster is not sharded)."""
    for key in ("members", "replicas"):
        for i, name in _duplicates(getattr(section, key)):
            yield smap.problem(("cluster", key, i), f"{name!r} is listed twice")
    if section.members and section.replication > len(section.members):
        yield smap.problem(
            ("cluster", "replication"),
            f"must be between 1 and {len(section.members)} (the number of members)",
        )
    elif not section.members and section.replication != 1:
        yield smap.problem(("cluster", "replication"), "needs members to replicate over")
    if section.replica and section.replicas and section.replica not in section.replicas:
        yield smap.problem(
            ("cluster", "replica"), f"{section.replica!r} is not one of the replicas"
        )
    for i, name in enumerate(section.members):
        if name == "parents":  # the key `cluster plan --json` lists the parents under
            yield smap.problem(("cluster", "members", i), "'parents' is a reserved name")
    processes = [name for name, _ in processes_of(section)]
    for name, address in section.addresses.items():
        where = ("cluster", "addresses", name)
        if name not in processes:
            if section.members and section.replicas:
                kind = "MEMBER.REPLICA processes"
            else:
                kind = "members" if section.members else "replicas"
            yield smap.problem(where, f"{name!r} is not one of the {kind}")
            continue
        try:
            parse_listen(address)
        except ValueError as exc:
            yield smap.problem(where, str(exc))


#: The ``cluster:`` section as registered (``monitor.config.sections``); ``CLUSTER.of(config)``.
CLUSTER: Final = ConfigSection("cluster", ClusterConfig, check_cluster)

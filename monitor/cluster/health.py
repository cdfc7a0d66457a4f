"""The cluster's own health as this process sees it, for the daemon's registry:
``trunkwatch_cluster_members`` (the configured members), ``trunkwatch_cluster_owned_assets``
(the assets this member owns) and ``trunkwatch_cluster_info`` (this process's names).

Whether a member is alive is Prometheus's ``up`` of its target; alerts/cluster.rules.yml
joins the two.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.cluster.membership import ClusterRole, plan
from monitor.inventory import Inventory

__all__ = ["ClusterHealth"]


class ClusterHealth(Collector):
    """Reads the role and inventory installed last (``install``); nothing without a role."""

    def __init__(self) -> None:
        self._role: ClusterRole | None = None
        self._owned = 0

    def install(self, role: ClusterRole | None, inventory: Inventory) -> None:
        """Take the role of a newly loaded configuration and count what it owns."""
        self._role = role
        if role is None:
            self._owned = 0
        elif role.member is None:
            self._owned = len(inventory.assets)
        else:
            self._owned = len(plan(inventory, role.cluster).owned[role.member])

    def collect(self) -> Iterator[Metric]:
        role = self._role
        if role is None:
            return
        names = [name for name, _ in role.labels]
        values = [value for _, value in role.labels]
        members = GaugeMetricFamily(
            "trunkwatch_cluster_members",
            "Members the cluster is configured with (1 when it is not sharded).",
            labels=names,
        )
        members.add_metric(values, len(role.cluster.members) or 1)
        yield members
        owned = GaugeMetricFamily(
            "trunkwatch_cluster_owned_assets",
            "Assets this member owns (its topology parents not counted).",
            labels=names,
        )
        owned.add_metric(values, self._owned)
        yield owned
        info = GaugeMetricFamily(
            "trunkwatch_cluster_info",
            "This process's replica and member names (empty when not set).",
            labels=["replica", "member"],
        )
        info.add_metric([role.replica or "", role.member or ""], 1)
        yield info

"""The cluster: replicas that poll the same assets in anti-phase, members that share the
assets by rendezvous hashing, and the labels and health series that say which is which.

The daemon applies a role to the inventory it built (``apply_role``); the inventory and the
scheduler know nothing of clusters.
"""

from monitor.cluster.health import ClusterHealth
from monitor.cluster.membership import (
    ClusterPlan,
    ClusterRole,
    apply_role,
    owners,
    plan,
    resolve_role,
)
from monitor.cluster.section import CLUSTER, ClusterConfig, check_cluster, processes_of

__all__ = [
    "CLUSTER",
    "ClusterConfig",
    "ClusterHealth",
    "ClusterPlan",
    "ClusterRole",
    "apply_role",
    "check_cluster",
    "owners",
    "plan",
    "processes_of",
    "resolve_role",
]

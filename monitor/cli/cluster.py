"""``trunkwatch cluster …``: which member polls what, and the scrape configuration of all.

``cluster plan [--json]`` prints each member's own assets and, apart, the topology parents it
polls to judge them (``{"m1": [...], …, "parents": {"m1": [...], …}}``). Without members every
replica polls everything, so the keys are the replicas.

``cluster prometheus-config [--json]`` prints one scrape job with every member (or replica, or
both: ``m1.a``) as a target, taken from ``cluster.addresses``; each target is labelled with its
``member`` and/or ``replica`` and ``honor_labels`` keeps the labels the process exports
itself, so the process's own series (scheduler, process) get the same labels from the target.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import yaml

from monitor.cli.args import EXIT_FAILED, EXIT_OK, AddConfig, Subparsers
from monitor.cli.problems import print_problems
from monitor.cluster import CLUSTER, ClusterConfig, plan, processes_of
from monitor.config import Config, load_config
from monitor.core.sources import ConfigError
from monitor.inventory import build_inventory

__all__ = ["cmd_plan", "cmd_prometheus_config", "prometheus_config", "register"]


def _cluster(args: argparse.Namespace) -> tuple[Config, ClusterConfig] | None:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print_problems(exc)
        return None
    section = CLUSTER.of(config)
    if section is None:
        print(f"trunkwatch: {args.config} has no cluster: section", file=sys.stderr)
        return None
    return config, section


def _processes(section: ClusterConfig) -> tuple[str, list[str]]:
    """The label the plan's processes are told apart by, and their names (the replicas of
    one member poll the same assets, so a plan is per member)."""
    if section.members:
        return "member", list(section.members)
    return "replica", list(section.replicas) or [section.replica or "all"]


def cmd_plan(args: argparse.Namespace) -> int:
    loaded = _cluster(args)
    if loaded is None:
        return EXIT_FAILED
    config, section = loaded
    shares = plan(build_inventory(config), section)
    _, names = _processes(section)
    if section.members:
        owned, parents = shares.owned, shares.parents
    else:  # replicas: each polls everything
        owned = {name: shares.owned[""] for name in names}
        parents = {name: shares.parents[""] for name in names}
    if args.json:
        print(json.dumps({**owned, "parents": parents}, indent=2, ensure_ascii=False))
        return EXIT_OK
    for name in names:
        print(f"{name}: {len(owned[name])} assets, {len(parents[name])} parents")
        for asset in owned[name]:
            print(f"  {asset}")
        for asset in parents[name]:
            print(f"  {asset} (parent)")
    return EXIT_OK


def prometheus_config(config: Config, section: ClusterConfig) -> dict[str, Any]:
    """The ``scrape_configs`` for every process of the cluster; raises ConfigError when one
    has no address."""
    processes = processes_of(section)
    missing = [name for name, _ in processes if name not in section.addresses]
    if missing:
        problem = config.source.problem(
            ("cluster", "addresses"), f"no address for {', '.join(missing)}"
        )
        raise ConfigError([problem])
    targets = [
        {"targets": [section.addresses[name]], "labels": labels} for name, labels in processes
    ]
    # instance names the process (m1, a, m1.a), not its address: it stays when one moves.
    names = [n for n in ("member", "replica") if n in processes[0][1]]
    job: dict[str, Any] = {
        "job_name": "trunkwatch",
        "honor_labels": True,
        "scrape_interval": "15s",
        "metrics_path": "/metrics",
        "static_configs": targets,
        "relabel_configs": [{"source_labels": names, "separator": ".", "target_label": "instance"}],
    }
    return {"scrape_configs": [job]}


def cmd_prometheus_config(args: argparse.Namespace) -> int:
    loaded = _cluster(args)
    if loaded is None:
        return EXIT_FAILED
    try:
        document = prometheus_config(*loaded)
    except ConfigError as exc:
        print_problems(exc)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print(yaml.safe_dump(document, sort_keys=False), end="")
    return EXIT_OK


def register(sub: Subparsers, add_config: AddConfig) -> None:
    """Add ``cluster plan`` and ``cluster prometheus-config``."""
    group = sub.add_parser("cluster", help="which member polls what; scrape configuration")
    commands = group.add_subparsers(dest="cluster_command", metavar="COMMAND", required=True)
    p = commands.add_parser("plan", help="print the assets each member polls")
    add_config(p)
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(func=cmd_plan)
    p = commands.add_parser(
        "prometheus-config", help="print the Prometheus scrape configuration for every member"
    )
    add_config(p)
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(func=cmd_prometheus_config)

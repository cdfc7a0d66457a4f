"""The engines of an HA pair, started from the shipped deploy/ha/ files on loopback.

``shipped_args(name)`` reads the ``ARGS`` of a deploy/ha/*.default file (what an operator puts
in /etc/default/…); ``on_loopback(args, {flag: value})`` replaces the flags that name hosts,
ports and paths. ``start_alertmanager_cluster`` runs am1 and am2 as one gossip cluster with the
shipped cluster flags (gossip and peer timeouts shortened for tests), and
``start_victoria_metrics`` runs VictoriaMetrics with the shipped flags. ``prometheus_replica``
turns deploy/ha/prometheus-pN.yml into a test's configuration: the same external labels,
alert and write relabelling, with the test's targets, intervals and URLs.

Every server is a promstack ``_Server``: its log beside its state, stopped on exit, and
``kill()`` is SIGKILL.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import shlex
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import free_tcp_port, wait_until
from tests.integration.promstack import (
    START_TIMEOUT_S,
    Alertmanager,
    StackError,
    _request,
    _Server,
    _spawn,
    find_binary,
    start_alertmanager,
)
from tests.integration.simcity import REPO

__all__ = [
    "DEPLOY",
    "VictoriaMetrics",
    "cluster_peers",
    "cluster_status",
    "metric_value",
    "on_loopback",
    "prometheus_replica",
    "shipped_args",
    "start_alertmanager_cluster",
    "start_victoria_metrics",
]

DEPLOY = REPO / "deploy" / "ha"

_ARGS = re.compile(r'^ARGS="(.*)"$', re.MULTILINE)


def shipped_args(name: str) -> list[str]:
    """The ``ARGS`` flags of deploy/ha/``name`` (a /etc/default file)."""
    text = (DEPLOY / name).read_text(encoding="utf-8")
    match = _ARGS.search(text)
    assert match, f'deploy/ha/{name}: no ARGS="…" line'
    return shlex.split(match.group(1))


def on_loopback(args: Sequence[str], replace: Mapping[str, str]) -> list[str]:
    """``args`` with each ``flag=value`` whose flag is in ``replace`` given the new value;
    every flag to replace must be in ``args`` (the shipped file names it), or it fails."""
    out, seen = [], set()
    for arg in args:
        flag, _, _value = arg.partition("=")
        if flag in replace:
            out.append(f"{flag}={replace[flag]}")
            seen.add(flag)
        else:
            out.append(arg)
    missing = set(replace) - seen
    assert not missing, f"shipped flags lack {sorted(missing)}: {args}"
    return out


def metric_value(url: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` matching ``labels`` on ``url``/metrics."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line[len(name) : len(name) + 1] not in {"{", " "}:
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


# -- Alertmanager ---------------------------------------------------------------------------

#: Shortened for tests: how long a peer waits for the one before it in the cluster's order to
#: notify before it checks the shared log and notifies itself (15 s shipped).
PEER_TIMEOUT = "2s"


def cluster_status(am: Alertmanager) -> dict[str, Any]:
    """``cluster`` of /api/v2/status: this peer's ``name``, its ``peers`` and ``status``."""
    status: dict[str, Any] = _request(f"{am.url}/api/v2/status")["cluster"]
    return status


def cluster_peers(am: Alertmanager) -> list[str]:
    return [p["address"] for p in cluster_status(am).get("peers") or []]


@contextlib.contextmanager
def start_alertmanager_cluster(
    workdir: Path, config: Mapping[str, Any]
) -> Iterator[tuple[Alertmanager, Alertmanager]]:
    """am1 and am2 with ``config`` and deploy/ha's cluster flags, gossiping on loopback;
    yields once each sees the other."""
    web = [free_tcp_port(), free_tcp_port()]
    gossip = [free_tcp_port(), free_tcp_port()]
    names = ["am1", "am2"]
    args = []
    for i, name in enumerate(names):
        own, other = f"127.0.0.1:{gossip[i]}", f"127.0.0.1:{gossip[1 - i]}"
        shipped = on_loopback(
            shipped_args(f"alertmanager-{name}.default"),
            {
                "--cluster.listen-address": own,
                "--cluster.advertise-address": own,
                "--cluster.peer": other,
                "--cluster.peer-timeout": PEER_TIMEOUT,
                "--web.listen-address": f"127.0.0.1:{web[i]}",
            },
        )
        # start_alertmanager sets the web address itself; gossip is tuned for two processes
        # on one machine (memberlist's LAN defaults assume a real network).
        cluster = [a for a in shipped if not a.startswith("--web.listen-address=")]
        cluster += [
            "--cluster.gossip-interval=100ms",
            "--cluster.pushpull-interval=2s",
            "--cluster.settle-timeout=5s",
            "--cluster.probe-interval=500ms",
            "--cluster.reconnect-interval=1s",
        ]
        args.append(cluster)
    with (
        start_alertmanager(
            workdir / "am1", config, name="am1", port=web[0], cluster_args=args[0]
        ) as am1,
        start_alertmanager(
            workdir / "am2", config, name="am2", port=web[1], cluster_args=args[1]
        ) as am2,
    ):
        wait_until(
            lambda: len(cluster_peers(am1)) == 2 and len(cluster_peers(am2)) == 2,
            START_TIMEOUT_S,
            "am1 and am2 to see each other",
        )
        yield am1, am2


# -- Prometheus -----------------------------------------------------------------------------


def prometheus_replica(
    name: str,
    *,
    interval: str,
    targets: Sequence[Mapping[str, Any]],
    alertmanagers: Sequence[str],
    remote_write_url: str,
) -> dict[str, Any]:
    """deploy/ha/prometheus-``name``.yml with the test's addresses and intervals; its
    external labels and its alert and write relabelling are kept as shipped."""
    config: dict[str, Any] = copy.deepcopy(
        yaml.safe_load((DEPLOY / f"prometheus-{name}.yml").read_text(encoding="utf-8"))
    )
    config["global"].update(scrape_interval=interval, evaluation_interval=interval)
    config["alerting"]["alertmanagers"] = [
        {"static_configs": [{"targets": [u.removeprefix("http://") for u in alertmanagers]}]}
    ]
    (job,) = config["scrape_configs"]
    job["static_configs"] = [dict(t) for t in targets]
    (write,) = config["remote_write"]
    write["url"] = remote_write_url
    write["queue_config"]["batch_send_deadline"] = "500ms"
    config.pop("rule_files", None)  # start_prometheus lists the test's copies
    return config


# -- VictoriaMetrics ------------------------------------------------------------------------


@dataclass
class VictoriaMetrics(_Server):
    @property
    def write_url(self) -> str:
        return f"{self.url}/api/v1/write"

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step}s"}
        body = _request(f"{self.url}/api/v1/query_range?{urllib.parse.urlencode(params)}")
        if body.get("status") != "success":
            raise StackError(f"query_range {expr!r}: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def export(self, match: str, start: float, end: float) -> list[dict[str, Any]]:
        """The stored samples of every series matching ``match`` (after deduplication):
        ``[{"metric": {…}, "values": […], "timestamps": [ms, …]}, …]``."""
        params = {"match[]": match, "start": f"{start:.3f}", "end": f"{end:.3f}"}
        url = f"{self.url}/api/v1/export?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as response:
            lines = response.read().decode().splitlines()
        return [json.loads(line) for line in lines if line.strip()]


@contextlib.contextmanager
def start_victoria_metrics(workdir: Path, dedup_interval: str) -> Iterator[VictoriaMetrics]:
    """VictoriaMetrics with deploy/ha's flags, on loopback, deduplicating at
    ``dedup_interval`` (the test's scrape interval)."""
    binary = find_binary("victoria-metrics", package="victoria-metrics")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_tcp_port()
    args = on_loopback(
        shipped_args("victoria-metrics.default"),
        {
            "-storageDataPath": str(workdir / "data"),
            "-httpListenAddr": f"127.0.0.1:{port}",
            "-dedup.minScrapeInterval": dedup_interval,
        },
    )
    # Tests read what was written a second ago: the shipped default hides the last 30 s
    # (samples may still be arriving) and caches answers.
    args += ["-search.latencyOffset=1s", "-search.disableCache"]
    process, log_path = _spawn("victoria-metrics", [binary, *args], workdir)
    server = VictoriaMetrics("victoria-metrics", process, f"http://127.0.0.1:{port}", log_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()

"""Shards on a real fleet: three ``trunkwatch run --member`` processes over a simulated city of
300 sites (600 assets: a base station and its UPS per site, the UPS reached through the base
station, which is its site's backhaul), all on loopback.

With ``replication: 2`` every asset is polled by exactly two members, the union is every
asset, each member polls the base station behind every UPS it owns, and with one member
stopped every asset is still polled. With ``replication: 1`` a real Prometheus scrapes the
members from ``trunkwatch cluster prometheus-config`` with alerts/cluster.rules.yml (its
``for`` scaled down); stopping one member fires ``TrunkwatchAssetsUnpolled`` for exactly the
assets of its share (``trunkwatch cluster plan --json``) that no other member polls as a
parent.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.simulator.fleet import DEFAULT_FLEET
from monitor.simulator.runtime import Simulation
from tests.helpers import free_tcp_port, http_get, wait_until
from tests.integration.promstack import Prometheus, start_prometheus
from tests.integration.simcity import REPO
from tests.integration.test_alerting_e2e import scaled_rules

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SITES = 300
MEMBERS = ("m1", "m2", "m3")
INTERVAL_S = 5
#: The shipped `for: 5m` of TrunkwatchAssetsUnpolled becomes 5 s.
FOR_SCALE = 60
START_TIMEOUT_S = 60.0

_SUCCESS = re.compile(r"^trunkwatch_probe_success\{([^}]*)\} (\S+)$", re.MULTILINE)
_LAST_RUN = re.compile(
    r"^trunkwatch_probe_last_run_timestamp_seconds\{([^}]*)\} (\S+)$", re.MULTILINE
)
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def simulator_section(sites: int) -> dict[str, Any]:
    """The demo's base stations repeated ``sites`` times, each its own agent."""
    template = DEFAULT_FLEET["sites"]
    sim_sites = []
    for n in range(sites):
        site = copy.deepcopy(template[n % len(template)])
        site.update(id=f"bs-s{n:04d}", parent=None)
        site.pop("parent_port", None)
        sim_sites.append(site)
    return {
        "seed": 2016,
        "agent": {"host": "127.0.0.1", "base_port": 16100, "community": "public"},
        "defaults": DEFAULT_FLEET["defaults"],
        "sites": sim_sites,
    }


def fleet_config(
    endpoints: dict[str, dict[str, str]], sites: int, data_dir: Path, cluster: dict[str, Any]
) -> dict[str, Any]:
    """monitor.yaml for the simulated fleet: per site a base station (the site's backhaul) and
    its UPS on the same agent, so the UPS's topology parent is the base station."""
    monitor_sites: list[dict[str, Any]] = [{"id": "hq", "name": "中心"}]
    assets: list[dict[str, Any]] = []
    for n in range(sites):
        site_id = f"s{n:04d}"
        bs = f"bs-{site_id}"
        monitor_sites.append({"id": site_id, "name": f"站点 {n}", "parent": "hq", "backhaul": bs})
        common = {"site": site_id, "address": endpoints[bs]["snmp"], "credentials": "sim"}
        assets.append(
            {"id": bs, "system": "radio", "kind": "tetra_bs", **common,
             "probes": [{"module": "snmp", "profile": "trunked_bs"}]}
        )  # fmt: skip
        assets.append(
            {"id": f"ups-{site_id}", "system": "power", "kind": "ups", **common,
             "probes": [{"module": "snmp", "profile": "ups_mib"}]}
        )  # fmt: skip
    return {
        "defaults": {"interval": f"{INTERVAL_S}s", "timeout": "3s"},
        "limits": {"concurrency": 128, "per_device": 4},
        "credentials": {"sim": {"community": "public"}},
        "server": {"data_dir": str(data_dir)},
        "sites": monitor_sites,
        "assets": assets,
        "cluster": cluster,
    }


class Fleet:
    """The simulation on its own event loop in a background thread."""

    def __init__(self, sites: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fleet", daemon=True)
        self.simulation = Simulation(simulator_section(sites), ephemeral=True)

    def __enter__(self) -> Fleet:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.simulation.start(), self._loop).result(60)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.simulation.close(), self._loop).result(20)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()


class Member:
    """One ``trunkwatch run --member NAME`` process."""

    def __init__(self, name: str, config: Path, port: int, workdir: Path) -> None:
        self.name = name
        self.url = f"http://127.0.0.1:{port}/metrics"
        self.log = workdir / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "monitor.cli", "run", "-c", str(config),
                 "--member", name, "--listen", f"127.0.0.1:{port}"],
                cwd=REPO, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip

    def polled(self) -> dict[str, float]:
        """asset → its probe success, from this member's /metrics; checks the member label."""
        status, body = http_get(self.url, timeout=20)
        assert status == 200, body[:200]
        out: dict[str, float] = {}
        for match in _SUCCESS.finditer(body):
            labels = dict(_LABEL.findall(match.group(1)))
            assert labels.get("member") == self.name, labels
            out[labels["asset"]] = min(out.get(labels["asset"], 1.0), float(match.group(2)))
        return out

    def last_runs(self) -> dict[str, float]:
        """asset → when this member last polled it (the oldest of its probes)."""
        status, body = http_get(self.url, timeout=20)
        assert status == 200, body[:200]
        out: dict[str, float] = {}
        for match in _LAST_RUN.finditer(body):
            asset = dict(_LABEL.findall(match.group(1)))["asset"]
            out[asset] = min(out.get(asset, float("inf")), float(match.group(2)))
        return out

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet(SITES) as running:
        yield running


def cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


class Cluster:
    """The three members on one configuration (each its own state folder)."""

    def __init__(self, fleet: Fleet, workdir: Path, replication: int) -> None:
        ports = {name: free_tcp_port() for name in MEMBERS}
        section = {
            "members": list(MEMBERS),
            "replication": replication,
            "addresses": {name: f"127.0.0.1:{port}" for name, port in ports.items()},
        }
        endpoints = fleet.simulation.endpoints()
        self.config = workdir / "monitor.yaml"
        document = fleet_config(endpoints, SITES, workdir / "var", section)
        self.config.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        self.plan: dict[str, Any] = json.loads(
            cli("cluster", "plan", "-c", str(self.config), "--json")
        )
        self.scrape: dict[str, Any] = json.loads(
            cli("cluster", "prometheus-config", "-c", str(self.config), "--json")
        )
        self.assets = {a["id"] for a in document["assets"]}
        self.members: dict[str, Member] = {}
        for name in MEMBERS:
            config = workdir / f"monitor-{name}.yaml"
            own = {**document, "server": {"data_dir": str(workdir / f"var-{name}")}}
            config.write_text(yaml.safe_dump(own, allow_unicode=True), encoding="utf-8")
            self.members[name] = Member(name, config, ports[name], workdir)

    def wait_polled(self, names: tuple[str, ...]) -> dict[str, dict[str, float]]:
        """Each member's polled assets once every one it should poll has a result."""

        def complete() -> dict[str, dict[str, float]] | None:
            seen = {name: self.members[name].polled() for name in names}
            for name in names:
                want = {*self.plan[name], *self.plan["parents"][name]}
                if not want <= set(seen[name]):
                    return None
            return seen

        return wait_until(complete, START_TIMEOUT_S, f"{names} polling their shares", step=1.0)

    def stop(self) -> None:
        for member in self.members.values():
            member.stop()


@pytest.fixture
def cluster_of(fleet: Fleet, tmp_path: Path) -> Iterator[Any]:
    started: list[Cluster] = []

    def make(replication: int) -> Cluster:
        cluster = Cluster(fleet, tmp_path, replication)
        started.append(cluster)
        return cluster

    yield make
    for cluster in started:
        cluster.stop()


def test_replication_two_polls_each_asset_twice_and_survives_a_member(cluster_of: Any) -> None:
    cluster: Cluster = cluster_of(2)
    assert len(cluster.assets) == 2 * SITES
    seen = cluster.wait_polled(MEMBERS)

    # Exactly `replication` members own each asset, and together they own every asset.
    owners: dict[str, list[str]] = {}
    for name in MEMBERS:
        for asset in cluster.plan[name]:
            owners.setdefault(asset, []).append(name)
    assert set(owners) == cluster.assets
    assert all(len(names) == 2 for names in owners.values())
    # What each member exports is its share and the parents of its share, nothing else.
    for name in MEMBERS:
        share, parents = set(cluster.plan[name]), set(cluster.plan["parents"][name])
        assert set(seen[name]) == share | parents, name
        assert all(value == 1.0 for value in seen[name].values()), name
        # Every UPS it owns has its base station (the site's backhaul) polled beside it.
        for asset in share:
            if asset.startswith("ups-"):
                assert asset.replace("ups-", "bs-", 1) in seen[name]
        assert parents, f"{name} polls no parent: the topology is not exercised"
        assert all(p.startswith("bs-") and p not in share for p in parents)
    polled_by: dict[str, int] = {}
    for name in MEMBERS:
        for asset in cluster.plan[name]:
            polled_by[asset] = polled_by.get(asset, 0) + (asset in seen[name])
    assert polled_by == dict.fromkeys(cluster.assets, 2)

    cluster.members["m2"].stop()
    stopped_at = time.time()
    assert cluster.members["m2"].process.returncode is not None
    survivors = ("m1", "m3")

    def polled_since_stop() -> set[str] | None:
        fresh = {
            asset
            for name in survivors
            for asset, at in cluster.members[name].last_runs().items()
            if at > stopped_at
        }
        return fresh if fresh == cluster.assets else None

    # Every asset is polled again after the stop, by the two members left.
    wait_until(
        polled_since_stop, 3.0 * INTERVAL_S + 10, "every asset polled after m2 stopped", step=1.0
    )
    after = cluster.wait_polled(survivors)
    assert all(v == 1.0 for s in after.values() for v in s.values())


def unpolled_alerts(prometheus: Prometheus) -> set[str]:
    return {
        a["labels"]["asset"]
        for a in prometheus.alerts()
        if a["labels"]["alertname"] == "TrunkwatchAssetsUnpolled" and a["state"] == "firing"
    }


def test_replication_one_lost_member_fires_assets_unpolled_for_its_share(
    cluster_of: Any, tmp_path: Path
) -> None:
    cluster: Cluster = cluster_of(1)
    cluster.wait_polled(MEMBERS)
    scrape = copy.deepcopy(cluster.scrape)
    (job,) = scrape["scrape_configs"]
    job["scrape_interval"] = "1s"
    job["scrape_timeout"] = "1s"
    config = {"global": {"evaluation_interval": "1s"}, **scrape}
    rules = scaled_rules([REPO / "alerts" / "cluster.rules.yml"], tmp_path / "rules", FOR_SCALE)
    with start_prometheus(tmp_path / "prometheus", config, rules) as prometheus:
        wait_until(
            lambda: len(prometheus.query('up{job="trunkwatch"} == 1')) == len(MEMBERS),
            30.0,
            "Prometheus scraping every member",
            step=0.5,
        )
        # Every asset is polled: nothing pending or firing after a `for` has passed.
        wait_until(
            lambda: len(prometheus.query("count(trunkwatch_asset_info)")) == 1,
            15.0,
            "asset info scraped",
        )
        assert not prometheus.query(
            "max by (site, asset) (trunkwatch_asset_info) unless on (site, asset)"
            " max by (site, asset) (trunkwatch_probe_success)"
        )

        lost = "m3"
        others = [m for m in MEMBERS if m != lost]
        still_polled = {a for m in others for a in (*cluster.plan[m], *cluster.plan["parents"][m])}
        expected = set(cluster.plan[lost]) - still_polled
        # Most of the lost share is unpolled; the rest are base stations a survivor polls
        # because it owns the UPS behind them.
        assert len(expected) > len(cluster.plan[lost]) // 2
        assert all(a.startswith("bs-") for a in set(cluster.plan[lost]) - expected)
        cluster.members[lost].stop()

        firing = wait_until(
            lambda: unpolled_alerts(prometheus) == expected and expected,
            40.0,
            f"TrunkwatchAssetsUnpolled for {len(expected)} assets of {lost}",
            step=1.0,
        )
        assert firing
        assert unpolled_alerts(prometheus) == expected

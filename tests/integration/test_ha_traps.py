"""Traps in the HA pair: a device with two trap destinations reaches both replicas, and the
pair pages once. And the pair's own health: a stopped replica keeps its last-seen time.

On loopback: two ``trunkwatch run --replica a|b`` processes on copies of one configuration
(``cluster: {replicas: [a, b]}``, a switch at 127.0.0.1, a ``traps:`` receiver), the copies
differing only in ``traps.listen`` (each process its own free UDP port; the web port is
``--listen``). A real Prometheus (Debian 2.42) scrapes both every second with the job that
``trunkwatch cluster prometheus-config`` writes for the pair, and evaluates every shipped
alerts/*.rules.yml, their ``for`` divided by ``FOR_SCALE``.

- net-snmp's ``snmptrap`` sends the same v2c linkDown to each replica's port, as the switch
  does with two trap destinations: each replica counts it once under its own ``replica``
  label, and Prometheus, holding both replicas' alarm series, evaluates ``SnmpTrapAlarm`` as
  one alert without ``replica``, from pending until it fires.
- replica b stops: ``trunkwatch:cluster_process_last_seen:timestamp_seconds{replica="b"}``
  stays at the time of b's last successful scrape while a's goes on advancing.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    await_peer,
    free_tcp_port,
    http_get,
    scrape,
    select,
    stop_process,
    wait_until,
)
from tests.integration.promstack import Prometheus, start_prometheus
from tests.integration.simcity import REPO
from tests.integration.snmpd import free_udp_port
from tests.integration.test_alerting_e2e import scaled_rules
from tests.integration.test_shards import cli
from tests.integration.test_traps_snmptrap import (
    COMMUNITY,
    IF_INDEX,
    LINK_DOWN,
    SWITCH,
    V2C,
    require_net_snmp_tools,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPLICAS = ("a", "b")
SCRAPE_S = 1
#: SnmpTrapAlarm's `for: 3m` becomes 10 s.
FOR_SCALE = 18
START_TIMEOUT_S = 30.0
ALERT_TIMEOUT_S = 30.0
TOOL_TIMEOUT_S = 15.0

LAST_SEEN = "trunkwatch:cluster_process_last_seen:timestamp_seconds"
#: The linkDown of ifIndex 3 (ifOperStatus.3 = down), with the switch's own sysUpTime: the
#: one notification the switch sends to each of its two trap destinations.
LINK_DOWN_3 = ["4242", LINK_DOWN, f"{IF_INDEX}.3", "i", "3", "1.3.6.1.2.1.2.2.1.8.3", "i", "2"]


def pair_config(trap_port: int, web_ports: dict[str, int]) -> str:
    """monitor.yaml of the pair; each replica's copy differs in ``trap_port`` only."""
    addresses = ", ".join(f"{name}: 127.0.0.1:{port}" for name, port in web_ports.items())
    return f"""\
credentials:
  traps: {{community: {COMMUNITY}}}
sites: [{{id: hq, name: HQ}}]
assets:
  - {{id: core-sw-1, site: hq, system: network, kind: switch, address: 127.0.0.1}}
traps:
  listen: 127.0.0.1:{trap_port}
  credentials: traps
  profiles: [if_mib]
cluster:
  replicas: [{", ".join(web_ports)}]
  addresses: {{{addresses}}}
"""


@dataclass
class Replica:
    name: str
    config: Path
    trap_port: int
    url: str
    process: subprocess.Popen[bytes]

    def metrics(self) -> dict[tuple[tuple[str, str], ...], float]:
        """This replica's linkDown counts by label set, from its /metrics."""
        series = scrape(f"{self.url}/metrics")
        return select(series, "trunkwatch_snmp_traps_received_total", **SWITCH, trap="linkDown")

    def send_link_down(self, workdir: Path) -> None:
        env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(workdir / "snmp")}
        done = subprocess.run(
            ["snmptrap", *V2C, f"udp:127.0.0.1:{self.trap_port}", *LINK_DOWN_3],
            env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr


@dataclass
class Pair:
    replicas: dict[str, Replica]
    prometheus: Prometheus


@contextlib.contextmanager
def ha_pair(workdir: Path) -> Iterator[Pair]:
    """Both replicas running and scraped by Prometheus; every process stopped on exit."""
    require_net_snmp_tools()
    web_ports = {name: free_tcp_port() for name in REPLICAS}
    started: dict[str, Replica] = {}
    try:
        for name in REPLICAS:
            folder = workdir / name  # the state (server.data_dir "var") stays apart too
            folder.mkdir()
            config = folder / "monitor.yaml"
            trap_port = free_udp_port()
            config.write_text(pair_config(trap_port, web_ports), encoding="utf-8")
            log = folder / "trunkwatch.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "monitor.cli", "run", "-c", str(config),
                     "--replica", name, "--listen", f"127.0.0.1:{web_ports[name]}"],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )  # fmt: skip
            url = f"http://127.0.0.1:{web_ports[name]}"
            started[name] = Replica(name, config, trap_port, url, process)
        for replica in started.values():

            def ready(url: str = replica.url) -> bool:
                try:
                    return http_get(f"{url}/-/ready", 1)[0] == 200
                except OSError:
                    return False

            failure = await_peer(
                f"trunkwatch {replica.name}", replica.process, ready,
                replica.config.parent / "trunkwatch.log", START_TIMEOUT_S, 0.2,
            )  # fmt: skip
            assert failure is None, failure

        # The scrape job an operator gets for the pair, run faster.
        scrape_config: dict[str, Any] = json.loads(
            cli("cluster", "prometheus-config", "-c", str(started["a"].config), "--json")
        )
        (job,) = scrape_config["scrape_configs"]
        job.update(scrape_interval=f"{SCRAPE_S}s", scrape_timeout=f"{SCRAPE_S}s")
        prometheus_config = {"global": {"evaluation_interval": f"{SCRAPE_S}s"}, **scrape_config}
        shipped = sorted((REPO / "alerts").glob("*.rules.yml"))
        rules = scaled_rules(shipped, workdir / "rules", FOR_SCALE)
        with start_prometheus(workdir / "prometheus", prometheus_config, rules) as prometheus:
            wait_until(
                lambda: len(prometheus.query('up{job="trunkwatch"} == 1')) == len(REPLICAS),
                START_TIMEOUT_S, "Prometheus to scrape both replicas", 0.2,
            )  # fmt: skip
            yield Pair(started, prometheus)
    finally:
        for replica in started.values():
            stop_process(replica.process)


def trap_alerts(prometheus: Prometheus) -> list[dict[str, str]]:
    return [s["metric"] for s in prometheus.query('ALERTS{alertname="SnmpTrapAlarm"}')]


def test_a_trap_sent_to_both_replicas_is_counted_by_each_and_alerts_once(tmp_path: Path) -> None:
    with ha_pair(tmp_path) as pair:
        for replica in pair.replicas.values():
            replica.send_link_down(tmp_path)

        for name, replica in pair.replicas.items():
            counted = wait_until(replica.metrics, 5.0, f"replica {name} to count the trap")
            assert counted == {
                tuple(sorted({**SWITCH, "trap": "linkDown", "replica": name}.items())): 1.0
            }, counted

        prometheus = pair.prometheus
        # Prometheus holds the alarm twice, once per replica ...
        wait_until(
            lambda: len(prometheus.query("trunkwatch_snmp_trap_alarm")) == 2,
            10.0, "both replicas' trap alarm in Prometheus", 0.2,
        )  # fmt: skip
        held = prometheus.query("trunkwatch_snmp_trap_alarm")
        assert sorted(s["metric"]["replica"] for s in held) == ["a", "b"]
        assert {s["metric"]["alarm"] for s in held} == {"link_down"}

        # ... and the alert once, through pending until it fires (`for` 10 s).
        seen: list[list[dict[str, str]]] = []

        def firing() -> bool:
            alerts = trap_alerts(prometheus)
            seen.append(alerts)
            return any(a["alertstate"] == "firing" for a in alerts)

        wait_until(firing, ALERT_TIMEOUT_S, "SnmpTrapAlarm to fire", 0.5)
        assert all(len(alerts) <= 1 for alerts in seen), seen
        assert any(a["alertstate"] == "pending" for alerts in seen for a in alerts), seen
        (alert,) = trap_alerts(prometheus)
        assert alert == {
            "__name__": "ALERTS",
            "alertname": "SnmpTrapAlarm",
            "alertstate": "firing",
            **SWITCH,
            "alarm": "link_down",
            "severity": "warning",
            "index": "3",
        }
        # The rule manager holds one alert too: one notification to Alertmanager.
        in_rules = [a for a in prometheus.alerts() if a["labels"]["alertname"] == "SnmpTrapAlarm"]
        assert [a["labels"].get("replica") for a in in_rules] == [None], in_rules


def test_a_stopped_replica_keeps_its_last_seen_time_while_the_other_advances(
    tmp_path: Path,
) -> None:
    with ha_pair(tmp_path) as pair:
        prometheus = pair.prometheus

        def last_seen() -> dict[str, float]:
            return {
                s["metric"]["replica"]: float(s["value"][1]) for s in prometheus.query(LAST_SEEN)
            }

        wait_until(lambda: set(last_seen()) == set(REPLICAS), 10.0, f"{LAST_SEEN} of both")
        (series,) = prometheus.query(f'{LAST_SEEN}{{replica="b"}}')
        # The labels of the target prometheus-config writes for the replica.
        assert series["metric"] == {
            "__name__": LAST_SEEN, "job": "trunkwatch", "instance": "b", "replica": "b",
        }  # fmt: skip

        stopping = time.time()
        stop_process(pair.replicas["b"].process)
        stopped = time.time()
        wait_until(
            lambda: prometheus.query('up{job="trunkwatch", replica="b"} == 0'),
            10.0, "Prometheus to fail scraping b", 0.2,
        )  # fmt: skip
        kept = last_seen()["b"]
        # b's last good scrape: before it stopped, within a scrape interval and some slack.
        assert stopping - 3 * SCRAPE_S <= kept <= stopped, (kept, stopping, stopped)
        time.sleep(4 * SCRAPE_S)
        after = last_seen()
        assert after["b"] == kept
        assert after["a"] >= kept + 3 * SCRAPE_S, (after, kept)

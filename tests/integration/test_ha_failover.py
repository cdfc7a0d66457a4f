"""The HA pair survives the SIGKILL of one trunkwatch: the issue's end-to-end proof.

On loopback: the simulated city; two ``trunkwatch run`` processes on the same configuration
(``cluster: {replicas: [a, b]}``, ``--replica a|b``) sharing ONE PostgreSQL for the
inspections (``inspections.store.leader_interval`` shortened to 2 s); the two Prometheus
replicas of deploy/ha scraping both with the shipped rules (``for`` divided by 12), sending to
the 2-node Alertmanager cluster and writing to VictoriaMetrics (deduplicating at the scrape
interval). Replica a starts first, so it holds the once-only leadership.

A mains failure is injected at a base station; while SiteMainsFailure is still pending, the
leader (a) gets SIGKILL. Then:

- exactly one page for the fault reaches the webhook (the rules aggregate ``replica`` away,
  so b's samples keep the same alert alive and its ``for`` running);
- the series in VictoriaMetrics, deduplicated over the trunkwatch replicas as an operator's
  ``max without (replica, instance)`` does, has no hole longer than two scrape intervals
  around the kill. It is read with VictoriaMetrics' export (the stored samples, after its
  own p1/p2 deduplication) and merged by timestamp: a ``query_range`` would hide holes
  behind its lookback window;
- an inspection signed through b's API just after the kill is stored exactly once;
- b reports ``trunkwatch_inspections_leader 1`` within one leader interval of a's death
  (PostgreSQL frees a dead connection's advisory lock at once on loopback; b asks once per
  interval).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from monitor.simulator.fleet import Fault
from monitor.simulator.runtime import Simulation
from tests.helpers import wait_until
from tests.integration.daemons import start_daemon
from tests.integration.hastack import (
    metric_value,
    prometheus_replica,
    start_alertmanager_cluster,
    start_victoria_metrics,
)
from tests.integration.inspections_pg import start_postgres
from tests.integration.promstack import Prometheus, start_prometheus
from tests.integration.simcity import REPO, SimulatedCity, city_config
from tests.integration.test_alerting_e2e import WebhookSink, routed_to, scaled_rules

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCRAPE_S = 1
FOR_SCALE = 12  # SiteMainsFailure's `for: 2m` becomes 10 s
LEADER_INTERVAL_S = 2.0
#: After the page, how long to listen for a second one: longer than the Alertmanager peer
#: timeout (2 s) plus a group interval (2 s).
QUIET_PERIOD_S = 6.0
TOKEN = "failover-token-chenjing-0123456789"


class Fleet(SimulatedCity):
    """The simulated city alone: the daemons are processes of their own here."""

    async def _start(self) -> None:
        self.simulation = Simulation(self.raw.get("simulator"), ephemeral=True)
        await self.simulation.start()


def replica_config(city: SimulatedCity, workdir: Path, name: str, store_url: str) -> Path:
    assert city.simulation is not None
    config = city_config(city.raw, city.simulation, data_dir=workdir / f"var-{name}", interval="2s")
    config["cluster"] = {"replicas": ["a", "b"]}
    config["inspections"]["store"] = {"url": store_url, "leader_interval": "2s"}
    # The monthly round signed during the failover is this month's: owed since long before
    # (a plan is otherwise owed only from when the store first sees it).
    [power] = [p for p in config["inspections"]["plans"] if p["id"] == "monthly-power"]
    power["start"] = date(2020, 1, 1)
    path = workdir / f"monitor-{name}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@contextlib.contextmanager
def trunkwatch(
    config: Path, replica: str, log: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``trunkwatch run --replica NAME`` as a process; yields it and its base URL once ready."""
    env = {"TRUNKWATCH_TOKEN_CHENJING": TOKEN}
    with start_daemon(config, log, "--replica", replica, env=env) as started:
        yield started


def leader(url: str) -> float | None:
    try:
        return metric_value(url, "trunkwatch_inspections_leader")
    except (OSError, urllib.error.URLError):
        return None


def sign(url: str) -> tuple[int, dict[str, Any]]:
    items = {
        "battery-voltage": {"value": "54.2"},
        "battery-condition": {"value": "yes"},
        "ups-self-test": {"value": "yes", "note": "切换期间签字 signed during failover"},
    }
    body = {"plan": "monthly-power", "target": "site:xingning", "items": items}
    request = urllib.request.Request(
        f"{url}/api/v1/inspections/records", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_one_page_no_gap_one_record_and_the_leadership_moves_when_a_replica_is_killed(
    tmp_path: Path,
) -> None:
    rules = scaled_rules(
        sorted((REPO / "alerts").glob("*.rules.yml")), tmp_path / "rules", FOR_SCALE
    )
    shipped = yaml.safe_load((REPO / "alerts" / "alertmanager.yml").read_text(encoding="utf-8"))
    (tmp_path / "city").mkdir()
    with (
        start_postgres() as postgres,
        Fleet(tmp_path / "city") as city,
        WebhookSink() as sink,
        start_victoria_metrics(tmp_path / "vm", f"{SCRAPE_S}s") as vm,
        start_alertmanager_cluster(tmp_path, routed_to(sink.url, shipped)) as (am1, am2),
    ):
        store_url = postgres.create_database()
        configs = {n: replica_config(city, tmp_path, n, store_url) for n in ("a", "b")}
        with trunkwatch(configs["a"], "a", tmp_path / "a.log") as (proc_a, url_a):
            wait_until(lambda: leader(url_a) == 1.0, 15, "replica a to lead")
            with trunkwatch(configs["b"], "b", tmp_path / "b.log") as (_proc_b, url_b):
                assert leader(url_b) == 0.0
                targets = [
                    {"targets": [url.removeprefix("http://")], "labels": {"replica": name}}
                    for name, url in (("a", url_a), ("b", url_b))
                ]

                def config(name: str) -> dict[str, Any]:
                    return prometheus_replica(
                        name, interval=f"{SCRAPE_S}s", targets=targets,
                        alertmanagers=[am1.url, am2.url], remote_write_url=vm.write_url,
                    )  # fmt: skip

                with (
                    start_prometheus(tmp_path / "p1", config("p1"), rules, name="p1") as p1,
                    start_prometheus(tmp_path / "p2", config("p2"), rules, name="p2") as p2,
                ):
                    for prometheus in (p1, p2):

                        def covered(p: Prometheus = prometheus) -> bool:
                            return (
                                len(p.query("count by (replica) (trunkwatch_probe_success)")) == 2
                                and len(p.query("site:trunkwatch_status:code")) == 13
                            )

                        wait_until(covered, 60, f"{prometheus.name} to see both replicas")

                    selector = 'trunkwatch_probe_success{asset="bs-xixiangtang"}'

                    def history() -> bool:
                        # The window checked for holes below starts before the kill: wait
                        # until VictoriaMetrics holds it from both replicas.
                        now = time.time()
                        stored = vm.export(selector, now - 8, now)
                        return {s["metric"].get("replica") for s in stored} == {"a", "b"} and all(
                            s["timestamps"][0] < (now - 6) * 1000 for s in stored
                        )

                    wait_until(history, 30, "VictoriaMetrics to hold both replicas' history", 0.5)
                    injected = time.time()
                    city.inject(Fault.MAINS_FAILURE, "bs-xixiangtang")
                    pending = 'ALERTS{alertname="SiteMainsFailure", site="xixiangtang", alertstate="pending"}'
                    wait_until(lambda: p1.query(pending), 20, "SiteMainsFailure pending")

                    # The leader dies mid-`for`, without a goodbye.
                    os.kill(proc_a.pid, signal.SIGKILL)
                    killed = time.time()
                    killed_mono = time.monotonic()
                    proc_a.wait(10)

                    # A technician signs through the survivor during the failover.
                    status, record = sign(url_b)
                    assert status == 201, record

                    wait_until(
                        lambda: leader(url_b) == 1.0, 3 * LEADER_INTERVAL_S, "b to lead", 0.05
                    )
                    took_over = time.monotonic() - killed_mono
                    # One interval, plus this poll's own HTTP round trip (50 ms steps).
                    assert took_over <= LEADER_INTERVAL_S + 0.3, took_over

                    page = sink.first(
                        "radio-page", "SiteMainsFailure", injected, site="xixiangtang"
                    )
                    time.sleep(QUIET_PERIOD_S)
                    pages = [
                        n for n in sink.since(injected)
                        if any(a["labels"]["alertname"] == "SiteMainsFailure"
                               and a["labels"].get("site") == "xixiangtang" for a in n.alerts())
                    ]  # fmt: skip
                    assert pages == [page], f"{len(pages)} pages for one fault"
                    assert not [
                        n for n in sink.since(injected)
                        if any(a["labels"].get("site") == "xixiangtang" for a in n.alerts("resolved"))
                    ]  # fmt: skip

                    # Stored once: in the database itself, and as b's API lists it.
                    with psycopg.connect(store_url, autocommit=True) as conn:
                        rows = conn.execute(
                            "SELECT id, signed_by FROM rounds WHERE plan_id = %s AND target = %s",
                            ("monthly-power", "site:xingning"),
                        ).fetchall()
                    assert rows == [(record["id"], "chenjing")]

                    # No hole in the series merged over the trunkwatch replicas.
                    start, end = killed - 6, killed + 6

                    def written() -> list[dict[str, Any]] | None:
                        stored = vm.export(selector, start, end)
                        survivors = [s for s in stored if s["metric"].get("replica") == "b"]
                        if survivors and all(
                            s["timestamps"][-1] > end * 1000 - 1500 for s in survivors
                        ):
                            return stored
                        return None

                    stored = wait_until(
                        written, 20, "b's samples after the kill in VictoriaMetrics", 0.5
                    )
                    merged: dict[tuple[tuple[str, str], ...], set[int]] = {}
                    for series in stored:
                        identity = tuple(sorted(
                            (k, v) for k, v in series["metric"].items()
                            if k not in {"replica", "instance"}
                        ))  # fmt: skip
                        merged.setdefault(identity, set()).update(
                            t for t, v in zip(series["timestamps"], series["values"], strict=True)
                            if not (isinstance(v, float) and math.isnan(v))
                        )  # fmt: skip
                    assert {s["metric"].get("replica") for s in stored} == {"a", "b"}
                    for identity, stamps in merged.items():
                        ordered = sorted(stamps)
                        assert ordered[0] < start * 1000 + 1500, identity
                        gaps = [(b - a) / 1000 for a, b in itertools.pairwise(ordered)]
                        assert max(gaps) <= 2 * SCRAPE_S, (identity, gaps)
                    assert p2.query(
                        'ALERTS{alertname="SiteMainsFailure", site="xixiangtang", alertstate="firing"}'
                    )
                    # The pair says it is down to one, naming the replica lost, and keeps
                    # the dead replica's last-seen time.
                    lost = 'ALERTS{alertname="TrunkwatchReplicaLost", replica="a"}'
                    wait_until(lambda: p1.query(lost), 15, "TrunkwatchReplicaLost for a")
                    assert not p1.query('ALERTS{alertname="TrunkwatchReplicaLost", replica="b"}')
                    seen = p1.query("trunkwatch:cluster_process_last_seen:timestamp_seconds")
                    last = {r["metric"]["replica"]: float(r["value"][1]) for r in seen}
                    assert last["a"] <= killed + SCRAPE_S < last["b"], last
                    print(
                        f"\nb led {took_over:.2f} s after a's SIGKILL; one page "
                        f"{page.received_at - injected:.1f} s after the fault"
                    )
                    city.clear_all()

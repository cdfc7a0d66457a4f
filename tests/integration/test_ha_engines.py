"""The engines around an HA pair, with the real ones and the shipped deploy/ha/ files.

One stack serves the module: the simulated city polled by two trunkwatch daemons on the same
configuration (told apart by a ``replica`` target label, a|b); two Prometheus replicas (p1,
p2: deploy/ha/prometheus-pN.yml, scraping every second, the shipped rules with their ``for``
scaled down) scraping both, each sending every alert to both Alertmanagers (am1, am2: one
gossip cluster with deploy/ha's flags) and writing everything to VictoriaMetrics
(deploy/ha/victoria-metrics.default, deduplicating at the scrape interval). Every receiver
posts to a webhook in the test. The tests SIGKILL one process at a time and count the pages.

The tests run in file order and share the stack: the deduplication test needs both
Prometheus replicas, the Alertmanager test leaves one Alertmanager dead, and the Prometheus
test then kills p1, so its page also proves the surviving Alertmanager delivers alone.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.simulator.fleet import Fault
from tests.helpers import wait_until
from tests.integration.hastack import (
    DEPLOY,
    VictoriaMetrics,
    cluster_peers,
    cluster_status,
    metric_value,
    prometheus_replica,
    shipped_args,
    start_alertmanager_cluster,
    start_victoria_metrics,
)
from tests.integration.promstack import Alertmanager, Prometheus, find_binary, start_prometheus
from tests.integration.simcity import REPO, SimulatedCity
from tests.integration.test_alerting_e2e import (
    Notification,
    WebhookSink,
    routed_to,
    scaled_rules,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCRAPE_S = 1
#: The shipped `for: 2m` of SiteMainsFailure becomes 10 s.
FOR_SCALE = 12
#: After a kill, how long to listen for a page that should not come: longer than the
#: surviving Alertmanager's peer timeout (2 s) plus a group interval (2 s).
QUIET_PERIOD_S = 6.0


@dataclass
class HaStack:
    city: SimulatedCity
    prometheus: list[Prometheus]
    alertmanagers: list[Alertmanager]
    vm: VictoriaMetrics
    sink: WebhookSink


@pytest.fixture(scope="module")
def ha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HaStack]:
    workdir = tmp_path_factory.mktemp("ha")
    rules = scaled_rules(
        sorted((REPO / "alerts").glob("*.rules.yml")), workdir / "rules", FOR_SCALE
    )
    shipped = yaml.safe_load((REPO / "alerts" / "alertmanager.yml").read_text(encoding="utf-8"))
    (workdir / "city").mkdir()
    with (
        SimulatedCity(workdir / "city", interval="2s") as city,
        WebhookSink() as sink,
        start_victoria_metrics(workdir / "vm", f"{SCRAPE_S}s") as vm,
        start_alertmanager_cluster(workdir, routed_to(sink.url, shipped)) as (am1, am2),
    ):
        targets = [
            {"targets": [city.target], "labels": {"replica": "a"}},
            {"targets": [city.add_daemon("b")], "labels": {"replica": "b"}},
        ]

        def config(name: str) -> dict[str, Any]:
            return prometheus_replica(
                name,
                interval=f"{SCRAPE_S}s",
                targets=targets,
                alertmanagers=[am1.url, am2.url],
                remote_write_url=vm.write_url,
            )

        with (
            start_prometheus(workdir / "p1", config("p1"), rules, name="p1") as p1,
            start_prometheus(workdir / "p2", config("p2"), rules, name="p2") as p2,
        ):
            for prometheus in (p1, p2):

                def covered(p: Prometheus = prometheus) -> bool:
                    return (
                        len(p.query('up{job="trunkwatch"} == 1')) == 2
                        and len(p.query("count by (replica) (trunkwatch_probe_success)")) == 2
                        and len(p.query("site:trunkwatch_status:code")) == 13
                    )

                wait_until(
                    covered,
                    60,
                    f"{prometheus.name}: both daemons scraped, the recording rules to cover the city",
                )
            try:
                yield HaStack(city, [p1, p2], [am1, am2], vm, sink)
            finally:
                city.clear_all()


def _pages(ha: HaStack, since: float, alertname: str, site: str) -> list[Notification]:
    """Notifications since ``since`` that tell ``alertname`` at ``site`` is firing."""
    return [
        n
        for n in ha.sink.since(since)
        if any(
            a["labels"]["alertname"] == alertname and a["labels"].get("site") == site
            for a in n.alerts()
        )
    ]


def _first_in_order(alertmanagers: list[Alertmanager]) -> Alertmanager:
    """The peer that notifies first: Alertmanager orders the cluster by peer name, and
    each peer waits its position × --cluster.peer-timeout before it notifies."""
    names = {cluster_status(am)["name"]: am for am in alertmanagers}
    return names[min(names)]


# -- the shipped files ----------------------------------------------------------------------


def test_shipped_ha_configuration_passes_the_engines_own_checks(tmp_path: Path) -> None:
    promtool = find_binary("promtool", package="prometheus")
    for name in ("prometheus-p1.yml", "prometheus-p2.yml"):
        checked = subprocess.run(
            [promtool, "check", "config", str(DEPLOY / name)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    p1, p2 = (
        yaml.safe_load((DEPLOY / f"prometheus-{n}.yml").read_text(encoding="utf-8"))
        for n in ("p1", "p2")
    )
    # The twins differ in their replica name alone; both name the centre for a region.
    assert p1["global"]["external_labels"] == {"prometheus_replica": "p1", "centre": "nanning"}
    p2["global"]["external_labels"]["prometheus_replica"] = "p1"
    assert p1 == p2
    # The scrape job is the one `trunkwatch cluster prometheus-config` writes for the pair.
    (job,) = p1["scrape_configs"]
    addresses = {c["labels"]["replica"]: c["targets"][0] for c in job["static_configs"]}
    assert sorted(addresses) == ["a", "b"]
    config = tmp_path / "monitor.yaml"
    config.write_text(
        (REPO / "monitor.yaml").read_text(encoding="utf-8")
        + f"\ncluster:\n  replicas: [a, b]\n  addresses: {json.dumps(addresses)}\n",
        encoding="utf-8",
    )
    written = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "cluster", "prometheus-config", "--json",
         "-c", str(config)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    (generated,) = json.loads(written.stdout)["scrape_configs"]
    for key in ("job_name", "honor_labels", "static_configs", "relabel_configs"):
        assert job[key] == generated[key], key
    # Both nodes of the pair run the shipped routing.
    amtool = find_binary("amtool", package="prometheus-alertmanager")
    checked = subprocess.run(
        [amtool, "check-config", str(REPO / "alerts" / "alertmanager.yml")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Each Alertmanager peers with the other's cluster address.
    am1, am2 = (shipped_args(f"alertmanager-{n}.default") for n in ("am1", "am2"))
    flag = (
        {a.split("=", 1)[0]: a.split("=", 1)[1] for a in am1},
        {a.split("=", 1)[0]: a.split("=", 1)[1] for a in am2},
    )
    assert flag[0]["--cluster.peer"] == flag[1]["--cluster.listen-address"]
    assert flag[1]["--cluster.peer"] == flag[0]["--cluster.listen-address"]
    # VictoriaMetrics deduplicates at the replicas' scrape interval.
    vm = dict(a.split("=", 1) for a in shipped_args("victoria-metrics.default"))
    assert vm["-dedup.minScrapeInterval"] == p1["global"]["scrape_interval"]


# -- VictoriaMetrics ------------------------------------------------------------------------


def test_victoria_metrics_keeps_one_series_per_identity_and_one_sample_per_interval(
    ha: HaStack,
) -> None:
    selector = 'trunkwatch_probe_success{asset="bs-xixiangtang"}'
    p1 = ha.prometheus[0]
    # What one Prometheus holds: each probe of the asset, once per trunkwatch replica, with
    # the external labels that are not dropped on the way out (the centre).
    shipped = yaml.safe_load((DEPLOY / "prometheus-p1.yml").read_text(encoding="utf-8"))
    external = dict(shipped["global"]["external_labels"])
    del external["prometheus_replica"]
    assert external == {"centre": "nanning"}
    expected = {
        tuple(sorted({**r["metric"], **external, "__name__": "trunkwatch_probe_success"}.items()))
        for r in p1.query(selector)
    }
    assert {dict(k)["replica"] for k in expected} == {"a", "b"}
    # Both Prometheus replicas are writing.
    for prometheus in ha.prometheus:

        def writing(p: Prometheus = prometheus) -> bool:
            return metric_value(p.url, "prometheus_remote_storage_samples_total") > 0

        wait_until(
            writing,
            30,
            f"{prometheus.name} to write to VictoriaMetrics",
        )
    window_s = 8.0
    time.sleep(window_s + 2)  # a full window written by both, and visible
    end = time.time() - 2
    start = end - window_s
    stored = ha.vm.export(selector, start, end)
    got = {tuple(sorted(s["metric"].items())) for s in stored}
    assert got == expected, "VictoriaMetrics series differ from one replica's"
    for series in stored:
        assert "prometheus_replica" not in series["metric"]
        # Two replicas scrape every second: without deduplication twice as many samples.
        assert len(series["timestamps"]) <= window_s / SCRAPE_S + 1, series["metric"]
        assert len(series["timestamps"]) >= window_s / SCRAPE_S - 2, series["metric"]
    # PromQL at the scrape step sees the same identities, and one series once the
    # trunkwatch replica is aggregated away as the rules do.
    ranged = ha.vm.query_range(selector, start, end, SCRAPE_S)
    assert len(ranged) == len(expected)
    probes = {dict(k)["probe"] for k in expected}
    merged = ha.vm.query_range(f"max without (replica, instance) ({selector})", start, end, 1)
    assert len(merged) == len(probes)


# -- Alertmanager ---------------------------------------------------------------------------


def test_one_page_when_the_alertmanager_that_sent_it_is_killed(ha: HaStack) -> None:
    assert all(len(cluster_peers(am)) == 2 for am in ha.alertmanagers)
    sender = _first_in_order(ha.alertmanagers)
    survivor = next(am for am in ha.alertmanagers if am is not sender)
    injected = time.time()
    ha.city.inject(Fault.MAINS_FAILURE, "bs-xixiangtang")

    page = ha.sink.first("radio-page", "SiteMainsFailure", injected, site="xixiangtang")
    # Both Alertmanagers hold the alert, once: p1 and p2 send the same labels.
    for am in ha.alertmanagers:
        held = am.alerts(alertname="SiteMainsFailure", site="xixiangtang")
        assert len(held) == 1, held
        assert "prometheus_replica" not in held[0]["labels"]
    # The notification log entry reaches the peer at the next gossip (100 ms); then the
    # sender dies without a goodbye.
    time.sleep(1.0)
    sender.kill()
    killed = time.time()

    time.sleep(QUIET_PERIOD_S)
    pages = _pages(ha, injected, "SiteMainsFailure", "xixiangtang")
    assert pages == [page], f"{len(pages)} pages for one fault ({sender.name} killed)"
    assert survivor.process.poll() is None
    assert survivor.alerts(alertname="SiteMainsFailure", site="xixiangtang")
    print(f"\n{sender.name} killed {killed - page.received_at:.1f} s after the page: one page")


# -- Prometheus -----------------------------------------------------------------------------


def test_one_page_and_no_gap_in_long_term_storage_when_a_prometheus_is_killed(
    ha: HaStack,
) -> None:
    p1, p2 = ha.prometheus
    injected = time.time()
    ha.city.inject(Fault.MAINS_FAILURE, "bs-yongning")
    page = ha.sink.first("radio-page", "SiteMainsFailure", injected, site="yongning")

    p1.kill()
    killed = time.time()
    time.sleep(QUIET_PERIOD_S)
    # p2 keeps the alert alive in Alertmanager with the same labels: no second page, and no
    # "resolved" from p1's silence.
    assert _pages(ha, injected, "SiteMainsFailure", "yongning") == [page]
    assert not [
        n
        for n in ha.sink.since(killed)
        if any(a["labels"].get("site") == "yongning" for a in n.alerts("resolved"))
    ]
    assert p2.query('ALERTS{alertname="SiteMainsFailure", site="yongning", alertstate="firing"}')

    # VictoriaMetrics' deduplicated series run on, from p2 alone, without a hole.
    selector = 'trunkwatch_probe_success{asset="bs-yongning", replica="a"}'
    start, end = killed - 5, killed + 4

    def written() -> list[dict[str, Any]] | None:
        stored = ha.vm.export(selector, start, end)
        if stored and all(
            s["timestamps"] and s["timestamps"][-1] > end * 1000 - 1500 for s in stored
        ):
            return stored
        return None

    stored = wait_until(written, 15, "p2's samples after the kill in VictoriaMetrics", 0.5)
    for series in stored:
        stamps = series["timestamps"]
        assert stamps[0] < start * 1000 + 1500, (series["metric"], stamps[0])
        gaps = [(b - a) / 1000 for a, b in itertools.pairwise(stamps)]
        assert max(gaps) <= 2 * SCRAPE_S, (series["metric"], gaps)

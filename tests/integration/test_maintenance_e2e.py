"""Planned maintenance end to end, against real engines on loopback: the simulated city polled
by an in-process daemon, Prometheus (Debian package) with the shipped rules scraping it every
second, and Alertmanager (Debian package) with the shipped routing, every receiver posting to a
webhook in the test — the stack of test_alerting_e2e.py, with ``alerting.alertmanager_url``
set so the daemon and the command line make silences in that Alertmanager.

A technician starts a window on a whole site from the command line; Alertmanager holds a
silence for exactly the window (``amtool`` says so), the duty board and the metrics show the
site in maintenance, and a mains failure injected at the site during the window pages nobody.
Ending the window early through the daemon's API expires the silence, the board shows the
site as it is again, and the page that was held back arrives: the silence, and nothing else,
kept it quiet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from monitor.inspections.maintenance.silences import parse_time
from monitor.simulator.fleet import Fault
from tests.helpers import http_get, scrape, wait_until
from tests.integration.promstack import (
    Alertmanager,
    Prometheus,
    find_binary,
    scrape_and_alert,
    start_alertmanager,
    start_prometheus,
)
from tests.integration.simcity import REPO, SimulatedCity
from tests.integration.test_alerting_e2e import (
    FOR_SCALE,
    NOTIFY_TIMEOUT_S,
    PROBE_INTERVAL,
    QUIET_PERIOD_S,
    WebhookSink,
    routed_to,
    scaled_rules,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(420)]

#: The shipped roster reads each person's token from this variable.
TOKEN_ENV = "TRUNKWATCH_TOKEN_ZHANGWEI"
TOKEN = "maintenance-e2e-token-zhangwei-0123456789"


@dataclass
class Stack:
    city: SimulatedCity
    prometheus: Prometheus
    alertmanager: Alertmanager
    sink: WebhookSink


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("maintenance")
    rules = scaled_rules(
        sorted((REPO / "alerts").glob("*.rules.yml")), workdir / "rules", FOR_SCALE
    )
    shipped = yaml.safe_load((REPO / "alerts" / "alertmanager.yml").read_text(encoding="utf-8"))
    previous = os.environ.get(TOKEN_ENV)
    os.environ[TOKEN_ENV] = TOKEN
    try:
        with (
            WebhookSink() as sink,
            start_alertmanager(workdir / "alertmanager", routed_to(sink.url, shipped)) as am,
        ):
            raw = yaml.safe_load((REPO / "monitor.yaml").read_text(encoding="utf-8"))
            raw["alerting"] = {"alertmanager_url": am.url}
            source = workdir / "monitor-with-alerting.yaml"
            source.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
            (workdir / "city").mkdir()
            with (
                SimulatedCity(workdir / "city", source, interval=PROBE_INTERVAL) as city,
                start_prometheus(
                    workdir / "prometheus",
                    scrape_and_alert(city.target, am.url),
                    rules,
                ) as prometheus,
            ):
                sink.first("deadmans-switch", "Watchdog", time.time() - 60)
                wait_until(
                    lambda: prometheus.query("trunkwatch:asset_parent:info"),
                    60,
                    "the recording rules",
                )
                try:
                    yield Stack(city, prometheus, am, sink)
                finally:
                    city.clear_all()
    finally:
        if previous is None:
            os.environ.pop(TOKEN_ENV, None)
        else:
            os.environ[TOKEN_ENV] = previous


def trunkwatch(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line, as a technician runs it, with zhangwei's token."""
    env = {**os.environ, "TRUNKWATCH_TOKEN": TOKEN}
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args, "-c", str(stack.city.config_path)],
        capture_output=True, text=True, timeout=60, env=env, check=False, cwd=REPO,
    )  # fmt: skip


def silence(am: Alertmanager, silence_id: str) -> dict[str, Any]:
    """The silence as ``amtool`` lists it (expired ones included)."""
    binary = find_binary("amtool", package="prometheus-alertmanager")
    done = subprocess.run(
        [binary, "-o", "json", f"--alertmanager.url={am.url}", "silence", "query", "--expired"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    expired = {s["id"]: s for s in json.loads(done.stdout)}
    done = subprocess.run(
        [binary, "-o", "json", f"--alertmanager.url={am.url}", "silence", "query"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = ({s["id"]: s for s in json.loads(done.stdout)} | expired)[silence_id]
    return found


def board(stack: Stack) -> tuple[dict[str, str], str]:
    """Asset → state from /api/v1/status, and the duty board's HTML."""
    base = f"http://{stack.city.target}"
    status, body = http_get(f"{base}/api/v1/status")
    assert status == 200, body
    states = {a["id"]: a["state"] for a in json.loads(body)["assets"]}
    status, page = http_get(f"{base}/")
    assert status == 200
    return states, page


def pages_at(stack: Stack, site: str, since: float) -> list[tuple[float, str, str]]:
    """(when, receiver, alertname) of every firing notification about ``site`` since
    ``since``, but the inspection rounds' (not silenced by a window, on purpose)."""
    return [
        (n.received_at, n.receiver, a["labels"]["alertname"])
        for n in stack.sink.since(since)
        for a in n.alerts()
        if a["labels"].get("site") == site and not a["labels"]["alertname"].startswith("Insp")
    ]


def status_codes(stack: Stack, site: str) -> dict[str, float]:
    """Asset → ``asset:trunkwatch_status:code`` in Prometheus (the Grafana tiles' and map's)."""
    result = stack.prometheus.query(f'asset:trunkwatch_status:code{{site="{site}"}}')
    return {r["metric"]["asset"]: float(r["value"][1]) for r in result}


def test_a_site_in_maintenance_is_silenced_for_exactly_its_window_and_shown_on_the_board(
    stack: Stack,
) -> None:
    am = stack.alertmanager
    base = f"http://{stack.city.target}"
    started = trunkwatch(
        stack, "maintenance", "start", "--site", "xixiangtang", "--for", "20m",
        "--reason", "更换整流模块 rectifier swap",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    listed = trunkwatch(stack, "maintenance", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [window] = json.loads(listed.stdout)
    assert (window["scope"], window["target"], window["owner"], window["state"]) == (
        "site", "xixiangtang", "zhangwei", "active",
    )  # fmt: skip
    assert window["ends_at"] - window["starts_at"] == 1200
    assert window["silence"], "the command line made the silence itself"

    # Alertmanager holds a silence for exactly the window, on the site, by its owner.
    held = silence(am, window["silence"])
    assert held["status"]["state"] == "active"
    assert parse_time(held["endsAt"]) == window["ends_at"]
    assert window["starts_at"] <= parse_time(held["startsAt"]) < window["starts_at"] + 5
    assert [(m["name"], m["value"]) for m in held["matchers"]] == [
        ("site", "xixiangtang"), ("alertname", "Inspection.*"),
    ]  # fmt: skip
    assert held["createdBy"] == "zhangwei"
    assert window["id"] in held["comment"]

    # The running daemon picks the window up from the store: board, status and metrics.
    def in_maintenance() -> tuple[dict[str, str], str] | None:
        states, page = board(stack)
        return (states, page) if states.get("bs-xixiangtang") == "maintenance" else None

    states, page = wait_until(in_maintenance, 30, "the board to show xixiangtang in maintenance")
    assert {a for a, s in states.items() if s == "maintenance"} == {
        "bs-xixiangtang",
        "ups-xixiangtang",
    }
    assert '<section class="tile maintenance" id="site-xixiangtang"' in page
    assert (
        'id="site-xingning"' in page
        and '<section class="tile maintenance" id="site-xingning"' not in page
    )
    metrics = scrape(f"{base}/metrics")
    gauge = {
        dict(labels)["asset"]: value
        for (name, labels), value in metrics.items()
        if name == "trunkwatch_maintenance_active"
    }
    assert {a for a, v in gauge.items() if v == 1} == {"bs-xixiangtang", "ups-xixiangtang"}
    assert gauge["bs-xingning"] == 0
    # The Grafana boards' status codes: 1, maintenance (monitor.dashboards.STATUS_MAPPINGS).
    wait_until(
        lambda: (
            status_codes(stack, "xixiangtang") == {"bs-xixiangtang": 1.0, "ups-xixiangtang": 1.0}
        ),
        30,
        "Prometheus' status codes to show xixiangtang in maintenance",
    )
    assert status_codes(stack, "xingning")["bs-xingning"] != 1.0

    # The drill: mains fails at the site during the window. Prometheus fires, Alertmanager
    # holds the alert silenced by the window's silence, and nobody is paged.
    injected = time.time()
    stack.city.inject(Fault.MAINS_FAILURE, "bs-xixiangtang")

    def silenced() -> dict[str, Any] | None:
        for alert in am.alerts(alertname="SiteMainsFailure", site="xixiangtang"):
            if alert["status"]["silencedBy"]:
                return alert
        return None

    alert = wait_until(silenced, NOTIFY_TIMEOUT_S, "SiteMainsFailure silenced", 0.5)
    assert alert["status"]["state"] == "suppressed"
    assert alert["status"]["silencedBy"] == [window["silence"]]
    time.sleep(QUIET_PERIOD_S)
    assert pages_at(stack, "xixiangtang", injected) == []

    # The work is done early: end the window through the daemon's API.
    ended_at = time.time()
    ended = trunkwatch(stack, "maintenance", "end", window["id"], "--api", base)
    assert ended.returncode == 0, ended.stderr
    assert silence(am, window["silence"])["status"]["state"] == "expired"
    states, page = board(stack)
    assert states["bs-xixiangtang"] != "maintenance"
    assert '<section class="tile maintenance"' not in page
    wait_until(
        lambda: (
            set(status_codes(stack, "xixiangtang")) == {"bs-xixiangtang", "ups-xixiangtang"}
            and 1.0 not in status_codes(stack, "xixiangtang").values()
        ),
        30,
        "Prometheus' status codes to leave maintenance",
    )
    assert scrape(f"{base}/metrics")[
        ("trunkwatch_maintenance_active",
         (("asset", "bs-xixiangtang"), ("kind", "tetra_bs"), ("site", "xixiangtang"), ("system", "radio")))
    ] == 0  # fmt: skip

    # Nothing else held the page back: it arrives now that the silence is gone.
    page_after = stack.sink.first("radio-page", "SiteMainsFailure", ended_at, site="xixiangtang")
    print(f"\npage {page_after.received_at - ended_at:.1f} s after the window ended early")
    pages = pages_at(stack, "xixiangtang", injected)
    assert ("radio-page", "SiteMainsFailure") in {(r, a) for _, r, a in pages}
    assert [p for p in pages if p[0] < ended_at] == []

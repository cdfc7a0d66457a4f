"""The alerting chain end to end, and every dashboard query, against real Prometheus and
Alertmanager.

One stack serves the module: the simulated city polled by an in-process trunkwatch daemon,
scraped every second by Prometheus (Debian package) with the shipped rule files, which sends
to Alertmanager (Debian package) with the shipped routing and inhibition; every receiver's
webhook points at a small aiohttp server in the test. Everything listens on 127.0.0.1.

The shipped rules are used as they are except their ``for`` and ``keep_firing_for``, divided
by ``FOR_SCALE`` in the test's copy so a fault pages within seconds instead of minutes;
Alertmanager's group waits are shortened the same way. Expressions, labels, routes and
inhibition rules are untouched.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from monitor.dashboards import SCRAPE_INTERVAL
from monitor.dashboards.panel_step import align, duration_ms, panel_step
from monitor.exposition.packed import Part, unpack
from monitor.exposition.registry import render_registry
from monitor.simulator.fleet import Fault
from tests.helpers import wait_until
from tests.integration.outage_drill import OutageDrill, edges, query_range
from tests.integration.promstack import (
    Alertmanager,
    Prometheus,
    scrape_and_alert,
    start_alertmanager,
    start_prometheus,
)
from tests.integration.simcity import REPO, SimulatedCity

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Shipped `for:` durations are divided by this in the test's copy of the rules. Kept above
#: the few seconds a probe round needs to tell "down" from "unreachable" (2 s intervals), so
#: the transient classification of a fresh outage cannot page.
FOR_SCALE = 8
PROBE_INTERVAL = "2s"
NOTIFY_TIMEOUT_S = 90.0
#: After the expected page, how long to keep listening for pages that should not come.
QUIET_PERIOD_S = 8.0
#: The outage drill the state timelines must show (tests/integration/outage_drill.py): it
#: starts with the stack and runs while the other tests do, so it costs little extra time.
DRILL_S = 240.0

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def _seconds(text: str) -> int:
    match = _DURATION.match(text)
    assert match and any(match.groups()), f"unexpected duration {text!r}"
    h, m, s = (int(g or 0) for g in match.groups())
    return 3600 * h + 60 * m + s


def scaled_rules(sources: list[Path], out_dir: Path, factor: int) -> list[Path]:
    """Copies of the rule files with every `for` and `keep_firing_for` divided by ``factor``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sources:
        doc = yaml.safe_load(source.read_text(encoding="utf-8"))
        for group in doc["groups"]:
            for rule in group["rules"]:
                for key in ("for", "keep_firing_for"):
                    if key in rule and _seconds(str(rule[key])) > 0:
                        rule[key] = f"{max(1, round(_seconds(str(rule[key])) / factor))}s"
        target = out_dir / source.name
        target.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        written.append(target)
    return written


def routed_to(
    webhook: str,
    shipped: dict[str, Any],
    *,
    windows: Mapping[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The shipped Alertmanager configuration with every receiver posting to ``webhook``/NAME
    and its group waits shortened; routes, receivers and inhibitions stay as they are.

    The weekly maintenance windows are the exception. The shipped ones mute each team's
    tickets at a set hour (Tuesday 01:00-05:00 Beijing time for radio, …), so a test that
    kept them would pass or fail by the hour it ran. Only the windows in ``windows`` are kept,
    each with the times given there; a route's mute refers to those alone. None by default."""
    config = copy.deepcopy(shipped)
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"{webhook}/{receiver['name']}"
            hook.pop("http_config", None)  # the SMS gateway's password file is not here
    kept = dict(windows or {})
    unknown = set(kept) - {interval["name"] for interval in config.get("time_intervals", [])}
    assert not unknown, f"not a shipped maintenance window: {sorted(unknown)}"
    config["time_intervals"] = [{"name": n, "time_intervals": t} for n, t in kept.items()]

    def shorten(route: dict[str, Any], top: bool) -> None:
        if top or "group_wait" in route:
            route["group_wait"] = "1s"
        if top or "group_interval" in route:
            route["group_interval"] = "2s"
        muted = [name for name in route.pop("mute_time_intervals", []) if name in kept]
        if muted:
            route["mute_time_intervals"] = muted
        for child in route.get("routes", []):
            shorten(child, False)

    shorten(config["route"], True)
    if not config["time_intervals"]:
        del config["time_intervals"]
    return config


@dataclass(frozen=True)
class Notification:
    received_at: float
    receiver: str
    payload: dict[str, Any]

    def alerts(self, status: str = "firing") -> list[dict[str, Any]]:
        return [a for a in self.payload["alerts"] if a["status"] == status]


@dataclass
class WebhookSink:
    """An aiohttp server in a thread that records every Alertmanager notification."""

    notifications: list[Notification] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None

    async def _receive(self, request: web.Request) -> web.Response:
        payload = await request.json()
        with self._lock:
            self.notifications.append(
                Notification(time.time(), request.match_info["receiver"], payload)
            )
        return web.Response(text="ok")

    async def _start(self) -> None:
        app = web.Application()
        app.add_routes([web.post("/{receiver}", self._receive)])
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = getattr(site, "_server", None)
        port = server.sockets[0].getsockname()[1] if server is not None else 0
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> WebhookSink:
        self._thread = threading.Thread(target=self._loop.run_forever, name="webhook", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._runner is not None:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(10)
            self._loop.close()

    def since(self, t: float) -> list[Notification]:
        with self._lock:
            return [n for n in self.notifications if n.received_at >= t]

    def first(self, receiver: str, alertname: str, since: float, **labels: str) -> Notification:
        def found() -> Notification | None:
            for n in self.since(since):
                if n.receiver == receiver and any(
                    a["labels"].get("alertname") == alertname
                    and all(a["labels"].get(k) == v for k, v in labels.items())
                    for a in n.alerts()
                ):
                    return n
            return None

        return wait_until(found, NOTIFY_TIMEOUT_S, f"{alertname} {labels} at {receiver}", 0.2)


@dataclass
class Stack:
    city: SimulatedCity
    prometheus: Prometheus
    alertmanager: Alertmanager
    sink: WebhookSink
    workdir: Path


@dataclass
class DrilledStack(Stack):
    """The module's stack, with the outage drill that runs in the background from its start."""

    drill: OutageDrill


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrilledStack]:
    workdir = tmp_path_factory.mktemp("alerting")
    rules = scaled_rules(
        sorted((REPO / "alerts").glob("*.rules.yml")), workdir / "rules", FOR_SCALE
    )
    shipped = yaml.safe_load((REPO / "alerts" / "alertmanager.yml").read_text(encoding="utf-8"))
    (workdir / "city").mkdir()
    city = SimulatedCity(workdir / "city", interval=PROBE_INTERVAL)
    # The shipped plans are owed from when the store first sees them, so a fresh city has no
    # round overdue. This centre has kept its three-yearly battery test since 2020: the round
    # of 2025 is overdue (due 2025-10-31, grace 7 days), which feeds the inspection alerts,
    # their routing and the NOC board's inspection panel.
    [battery] = [p for p in city.raw["inspections"]["plans"] if p["id"] == "battery-discharge"]
    battery["start"] = date(2020, 1, 1)
    with (
        city,
        WebhookSink() as sink,
        start_alertmanager(workdir / "alertmanager", routed_to(sink.url, shipped)) as am,
        start_prometheus(
            workdir / "prometheus",
            scrape_and_alert(city.target, am.url),
            rules,
        ) as prometheus,
    ):
        started = time.time()
        # The whole chain works before any fault: the Watchdog reaches its dead man's switch,
        # and the recording rules see every site.
        sink.first("deadmans-switch", "Watchdog", started)
        wait_until(
            lambda: (
                len(prometheus.query("site:trunkwatch_status:code")) == 13
                and prometheus.query("trunkwatch:asset_ancestor:info")
            ),
            60,
            "the recording rules to cover the city",
        )
        drill = OutageDrill(DRILL_S).start(city)
        try:
            yield DrilledStack(city, prometheus, am, sink, workdir, drill)
        finally:
            drill.cancel()
            city.clear_all()


def _active_fingerprints(am: Alertmanager) -> set[str]:
    return {a["fingerprint"] for a in am.alerts()}


def _new_pages(
    stack: Stack, since: float, baseline: set[str], sites: set[str]
) -> set[tuple[str, str, str]]:
    """(receiver, alertname, site) of every alert notified firing since ``since`` that was
    not already active before, at the fault's sites or at none (fleet-wide). Left out: the
    Watchdog, the inspection rounds (they run on their own clock) and the monitor's health
    (Trunkwatch*), which depends on how loaded the test machine is, not on the fault."""
    found = set()
    for n in stack.sink.since(since):
        for a in n.alerts():
            labels = a["labels"]
            if a["fingerprint"] in baseline or labels["alertname"] == "Watchdog":
                continue
            if labels["alertname"].startswith(("Inspection", "Trunkwatch")):
                continue
            site = labels.get("site", "")
            if site in sites or not site:
                found.add((n.receiver, labels["alertname"], site))
    return found


def _wait_suppressed(am: Alertmanager, alertname: str, **labels: str) -> dict[str, Any]:
    def suppressed() -> dict[str, Any] | None:
        for a in am.alerts(alertname=alertname, **labels):
            if a["status"]["state"] == "suppressed" and a["status"]["inhibitedBy"]:
                return a
        return None

    return wait_until(suppressed, NOTIFY_TIMEOUT_S, f"{alertname} {labels} inhibited", 0.5)


def test_mains_failure_pages_the_radio_team_once_and_inhibits_ups_on_battery(
    stack: Stack,
) -> None:
    baseline = _active_fingerprints(stack.alertmanager)
    injected = time.time()
    stack.city.inject(Fault.MAINS_FAILURE, "bs-xixiangtang")

    page = stack.sink.first("radio-page", "SiteMainsFailure", injected, site="xixiangtang")
    latency = page.received_at - injected
    print(f"\nmains failure at xixiangtang → SiteMainsFailure page: {latency:.1f} s")
    alert = next(a for a in page.alerts() if a["labels"]["alertname"] == "SiteMainsFailure")
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["asset"] == "bs-xixiangtang"
    assert alert["labels"]["parent"] == "core-sw-1"
    assert "市电中断" in alert["annotations"]["summary"]
    assert alert["annotations"]["runbook_url"] == "alerts/runbooks/SiteMainsFailure.md"
    # The UPS sees the same outage; Alertmanager holds its warning back.
    held = _wait_suppressed(stack.alertmanager, "UpsOnBattery", site="xixiangtang")
    assert held["labels"]["asset"] == "ups-xixiangtang"

    time.sleep(QUIET_PERIOD_S)
    assert _new_pages(stack, injected, baseline, {"xixiangtang"}) == {
        ("radio-page", "SiteMainsFailure", "xixiangtang")
    }
    # A shipped `for: 2m` is 15 s here: the page must follow within a few scrapes of it.
    assert latency < 60, latency


def test_backhaul_down_pages_site_down_only_and_the_site_behind_stays_silent(
    stack: Stack,
) -> None:
    baseline = _active_fingerprints(stack.alertmanager)
    injected = time.time()
    stack.city.inject(Fault.BACKHAUL_DOWN, "bs-binyang")

    page = stack.sink.first("radio-page", "SiteDown", injected, site="binyang")
    latency = page.received_at - injected
    print(f"\nbackhaul down at binyang → SiteDown page: {latency:.1f} s")
    alert = next(a for a in page.alerts() if a["labels"]["alertname"] == "SiteDown")
    assert alert["labels"]["root"] == "bs-binyang"
    assert alert["labels"]["system"] == "radio"
    # The base station's own AssetDown and shanglin, cut off behind it, fire in Prometheus but
    # are inhibited: by SiteDown (same site) and by the failed asset (same root).
    assert _wait_suppressed(stack.alertmanager, "AssetDown", asset="bs-binyang")
    unreachable = _wait_suppressed(stack.alertmanager, "SiteUnreachable", site="shanglin")
    assert unreachable["labels"]["root"] == "bs-binyang"

    time.sleep(QUIET_PERIOD_S)
    assert _new_pages(stack, injected, baseline, {"binyang", "shanglin"}) == {
        ("radio-page", "SiteDown", "binyang")
    }
    assert not any(
        a["labels"].get("site") == "shanglin" and not a["labels"]["alertname"].startswith("Insp")
        for n in stack.sink.since(injected)
        for a in n.alerts()
    )
    assert latency < 60, latency


# -- every panel query of every dashboard ---------------------------------------------------

#: Grafana's built-in variables, as Grafana would expand them for a recent time range.
BUILTINS = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
    "${__range}": "1h",
    "$__range_s": "3600",
}


def _dashboards() -> list[dict[str, Any]]:
    files = sorted((REPO / "dashboards" / "json").glob("*.json"))
    assert files, "no generated dashboards: run trunkwatch dashboards build"
    return [json.loads(f.read_text(encoding="utf-8")) for f in files]


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _variable_options(
    prometheus: Prometheus, var: dict[str, Any], values: dict[str, str]
) -> list[str]:
    """The values a query variable offers, its series scoped by the values already set."""
    match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", var["query"])
    assert match, f"variable {var['name']}: unsupported query {var['query']}"
    series = _expand(match.group(1), values)
    result = prometheus.query(f"group by ({match.group(2)}) ({series})")
    return sorted(r["metric"][match.group(2)] for r in result)


def _variable_values(
    prometheus: Prometheus, board: dict[str, Any], chosen: dict[str, str] | None = None
) -> dict[str, str]:
    """Each template variable as Grafana sets it by default: "All" where offered (its
    allValue), a text variable's default, else the first value its query returns; or the
    value ``chosen`` for it (as a link's ``var-NAME=`` would)."""
    values: dict[str, str] = {}
    for var in board["templating"]["list"]:
        if chosen and var["name"] in chosen:
            values[var["name"]] = chosen[var["name"]]
            continue
        if var.get("includeAll"):
            values[var["name"]] = var.get("allValue") or ".*"
            continue
        if var["type"] == "custom":
            values[var["name"]] = var["query"].split(",")[0]
            continue
        if var["type"] == "textbox":
            values[var["name"]] = var["query"]
            continue
        options = _variable_options(prometheus, var, values)
        assert options, f"{board['uid']}: variable {var['name']} has no values"
        values[var["name"]] = options[0]
    return values


def _expand(expr: str, variables: dict[str, str]) -> str:
    for name, value in BUILTINS.items():
        expr = expr.replace(name, value)
    for name, value in sorted(variables.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(f"${{{name}}}", value).replace(f"${name}", value)
    return expr


#: A Grafana variable left in an expression ($1 in a label_replace is a regex group).
UNEXPANDED = re.compile(r"\$\{?[A-Za-z_]")
#: ``{{label}}`` in a legend.
LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def _quiet_radio_site(prometheus: Prometheus) -> str:
    """A base-station site that is up, with no equipment alert pending or firing: where a
    board that shows one site is checked. Chosen by its state, not by its name: the tests of
    this module take sites down (the backhaul test, the drill), and a down site's panels are
    rightly empty. Inspection alerts are paperwork, not the site's state: they do not count."""
    quiet = prometheus.query(
        "group by (site) (trunkwatch_bs_carriers)"
        " and on (site) (site:trunkwatch_status:code == 0)"
        ' unless on (site) ALERTS{alertname!~"Inspection.*"}'
    )
    assert quiet, "no base-station site is up and free of alerts"
    return str(min(r["metric"]["site"] for r in quiet))


def test_every_dashboard_panel_query_returns_data(stack: Stack) -> None:
    prometheus = stack.prometheus
    # The alert tables need something firing besides the Watchdog; the tests above leave two
    # faults in force, and this one makes sure of it when run alone.
    if not prometheus.query('ALERTS{alertstate="firing", alertname!="Watchdog"}'):
        stack.city.inject(Fault.MAINS_FAILURE, "bs-xixiangtang")
        wait_until(
            lambda: prometheus.query('ALERTS{alertstate="firing", alertname="SiteMainsFailure"}'),
            NOTIFY_TIMEOUT_S,
            "an alert firing",
        )
    # rate() over [1m] needs two scrapes of every counter, the 5-minute recording rules a
    # couple of evaluations: the module's stack has been up long enough, or waits here.
    wait_until(
        lambda: prometheus.query("site:trunkwatch_bs_traffic_erlangs:rate5m"),
        60,
        "traffic recording rules",
    )
    quiet = _quiet_radio_site(prometheus)
    print(f"\nthe site board is checked at {quiet}")
    checked, empty, unnamed = 0, [], []
    for board in _dashboards():
        # A variable that takes one site (the site board's) shows a site that is up; one that
        # offers "All" keeps it, so the fleet-wide panels see the faults too.
        single = {v["name"] for v in board["templating"]["list"] if not v.get("includeAll")}
        variables = _variable_values(
            prometheus, board, {"site": quiet} if "site" in single else None
        )
        for panel in _panels(board["panels"]):
            for target in panel.get("targets", []):
                expr = _expand(target["expr"], variables)
                assert not UNEXPANDED.search(expr), f"unexpanded in {board['uid']}: {expr}"
                checked += 1
                result = prometheus.query(expr)
                where = f"{board['uid']} / {panel['title']} / {target['refId']}"
                if not result:
                    empty.append(f"{where}: {expr}")
                # Every {{label}} of the legend is a label the expression keeps, with a value.
                for label in LEGEND_LABEL.findall(target.get("legendFormat", "")):
                    if not all(r["metric"].get(label) for r in result):
                        unnamed.append(f"{where}: legend {{{{{label}}}}} not kept")
    assert checked >= 60, checked
    assert not empty, "panel queries without data:\n" + "\n".join(empty)
    assert not unnamed, "legends naming labels the expression drops:\n" + "\n".join(unnamed)


# -- the alert tables, the links and the state timelines ------------------------------------

ROUTING_LABELS = {"route", "escalation", "owner", "parent", "root", "plan"}


def _panel(board_uid: str, title: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(board, panel) of the panel whose title starts with ``title``."""
    for board in _dashboards():
        if board["uid"] != board_uid:
            continue
        found = [p for p in _panels(board["panels"]) if p.get("title", "").startswith(title)]
        assert len(found) == 1, (board_uid, title, len(found))
        return board, found[0]
    raise AssertionError(f"no board {board_uid}")


def _table_rows(stack: Stack, board_uid: str, title: str) -> list[dict[str, Any]]:
    board, panel = _panel(board_uid, title)
    [target] = panel["targets"]
    expr = _expand(target["expr"], _variable_values(stack.prometheus, board))
    return [{**r["metric"], "Value": float(r["value"][1])} for r in stack.prometheus.query(expr)]


def test_active_problems_name_each_fault_for_people_and_inspections_stand_apart(
    stack: Stack,
) -> None:
    prometheus = stack.prometheus
    if not prometheus.query('ALERTS{alertstate="firing", alertname="SiteMainsFailure"}'):
        stack.city.inject(Fault.MAINS_FAILURE, "bs-xixiangtang")
    wait_until(
        lambda: any(
            r["title_zh"] == "市电中断" for r in _table_rows(stack, "trunkwatch-noc", "当前故障")
        ),
        NOTIFY_TIMEOUT_S,
        "the mains failure in the active problems",
        0.5,
    )
    faults = _table_rows(stack, "trunkwatch-noc", "当前故障")
    inspections = _table_rows(stack, "trunkwatch-noc", "巡检告警")
    [mains] = [r for r in faults if r["title_zh"] == "市电中断"]
    assert mains["title_en"] == "Mains failure"
    assert mains["site_name"] == "西乡塘区基站"  # trunkwatch_site_info's name, not "xixiangtang"
    assert mains["asset_name"] == "西乡塘区基站 base station"
    assert mains["severity_rank"] == "1"  # critical: red, first
    assert mains["runbook"] == "SiteMainsFailure.md"
    [since] = prometheus.query('ALERTS_FOR_STATE{alertname="SiteMainsFailure", site="xixiangtang"}')
    assert mains["Value"] == pytest.approx(float(since["value"][1]) * 1000)
    assert mains["Value"] <= time.time() * 1000
    # No routing label reaches a person; faults and inspections never mix.
    for row in faults + inspections:
        assert not ROUTING_LABELS & set(row), row
    assert all(not r["runbook"].startswith("Inspection") for r in faults)
    assert all(r["runbook"].startswith("Inspection") for r in inspections)
    # Every alert firing (but the Watchdog) is in one table or the other: the catalogue
    # knows every alert name and severity.
    firing = {
        (r["metric"]["alertname"], r["metric"]["severity"])
        for r in prometheus.query('ALERTS{alertstate="firing", alertname!="Watchdog"}')
    }
    shown = {r["runbook"].removesuffix(".md") for r in faults + inspections}
    assert {name for name, _ in firing} <= shown, firing
    catalogue = {
        (r["metric"]["alertname"], r["metric"]["severity"])
        for r in prometheus.query("trunkwatch:alert_catalogue:info")
    }
    assert firing <= catalogue


_LINK_VALUE = re.compile(r"\$\{__(?:field\.labels|data\.fields)\.(\w+)\}")


def _filled(url: str, labels: dict[str, str]) -> str:
    return _LINK_VALUE.sub(lambda m: labels[m.group(1)], url)


def _link_targets(stack: Stack, board: dict[str, Any], panel: dict[str, Any]) -> list[str]:
    """Every data link of the panel, filled in for every series or row its query returns."""
    links = panel["fieldConfig"]["defaults"].get("links", [])
    assert links, f"{panel['title']}: no link"
    urls = []
    # A map's links open from its markers, the rows of its first query.
    for target in panel["targets"][:1]:
        expr = _expand(target["expr"], _variable_values(stack.prometheus, board))
        for r in stack.prometheus.query(expr):
            for link in links:
                urls.append(_filled(link["url"], r["metric"]))
    assert urls, f"{panel['title']}: no series"
    return urls


def test_every_noc_tile_and_map_marker_opens_a_board_of_its_own_site_or_asset(
    stack: Stack,
) -> None:
    boards = {b["uid"]: b for b in _dashboards()}
    noc = boards["trunkwatch-noc"]
    clickable = [p for p in _panels(noc["panels"]) if p["type"] in {"stat", "geomap"}]
    clickable = [p for p in clickable if "Availability" not in p["title"]]
    assert len(clickable) == 5  # four rows of tiles and the map
    opened = 0
    for panel in clickable:
        for url in _link_targets(stack, noc, panel):
            parsed = urllib.parse.urlsplit(url)
            uid = parsed.path.removeprefix("/d/")
            assert uid in boards, url
            target = boards[uid]
            query = urllib.parse.parse_qs(parsed.query)
            chosen = {
                k.removeprefix("var-"): v[0] for k, v in query.items() if k.startswith("var-")
            }
            assert chosen, url
            defined = {v["name"]: v for v in target["templating"]["list"]}
            for name, value in chosen.items():
                assert name in defined, f"{url}: {uid} has no variable {name}"
                options = _variable_options(stack.prometheus, defined[name], {"centre": ".*"})
                assert value in options, f"{url}: {value} is not a {name} of {uid}"
            # The board opened shows that site or asset: a panel of it answers for it.
            variables = _variable_values(stack.prometheus, target, chosen | {"centre": ".*"})
            assert any(
                stack.prometheus.query(_expand(t["expr"], variables))
                for p in _panels(target["panels"])
                for t in p.get("targets", [])
                if any(f"${name}" in t["expr"] for name in chosen)
            ), url
            opened += 1
    # 12 radio sites, 5 lines, 3 network devices, 4 servers, 13 sites on the map
    assert opened >= 12 + 5 + 3 + 4 + 13, opened


def test_state_timelines_show_the_outage_drill_from_start_to_end_at_their_own_step(
    stack: DrilledStack,
) -> None:
    drill = stack.drill
    cleared = drill.wait_cleared(DRILL_S + 120)
    # The step after the end must exist too: wait for a panel step past the clearing.
    time.sleep(max(0.0, cleared + 2 * duration_ms(SCRAPE_INTERVAL) / 1000 + 5 - time.time()))
    provisioned = yaml.safe_load(
        (REPO / "dashboards/provisioning/datasources/prometheus.yaml").read_text("utf-8")
    )["datasources"][0]["jsonData"]["timeInterval"]
    now = time.time()
    six_hours_ms = 6 * 3600 * 1000
    shanghai = 8 * 3600
    for fault in drill.faults:
        board, panel = _panel(*fault.panel)
        assert panel["type"] == "state-timeline"
        step = panel_step(
            six_hours_ms,
            max_data_points=panel.get("maxDataPoints"),
            panel_interval=panel.get("interval"),
            datasource_interval=provisioned,
        ).step_ms
        # One point per scrape of the shipped configuration (not 10 minutes as before).
        assert step == duration_ms(provisioned) == 15_000, (panel["title"], step)
        start = align(int((now * 1000) - six_hours_ms), step, shanghai) / 1000
        end = align(int(now * 1000), step, shanghai) / 1000
        chosen = {"site": "qingxiu"} if board["uid"] == "trunkwatch-site" else {}
        variables = _variable_values(stack.prometheus, board, chosen)
        [target] = panel["targets"]
        expr = _expand(target["expr"], variables)

        def is_bad(value: float, fault: Any = fault) -> bool:
            return bool(value == fault.bad)

        def series(result: list[Any], fault: Any = fault) -> list[tuple[float, float]]:
            """The drilled object's series: of those with its labels (an E1 gateway has a
            line per span), the one that shows the outage."""
            mine = [
                [(float(t), float(v)) for t, v in r["values"]]
                for r in result
                if all(r["metric"].get(k) == v for k, v in fault.series.items())
            ]
            [found] = [
                points
                for points in mine
                if any(t >= drill.injected_at and is_bad(v) for t, v in points)
            ]
            return found

        shown = edges(
            series(query_range(stack.prometheus.url, expr, start, end, step / 1000)),
            is_bad,
            drill.injected_at - 5,
        )
        # The data itself, at the test's 1 s scrape: when the outage really began and ended.
        raw_start = align(int((drill.injected_at - 30) * 1000), step) / 1000
        raw = edges(
            series(query_range(stack.prometheus.url, expr, raw_start, end, 1)),
            is_bad,
            drill.injected_at - 5,
        )
        assert raw is not None and shown is not None, (panel["title"], raw, shown)
        print(
            f"\n{panel['title']}: injected {drill.injected_at:.0f}, data {raw[0]:.0f}–{raw[1]:.0f},"
            f" panel {shown[0]:.0f}–{shown[1]:.0f} (step {step / 1000:.0f} s)"
        )
        # The exported data follows the fault within a probe round and a scrape …
        assert 0 <= raw[0] - drill.injected_at <= 10, raw
        assert 0 <= raw[1] - cleared <= 10, raw
        # … and the timeline shows it from start to end within one scrape interval.
        assert 0 <= shown[0] - raw[0] <= step / 1000, (shown, raw)
        assert 0 <= shown[1] - raw[1] <= step / 1000, (shown, raw)
        assert shown[1] - shown[0] == pytest.approx(DRILL_S, abs=2 * step / 1000)


def packed_families(parts: list[Part]) -> set[str]:
    """The families of which some text is kept packed, from a scrape's parts: a family's
    start with its header (a family of the registry is one part, header and all)."""
    packed: set[str] = set()
    name = ""
    for part in parts:
        if unpack(part).startswith("# HELP "):
            name = unpack(part).split(" ", 3)[2]
        if isinstance(part, bytes):
            packed.add(name)
    return packed


def test_prometheus_takes_every_series_of_a_body_that_carries_packed_parts(stack: Stack) -> None:
    # Long texts are kept packed and go into a gzip body as they are kept (one member, pigz's
    # way: monitor.exposition.packed). Prometheus asks for gzip at every scrape; a body it
    # could not read would be a failed scrape (up 0) or series missing.
    daemon = stack.city.daemon
    assert daemon is not None
    parts = stack.city.call(
        lambda: [*render_registry(daemon.registry), *daemon.exposition.render_parts()]
    )
    packed = packed_families(parts)
    # Results (the interfaces' states) and the process's own kept families (inspections).
    assert {"trunkwatch_if_oper_status", "trunkwatch_inspection_state"} <= packed
    wait_until(
        lambda: stack.prometheus.query('up{job="trunkwatch"} == 1'), 10, "a scrape that took"
    )
    text = stack.city.call(lambda: "".join(map(unpack, parts)))
    # Families no fault of the drill touches: their series are the same scrape after scrape.
    for name in ("trunkwatch_inspection_state", "trunkwatch_inspection_due_timestamp_seconds"):
        lines = sum(line.startswith(name + "{") for line in text.splitlines())
        [counted] = stack.prometheus.query(f"count({name})")
        assert lines > 20
        assert int(counted["value"][1]) == lines, name

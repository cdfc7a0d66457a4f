"""The drill matrix: every fault the simulator offers, injected on a suitable asset, pages
exactly once, to the right team, with the right alert and severity, resolves exactly once
when cleared, and raises nothing else.

One stack serves the module, built from the same pieces as tests/integration/
test_alerting_e2e.py: the simulated city polled by an in-process trunkwatch daemon, a real
Prometheus with the shipped rule files (``for`` and ``keep_firing_for`` divided by
``DRILL_SCALE``), a real Alertmanager with the shipped routing and inhibition (group timings
shortened, every receiver posting to a webhook in the test). Expressions, labels, routes and
inhibition rules are the shipped ones.

Alertmanager groups by site, so two faults whose pages share a receiver and a site would
share notifications: such faults form a lane and run one after another; lanes run at the same
time. Every notification of the run is accounted for: each alert in it belongs to the drill
whose scope (site, or asset and line at the centre's shared site) and time window it falls
in, or the run fails; the Watchdog, to the dead man's switch, is the only other alert
allowed.

The README's table of faults (section "The demo") is checked against the matrix here.
"""

from __future__ import annotations

import json
import math
import re
import signal
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.simulator.fleet import Fault
from tests.helpers import http_get, wait_until
from tests.integration.promstack import (
    Prometheus,
    scrape_and_alert,
    start_alertmanager,
    start_prometheus,
)
from tests.integration.simcity import REPO, SimulatedCity
from tests.integration.test_alerting_e2e import (
    PROBE_INTERVAL,
    Notification,
    Stack,
    WebhookSink,
    routed_to,
    scaled_rules,
)

#: Shipped `for` and `keep_firing_for` are divided by this: the shortest `for` (1 minute) is
#: 5 s, still longer than the one probe round (2 s) in which an asset behind a failed one may
#: look failed itself, and every cause still fires before its consequences, whose `for` is
#: longer by at least a minute (5 s). Larger than test_alerting_e2e's factor because this run
#: drills every fault and must stay within a few minutes.
DRILL_SCALE = 12
#: The simulated city starts at 04:00, its quietest hour, whatever time the run starts: a
#: carrier failure or a surge then stays within the grade of service, and bs-longan, over its
#: target at the busy hour by design, cannot raise a congestion alert of its own mid-run.
NIGHT = "2016-07-01T04:00:00+08:00"
#: Past a fault's expected `for`, how long its page may take (probe round, scrape, evaluation,
#: group wait); past its `keep_firing_for` after clearing, likewise its resolve.
PAGE_SLACK_S = 30.0
RESOLVE_SLACK_S = 30.0
#: After the last lane is done, how long to keep listening for anything late.
QUIET_S = 6.0
#: The lanes, every one included, end within this or the run fails (they take about 3 min).
RUN_BUDGET_S = 270.0
#: Longer than the run: see the fixture.
RESEND_DELAY = "15m"
STEP_S = 0.25

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass(frozen=True)
class Page:
    receiver: str
    alertname: str
    severity: str


@dataclass(frozen=True)
class Drill:
    """A fault on a target, what it must page (``None``: nothing), and the alerts it owns:
    those whose labels include every label of one of ``scope``."""

    fault: Fault
    target: str
    page: Page | None
    scope: tuple[Mapping[str, str], ...]
    #: How long the fault stays in force, in shipped time (scaled like `for`).
    hold: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def owns(self, labels: Mapping[str, str]) -> bool:
        return any(all(labels.get(k) == v for k, v in s.items()) for s in self.scope)

    def __str__(self) -> str:
        params = "".join(f" {k}={v}" for k, v in self.params.items())
        return f"{self.fault}@{self.target}{params}"


def _site(name: str) -> Mapping[str, str]:
    return {"site": name}


def _asset(name: str, **labels: str) -> Mapping[str, str]:
    return {"asset": name, **labels}


#: Radio sites are held 18 minutes (shipped time): longer than every `for` in alerts/ that a
#: fault could set off (congestion, VSWR and TX-power warnings: 15 minutes at most), with
#: probe rounds and evaluations to spare, so whatever a radio fault raises has raised it
#: before it is cleared. Their lanes run beside the centre's, which are longer: free.
RADIO_HOLD = "18m"
#: The centre's lines are held 4 minutes: past the trap alarm's `for` (3 minutes, the longest
#: of the alerts an E1 or SIP fault raises besides its page), in lanes run one at a time.
LINE_HOLD = "4m"

LANES: tuple[tuple[Drill, ...], ...] = (
    (
        Drill(
            Fault.SITE_DOWN,
            "bs-liangqing",
            Page("radio-page", "SiteDown", "critical"),
            (_site("liangqing"),),
            RADIO_HOLD,
        ),
    ),
    (
        Drill(
            Fault.MAINS_FAILURE,
            "bs-xixiangtang",
            Page("radio-page", "SiteMainsFailure", "critical"),
            (_site("xixiangtang"),),
            RADIO_HOLD,
        ),
    ),
    (
        # 2.5 is above both limits: the warning (1.5, 15 minutes) fires too, silenced by the
        # critical, and must end with it.
        Drill(
            Fault.VSWR_HIGH,
            "bs-qingxiu",
            Page("radio-page", "RadioVswrHigh", "critical"),
            (_site("qingxiu"),),
            RADIO_HOLD,
            {"carrier": 1, "vswr": 2.5},
        ),
    ),
    (
        # A two-carrier site: the MCCH moves to carrier 2, so the site stays on the air.
        Drill(
            Fault.CARRIER_FAILURE,
            "bs-jiangnan",
            Page("radio-ticket", "RadioCarrierDown", "warning"),
            (_site("jiangnan"),),
            RADIO_HOLD,
            {"carrier": 1},
        ),
    ),
    (
        # A single-carrier site has nowhere to move the MCCH: it goes off the air, and that
        # page silences the carrier's own warning.
        Drill(
            Fault.CARRIER_FAILURE,
            "bs-wuming",
            Page("radio-page", "RadioSiteOffAir", "critical"),
            (_site("wuming"),),
            RADIO_HOLD,
            {"carrier": 1},
        ),
    ),
    (
        # bs-shanglin is reached over bs-binyang's microwave: it is unreachable, not down, and
        # must stay silent.
        Drill(
            Fault.BACKHAUL_DOWN,
            "bs-binyang",
            Page("radio-page", "SiteDown", "critical"),
            (_site("binyang"), _site("shanglin")),
            RADIO_HOLD,
        ),
    ),
    (
        # Pages nothing, by design: a surge is load, not a fault. It pages only as
        # RadioTrafficCongestion (warning, radio-ticket) once it makes the site miss its grade
        # of service over 15 minutes; three times the night's load at bs-xingning (11 traffic
        # channels) stays well within it. No other site is within 3 km of bs-xingning.
        Drill(
            Fault.TRAFFIC_SURGE,
            "bs-xingning",
            None,
            (_site("xingning"),),
            RADIO_HOLD,
            {"multiplier": 3.0, "radius_km": 3.0},
        ),
    ),
    # The centre (site hq): every line alert of a severity shares one group, so one lane each.
    (
        Drill(
            Fault.E1_LOS,
            "e1-gw-110",
            Page("lines-page", "E1LineDown", "critical"),
            (_asset("e1-gw-110", line="1"),),
            LINE_HOLD,
            {"span": 1},
        ),
        Drill(
            Fault.E1_LOF,
            "e1-gw-110",
            Page("lines-page", "E1LineDown", "critical"),
            (_asset("e1-gw-110", line="1"),),
            LINE_HOLD,
            {"span": 1},
        ),
        Drill(
            Fault.E1_AIS,
            "e1-gw-110",
            Page("lines-page", "E1LineDown", "critical"),
            (_asset("e1-gw-110", line="1"),),
            LINE_HOLD,
            {"span": 1},
        ),
        Drill(
            Fault.SIP_SILENT,
            "sip-119-fire",
            Page("lines-page", "SipTrunkDown", "critical"),
            (_asset("sip-119-fire"),),
            LINE_HOLD,
        ),
        Drill(
            Fault.SIP_503,
            "sip-110-telecom",
            Page("lines-page", "SipTrunkOutOfService", "critical"),
            (_asset("sip-110-telecom"),),
            LINE_HOLD,
        ),
    ),
    (
        Drill(
            Fault.E1_RAI,
            "e1-gw-110",
            Page("lines-ticket", "E1RemoteAlarm", "warning"),
            (_asset("e1-gw-110", line="2"),),
            LINE_HOLD,
            {"span": 2},
        ),
        # The probe timeout is 1 s here (5 s shipped), so the delay is scaled with it: above
        # the 0.5 s threshold, within the timeout (a longer one is a timeout: SipTrunkDown).
        Drill(
            Fault.SIP_SLOW,
            "sip-120-ambulance",
            Page("lines-ticket", "SipTrunkLatencyHigh", "warning"),
            (_asset("sip-120-ambulance"),),
            LINE_HOLD,
            {"delay_s": 0.7},
        ),
    ),
    (
        # A documented link (ifAlias "government network") with no monitored device behind it.
        Drill(
            Fault.PORT_DOWN,
            "core-rtr-1",
            Page("network-page", "NetworkLinkDown", "critical"),
            (_asset("core-rtr-1"),),
            LINE_HOLD,
            {"port": 3},
        ),
    ),
    (
        # site_down on a server rather than a radio site: the rest of hq answers, so the
        # server alone is down.
        Drill(
            Fault.SITE_DOWN,
            "srv-gis-1",
            Page("platform-page", "AssetDown", "critical"),
            (_asset("srv-gis-1"),),
            LINE_HOLD,
        ),
    ),
)
DRILLS: tuple[Drill, ...] = tuple(d for lane in LANES for d in lane)

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def _seconds(text: str) -> float:
    match = _DURATION.match(text)
    assert match and any(match.groups()), f"unexpected duration {text!r}"
    h, m, s = (int(g or 0) for g in match.groups())
    return float(3600 * h + 60 * m + s)


# -- checks of the matrix itself (no stack) ----------------------------------------------------


def test_the_matrix_drills_every_fault_the_simulator_offers() -> None:
    assert {d.fault for d in DRILLS} == set(Fault)


def test_every_expected_page_is_a_shipped_rule_routed_to_a_shipped_receiver() -> None:
    rules = {
        (rule["alert"], rule.get("labels", {}).get("severity"))
        for path in sorted((REPO / "alerts").glob("*.rules.yml"))
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    shipped = yaml.safe_load((REPO / "alerts" / "alertmanager.yml").read_text(encoding="utf-8"))
    receivers = {r["name"] for r in shipped["receivers"]}
    for drill in DRILLS:
        if drill.page is not None:
            assert (drill.page.alertname, drill.page.severity) in rules, drill
            assert drill.page.receiver in receivers, drill


def test_lanes_never_share_an_alertmanager_group() -> None:
    """Faults whose pages would land in one group (receiver and site) are in one lane."""
    site_of = {
        a["id"]: a["site"]
        for a in yaml.safe_load((REPO / "monitor.yaml").read_text(encoding="utf-8"))["assets"]
    }
    owner: dict[tuple[str, str], int] = {}
    for i, lane in enumerate(LANES):
        for drill in lane:
            if drill.page is not None:
                key = (drill.page.receiver, site_of[drill.target])
                assert owner.setdefault(key, i) == i, f"{drill} shares {key} with another lane"


def _readme_fault_rows() -> list[list[str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### The demo", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 5:
            rows.append(cells)
    return rows


def test_readme_table_of_faults_lists_what_each_fault_pages() -> None:
    rows = _readme_fault_rows()
    listed = set()
    for fault, where, alert, receiver, severity, *_ in rows:
        target = re.search(r"`([\w.-]+)`", where)
        assert target, f"README row for {fault}: no asset in {where!r}"
        listed.add((fault.strip("`"), target.group(1), alert, receiver, severity))
    expected = {
        (
            str(d.fault),
            d.target,
            d.page.alertname if d.page else "—",
            d.page.receiver if d.page else "—",
            d.page.severity if d.page else "—",
        )
        for d in DRILLS
    }
    assert listed == expected


# -- the stack -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def drill_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("drills")
    raw = yaml.safe_load((REPO / "monitor.yaml").read_text(encoding="utf-8"))
    raw["simulator"]["start"] = NIGHT
    # The inspection rounds run on the wall clock: whether today's are overdue depends on the
    # hour of the run, not on any fault. test_inspections_alerts.py drills their alerts.
    del raw["inspections"]
    source = workdir / "monitor.yaml"
    source.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    rules = scaled_rules(
        sorted((REPO / "alerts").glob("*.rules.yml")), workdir / "rules", DRILL_SCALE
    )
    shipped = yaml.safe_load((REPO / "alerts" / "alertmanager.yml").read_text(encoding="utf-8"))
    (workdir / "city").mkdir()
    with (
        SimulatedCity(workdir / "city", source, interval=PROBE_INTERVAL) as city,
        WebhookSink() as sink,
        start_alertmanager(workdir / "alertmanager", routed_to(sink.url, shipped)) as am,
        start_prometheus(
            workdir / "prometheus",
            scrape_and_alert(city.target, am.url),
            # Prometheus repeats a resolved alert to Alertmanager every resend delay (1 minute)
            # for 15 minutes, and Alertmanager, which lists a group's resolved alerts with
            # its firing ones, counts each repeat as news: the next fault of a lane would go
            # out twice, the second time with the last fault's resolve. Past the run's
            # length, each alert is sent once when it fires and once when it resolves, and
            # each drill is judged on its own notifications.
            flags=[f"--rules.alert.resend-delay={RESEND_DELAY}"],
        ) as prometheus,
    ):
        _load_rules_once_discovered(prometheus, rules)
        try:
            yield Stack(city, prometheus, am, sink, workdir)
        finally:
            city.clear_all()


def _load_rules_once_discovered(prometheus: Prometheus, rules: list[Path]) -> None:
    """Prometheus knows its scrape target and its Alertmanager only from its discovery's
    first update, some 5 s after it starts. Rules evaluated before that see the monitor
    absent (TrunkwatchDown: 5 s here) and send alerts nowhere (sent again only after the
    resend delay), so they are loaded once both are known: by SIGHUP, as an operator
    reloads. A reload looks for Alertmanager afresh, so what fires in its first seconds (the
    Watchdog) is not sent either; no fault is injected until long after."""
    wait_until(lambda: prometheus.query('up{job="trunkwatch"} == 1'), 60, "the monitor scraped")
    wait_until(
        lambda: _api(prometheus, "/api/v1/alertmanagers")["activeAlertmanagers"],
        60,
        "Prometheus to find Alertmanager",
    )
    path = Path(_api(prometheus, "/api/v1/status/flags")["config.file"])
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["rule_files"] = [str(p) for p in rules]
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    prometheus.process.send_signal(signal.SIGHUP)
    groups = sum(len(yaml.safe_load(p.read_text(encoding="utf-8"))["groups"]) for p in rules)
    wait_until(lambda: len(prometheus.rule_groups()) == groups, 30, "the rules loaded")


def _api(prometheus: Prometheus, path: str) -> Any:
    status, body = http_get(prometheus.url + path)
    assert status == 200, body
    return json.loads(body)["data"]


@dataclass(frozen=True)
class Timing:
    """A rule's scaled `for` and `keep_firing_for`, in seconds."""

    wait: float
    hold: float


def _timings(rules_dir: Path) -> dict[tuple[str, str], Timing]:
    out = {}
    for path in sorted(rules_dir.glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    out[(rule["alert"], rule.get("labels", {}).get("severity", ""))] = Timing(
                        _seconds(str(rule.get("for", "0s"))),
                        _seconds(str(rule.get("keep_firing_for", "0s"))),
                    )
    return out


# -- running the lanes ---------------------------------------------------------------------


@dataclass
class Outcome:
    """What happened to one drill; times are time.time()."""

    drill: Drill
    injected: float = math.nan
    paged: float | None = None
    cleared: float | None = None
    resolved: float | None = None
    #: Its alerts are those notified from ``injected`` until the next drill of its lane starts.
    until: float = math.inf
    affected: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    def in_window(self, t: float) -> bool:
        return self.injected <= t < self.until


def _matching(sink: WebhookSink, since: float, drill: Drill, status: str) -> Notification | None:
    assert drill.page is not None
    for n in sink.since(since):
        if n.receiver == drill.page.receiver and any(
            a["labels"].get("alertname") == drill.page.alertname and drill.owns(a["labels"])
            for a in n.alerts(status)
        ):
            return n
    return None


@dataclass
class Lane:
    drills: tuple[Drill, ...]
    outcomes: list[Outcome] = field(default_factory=list)
    phase: str = "inject"

    @property
    def current(self) -> Outcome:
        return self.outcomes[-1]

    def done(self) -> bool:
        return self.phase == "done"


def _clear(city: SimulatedCity, drill: Drill) -> None:
    simulation = city.simulation
    assert simulation is not None
    fleet = simulation.fleet
    cleared = city.call(lambda: fleet.clear(drill.fault, drill.target, **drill.params))
    assert cleared, f"{drill}: nothing to clear"


def _step(lane: Lane, stack: Stack, timings: Mapping[tuple[str, str], Timing]) -> None:
    """Advance one lane: inject → wait for the page → hold → clear → wait for the resolve →
    the next drill. Every wait is bounded by the rule's own timing plus slack."""
    now = time.time()
    if lane.phase == "inject":
        drill = lane.drills[len(lane.outcomes)]
        if lane.outcomes:
            lane.current.until = now
        outcome = Outcome(drill, injected=now)
        active = stack.city.inject(drill.fault, drill.target, **drill.params)
        outcome.affected = active.affected
        lane.outcomes.append(outcome)
        lane.phase = "paging"
        return
    outcome = lane.current
    drill = outcome.drill
    timing = timings[(drill.page.alertname, drill.page.severity)] if drill.page else None
    if lane.phase == "paging":
        if drill.page is None or timing is None:
            lane.phase = "holding"
        elif (n := _matching(stack.sink, outcome.injected, drill, "firing")) is not None:
            outcome.paged = n.received_at
            lane.phase = "holding"
        elif now - outcome.injected > timing.wait + PAGE_SLACK_S:
            outcome.notes.append(f"no page within {timing.wait + PAGE_SLACK_S:.0f} s")
            lane.phase = "holding"
    elif lane.phase == "holding":
        hold_until = outcome.injected + _seconds(drill.hold) / DRILL_SCALE
        if now >= max(hold_until, (outcome.paged or 0) + 1):
            _clear(stack.city, drill)
            outcome.cleared = time.time()
            lane.phase = "resolving"
    elif lane.phase == "resolving":
        assert outcome.cleared is not None
        if drill.page is None or timing is None or outcome.paged is None:
            settled = now - outcome.cleared > QUIET_S
        elif (n := _matching(stack.sink, outcome.cleared, drill, "resolved")) is not None:
            outcome.resolved = n.received_at
            settled = True
        elif now - outcome.cleared > timing.hold + RESOLVE_SLACK_S:
            outcome.notes.append(f"no resolve within {timing.hold + RESOLVE_SLACK_S:.0f} s")
            settled = True
        else:
            settled = False
        if settled:
            lane.phase = "inject" if len(lane.outcomes) < len(lane.drills) else "done"


def _run_lanes(stack: Stack, timings: Mapping[tuple[str, str], Timing]) -> list[Outcome]:
    lanes = [Lane(drills) for drills in LANES]
    deadline = time.monotonic() + RUN_BUDGET_S
    while not all(lane.done() for lane in lanes):
        assert time.monotonic() < deadline, (
            f"the drills did not finish within {RUN_BUDGET_S:.0f} s: "
            + ", ".join(f"{lane.current.drill} {lane.phase}" for lane in lanes if not lane.done())
        )
        for lane in lanes:
            if not lane.done():
                _step(lane, stack, timings)
        time.sleep(STEP_S)
    return [o for lane in lanes for o in lane.outcomes]


# -- accounting ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One alert in one notification."""

    notification: Notification
    alert: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.alert["labels"]["alertname"])

    def __str__(self) -> str:
        labels = self.alert["labels"]
        where = labels.get("asset") or labels.get("site") or ""
        return (
            f"{self.notification.receiver}: {self.alert['status']} {self.name}"
            f"[{labels.get('severity')}] {where}"
        )


def _account(
    notifications: list[Notification], outcomes: list[Outcome]
) -> tuple[dict[int, list[Entry]], list[Entry]]:
    """Each alert of each notification, given to the drill that owns it (by index into
    ``outcomes``); what no drill owns is returned apart. The Watchdog at the dead man's
    switch is the one thing expected besides the drills."""
    owned: dict[int, list[Entry]] = {i: [] for i in range(len(outcomes))}
    stray: list[Entry] = []
    for n in notifications:
        for alert in n.payload["alerts"]:
            entry = Entry(n, alert)
            if n.receiver == "deadmans-switch" and entry.name == "Watchdog":
                continue
            owners = [
                i
                for i, o in enumerate(outcomes)
                if o.drill.owns(alert["labels"]) and o.in_window(n.received_at)
            ]
            if len(owners) == 1:
                owned[owners[0]].append(entry)
            else:
                stray.append(entry)
    return owned, stray


def _verdict(outcome: Outcome, entries: list[Entry], ever_notified_firing: set[str]) -> list[str]:
    """What is wrong with one drill's notifications, in words; empty if nothing is."""
    page = outcome.drill.page
    problems = list(outcome.notes)
    firing = [e for e in entries if e.alert["status"] == "firing"]
    resolved = [e for e in entries if e.alert["status"] == "resolved"]
    if page is None:
        # Nothing at all: not even a resolve, which would mean something fired.
        return problems + [f"unexpected {e}" for e in entries]
    firing_notes = {id(e.notification) for e in firing}
    if len(firing_notes) != 1 or len(firing) != 1:
        problems.append(
            f"{len(firing)} firing alert(s) in {len(firing_notes)} notification(s), expected "
            f"1 in 1: {'; '.join(map(str, firing)) or 'none'}"
        )
    for e in firing:
        got = (e.notification.receiver, e.name, e.alert["labels"].get("severity"))
        if got != (page.receiver, page.alertname, page.severity):
            problems.append(f"unexpected {e}")
    paged = {e.alert["fingerprint"] for e in firing if e.name == page.alertname}
    ends = [e for e in resolved if e.alert["fingerprint"] in paged]
    if len({id(e.notification) for e in ends}) != 1 or len(ends) != 1:
        problems.append(f"{len(ends)} resolve(s) of the page, expected 1")
    elif ends[0].notification.receiver != page.receiver:
        problems.append(f"resolve went to {ends[0]}")
    # Alertmanager lists a group's resolved alerts together: one that the page's alert held
    # back all along (AssetDown behind SiteDown) ends in the same notification. It is a
    # resolve of nothing the on-call was ever sent; anything else is a second message.
    for e in resolved:
        if e not in ends and (
            e.alert["fingerprint"] in ever_notified_firing
            or id(e.notification) not in {id(x.notification) for x in ends}
        ):
            problems.append(f"unexpected {e}")
    return problems


@pytest.mark.timeout(420)
def test_every_fault_pages_once_to_its_team_and_resolves_once(drill_stack: Stack) -> None:
    stack = drill_stack
    started = time.time()
    timings = _timings(stack.workdir / "rules")
    # Quiet baseline: the whole city polled and answering, no alert in Prometheus but the
    # Watchdog (not even pending), and nothing notified but the Watchdog. (Its first send
    # falls in the seconds after the reload in which Prometheus looks for its Alertmanager
    # again, and with the long resend delay it is not sent again during the run: the
    # dead man's switch is test_alerting_e2e's to check.)
    assets = len(yaml.safe_load(stack.city.config_path.read_text(encoding="utf-8"))["assets"])
    wait_until(
        lambda: (
            len(stack.prometheus.query("asset:trunkwatch_probe_success:min == 1")) == assets
            and stack.prometheus.query("trunkwatch:asset_ancestor:info")
        ),
        60,
        "every asset answering every probe",
    )
    wait_until(
        lambda: [a["labels"]["alertname"] for a in stack.prometheus.alerts()] == ["Watchdog"],
        30,
        "no alert but the Watchdog",
    )
    baseline = [
        n
        for n in stack.sink.notifications
        if n.receiver != "deadmans-switch"
        or any(a["labels"]["alertname"] != "Watchdog" for a in n.payload["alerts"])
    ]
    assert not baseline, [str(Entry(n, a)) for n in baseline for a in n.payload["alerts"]]

    outcomes = _run_lanes(stack, timings)
    time.sleep(QUIET_S)
    finished = time.time()

    owned, stray = _account(stack.sink.since(started), outcomes)
    ever_firing = {a["fingerprint"] for n in stack.sink.notifications for a in n.alerts("firing")}
    report, failures = [], []
    for i, o in enumerate(outcomes):
        page = o.drill.page
        paged = f"{o.paged - o.injected:5.1f} s" if o.paged is not None else "    —  "
        resolved = (
            f"{o.resolved - o.cleared:5.1f} s"
            if o.resolved is not None and o.cleared is not None
            else "    —  "
        )
        what = f"{page.alertname}/{page.severity} → {page.receiver}" if page else "nothing"
        report.append(f"{o.drill!s:42} {what:50} paged {paged} resolved {resolved}")
        failures += [f"{o.drill}: {p}" for p in _verdict(o, owned[i], ever_firing)]
    failures += [f"no drill owns {e}" for e in stray]
    print(f"\ndrill matrix, {finished - started:.0f} s:\n" + "\n".join(report))

    # The surge covered bs-xingning alone, the drill's whole scope.
    surge = next(o for o in outcomes if o.drill.fault is Fault.TRAFFIC_SURGE)
    assert surge.affected == ("bs-xingning",), surge.affected
    timeline = [
        f"{n.received_at - started:6.1f} s  {Entry(n, a)}"
        for n in stack.sink.since(started)
        for a in n.payload["alerts"]
        if a["labels"]["alertname"] != "Watchdog"
    ]
    assert not failures, "\n".join([*failures, "", *report, "", *timeline])
    # Quiet again: nothing left in Prometheus but the Watchdog, nothing in Alertmanager.
    assert [a["labels"]["alertname"] for a in stack.prometheus.alerts()] == ["Watchdog"]
    assert [a["labels"]["alertname"] for a in stack.alertmanager.alerts()] in ([], ["Watchdog"])

"""The alerting configuration in alerts/: rule files pass promtool's checks and unit tests,
every alert is tested firing and staying quiet, carries what routing and inhibition need, and
has a runbook; Alertmanager's configuration passes amtool and routes each kind of alert to the
right receiver; the grade-of-service table agrees with monitor.capacity.

promtool and amtool are the real tools (Debian packages): a missing one fails, never skips.
"""

from __future__ import annotations

import math
import re
import subprocess
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from monitor.capacity import traffic_capacity
from tests.integration.promstack import find_binary

ALERTS = Path(__file__).resolve().parents[2] / "alerts"
RULE_FILES = sorted(ALERTS.glob("*.rules.yml"))
TEST_FILES = sorted((ALERTS / "tests").glob("*.test.yml"))
RUNBOOKS = ALERTS / "runbooks"
SEVERITIES = {"critical", "warning", "info"}
#: Fires by design every minute of every day: there is no quiet case to test.
ALWAYS_FIRING = {"Watchdog"}
CJK = re.compile(r"[\u4e00-\u9fff]")
#: Two English words in a row: where the English text starts (a name like "SIP" or
#: "trunkwatch" inside the Chinese does not count).
ENGLISH = re.compile(r"[A-Za-z][A-Za-z0-9]*[,']?(?:\s+[A-Za-z][A-Za-z0-9]*[,':]?)+")
TEMPLATE = re.compile(r"\{\{.*?\}\}")


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def _alert_rules() -> list[tuple[Path, dict[str, Any]]]:
    return [
        (path, rule)
        for path in RULE_FILES
        for group in _load(path)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


@cache
def _rule_tests() -> list[tuple[Path, dict[str, Any]]]:
    """Every alert_rule_test case of every promtool test file."""
    return [
        (path, case)
        for path in TEST_FILES
        for test in _load(path)["tests"]
        for case in test.get("alert_rule_test", [])
    ]


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ALERTS)


def test_there_are_rule_files_and_tests() -> None:
    assert len(RULE_FILES) >= 6
    assert len(TEST_FILES) >= 6


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_promtool_check_rules_with_linting_passes(path: Path) -> None:
    promtool = find_binary("promtool", package="prometheus")
    # --lint=all with --lint-fatal: a lint finding (duplicate rules) fails like an error.
    done = _run([promtool, "check", "rules", "--lint=all", "--lint-fatal", str(path)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_promtool_rule_unit_tests_pass(path: Path) -> None:
    promtool = find_binary("promtool", package="prometheus")
    done = _run([promtool, "test", "rules", str(path)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_every_alert_is_tested_firing_and_staying_quiet(path: Path) -> None:
    names = {rule["alert"] for p, rule in _alert_rules() if p == path}
    fires = {c["alertname"] for _, c in _rule_tests() if c.get("exp_alerts")}
    quiet = {c["alertname"] for _, c in _rule_tests() if not c.get("exp_alerts")}
    assert not names - fires, f"never tested firing: {sorted(names - fires)}"
    assert not names - quiet - ALWAYS_FIRING, f"never tested quiet: {sorted(names - quiet)}"


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_every_alert_has_severity_timing_bilingual_text_and_a_runbook(path: Path) -> None:
    problems = []
    for p, rule in _alert_rules():
        if p != path:
            continue
        name = rule["alert"]
        severity = rule.get("labels", {}).get("severity", "")
        # A templated severity passes the series' own on (SNMP traps; the rule filters it).
        if severity not in SEVERITIES and "$labels.severity" not in severity:
            problems.append(f"{name}: severity {severity!r}")
        if name not in ALWAYS_FIRING:
            for key in ("for", "keep_firing_for"):
                if key not in rule:
                    problems.append(f"{name}: no {key}")
        annotations = rule.get("annotations", {})
        for key in ("summary", "description"):
            text = TEMPLATE.sub(" ", annotations.get(key, ""))
            chinese, english = CJK.search(text), ENGLISH.search(text)
            if not (chinese and english):
                problems.append(f"{name}: {key} is not in Chinese and English")
            # Chinese first: the operators read it first.
            elif english.start() < chinese.start():
                problems.append(f"{name}: {key} does not start in Chinese")
        runbook = annotations.get("runbook_url", "")
        if runbook != f"alerts/runbooks/{name}.md":
            problems.append(f"{name}: runbook_url {runbook!r}")
        elif not (ALERTS.parent / runbook).is_file():
            problems.append(f"{name}: {runbook} does not exist")
    assert not problems, "\n".join(problems)


def test_every_runbook_belongs_to_an_alert_and_is_indexed() -> None:
    names = {rule["alert"] for _, rule in _alert_rules()}
    pages = {p.stem for p in RUNBOOKS.glob("*.md")} - {"README"}
    assert pages == names, (
        f"runbooks without alert: {pages - names}; alerts without: {names - pages}"
    )
    index = (RUNBOOKS / "README.md").read_text(encoding="utf-8")
    assert not [n for n in names if f"({n}.md)" not in index], "alerts missing from README.md"


# -- inhibition-relevant labels -------------------------------------------------------------

_MATCHER = re.compile(r'^(\w+)\s*(=~|!~|!=|=)\s*"(.*)"$')


def _matches(matchers: list[str], labels: dict[str, str]) -> bool:
    for matcher in matchers:
        found = _MATCHER.match(matcher)
        assert found, f"unparsed matcher {matcher!r}"
        name, op, value = found.groups()
        actual = labels.get(name, "")
        ok = {
            "=": actual == value,
            "!=": actual != value,
            "=~": re.fullmatch(value, actual) is not None,
            "!~": re.fullmatch(value, actual) is None,
        }[op]
        if not ok:
            return False
    return True


def test_alerts_carry_the_labels_their_inhibition_rules_compare() -> None:
    """Each inhibition rule compares labels (`equal`); every alert a rule can mute or be muted
    by must carry them, or the rule silently never applies. The critical-over-warning rule
    lists optional labels (carrier, line …) on purpose and is left out."""
    inhibit = _load(ALERTS / "alertmanager.yml")["inhibit_rules"]
    fired = [
        (path.name, c["alertname"], {**e.get("exp_labels", {}), "alertname": c["alertname"]})
        for path, c in _rule_tests()
        for e in c.get("exp_alerts") or []
    ]
    problems, applied = [], 0
    for rule in inhibit:
        required = [name for name in rule.get("equal", []) if name != "alertname"]
        if rule["source_matchers"] == ['severity="critical"']:
            continue
        for side in ("source_matchers", "target_matchers"):
            # A target chosen only by what it is not ("every alert but SiteDown") simply does
            # not apply to alerts without the label, such as the monitor's own.
            named = any(m.startswith(("alertname=", "alertname=~")) for m in rule[side])
            if not named:
                continue
            for file, name, labels in fired:
                if _matches(rule[side], labels):
                    applied += 1
                    missing = [label for label in required if not labels.get(label)]
                    if missing:
                        problems.append(f"{file}: {name} lacks {missing} for {rule[side]}")
    assert applied > 10
    assert not problems, "\n".join(sorted(set(problems)))


def _duration_s(text: str) -> int:
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    assert match and any(match.groups()), text
    h, m, s = (int(g or 0) for g in match.groups())
    return 3600 * h + 60 * m + s


def test_a_trap_alarm_ends_a_minute_before_every_polled_alert_that_silences_it() -> None:
    """Alertmanager silences a trap alarm only while the polled alert of the same fault fires.
    Were the trap alarm held as long after the repair as that alert, which of the two ended
    first would be left to which saw the repair first (rule groups evaluated at their own
    moments, a clearing trap counted late under load), and the trap alarm would now and then
    page alone after the repair: it is held a minute less than every alert that silences it."""
    trap = [r for _, r in _alert_rules() if r["alert"] == "SnmpTrapAlarm"]
    (trap_hold,) = {_duration_s(str(r.get("keep_firing_for", "0s"))) for r in trap}
    silencers = [
        rule["source_matchers"]
        for rule in _load(ALERTS / "alertmanager.yml")["inhibit_rules"]
        if any(m.startswith('alertname="SnmpTrapAlarm"') for m in rule["target_matchers"])
    ]
    assert len(silencers) >= 5
    checked = 0
    for matchers in silencers:
        for _, rule in _alert_rules():
            labels = {"alertname": rule["alert"], **rule.get("labels", {})}
            if rule["alert"] == "SnmpTrapAlarm" or not _matches(matchers, labels):
                continue
            hold = _duration_s(str(rule.get("keep_firing_for", "0s")))
            assert hold - trap_hold >= 60, (rule["alert"], hold, trap_hold)
            checked += 1
    assert checked >= 8


#: (silencer, silenced) alerts raised by one fault: a site's only carrier failing is both the
#: site off the air and its carrier down; mains failing puts the UPS on battery.
SAME_FAULT = (("RadioSiteOffAir", "RadioCarrierDown"), ("SiteMainsFailure", "UpsOnBattery"))


@pytest.mark.parametrize(("silencer", "silenced"), SAME_FAULT)
def test_an_alert_silenced_by_another_of_its_fault_ends_a_minute_before_it(
    silencer: str, silenced: str
) -> None:
    """Both clear with the repair; were the silenced one held as long, it could outlive its
    silencer by an evaluation and page alone (seen in the drill matrix under load)."""
    rules = {rule["alert"]: rule for _, rule in _alert_rules()}
    site = {"site": "xingning", "asset": "bs-xingning", "system": "radio"}
    source = {"alertname": silencer, **site, **rules[silencer]["labels"]}
    target = {"alertname": silenced, **site, **rules[silenced]["labels"]}
    applies = [
        rule
        for rule in _load(ALERTS / "alertmanager.yml")["inhibit_rules"]
        if _matches(rule["source_matchers"], source) and _matches(rule["target_matchers"], target)
    ]
    assert applies, f"no inhibition rule lets {silencer} silence {silenced}"
    hold = {
        n: _duration_s(str(rules[n].get("keep_firing_for", "0s"))) for n in (silencer, silenced)
    }
    assert hold[silencer] - hold[silenced] >= 60, (silencer, silenced, hold)


# -- Alertmanager ---------------------------------------------------------------------------


def test_amtool_check_config_passes() -> None:
    amtool = find_binary("amtool", package="prometheus-alertmanager")
    done = _run([amtool, "check-config", str(ALERTS / "alertmanager.yml")])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ("alertname=SiteDown severity=critical system=radio site=binyang", "radio-page"),
        (
            "alertname=SiteMainsFailure severity=critical system=radio site=xixiangtang",
            "radio-page",
        ),
        ("alertname=UpsOnBattery severity=warning system=power site=xixiangtang", "radio-ticket"),
        ("alertname=UpsOnBattery severity=warning system=power site=hq", "platform-ticket"),
        ("alertname=SiteBatteryLow severity=critical system=power site=hq", "platform-page"),
        ("alertname=E1LineDown severity=critical system=line site=hq", "lines-page"),
        ("alertname=E1RemoteAlarm severity=warning system=line site=hq", "lines-ticket"),
        ("alertname=NetworkLinkDown severity=critical system=network site=hq", "network-page"),
        (
            "alertname=NetworkLinkSaturated severity=warning system=network site=hq",
            "network-ticket",
        ),
        ("alertname=ServiceDown severity=critical system=platform site=hq", "platform-page"),
        ("alertname=TrunkwatchDown severity=critical system=platform", "platform-page"),
        ("alertname=SiteUnreachable severity=info site=shanglin root=bs-binyang", "noc-info"),
        ("alertname=Watchdog severity=info system=platform", "deadmans-switch"),
        (
            "alertname=InspectionOverdue severity=warning route=owner owner=zhangwei",
            "inspection-owner",
        ),
        (
            "alertname=InspectionOverdueEscalated severity=critical route=supervisor",
            "inspection-supervisor",
        ),
        (
            "alertname=InspectionFollowUpOverdue severity=warning route=owner owner=chenjing",
            "inspection-owner",
        ),
        (
            "alertname=DutyHandoverOverdue severity=warning route=supervisor stage=outgoing",
            "inspection-supervisor",
        ),
        ("alertname=SomethingNew severity=warning", "noc-duty"),
    ],
)
def test_routing_sends_each_kind_of_alert_to_its_team(labels: str, receiver: str) -> None:
    amtool = find_binary("amtool", package="prometheus-alertmanager")
    config = f"--config.file={ALERTS / 'alertmanager.yml'}"
    done = _run([amtool, "config", "routes", "test", config, *labels.split()])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == [receiver]


def test_maintenance_windows_mute_warnings_but_never_pages() -> None:
    config = _load(ALERTS / "alertmanager.yml")
    defined = {interval["name"] for interval in config["time_intervals"]}

    def walk(route: dict[str, Any]) -> Any:
        yield route
        for child in route.get("routes", []):
            yield from walk(child)

    muted = [r for r in walk(config["route"]) if r.get("mute_time_intervals")]
    assert muted
    for route in muted:
        assert route["matchers"] == ['severity="warning"'], route
        assert set(route["mute_time_intervals"]) <= defined


# -- the grade-of-service table -------------------------------------------------------------


def test_gos_capacity_table_matches_monitor_capacity() -> None:
    table = [
        rule
        for group in _load(ALERTS / "recording.rules.yml")["groups"]
        for rule in group["rules"]
        if rule.get("record") == "trunkwatch:gos_capacity:erlangs"
    ]
    assert len(table) > 40
    for rule in table:
        labels = rule["labels"]
        channels = int(labels["channels"])
        if labels["model"] == "erlang_c":
            exact = traffic_capacity(
                channels,
                float(labels["target"]),
                "c",
                wait_s=float(labels["wait_seconds"]),
                hold_s=float(labels["hold_seconds"]),
            )
        else:
            exact = traffic_capacity(channels, float(labels["target"]), "b")
        found = re.fullmatch(r"vector\(([\d.]+)\)", rule["expr"])
        assert found, rule["expr"]
        value = float(found.group(1))
        # Rounded down to 0.001 E, so the table never promises more than the target allows.
        assert value == math.floor(exact * 1000) / 1000, (labels, value, exact)


# -- the calendar of the month to date ------------------------------------------------------


def test_the_month_to_date_turns_at_midnight_in_the_configured_time_zone() -> None:
    """Prometheus' date functions read UTC: the calendar month rule shifts ``time()`` by the
    centre's offset, which must be that of the shipped configuration's ``centre.timezone`` on
    every day of the year (a zone with daylight saving time cannot be one constant)."""
    zone = ZoneInfo(_load(ALERTS.parent / "monitor.yaml")["centre"]["timezone"])
    (rule,) = [
        rule
        for group in _load(ALERTS / "recording.rules.yml")["groups"]
        for rule in group["rules"]
        if rule.get("record") == "trunkwatch:calendar_month:info"
    ]
    shifts = {int(s) for s in re.findall(r"time\(\)\s*\+\s*(\d+)", rule["expr"])}
    offsets = {
        (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=d)).astimezone(zone).utcoffset()
        for d in range(366)
    }
    assert len(offsets) == 1, f"{zone} changes its offset during the year: {offsets}"
    (offset,) = offsets
    assert offset is not None
    assert shifts == {int(offset.total_seconds())}, (shifts, offset)

"""The duty board's degraded conditions against the alert rules they mirror: the numbers are
the rules' own (read from alerts/*.rules.yml), each condition reads series its rule reads and
has a runbook, and each holds exactly where its rule's comparison does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.duty.conditions import (
    CONDITIONS,
    THRESHOLDS,
    Finding,
    SeriesByName,
    evaluate,
    human_duration,
)
from monitor.results import Result
from probes.base import Family, Sample, Samples
from tests.unit.fleet import ScriptedProbe, asset, job

REPO = Path(__file__).resolve().parents[2]
ALERTS = REPO / "alerts"
#: A number compared with ``<``, ``>``, ``<=`` or ``>=`` in PromQL (not ``==``, not ``=~``).
COMPARISON = re.compile(r"(?<![=!<>])[<>]=?\s*(-?\d+(?:\.\d+)?)")


def rules() -> list[dict[str, Any]]:
    found = []
    for path in sorted(ALERTS.glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            found += [r for r in group["rules"] if "alert" in r]
    return found


def rule_exprs(alert: str, severity: str | None = None) -> list[str]:
    return [
        r["expr"]
        for r in rules()
        if r["alert"] == alert and (severity is None or r["labels"].get("severity") == severity)
    ]


def test_the_thresholds_are_the_numbers_of_their_alert_rules() -> None:
    declared: dict[tuple[str, str], set[float]] = {}
    for threshold in THRESHOLDS.values():
        declared.setdefault((threshold.alert, threshold.severity), set()).add(threshold.value)
    in_rules = {}
    for alert, severity in declared:
        [expr] = rule_exprs(alert, severity)
        # "> 0" only guards a division (HostStorageAlmostFull): no threshold.
        in_rules[alert, severity] = {float(n) for n in COMPARISON.findall(expr)} - {0.0}
    assert declared == in_rules
    for threshold in THRESHOLDS.values():
        [expr] = rule_exprs(threshold.alert, threshold.severity)
        assert threshold.metric in expr, threshold


def test_the_comparison_finder_reads_promql_as_meant() -> None:
    expr = 'max(x{a=~"b"}) > 1.5 and y == 1 unless z <= 30 or w >= 0.25 and v < -2'
    assert COMPARISON.findall(expr) == ["1.5", "30", "0.25", "-2"]


def test_every_condition_reads_what_its_rule_reads_and_has_a_runbook() -> None:
    alerts = {r["alert"] for r in rules()}
    for condition in CONDITIONS:
        assert condition.alert in alerts, condition.name
        exprs = " ".join(rule_exprs(condition.alert))
        for metric in condition.metrics:
            assert metric in exprs, (condition.name, metric)
        assert (ALERTS / "runbooks" / f"{condition.alert}.md").is_file(), condition.name


# -- evaluation -------------------------------------------------------------------------------

FAMILIES: dict[str, Family] = {}
#: How the results below keep their samples: as a tuple, or by column as the scheduler's do.
KEPT = {"by_column": False}


@pytest.fixture(params=["tuple", "by_column"], autouse=True, scope="module")
def _kept(request: pytest.FixtureRequest) -> Iterator[None]:
    KEPT["by_column"] = request.param == "by_column"
    yield
    KEPT["by_column"] = False


def sample(metric: str, value: float, /, **labels: str) -> Sample:
    family = FAMILIES.setdefault(metric, Family(metric, "gauge", metric))
    return Sample(family, value, tuple(labels.items()))


def result(
    *samples: Sample,
    module: str = "snmp",
    success: bool = True,
    reason: str | None = None,
    message: str = "",
) -> Result:
    probe = replace(job(asset("bs-1"), ScriptedProbe(lambda t: None)), module=module)
    kept = Samples(samples) if KEPT["by_column"] else samples
    return Result(probe, success, 0.1, 1000.0, kept, reason, message)


def found(*samples: Sample, **kwargs: Any) -> list[tuple[str, str, str]]:
    return [(f.key, f.alert, f.severity) for f in evaluate(result(*samples, **kwargs))]


def test_a_healthy_base_station_has_no_condition() -> None:
    assert (
        found(
            sample("trunkwatch_bs_mains_present", 1),
            sample("trunkwatch_bs_battery_runtime_seconds", 600),  # on mains: no matter
            sample("trunkwatch_bs_mcch_carrier", 1),
            sample("trunkwatch_bs_carrier_up", 1, carrier="1"),
            sample("trunkwatch_bs_vswr_ratio", 1.5, carrier="1"),  # the rule says > 1.5
            sample("trunkwatch_bs_backhaul_up", 1),
            sample("trunkwatch_bs_cabinet_temperature_celsius", 40.0),  # > 40
            sample("trunkwatch_bs_traffic_channels", 7),
            sample("trunkwatch_bs_traffic_channels_available", 7),
        )
        == []
    )


def test_a_mains_failure_is_on_battery_with_the_time_left_in_words() -> None:
    [finding] = evaluate(
        result(
            sample("trunkwatch_bs_mains_present", 0),
            sample("trunkwatch_bs_battery_runtime_seconds", 2 * 3600 + 59 * 60),
        )
    )
    assert finding == Finding(
        "mains_failure",
        "SiteMainsFailure",
        "critical",
        "市电中断，蓄电池供电，剩余约 2 小时 59 分",
        "Mains failure: on battery, about 2 h 59 min left",
    )


def test_the_battery_is_low_below_the_rules_runtime_only_without_mains() -> None:
    limit = THRESHOLDS["battery_runtime_bs"].value
    mains_off = sample("trunkwatch_bs_mains_present", 0)
    assert found(mains_off, sample("trunkwatch_bs_battery_runtime_seconds", limit)) == [
        ("mains_failure", "SiteMainsFailure", "critical")
    ]
    assert found(mains_off, sample("trunkwatch_bs_battery_runtime_seconds", limit - 60)) == [
        ("mains_failure", "SiteMainsFailure", "critical"),
        ("battery_low", "SiteBatteryLow", "critical"),
    ]
    ups = [
        sample("trunkwatch_ups_output_source", 1, state="battery"),
        sample("trunkwatch_ups_output_source", 0, state="normal"),
    ]
    assert found(*ups, sample("trunkwatch_ups_battery_runtime_seconds", 900)) == [
        ("battery_low", "SiteBatteryLow", "critical"),
        ("ups_on_battery", "UpsOnBattery", "warning"),
    ]
    # A depleted battery has no time left, whatever the UPS estimates.
    depleted = evaluate(result(sample("trunkwatch_ups_battery_status", 1, state="depleted")))
    assert [(f.key, f.zh, f.en) for f in depleted] == [
        ("battery_low", "蓄电池已耗尽", "Battery depleted")
    ]


def test_vswr_is_high_above_each_threshold_and_only_on_a_carrier_in_service() -> None:
    assert found(
        sample("trunkwatch_bs_carrier_up", 1, carrier="1"),
        sample("trunkwatch_bs_carrier_up", 1, carrier="2"),
        sample("trunkwatch_bs_carrier_up", 0, carrier="3"),
        sample("trunkwatch_bs_vswr_ratio", 1.51, carrier="1"),
        sample("trunkwatch_bs_vswr_ratio", 2.01, carrier="2"),
        sample("trunkwatch_bs_vswr_ratio", 3.0, carrier="3"),  # carrier down: its own condition
    ) == [
        ("carrier_down carrier=3", "RadioCarrierDown", "warning"),
        ("vswr_high carrier=1", "RadioVswrHigh", "warning"),
        ("vswr_high carrier=2", "RadioVswrHigh", "critical"),
    ]


def test_capacity_lost_only_while_every_carrier_is_up() -> None:
    channels = [
        sample("trunkwatch_bs_traffic_channels", 7),
        sample("trunkwatch_bs_traffic_channels_available", 5),
    ]
    assert found(*channels, sample("trunkwatch_bs_carrier_up", 1, carrier="1")) == [
        ("capacity_lost", "RadioCapacityLost", "warning")
    ]
    assert found(*channels, sample("trunkwatch_bs_carrier_up", 0, carrier="1")) == [
        ("carrier_down carrier=1", "RadioCarrierDown", "warning")
    ]


def test_off_air_backhaul_rectifier_and_a_hot_cabinet() -> None:
    assert found(
        sample("trunkwatch_bs_mcch_carrier", 0),
        sample("trunkwatch_bs_backhaul_up", 0),
        sample("trunkwatch_bs_rectifier_state", 1, state="fault"),
        sample("trunkwatch_bs_cabinet_temperature_celsius", 50.5),
    ) == [
        ("rectifier_fault", "SiteRectifierFault", "warning"),
        ("cabinet_hot", "SiteCabinetTemperatureHigh", "critical"),
        ("off_air", "RadioSiteOffAir", "critical"),
        ("backhaul_down", "RadioBackhaulDown", "critical"),
    ]
    sensor = evaluate(
        result(sample("trunkwatch_entity_sensor_value", 41.25, type="celsius", name="Cabinet 1"))
    )
    assert [(f.severity, f.en) for f in sensor] == [("warning", "Cabinet at 41.2 °C, above 40 °C")]
    inlet = sample("trunkwatch_entity_sensor_value", 60.0, type="celsius", name="inlet")
    assert found(inlet) == []


def test_an_e1_line_reports_its_most_basic_alarm_once() -> None:
    def line(n: str, *bits: str) -> list[Sample]:
        every = ("no_alarm", "far_end_lof", "tx_far_end_lof", "ais", "lof", "los", "loopback")
        return [
            sample(
                "trunkwatch_ds1_line_status",
                1 if b in bits else 0,
                line=n,
                circuit=f"c{n}",
                status=b,
            )
            for b in every
        ]

    findings = evaluate(
        result(
            *line("1", "los", "lof", "tx_far_end_lof"),
            *line("2", "far_end_lof"),
            *line("3", "loopback"),
            *line("4", "no_alarm"),
        )
    )
    assert [(f.key, f.alert, f.severity) for f in findings] == [
        ("e1_down line=1", "E1LineDown", "critical"),
        ("e1_remote line=2", "E1RemoteAlarm", "warning"),
        ("e1_status line=3", "E1LineDown", "warning"),
    ]
    assert findings[0].zh == "E1 线路 1（c1）中断：信号丢失 LOS，30 个话路全部中断"
    assert findings[0].en == "E1 line 1 (c1) down: loss of signal (LOS), all 30 channels lost"


def test_e1_errored_seconds_over_the_rules_limits_unless_the_line_is_down() -> None:
    es, ses = THRESHOLDS["e1_errored_seconds"].value, THRESHOLDS["e1_severely_errored_seconds"]
    samples = [
        sample("trunkwatch_ds1_current_errored_seconds", es, line="1"),
        sample("trunkwatch_ds1_current_severely_errored_seconds", ses.value, line="1"),
        sample("trunkwatch_ds1_current_errored_seconds", es + 1, line="2"),
        sample("trunkwatch_ds1_current_severely_errored_seconds", 0, line="2"),
        sample("trunkwatch_ds1_current_errored_seconds", 0, line="3"),
        sample("trunkwatch_ds1_current_severely_errored_seconds", ses.value + 1, line="3"),
        sample("trunkwatch_ds1_current_errored_seconds", 900, line="4"),
        sample("trunkwatch_ds1_line_status", 1, line="4", status="los"),
    ]
    assert found(*samples) == [
        ("e1_down line=4", "E1LineDown", "critical"),
        ("e1_errored line=2", "E1ErroredSeconds", "warning"),
        ("e1_errored line=3", "E1ErroredSeconds", "warning"),
    ]


def test_a_sip_trunk_answering_503_is_out_of_service_and_that_explains_its_failure() -> None:
    [finding] = evaluate(
        result(
            sample("trunkwatch_sip_response_code", 503),
            sample("trunkwatch_sip_rtt_seconds", 0.01),
            module="sip",
            success=False,
            reason="unavailable",
            message="OPTIONS answered 503 Service Unavailable",
        )
    )
    assert (finding.alert, finding.severity, finding.explains_failure) == (
        "SipTrunkOutOfService", "critical", True,
    )  # fmt: skip
    assert finding.en == "SIP trunk out of service: OPTIONS answered 503"
    # A timeout is no answer at all: down, not out of service.
    assert found(module="sip", success=False, reason="timeout") == []
    slow = sample("trunkwatch_sip_rtt_seconds", THRESHOLDS["sip_rtt"].value + 0.1)
    assert found(slow, module="sip") == [("sip_slow", "SipTrunkLatencyHigh", "warning")]


def test_a_link_down_is_critical_on_a_documented_port_and_ignored_when_shut() -> None:
    def port(index: str, oper: str, admin: str, alias: str) -> list[Sample]:
        labels = {"index": index, "name": f"Gi0/{index}", "alias": alias}
        return [
            sample("trunkwatch_if_oper_status", 1, state=oper, **labels),
            sample("trunkwatch_if_admin_status", 1, state=admin, **labels),
        ]

    findings = evaluate(
        result(
            *port("10", "lower_layer_down", "up", "uplink core-rtr-1"),
            *port("2", "down", "up", ""),
            *port("3", "down", "down", "spare"),
            *port("4", "up", "up", "dispatch"),
        )
    )
    assert [(f.key, f.severity, f.en) for f in findings] == [
        ("link_down index=2", "warning", "Port Gi0/2 link down"),
        ("link_down index=10", "critical", "Port Gi0/10 (uplink core-rtr-1) link down"),
    ]


def test_a_disk_over_the_rules_share_is_almost_full() -> None:
    def disk(index: str, kind: str, used: float) -> list[Sample]:
        labels = {"index": index, "descr": f"/d{index}", "type": kind}
        return [
            sample("trunkwatch_host_storage_size_bytes", 1000, **labels),
            sample("trunkwatch_host_storage_used_bytes", used, **labels),
        ]

    findings = evaluate(
        result(*disk("1", "fixed_disk", 900), *disk("2", "fixed_disk", 950), *disk("3", "ram", 990))
    )
    assert [(f.key, f.en) for f in findings] == [
        ("storage_full index=2", "Disk almost full: /d2 95% used")
    ]


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, ("0 分钟", "0 min")), (89, ("1 分钟", "1 min")), (7100, ("118 分钟", "118 min")),
     (7260, ("2 小时 1 分", "2 h 1 min"))],
)  # fmt: skip
def test_durations_in_words(seconds: float, words: tuple[str, str]) -> None:
    assert human_duration(seconds) == words


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(
                st.tuples(st.sampled_from(["index", "state", "name", "type"]), st.text(max_size=3)),
                max_size=4,
            ),
            st.integers(0, 2),
            st.sampled_from(["oper", "admin", "other"]),
        ),
        max_size=12,
    ),
    st.sampled_from(["index", "state", "name"]),
    st.text(max_size=3),
    st.sampled_from(["index", "state", "name", "type"]),
    st.text(max_size=3),
)
@example(
    [([("index", "1"), ("index", "2"), ("state", "up")], 1, "oper")], "index", "2", "state", "up"
)
def test_the_rows_looked_up_are_the_samples_whose_labels_match(
    rows: list[tuple[list[tuple[str, str]], int, str]],
    key: str,
    wanted: str,
    key2: str,
    wanted2: str,
) -> None:
    # Rows as a reader of dictionaries would pick them: the last of a repeated label counts.
    # Two watched families and one unwatched, in any order: a family's rows may come in runs.
    families = {
        "oper": Family("trunkwatch_if_oper_status", "gauge", "Operational state."),
        "admin": Family("trunkwatch_if_admin_status", "gauge", "Administrative state."),
        "other": Family("trunkwatch_if_speed_bits_per_second", "gauge", "Speed."),
    }
    made = tuple(Sample(families[kind], value, tuple(pairs)) for pairs, value, kind in rows)
    result = Result(
        job(asset("sw-1"), ScriptedProbe(lambda t: None), name="snmp:if_mib"),
        True,
        0.1,
        1.0,
        Samples(made) if KEPT["by_column"] else made,
    )
    samples = SeriesByName(result)
    for kind in ("oper", "admin"):
        metric = families[kind].name
        every = [(dict(pairs), value) for pairs, value, of in rows if of == kind]
        assert samples.rows(metric) == every
        one = [r for r in every if r[0].get(key) == wanted]
        assert samples.rows(metric, **{key: wanted}) == one
        both = {key: wanted, key2: wanted2}
        matching = [r for r in every if all(r[0].get(k) == v for k, v in both.items())]
        assert samples.rows(metric, **both) == matching
        assert samples.holding(metric, **both) == [labels for labels, v in matching if v == 1]
        assert samples.label_holding(key2, metric, **{key: wanted}) == {
            labels.get(key2, "") for labels, v in one if v == 1
        }
    assert samples.rows(families["other"].name) == []

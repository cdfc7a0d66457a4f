"""The inspection alert rules with the real promtool: they load, their unit tests pass, each
has a severity, a bilingual summary and a runbook that exists, and an overdue round as the
service exports it on /metrics fires InspectionOverdue with the round's labels."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

from tests.helpers import parse_metrics
from tests.unit.inspections_fleet import SetClock, local, make_service, write_config

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
RULES = ROOT / "alerts" / "inspections.rules.yml"
RULE_TESTS = ROOT / "alerts" / "tests" / "inspections.test.yml"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool not found: install Debian's `prometheus` package (.ci/run does)")
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, check=False,
                          timeout=120)  # fmt: skip


def test_promtool_checks_the_rules() -> None:
    done = run("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 8 rules found" in done.stdout


def test_promtool_rule_tests_pass() -> None:
    done = run("test", "rules", str(RULE_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_rule_has_severity_bilingual_text_and_a_runbook() -> None:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert {r["alert"] for r in rules} == {
        "InspectionOverdue", "InspectionOverdueEscalated", "InspectionItemFailed",
        "InspectionFollowUpOverdue", "InspectionDiscrepancy", "InspectionComplianceLow",
        "InspectionStoreDown", "DutyHandoverOverdue",
    }  # fmt: skip
    for rule in rules:
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
        annotations = rule["annotations"]
        assert annotations["runbook_url"] == f"alerts/runbooks/{rule['alert']}.md"
        assert (ROOT / annotations["runbook_url"]).is_file()
        for text in (annotations["summary"], annotations["description"]):
            assert re.search(r"[\u4e00-\u9fff]", text), (rule["alert"], "no Chinese")
            assert re.search(r"[A-Za-z]{4,}", text), (rule["alert"], "no English")
    escalated = next(r for r in rules if r["alert"] == "InspectionOverdueEscalated")
    assert escalated["labels"]["escalation"] == "supervisor"


def test_an_overdue_round_on_metrics_fires_the_overdue_alert(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    clock = SetClock(local(2028, 5, 8, 9, 0))  # yearly earthing due 30 April + 7 days grace
    make_service(write_config(tmp_path), clock, registry=registry)
    clock.set(2028, 5, 8, 9, 30)
    series = parse_metrics(generate_latest(registry).decode())
    overdue = {
        dict(labels)["plan"] + "/" + (dict(labels)["asset"] or dict(labels)["site"]
                                      or dict(labels)["system"]): value
        for (name, labels), value in series.items()
        if name == "trunkwatch_inspection_overdue"
    }  # fmt: skip
    assert overdue["yearly-earthing/hq"] == 1.0
    assert overdue["monthly-power/xingning"] == 1.0  # due the 5th + 1 day
    assert overdue["daily-radio/radio"] == 0.0  # 09:30, due 10:00

    # Feed the exported series, exactly as scraped, to promtool and expect the alert.
    input_series = []
    expected = []
    for (name, labels), value in sorted(series.items()):
        if name != "trunkwatch_inspection_overdue":
            continue
        selector = ",".join(f'{k}="{v}"' for k, v in labels)
        input_series.append({"series": f"{name}{{{selector}}}", "values": f"{value:g}x20"})
        if value == 1.0:
            found = dict(labels)
            where = found["asset"] or found["site"] or found["system"]
            plan, owner = found["plan"], found["owner"]
            expected.append({
                "exp_labels": {"alertname": "InspectionOverdue", "severity": "warning",
                               "route": "owner", **{k: v for k, v in labels if v}},
                "exp_annotations": {
                    "summary": f"巡检逾期：{plan}（{where}） Inspection overdue",
                    "description": f"{plan} 本周期巡检已超过截止时间及宽限期仍未签字确认，"
                    f"责任人 {owner}。 The round of {plan} on {where} is past its due time and "
                    f"grace period without a signed record; owner {owner}.",
                    "runbook_url": "alerts/runbooks/InspectionOverdue.md",
                },
            })  # fmt: skip
    assert len(expected) >= 3
    test_file = tmp_path / "from-metrics.test.yml"
    test_file.write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(RULES)],
                "evaluation_interval": "1m",
                "tests": [
                    {
                        "interval": "1m",
                        "input_series": input_series,
                        "alert_rule_test": [
                            {"eval_time": "4m", "alertname": "InspectionOverdue",
                             "exp_alerts": []},
                            {"eval_time": "6m", "alertname": "InspectionOverdue",
                             "exp_alerts": expected},
                        ],
                    }
                ],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )  # fmt: skip
    done = run("test", "rules", str(test_file))
    assert done.returncode == 0, done.stdout + done.stderr

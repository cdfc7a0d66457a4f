"""The alert catalogue (alerts/catalogue.rules.yml) the boards' alert tables read: generated
from the rule files and equal to what is committed, so it never drifts from them; every alert
a person can see has a Chinese and an English title and its runbook."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
import yaml

from monitor.cli import dashboards as dashboards_cli
from monitor.dashboards import catalogue as alert_catalogue
from monitor.dashboards.catalogue import (
    CATALOGUE_FILE,
    RECORD,
    SEVERITY_RANKS,
    catalogue,
    render,
    rule_files,
    titles,
)

ALERTS = Path(__file__).resolve().parents[2] / "alerts"
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_committed_catalogue_is_the_one_the_rules_make() -> None:
    committed = (ALERTS / CATALOGUE_FILE).read_text(encoding="utf-8")
    assert committed == render(catalogue(rule_files(ALERTS))), (
        "alerts/catalogue.rules.yml is stale: run trunkwatch dashboards build"
    )


def test_every_alert_but_the_watchdog_is_catalogued_at_each_severity_it_fires_with() -> None:
    rules = [
        rule
        for path in rule_files(ALERTS)
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]
    texts = {(t.alertname, t.severity): t for t in catalogue(rule_files(ALERTS))}
    for rule in rules:
        if rule["alert"] == "Watchdog":
            assert not [k for k in texts if k[0] == "Watchdog"]
            continue
        severity = rule["labels"]["severity"]
        wanted = SEVERITY_RANKS if "{{" in severity else [severity]
        for level in wanted:
            text = texts[(rule["alert"], level)]
            assert CJK.search(text.title_zh), text
            assert re.search(r"[A-Za-z]{2,}", text.title_en), text
            assert not CJK.search(text.title_en), text
            assert "{{" not in text.title_zh + text.title_en, text
            assert (ALERTS / "runbooks" / text.runbook).is_file(), text
            category = "inspection" if rule["alert"].startswith(("Inspection", "Duty")) else "fault"
            assert text.category == category


@pytest.mark.parametrize(
    ("summary", "zh", "en"),
    [
        ("站点中断：{{ $labels.site }} / Site down: {{ $labels.site }}", "站点中断", "Site down"),
        (
            "巡检不合格项 {{ $value }} 项：{{ $labels.plan }} Inspection found {{ $value }}"
            " failed item(s)",
            "巡检不合格项",
            "Inspection found failed item(s)",
        ),
        (
            "巡检记录库不可用 Inspection store unavailable",
            "巡检记录库不可用",
            "Inspection store unavailable",
        ),
        ("E1 中断：{{ $labels.circuit }} / E1 down: {{ $labels.circuit }}", "E1 中断", "E1 down"),
        (
            "监控中断：trunkwatch 无法采集 / trunkwatch scrape down",
            "监控中断",
            "trunkwatch scrape down",
        ),
        (
            "设备告警（Trap）：{{ $labels.asset }} / Device alarm (trap): {{ $labels.asset }}",
            "设备告警（Trap）",
            "Device alarm (trap)",
        ),
    ],
)
def test_titles_are_cut_from_the_summary(summary: str, zh: str, en: str) -> None:
    assert titles(summary) == (zh, en)


def test_an_unknown_severity_is_refused_with_the_file_and_alert(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rules.yml"
    bad.write_text(
        "groups:\n- name: g\n  rules:\n  - alert: Odd\n    expr: vector(1)\n"
        "    labels: {severity: page}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"bad\.rules\.yml: Odd: unknown severity 'page'"):
        catalogue([bad])


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config")


def test_dashboards_build_writes_the_catalogue_beside_the_rules(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts"
    alerts.mkdir()
    for path in rule_files(ALERTS):
        (alerts / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    parser = argparse.ArgumentParser(prog="trunkwatch")
    sub = parser.add_subparsers()
    dashboards_cli.register(sub, _add_config)
    args = parser.parse_args(
        ["dashboards", "build", "--out", str(tmp_path / "json"), "--alerts", str(alerts)]
    )
    assert args.func(args) == 0
    written = (alerts / CATALOGUE_FILE).read_text(encoding="utf-8")
    assert written == (ALERTS / CATALOGUE_FILE).read_text(encoding="utf-8")
    rules = yaml.safe_load(written)["groups"][0]["rules"]
    assert {r["record"] for r in rules} == {RECORD}
    assert alert_catalogue.write(alerts).read_text(encoding="utf-8") == written

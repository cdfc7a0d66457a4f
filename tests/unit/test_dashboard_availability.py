"""The NOC board's month-to-date availability: each system's bar reads the recording rule the
report's counting is built into, scoped to the board's centre, and turns from red to green
exactly at that system's own target, which its name shows; read from the built JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.dashboards.availability import METRIC, TARGETS, target_label

REPO = Path(__file__).resolve().parents[2]
TITLE = "本月可用率 Availability this month"


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for panel in panels:
        out.append(panel)
        out += _panels(panel.get("panels", []))
    return out


def _noc() -> dict[str, Any]:
    board: dict[str, Any] = json.loads(
        (REPO / "dashboards/json/noc-overview.json").read_text(encoding="utf-8")
    )
    return board


def _panel() -> dict[str, Any]:
    (panel,) = [p for p in _panels(_noc()["panels"]) if p.get("title") == TITLE]
    return panel


def _system_override(panel: dict[str, Any], system: str) -> dict[str, Any]:
    (override,) = [
        o for o in panel["fieldConfig"]["overrides"] if o["matcher"]["options"] == system
    ]
    assert override["matcher"]["id"] == "byName"
    return {p["id"]: p["value"] for p in override["properties"]}


def test_the_panel_reads_the_month_to_date_rule_of_the_boards_centre_and_systems() -> None:
    panel = _panel()
    assert panel["type"] == "bargauge"
    (query,) = panel["targets"]
    assert query["instant"] is True
    assert query["expr"] == f'{METRIC}{{system=~"$system", centre=~"$centre"}}'
    # The legend is the series' system: what each override matches by name.
    assert query["legendFormat"] == "{{system}}"
    defaults = panel["fieldConfig"]["defaults"]
    assert defaults["unit"] == "percentunit"
    assert defaults["min"] < min(TARGETS.values())
    assert defaults["max"] == 1


def test_the_rule_the_panel_reads_is_recorded_per_system_and_month() -> None:
    doc = yaml.safe_load((REPO / "alerts/recording.rules.yml").read_text(encoding="utf-8"))
    (rule,) = [r for g in doc["groups"] for r in g["rules"] if r.get("record") == METRIC]
    assert "system:trunkwatch_availability_up:bool" in rule["expr"]
    assert re.search(r"and on \(month\) trunkwatch:calendar_month:info", rule["expr"])


def test_every_system_of_the_board_has_a_target() -> None:
    (system,) = [v for v in _noc()["templating"]["list"] if v["name"] == "system"]
    assert set(system["query"].split(",")) == set(TARGETS)


@pytest.mark.parametrize("system", sorted(TARGETS))
def test_each_bar_turns_green_exactly_at_its_systems_target(system: str) -> None:
    properties = _system_override(_panel(), system)
    target = TARGETS[system]
    assert properties["thresholds"]["steps"] == [
        {"color": "red", "value": None},
        {"color": "green", "value": target},
    ]
    assert f"目标 target {target_label(target)}" in properties["displayName"]


def test_targets_read_as_people_write_them() -> None:
    assert [target_label(r) for r in (0.999, 0.9999, 0.9995, 0.99)] == [
        "99.9%",
        "99.99%",
        "99.95%",
        "99%",
    ]
    # Lines and the platform carry every call: held tighter than the radio network.
    assert TARGETS["line"] > TARGETS["radio"]

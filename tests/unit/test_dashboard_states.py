"""The boards' state vocabulary: every condition the exporter can emit has a state on the
board, and colours rise with severity, read from the built JSON (dashboards/json) and the
ds1_mib profile the conditions come from."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from monitor.dashboards import SEVERITY_COLOURS

REPO = Path(__file__).resolve().parents[2]
BOARDS = REPO / "dashboards" / "json"


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for panel in panels:
        out.append(panel)
        out += _panels(panel.get("panels", []))
    return out


def _panel(board: str, title: str) -> dict[str, Any]:
    data = json.loads((BOARDS / f"{board}.json").read_text(encoding="utf-8"))
    (panel,) = [p for p in _panels(data["panels"]) if p.get("title", "").startswith(title)]
    return panel


def _mapping(panel: dict[str, Any]) -> dict[int, dict[str, Any]]:
    (mapping,) = panel["fieldConfig"]["defaults"]["mappings"]
    return {int(value): option for value, option in mapping["options"].items()}


def _rises(mapping: dict[int, dict[str, Any]]) -> bool:
    ranks = [SEVERITY_COLOURS.index(mapping[v]["color"]) for v in sorted(mapping)]
    return ranks == sorted(ranks)


def test_every_ds1_line_condition_has_a_non_green_state_on_the_e1_timeline() -> None:
    profile = yaml.safe_load((REPO / "probes/snmp/profiles/ds1_mib.yaml").read_text("utf-8"))
    (status,) = [
        m for t in profile["tables"] for m in t["metrics"] if m["name"] == "ds1_line_status"
    ]
    conditions = set(status["bits"].values()) - {"no_alarm"}
    panel = _panel("phone-lines", "E1 线路状态")
    (target,) = panel["targets"]
    ranks = {
        name: int(rank)
        for rank, name in re.findall(
            r'(\d+) \* trunkwatch_ds1_line_status\{[^}]*status="(\w+)"', target["expr"]
        )
    }
    assert set(ranks) == conditions
    assert len(set(ranks.values())) == len(ranks)
    mapping = _mapping(panel)
    assert mapping[0]["color"] == "green"
    for name, rank in ranks.items():
        assert mapping[rank]["color"] != "green", name
    # The most basic outage shows first: LOS over LOF over AIS.
    assert ranks["los"] > ranks["lof"] > ranks["ais"] > ranks["far_end_lof"] > ranks["loopback"]
    assert _rises(mapping)
    # The thresholds (used where a value has no mapping) rise the same way.
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [SEVERITY_COLOURS.index(s["color"]) for s in steps] == sorted(
        SEVERITY_COLOURS.index(s["color"]) for s in steps
    )


#: The codes of asset:trunkwatch_status:code (alerts/recording.rules.yml; promtool tests in
#: alerts/tests/boards.test.yml) and the duty board's word and colour for each.
STATUS_CODES = {
    0: ("正常", "green"),
    1: ("维护", "blue"),
    2: ("部分故障", "yellow"),
    3: ("不可达", "orange"),
    4: ("中断", "red"),
}


def test_status_tiles_and_map_colour_a_worse_state_more_severely() -> None:
    for board, title in [
        ("noc-overview", "基站 Radio sites"),
        ("noc-overview", "有线通信 Lines"),
        ("noc-overview", "站点地图 Site map"),
        ("site-detail", "站点状态 Status"),
        ("site-detail", "站点设备 Assets at the site"),
        ("network", "网络设备 Network devices"),
    ]:
        panel = _panel(board, title)
        mapping = _mapping(panel)
        assert sorted(mapping) == sorted(STATUS_CODES), (board, title)
        for code, (word, colour) in STATUS_CODES.items():
            assert mapping[code]["text"].startswith(word), (board, title, code)
            assert mapping[code]["color"] == colour, (board, title, code)
        assert _rises(mapping), (board, title)
        # Where a value has no mapping, the thresholds colour it the same way.
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert {s["value"] or 0: s["color"] for s in steps} == {
            code: colour for code, (_, colour) in STATUS_CODES.items()
        }, (board, title)


def test_errored_seconds_read_as_counts_not_durations() -> None:
    panel = _panel("phone-lines", "误码秒")
    assert panel["fieldConfig"]["defaults"]["unit"] == "none"

"""The Grafana dashboards: rebuilt from their grafanalib sources they equal what is committed,
and the JSON model passes the checks Grafana itself would make on load, without a Grafana
server: schema version, unique dashboard uids and panel ids, every datasource reference the
provisioned one, every query present with its variables defined, panels on the 24-column grid
without overlapping.

Every query is also run against a real Prometheus in tests/integration/test_alerting_e2e.py.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import dashboards as dashboards_cli
from monitor.dashboards import DATASOURCE_UID, DEFAULT_SOURCES, SCHEMA_VERSION, build

DASHBOARDS = DEFAULT_SOURCES
JSON_FILES = sorted((DASHBOARDS / "json").glob("*.json"))
PROVISIONING = DASHBOARDS / "provisioning"
#: Grafana's built-in panel types (core plugins) the dashboards may use.
PANEL_TYPES = {
    "row",
    "timeseries",
    "stat",
    "table",
    "state-timeline",
    "bargauge",
    "gauge",
    "geomap",
    "text",
}
BUILTIN_VARIABLES = {"__rate_interval", "__interval", "__range", "__range_s", "__all"}
CJK = re.compile(r"[\u4e00-\u9fff]")
#: A title starts in Chinese (after at most a short name such as "E1" or "SIP") and has
#: English after its Chinese.
CHINESE_START = re.compile(r"(?:[A-Za-z0-9.]{1,4}\s*)?[\u4e00-\u9fff]")
ENGLISH_AFTER = re.compile(r"[\u4e00-\u9fff].*[A-Za-z]{2,}")
#: A Grafana variable; ``$1`` in a label_replace is a regex group, not a variable.
VARIABLE = re.compile(r"\$\{?([A-Za-z_]\w*)")


def _boards() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, json.loads(p.read_text(encoding="utf-8"))) for p in JSON_FILES]


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _chinese_first(title: str) -> bool:
    return bool(CHINESE_START.match(title) and ENGLISH_AFTER.search(title))


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_every_source_has_committed_json() -> None:
    sources = {p.name.removesuffix(".dashboard.py") for p in DASHBOARDS.glob("*.dashboard.py")}
    assert {p.stem for p in JSON_FILES} == sources
    assert {
        "noc-overview",
        "site-detail",
        "phone-lines",
        "network",
        "inspections",
        "capacity",
    } <= sources


def test_rebuilt_json_and_provisioning_equal_what_is_committed(tmp_path: Path) -> None:
    written = build(tmp_path / "json", provisioning=tmp_path / "provisioning")
    assert all(p.is_file() for p in written)
    assert _files(tmp_path / "json") == _files(DASHBOARDS / "json"), (
        "dashboards/json is stale: run trunkwatch dashboards build"
    )
    assert _files(tmp_path / "provisioning") == _files(PROVISIONING)


def test_build_is_deterministic(tmp_path: Path) -> None:
    build(tmp_path / "a" / "json")
    build(tmp_path / "b" / "json")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config")


def test_cli_builds_into_the_folder_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="trunkwatch")
    sub = parser.add_subparsers()
    dashboards_cli.register(sub, _add_config)
    args = parser.parse_args(["dashboards", "build", "--out", str(tmp_path / "json")])
    assert args.func(args) == 0
    assert (tmp_path / "json" / "noc-overview.json").is_file()
    assert (tmp_path / "provisioning" / "datasources" / "prometheus.yaml").is_file()
    assert str(tmp_path / "json" / "capacity.json") in capsys.readouterr().out


def test_cli_names_a_broken_source_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.dashboard.py").write_text("dashboard = undefined_name\n")
    parser = argparse.ArgumentParser(prog="trunkwatch")
    sub = parser.add_subparsers()
    dashboards_cli.register(sub, _add_config)
    args = parser.parse_args(
        ["dashboards", "build", "--sources", str(tmp_path), "--out", str(tmp_path / "json")]
    )
    assert args.func(args) == 1
    err = capsys.readouterr().err
    assert "broken.dashboard.py: NameError" in err
    assert "Traceback" not in err


def test_provisioned_datasource_is_the_one_the_dashboards_use() -> None:
    doc = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yaml").read_text())
    assert doc["apiVersion"] == 1
    [source] = doc["datasources"]
    assert source["uid"] == DATASOURCE_UID
    assert source["type"] == "prometheus"
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "trunkwatch.yaml").read_text())
    assert providers["apiVersion"] == 1
    assert providers["providers"][0]["type"] == "file"


@pytest.mark.parametrize(("path", "board"), _boards(), ids=lambda x: getattr(x, "stem", ""))
def test_dashboard_json_model(path: Path, board: dict[str, Any]) -> None:
    problems: list[str] = []
    # Grafana migrates anything older on load; the model written must be current already.
    if board["schemaVersion"] != SCHEMA_VERSION or SCHEMA_VERSION < 36:
        problems.append(f"schemaVersion {board['schemaVersion']}")
    if not re.fullmatch(r"[a-z0-9-]{1,40}", board["uid"] or ""):
        problems.append(f"uid {board['uid']!r}")
    if board.get("id") is not None:
        problems.append("a provisioned dashboard must not carry a database id")
    if not _chinese_first(board["title"]):
        problems.append(f"title {board['title']!r} is not Chinese then English")
    defined = {v["name"] for v in board["templating"]["list"]}
    for var in board["templating"]["list"]:
        if var["type"] == "query" and var["datasource"] != {
            "type": "prometheus",
            "uid": DATASOURCE_UID,
        }:
            problems.append(f"variable {var['name']}: datasource {var['datasource']}")
    ids: list[int] = []
    cells: dict[tuple[int, int], str] = {}
    for panel in _panels(board["panels"]):
        title = panel.get("title", "")
        ids.append(panel["id"])
        if panel["type"] not in PANEL_TYPES:
            problems.append(f"{title}: panel type {panel['type']}")
        if not _chinese_first(title):
            problems.append(f"{title!r}: title is not Chinese then English")
        pos = panel["gridPos"]
        if not (pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24 and pos["h"] > 0):
            problems.append(f"{title}: off the grid {pos}")
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                if (x, y) in cells:
                    problems.append(f"{title}: overlaps {cells[(x, y)]}")
                    break
                cells[(x, y)] = title
        if panel["type"] == "row":
            continue
        if panel.get("datasource") != {"type": "prometheus", "uid": DATASOURCE_UID}:
            problems.append(f"{title}: datasource {panel.get('datasource')}")
        targets = panel.get("targets", [])
        if not targets:
            problems.append(f"{title}: no query")
        if len({t["refId"] for t in targets}) != len(targets):
            problems.append(f"{title}: duplicate refId")
        for t in targets:
            if t.get("datasource") != {"type": "prometheus", "uid": DATASOURCE_UID}:
                problems.append(f"{title} {t['refId']}: datasource {t.get('datasource')}")
            if not (t.get("expr") or "").strip():
                problems.append(f"{title} {t['refId']}: no expr")
            unknown = set(VARIABLE.findall(t.get("expr", ""))) - defined - BUILTIN_VARIABLES
            if unknown:
                problems.append(f"{title} {t['refId']}: undefined variables {unknown}")
        steps = panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps")
        if not isinstance(steps, list) or not steps or steps[0]["value"] is not None:
            problems.append(f"{title}: thresholds must start with a base step, got {steps}")
    if len(ids) != len(set(ids)) or None in ids:
        problems.append(f"panel ids not unique: {ids}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_dashboard_uids_are_unique() -> None:
    uids = [board["uid"] for _, board in _boards()]
    assert len(uids) == len(set(uids))


def test_noc_overview_has_a_geomap_of_the_sites() -> None:
    board = json.loads((DASHBOARDS / "json" / "noc-overview.json").read_text(encoding="utf-8"))
    [geomap] = [p for p in _panels(board["panels"]) if p["type"] == "geomap"]
    # The sites' markers (query A) over the districts' names (query B).
    layers = {layer["filterData"]["options"]: layer for layer in geomap["options"]["layers"]}
    assert sorted(layers) == ["A", "B"]
    for layer in layers.values():
        assert layer["location"] == {
            "mode": "coords",
            "latitude": "latitude",
            "longitude": "longitude",
        }
    assert layers["A"]["config"]["style"]["text"]["field"] == "name"
    assert layers["B"]["config"]["style"]["text"]["field"] == "district"
    assert "district" in geomap["targets"][1]["expr"]
    assert "trunkwatch_site_info" in geomap["targets"][0]["expr"]
    assert geomap["targets"][0]["format"] == "table"
    # Prometheus labels are strings: the panel converts the coordinates to numbers itself.
    assert geomap["transformations"][0]["id"] == "convertFieldType"


def test_units_are_set_on_every_graph() -> None:
    missing = [
        f"{board['uid']}: {panel['title']}"
        for _, board in _boards()
        for panel in _panels(board["panels"])
        if panel["type"] in {"timeseries", "bargauge"}
        and not panel["fieldConfig"]["defaults"].get("unit")
    ]
    assert not missing

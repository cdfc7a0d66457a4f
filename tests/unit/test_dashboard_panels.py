"""What the built boards (dashboards/json) promise a duty room, read from the JSON: panel
resolutions that follow the data, links to the board of what a tile shows and back to the
NOC and the duty page, a map that draws without the internet, alert tables for people, and
the carriers tile's colours. The queries themselves run against Prometheus in
tests/integration/test_alerting_e2e.py."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.dashboards import (
    BOARD_UIDS,
    SCRAPE_INTERVAL,
    SEVERITY_COLOURS,
    TRUNKWATCH_URL,
    at,
    render,
    target,
)
from monitor.dashboards import dashboard as make_dashboard
from monitor.dashboards.map import geomap, tile_server
from monitor.dashboards.panel_step import duration_ms, panel_step

REPO = Path(__file__).resolve().parents[2]
BOARDS = {
    p.stem: json.loads(p.read_text(encoding="utf-8"))
    for p in sorted((REPO / "dashboards" / "json").glob("*.json"))
}
PROVISIONED = yaml.safe_load(
    (REPO / "dashboards/provisioning/datasources/prometheus.yaml").read_text(encoding="utf-8")
)["datasources"][0]["jsonData"]["timeInterval"]
SIX_HOURS = 6 * 3_600_000


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _all() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, board in BOARDS.items():
        for panel in _panels(board["panels"]):
            if panel["type"] != "row":
                yield name, panel


def _panel(board: str, title: str) -> dict[str, Any]:
    [panel] = [p for p in _panels(BOARDS[board]["panels"]) if p["title"].startswith(title)]
    return panel


def _step(panel: dict[str, Any], range_ms: int) -> int:
    return panel_step(
        range_ms,
        max_data_points=panel.get("maxDataPoints"),
        panel_interval=panel.get("interval"),
        datasource_interval=PROVISIONED,
    ).step_ms


def test_no_panel_keeps_the_old_coarse_resolution() -> None:
    for name, panel in _all():
        assert panel.get("maxDataPoints") != 100, (name, panel["title"])
        for t in panel["targets"]:
            assert t.get("intervalFactor", 1) == 1, (name, panel["title"])


def test_every_state_timeline_steps_at_the_scrape_interval_over_six_hours() -> None:
    timelines = [(n, p) for n, p in _all() if p["type"] == "state-timeline"]
    titles = {p["title"].split(" ")[0] for _, p in timelines}
    assert {"E1", "SIP", "载波状态", "链路状态"} <= titles
    assert PROVISIONED == SCRAPE_INTERVAL
    for name, panel in timelines:
        assert panel["interval"] == SCRAPE_INTERVAL, (name, panel["title"])
        assert _step(panel, SIX_HOURS) == duration_ms(SCRAPE_INTERVAL), (name, panel["title"])


def test_range_panels_never_step_coarser_than_a_scrape_or_a_few_over_six_hours() -> None:
    for name, panel in _all():
        if panel["type"] != "timeseries" or panel.get("timeFrom"):
            continue
        assert _step(panel, SIX_HOURS) <= 30_000, (name, panel["title"])


@pytest.mark.parametrize(
    ("title", "step"),
    [
        ("服务等级（每小时）", "1h"),
        ("信道利用率", "1h"),
        ("忙时话务量趋势", "1d"),
        ("中继群忙时话务量", "1d"),
    ],
)
def test_capacity_panels_read_their_hourly_or_daily_rules_once_per_hour_or_day(
    title: str, step: str
) -> None:
    panel = _panel("capacity", title)
    assert panel["interval"] == step
    assert _step(panel, duration_ms(panel["timeFrom"])) == duration_ms(step)
    # Each reads a series recorded over that very period: none is skipped, none read twice.
    period = {"1h": ":ratio_rate1h", "1d": ":max1d"}[step]
    assert period in panel["targets"][0]["expr"], panel["targets"][0]["expr"]


def test_carriers_in_service_turn_orange_when_one_is_out_and_red_when_none_is_left() -> None:
    panel = _panel("site-detail", "在用载波")
    defaults = panel["fieldConfig"]["defaults"]
    assert defaults["unit"] == "percentunit"
    steps = [(s["color"], s["value"]) for s in defaults["thresholds"]["steps"]]
    assert steps[0] == ("red", None)
    assert steps[-1] == ("green", 1)
    colour_at = {v: max((s for s in steps if (s[1] or 0) <= v), key=lambda s: s[1] or 0)[0]
                 for v in (0.0, 0.5, 2 / 3, 1.0)}  # fmt: skip
    assert colour_at == {0.0: "red", 0.5: "orange", 2 / 3: "orange", 1.0: "green"}
    [t] = panel["targets"]
    assert "{{in_service}}" in t["legendFormat"] and "{{configured}}" in t["legendFormat"]


def _query(url: str) -> tuple[str, dict[str, str]]:
    parsed = urllib.parse.urlsplit(url)
    params = dict(urllib.parse.parse_qsl(parsed.query))
    return parsed.path, params


@pytest.mark.parametrize(
    ("title", "board", "variable", "value"),
    [
        ("基站 Radio sites", "site", "site", "${__field.labels.site}"),
        ("有线通信 Lines", "lines", "line", "${__field.labels.asset}"),
        ("计算机网络 Network", "network", "asset", "${__field.labels.asset}"),
        ("应急平台 Platform", "network", "asset", "${__field.labels.asset}"),
        ("站点地图 Site map", "site", "site", "${__data.fields.site}"),
    ],
)
def test_noc_tiles_and_the_map_open_the_board_of_what_they_show(
    title: str, board: str, variable: str, value: str
) -> None:
    [link] = _panel("noc-overview", title)["fieldConfig"]["defaults"]["links"]
    path, params = _query(link["url"])
    assert path == f"/d/{BOARD_UIDS[board]}"
    assert params[f"var-{variable}"] == value
    opened = next(b for b in BOARDS.values() if b["uid"] == BOARD_UIDS[board])
    assert variable in {v["name"] for v in opened["templating"]["list"]}
    # The centre and the time range go along.
    assert "${centre:queryparam}" in link["url"] and "${__url_time_range}" in link["url"]


def test_every_board_links_back_to_the_noc_and_to_the_duty_page() -> None:
    for name, board in BOARDS.items():
        links = {link["title"]: link for link in board["links"]}
        noc = links["值班总览 NOC overview"]
        assert noc["url"].startswith(f"/d/{BOARD_UIDS['noc']}?"), name
        assert links["值班页 Duty page"]["url"] == "${trunkwatch}/", name
        [setting] = [v for v in board["templating"]["list"] if v["name"] == "trunkwatch"]
        assert setting["type"] == "textbox" and setting["hide"] == 2
        assert setting["query"] == TRUNKWATCH_URL


def test_the_map_draws_offline_unless_given_a_tile_server() -> None:
    panel = _panel("noc-overview", "站点地图")
    basemap = panel["options"]["basemap"]
    assert basemap["type"] == "geojson"
    assert basemap["config"]["src"].startswith("public/maps/")  # served by Grafana itself
    text = json.dumps(panel)
    assert not re.search(r"https?://", text), "the map reaches out to the internet"

    def built_map() -> dict[str, Any]:
        board = make_dashboard(
            "t",
            "测试 Test",
            [geomap("地图 Map", "x", at(0, 0, 4, 4), max_zoom=9, thresholds=[])],
            description="",
        )
        return json.loads(render(board))["panels"][0]  # type: ignore[no-any-return]

    with tile_server("http://tiles.centre.local/{z}/{x}/{y}.png"):
        tiled = built_map()
    assert tiled["options"]["basemap"] == {
        "type": "xyz",
        "name": "底图 Tiles",
        "config": {"url": "http://tiles.centre.local/{z}/{x}/{y}.png", "attribution": ""},
    }
    assert built_map()["options"]["basemap"]["type"] == "geojson"
    with pytest.raises(ValueError, match="placeholders"), tile_server("http://tiles.local/"):
        pass


@pytest.mark.parametrize("title", ["当前故障", "巡检告警"])
def test_alert_tables_show_people_what_is_wrong_not_how_it_is_routed(title: str) -> None:
    panel = _panel("noc-overview", title)
    [t] = panel["targets"]
    # Only what a person reads is kept: routing labels never reach the table.
    [kept] = re.findall(r"max by \(alertname, ([^)]*)\)", t["expr"])
    assert set(kept.split(", ")) == {
        "severity_rank", "title_zh", "title_en", "runbook", "site", "asset", "detail", "centre",
    }  # fmt: skip
    assert "ALERTS_FOR_STATE" in t["expr"]  # since when
    category = "fault" if title == "当前故障" else "inspection"
    assert f'trunkwatch:alert_catalogue:info{{category="{category}"' in t["expr"]
    overrides = {
        o["matcher"]["options"]: o["properties"] for o in panel["fieldConfig"]["overrides"]
    }
    [mappings] = [p["value"] for p in overrides["severity_rank"] if p["id"] == "mappings"]
    options = mappings[0]["options"]
    colours = [SEVERITY_COLOURS.index(options[rank]["color"]) for rank in ("3", "2", "1")]
    assert colours == sorted(colours) and options["1"]["color"] == "red"
    [runbook] = [p["value"] for p in overrides["runbook"] if p["id"] == "links"]
    assert runbook[0]["url"] == "${runbooks}/${__data.fields.runbook}"
    [site] = [p["value"] for p in overrides["site_name"] if p["id"] == "links"]
    assert site[0]["url"].startswith("/d/trunkwatch-site?var-site=${__data.fields.site}")
    hidden = set(panel["transformations"][-1]["options"]["excludeByName"])
    assert "alertname" in hidden


def test_target_scopes_every_query_and_keeps_grafanas_step() -> None:
    t = target("up").to_json_data()
    assert t["expr"] == 'up{centre=~"$centre"}'
    assert t["intervalFactor"] == 1


@pytest.mark.parametrize(
    ("board", "title"),
    [("phone-lines", "SIP 中继状态"), ("site-detail", "载波状态"), ("network", "链路状态")],
)
def test_up_down_timelines_map_both_values_green_up_and_red_down(board: str, title: str) -> None:
    # probe_success, carrier_up and if_oper_status{state="up"} are 0 or 1, nothing else.
    panel = _panel(board, title)
    [mapping] = panel["fieldConfig"]["defaults"]["mappings"]
    options = mapping["options"]
    assert set(options) == {"0", "1"}
    assert (options["1"]["color"], options["0"]["color"]) == ("green", "red")
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [(s["color"], s["value"]) for s in steps] == [("red", None), ("green", 1)]

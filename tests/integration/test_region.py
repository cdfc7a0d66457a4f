"""A region: several centres feed one VictoriaMetrics, told apart by the ``centre`` external
label of their Prometheus; the shipped boards (scoped to ``$centre``) and the regional report
read it by URL and keep the centres apart, though their sites have the same ids.

1. Live: two simulated cities, each with its own ``trunkwatch run`` and its own Prometheus
   (shipped rules, ``external_labels: {centre: …}``, ``remote_write`` to the one
   VictoriaMetrics). A site of one centre goes down; every board query, read from
   VictoriaMetrics for each centre and for all, answers without error, carries only the
   centre asked for, and shows the site down in that centre and up in the other.
2. History: 35 days of the capacity acceptance's synthetic traffic, moved to recent weeks,
   imported for two centres (one with a site fewer), with hourly availability recordings;
   ``trunkwatch region report`` reads each centre's availability (the mean of what was
   imported), its sites below target and its capacity plan (the same as the analysis of the
   same readings in the monitor's own window).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import statistics
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.capacity import PlanningOptions, analyse
from monitor.cli import main
from monitor.simulator.fleet import Fault
from tests.helpers import wait_until
from tests.integration.daemons import start_daemon
from tests.integration.hastack import VictoriaMetrics, prometheus_replica, start_victoria_metrics
from tests.integration.promstack import start_prometheus
from tests.integration.simcity import REPO, city_config
from tests.integration.test_alerting_e2e import (
    UNEXPANDED,
    _dashboards,
    _expand,
    _panels,
    scaled_rules,
)
from tests.integration.test_capacity_acceptance import PROM_DAYS, SHANGHAI, START, openmetrics
from tests.integration.test_ha_failover import Fleet

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CENTRES = ("liuzhou", "nanning")
DOWN_SITE, DOWN_ASSET = "xixiangtang", "bs-xixiangtang"


def vm_query(vm: VictoriaMetrics, expr: str) -> list[dict[str, Any]]:
    url = f"{vm.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def centre_prometheus(centre: str, target: str, vm: VictoriaMetrics) -> dict[str, Any]:
    """A centre's Prometheus: deploy/ha's p1 with the centre's name for ``centre``."""
    config = prometheus_replica(
        "p1", interval="1s", targets=[{"targets": [target]}], alertmanagers=[],
        remote_write_url=vm.write_url,
    )  # fmt: skip
    assert config["global"]["external_labels"]["centre"] == "nanning"  # as shipped
    config["global"]["external_labels"]["centre"] = centre
    return config


def board_queries() -> Iterator[tuple[str, str, str, list[str]]]:
    """(board uid, panel title, expr, the board's variables) of every panel target of every
    shipped board."""
    for board in _dashboards():
        names = [v["name"] for v in board["templating"]["list"]]
        for panel in _panels(board["panels"]):
            for target in panel.get("targets", []):
                yield board["uid"], panel["title"], target["expr"], names


def test_two_live_centres_stay_apart_in_one_store_and_on_every_board(tmp_path: Path) -> None:
    rules = scaled_rules(sorted((REPO / "alerts").glob("*.rules.yml")), tmp_path / "rules", 12)
    (tmp_path / "c-liuzhou").mkdir()
    (tmp_path / "c-nanning").mkdir()
    with (
        start_victoria_metrics(tmp_path / "vm", "1s") as vm,
        Fleet(tmp_path / "c-liuzhou") as liuzhou,
        Fleet(tmp_path / "c-nanning") as nanning,
        contextlib.ExitStack() as stack,
    ):
        for centre, city in (("liuzhou", liuzhou), ("nanning", nanning)):
            assert city.simulation is not None
            config = city_config(city.raw, city.simulation, data_dir=tmp_path / f"var-{centre}")
            path = tmp_path / f"monitor-{centre}.yaml"
            path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
            _, url = stack.enter_context(start_daemon(path, tmp_path / f"{centre}.log"))
            prometheus = centre_prometheus(centre, url.removeprefix("http://"), vm)
            stack.enter_context(
                start_prometheus(tmp_path / f"p-{centre}", prometheus, rules, name=centre)
            )
        liuzhou.inject(Fault.SITE_DOWN, DOWN_ASSET)

        def site_states() -> dict[tuple[str, str], float]:
            result = vm_query(vm, f'site:trunkwatch_status:code{{site="{DOWN_SITE}"}}')
            return {(r["metric"]["centre"], DOWN_SITE): float(r["value"][1]) for r in result}

        wait_until(
            lambda: site_states() == {("liuzhou", DOWN_SITE): 4.0, ("nanning", DOWN_SITE): 0.0},
            90,
            "VictoriaMetrics to hold xixiangtang down in liuzhou and up in nanning",
        )
        tile = next(e for _, title, e, _ in board_queries() if title.startswith("基站 Radio sites"))
        by_centre = {}
        for centre in CENTRES:
            result = vm_query(vm, _expand(tile, {"centre": centre, "site": ".*"}))
            assert {r["metric"]["centre"] for r in result} == {centre}
            by_centre[centre] = {r["metric"]["site"]: float(r["value"][1]) for r in result}
        assert by_centre["liuzhou"][DOWN_SITE] == 4.0  # down (STATUS_MAPPINGS)
        assert by_centre["nanning"][DOWN_SITE] == 0.0
        assert set(by_centre["liuzhou"]) == set(by_centre["nanning"])  # the same site ids

        wait_until(
            lambda: vm_query(vm, "site:trunkwatch_bs_traffic_erlangs:rate5m"),
            60,
            "traffic recording rules in VictoriaMetrics",
        )
        checked = 0
        for uid, title, expr, names in board_queries():
            for choice in (*CENTRES, ".*"):
                variables = {name: ".*" for name in names} | {"centre": choice}
                query = _expand(expr, variables)
                assert not UNEXPANDED.search(query), query
                result = vm_query(vm, query)  # an error (many-to-many, parse) fails here
                centres = {r["metric"].get("centre") for r in result} - {None}
                if choice != ".*":
                    assert centres <= {choice}, f"{uid} / {title}: {centres} for {choice}"
                checked += 1
        assert checked >= 3 * 60, checked


# -- the regional report over a history --------------------------------------------------------


def _shifted(text: str, shift_s: int, keep: re.Pattern[str] | None) -> str:
    """OpenMetrics lines (seconds) as Prometheus text (milliseconds), ``shift_s`` later;
    with ``keep``, only the samples whose line matches it."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if keep is not None and not keep.search(line):
            continue
        series, value, stamp = line.rsplit(" ", 2)
        out.append(f"{series} {value} {(int(stamp) + shift_s) * 1000}")
    return "\n".join(out) + "\n"


def _import(vm: VictoriaMetrics, centre: str, text: str) -> None:
    url = f"{vm.url}/api/v1/import/prometheus?extra_label=centre={centre}"
    request = urllib.request.Request(url, data=text.encode(), method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 204


def _names(text: str) -> set[str]:
    """The metric names of an exposition text."""
    return {
        re.split(r"[{ ]", line, maxsplit=1)[0]
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def run_region(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["region", "report", *args])
    return code, out.getvalue(), err.getvalue()


def test_the_regional_report_reads_each_centre_of_the_store(tmp_path: Path) -> None:
    om, window = openmetrics(tmp_path)
    # Whole weeks later, so weekdays and local hours stay those of the readings, ending
    # before yesterday (inside VictoriaMetrics' retention).
    today = datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    weeks = (today - timedelta(days=PROM_DAYS + 2) - START).days // 7
    shift = timedelta(weeks=weeks)
    start, end = START + shift, START + shift + timedelta(days=PROM_DAYS)
    history = om.read_text(encoding="utf-8")
    hours = [start + timedelta(hours=h, minutes=30) for h in range(PROM_DAYS * 24)]
    availability = {
        # centre → system → hourly values; liuzhou's radio lost the first 20 hours of day 3
        "nanning": {"radio": [1.0] * len(hours), "line": [1.0] * len(hours)},
        "liuzhou": {
            "radio": [0.5 if 48 <= h < 68 else 1.0 for h in range(len(hours))],
            "line": [1.0] * len(hours),
        },
    }
    sites = {"nanning": {"xingning": 1.0}, "liuzhou": {"xingning": 0.97}}
    imported: dict[str, set[str]] = {}
    with start_victoria_metrics(tmp_path / "vm", "1s") as vm:
        for centre in CENTRES:
            keep = None if centre == "nanning" else re.compile(r'site="(xingning|hq)"')
            lines = [_shifted(history, int(shift.total_seconds()), keep)]
            for system, values in availability[centre].items():
                lines += [
                    f'system:trunkwatch_availability:ratio_avg1h{{system="{system}"}} {v} '
                    f"{int(t.timestamp()) * 1000}\n"
                    for t, v in zip(hours, values, strict=True)
                ]
            for site, v in sites[centre].items():
                lines += [
                    f'site:trunkwatch_availability:ratio_avg1h{{site="{site}"}} {v} '
                    f"{int(t.timestamp()) * 1000}\n"
                    for t in hours
                ]
            _import(vm, centre, "".join(lines))
            imported[centre] = _names("".join(lines))
        # Every metric of each centre searchable, not only one: VictoriaMetrics makes an
        # import searchable part by part, and a report read in between misses a part.
        wait_until(
            lambda: all(
                {r["metric"]["__name__"] for r in vm_query(
                    vm, f'count by (__name__) ({{centre="{centre}"}}[60d])'
                )} >= names
                for centre, names in imported.items()
            ),
            60,
            "the imported history",
        )  # fmt: skip
        # One centre's capacity report straight from the region's store.
        capacity_out, capacity_err = io.StringIO(), io.StringIO()
        with redirect_stdout(capacity_out), redirect_stderr(capacity_err):
            code = main(
                ["capacity", "report", "--prometheus", vm.url, "--centre", "liuzhou",
                 "--days", str(PROM_DAYS), "--end", str((end - timedelta(days=1)).date()),
                 "--out", str(tmp_path / "liuzhou.html"), "-q"]
            )  # fmt: skip
        assert code == 0, capacity_err.getvalue()
        table = capacity_out.getvalue()
        assert "xingning" in table and "e1-gw-110" in table and "longan" not in table
        page = tmp_path / "region.html"
        code, out, err = run_region(
            "--prometheus", vm.url, "--days", str(PROM_DAYS),
            "--end", str((end - timedelta(days=1)).date()), "--out", str(page), "--json",
        )  # fmt: skip
    assert code == 0, err
    assert "reading centre liuzhou" in err and "reading centre nanning" in err
    account = json.loads(out)["centres"]
    assert sorted(account) == ["liuzhou", "nanning"]
    for centre in CENTRES:
        for system, values in availability[centre].items():
            assert account[centre]["availability"][system] == pytest.approx(
                statistics.fmean(values), rel=1e-9
            )
    assert (
        account["liuzhou"]["availability"]["radio"]
        < 0.99
        < account["nanning"]["availability"]["radio"]
    )
    assert [s["site"] for s in account["liuzhou"]["below_target"]] == ["xingning"]
    assert account["liuzhou"]["below_target"][0]["ratio"] == pytest.approx(0.97)
    assert account["nanning"]["below_target"] == []
    # Capacity: nanning holds all three groups, liuzhou (imported without longan) two; each
    # plan is the analysis of the same readings in the monitor's own window.
    local = {g.name: g for g in analyse(window.groups(START, START + timedelta(days=PROM_DAYS)),
                                        PlanningOptions()).groups}  # fmt: skip
    groups = {c: {g["group"]: g for g in account[c]["capacity"]} for c in CENTRES}
    assert sorted(groups["nanning"]) == ["e1-gw-110", "longan", "xingning"]
    assert sorted(groups["liuzhou"]) == ["e1-gw-110", "xingning"]
    for centre in CENTRES:
        for name, group in groups[centre].items():
            mine = local[name]
            assert mine.forecast is not None
            assert group["units_to_add"] == mine.units_to_add, (centre, name)
            assert group["busy_hour_erlangs"] == pytest.approx(
                mine.forecast.busy_hour_erlangs, rel=1e-6
            ), (centre, name)
    assert account["nanning"]["expansions"] == sum(1 for g in local.values() if g.units_to_add)
    html = page.read_text(encoding="utf-8")
    assert 'data-centre="liuzhou"' in html and 'data-centre="nanning"' in html
    assert "兴宁区基站" in html


def test_the_regional_report_says_why_when_the_store_has_no_centres(tmp_path: Path) -> None:
    with start_victoria_metrics(tmp_path / "vm", "1s") as vm:
        code, _, err = run_region("--prometheus", vm.url, "--days", "1", "-q")
    assert code == 1
    assert "no series carries a 'centre' label" in err
    assert "external_labels" in err
    code, _, err = run_region("--prometheus", "ftp://x", "--days", "1")
    assert code == 2 and "--prometheus must be an http" in err

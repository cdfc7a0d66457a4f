"""The availability report's outputs (the contract's JSON rows, CSV, the HTML page), its reader
of Prometheus' answers at the boundary, and the command's usage errors."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from monitor.availability import (
    AssetInfo,
    AvailabilityReport,
    Period,
    ProbeSeries,
    PrometheusSamples,
    SourceQueryError,
    SourceUnavailable,
    compute,
    month,
    render_csv,
    render_html,
    render_json,
)
from monitor.availability.render import _duration, _pct
from monitor.cli import main
from tests.helpers import free_tcp_port
from tests.unit import availability_month as m

CONTRACT = {
    "level",
    "id",
    "availability",
    "up_seconds",
    "down_seconds",
    "maintenance_seconds",
    "unknown_seconds",
    "outages",
    "mttr_seconds",
    "mtbf_seconds",
}


@pytest.fixture(scope="module")
def november() -> AvailabilityReport:
    return compute(
        month("2026-11", "Asia/Shanghai"),
        m.success_series(),
        assets=m.ASSETS,
        maintenance=m.MAINTENANCE,
        unreachable=m.unreachable_series(),
        e1=m.e1_lines(),
        generated=datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
    )


def test_json_is_a_list_of_rows_per_asset_site_and_system(november: AvailabilityReport) -> None:
    rows = json.loads(render_json(november))
    assert isinstance(rows, list)
    assert all(set(r) >= CONTRACT for r in rows)
    assert {r["level"] for r in rows} == {"asset", "site", "system"}
    assert sum(r["level"] == "asset" for r in rows) == len(m.ASSETS)
    xingning = next(r for r in rows if r["id"] == "bs-xingning")
    assert (xingning["up_seconds"], xingning["down_seconds"]) == (2_580_428, 4_372)
    assert (xingning["maintenance_seconds"], xingning["unknown_seconds"]) == (7_200, 0)
    assert xingning["availability"] == 2_580_428 / (m.PERIOD_S - 7_200)
    assert xingning["mttr_seconds"] == 1_457.333 and xingning["mtbf_seconds"] == 860_142.667
    assert xingning["outages"][2] == {
        "start": "2026-11-15T11:00:00+08:00",  # the end of the maintenance window
        "end": "2026-11-15T11:15:22+08:00",
        "duration_seconds": 922,
        "cause": "down",
        "root": "bs-xingning",
        "assets": ["bs-xingning"],
    }
    e1 = next(r for r in rows if r["id"] == "e1-gw-110")
    assert e1["unknown_seconds"] == 21_325 and e1["mttr_seconds"] == 365
    assert e1["e1_lines"][0]["severely_errored_seconds"] == m.E1_TOTALS["severely_errored"]
    radio = next(r for r in rows if (r["level"], r["id"]) == ("system", "radio"))
    assert radio["assets"] == ["bs-shanglin", "bs-xingning"]
    assert radio["outages"][0]["assets"] == ["bs-shanglin", "bs-xingning"]


def test_csv_has_one_line_per_row_and_an_empty_cell_for_no_value() -> None:
    hour = Period("h", m.START, m.START + timedelta(hours=1))
    report = compute(hour, [], assets=[AssetInfo("srv-1", "hq", "platform", "调度服务器")])
    lines = list(csv.reader(io.StringIO(render_csv(report))))
    assert lines[0][:2] == ["level", "id"] and len(lines) == 4  # system, site, asset
    asset = dict(zip(lines[0], lines[3], strict=True))
    assert asset["name"] == "调度服务器" and asset["unknown_seconds"] == "3600"
    assert asset["availability"] == "" and asset["mttr_seconds"] == "" and asset["outages"] == "0"


def test_the_page_is_self_contained_bilingual_and_escapes_names(
    november: AvailabilityReport,
) -> None:
    page = render_html(november, centre="测试中心")
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "可用率报告" in page and "Availability report" in page and "测试中心" in page
    assert "不可达 unreachable" in page and "故障 down" in page
    assert "2026-11-03 10:01:07" in page and "47 min 15 s" in page  # bs-xingning's own outage
    assert "battery replacement" in page
    # The E1 line: ES, SES, UAS of the month.
    assert "e1-gw-110/E1-1" in page and '<td>527</td>\n<td class="bad">103</td>' in page
    hostile = compute(
        Period("h", m.START, m.START + timedelta(hours=1)),
        [],
        assets=[AssetInfo("srv-1", "hq", "platform", "<script>alert(1)</script>")],
    )
    page = render_html(hostile)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_outage_running_over_the_periods_start_is_marked_and_counted_inside() -> None:
    hour = Period("h", m.START, m.START + timedelta(hours=1))
    # Down from 30 s before the hour until the poll at 4 min 30 s.
    samples = [(m.START.timestamp() - 30 + 60 * i, 0.0 if i < 5 else 1.0) for i in range(70)]
    report = compute(hour, [ProbeSeries.from_samples("bs-1", "snmp", samples, site="s1")])
    ((_, outage),) = report.outages
    assert outage.duration == 270_000
    page = render_html(report)
    assert "… 2026-11-01 00:00:00" in page and "only its part inside counts" in page
    assert "only its part inside counts" not in render_html(
        compute(hour, [ProbeSeries.from_samples("bs-1", "snmp", samples[10:], site="s1")])
    )


def test_durations_and_percentages_read_as_a_supervisor_writes_them() -> None:
    assert _duration(2_835) == "47 min 15 s"
    assert _duration(6_300) == "1 h 45 min"
    assert _duration(2 * 86_400 + 3 * 3_600 + 5) == "2 d 3 h"
    assert _duration(0) == "0 s" and _duration(None) == "—"
    assert _pct(1.0) == "100 %" and _pct(None) == "—"
    # An interruption never rounds up to 100 %.
    assert _pct(0.9999999) == "99.999 %" and _pct(0.998308573) == "99.831 %"


# --- reading Prometheus ---------------------------------------------------------------------


@pytest.fixture
async def fake_prometheus() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A loopback server answering /api/v1/query as ``state`` says."""
    state: dict[str, Any] = {"status": 200, "queries": [], "body": None}

    async def query(request: web.Request) -> web.Response:
        state["queries"].append(dict(request.query))
        if state["body"] is not None:
            return web.Response(status=state["status"], text=state["body"])
        if state["status"] != 200:
            return web.json_response(
                {"status": "error", "errorType": "bad_data", "error": "parse error"},
                status=state["status"],
            )
        q = request.query["query"]
        if "trunkwatch_asset_info" in q:
            data: dict[str, Any] = {"resultType": "vector", "result": []}
        else:
            data = {"resultType": "matrix", "result": state.get("matrix", [])}
        return web.json_response({"status": "success", "data": data})

    app = web.Application()
    app.router.add_get("/api/v1/query", query)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", state
    finally:
        await runner.cleanup()


DAY = Period("d", m.START, m.START + timedelta(days=1))


async def test_the_period_is_read_in_bounded_chunks_of_range_selectors(
    fake_prometheus: tuple[str, dict[str, Any]],
) -> None:
    url, state = fake_prometheus
    progress: list[tuple[int, int]] = []
    source = PrometheusSamples(url, chunk=timedelta(hours=6))
    await source.fetch(DAY, progress=lambda d, t, _: progress.append((d, t)))
    # From 300 s before the day to one E1 interval (900 s) after it: 86,400 + 1,200 s in four
    # chunks of 6 h and one of 1,200 s, three queries each.
    probes = [q for q in state["queries"] if "trunkwatch_probe_success" in q["query"]]
    assert [q["query"].rsplit("[", 1)[1] for q in probes] == ["21600s]"] * 4 + ["1200s]"]
    assert int(probes[0]["time"]) == int(m.START.timestamp()) - 300 + 21_600
    assert int(probes[-1]["time"]) == int(m.START.timestamp()) + 86_400 + 900
    assert progress[-1] == (15, 15) and len(state["queries"]) == 15


async def test_a_centre_scopes_every_query(fake_prometheus: tuple[str, dict[str, Any]]) -> None:
    url, state = fake_prometheus
    await PrometheusSamples(url, centre="nanning", chunk=timedelta(days=2)).fetch(DAY)
    assert state["queries"] and all('centre="nanning"' in q["query"] for q in state["queries"])


async def test_replicas_are_told_apart_by_their_other_labels(
    fake_prometheus: tuple[str, dict[str, Any]],
) -> None:
    url, state = fake_prometheus
    t0 = m.START.timestamp()
    labels = {"__name__": "trunkwatch_probe_success", "site": "hq", "asset": "gw"}
    state["matrix"] = [
        {"metric": labels | {"probe": "sip", "replica": "a"}, "values": [[t0, "1"]]},
        {"metric": labels | {"probe": "sip", "replica": "b"}, "values": [[t0 + 30, "0"]]},
    ]
    samples = await PrometheusSamples(url, chunk=timedelta(days=2)).fetch(DAY)
    assert [(s.asset, s.probe, s.source) for s in samples.success] == [
        ("gw", "sip", "replica=a"),
        ("gw", "sip", "replica=b"),
    ]


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (400, None, SourceQueryError, "bad_data: parse error"),
        (503, None, SourceUnavailable, "HTTP 503"),
        (200, "<html>a proxy's page</html>", SourceUnavailable, "not a Prometheus answer"),
        (
            200,
            '{"status": "success", "data": {"resultType": "vector"}}',
            SourceQueryError,
            "matrix",
        ),
        (
            200,
            '{"status": "success", "data": {"resultType": "matrix", "result": '
            '[{"metric": {}, "values": [["x", "1"]]}]}}',
            SourceQueryError,
            "malformed sample",
        ),
    ],
)
async def test_a_bad_answer_is_a_source_error_not_a_traceback(
    fake_prometheus: tuple[str, dict[str, Any]],
    status: int,
    body: str | None,
    error: type[Exception],
    message: str,
) -> None:
    url, state = fake_prometheus
    state["status"], state["body"] = status, body
    with pytest.raises(error, match=message):
        await PrometheusSamples(url, chunk=timedelta(days=2)).fetch(DAY)


# --- the command ----------------------------------------------------------------------------


def command(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(["availability", "report", *args])
        except SystemExit as exc:  # argparse's own usage errors
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2026-11"], "--prometheus URL is required"),
        (["--month", "2026-13", "--prometheus", "http://127.0.0.1:9"], "expected a month"),
        (["--quarter", "2026-Q5", "--prometheus", "http://127.0.0.1:9"], "expected a quarter"),
        (["--month", "2999-01", "--prometheus", "http://127.0.0.1:9"], "has not begun"),
        (["--month", "2026-11", "--prometheus", "ftp://example"], "must be http"),
        (["--month", "2026-11", "--quarter", "2026-Q4"], "not allowed with"),
        (["--prometheus", "http://127.0.0.1:9"], "one of the arguments --month --quarter"),
        (["--month", "2026-11", "--format", "pdf"], "invalid choice"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRUNKWATCH_CONFIG", raising=False)
    code, out, err = command(*args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_an_unreachable_prometheus_is_exit_1_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRUNKWATCH_CONFIG", raising=False)
    url = f"http://127.0.0.1:{free_tcp_port()}"
    code, out, err = command("--month", "2026-11", "--prometheus", url, "-q")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "Prometheus unavailable" in err and url in err


def test_a_configuration_with_problems_is_reported_by_line(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("centre: {timezone: Mars/Olympus}\nassets: []\n", encoding="utf-8")
    code, _, err = command("-c", str(config), "--month", "2026-11", "--prometheus", "http://x:9")
    assert code == 2 and f"{config}:1:" in err and "unknown time zone" in err


async def test_the_configuration_names_the_assets_reported_and_leaves_out_the_others(
    fake_prometheus: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    url, state = fake_prometheus
    config = tmp_path / "monitor.yaml"
    config.write_text(
        """
centre: {name: 测试中心, timezone: Asia/Shanghai}
sites:
  - {id: hq, name: 市应急联动中心, backhaul: core-rtr-1}
  - {id: xingning, name: 兴宁区基站, name_en: Xingning, parent: hq, backhaul: bs-xingning}
assets:
  - {id: core-rtr-1, site: hq, system: network, kind: router, address: 127.0.0.1:1}
  - {id: bs-xingning, site: xingning, system: radio, kind: tetra_bs, name: 兴宁基站,
     address: 127.0.0.1:2}
  - {id: bs-new, site: xingning, system: radio, kind: tetra_bs, address: 127.0.0.1:3}
""",
        encoding="utf-8",
    )
    t0 = m.START.timestamp()
    polls = [t0 - 60 + 60 * i for i in range(24 * 60 + 2)]
    down = [[t, "0" if 600 <= t - t0 < 900 else "1"] for t in polls]
    base = {"__name__": "trunkwatch_probe_success", "probe": "snmp"}
    state["matrix"] = [
        {"metric": base | {"site": "hq", "asset": "core-rtr-1"}, "values": down},
        {"metric": base | {"site": "xingning", "asset": "bs-xingning"}, "values": down},
    ]
    out = tmp_path / "day.json"
    # The command runs its own event loop: in a thread, beside the fake server's.
    code, _, err = await asyncio.to_thread(
        command, "-c", str(config), "--month", "2026-11", "--prometheus", url, "--out", str(out)
    )
    assert code == 0, err
    rows = {(r["level"], r["id"]): r for r in json.loads(out.read_text(encoding="utf-8"))}
    # bs-new sent nothing in the period: configured since, it has no history to report.
    assert ("asset", "bs-new") not in rows
    assert rows[("asset", "bs-xingning")]["name"] == "兴宁基站"
    assert rows[("site", "xingning")]["name"] == "兴宁区基站 Xingning"
    # bs-xingning's parent is core-rtr-1 (its site's backhaul is itself; the parent site's is
    # the router): both fail together, so bs-xingning is unreachable behind it.
    (outage,) = rows[("asset", "bs-xingning")]["outages"]
    assert (outage["cause"], outage["root"], outage["duration_seconds"]) == (
        "unreachable",
        "core-rtr-1",
        300,
    )

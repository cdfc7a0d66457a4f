"""The availability report through a real Prometheus: the simulated November of
tests/unit/availability_month.py backfilled with ``promtool tsdb create-blocks-from
openmetrics``, read back raw (``PrometheusSamples``) and by ``trunkwatch availability report``,
gives the figures worked out by hand, to the second."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from monitor.availability import (
    AvailabilityReport,
    PrometheusSamples,
    compute,
    month,
    report_rows,
)
from monitor.cli import main
from tests.integration.promstack import Prometheus, find_binary, start_prometheus
from tests.unit import availability_month as m

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    promtool = find_binary("promtool", package="prometheus")
    workdir = tmp_path_factory.mktemp("availability")
    history = workdir / "november.om"
    history.write_text(m.openmetrics(), encoding="utf-8")
    # One block for the month, not 360 of two hours.
    subprocess.run(
        [
            *(promtool, "tsdb", "create-blocks-from", "openmetrics"),
            *("--max-block-duration=840h", "-q", str(history), str(workdir / "data")),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    history.unlink()
    # Retention counts back from the newest sample; keep the month whatever the date.
    with start_prometheus(
        workdir, {"global": {}}, flags=["--storage.tsdb.retention.time=100y"]
    ) as server:
        yield server


def command(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["availability", "report", *args])
    return code, out.getvalue(), err.getvalue()


def test_raw_samples_from_prometheus_give_the_hand_computed_month(prometheus: Prometheus) -> None:
    november = month("2026-11", "Asia/Shanghai")
    # Six-hour chunks: 122 chunk edges inside the month, each read twice and kept once.
    source = PrometheusSamples(prometheus.url, chunk=timedelta(hours=6))
    samples = asyncio.run(source.fetch(november))
    assert {a.id: a.parent for a in samples.assets} == {a.id: a.parent for a in m.ASSETS}
    report = compute(
        november,
        samples.success,
        assets=samples.assets,
        maintenance=m.MAINTENANCE,
        unreachable=samples.unreachable,
        e1=samples.e1,
    )
    for (level, ident), (up, down, maintenance, unknown, outages) in m.expected_rows().items():
        r = next(r for r in report.rows if (r.level, r.id) == (level, ident))
        assert (r.up_ms, r.down_ms, r.maintenance_ms, r.unknown_ms) == (
            up * 1000,
            down * 1000,
            maintenance * 1000,
            unknown * 1000,
        ), (level, ident)
        assert [o.duration for o in r.outages] == [d * 1000 for d in outages], (level, ident)
        assert r.mttr_seconds == down / len(outages)
        assert r.mtbf_seconds == up / len(outages)
    # The same outages, to the millisecond, with the same roots, as from the samples direct.
    direct = compute(
        november,
        m.success_series(),
        assets=m.ASSETS,
        maintenance=m.MAINTENANCE,
        unreachable=m.unreachable_series(),
    )
    assert [(r.id, o) for r, o in report.outages] == [(r.id, o) for r, o in direct.outages]
    (line,) = samples.e1
    assert {
        "errored": line.errored_seconds,
        "severely_errored": line.severely_errored_seconds,
        "unavailable": line.unavailable_seconds,
    } == m.E1_TOTALS


def direct_without_maintenance() -> AvailabilityReport:
    return compute(
        month("2026-11", "Asia/Shanghai"),
        m.success_series(),
        assets=m.ASSETS,
        unreachable=m.unreachable_series(),
    )


def test_the_report_command_writes_the_month_as_json_csv_and_html(
    prometheus: Prometheus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No configuration here: the topology and names come from trunkwatch_asset_info.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRUNKWATCH_CONFIG", raising=False)
    code, out, err = command(
        "--month", "2026-11", "--prometheus", prometheus.url, "--out", "november.json", "-q"
    )
    assert code == 0, err
    rows = json.loads((tmp_path / "november.json").read_text(encoding="utf-8"))
    # The command has no maintenance windows (nothing records them yet); otherwise every row,
    # outage and root is what the calculator makes of the samples themselves.
    expected = report_rows(direct_without_maintenance())
    (line,) = next(r for r in rows if r["id"] == "e1-gw-110")["e1_lines"]
    assert (line["circuit"], line["errored_seconds"], line["unavailable_seconds"]) == (
        "e1-gw-110/E1-1",
        m.E1_TOTALS["errored"],
        m.E1_TOTALS["unavailable"],
    )
    next(r for r in expected if r["id"] == "e1-gw-110")["e1_lines"] = [line]
    assert rows == expected
    xingning = next(r for r in rows if r["id"] == "bs-xingning")
    # 2,835 + 615 + the whole planned work, 09:30:07 … 11:15:22 = 6,315 s.
    assert xingning["down_seconds"] == 9_765 and xingning["maintenance_seconds"] == 0
    assert xingning["outages"][0] == {
        "start": "2026-11-03T10:01:07+08:00",
        "end": "2026-11-03T10:48:22+08:00",
        "duration_seconds": 2_835,
        "cause": "down",
        "root": "bs-xingning",
        "assets": ["bs-xingning"],
    }
    assert "line" in out and "no data 21325 s" in out

    code, _, err = command("--month", "2026-11", "--prometheus", prometheus.url, "--out", "n.csv")
    assert code == 0, err
    csv_text = (tmp_path / "n.csv").read_text(encoding="utf-8-sig")
    assert "asset,bs-xingning,兴宁基站,xingning,radio,2026-11," in csv_text
    assert ",2582235,9765,0,0,3,3255,860745" in csv_text

    code, _, err = command("--month", "2026-11", "--prometheus", prometheus.url, "--out", "n.html")
    assert code == 0, err
    page = (tmp_path / "n.html").read_text(encoding="utf-8")
    assert "2026-11-03 10:01:07" in page and "不可达 unreachable" in page and "上林基站" in page


def test_a_quarter_so_far_counts_the_months_without_samples_as_no_data(
    prometheus: Prometheus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRUNKWATCH_CONFIG", raising=False)
    code, out, err = command(
        "--quarter", "2026-Q4", "--prometheus", prometheus.url, "--format", "json", "-q"
    )
    assert code == 0, err
    rows = json.loads(out)
    core = next(r for r in rows if r["id"] == "core-rtr-1")
    # Polls (at :00) run from 20 min before the month to 20 min after it, the last at
    # 00:19:00 on 1 December, holding 300 s: November's up time + 1,200 + 1,440 s.
    assert core["up_seconds"] == m.PERIOD_S - 600 + 1_200 + 1_440
    assert core["down_seconds"] == 600 and len(core["outages"]) == 1
    period_s = (
        datetime.fromisoformat(core["end"]).timestamp()
        - datetime.fromisoformat(core["start"]).timestamp()
    )
    assert core["start"] == "2026-10-01T00:00:00+08:00"
    assert core["unknown_seconds"] == pytest.approx(period_s - core["up_seconds"] - 600, abs=1e-3)
    assert core["availability"] == core["up_seconds"] / (core["up_seconds"] + 600)

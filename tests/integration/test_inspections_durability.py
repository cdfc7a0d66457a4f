"""A signed record survives kill -9 of the daemon right after the request was answered, and
the restarted daemon serves it, exports it and accepts more (also from the CLI via the API).
The daemon runs as a real process on a free loopback port."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import free_tcp_port, http_get, parse_metrics, select, wait_until
from tests.unit.inspections_fleet import TOKENS, write_config

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]


@contextmanager
def daemon(config: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "run", "-c", str(config), "--listen",
             f"127.0.0.1:{port}"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    try:
        wait_until(
            lambda: (
                http_get(f"http://127.0.0.1:{port}/-/ready", timeout=1)[0] == 200
                or process.poll() is not None
            ),
            20,
            "the daemon to be ready",
        )
        assert process.poll() is None, log.read_text()
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def post(url: str, body: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_signed_record_survives_kill_9_right_after_the_answer(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    port = free_tcp_port()
    log = tmp_path / "daemon.log"
    base = f"http://127.0.0.1:{port}"
    with daemon(config, port, log) as process:
        status, text = http_get(f"{base}/metrics")
        assert status == 200
        series = parse_metrics(text)
        assert select(series, "trunkwatch_inspection_overdue", plan="yearly-earthing", site="hq")
        assert select(series, "trunkwatch_inspection_store_up") == {(): 1.0}
        status, record = post(
            f"{base}/api/v1/inspections/records",
            {"plan": "yearly-earthing", "target": "site:hq",
             "items": {"earthing": {"value": "3.3", "note": "雨后三天测量"}}},
            TOKENS["wangqiang"],
        )  # fmt: skip
        # The answer is in: kill at once, with no chance to flush or shut down.
        os.kill(process.pid, signal.SIGKILL)
        assert status == 201, record
        process.wait(10)
        assert process.returncode == -signal.SIGKILL

    raw = sqlite3.connect(f"file:{tmp_path / 'data' / 'inspections.sqlite3'}?mode=ro", uri=True)
    row = raw.execute(
        "SELECT signed_by, signed_at FROM rounds WHERE id = ?", (record["id"],)
    ).fetchone()
    item = raw.execute(
        "SELECT value, note FROM round_items WHERE round_id = ?", (record["id"],)
    ).fetchone()
    raw.close()
    assert row == ("wangqiang", record["signed_at"])
    assert item == ("3.3", "雨后三天测量")

    with daemon(config, port, log):
        status, text = http_get(
            f"{base}/api/v1/inspections/rounds/{record['id']}",
            headers={"Authorization": f"Bearer {TOKENS['zhaomin']}"},
        )
        assert status == 200
        assert json.loads(text)["signed_by"] == "wangqiang"
        series = parse_metrics(http_get(f"{base}/metrics")[1])
        labels = {"plan": "yearly-earthing", "site": "hq", "owner": "wangqiang"}
        assert list(select(series, "trunkwatch_inspection_last_completed_timestamp_seconds",
                           **labels).values()) == [record["signed_at"]]  # fmt: skip
        assert list(select(series, "trunkwatch_inspection_overdue", **labels).values()) == [0.0]

        # The CLI records through the running daemon's API as the token's person.
        done = subprocess.run(
            [sys.executable, "-m", "monitor.cli", "inspections", "record", "-c", str(config),
             "monthly-power", "site:xingning", "--set", "battery-voltage=54.1",
             "--set", "condition=yes", "--api", base],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT), "TRUNKWATCH_TOKEN": TOKENS["lina"]},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "signed_by=lina" in done.stdout
        # The store is shared with the CLI's own process: its audit check reads it live.
        audit = subprocess.run(
            [sys.executable, "-m", "monitor.cli", "inspections", "audit", "-c", str(config)],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert audit.returncode == 0, audit.stderr
        assert "audit log intact: 5 lines" in audit.stdout

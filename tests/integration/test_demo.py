"""The README's first command: ``trunkwatch demo`` brings up the simulated city and the monitor.

Runs the real command as a process with the shipped monitor.yaml, and checks that within one
poll interval every simulated site, line and switch is on /metrics with values that move.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.config import load_config
from tests.helpers import REPO, free_tcp_port, http_get, scrape, select, wait_until

pytestmark = pytest.mark.integration


def test_demo_serves_the_whole_fleet_with_moving_values(tmp_path: Path) -> None:
    config = load_config(REPO / "monitor.yaml")
    longest = max(
        (p.interval or config.model.defaults.interval) for a in config.assets for p in a.probes
    )
    port, control = free_tcp_port(), free_tcp_port()
    out = (tmp_path / "demo.out").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor.cli",
            "demo",
            "--listen",
            f"127.0.0.1:{port}",
            "--control",
            f"127.0.0.1:{control}",
            "--status-every",
            "3",
        ],
        cwd=REPO,
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_get(url + "/-/ready", 1)[0] == 200, 30, "demo ready")
        started = time.monotonic()
        jobs = sum(len(a.probes) for a in config.assets)
        first = wait_until(
            lambda: (
                (m := scrape(url + "/metrics"))
                and len(select(m, "trunkwatch_probe_success")) == jobs
                and m
            ),
            longest + 10,
            "a result for every probe within one poll interval",
        )
        assert time.monotonic() - started <= longest + 10
        success = select(first, "trunkwatch_probe_success")
        failed = [dict(k)["asset"] for k, v in success.items() if v != 1]
        assert failed == []
        sites = {dict(k)["site"] for k in select(first, "trunkwatch_bs_traffic_channels")}
        assert len(sites) == len([s for s in config.sites if s.id != "hq"])
        assert select(first, "trunkwatch_ds1_line_status", status="no_alarm")
        # Values move: call counters and interface octets increase between two polls.
        calls = sum(select(first, "trunkwatch_bs_calls_total").values())
        octets = sum(select(first, "trunkwatch_if_receive_bytes_total", asset="core-sw-1").values())
        wait_until(
            lambda: (
                (m := scrape(url + "/metrics"))
                and sum(select(m, "trunkwatch_bs_calls_total").values()) > calls
                and sum(select(m, "trunkwatch_if_receive_bytes_total", asset="core-sw-1").values())
                > octets
            ),
            longest + 5,
            "counters increase",
        )
        status, board = http_get(url + "/")
        assert status == 200
        assert "云岩区基站" in board

        # A drill against the running demo: inject, detect, clear, recover, and keep a report.
        report = tmp_path / "drill.md"
        drill = subprocess.run(
            [sys.executable, "-m", "monitor.cli", "drill", "mains_failure", "--site", "bs-yunyan",
             "--monitor", url, "--control-url", f"http://127.0.0.1:{control}",
             "--timeout", str(2 * longest), "--report", str(report)],
            cwd=REPO, capture_output=True, text=True, timeout=6 * longest,
        )  # fmt: skip
        assert drill.returncode == 0, drill.stdout + drill.stderr
        text = report.read_text(encoding="utf-8")
        detected = re.search(r"detected after: ([0-9.]+) s", text)
        recovered = re.search(r"recovered after clearing: ([0-9.]+) s", text)
        assert detected and recovered, text
        # Seen within one poll of the base station (15 s) plus a scrape, not by luck later.
        assert float(detected.group(1)) <= 15 + 5
        faults = http_get(f"http://127.0.0.1:{control}/api/v1/faults")[1]
        assert '"faults": []' in faults  # the drill cleared what it injected
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(15)
        out.close()
    text = (tmp_path / "demo.out").read_text()
    assert code == 0, text
    assert f"{url}/metrics" in text
    assert " up " in text  # a live status line

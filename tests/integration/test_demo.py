"""The README's first command: ``trunkwatch demo`` brings up the simulated city and the monitor.

Runs the real command as a process with the shipped monitor.yaml, and checks that within one
poll interval every simulated site, line and switch is on /metrics with values that move; that
a second demo started beside it with the same file comes up on free ports, says where, and
polls (and receives the traps of) its own simulation; and that every token a demo prints signs
in. No test here needs a fixed port to be free: whatever is taken moves.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.config import Config, load_config
from monitor.core.addresses import split_address
from monitor.traps import TRAPS
from tests.helpers import REPO, Series, free_tcp_port, http_get, scrape, select, wait_until

pytestmark = pytest.mark.integration

CONFIG = load_config(REPO / "monitor.yaml")
LONGEST = max(
    (p.interval or CONFIG.model.defaults.interval) for a in CONFIG.assets for p in a.probes
)
JOBS = sum(len(a.probes) for a in CONFIG.assets)


@dataclass
class Demo:
    process: subprocess.Popen[str]
    out: Path

    def text(self) -> str:
        return self.out.read_text(encoding="utf-8")

    def banner(self) -> str:
        """Everything up to the token line, once the demo has printed it."""

        def printed() -> str | None:
            text = self.text()
            return text if "demo sign-in tokens" in text else None

        text = wait_until(printed, 60, "the demo's banner")
        return text[: text.index("demo sign-in tokens")]

    def url(self, what: str) -> str:
        found = re.search(rf"^  {what}\s+(http://\S+?)/", self.banner(), re.MULTILINE)
        assert found, self.banner()
        return found.group(1)

    def tokens(self) -> dict[str, str]:
        self.banner()
        line = next(li for li in self.text().splitlines() if "demo sign-in tokens" in li)
        return dict(pair.split("=", 1) for pair in line.split(": ", 1)[1].split(", "))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(20)


def start_demo(out: Path, *options: str) -> Demo:
    log = out.open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "demo", *options],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        # Nobody's own token: every person gets the demo's, and the demo prints them all.
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("TRUNKWATCH_TOKEN")},
            "PYTHONUNBUFFERED": "1",
        },
    )
    log.close()  # the child has its own descriptor
    return Demo(process, out)


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    port, control = free_tcp_port(), free_tcp_port()
    demo = start_demo(
        tmp_path_factory.mktemp("demo") / "first.out",
        "--listen", f"127.0.0.1:{port}", "--control", f"127.0.0.1:{control}",
        "--status-every", "3",
    )  # fmt: skip
    try:
        wait_until(
            lambda: http_get(f"http://127.0.0.1:{port}/-/ready", 1)[0] == 200, 60, "demo ready"
        )
        yield demo
    finally:
        code = demo.stop()
    text = demo.text()
    assert code == 0, text
    assert f"http://127.0.0.1:{port}/metrics" in text
    assert " up " in text  # a live status line


def all_probes_succeed(url: str) -> Series:
    def succeeding() -> Series | None:
        metrics = scrape(url + "/metrics")
        success = select(metrics, "trunkwatch_probe_success")
        return metrics if len(success) == JOBS and all(v == 1 for v in success.values()) else None

    return wait_until(succeeding, LONGEST + 15, f"every probe of {url} succeeding")


def test_demo_serves_the_whole_fleet_with_moving_values(first: Demo, tmp_path: Path) -> None:
    url, control = first.url("metrics"), first.url("simulator")
    started = time.monotonic()

    def every_probe_reported() -> Series | None:
        metrics = scrape(url + "/metrics")
        return metrics if len(select(metrics, "trunkwatch_probe_success")) == JOBS else None

    first_scrape = wait_until(
        every_probe_reported, LONGEST + 10, "a result for every probe within one poll interval"
    )
    assert time.monotonic() - started <= LONGEST + 10
    success = select(first_scrape, "trunkwatch_probe_success")
    failed = [dict(k)["asset"] for k, v in success.items() if v != 1]
    assert failed == []
    sites = {dict(k)["site"] for k in select(first_scrape, "trunkwatch_bs_traffic_channels")}
    assert len(sites) == len([s for s in CONFIG.sites if s.id != "hq"])
    assert select(first_scrape, "trunkwatch_ds1_line_status", status="no_alarm")
    # Values move: call counters and interface octets increase between two polls.
    calls = sum(select(first_scrape, "trunkwatch_bs_calls_total").values())
    octets = sum(
        select(first_scrape, "trunkwatch_if_receive_bytes_total", asset="core-sw-1").values()
    )
    wait_until(
        lambda: (
            (m := scrape(url + "/metrics"))
            and sum(select(m, "trunkwatch_bs_calls_total").values()) > calls
            and sum(select(m, "trunkwatch_if_receive_bytes_total", asset="core-sw-1").values())
            > octets
        ),
        LONGEST + 5,
        "counters increase",
    )
    status, board = http_get(url + "/")
    assert status == 200
    assert "兴宁区基站" in board

    # A drill against the running demo: inject, detect, clear, recover, and keep a report.
    report = tmp_path / "drill.md"
    drill = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "drill", "mains_failure", "--site", "bs-xingning",
         "--monitor", url, "--control-url", control,
         "--timeout", str(2 * LONGEST), "--report", str(report)],
        cwd=REPO, capture_output=True, text=True, timeout=6 * LONGEST,
    )  # fmt: skip
    assert drill.returncode == 0, drill.stdout + drill.stderr
    text = report.read_text(encoding="utf-8")
    detected = re.search(r"detected after: ([0-9.]+) s", text)
    recovered = re.search(r"recovered after clearing: ([0-9.]+) s", text)
    assert detected and recovered, text
    # Seen within one poll of the base station (15 s) plus a scrape, not by luck later.
    assert float(detected.group(1)) <= 15 + 5
    faults = http_get(f"{control}/api/v1/faults")[1]
    assert '"faults": []' in faults  # the drill cleared what it injected


def _configured_addresses(config: Config) -> set[str]:
    """Every address monitor.yaml points a probe at."""
    out = set()
    for asset in config.assets:
        host, port = split_address(asset.address)
        out.add(f"{host}:{port}")
        out |= {f"{host}:{p.params['port']}" for p in asset.probes if "port" in p.params}
    return out


def _served(control: str) -> set[str]:
    with urllib.request.urlopen(f"{control}/api/v1/devices", timeout=10) as response:
        devices = json.load(response)["devices"]
    return {address for d in devices for address in d["services"].values()}


def _traps_from(url: str, site: str) -> float:
    return sum(
        select(scrape(url + "/metrics"), "trunkwatch_snmp_traps_received_total", site=site).values()
    )


def _post(url: str, body: dict[str, object]) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def test_a_second_demo_beside_the_first_takes_free_ports_and_says_where(
    first: Demo, tmp_path: Path
) -> None:
    first_url, first_control = first.url("metrics"), first.url("simulator")
    # The same monitor.yaml, and the very HTTP and control addresses the first one holds.
    second = start_demo(
        tmp_path / "second.out",
        "--listen", first_url.removeprefix("http://"),
        "--control", first_control.removeprefix("http://"),
        "--status-every", "0",
    )  # fmt: skip
    try:
        banner = second.banner()
        url, control = second.url("metrics"), second.url("simulator")
        assert url != first_url and control != first_control
        assert (
            f"monitor HTTP tcp {first_url.removeprefix('http://')} → {url.removeprefix('http://')}"
            in banner
        )
        assert f"simulator control tcp {first_control.removeprefix('http://')} → " in banner
        traps = re.search(r"^  trap receiver udp (\S+)$", banner, re.MULTILINE)
        first_traps = re.search(r"^  trap receiver udp (\S+)$", first.banner(), re.MULTILINE)
        assert traps and first_traps and traps.group(1) != first_traps.group(1)
        traps_section = TRAPS.of(CONFIG)
        assert traps_section is not None
        if traps.group(1) != traps_section.listen:
            assert f"trap receiver udp {traps_section.listen} → {traps.group(1)}" in banner
        # No device service is shared, and every one not where monitor.yaml says is named.
        mine, theirs = _served(control), _served(first_control)
        assert len(mine) == len(theirs) == 28
        assert mine.isdisjoint(theirs)
        configured = _configured_addresses(CONFIG)
        moved = [a for a in mine if a not in configured]
        assert f"{len(moved)} device ports:" in banner
        for address in moved:
            assert re.search(rf"→ {address.rsplit(':', 1)[1]}\b", banner), address

        # Both poll their own simulation, every probe succeeding.
        all_probes_succeed(url)
        all_probes_succeed(first_url)

        # A fault in the second city is trapped by the second monitor, not the first.
        before_first, before = _traps_from(first_url, "xingning"), _traps_from(url, "xingning")
        fault: dict[str, object] = {"fault": "mains_failure", "target": "bs-xingning"}
        assert _post(f"{control}/api/v1/faults", fault) == 201
        try:
            wait_until(lambda: _traps_from(url, "xingning") > before, 10, "the trap")
        finally:
            _post(f"{control}/api/v1/faults/clear", fault)
        assert _traps_from(first_url, "xingning") == before_first

        # Every token either demo printed signs its person in.
        for demo, base in ((second, url), (first, first_url)):
            tokens = demo.tokens()
            assert len(tokens) == 6
            for token in tokens.values():
                status, _ = http_get(
                    f"{base}/api/v1/inspections/plans",
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert status == 200, token
        status, _ = http_get(
            f"{url}/api/v1/inspections/plans",
            headers={"Authorization": "Bearer not-anyone-s-token-at-all"},
        )
        assert status == 401
    finally:
        code = second.stop()
    assert code == 0, second.text()
    assert "Traceback" not in second.text()

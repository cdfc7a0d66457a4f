"""The daemon end to end: hundreds of assets polled over loopback, scraped over HTTP.

Open ports answer, closed ports refuse, and a listener whose accept queue is full never
completes a handshake (a host that does not answer). The daemon runs as a real process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import free_tcp_port, http_get, http_post, scrape, select, wait_until

pytestmark = pytest.mark.integration

N_OPEN, N_CLOSED, N_SILENT = 200, 60, 40


@dataclass
class Listeners:
    open_ports: list[int]
    closed_ports: list[int]
    silent_port: int


class AcceptingServer:
    """An asyncio server in a thread that accepts and closes, on several ports."""

    def __init__(self, count: int) -> None:
        self.ports: list[int] = []
        self._servers: list[asyncio.Server] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._count = count
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        async def start() -> None:
            for _ in range(self._count):
                server = await asyncio.start_server(handle, "127.0.0.1", 0)
                self._servers.append(server)
                self.ports.append(server.sockets[0].getsockname()[1])
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def __enter__(self) -> AcceptingServer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    async def _close(self) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@pytest.fixture
def listeners() -> Iterator[Listeners]:
    # A listener that never accepts, with its one-slot queue filled: further SYNs are dropped.
    silent = socket.socket()
    silent.bind(("127.0.0.2", 0))
    silent.listen(0)
    filler = socket.create_connection(silent.getsockname())
    # Bound but not listening: connections are refused, and no other socket can take the port
    # while the test runs (a port merely found free could be reused by the servers below).
    reserved = []
    for _ in range(N_CLOSED):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        reserved.append(sock)
    closed = [sock.getsockname()[1] for sock in reserved]
    with AcceptingServer(20) as server:
        yield Listeners(server.ports, closed, silent.getsockname()[1])
    for sock in reserved:
        sock.close()
    filler.close()
    silent.close()


def write_config(path: Path, listeners: Listeners, *, open_count: int = N_OPEN) -> None:
    lines = [
        "defaults:",
        "  interval: 1s",
        "  timeout: 800ms",
        "limits:",
        "  concurrency: 64",
        "  per_device: 2",
        "sites:",
        "  - id: hq",
        "    name: 市应急联动中心",
        "assets:",
    ]

    def asset(asset_id: str, address: str, system: str = "network") -> None:
        lines.extend(
            [
                f"  - id: {asset_id}",
                "    site: hq",
                f"    system: {system}",
                "    kind: server",
                f"    address: {address}",
                "    probes: [{module: tcp}]",
            ]
        )

    for i in range(open_count):
        port = listeners.open_ports[i % len(listeners.open_ports)]
        asset(f"open-{i}", f"127.0.0.1:{port}")
    for i, port in enumerate(listeners.closed_ports):
        asset(f"closed-{i}", f"127.0.0.1:{port}", "line")
    for i in range(N_SILENT):
        # All on one host: per_device 2 with 800 ms timeouts cannot keep up with 1 s intervals.
        asset(f"silent-{i}", f"127.0.0.2:{listeners.silent_port}", "radio")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass
class RunningDaemon:
    process: subprocess.Popen[str]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8")


@pytest.fixture
def daemon(tmp_path: Path, listeners: Listeners) -> Iterator[tuple[RunningDaemon, Path]]:
    config = tmp_path / "monitor.yaml"
    write_config(config, listeners)
    port = free_tcp_port()
    log_path = tmp_path / "daemon.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor.cli",
                "run",
                "-c",
                str(config),
                "--listen",
                f"127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    running = RunningDaemon(process, f"http://127.0.0.1:{port}", log_path)
    try:
        wait_until(lambda: http_get(running.url + "/-/ready", 1)[0] == 200, 20, "daemon ready")
        yield running, config
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_daemon_polls_hundreds_of_assets_and_reports_each(
    daemon: tuple[RunningDaemon, Path],
) -> None:
    running, _ = daemon
    total = N_OPEN + N_CLOSED + N_SILENT
    metrics = wait_until(
        lambda: (
            (m := scrape(running.url + "/metrics"))
            and len(select(m, "trunkwatch_probe_success")) == total
            and m
        ),
        30,
        "a result for every asset",
    )
    success = select(metrics, "trunkwatch_probe_success")
    by_asset = {dict(k)["asset"]: v for k, v in success.items()}
    assert all(by_asset[f"open-{i}"] == 1 for i in range(N_OPEN))
    assert all(by_asset[f"closed-{i}"] == 0 for i in range(N_CLOSED))
    assert all(by_asset[f"silent-{i}"] == 0 for i in range(N_SILENT))
    reasons = {
        dict(k)["asset"]: dict(k)["reason"]
        for k in select(metrics, "trunkwatch_probe_failure_info")
    }
    assert {reasons[f"closed-{i}"] for i in range(N_CLOSED)} == {"refused"}
    assert {reasons[f"silent-{i}"] for i in range(N_SILENT)} == {"timeout"}
    assert not any(a.startswith("open-") for a in reasons)
    # Every series carries the asset's labels.
    for key in success:
        assert {"site", "asset", "system", "kind", "probe"} <= dict(key).keys()
    assert dict(next(k for k in success if dict(k)["asset"] == "silent-3"))["system"] == "radio"

    # Let the silent host fall behind: 40 jobs × 0.8 s / 2 slots = 16 s of work per 1 s interval.
    time.sleep(3)
    metrics = scrape(running.url + "/metrics")
    skipped = metrics[("trunkwatch_scheduler_skipped_runs_total", (("module", "tcp"),))]
    assert skipped > 0
    # Not stacked: at most one run per job is ever in flight (waiting or running).
    assert metrics[("trunkwatch_scheduler_in_flight", ())] <= 64
    runs = sum(select(metrics, "trunkwatch_scheduler_runs_total").values())
    assert runs >= total
    assert metrics[("trunkwatch_scheduler_lag_seconds_count", ())] >= runs
    assert metrics[("trunkwatch_build_info", (("version", "0.1.0"),))] == 1
    # One log line per state change, not per poll.
    log = running.log()
    assert log.count("probe down asset=closed-7 ") == 1


def test_reload_with_a_broken_file_keeps_the_running_config(
    daemon: tuple[RunningDaemon, Path], listeners: Listeners
) -> None:
    running, config = daemon
    wait_until(
        lambda: len(select(scrape(running.url + "/metrics"), "trunkwatch_probe_success")) > 250,
        30,
        "first results",
    )
    good = config.read_text()
    config.write_text(good.replace("kind: server", "kind: Server!", 1) + "  - bogus\n")
    os.kill(running.process.pid, signal.SIGHUP)
    wait_until(
        lambda: (
            scrape(running.url + "/metrics")[("trunkwatch_config_last_reload_successful", ())] == 0
        ),
        10,
        "reload rejected",
    )
    assert f"{config}:14: assets[0].kind: String should match pattern" in running.log()
    assert f"{config}:1811: assets[300]: Input should be a valid dictionary" in running.log()
    metrics = scrape(running.url + "/metrics")
    assert len(select(metrics, "trunkwatch_asset_info")) == N_OPEN + N_CLOSED + N_SILENT

    # A good file with fewer assets is installed, and removed assets' series disappear.
    write_config(config, listeners, open_count=10)
    status, body = http_post(running.url + "/-/reload")
    assert status == 200, body
    metrics = scrape(running.url + "/metrics")
    assets = {dict(k)["asset"] for k in select(metrics, "trunkwatch_probe_success")}
    assert "open-150" not in assets
    assert len(select(metrics, "trunkwatch_asset_info")) == 10 + N_CLOSED + N_SILENT
    assert metrics[("trunkwatch_config_last_reload_successful", ())] == 1

    # A broken file through the API is refused with its problems.
    config.write_text("defaults: {interval: never}\n")
    status, body = http_post(running.url + "/-/reload")
    assert status == 400
    assert f"{config}:1: defaults.interval: expected a duration" in body


def test_sigterm_stops_within_five_seconds(daemon: tuple[RunningDaemon, Path]) -> None:
    running, _ = daemon
    started = time.monotonic()
    running.process.send_signal(signal.SIGTERM)
    code = running.process.wait(10)
    elapsed = time.monotonic() - started
    assert code == 0
    assert elapsed < 5, elapsed
    assert "stopped" in running.log()


def test_check_config_exits_1_with_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        textwrap.dedent(
            """\
            sites:
              - id: hq
                name: HQ
            assets:
              - id: a
                site: hq
                system: radio
                kind: tetra_bs
                address: 127.0.0.1:99999
              - id: b
                site: nowhere
                system: radio
                kind: tetra_bs
                address: 127.0.0.1
                probes: [{module: tcp, interval: 1s, timeout: 2s}]
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "check-config", "-c", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert f"{bad}:9: assets[0].address: bad port in address '127.0.0.1:99999'" in lines
    assert f"{bad}:11: assets[1].site: no site 'nowhere'" in lines
    assert f"{bad}:15: assets[1].probes[0].interval: interval 1s is below the timeout 2s" in lines

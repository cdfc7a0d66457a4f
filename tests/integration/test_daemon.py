"""The daemon end to end: hundreds of assets polled over loopback, scraped over HTTP.

Open ports answer, closed ports refuse, and a listener whose accept queue is full never
completes a handshake (a host that does not answer). The daemon runs as a real process.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


def write_config(
    path: Path, listeners: Listeners, *, open_count: int = N_OPEN, allow_shrink: bool = False
) -> None:
    lines = [
        *(["allow_shrink: true"] if allow_shrink else []),
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


@contextmanager
def run_daemon(config: Path, log_path: Path) -> Iterator[RunningDaemon]:
    """`trunkwatch run` on ``config`` as a real process, ready, killed afterwards."""
    port = free_tcp_port()
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
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.fixture
def daemon(tmp_path: Path, listeners: Listeners) -> Iterator[tuple[RunningDaemon, Path]]:
    config = tmp_path / "monitor.yaml"
    write_config(config, listeners)
    with run_daemon(config, tmp_path / "daemon.log") as running:
        yield running, config


def test_daemon_polls_hundreds_of_assets_and_reports_each(
    daemon: tuple[RunningDaemon, Path],
) -> None:
    running, _ = daemon
    total = N_OPEN + N_CLOSED + N_SILENT
    wait_until(
        lambda: len(select(scrape(running.url + "/metrics"), "trunkwatch_probe_success")) == total,
        30,
        "a result for every asset",
    )
    # Results are kept per asset, so every later scrape has them all too.
    metrics = scrape(running.url + "/metrics")
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

    # A good file with far fewer assets is installed when it says so, and removed assets'
    # series disappear.
    write_config(config, listeners, open_count=10, allow_shrink=True)
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


# -- hostile files: check-config, run and reload answer file:line: field: reason --------------

SECRET = "s3cret-Zk8v"
PROBLEM_LINE = re.compile(r"^.+:[1-9]\d*: \S+: \S.*$")
ALIAS_BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{','.join(['*' + prev] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "assets: []",
    ]
)


def small_fleet(count: int, port: int, *, allow_shrink: bool = False, secret: str = "") -> str:
    """``count`` assets polled over TCP on ``port``; credentials from ``secret`` if given."""
    lines = ["allow_shrink: true"] if allow_shrink else []
    lines += ["defaults: {interval: 1s, timeout: 500ms}"]
    if secret:
        lines += ["credentials:", "  lab:", f"    community: {secret}"]
    lines += ["sites: [{id: hq, name: HQ}]", "assets:"]
    lines += [
        f"  - {{id: a{i}, site: hq, system: network, kind: server, "
        f"address: 127.0.0.1:{port}, probes: [{{module: tcp}}]}}"
        for i in range(count)
    ]
    return "\n".join(lines) + "\n"


# Each case: (file content, the problem expected after "FILE:") given the test folder and a
# port. Secret files sit beside the configuration.
Hostile = Callable[[Path, int], tuple[bytes, str]]


def _secret_file(make: Callable[[Path], Path]) -> Hostile:
    def case(folder: Path, port: int) -> tuple[bytes, str]:
        secret = make(folder)
        text = small_fleet(3, port, secret=f"file:{secret}")
        reason = (
            f"secret file {secret} is not UTF-8 text"
            if secret.name == "gbk.txt"
            else f"cannot read secret file {secret}: not a regular file"
        )
        return text.encode(), f"4: credentials.lab.community: {reason}"

    return case


def _fifo(folder: Path) -> Path:
    path = folder / "fifo"
    if not path.exists():
        os.mkfifo(path)  # no writer: a blocking open would hang the loader
    return path


def _gbk(folder: Path) -> Path:
    path = folder / "gbk.txt"
    path.write_bytes(SECRET.encode() + "口令".encode("gbk"))
    return path


HOSTILE: dict[str, Hostile] = {
    "empty": lambda folder, port: (
        b"",
        "1: assets: missing, the file is empty: list the assets to monitor "
        "(write assets: [] for none)",
    ),
    "no-assets": lambda folder, port: (
        b"sites: [{id: hq, name: HQ}]\n",
        "1: assets: missing: list the assets to monitor (write assets: [] for none)",
    ),
    "alias-bomb": lambda folder, port: (
        ALIAS_BOMB.encode(),
        "7: g[2]: the document expands through aliases to more than 2,000,000 values",
    ),
    "nul-byte": lambda folder, port: (
        small_fleet(3, port).replace("name: HQ", "name: H\0Q").encode(),
        "2: (file): character U+0000 is not allowed in YAML",
    ),
    "1000-deep": lambda folder, port: (
        ("assets:\n" + "".join("  " * i + "-\n" for i in range(1, 1001))).encode(),
        "65: assets" + "[0]" * 63 + ": nested deeper than 64 levels",
    ),
    "5000-digits": lambda folder, port: (
        (small_fleet(3, port) + "limits: {concurrency: " + "7" * 5000 + "}\n").encode(),
        "7: limits.concurrency: integer out of range (more than 64 bits)",
    ),
    "not-utf8": lambda folder, port: (
        small_fleet(3, port).replace("HQ", "总部").encode("gbk"),
        "2: (file): not UTF-8 text",
    ),
    "fifo-secret": _secret_file(_fifo),
    "dev-zero-secret": _secret_file(lambda folder: Path("/dev/zero")),
    "gbk-secret": _secret_file(_gbk),
}


def assert_problem_lines(output: str, config: Path, expected: str) -> None:
    """Every line a problem in the file:line: field: reason shape, the expected one among
    them, no traceback and no byte of the secret."""
    assert "Traceback" not in output, output
    assert SECRET not in output, output
    lines = [line for line in output.splitlines() if not line.endswith(f"problem(s) in {config}")]
    assert lines, output
    assert all(PROBLEM_LINE.match(line) for line in lines), output
    assert f"{config}:{expected}" in lines, output


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_check_config_and_run_refuse_a_hostile_file(tmp_path: Path, case: str) -> None:
    reserved = socket.socket()
    reserved.bind(("127.0.0.1", 0))
    content, expected = HOSTILE[case](tmp_path, reserved.getsockname()[1])
    config = tmp_path / "monitor.yaml"
    config.write_bytes(content)
    try:
        for command in (["check-config"], ["run", "--listen", f"127.0.0.1:{free_tcp_port()}"]):
            done = subprocess.run(
                [sys.executable, "-m", "monitor.cli", command[0], "-c", str(config), *command[1:]],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 1, (command, done.stderr)
            assert done.stdout == ""
            assert_problem_lines(done.stderr, config, expected)
    finally:
        reserved.close()


@pytest.mark.timeout(20)
def test_a_config_path_that_is_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    os.mkfifo(config)
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "check-config", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == f"{config}:1: (file): cannot read: not a regular file"


@pytest.fixture
def small_daemon(tmp_path: Path) -> Iterator[tuple[RunningDaemon, Path, int]]:
    """A daemon polling 10 assets on a port that refuses connections."""
    reserved = socket.socket()
    reserved.bind(("127.0.0.1", 0))
    port = reserved.getsockname()[1]
    config = tmp_path / "monitor.yaml"
    config.write_text(small_fleet(10, port))
    try:
        with run_daemon(config, tmp_path / "daemon.log") as running:
            yield running, config, port
    finally:
        reserved.close()


def reload_state(running: RunningDaemon) -> tuple[float, int]:
    """(trunkwatch_config_last_reload_successful, number of assets) from /metrics."""
    metrics = scrape(running.url + "/metrics")
    gauge = metrics[("trunkwatch_config_last_reload_successful", ())]
    return gauge, len(select(metrics, "trunkwatch_asset_info"))


def test_reload_refuses_hostile_files_over_sighup_and_http(
    small_daemon: tuple[RunningDaemon, Path, int],
) -> None:
    running, config, port = small_daemon
    good = small_fleet(10, port)
    cases: dict[str, tuple[bytes, str]] = {
        name: make(config.parent, port) for name, make in HOSTILE.items()
    }
    cases["shrink"] = (
        small_fleet(4, port).encode(),
        "3: assets: the reload would drop 6 of the 10 running assets; "
        "set allow_shrink: true in the file to allow that",
    )
    over_sighup = {"empty", "no-assets", "alias-bomb", "shrink", "fifo-secret"}
    for name, (content, expected) in cases.items():
        config.write_text(good)
        status, body = http_post(running.url + "/-/reload")
        assert (status, reload_state(running)) == (200, (1, 10)), (name, body)

        config.write_bytes(content)
        status, body = http_post(running.url + "/-/reload")
        assert status == 400, (name, body)
        answer = json.loads(body)
        assert answer["status"] == "rejected"
        assert f"{config}:{expected}" in answer["problems"], (name, answer)
        assert SECRET not in body
        # The running configuration stays, and the gauge says the reload failed.
        assert reload_state(running) == (0, 10), name

        if name in over_sighup:
            config.write_text(good)
            assert http_post(running.url + "/-/reload")[0] == 200
            config.write_bytes(content)
            running.process.send_signal(signal.SIGHUP)
            wait_until(lambda: reload_state(running)[0] == 0, 15, f"{name} refused on SIGHUP")

            def logged(line: str = f"{config}:{expected}") -> bool:
                return line in running.log()

            wait_until(logged, 10, f"{name} logged")
            assert reload_state(running) == (0, 10), name

    # The same shrink is installed when the file allows it, over SIGHUP and over HTTP.
    config.write_text(small_fleet(4, port, allow_shrink=True))
    running.process.send_signal(signal.SIGHUP)
    wait_until(lambda: reload_state(running) == (1, 4), 15, "shrink allowed on SIGHUP")
    config.write_text(small_fleet(10, port))
    assert http_post(running.url + "/-/reload")[0] == 200  # growing needs no permission
    config.write_text(small_fleet(4, port, allow_shrink=True))
    status, body = http_post(running.url + "/-/reload")
    assert (status, json.loads(body)) == (200, {"status": "reloaded"})
    assert reload_state(running) == (1, 4)
    log = running.log()
    assert "Traceback" not in log
    assert SECRET not in log
    assert running.process.poll() is None

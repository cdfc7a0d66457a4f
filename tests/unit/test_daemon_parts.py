"""The daemon's long-lived parts live in one task group: a part that fails stops the daemon
(logged, and ``trunkwatch run`` exits 1), stop() ends it cleanly, and reloads run one at a
time in the reload worker whoever asks for them."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest

from monitor.app.daemon import Daemon, DaemonFailure
from monitor.app.reloads import ReloadWorker
from monitor.cli import main
from monitor.config import Config

RUN_BOUND_S = 20.0  # a bound on each daemon run, never a measurement

TRAPS_CONFIG = """\
credentials:
  traps: {{community: tw-parts-test}}
assets: []
traps:
  listen: 127.0.0.1:{port}
  credentials: traps
"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def udp_bound_here() -> set[tuple[str, int]]:
    """The loopback UDP addresses this process has sockets bound to."""
    return {
        (c.laddr.ip, c.laddr.port)
        for c in psutil.Process().net_connections(kind="udp4")
        if c.laddr and c.laddr.ip == "127.0.0.1"
    }


def tcp_refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def crashing_keeper(seen: dict[str, Any]) -> Callable[..., Coroutine[Any, Any, None]]:
    """A ``Daemon._keep_capacity_current`` whose keeper fails once the daemon serves."""

    def keeper(daemon: Daemon, *_: object) -> Coroutine[Any, Any, None]:
        async def fail() -> None:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{daemon.bound_port}/-/ready") as response,
            ):
                seen["ready"] = response.status
            seen["port"] = daemon.bound_port
            raise RuntimeError("a bug in the capacity analysis")

        return fail()

    return keeper


async def test_a_capacity_keeper_crash_stops_the_daemon_and_is_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("assets: []\n")
    caplog.set_level(logging.INFO, logger="trunkwatch")
    seen: dict[str, Any] = {}
    monkeypatch.setattr(Daemon, "_keep_capacity_current", crashing_keeper(seen))
    daemon = Daemon(config, "127.0.0.1:0")
    with pytest.raises(DaemonFailure) as failed:
        async with asyncio.timeout(RUN_BOUND_S):
            await daemon.run()
    assert str(failed.value) == "capacity keeper failed (RuntimeError); see the log"
    assert isinstance(failed.value.__cause__, RuntimeError)
    logged = [r for r in caplog.records if r.getMessage().startswith("capacity keeper failed")]
    assert [r.levelno for r in logged] == [logging.ERROR]
    assert logged[0].exc_info is not None and logged[0].exc_info[0] is RuntimeError
    assert "stopped" in caplog.messages
    # It was serving when the part failed; now nothing of it runs and nothing is bound.
    assert seen["ready"] == 200
    assert daemon.ready is False
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert tcp_refused(seen["port"])


def test_trunkwatch_run_exits_1_with_one_line_when_a_part_fails(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("assets: []\n")
    seen: dict[str, Any] = {}
    monkeypatch.setattr(Daemon, "_keep_capacity_current", crashing_keeper(seen))
    code = main(["run", "-c", str(config), "--listen", "127.0.0.1:0"])
    assert code == 1
    assert seen["ready"] == 200
    assert capsys.readouterr().err == (
        "trunkwatch: capacity keeper failed (RuntimeError); see the log\n"
    )
    failures = [r for r in caplog.records if r.exc_info is not None]
    assert [r.getMessage() for r in failures] == ["capacity keeper failed, stopping the daemon"]


async def test_stop_ends_the_daemon_and_closes_what_it_opened(tmp_path: Path) -> None:
    traps_port = free_udp_port()
    config = tmp_path / "monitor.yaml"
    config.write_text(TRAPS_CONFIG.format(port=traps_port))
    daemon = Daemon(config, "127.0.0.1:0")
    started = asyncio.Event()
    async with asyncio.timeout(RUN_BOUND_S), asyncio.TaskGroup() as tasks:
        running = tasks.create_task(daemon.run(started))
        await started.wait()
        assert udp_bound_here() >= {("127.0.0.1", traps_port)}
        port = daemon.bound_port
        assert port is not None
        daemon.stop()
    assert running.result() is None
    assert ("127.0.0.1", traps_port) not in udp_bound_here()
    assert tcp_refused(port)


class Overlaps:
    """A ``Daemon.rewrite`` that notes how many loads of the file run at once. The first
    reload waits (up to ``window`` seconds) for another to join it: reloads that are not
    serialised overlap there; serialised ones never do, and it goes on after the window."""

    def __init__(self, window: float) -> None:
        self.window = window
        self.calls = 0
        self.inside = 0
        self.most_at_once = 0
        self._lock = threading.Lock()
        self._joined = threading.Event()

    def __call__(self, config: Config) -> Config:
        with self._lock:
            self.calls += 1
            first_reload = self.calls == 2  # the first call is the daemon's start
            self.inside += 1
            self.most_at_once = max(self.most_at_once, self.inside)
            if self.inside > 1:
                self._joined.set()
        if first_reload:
            self._joined.wait(self.window)
        with self._lock:
            self.inside -= 1
        return config


async def test_reloads_that_move_the_trap_receiver_run_alone_and_leave_one_bound(
    tmp_path: Path,
) -> None:
    """SIGHUP and two POST /-/reload at once, of a file that moves the receiver to a port of
    its own choosing: had two reloads overlapped, each could have bound a socket of its own
    and left one behind."""
    first = free_udp_port()
    config = tmp_path / "monitor.yaml"
    config.write_text(TRAPS_CONFIG.format(port=first))
    daemon = Daemon(config, "127.0.0.1:0")
    overlaps = Overlaps(window=1.0)
    daemon.rewrite = overlaps
    started = asyncio.Event()
    async with asyncio.timeout(RUN_BOUND_S), asyncio.TaskGroup() as tasks:
        tasks.create_task(daemon.run(started))
        await started.wait()
        assert udp_bound_here() == {("127.0.0.1", first)}
        config.write_text(TRAPS_CONFIG.format(port=0))
        url = f"http://127.0.0.1:{daemon.bound_port}/-/reload"
        async with aiohttp.ClientSession() as session:

            async def post() -> tuple[int, Any]:
                async with session.post(url) as response:
                    return response.status, await response.json()

            # The daemon's own handler (not the default, which would end the test run).
            assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_DFL, None)
            signal.raise_signal(signal.SIGHUP)
            answers = await asyncio.gather(post(), post())
        assert list(answers) == [(200, {"status": "reloaded"})] * 2
        assert overlaps.calls >= 2
        assert overlaps.most_at_once == 1
        receiver = daemon.traps.receiver
        assert receiver is not None and receiver.address is not None
        assert receiver.address[1] != first
        assert udp_bound_here() == {receiver.address}
        moved_to = receiver.address
        daemon.stop()
    assert moved_to not in udp_bound_here()


class HeldReloads:
    """Reloads that each wait until the test lets them finish, counting how many overlap."""

    def __init__(self, most: int = 8) -> None:
        self.started = [asyncio.Event() for _ in range(most)]
        self.release = [asyncio.Event() for _ in range(most)]
        self.finished = [asyncio.Event() for _ in range(most)]
        self.count = 0
        self.running = 0
        self.most_at_once = 0

    async def __call__(self) -> list[str]:
        number = self.count
        self.count += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        self.started[number].set()
        try:
            await self.release[number].wait()
        finally:
            self.running -= 1
        self.finished[number].set()
        return [f"reload {number + 1}"]


async def test_concurrent_reload_requests_run_one_after_the_other() -> None:
    reloads = HeldReloads()
    worker = ReloadWorker(reloads, stopped=["stopping"])
    async with asyncio.timeout(RUN_BOUND_S), asyncio.TaskGroup() as tasks:
        serving = tasks.create_task(worker.run())
        first = tasks.create_task(worker.reload())
        await reloads.started[0].wait()
        # Asked while the first runs: they wait for it, then share the next one, which a
        # signal asking at the same time joins.
        second = tasks.create_task(worker.reload())
        third = tasks.create_task(worker.reload())
        worker.ask()
        await asyncio.sleep(0)
        assert reloads.count == 1
        reloads.release[0].set()
        assert await first == ["reload 1"]
        await reloads.started[1].wait()
        assert not second.done() and not third.done()
        reloads.release[1].set()
        assert (await second, await third) == (["reload 2"], ["reload 2"])
        assert reloads.most_at_once == 1

        # A requester that gives up does not cut its reload short.
        gone = tasks.create_task(worker.reload())
        await reloads.started[2].wait()
        gone.cancel()
        await asyncio.sleep(0)
        reloads.release[2].set()
        await reloads.finished[2].wait()

        # When the worker stops, whoever waits is answered, and so is whoever asks later.
        waiting = tasks.create_task(worker.reload())
        await reloads.started[3].wait()
        serving.cancel()
    assert await waiting == ["stopping"]
    assert await worker.reload() == ["stopping"]
    assert [f.is_set() for f in reloads.finished[:4]] == [True, True, True, False]
    assert reloads.count == 4
    assert reloads.most_at_once == 1

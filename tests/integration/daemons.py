"""``trunkwatch run`` as a real process for integration tests: on a free loopback port, its
output in a log, ready when ``/-/ready`` answers, always stopped (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from tests.helpers import free_tcp_port, http_get, wait_until
from tests.integration.simcity import REPO

__all__ = ["START_TIMEOUT_S", "start_daemon"]

START_TIMEOUT_S = 30.0


@contextlib.contextmanager
def start_daemon(
    config: Path,
    log: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = START_TIMEOUT_S,
    program: Sequence[str] = ("-m", "monitor.cli"),
    unbuffered: bool = True,
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``trunkwatch run -c CONFIG --listen 127.0.0.1:PORT ARGS…``; yields the process (for a
    test that kills it) and its base URL once it is ready. ``program`` is what the Python
    interpreter runs it as; ``unbuffered`` False leaves a redirected stdout block-buffered."""
    port = free_tcp_port()
    inherited = {k: v for k, v in os.environ.items() if unbuffered or k != "PYTHONUNBUFFERED"}
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, *program, "run", "-c", str(config),
             "--listen", f"127.0.0.1:{port}", *args],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**inherited, **(env or {}), "PYTHONPATH": str(REPO),
                 **({"PYTHONUNBUFFERED": "1"} if unbuffered else {})},
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"trunkwatch exited: {log.read_text()[-2000:]}")
            try:
                return http_get(f"{base}/-/ready", timeout=1)[0] == 200
            except OSError:
                return False

        wait_until(ready, timeout, f"trunkwatch {' '.join(args)} to be ready".replace("  ", " "))
        yield process, base
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

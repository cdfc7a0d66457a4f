"""Helpers shared by integration tests: free ports, waiting for HTTP, scraping /metrics."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from prometheus_client.parser import text_string_to_metric_families

T = TypeVar("T")

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_tcp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def http_get(
    url: str, timeout: float = 5.0, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def http_post(url: str, data: bytes = b"", timeout: float = 5.0) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_until(check: Callable[[], T | None], timeout: float, what: str, step: float = 0.1) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, ValueError):
            last = None
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def parse_metrics(text: str) -> Series:
    out: Series = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def scrape(url: str) -> Series:
    status, body = http_get(url)
    assert status == 200, body
    return parse_metrics(body)


def select(series: Series, name: str, **labels: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Series of one metric whose labels include ``labels``."""
    return {
        key: value
        for (metric, key), value in series.items()
        if metric == name and all((k, v) in key for k, v in labels.items())
    }


REPO = Path(__file__).resolve().parents[1]


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 5 s: a peer started by a fixture is always gone after it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def log_tail(path: Path, size: int = 2000) -> str:
    """The end of a peer's log, for the message of a fixture that could not start it."""
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return "(no log)"


def await_peer(
    name: str,
    proc: subprocess.Popen[bytes],
    answers: Callable[[], bool],
    log_path: Path,
    timeout: float,
    step: float,
) -> str | None:
    """Wait until a peer started by a fixture answers; None once it does, else why not (its
    exit code or the timeout, with the end of its log), the process stopped."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if answers():
            return None
        time.sleep(step)
    reason = (
        f"{name} exited with {proc.returncode}"
        if proc.poll() is not None
        else f"{name} did not answer within {timeout:.0f} s"
    )
    stop_process(proc)
    return f"{reason}; log:\n{log_tail(log_path)}"

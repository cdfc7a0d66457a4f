"""Start real Prometheus and Alertmanager (the Debian packages) on free loopback ports.

``start_alertmanager(workdir, config)`` and ``start_prometheus(workdir, config, rule_files)``
are context managers yielding a small client of the running server. Each keeps its state under
``workdir``, listens on 127.0.0.1 only (Alertmanager's gossip cluster port is switched off, so
nothing binds a wildcard address), writes its log beside its state, and is always stopped on
exit, killed if it does not stop in time.

A missing binary is a failure with an install hint, never a skip: these tests are the proof
that the shipped rules and routing work in the real tools.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import free_tcp_port

__all__ = [
    "Alertmanager",
    "Prometheus",
    "StackError",
    "find_binary",
    "scrape_and_alert",
    "start_alertmanager",
    "start_prometheus",
]

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def scrape_and_alert(target: str, alertmanager_url: str) -> dict[str, Any]:
    """A Prometheus configuration that scrapes one trunkwatch (``target``, HOST:PORT) every
    second, evaluates its rules as often and sends its alerts to one Alertmanager."""
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [alertmanager_url.removeprefix("http://")]}]}
            ]
        },
        "scrape_configs": [{"job_name": "trunkwatch", "static_configs": [{"targets": [target]}]}],
    }


class StackError(AssertionError):
    """A server is missing, did not start, or answered an API call with an error."""


def find_binary(*names: str, package: str) -> str:
    """The first of ``names`` on PATH; fails (never skips) with the Debian package to install."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise StackError(
        f"none of {', '.join(names)} is installed: apt-get install {package} (bash .ci/run does)"
    )


def _request(url: str, *, data: bytes | None = None, timeout: float = 10.0) -> Any:
    request = urllib.request.Request(url, data=data)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read().decode()
    except urllib.error.HTTPError as exc:
        raise StackError(f"{url}: HTTP {exc.code}: {exc.read().decode()[:500]}") from exc
    return json.loads(body) if body else None


@dataclass
class _Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StackError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log()}"
                )
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.url + "/-/ready", timeout=1) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise StackError(f"{self.name} not ready after {START_TIMEOUT_S}s:\n{self.log()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL, as a crash or a pulled plug: no shutdown, no goodbye to peers."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_S)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)


@dataclass
class Alertmanager(_Server):
    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        """Alerts Alertmanager holds (firing, suppressed …), optionally by label equality."""
        query = urllib.parse.urlencode(
            [("filter", f'{k}="{v}"') for k, v in filters.items()]
            + [("silenced", "true"), ("inhibited", "true"), ("active", "true")]
        )
        result: list[dict[str, Any]] = _request(f"{self.url}/api/v2/alerts?{query}")
        return result

    def post_alerts(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """Send alerts as Prometheus would (``POST /api/v2/alerts``); a refusal is a StackError."""
        _request(f"{self.url}/api/v2/alerts", data=json.dumps(list(alerts)).encode())


@dataclass
class Prometheus(_Server):
    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query's result list; a PromQL error fails with the expression."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        body = _request(f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}")
        if body.get("status") != "success":
            raise StackError(f"query {expr!r}: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts the rule manager holds (pending and firing)."""
        result: list[dict[str, Any]] = _request(f"{self.url}/api/v1/alerts")["data"]["alerts"]
        return result

    def rule_groups(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = _request(f"{self.url}/api/v1/rules")["data"]["groups"]
        return result


def _spawn(name: str, argv: Sequence[str], workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir
        )
    return process, log_path


@contextlib.contextmanager
def start_alertmanager(
    workdir: Path,
    config: Mapping[str, Any],
    *,
    name: str = "alertmanager",
    port: int | None = None,
    cluster_args: Sequence[str] = ("--cluster.listen-address=",),
) -> Iterator[Alertmanager]:
    """Alertmanager with ``config`` (checked by ``amtool check-config`` first); by default
    alone, or a cluster peer with ``cluster_args`` (loopback ``--cluster.*`` flags)."""
    binary = find_binary(
        "prometheus-alertmanager", "alertmanager", package="prometheus-alertmanager"
    )
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "alertmanager.yml"
    config_path.write_text(yaml.safe_dump(dict(config), allow_unicode=True), encoding="utf-8")
    amtool = find_binary("amtool", package="prometheus-alertmanager")
    checked = subprocess.run(
        [amtool, "check-config", str(config_path)], capture_output=True, text=True, timeout=30
    )
    if checked.returncode != 0:
        raise StackError(f"amtool check-config failed:\n{checked.stdout}{checked.stderr}")
    port = port or free_tcp_port()
    process, log_path = _spawn(
        name,
        [
            binary,
            f"--config.file={config_path}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            *cluster_args,
            "--log.level=info",
        ],
        workdir,
    )
    server = Alertmanager(name, process, f"http://127.0.0.1:{port}", log_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def start_prometheus(
    workdir: Path,
    config: Mapping[str, Any],
    rule_files: Sequence[Path] = (),
    *,
    name: str = "prometheus",
    flags: Sequence[str] = (),
) -> Iterator[Prometheus]:
    """Prometheus with ``config``; ``rule_files`` are copied beside it and listed in it;
    ``flags`` are added to its command line."""
    binary = find_binary("prometheus", package="prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    rules_dir = workdir / "rules"
    rules_dir.mkdir(exist_ok=True)
    listed = []
    for path in rule_files:
        target = rules_dir / path.name
        if path != target:
            shutil.copyfile(path, target)
        listed.append(str(target))
    config_path = workdir / "prometheus.yml"
    config_path.write_text(
        yaml.safe_dump({**config, "rule_files": listed}, allow_unicode=True), encoding="utf-8"
    )
    port = free_tcp_port()
    process, log_path = _spawn(
        name,
        [
            binary,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=info",
            *flags,
        ],
        workdir,
    )
    server = Prometheus(name, process, f"http://127.0.0.1:{port}", log_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()

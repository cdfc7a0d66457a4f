"""The daemon behind TLS and basic authentication (``--web.config.file``), as a real process
with a certificate made by ``openssl``, scraped by a real Prometheus with its usual
``tls_config`` and ``basic_auth``; and what the server does against hostile pages: reload
refused to other origins, security headers on every page.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from tests.helpers import REPO, free_tcp_port, wait_until
from tests.integration.promstack import start_prometheus
from tests.tlscerts import TlsFiles, make_tls_files
from tests.unit.inspections_fleet import TOKENS, write_config

pytestmark = pytest.mark.integration

USER = "prometheus"
PASSWORD = "scrape-pass-7f3a9c"
#: The cost operators use; the daemon pays it once per (user, password), then remembers.
BCRYPT_COST = 10
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: str


@dataclass
class TlsDaemon:
    process: subprocess.Popen[str]
    port: int
    files: TlsFiles
    log_path: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8")

    def call(
        self,
        path: str,
        *,
        method: str = "GET",
        password: str | None = PASSWORD,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """One HTTPS request that trusts only the test CA; basic auth unless password is None."""
        sent = dict(headers or {})
        if password is not None:
            pair = base64.b64encode(f"{USER}:{password}".encode()).decode()
            sent["Authorization"] = f"Basic {pair}"
        request = urllib.request.Request(
            self.url + path, method=method, headers=sent, data=b"" if method == "POST" else None
        )
        context = ssl.create_default_context(cafile=str(self.files.ca_cert))
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as response:
                return Answer(response.status, response.headers, response.read().decode())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.headers, exc.read().decode())


def write_web_config(directory: Path, files: TlsFiles) -> Path:
    """The exporter-toolkit file, with paths relative to itself as operators write them."""
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=BCRYPT_COST)).decode()
    path = directory / "web.yml"
    path.write_text(
        textwrap.dedent(
            f"""\
            tls_server_config:
              cert_file: {files.cert.relative_to(directory)}
              key_file: {files.key.relative_to(directory)}
              min_version: TLS12
            basic_auth_users:
              {USER}: {hashed}
            """
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def tls_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsDaemon]:
    directory = tmp_path_factory.mktemp("web-tls")
    files = make_tls_files(directory / "pki")
    web_config = write_web_config(directory, files)
    # The inspection fleet: duty pages and the bearer-token API are served too.
    config = write_config(directory)
    port = free_tcp_port()
    log_path = directory / "daemon.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "run", "-c", str(config),
             "--listen", f"127.0.0.1:{port}", "--web.config.file", str(web_config)],
            cwd=directory, stdout=log, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    daemon = TlsDaemon(process, port, files, log_path)
    try:
        wait_until(
            lambda: process.poll() is None and daemon.call("/-/ready").status == 200,
            START_TIMEOUT_S,
            "the daemon ready over TLS",
        )
        yield daemon
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    assert PASSWORD not in daemon.log()


def test_prometheus_scrapes_over_tls_with_basic_auth(tls_daemon: TlsDaemon, tmp_path: Path) -> None:
    def job(name: str, password: str) -> dict[str, Any]:
        return {
            "job_name": name,
            "scheme": "https",
            "tls_config": {"ca_file": str(tls_daemon.files.ca_cert)},
            "basic_auth": {"username": USER, "password": password},
            "static_configs": [{"targets": [f"127.0.0.1:{tls_daemon.port}"]}],
        }

    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [job("trunkwatch", PASSWORD), job("wrong-password", "not-it")],
    }
    with start_prometheus(tmp_path / "prometheus", config) as prometheus:

        def up() -> dict[str, str] | None:
            found = {r["metric"]["job"]: r["value"][1] for r in prometheus.query("up")}
            return found if len(found) == 2 else None

        assert wait_until(up, 30, "both jobs scraped") == {"trunkwatch": "1", "wrong-password": "0"}
        with urllib.request.urlopen(prometheus.url + "/api/v1/targets", timeout=10) as response:
            targets = json.load(response)["data"]["activeTargets"]
        by_job = {t["labels"]["job"]: t for t in targets}
        assert by_job["trunkwatch"]["health"] == "up"
        assert by_job["trunkwatch"]["scrapeUrl"].startswith("https://127.0.0.1:")
        assert by_job["wrong-password"]["health"] == "down"
        assert "401" in by_job["wrong-password"]["lastError"], by_job["wrong-password"]
        # The daemon's own series arrived through TLS.
        built = prometheus.query('trunkwatch_build_info{job="trunkwatch"}')
        assert [r["value"][1] for r in built] == ["1"]


def test_every_path_needs_the_password_and_plain_http_gets_nothing(
    tls_daemon: TlsDaemon,
) -> None:
    for path in ("/-/healthy", "/-/ready", "/metrics", "/", "/inspections/login", "/nowhere"):
        for password in (None, "wrong", PASSWORD + "x"):
            answer = tls_daemon.call(path, password=password)
            assert answer.status == 401, (path, password)
            assert answer.headers["WWW-Authenticate"].startswith('Basic realm="trunkwatch"')
    assert tls_daemon.call("/-/healthy").status == 200
    assert tls_daemon.call("/nowhere").status == 404
    # Plain HTTP on the TLS port: no page, no credentials accepted in clear.
    with pytest.raises((OSError, http.client.HTTPException)):
        urllib.request.urlopen(f"http://127.0.0.1:{tls_daemon.port}/-/healthy", timeout=5)
    # A client that does not trust the CA refuses the server's certificate.
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(
            tls_daemon.url + "/-/healthy", timeout=5, context=ssl.create_default_context()
        )


def test_the_inspection_api_takes_its_bearer_token_without_basic_auth(
    tls_daemon: TlsDaemon,
) -> None:
    calendar = tls_daemon.call(
        "/api/v1/inspections/calendar",
        password=None,
        headers={"Authorization": f"Bearer {TOKENS['lina']}"},
    )
    assert calendar.status == 200, calendar.body
    assert json.loads(calendar.body)["person"] == "lina"
    wrong = tls_daemon.call(
        "/api/v1/inspections/calendar", password=None, headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    # A bearer token opens only what checks it: elsewhere basic auth still stands.
    metrics = tls_daemon.call(
        "/metrics", password=None, headers={"Authorization": f"Bearer {TOKENS['lina']}"}
    )
    assert metrics.status == 401


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        (None, 200),  # curl, Prometheus, scripts
        ("SELF", 200),
        ("https://evil.example", 403),
        ("https://127.0.0.1:1", 403),
        ("null", 403),
    ],
    ids=["no-origin", "same-origin", "foreign", "other-port", "null"],
)
def test_reload_is_refused_to_other_origins(
    tls_daemon: TlsDaemon, origin: str | None, expected: int
) -> None:
    headers = {}
    if origin is not None:
        headers["Origin"] = tls_daemon.url if origin == "SELF" else origin
    before = tls_daemon.log().count("configuration reloaded")
    answer = tls_daemon.call("/-/reload", method="POST", headers=headers)
    assert answer.status == expected, answer.body
    if expected == 200:
        assert json.loads(answer.body) == {"status": "reloaded"}
        wait_until(
            lambda: tls_daemon.log().count("configuration reloaded") == before + 1, 5, "reloaded"
        )
    else:
        assert answer.body == "cross-site request refused"
        assert tls_daemon.log().count("configuration reloaded") == before


def test_sign_in_from_another_origin_is_refused(tls_daemon: TlsDaemon) -> None:
    answer = tls_daemon.call(
        "/inspections/login",
        method="POST",
        headers={"Origin": "https://evil.example"},
    )
    assert (answer.status, answer.body) == (403, "cross-site request refused")


SECURITY = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


@pytest.mark.parametrize(
    ("path", "password", "status"),
    [
        ("/", PASSWORD, 200),
        ("/inspections/login", PASSWORD, 200),
        ("/metrics", PASSWORD, 200),
        ("/api/v1/status", PASSWORD, 200),
        ("/nowhere", PASSWORD, 404),
        ("/", None, 401),
    ],
    ids=["board", "duty-login", "metrics", "api", "not-found", "unauthorized"],
)
def test_every_response_carries_the_security_headers(
    tls_daemon: TlsDaemon, path: str, password: str | None, status: int
) -> None:
    answer = tls_daemon.call(path, password=password)
    assert answer.status == status
    expected = dict(SECURITY)
    if (path, status) == ("/", 200):  # the duty board runs its own script and event stream
        expected["Content-Security-Policy"] += "; script-src 'self'; connect-src 'self'"
    assert {name: answer.headers[name] for name in SECURITY} == expected


def test_demo_serves_https_with_the_same_file(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path / "pki")
    web_config = write_web_config(tmp_path, files)
    port, control = free_tcp_port(), free_tcp_port()
    out_path = tmp_path / "demo.out"
    with out_path.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "demo", "--listen", f"127.0.0.1:{port}",
             "--control", f"127.0.0.1:{control}", "--status-every", "0",
             "--web.config.file", str(web_config)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    demo = TlsDaemon(process, port, files, out_path)
    try:
        wait_until(
            lambda: process.poll() is None and demo.call("/-/ready").status == 200,
            START_TIMEOUT_S,
            "the demo ready over TLS",
        )
        assert demo.call("/metrics", password=None).status == 401
        assert "trunkwatch_build_info" in demo.call("/metrics").body
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(15)
    text = demo.log()
    assert code == 0, text
    assert f"duty board    https://127.0.0.1:{port}/" in text
    assert PASSWORD not in text


def test_a_broken_web_config_stops_the_daemon_with_its_line(tmp_path: Path) -> None:
    web_config = tmp_path / "web.yml"
    web_config.write_text(
        "tls_server_config:\n  cert_file: absent.crt\n  key_file: absent.key\n", encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "run", "-c", str(write_config(tmp_path)),
         "--listen", f"127.0.0.1:{free_tcp_port()}", "--web.config.file", str(web_config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"{web_config}:2: tls_server_config.cert_file: cannot read {tmp_path / 'absent.crt'}: "
        "No such file or directory",
        f"{web_config}:3: tls_server_config.key_file: cannot read {tmp_path / 'absent.key'}: "
        "No such file or directory",
    ]

"""The HTTP probe against real servers on loopback: aiohttp (plain and TLS) and hostile peers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from probes.base import (
    AuthError,
    ConnectionRefused,
    MalformedReply,
    ProbeParamsError,
    ProbeTimeout,
    ServiceUnavailable,
    Target,
    UnexpectedReply,
)
from probes.http import create
from tests.helpers import free_tcp_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CERT_DAYS = 30


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    work = tmp_path_factory.mktemp("tls")
    cert, key = work / "cert.pem", work / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            str(CERT_DAYS),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Certificate(cert, key)


async def _health(request: web.Request) -> web.Response:
    return web.Response(
        text='{"status": "ok", "callbacks_pending": 0}', content_type="application/json"
    )


async def _busy(request: web.Request) -> web.Response:
    return web.Response(status=503, text="maintenance")


async def _missing(request: web.Request) -> web.Response:
    return web.Response(status=404, text="no such page")


async def _moved(request: web.Request) -> web.Response:
    raise web.HTTPFound("/health")


@dataclass(frozen=True)
class Servers:
    http: int
    https: int


@pytest.fixture
async def servers(certificate: Certificate) -> AsyncIterator[Servers]:
    app = web.Application()
    app.router.add_get("/health", _health)
    app.router.add_get("/busy", _busy)
    app.router.add_get("/missing", _missing)
    app.router.add_get("/moved", _moved)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certificate.cert, certificate.key)
    http_port, https_port = free_tcp_port(), free_tcp_port()
    await web.TCPSite(runner, "127.0.0.1", http_port).start()
    await web.TCPSite(runner, "127.0.0.1", https_port, ssl_context=tls).start()
    try:
        yield Servers(http_port, https_port)
    finally:
        await runner.cleanup()


def _values(result: object) -> dict[str, float]:
    return {s.family.name: s.value for s in result.samples}  # type: ignore[attr-defined]


async def test_status_and_body_match(servers: Servers) -> None:
    probe = create({"path": "/health", "body_regex": r'"status":\s*"ok"'}, timeout=3)
    values = _values(await probe.run(Target("platform", "127.0.0.1", servers.http)))
    assert values["trunkwatch_http_status_code"] == 200
    assert (
        0 < values["trunkwatch_http_connect_seconds"] <= values["trunkwatch_http_duration_seconds"]
    )
    assert "trunkwatch_tls_cert_expiry_seconds" not in values


async def test_body_mismatch_is_unexpected(servers: Servers) -> None:
    probe = create({"path": "/health", "body_regex": '"status": "degraded"'}, timeout=3)
    with pytest.raises(UnexpectedReply, match="body does not match"):
        await probe.run(Target("platform", "127.0.0.1", servers.http))


async def test_redirect_is_followed_to_the_final_status(servers: Servers) -> None:
    url = f"http://127.0.0.1:{servers.http}/moved"
    values = _values(await create({"url": url}, timeout=3).run(Target("platform", "127.0.0.1")))
    assert values["trunkwatch_http_status_code"] == 200


@pytest.mark.parametrize(
    ("path", "error", "reason"),
    [("/busy", ServiceUnavailable, "unavailable"), ("/missing", UnexpectedReply, "unexpected")],
)
async def test_error_status_is_a_failure(
    servers: Servers, path: str, error: type[Exception], reason: str
) -> None:
    url = f"http://127.0.0.1:{servers.http}{path}"
    with pytest.raises(error) as caught:
        await create({}, timeout=3).run(Target("platform", url))
    assert caught.value.reason == reason  # type: ignore[attr-defined]
    # The unwanted answer is still a measurement: its status stays with the failure.
    kept = {s.family.name: s.value for s in caught.value.samples}  # type: ignore[attr-defined]
    assert kept["trunkwatch_http_status_code"] == (503 if path == "/busy" else 404)
    assert kept["trunkwatch_http_duration_seconds"] > 0


async def test_https_reports_certificate_expiry(servers: Servers, certificate: Certificate) -> None:
    url = f"https://127.0.0.1:{servers.https}/health"
    probe = create({"ca_file": str(certificate.cert)}, timeout=3)
    values = _values(await probe.run(Target("platform", url)))
    assert values["trunkwatch_http_status_code"] == 200
    expiry = values["trunkwatch_tls_cert_expiry_seconds"]
    assert abs(expiry - CERT_DAYS * 86400) < 3600


async def test_https_without_verification_still_reports_expiry(servers: Servers) -> None:
    url = f"https://127.0.0.1:{servers.https}/health"
    values = _values(await create({"tls_verify": False}, timeout=3).run(Target("p", url)))
    assert abs(values["trunkwatch_tls_cert_expiry_seconds"] - CERT_DAYS * 86400) < 3600


async def test_untrusted_certificate_is_an_auth_failure(servers: Servers) -> None:
    url = f"https://127.0.0.1:{servers.https}/health"
    with pytest.raises(AuthError, match="certificate"):
        await create({}, timeout=3).run(Target("platform", url))


async def test_closed_port_is_refused() -> None:
    with pytest.raises(ConnectionRefused):
        await create({}, timeout=3).run(Target("platform", "127.0.0.1", free_tcp_port()))


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Starter = Callable[[Handler], Awaitable[int]]


@pytest.fixture
async def hostile() -> AsyncIterator[Starter]:
    """Start raw TCP peers that answer whatever a test's handler writes."""
    started: list[asyncio.AbstractServer] = []
    peers: list[asyncio.StreamWriter] = []

    async def start(handler: Handler) -> int:
        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peers.append(writer)
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                await handler(reader, writer)

        server = await asyncio.start_server(tracked, "127.0.0.1", 0)
        started.append(server)
        return int(server.sockets[0].getsockname()[1])

    try:
        yield start
    finally:
        for server in started:
            server.close()
        # Handlers still sleeping (the silent peer) would leave their sockets to the GC.
        for writer in peers:
            writer.close()
        await asyncio.sleep(0)


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"\x16\x03\x01 this is not HTTP at all\r\n\r\n")
    await writer.drain()
    writer.close()


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(65536)
    await asyncio.sleep(5)
    writer.close()


async def _short_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly a little")
    await writer.drain()
    writer.close()


async def test_garbage_response_is_malformed(hostile: Starter) -> None:
    port = await hostile(_garbage)
    with pytest.raises(MalformedReply):
        await create({}, timeout=2).run(Target("platform", "127.0.0.1", port))


async def test_truncated_body_is_malformed(hostile: Starter) -> None:
    port = await hostile(_short_body)
    with pytest.raises(MalformedReply):
        await create({"body_regex": "little"}, timeout=2).run(Target("p", "127.0.0.1", port))


async def test_silent_server_times_out(hostile: Starter) -> None:
    port = await hostile(_silent)
    with pytest.raises(ProbeTimeout):
        await create({}, timeout=1).run(Target("platform", "127.0.0.1", port))


def test_bad_parameters_are_reported_together() -> None:
    with pytest.raises(ProbeParamsError) as caught:
        create({"body_regex": "(unclosed", "method": "PUT", "colour": "red"}, timeout=3)
    keys = {key for key, _ in caught.value.problems}
    assert keys == {"body_regex", "method", "colour"}


@pytest.fixture
def threaded_server(certificate: Certificate) -> Iterator[int]:
    """An HTTPS server in its own process, for the command-line test (its own event loop)."""
    port = free_tcp_port()
    code = (
        "import ssl,sys\n"
        "from aiohttp import web\n"
        "app = web.Application()\n"
        "app.router.add_get('/health', lambda r: web.Response(text='ok'))\n"
        "ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)\n"
        f"ctx.load_cert_chain({str(certificate.cert)!r}, {str(certificate.key)!r})\n"
        f"web.run_app(app, host='127.0.0.1', port={port}, ssl_context=ctx, print=None)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        from tests.helpers import wait_until

        def listening() -> bool:
            import socket

            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True

        wait_until(listening, 10, "the HTTPS server")
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def test_cli_probe_http(threaded_server: int, certificate: Certificate) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor.cli",
            "probe",
            "--module",
            "http",
            "--target",
            f"https://127.0.0.1:{threaded_server}/health",
            "--param",
            f"ca_file={certificate.cert}",
            "--param",
            "body_regex=^ok$",
            "--timeout",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "trunkwatch_http_status_code{" in done.stdout
    assert "trunkwatch_tls_cert_expiry_seconds{" in done.stdout

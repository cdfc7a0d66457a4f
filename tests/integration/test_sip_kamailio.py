"""The SIP probe against a real Kamailio (Debian's package) on loopback: UDP, TCP and TLS.

Kamailio answers OPTIONS with 200 (503 for the Request-URI user ``busy``) and checks
REGISTER credentials with its auth module against a static password
(``pv_www_authenticate``, no database), challenging with qop=auth.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from probes.base import AuthError, ConnectionRefused, ServiceUnavailable, Target
from probes.sip import create

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
USER, PASSWORD = "trunk1", "s3cret-Pa55"

CONFIG = """#!KAMAILIO
debug=1
log_stderror=yes
children=1
tcp_children=1
enable_tls=yes
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
listen=tls:127.0.0.1:{tls_port}
mpath="{modules}/"
loadmodule "tls.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "auth.so"
modparam("tls", "config", "{tls_cfg}")
request_route {{
    if (is_method("OPTIONS")) {{
        if ($rU == "busy") {{ sl_send_reply("503", "Service Unavailable"); exit; }}
        sl_send_reply("200", "OK");
        exit;
    }}
    if (is_method("REGISTER")) {{
        if (!pv_www_authenticate("$td", "{password}", "0")) {{
            www_challenge("$td", "1");
            exit;
        }}
        if ($au != "{user}") {{ sl_send_reply("403", "Forbidden"); exit; }}
        sl_send_reply("200", "OK");
        exit;
    }}
    sl_send_reply("405", "Method Not Allowed");
}}
"""


@dataclass(frozen=True)
class Kamailio:
    port: int
    tls_port: int
    cert: Path


def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def _kamailio_binary() -> str:
    path = shutil.which("kamailio") or (
        "/usr/sbin/kamailio" if os.path.exists("/usr/sbin/kamailio") else None
    )
    if path is None or not os.path.exists(f"{MODULES}/tls.so"):
        pytest.fail("kamailio with TLS is not installed (Debian: kamailio kamailio-tls-modules)")
    return path


@pytest.fixture(scope="module")
def kamailio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kamailio]:
    binary = _kamailio_binary()
    work = tmp_path_factory.mktemp("kamailio")
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
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    tls_cfg = work / "tls.cfg"
    tls_cfg.write_text(
        f"[server:default]\nmethod = TLSv1.2+\ncertificate = {cert}\nprivate_key = {key}\n"
    )
    port, tls_port = _free_port(), _free_port()
    config = work / "kamailio.cfg"
    config.write_text(
        CONFIG.format(
            port=port,
            tls_port=tls_port,
            modules=MODULES,
            tls_cfg=tls_cfg,
            user=USER,
            password=PASSWORD,
        )
    )
    log = (work / "kamailio.log").open("wb")
    proc = subprocess.Popen(
        [binary, "-f", str(config), "-DD", "-E", "-m", "32", "-M", "4"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                pytest.fail(f"kamailio exited: {(work / 'kamailio.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", tls_port), timeout=0.5).close()
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("kamailio did not start listening within 15 s")
                time.sleep(0.1)
        yield Kamailio(port, tls_port, cert)
    finally:
        # Kamailio forks its workers into our new session: stop the whole group.
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        log.close()


def _values(result: object) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.family.name, s.labels): s.value for s in result.samples}  # type: ignore[attr-defined]


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
async def test_options_answered_200_is_available(kamailio: Kamailio, transport: str) -> None:
    port = kamailio.tls_port if transport == "tls" else kamailio.port
    scheme = "sips" if transport == "tls" else "sip"
    probe = create({"ca_file": str(kamailio.cert)}, timeout=3)
    result = await probe.run(Target("trunk", f"{scheme}:127.0.0.1:{port};transport={transport}"))
    values = _values(result)
    assert values[("trunkwatch_sip_response_code", ())] == 200
    assert 0 < values[("trunkwatch_sip_rtt_seconds", ())] < 0.5
    (server,) = [dict(k[1])["server"] for k in values if k[0] == "trunkwatch_sip_server_info"]
    assert server.startswith("kamailio")


async def test_options_to_plain_host_and_port_uses_udp(kamailio: Kamailio) -> None:
    probe = create({}, timeout=3)
    result = await probe.run(Target("trunk", "127.0.0.1", kamailio.port))
    assert _values(result)[("trunkwatch_sip_response_code", ())] == 200


async def test_503_is_reachable_but_unavailable(kamailio: Kamailio) -> None:
    probe = create({"request_uri": f"sip:busy@127.0.0.1:{kamailio.port}"}, timeout=3)
    with pytest.raises(ServiceUnavailable, match="503") as caught:
        await probe.run(Target("trunk", "127.0.0.1", kamailio.port))
    assert caught.value.reason == "unavailable"
    # The answer is a measurement: its code and round trip stay with the failure.
    kept = {s.family.name: s.value for s in caught.value.samples}
    assert kept["trunkwatch_sip_response_code"] == 503
    assert 0 < kept["trunkwatch_sip_rtt_seconds"] < 3


async def test_untrusted_tls_certificate_is_an_auth_failure(kamailio: Kamailio) -> None:
    probe = create({}, timeout=3)  # the system's CAs do not know the test certificate
    with pytest.raises(AuthError, match="certificate"):
        await probe.run(Target("trunk", f"sips:127.0.0.1:{kamailio.tls_port}"))


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
async def test_register_with_the_right_credentials_succeeds(
    kamailio: Kamailio, transport: str
) -> None:
    port = kamailio.tls_port if transport == "tls" else kamailio.port
    probe = create(
        {"register": True, "transport": transport, "ca_file": str(kamailio.cert)}, timeout=3
    )
    secrets = {"user": USER, "password": PASSWORD}
    result = await probe.run(Target("trunk", "127.0.0.1", port, secrets))
    assert 0 < _values(result)[("trunkwatch_sip_register_seconds", ())] < 1


@pytest.mark.parametrize(
    ("user", "password", "code"), [(USER, "wrong-Pa55", "401"), ("intruder", PASSWORD, "403")]
)
async def test_register_with_bad_credentials_fails_with_auth(
    kamailio: Kamailio, user: str, password: str, code: str
) -> None:
    probe = create({"register": True}, timeout=3)
    secrets = {"user": user, "password": password}
    with pytest.raises(AuthError, match=code) as caught:
        await probe.run(Target("trunk", "127.0.0.1", kamailio.port, secrets))
    assert caught.value.reason == "auth"
    assert password not in str(caught.value)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_closed_port_is_refused(transport: str) -> None:
    probe = create({"transport": transport}, timeout=3)
    with pytest.raises(ConnectionRefused):
        await probe.run(Target("trunk", "127.0.0.1", _free_port()))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", "probe", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        env=env,
        check=False,
    )


def test_cli_probe_sip_available_and_unavailable(kamailio: Kamailio) -> None:
    ok = _cli(
        "--target",
        f"sip:127.0.0.1:{kamailio.port};transport=udp",
        "--module",
        "sip",
        "--timeout",
        "3",
    )
    assert ok.returncode == 0, ok.stderr
    assert "trunkwatch_sip_response_code{" in ok.stdout
    assert 'server="kamailio' in ok.stdout
    busy = _cli(
        "--target",
        f"sip:127.0.0.1:{kamailio.port};transport=tcp",
        "--module",
        "sip",
        "--param",
        f"request_uri=sip:busy@127.0.0.1:{kamailio.port}",
        "--timeout",
        "3",
    )
    assert busy.returncode == 1, busy.stderr
    assert 'reason="unavailable"' in busy.stdout

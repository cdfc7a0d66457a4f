"""The SNMP clients' own counters on ``/metrics``: a ``trunkwatch run`` polls a real net-snmp
snmpd over v2c and over SNMPv3 (SHA/AES), a UDP port that never answers, and one that answers
every request with bytes that are not SNMP. What the scrape says must be what happened:
replies from the agent, timeouts and retries from the bad peers, and the garbage counted as
dropped (undecodable); the credentials appear nowhere in it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import http_get, scrape, select, wait_until
from tests.integration.daemons import start_daemon
from tests.integration.snmpd import SnmpdInstance

pytestmark = pytest.mark.integration

#: Not SNMP: a SEQUENCE holding a bare INTEGER, with no version, community or PDU.
GARBAGE = b"\x30\x03\x02\x01\x00"


@contextmanager
def udp_peer(answer: bytes | None) -> Iterator[int]:
    """A UDP port on 127.0.0.1 that reads every datagram and answers ``answer`` (or nothing)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                _, source = sock.recvfrom(65535)
            except TimeoutError:
                continue
            if answer is not None:
                sock.sendto(answer, source)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        sock.close()


def _config(agent: SnmpdInstance, user: str, silent: int, garbage: int) -> str:
    # The agent's probes have time to spare (one discovery, no timeout, even on a loaded
    # host); the bad peers' time out fast, after two retries each.
    good = "module: snmp, profile: if_mib, interval: 3s, timeout: 3s"
    bad = "module: snmp, profile: if_mib, interval: 2s, timeout: 1s, retries: 2"
    v3 = f"{good}, version: 3, auth_protocol: sha, priv_protocol: aes"
    assets = [
        ("v2c", f"{agent.host}:{agent.port}", "lab", good),
        ("v3", f"{agent.host}:{agent.port}", "lab-v3", v3),
        ("silent", f"127.0.0.1:{silent}", "lab", bad),
        ("garbage", f"127.0.0.1:{garbage}", "lab", bad),
    ]
    lines = [
        "credentials:",
        "  lab: {community: '${TW_TEST_COMMUNITY}'}",
        f"  lab-v3: {{user: {user}, auth_key: '${{TW_TEST_AUTH}}', priv_key: '${{TW_TEST_PRIV}}'}}",
        "sites: [{id: hq, name: HQ}]",
        "assets:",
        *(
            f"  - {{id: {name}, site: hq, system: network, kind: server, address: {address}, "
            f"credentials: {credentials}, probes: [{{{probe}}}]}}"
            for name, address, credentials, probe in assets
        ),
    ]
    return "\n".join(lines) + "\n"


def test_the_scrape_counts_what_the_snmp_clients_sent_received_and_dropped(
    tmp_path: Path, snmpd_agent: SnmpdInstance
) -> None:
    user = snmpd_agent.v3_user("SHA")
    secrets = {
        "TW_TEST_COMMUNITY": snmpd_agent.community,
        "TW_TEST_AUTH": user.auth_key,
        "TW_TEST_PRIV": user.priv_key,
    }
    with udp_peer(None) as silent, udp_peer(GARBAGE) as garbage:
        config = tmp_path / "monitor.yaml"
        config.write_text(_config(snmpd_agent, user.name, silent, garbage), encoding="utf-8")
        with start_daemon(config, tmp_path / "daemon.log", env=secrets) as (_, url):

            def settled() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
                metrics = scrape(url + "/metrics")
                success = {
                    dict(k)["asset"]: v
                    for k, v in select(metrics, "trunkwatch_probe_success").items()
                }
                failed = select(metrics, "trunkwatch_probe_failure_info")
                ready = success.get("v2c") == 1 and success.get("v3") == 1 and len(failed) == 2
                return metrics if ready else None

            metrics = wait_until(settled, 30, "the agents polled and the bad peers failed")
            text = http_get(url + "/metrics")[1]
            assert text and not [s for s in secrets.values() if s in text]

    def count(name: str, client: str, **labels: str) -> float:
        [value] = select(
            metrics, f"trunkwatch_snmp_client_{name}_total", client=client, **labels
        ).values()
        return value

    # v1/v2c: the agent answered; the bad peers made tries go again and time out; the
    # garbage was dropped before anything was read.
    requests, replies = count("requests", "v1v2c"), count("replies", "v1v2c")
    timeouts = count("timeouts", "v1v2c")
    assert replies >= 1
    assert timeouts >= 2  # the silent port and the garbage one
    assert replies + timeouts + count("malformed_replies", "v1v2c") <= requests
    assert count("retries", "v1v2c") >= 2 * timeouts  # two retries before each timeout
    assert count("dropped", "v1v2c", reason="undecodable") >= 3  # each of its tries answered
    assert count("dropped", "v1v2c", reason="wrong_source") == 0
    assert count("malformed_replies", "v1v2c") == 0
    assert count("errors", "v1v2c", reason="send") == 0
    # SNMPv3: one discovery of the agent's engine (a report), then authenticated replies.
    assert count("discoveries", "v3") == 1
    assert count("reports", "v3") >= 1
    assert count("replies", "v3") > count("reports", "v3")
    assert count("dropped", "v3", reason="unauthentic") == 0
    assert count("timeouts", "v3") == 0

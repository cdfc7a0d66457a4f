"""The ICMP probe against hosts in network namespaces, with delay, jitter and loss imposed.

Lab: client ── router ── server, IPv4 and IPv6. The test thread runs in the client namespace.
Delay, jitter and loss come from ``EchoResponder`` answering in the server namespace (see
``tests/netns.py`` for why not netem); unreachable answers come from the router's kernel.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from probes.base import ProbeTimeout, Target, Unreachable
from probes.icmp import create, rfc3550_jitter
from tests.netns import EchoResponder, NetLab, netlab

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SERVER4, SERVER6 = "10.77.2.1", "fd77:2::1"
ROUTER4 = "10.77.1.254"
#: On the server's subnet, but nobody is there: the router's neighbour lookup fails.
ABSENT4, ABSENT6 = "10.77.2.99", "fd77:2::99"
#: The router has an explicit unreachable route for this network.
NOWHERE4, NOWHERE6 = "10.77.9.1", "fd77:9::1"


@dataclass
class Lab:
    net: NetLab

    def server(self, **imposed: float) -> contextlib.AbstractContextManager[EchoResponder]:
        return self.net.responder("server", **imposed)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with netlab() as net:
        net.link(
            "client", "router", ["10.77.1.1/24", "fd77:1::1/64"], [f"{ROUTER4}/24", "fd77:1::fe/64"]
        )
        r_server, _ = net.link(
            "router",
            "server",
            ["10.77.2.254/24", "fd77:2::fe/64"],
            [f"{SERVER4}/24", f"{SERVER6}/64"],
        )
        net.forwarding("router")
        net.route("client", "default", "via", ROUTER4)
        net.route("client", "default", "via", "fd77:1::fe")
        net.route("server", "default", "via", "10.77.2.254")
        net.route("server", "default", "via", "fd77:2::fe")
        net.exec("router", "ip", "route", "add", "unreachable", "10.77.9.0/24")
        for family in ("ipv4", "ipv6"):
            net.sysctl("router", f"net.{family}.neigh.{r_server}.mcast_solicit", "1")
            net.sysctl("router", f"net.{family}.neigh.{r_server}.retrans_time_ms", "200")
        net.sysctl("client", "net.ipv4.ping_group_range", "0 2147483647")
        # Let neighbour discovery settle (the first IPv6 exchange on fresh veths can wait a
        # whole retransmit second), so that tests time only what they impose.
        with net.inside("client"):
            for host in (SERVER4, SERVER6):
                warm = create({"count": 3, "spacing": 0.01, "wait": 2.0}, timeout=3)
                asyncio.run(warm.run(Target("warm-up", host)))
        yield Lab(net)


@pytest.fixture
def client(lab: Lab) -> Iterator[Lab]:
    """The test thread inside the client namespace."""
    with lab.net.inside("client"):
        yield lab


def _values(result: object) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.family.name + s.suffix, s.labels): s.value
        for s in result.samples  # type: ignore[attr-defined]
    }


def _rtt(values: dict[tuple[str, tuple[tuple[str, str], ...]], float], stat: str) -> float:
    return values[("trunkwatch_icmp_rtt_seconds", (("stat", stat),))]


@pytest.mark.parametrize("host", [SERVER4, SERVER6])
async def test_rtt_reflects_imposed_delay(client: Lab, host: str) -> None:
    with client.server(delay=0.020):
        result = await create({"count": 10, "spacing": 0.02}, timeout=5).run(Target("s", host))
    values = _values(result)
    assert values[("trunkwatch_icmp_loss_ratio", ())] == 0
    assert 0.020 <= _rtt(values, "min") < 0.030
    assert _rtt(values, "max") < 0.040
    assert values[("trunkwatch_icmp_rtt_histogram_seconds_count", ())] == 10
    # Every round trip is above 20 ms: nothing in the buckets up to 0.02 s.
    assert values[("trunkwatch_icmp_rtt_histogram_seconds_bucket", (("le", "0.02"),))] == 0
    assert values[("trunkwatch_icmp_rtt_histogram_seconds_bucket", (("le", "0.05"),))] == 10


async def test_loss_ratio_matches_imposed_loss(client: Lab) -> None:
    with client.server(drop_every=4) as server:
        probe = create({"count": 200, "spacing": 0.002, "wait": 0.5}, timeout=5)
        result = await probe.run(Target("s", SERVER4))
    assert server.requests == 200
    assert server.dropped == 50
    assert _values(result)[("trunkwatch_icmp_loss_ratio", ())] == 0.25


async def test_jitter_follows_imposed_delay_variation(client: Lab) -> None:
    quiet = await create({"count": 30, "spacing": 0.01}, timeout=5).run(Target("s", SERVER4))
    assert _values(quiet)[("trunkwatch_icmp_jitter_seconds", ())] < 0.001
    with client.server(delay=0.020, jitter=0.010) as server:
        noisy = await create({"count": 30, "spacing": 0.05}, timeout=5).run(Target("s", SERVER4))
    values = _values(noisy)
    # The round trips differ from the imposed delays only by the lab's own, steady latency,
    # so the estimator over them must match the estimator over the delays.
    expected = rfc3550_jitter(server.delays)
    assert expected > 0.003
    assert abs(values[("trunkwatch_icmp_jitter_seconds", ())] - expected) < 0.0015
    assert (
        _rtt(values, "max") - _rtt(values, "min") > max(server.delays) - min(server.delays) - 0.002
    )


async def test_silent_host_fails_with_timeout_and_total_loss_is_measured(client: Lab) -> None:
    probe = create({"count": 3, "spacing": 0.05, "wait": 0.3}, timeout=2)
    answered = await probe.run(Target("s", SERVER4))
    assert _values(answered)[("trunkwatch_icmp_echo_replies_total", ())] == 3
    with (
        client.server(drop_every=1) as server,
        pytest.raises(ProbeTimeout, match="no echo reply to 3") as caught,
    ):
        await probe.run(Target("s", SERVER4))
    assert server.dropped == 3
    # Total loss is a measurement: the loss ratio and the counters survive the failure, the
    # round-trip figures (nothing came back) do not.
    values = _values(caught.value)
    assert values[("trunkwatch_icmp_loss_ratio", ())] == 1
    assert values[("trunkwatch_icmp_echo_requests_total", ())] == 6
    assert values[("trunkwatch_icmp_echo_replies_total", ())] == 3
    assert values[("trunkwatch_icmp_rtt_histogram_seconds_count", ())] == 3
    assert not any(name == "trunkwatch_icmp_rtt_seconds" for name, _ in values)


@pytest.mark.parametrize("host", [ABSENT4, ABSENT6])
async def test_host_down_behind_router_fails_as_unreachable(client: Lab, host: str) -> None:
    probe = create({"count": 2, "spacing": 0.05, "wait": 1.5}, timeout=3)
    with pytest.raises(Unreachable) as caught:
        await probe.run(Target("absent", host))
    assert caught.value.reason == "unreachable"
    assert "unreachable from" in str(caught.value)


async def test_unreachable_network_is_reported_by_the_router(client: Lab) -> None:
    # The router's IPv4 "no route" errors share a per-source token bucket (one error per
    # net.ipv4.route.error_cost, a host-wide setting) with the errors of other tests: echoes
    # spread over more than a second make sure one of them is answered.
    probe = create({"count": 5, "spacing": 0.3, "wait": 0.5}, timeout=3)
    with pytest.raises(Unreachable, match=f"host unreachable from {ROUTER4}"):
        await probe.run(Target("nowhere", NOWHERE4))
    probe6 = create({"count": 2, "spacing": 0.05, "wait": 0.5}, timeout=2)
    with pytest.raises(Unreachable, match="no route to destination from fd77:1::fe"):
        await probe6.run(Target("nowhere", NOWHERE6))


async def test_ping_socket_without_raw_privilege(client: Lab) -> None:
    """The datagram "ping" socket path: replies matched by sequence and source address."""
    with client.server(delay=0.010):
        probe = create({"count": 5, "spacing": 0.01, "socket": "dgram"}, timeout=3)
        values = _values(await probe.run(Target("s", SERVER4)))
    assert values[("trunkwatch_icmp_loss_ratio", ())] == 0
    assert _rtt(values, "min") >= 0.010
    with pytest.raises(Unreachable, match="unreachable from"):
        await create({"count": 5, "spacing": 0.3, "socket": "dgram"}, timeout=3).run(
            Target("nowhere", NOWHERE4)
        )
    with pytest.raises(Unreachable, match="no route to destination from"):
        await create({"count": 2, "spacing": 0.05, "socket": "dgram"}, timeout=2).run(
            Target("nowhere", NOWHERE6)
        )


async def test_many_targets_share_one_socket(client: Lab) -> None:
    """Concurrent runs to several hosts: every reply reaches the run that sent its echo."""
    hosts = [SERVER4, SERVER6, "10.77.2.254", "fd77:2::fe", ROUTER4, "fd77:1::fe"]
    with client.server(delay=0.005):
        probes = [create({"count": 20, "spacing": 0.002}, timeout=3) for _ in hosts]
        results = await asyncio.gather(
            *(p.run(Target(h, h)) for p, h in zip(probes, hosts, strict=False))
        )
    for host, result in zip(hosts, results, strict=False):
        values = _values(result)
        assert values[("trunkwatch_icmp_loss_ratio", ())] == 0, host
        behind_responder = host in (SERVER4, SERVER6)
        assert (_rtt(values, "min") >= 0.005) == behind_responder, (host, _rtt(values, "min"))


def _cli(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            lab.net.ns("client"),
            sys.executable,
            "-m",
            "monitor.cli",
            "probe",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        },
        check=False,
    )


def test_cli_probe_icmp_success_and_unreachable(lab: Lab) -> None:
    ok = _cli(
        lab,
        "--target",
        SERVER4,
        "--module",
        "icmp",
        "--param",
        "count=3",
        "--param",
        "spacing=0.01",
        "--timeout",
        "3",
    )
    assert ok.returncode == 0, ok.stderr
    assert "trunkwatch_icmp_loss_ratio{" in ok.stdout
    assert "trunkwatch_icmp_rtt_histogram_seconds_bucket{" in ok.stdout
    down = _cli(
        lab, "--target", NOWHERE4, "--module", "icmp", "--param", "count=2", "--timeout", "2"
    )
    assert down.returncode == 1, down.stderr
    assert 'reason="unreachable"' in down.stdout
    losses = [
        sample.value
        for family in text_string_to_metric_families(down.stdout)
        for sample in family.samples
        if sample.name == "trunkwatch_icmp_loss_ratio"
    ]
    assert losses == [1.0]

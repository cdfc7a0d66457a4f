"""Hostile datagrams on loopback while a real probe polls a real net-snmp snmpd.

The trap receiver and the SNMP client's own socket are flooded with what used to stall the
event loop (a 64 kB OID of one endless sub-identifier took 0.45 s to refuse; a v3 datagram of
64 kB of varbinds 0.4 s inside pysnmp), with costly but well-formed notifications, garbage,
wrong communities and unknown sources. Meanwhile the if_mib probe keeps polling snmpd and a
ticker measures how late the loop wakes it: the probe must keep succeeding with the same
series, and the loop must never be held for long. Replies that reach the client cut short or
broken (through a relay in front of snmpd) must fail their request at once, not time out.

Every flood is bounded in count and time and sent only to 127.0.0.1/127.0.0.2.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import psutil
import pytest
from prometheus_client import CollectorRegistry

from monitor.traps import (
    DROP_REASONS,
    SNMP_TRAP_OID_0,
    SYS_UPTIME_0,
    TrapReceiver,
    TrapsConfig,
    TrapSettings,
    TrapSource,
    load_trap_rules,
)
from probes.base import MalformedReply, ProbeResult, Target
from probes.snmp import V3TrapUser, close_shared_sessions, create
from probes.snmp.client import SnmpClient, SnmpEndpoint
from probes.snmp.codec import (
    Message,
    PduType,
    Tag,
    VarBind,
    decode_message,
    encode_message,
    parse_oid,
)
from tests.integration.snmpd import SnmpdInstance

pytestmark = pytest.mark.integration

COMMUNITY = b"tw-hostile-traps"
V3_USER = b"tw-noc"
V3_ENGINE = bytes.fromhex("8000000001020304")
ASSET = TrapSource("core-sw-1", "hq", "network", "switch", "127.0.0.1")
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
SYS_NAME = parse_oid("1.3.6.1.2.1.1.5.0")
SYS_STATIC = [parse_oid(f"1.3.6.1.2.1.1.{n}.0") for n in (4, 5, 6)]

#: How long each flood lasts, and how often a round of hostile datagrams goes out.
FLOOD_S = 3.0
ROUND_S = 0.1
#: The longest the event loop may be held: the old OID decoding held it 0.45 s per datagram.
MAX_LAG_S = 0.25
#: A fraction of a core for decoding traps, low so the flood exercises the budget.
DECODE_BUDGET = 0.05


@pytest.fixture(autouse=True)
async def shared_sessions() -> AsyncIterator[None]:
    """The probe's process-wide client lives on the test's loop: close it with the loop."""
    yield
    await close_shared_sessions()


# --------------------------------------------------------------------------------------------
# Hostile datagrams


def ber(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def v1v2c(pdu: int, varbinds: bytes, *, community: bytes, request_id: int = 7) -> bytes:
    """A v2c message of any PDU type around raw varbind-list content."""
    rid = ber(0x02, request_id.to_bytes(4, "big", signed=True))
    header = rid + b"\x02\x01\x00\x02\x01\x00"
    return ber(
        0x30, b"\x02\x01\x01" + ber(0x04, community) + ber(pdu, header + ber(0x30, varbinds))
    )


def v3(varbinds: bytes, *, user: bytes) -> bytes:
    """An SNMPv3 noAuthNoPriv trap (USM, plaintext scoped PDU) around varbind-list content."""
    engine = V3_ENGINE
    header = ber(0x30, b"\x02\x01\x4d\x02\x02\x05\xdc\x04\x01\x00\x02\x01\x03")
    usm = ber(0x30, ber(4, engine) + b"\x02\x01\x01\x02\x01\x64" + ber(4, user) + b"\x04\x00" * 2)
    pdu = ber(PduType.TRAP_V2, b"\x02\x01\x01\x02\x01\x00\x02\x01\x00" + ber(0x30, varbinds))
    scoped = ber(0x30, ber(4, engine) + b"\x04\x00" + pdu)
    return ber(0x30, b"\x02\x01\x03" + header + ber(4, usm) + scoped)


def fill(make: Callable[[int], bytes], limit: int = 65_000) -> bytes:
    """The largest ``make(n)`` that fits ``limit`` bytes (a UDP datagram holds 65507)."""
    lo, hi = 1, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if len(make(mid)) <= limit else (lo, mid - 1)
    return make(lo)


TINY = ber(0x30, b"\x06\x01\x2b\x05\x00")  # a varbind of 7 bytes: iso.3 = NULL
# sysUpTime.0 = 1 and snmpTrapOID.0 = 1.3.6.1.4.1.1.1 (a trap no profile maps).
TRAP_HEAD = ber(0x30, b"\x06\x08\x2b\x06\x01\x02\x01\x01\x03\x00" + b"\x43\x01\x01") + ber(
    0x30,
    b"\x06\x0a\x2b\x06\x01\x06\x03\x01\x01\x04\x01\x00" + b"\x06\x07\x2b\x06\x01\x04\x01\x01\x01",
)


def endless_oid(length: int) -> bytes:
    """A varbind named by an OID of one sub-identifier ``length`` bytes long."""
    return ber(0x30, ber(0x06, b"\x2b" + b"\xff" * length + b"\x7f") + b"\x05\x00")


def longest_legal_oid_varbind() -> bytes:
    """A varbind named by an OID of 128 arcs of 5 bytes each: the most a valid OID costs."""
    return ber(0x30, ber(0x06, b"\x2b" + b"\x8f\xff\xff\xff\x7f" * 126) + b"\x05\x00")


Kinds = dict[str, tuple[Callable[[], bytes], str]]


def beyond_the_limits() -> Kinds:
    """Datagrams the limits refuse before anything costly: how to make each, its source."""
    trap = PduType.TRAP_V2
    long_oid = fill(lambda n: v1v2c(trap, endless_oid(n), community=COMMUNITY))
    kinds = {
        "64k-oid": long_oid,
        "9000-varbinds": fill(lambda n: v1v2c(trap, TRAP_HEAD + TINY * n, community=COMMUNITY)),
        "v3-64k-varbinds": fill(lambda n: v3(TINY * n, user=V3_USER)),
        "v3-64k-oid": fill(lambda n: v3(endless_oid(n), user=V3_USER)),
        # Within the varbind cap (a larger one is refused as malformed before its user is read).
        "v3-unknown-user": v3(TINY * 250, user=b"intruder"),
        "garbage": b"\x30\x84\x00\x00\xff\xff" + random.Random(7).randbytes(60_000),
        "wrong-community": fill(lambda n: v1v2c(trap, endless_oid(n), community=b"public")),
    }
    out: Kinds = {name: (_same(datagram), "known") for name, datagram in kinds.items()}
    out["unknown-source"] = (_same(long_oid), "unknown")
    return out


def costly_but_well_formed() -> Kinds:
    """Notifications within every limit that still cost milliseconds each to decode."""

    def inform() -> bytes:
        # A fresh request-id each time: a repeated one is a retransmission, counted once.
        varbinds = TRAP_HEAD + longest_legal_oid_varbind() * 96
        rid = random.randrange(1 << 30)
        return v1v2c(PduType.INFORM, varbinds, community=COMMUNITY, request_id=rid)

    return {
        "longest-oids-inform": (inform, "known"),  # ~62 kB: 96 OIDs of 128 arcs of 5 bytes
        "v3-256-varbinds": (_same(v3(TRAP_HEAD + TINY * 254, user=V3_USER)), "known"),
    }


def _same(datagram: bytes) -> Callable[[], bytes]:
    return lambda: datagram


# --------------------------------------------------------------------------------------------
# What the loop and the probe go through


@dataclass
class Watch:
    """Wake-up lateness of a 10 ms ticker, and the probe's runs, while a flood goes on."""

    lags: list[float] = field(default_factory=list)
    runs: list[tuple[float, ProbeResult | BaseException]] = field(default_factory=list)

    @property
    def max_lag(self) -> float:
        return max(self.lags)


async def tick(watch: Watch, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        await asyncio.sleep(0.01)
        watch.lags.append(loop.time() - started - 0.01)


async def poll(
    probe_run: Callable[[], Awaitable[ProbeResult]], watch: Watch, stop: asyncio.Event
) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        try:
            result = await probe_run()
        except Exception as exc:  # a failed run is what the test looks for
            watch.runs.append((loop.time() - started, exc))
        else:
            watch.runs.append((loop.time() - started, result))
        await asyncio.sleep(0.05)


def series_of(result: ProbeResult) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """Which series a run produced (values move between runs; the set must not)."""
    return {(s.family.name, tuple(sorted(dict(s.labels).items()))) for s in result.samples}


class Sink(asyncio.DatagramProtocol):
    """A sending socket that reads and forgets what comes back (inform responses)."""

    def __init__(self) -> None:
        self.received = 0

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.received += 1


@contextlib.asynccontextmanager
async def sender(host: str = "127.0.0.1") -> AsyncIterator[asyncio.DatagramTransport]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(Sink, local_addr=(host, 0))
    try:
        yield transport
    finally:
        transport.close()


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


# --------------------------------------------------------------------------------------------
# The trap receiver under a flood


@contextlib.asynccontextmanager
async def trap_receiver(
    decode_budget: float = DECODE_BUDGET, max_trap_oids: int = 100
) -> AsyncIterator[tuple[TrapReceiver, CollectorRegistry]]:
    registry = CollectorRegistry()
    settings = TrapSettings(
        listen=("127.0.0.1", 0),
        communities=(COMMUNITY,),
        rules=load_trap_rules(TrapsConfig(credentials=["traps"], profiles=["if_mib"])),
        v3_users=(
            V3TrapUser(
                V3_USER.decode(),
                auth_protocol="none",
                priv_protocol="none",
                engine_ids=(V3_ENGINE,),
            ),
        ),
        decode_budget=decode_budget,
        max_trap_oids=max_trap_oids,
    )
    receiver = TrapReceiver(settings, registry=registry)
    await receiver.start()
    receiver.set_sources({"127.0.0.1": [ASSET]})
    try:
        yield receiver, registry
    finally:
        await receiver.stop()


def dropped(registry: CollectorRegistry) -> dict[str, float]:
    return {
        reason: registry.get_sample_value("trunkwatch_snmp_traps_dropped_total", {"reason": reason})
        or 0.0
        for reason in DROP_REASONS
    }


def received(registry: CollectorRegistry) -> dict[str, float]:
    return {
        sample.labels["trap"]: sample.value
        for family in registry.collect()
        if family.name == "trunkwatch_snmp_traps_received"
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def accounted(registry: CollectorRegistry) -> float:
    return sum(dropped(registry).values()) + sum(received(registry).values())


async def settle(
    check: Callable[[], bool], what: str, within: float = 10.0, step: float = 0.02
) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(step)


async def reaches(count: Callable[[], float], target: float, what: str) -> None:
    """Wait, polling often, until ``count()`` reaches ``target``: a datagram was handled."""
    await settle(lambda: count() >= target, what, step=0.001)


@dataclass
class Flood:
    """What a flood of the trap port sent, and what the loop and the probe went through."""

    watch: Watch
    sent: dict[str, int]
    dropped: dict[str, float]
    received: dict[str, float]


async def flood_while_probing(
    agent: SnmpdInstance, receiver: TrapReceiver, registry: CollectorRegistry, kinds: Kinds
) -> Flood:
    """Send a round of ``kinds`` every ROUND_S for FLOOD_S while the if_mib probe polls
    ``agent`` and a ticker watches the loop; check the probe saw nothing of it."""
    probe = create({"profile": "if_mib", "retries": 0}, timeout=2.0)
    target = Target("core-sw-1", agent.host, agent.port, {"community": agent.community})
    expected = series_of(await probe.run(target))
    assert expected, "the if_mib probe read nothing from snmpd"
    assert receiver.address is not None
    address = receiver.address
    sent = dict.fromkeys(kinds, 0)
    watch, stop = Watch(), asyncio.Event()

    async def send_floods() -> None:
        async with sender("127.0.0.1") as known, sender("127.0.0.2") as unknown:
            deadline = time.monotonic() + FLOOD_S
            while time.monotonic() < deadline:
                for name, (make, source) in kinds.items():
                    (known if source == "known" else unknown).sendto(make(), address)
                    sent[name] += 1
                    # One at a time: a burst of 64 kB datagrams would overflow the receiver's
                    # socket buffer, and a datagram lost there is not counted.
                    await reaches(lambda: accounted(registry), sum(sent.values()), name)
                await asyncio.sleep(ROUND_S)
        stop.set()

    async with asyncio.TaskGroup() as group:
        group.create_task(tick(watch, stop))
        group.create_task(poll(lambda: probe.run(target), watch, stop))
        group.create_task(send_floods())

    # The loop was never held for long, and the probe never noticed the flood.
    assert watch.max_lag < MAX_LAG_S, sorted(watch.lags)[-5:]
    failures = [outcome for _, outcome in watch.runs if not isinstance(outcome, ProbeResult)]
    assert failures == []
    assert len(watch.runs) >= 10
    for duration, outcome in watch.runs:
        assert isinstance(outcome, ProbeResult)
        assert series_of(outcome) == expected
        assert outcome.partial == {}
        assert duration < 1.0
    return Flood(watch, sent, dropped(registry), received(registry))


async def test_datagrams_beyond_the_limits_cost_the_loop_nothing_while_a_probe_polls(
    snmpd_agent: SnmpdInstance, tmp_path: Path
) -> None:
    # The whole loop as budget: what keeps the probe on time here is the limits alone.
    memory_before = rss()
    async with trap_receiver(decode_budget=1.0) as (receiver, registry):
        flood = await flood_while_probing(snmpd_agent, receiver, registry, beyond_the_limits())
        sent = flood.sent
        assert flood.dropped == {
            "unknown_source": sent["unknown-source"],
            "bad_community": sent["wrong-community"],
            "malformed": sent["64k-oid"]
            + sent["9000-varbinds"]
            + sent["v3-64k-varbinds"]
            + sent["v3-64k-oid"]
            + sent["garbage"],
            "auth": sent["v3-unknown-user"],
            "over_budget": 0,
        }
        assert flood.received == {}
        # Memory: decoding 64 kB datagrams by the hundred leaves nothing behind.
        assert rss() - memory_before < 64 << 20
        # And the receiver still takes a real agent's trap.
        assert receiver.address is not None
        await snmptrap(receiver.address, tmp_path)
        await settle(lambda: received(registry).get("linkDown") == 1, "net-snmp's linkDown")


async def test_costly_notifications_are_held_to_the_decode_budget_while_a_probe_polls(
    snmpd_agent: SnmpdInstance, tmp_path: Path
) -> None:
    async with trap_receiver(decode_budget=DECODE_BUDGET) as (receiver, registry):
        flood = await flood_while_probing(snmpd_agent, receiver, registry, costly_but_well_formed())
        total = sum(flood.sent.values())
        decoded = sum(flood.received.values())
        # Decoded while the budget lasted (as the unmapped trap they carry), then dropped.
        assert set(flood.received) <= {"1.3.6.1.4.1.1.1"}  # the trap OID of TRAP_HEAD
        assert decoded > 0
        assert flood.dropped["over_budget"] > 0
        assert decoded + flood.dropped["over_budget"] == total
        # Once the budget has refilled, a real agent's trap gets through.
        assert receiver.address is not None
        await settle(receiver.budget.available, "the decode budget to refill")
        await snmptrap(receiver.address, tmp_path)
        await settle(lambda: received(registry).get("linkDown") == 1, "net-snmp's linkDown")


async def snmptrap(address: tuple[str, int], workdir: Path) -> None:
    if shutil.which("snmptrap") is None:
        pytest.fail("snmptrap not found: install Debian's net-snmp tools (apt-get install snmp)")
    env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(workdir / "tools")}
    proc = await asyncio.create_subprocess_exec(
        "snmptrap",
        "-v2c",
        "-c",
        COMMUNITY.decode(),
        f"udp:{address[0]}:{address[1]}",
        "",
        LINK_DOWN,
        "1.3.6.1.2.1.2.2.1.1.3",
        "i",
        "3",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(15):
        _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode(errors="replace")


async def test_trap_state_stays_bounded_under_many_distinct_traps_and_informs() -> None:
    async with trap_receiver(decode_budget=1.0, max_trap_oids=20) as (receiver, registry):
        assert receiver.address is not None
        address = receiver.address
        memory_before = rss()
        async with sender() as out:
            total = 0

            async def send(datagrams: list[bytes]) -> None:
                nonlocal total
                for datagram in datagrams:  # in small batches: the socket buffer is finite
                    out.sendto(datagram, address)
                    total += 1
                    if total % 25 == 0:
                        await reaches(lambda: accounted(registry), total, "a batch")
                await reaches(lambda: accounted(registry), total, "the last batch")

            # Traps of 3000 distinct unmapped OIDs: one series each up to the cap, then other.
            await send([notification(f"1.3.6.1.4.1.32473.0.{n}") for n in range(3000)])
            assert len(received(registry)) == 21
            assert received(registry)["other"] == 3000 - 20
            # 5000 informs with distinct request-ids: the retransmission memory keeps 4096, so
            # the first one is forgotten (counted anew) and the last one remembered.
            informs = [notification(LINK_DOWN, PduType.INFORM, n) for n in range(1, 5001)]
            await send(informs)
            assert received(registry)["linkDown"] == 5000
            await send([informs[0]])
            assert received(registry)["linkDown"] == 5001
            # A retransmission is acknowledged again, and not counted.
            sink = cast(Sink, out.get_protocol())
            acknowledged = sink.received
            out.sendto(informs[-1], address)
            await reaches(lambda: sink.received, acknowledged + 1, "the acknowledgement")
            assert received(registry)["linkDown"] == 5001
        assert rss() - memory_before < 32 << 20


def notification(trap_oid: str, pdu: PduType = PduType.TRAP_V2, request_id: int = 1) -> bytes:
    varbinds = [
        VarBind(SYS_UPTIME_0, Tag.TIMETICKS, 1),
        VarBind(SNMP_TRAP_OID_0, Tag.OBJECT_IDENTIFIER, parse_oid(trap_oid)),
        VarBind(parse_oid("1.3.6.1.2.1.2.2.1.1.3"), Tag.INTEGER, 3),
    ]
    return encode_message(Message(1, COMMUNITY, pdu, request_id, varbinds=varbinds))


# --------------------------------------------------------------------------------------------
# The client's own socket


@pytest.fixture
async def client() -> AsyncIterator[SnmpClient]:
    async with SnmpClient(bind_v4="127.0.0.1") as opened:
        yield opened


def endpoint(
    agent: SnmpdInstance, host: str | None = None, port: int | None = None
) -> SnmpEndpoint:
    return SnmpEndpoint(
        host or agent.host,
        port or agent.port,
        community=agent.community,
        timeout=3.0,
        retries=1,
    )


async def test_gets_keep_their_timing_while_the_client_socket_is_flooded(
    client: SnmpClient, snmpd_agent: SnmpdInstance
) -> None:
    ep = endpoint(snmpd_agent)
    expected = await client.get(ep, SYS_STATIC)
    # sysContact, sysName, sysLocation as tests/integration/snmpd.py configures them.
    assert [vb.value for vb in expected] == [
        b"noc@example.org",
        b"tw-snmpd",
        b"trunkwatch test rack",
    ]
    (local,) = client.local_addresses
    community = snmpd_agent.community.encode()
    # What a reply could look like, with request-ids no request has (ours are random).
    hostile = [
        fill(lambda n: v1v2c(PduType.RESPONSE, endless_oid(n), community=community)),
        fill(lambda n: v1v2c(PduType.RESPONSE, TINY * n, community=community)),
        fill(lambda n: v1v2c(PduType.RESPONSE, endless_oid(n), community=community))[:30_000],
        b"\x30\x84\x00\x00\xff\xff" + os.urandom(60_000),
    ]
    watch, stop = Watch(), asyncio.Event()
    latencies: list[float] = []

    async def get_loop() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started = loop.time()
            assert await client.get(ep, SYS_STATIC) == expected
            latencies.append(loop.time() - started)
            await asyncio.sleep(0.02)

    sent = 0

    def dropped() -> int:
        return client.stats.dropped_unknown_id + client.stats.dropped_undecodable

    async def send_floods() -> None:
        nonlocal sent
        async with sender() as out:
            deadline = time.monotonic() + FLOOD_S
            while time.monotonic() < deadline:
                for datagram in hostile:
                    out.sendto(datagram, local)
                    sent += 1
                    await reaches(dropped, sent, "a hostile datagram")
                await asyncio.sleep(ROUND_S / 2)
        stop.set()

    async with asyncio.TaskGroup() as group:
        group.create_task(tick(watch, stop))
        group.create_task(get_loop())
        group.create_task(send_floods())

    assert watch.max_lag < MAX_LAG_S, sorted(watch.lags)[-5:]
    assert len(latencies) >= 20
    assert max(latencies) < MAX_LAG_S
    assert client.stats.malformed_replies == 0
    assert client.stats.timeouts == 0


# --------------------------------------------------------------------------------------------
# Replies that reach the client broken, through a relay in front of snmpd


class Relay(asyncio.DatagramProtocol):
    """Forwards requests to snmpd and hands snmpd's replies through ``mangle`` to the client."""

    def __init__(self, agent: tuple[str, int], mangle: Callable[[bytes], bytes]) -> None:
        self.agent = agent
        self.mangle = mangle
        self.transport: asyncio.DatagramTransport | None = None
        self.upstream: asyncio.DatagramTransport | None = None
        self.client: tuple[str, int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        assert self.transport is not None and self.upstream is not None
        if addr == self.agent:
            assert self.client is not None
            self.transport.sendto(self.mangle(data), self.client)
        else:
            self.client = (str(addr[0]), int(addr[1]))
            self.upstream.sendto(data, self.agent)


@contextlib.asynccontextmanager
async def relay(agent: SnmpdInstance, mangle: Callable[[bytes], bytes]) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    protocol = Relay((agent.host, agent.port), mangle)
    front, _ = await loop.create_datagram_endpoint(lambda: protocol, local_addr=("127.0.0.1", 0))
    back, _ = await loop.create_datagram_endpoint(
        lambda: _Back(protocol), local_addr=("127.0.0.1", 0)
    )
    protocol.upstream = back
    try:
        yield int(front.get_extra_info("sockname")[1])
    finally:
        front.close()
        back.close()


class _Back(asyncio.DatagramProtocol):
    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.relay.datagram_received(data, addr)


def request_id_end(data: bytes) -> int:
    """Where the request-id of a short-form v2c message ends (snmpd's replies here are)."""
    pos = 2  # inside the message SEQUENCE
    for _ in range(2):  # past the version and the community
        pos += 2 + data[pos + 1]
    pos += 2  # inside the PDU
    return pos + 2 + data[pos + 1]


#: Where snmpd's replies are cut: right after the request-id, inside error-status, in the
#: middle of the varbinds, one byte short (the message's length then says more than there is).
CUTS: list[Callable[[bytes], bytes]] = [
    lambda data: data[: request_id_end(data)],
    lambda data: data[: request_id_end(data) + 2],
    lambda data: data[: len(data) // 2],
    lambda data: data[:-1],
]


async def test_replies_cut_short_fail_their_request_at_once(
    client: SnmpClient, snmpd_agent: SnmpdInstance
) -> None:
    cut = CUTS[0]
    async with relay(snmpd_agent, lambda data: cut(data)) as port:
        ep = endpoint(snmpd_agent, "127.0.0.1", port)  # 3 s a try, one retry
        for n, cut in enumerate(CUTS, start=1):  # noqa: B007 - the relay reads ``cut``
            started = time.monotonic()
            with pytest.raises(MalformedReply, match="undecodable reply"):
                await client.get(ep, SYS_STATIC)
            assert time.monotonic() - started < 1.0, n  # not after 2 x 3 s
            assert client.stats.malformed_replies == n
    assert client.stats.timeouts == 0


async def test_a_hostile_reply_with_the_right_request_id_fails_at_once(
    client: SnmpClient, snmpd_agent: SnmpdInstance
) -> None:
    community = snmpd_agent.community.encode()

    def spoof(data: bytes) -> bytes:
        # The agent's own request-id and community, and a 64 kB OID where the varbinds were.
        request_id = decode_message(data).request_id
        return fill(
            lambda n: v1v2c(
                PduType.RESPONSE, endless_oid(n), community=community, request_id=request_id
            )
        )

    watch, stop = Watch(), asyncio.Event()

    async def get_many() -> None:
        try:
            async with relay(snmpd_agent, spoof) as port:
                ep = endpoint(snmpd_agent, "127.0.0.1", port)
                for _ in range(10):
                    started = time.monotonic()
                    with pytest.raises(MalformedReply, match=r"OBJECT IDENTIFIER of \d+ bytes"):
                        await client.get(ep, [SYS_NAME])
                    assert time.monotonic() - started < 1.0
        finally:
            stop.set()

    async with asyncio.TaskGroup() as group:
        group.create_task(tick(watch, stop))
        group.create_task(get_many())
    assert watch.max_lag < MAX_LAG_S, sorted(watch.lags)[-5:]
    assert client.stats.malformed_replies == 10

"""SnmpClient (v1/v2c) and PysnmpSession (v3) against a real net-snmp snmpd.

What the client reads must equal what net-snmp's own tools print for the same OIDs; failures
must map to the probe exception tree within bounded time. Behaviours no healthy snmpd shows
(replies from another port, unknown request-ids, garbage, agents walking backwards) are
driven by a small scripted UDP responder.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import cast

import psutil
import pytest

from probes.base import (
    AuthError,
    MalformedReply,
    NoSuchObject,
    ProbeTimeout,
    UnexpectedReply,
)
from probes.snmp import PysnmpSession, SnmpV3Endpoint
from probes.snmp.client import SnmpClient, SnmpEndpoint
from probes.snmp.codec import (
    OID,
    Message,
    PduType,
    Tag,
    VarBind,
    decode_message,
    encode_message,
    format_oid,
    parse_oid,
)
from tests.integration.snmpd import SnmpdInstance, free_udp_port, start_snmpd

pytestmark = pytest.mark.integration

SYSTEM = parse_oid("1.3.6.1.2.1.1")
IF_TABLE = parse_oid("1.3.6.1.2.1.2.2")
SYS_NAME = parse_oid("1.3.6.1.2.1.1.5.0")
SYS_STATIC = [parse_oid(f"1.3.6.1.2.1.1.{n}.0") for n in (1, 2, 4, 5, 6, 7, 8)]
# net-snmp output options: numeric OIDs, every string in hex (parse_netsnmp reads both).
RAW = ("-On", "-Ox")
# Values that change between two reads of the same agent: compared by OID and type only.
MOVING_TAGS = frozenset({Tag.COUNTER32, Tag.COUNTER64, Tag.TIMETICKS})


# --------------------------------------------------------------------------------------------
# net-snmp's output as VarBinds (tools run with -On -Ox and no MIBs)

_ENTRY = re.compile(r"^(\.\d[\d.]*) = (.*)$")


def parse_netsnmp(text: str) -> list[VarBind]:
    """Turn ``snmpget``/``snmpwalk -On -Ox`` output into VarBinds (hex strings span lines)."""
    entries: list[tuple[str, str]] = []
    for line in text.splitlines():
        match = _ENTRY.match(line)
        if match:
            entries.append((match.group(1), match.group(2)))
        elif entries and line.strip():
            oid, value = entries[-1]
            entries[-1] = (oid, f"{value} {line.strip()}")
    return [VarBind(parse_oid(oid), *_netsnmp_value(value)) for oid, value in entries]


def _netsnmp_value(text: str) -> tuple[int, int | bytes | OID | None]:
    kind, _, rest = text.partition(": ")
    rest = rest.strip()
    if text == '""':
        return Tag.OCTET_STRING, b""
    if kind == "Hex-STRING":
        return Tag.OCTET_STRING, bytes.fromhex(rest)
    if kind == "STRING":
        return Tag.OCTET_STRING, rest.strip('"').encode()
    if kind == "INTEGER":
        return Tag.INTEGER, int(rest)
    if kind == "OID":
        return Tag.OBJECT_IDENTIFIER, parse_oid(rest)
    if kind == "IpAddress":
        return Tag.IPADDRESS, bytes(int(part) for part in rest.split("."))
    if kind == "Timeticks":
        return Tag.TIMETICKS, int(rest[1 : rest.index(")")])
    simple = {"Counter32": Tag.COUNTER32, "Gauge32": Tag.GAUGE32, "Counter64": Tag.COUNTER64}
    if kind in simple:
        return simple[kind], int(rest)
    if text.startswith("No Such Object"):
        return Tag.NO_SUCH_OBJECT, None
    if text.startswith("No Such Instance"):
        return Tag.NO_SUCH_INSTANCE, None
    raise AssertionError(f"unexpected net-snmp value: {text!r}")


def assert_same_varbinds(ours: list[VarBind], theirs: list[VarBind]) -> None:
    assert [(vb.oid, vb.tag) for vb in ours] == [(vb.oid, vb.tag) for vb in theirs]
    for mine, tool in zip(ours, theirs, strict=True):
        if mine.tag not in MOVING_TAGS:
            assert mine == tool


def endpoint(agent: SnmpdInstance, **kwargs: object) -> SnmpEndpoint:
    options: dict[str, object] = {"community": agent.community, "timeout": 2.0}
    options.update(kwargs)
    return SnmpEndpoint(agent.host, agent.port, **options)  # type: ignore[arg-type]


@pytest.fixture
async def client() -> AsyncIterator[SnmpClient]:
    async with SnmpClient() as snmp:
        yield snmp


# --------------------------------------------------------------------------------------------
# v1/v2c against snmpd


async def test_get_system_scalars_equals_snmpget(
    client: SnmpClient, snmpd_agent: SnmpdInstance
) -> None:
    ours = await client.get(endpoint(snmpd_agent), SYS_STATIC)
    theirs = parse_netsnmp(
        snmpd_agent.run_tool("snmpget", *map(format_oid, SYS_STATIC), options=RAW)
    )
    assert ours == theirs
    assert ours[3] == VarBind(SYS_NAME, Tag.OCTET_STRING, b"tw-snmpd")


async def test_bulk_walk_of_system_and_if_table_equals_snmpbulkwalk(
    client: SnmpClient, snmpd_agent: SnmpdInstance
) -> None:
    for root in (SYSTEM, IF_TABLE):
        ours = await client.walk(endpoint(snmpd_agent), root, max_repetitions=10)
        theirs = parse_netsnmp(snmpd_agent.run_tool("snmpbulkwalk", format_oid(root), options=RAW))
        assert len(ours) > 20  # a real table, not an empty walk that trivially matches
        assert_same_varbinds(ours, theirs)
    assert client.stats.timeouts == 0


async def test_bulk_walk_asks_for_many_varbinds_per_request(
    client: SnmpClient, snmpd_agent: SnmpdInstance
) -> None:
    rows = await client.walk(endpoint(snmpd_agent), IF_TABLE, max_repetitions=25)
    assert client.stats.requests <= len(rows) // 25 + 2


async def test_v1_walk_uses_getnext_and_equals_snmpwalk(
    client: SnmpClient, snmpd_agent: SnmpdInstance
) -> None:
    ours = await client.walk(endpoint(snmpd_agent, version="1"), SYSTEM)
    v1 = ["-v1", "-c", snmpd_agent.community, *RAW]
    theirs = parse_netsnmp(snmpd_agent.run_tool("snmpwalk", format_oid(SYSTEM), options=v1))
    assert_same_varbinds(ours, theirs)
    # One GETNEXT per object, plus the one that steps past the subtree.
    assert client.stats.requests == len(ours) + 1


async def test_walk_of_a_leaf_or_past_the_end_is_empty(
    client: SnmpClient, snmpd_agent: SnmpdInstance
) -> None:
    assert await client.walk(endpoint(snmpd_agent), parse_oid("1.3.6.1.2.1.1.5.0")) == []
    assert await client.walk(endpoint(snmpd_agent), (2, 25)) == []  # endOfMibView
    assert await client.walk(endpoint(snmpd_agent, version="1"), (2, 25)) == []  # noSuchName


async def test_missing_object_is_a_varbind_in_v2c_and_an_error_in_v1(
    client: SnmpClient, snmpd_agent: SnmpdInstance
) -> None:
    missing = parse_oid("1.3.6.1.2.1.1.99.0")
    got = await client.get(endpoint(snmpd_agent), [SYS_NAME, missing])
    assert got[1] == VarBind(missing, Tag.NO_SUCH_OBJECT, None)
    with pytest.raises(NoSuchObject, match=r"noSuchName at 1\.3\.6\.1\.2\.1\.1\.99\.0"):
        await client.get(endpoint(snmpd_agent, version="1"), [SYS_NAME, missing])


async def test_wrong_community_times_out_after_all_tries(
    client: SnmpClient, snmpd_agent: SnmpdInstance
) -> None:
    ep = endpoint(snmpd_agent, community="not-the-community", timeout=0.3, retries=1)
    started = time.monotonic()
    with pytest.raises(ProbeTimeout) as caught:
        await client.get(ep, [SYS_NAME])
    elapsed = time.monotonic() - started
    assert 0.6 <= elapsed < 1.1  # timeout x (retries + 1), nothing more
    assert client.stats.retries == 1
    assert "after 2 tries of 0.3 s" in str(caught.value)
    assert "not-the-community" not in str(caught.value)
    assert "not-the-community" not in repr(ep)


async def test_closed_port_times_out(client: SnmpClient) -> None:
    ep = SnmpEndpoint("127.0.0.1", free_udp_port(), community="x", timeout=0.2, retries=2)
    started = time.monotonic()
    with pytest.raises(ProbeTimeout):
        await client.walk(ep, SYSTEM)
    assert 0.6 <= time.monotonic() - started < 1.1


async def test_ipv6_agent_is_reached_through_its_own_socket(
    client: SnmpClient, tmp_path: Path
) -> None:
    with start_snmpd(tmp_path, host="::1", name="v6", sys_name="tw-snmpd-v6") as agent:
        got = await client.get(endpoint(agent), [SYS_NAME])
    assert got == [VarBind(SYS_NAME, Tag.OCTET_STRING, b"tw-snmpd-v6")]


async def test_many_concurrent_gets_to_two_agents_share_one_socket(
    snmpd_agent: SnmpdInstance, tmp_path: Path
) -> None:
    def udp_sockets() -> int:
        return len(psutil.Process().net_connections(kind="udp"))

    with start_snmpd(tmp_path, name="second", sys_name="tw-snmpd-b") as second:
        endpoints = [endpoint(snmpd_agent, retries=1), endpoint(second, retries=1)]
        expected = [b"tw-snmpd", b"tw-snmpd-b"]
        before = udp_sockets()
        async with SnmpClient() as client:
            results = await asyncio.gather(
                *(client.get(endpoints[i % 2], [SYS_NAME]) for i in range(200))
            )
            during = udp_sockets()
    for i, got in enumerate(results):
        assert got == [VarBind(SYS_NAME, Tag.OCTET_STRING, expected[i % 2])]
    assert client.stats.replies == 200
    assert client.stats.timeouts == 0
    assert during == before + 1  # every request went out of the one shared IPv4 socket


# --------------------------------------------------------------------------------------------
# Behaviours driven by a scripted responder

Handler = Callable[[Message], list[tuple[str, bytes]]]


class ScriptedAgent(asyncio.DatagramProtocol):
    """Answers each request with what ``handler`` returns: ("main" | "alt", datagram)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Message] = []
        self.main: asyncio.DatagramTransport | None = None
        self.alt: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.main = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        request = decode_message(data)
        self.requests.append(request)
        for via, payload in self.handler(request):
            transport = self.main if via == "main" else self.alt
            assert transport is not None
            transport.sendto(payload, addr)


@contextlib.asynccontextmanager
async def scripted_agent(handler: Handler) -> AsyncIterator[tuple[SnmpEndpoint, ScriptedAgent]]:
    loop = asyncio.get_running_loop()
    agent = ScriptedAgent(handler)
    main, _ = await loop.create_datagram_endpoint(lambda: agent, local_addr=("127.0.0.1", 0))
    alt, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    agent.alt = alt
    port = main.get_extra_info("sockname")[1]
    try:
        yield SnmpEndpoint("127.0.0.1", port, community="c", timeout=0.3, retries=0), agent
    finally:
        main.close()
        alt.close()


def reply(request: Message, varbinds: list[VarBind], **changes: int) -> bytes:
    fields = {"request_id": request.request_id, "error_status": 0, "error_index": 0}
    fields.update(changes)
    return encode_message(
        Message(
            request.version,
            request.community,
            PduType.RESPONSE,
            fields["request_id"],
            fields["error_status"],
            fields["error_index"],
            varbinds,
        )
    )


def echo_name(request: Message) -> list[VarBind]:
    return [VarBind(vb.oid, Tag.OCTET_STRING, b"ok") for vb in request.varbinds]


async def test_reply_from_another_port_is_dropped_and_counted(client: SnmpClient) -> None:
    async with scripted_agent(lambda r: [("alt", reply(r, echo_name(r)))]) as (ep, _):
        with pytest.raises(ProbeTimeout):
            await client.get(ep, [SYS_NAME])
    assert client.stats.dropped_wrong_source == 1


async def test_reply_with_unknown_request_id_is_dropped_and_counted(client: SnmpClient) -> None:
    def handler(r: Message) -> list[tuple[str, bytes]]:
        stray = reply(r, echo_name(r), request_id=r.request_id ^ 0x4000)
        return [("main", stray), ("main", reply(r, echo_name(r)))]

    async with scripted_agent(handler) as (ep, _):
        assert await client.get(ep, [SYS_NAME]) == [VarBind(SYS_NAME, Tag.OCTET_STRING, b"ok")]
    assert client.stats.dropped_unknown_id == 1


async def test_retry_resends_the_same_request_id(client: SnmpClient) -> None:
    def handler(r: Message) -> list[tuple[str, bytes]]:
        return [] if len(agent.requests) == 1 else [("main", reply(r, echo_name(r)))]

    async with scripted_agent(handler) as (ep, agent):
        retrying = SnmpEndpoint(ep.host, ep.port, community="c", timeout=0.2, retries=2)
        assert await client.get(retrying, [SYS_NAME]) == [
            VarBind(SYS_NAME, Tag.OCTET_STRING, b"ok")
        ]
    assert len(agent.requests) == 2
    assert agent.requests[0].request_id == agent.requests[1].request_id
    assert client.stats.retries == 1


async def test_undecodable_reply_fails_the_request_at_once(client: SnmpClient) -> None:
    def handler(r: Message) -> list[tuple[str, bytes]]:
        data = bytearray(reply(r, [VarBind(SYS_NAME, Tag.OCTET_STRING, b"\xaa")]))
        data[-3] = 0x30  # the value's tag becomes a constructed SEQUENCE
        return [("main", bytes(data))]

    async with scripted_agent(handler) as (ep, _):
        slow = SnmpEndpoint(ep.host, ep.port, community="c", timeout=5.0, retries=0)
        started = time.monotonic()
        with pytest.raises(MalformedReply, match="undecodable reply"):
            await client.get(slow, [SYS_NAME])
        assert time.monotonic() - started < 1.0
    assert client.stats.malformed_replies == 1


async def test_agent_walking_backwards_is_malformed_not_a_loop(client: SnmpClient) -> None:
    def handler(r: Message) -> list[tuple[str, bytes]]:
        # Always the same "next" object, whatever was asked: a classic broken agent.
        return [("main", reply(r, [VarBind((*SYSTEM, 1, 0), Tag.INTEGER, 1)]))]

    async with scripted_agent(handler) as (ep, agent):
        with pytest.raises(MalformedReply, match=r"non-increasing OID 1\.3\.6\.1\.2\.1\.1\.1\.0"):
            await client.walk(ep, SYSTEM)
    assert len(agent.requests) == 2


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [(5, UnexpectedReply, "genErr at 1.3.6.1.2.1.1.5.0"), (16, AuthError, "authorizationError")],
)
async def test_error_status_maps_to_the_probe_exception(
    client: SnmpClient, status: int, error: type[Exception], text: str
) -> None:
    def handler(r: Message) -> list[tuple[str, bytes]]:
        return [("main", reply(r, r.varbinds, error_status=status, error_index=1))]

    async with scripted_agent(handler) as (ep, _):
        with pytest.raises(error, match=text):
            await client.get(ep, [SYS_NAME])


async def test_get_reply_naming_other_oids_is_malformed(client: SnmpClient) -> None:
    def handler(r: Message) -> list[tuple[str, bytes]]:
        return [("main", reply(r, [VarBind((*SYSTEM, 6, 0), Tag.OCTET_STRING, b"x")]))]

    async with scripted_agent(handler) as (ep, _):
        with pytest.raises(MalformedReply, match=r"names 1\.3\.6\.1\.2\.1\.1\.6\.0"):
            await client.get(ep, [SYS_NAME])


# --------------------------------------------------------------------------------------------
# SNMPv3 through pysnmp

AUTH = {"SHA": "sha", "SHA-256": "sha256", "SHA-512": "sha512"}
PRIV = {"AES": "aes", "AES-256": "aes256"}


@pytest.fixture
async def v3() -> AsyncIterator[PysnmpSession]:
    async with PysnmpSession() as session:
        yield session


def v3_endpoint(agent: SnmpdInstance, auth: str, **changes: str) -> SnmpV3Endpoint:
    user = agent.v3_user(auth)
    options = {
        "user": user.name,
        "auth_protocol": AUTH[user.auth_protocol],
        "auth_key": user.auth_key,
        "priv_protocol": PRIV[user.priv_protocol],
        "priv_key": user.priv_key,
    }
    options.update(changes)
    return SnmpV3Endpoint(agent.host, agent.port, timeout=1.0, retries=0, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("auth", ["SHA", "SHA-256", "SHA-512"])
async def test_v3_auth_priv_get_equals_snmpget(
    v3: PysnmpSession, snmpd_agent: SnmpdInstance, auth: str
) -> None:
    ours = await v3.get(v3_endpoint(snmpd_agent, auth), SYS_STATIC)
    options = [*snmpd_agent.v3_user(auth).cli_args(), *RAW]
    theirs = parse_netsnmp(
        snmpd_agent.run_tool("snmpget", *map(format_oid, SYS_STATIC), options=options)
    )
    assert ours == theirs
    assert ours[3].value == b"tw-snmpd"


async def test_v3_walk_equals_snmpbulkwalk(v3: PysnmpSession, snmpd_agent: SnmpdInstance) -> None:
    ours = await v3.walk(v3_endpoint(snmpd_agent, "SHA"), IF_TABLE, max_repetitions=20)
    options = [*snmpd_agent.v3_user("SHA").cli_args(), *RAW]
    theirs = parse_netsnmp(
        snmpd_agent.run_tool("snmpbulkwalk", format_oid(IF_TABLE), options=options)
    )
    assert len(ours) > 20
    assert_same_varbinds(ours, theirs)


async def test_v3_missing_object_is_a_no_such_object_varbind(
    v3: PysnmpSession, snmpd_agent: SnmpdInstance
) -> None:
    missing = parse_oid("1.3.6.1.2.1.1.99.0")
    got = await v3.get(v3_endpoint(snmpd_agent, "SHA"), [missing])
    assert got == [VarBind(missing, Tag.NO_SUCH_OBJECT, None)]


async def test_v3_wrong_auth_key_is_an_auth_error_without_the_key(
    v3: PysnmpSession, snmpd_agent: SnmpdInstance
) -> None:
    ep = v3_endpoint(snmpd_agent, "SHA", auth_key="definitely-wrong-key")
    with pytest.raises(AuthError, match="wrong digest") as caught:
        await v3.get(ep, [SYS_NAME])
    assert "definitely-wrong-key" not in str(caught.value)
    assert "definitely-wrong-key" not in repr(ep)
    # The right key works again on the same engine afterwards.
    assert (await v3.get(v3_endpoint(snmpd_agent, "SHA"), [SYS_NAME]))[0].value == b"tw-snmpd"


async def test_v3_unknown_user_is_an_auth_error(
    v3: PysnmpSession, snmpd_agent: SnmpdInstance
) -> None:
    with pytest.raises(AuthError, match="unknown user"):
        await v3.get(v3_endpoint(snmpd_agent, "SHA", user="nobody-here"), [SYS_NAME])


async def test_v3_wrong_priv_key_times_out(v3: PysnmpSession, snmpd_agent: SnmpdInstance) -> None:
    # net-snmp cannot decrypt the PDU and drops it without a report.
    with pytest.raises(ProbeTimeout):
        await v3.get(v3_endpoint(snmpd_agent, "SHA", priv_key="wrong-priv-key"), [SYS_NAME])


async def test_v3_same_user_name_with_different_keys_do_not_disturb_each_other(
    v3: PysnmpSession, tmp_path: Path, snmpd_agent: SnmpdInstance
) -> None:
    base = snmpd_agent.v3_user("SHA")
    other = type(base)(base.name, "SHA", "another-auth-key", "AES", "another-priv-key")
    with start_snmpd(tmp_path, name="keys-b", v3_users=(other,), sys_name="tw-snmpd-b") as b:
        ep_a = v3_endpoint(snmpd_agent, "SHA")
        ep_b = v3_endpoint(b, "SHA")
        results = await asyncio.gather(
            *(v3.get(ep_a if i % 2 else ep_b, [SYS_NAME]) for i in range(20))
        )
    assert [got[0].value for got in results] == [b"tw-snmpd-b", b"tw-snmpd"] * 10


def test_v3_endpoint_rejects_short_keys_without_echoing_them() -> None:
    with pytest.raises(ValueError, match="at least 8") as caught:
        SnmpV3Endpoint("127.0.0.1", user="u", auth_key="short1")
    assert "short1" not in str(caught.value)

"""Hypothesis fuzzing of the SNMP codec and the trap receiver, on a fixed budget.

Round trips of any message, arbitrary and mutated bytes, OIDs of any shape up to a whole
datagram, and datagrams of every kind handed to the trap receiver and to the SNMPv3
pre-check. Each test sets its own example count; the whole file runs in a few seconds on a
2-core CI machine. The one-second deadline only guards against a hang: the limits themselves
are asserted through what decoding returns (a capped OID is refused by its cap, with the
cap's message). No example database is written.
"""

from __future__ import annotations

import re
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from monitor.core.clock import ManualClock
from monitor.traps import (
    DROP_REASONS,
    MAX_NOTIFICATION_VARBINDS,
    SNMP_TRAP_OID_0,
    SYS_UPTIME_0,
    TrapReceiver,
    TrapsConfig,
    TrapSettings,
    TrapSource,
    load_trap_rules,
)
from probes.snmp import V3NotificationReceiver, V3TrapUser
from probes.snmp.codec import (
    MAX_OID_LEN,
    MAX_SUBID,
    MAX_SUBID_BYTES,
    OID,
    CodecError,
    Message,
    PduType,
    Tag,
    TrapV1,
    VarBind,
    decode_message,
    encode_message,
    peek_header,
    read_v3_header,
)
from probes.snmp.profiles import TrapRule
from tests.unit.test_traps import FakeTransport


def budget(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=timedelta(seconds=1),
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def ber(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def mutate(raw: bytearray, data: st.DataObject, most: int = 4) -> bytes:
    """Set, insert or delete a few bytes anywhere."""
    for _ in range(data.draw(st.integers(1, most))):
        where = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        action = data.draw(st.sampled_from(["set", "insert", "delete"]))
        if action == "set" and raw:
            raw[where] = data.draw(st.integers(0, 255))
        elif action == "insert":
            raw.insert(where, data.draw(st.integers(0, 255)))
        elif len(raw) > 1:
            del raw[where]
    return bytes(raw)


# --------------------------------------------------------------------------------------------
# Messages

oids = st.builds(
    lambda first, second, rest: (first, second, *rest),
    st.integers(0, 1),
    st.integers(0, 39),
    st.lists(st.integers(0, 2**32 - 1), max_size=20),
) | st.builds(
    lambda second, rest: (2, second, *rest),
    st.integers(0, 2**20),
    st.lists(st.integers(0, 2**32 - 1), max_size=5),
)

values: st.SearchStrategy[tuple[int, int | bytes | OID | None]] = st.one_of(
    st.tuples(st.just(int(Tag.INTEGER)), st.integers(-(2**31), 2**31 - 1)),
    st.tuples(st.just(int(Tag.OCTET_STRING)), st.binary(max_size=300)),
    st.tuples(st.just(int(Tag.OPAQUE)), st.binary(max_size=20)),
    st.tuples(st.just(int(Tag.NULL)), st.none()),
    st.tuples(st.just(int(Tag.OBJECT_IDENTIFIER)), oids),
    st.tuples(st.just(int(Tag.IPADDRESS)), st.binary(min_size=4, max_size=4)),
    st.tuples(st.sampled_from([0x41, 0x42, 0x43]), st.integers(0, 2**32 - 1)),
    st.tuples(st.just(int(Tag.COUNTER64)), st.integers(0, 2**64 - 1)),
    st.tuples(st.sampled_from([0x80, 0x81, 0x82]), st.none()),
)

varbinds = st.builds(lambda oid, tv: VarBind(oid, tv[0], tv[1]), oids, values)

messages = (
    st.builds(
        lambda version, pdu, rid, es, ei, vbs, community: Message(
            version, community, pdu, rid, es, ei, vbs
        ),
        st.just(1),
        st.sampled_from([t for t in PduType if t != PduType.TRAP_V1]),
        st.integers(-(2**31), 2**31 - 1),
        st.integers(0, 18),
        st.integers(0, 2**31 - 1),
        st.lists(varbinds, max_size=12),
        st.binary(max_size=40),
    )
    | st.builds(
        lambda pdu, rid, vbs: Message(0, b"public", pdu, rid, 0, 0, vbs),
        st.sampled_from([PduType.GET, PduType.GETNEXT, PduType.RESPONSE, PduType.SET]),
        st.integers(0, 2**31 - 1),
        st.lists(varbinds, max_size=5),
    )
    | st.builds(
        lambda vbs, enterprise, addr, generic, specific, ts: Message(
            0, b"t", PduType.TRAP_V1, 0, 0, 0, vbs, TrapV1(enterprise, addr, generic, specific, ts)
        ),
        st.lists(varbinds, max_size=4),
        oids,
        st.binary(min_size=4, max_size=4),
        st.integers(0, 6),
        st.integers(0, 2**31 - 1),
        st.integers(0, 2**32 - 1),
    )
)


@given(messages)
@budget(200)
def test_round_trip_of_any_message(message: Message) -> None:
    data = encode_message(message)
    assert decode_message(data) == message
    assert decode_message(bytearray(data)) == message
    assert decode_message(memoryview(data)) == message


@given(st.binary(max_size=200))
@budget(500)
def test_arbitrary_bytes_raise_nothing_but_codec_error(data: bytes) -> None:
    for read in (decode_message, peek_header, read_v3_header):
        try:
            read(data)
        except CodecError:
            pass


@given(messages, st.data())
@budget(300)
def test_mutated_messages_decode_or_raise_and_the_header_agrees(
    message: Message, data: st.DataObject
) -> None:
    raw = mutate(bytearray(encode_message(message)), data)
    try:
        head = peek_header(raw)
    except CodecError:
        head = None
    decoded: Message | None = None
    failed_for: int | None = None
    try:
        decoded = decode_message(raw)
    except CodecError as exc:
        failed_for = exc.request_id
    if failed_for is not None:
        # A request-id named by a failure is the one the header reads (what a client matches).
        assert head is not None
        assert head.request_id == failed_for
    if decoded is None:
        return
    assert head is not None
    rid = None if decoded.pdu_type == PduType.TRAP_V1 else decoded.request_id
    assert (head.version, head.community, head.pdu_type, head.request_id) == (
        decoded.version,
        decoded.community,
        decoded.pdu_type,
        rid,
    )
    # Whatever decodes must encode again (the decoder only accepts what it can represent).
    assert decode_message(encode_message(decoded)) == decoded


# --------------------------------------------------------------------------------------------
# OIDs of any shape, up to a whole datagram

#: One sub-identifier as (bytes, lead): ``bytes`` base-128 bytes, the first one ``lead``.
sub_identifiers = st.tuples(
    st.one_of(st.integers(1, 7), st.integers(1, 65_000)), st.integers(0x81, 0xFF)
)


def encode_sub_identifier(width: int, lead: int) -> tuple[bytes, int]:
    """The bytes of a sub-identifier ``width`` bytes long and the value they carry."""
    raw = bytes([lead & 0x7F]) if width == 1 else bytes([lead]) + b"\xff" * (width - 2) + b"\x7f"
    value = 0
    for byte in raw[:64]:  # enough to know the value is too large, without a huge number
        value = (value << 7) | (byte & 0x7F)
    return raw, value


@given(st.lists(sub_identifiers, max_size=140))
@budget(150)
def test_oids_of_any_shape_decode_exactly_when_within_the_limits(
    subs: list[tuple[int, int]],
) -> None:
    encoded = [encode_sub_identifier(width, lead) for width, lead in subs]
    body = b"\x2b" + b"".join(raw for raw, _ in encoded)
    if len(body) > 65_000:
        body = body[:65_000]
        encoded = []  # cut anywhere: only the refusal is predictable
        subs = [(MAX_SUBID_BYTES + 1, 0x81)]
    varbind = ber(0x30, ber(0x06, body) + b"\x05\x00")
    pdu = ber(PduType.RESPONSE, b"\x02\x01\x07\x02\x01\x00\x02\x01\x00" + ber(0x30, varbind))
    datagram = ber(0x30, b"\x02\x01\x01\x04\x01c" + pdu)
    within = (
        len(subs) + 2 <= MAX_OID_LEN
        and all(width <= MAX_SUBID_BYTES for width, _ in subs)
        and all(value <= MAX_SUBID for _, value in encoded)
    )
    try:
        got: Message | CodecError = decode_message(datagram)
    except CodecError as exc:
        got = exc
    if within:
        assert isinstance(got, Message), got
        assert got.varbinds[0].oid == (1, 3, *(value for _, value in encoded))
        return
    assert isinstance(got, CodecError)
    assert got.request_id == 7
    if any(width > MAX_SUBID_BYTES for width, _ in subs) or len(subs) + 2 > MAX_OID_LEN:
        # Refused by a cap, before any number of more than 35 bits was built.
        assert re.search(r"longer than 5 bytes|more than 128", str(got)), got


# --------------------------------------------------------------------------------------------
# The trap receiver: every datagram is accounted for exactly once

COMMUNITY = b"tw-fuzz"
KNOWN = ("127.0.0.1", 40000)
SOURCES = {"127.0.0.1": [TrapSource("sw-1", "hq", "network", "switch", "127.0.0.1")]}
RULES: dict[OID, TrapRule] = load_trap_rules(TrapsConfig(credentials=["traps"]))
LINK_DOWN = (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)
IF_INDEX_5 = (1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 5)


notification_messages = st.builds(
    lambda version_pdu, community, rid, trap_oid, extra: Message(
        version_pdu[0],
        community,
        version_pdu[1],
        rid,
        varbinds=[
            VarBind(SYS_UPTIME_0, Tag.TIMETICKS, 1),
            VarBind(SNMP_TRAP_OID_0, Tag.OBJECT_IDENTIFIER, trap_oid),
            *extra,
        ],
    ),
    st.sampled_from([(1, PduType.TRAP_V2), (1, PduType.INFORM), (0, PduType.GET)]),
    st.sampled_from([COMMUNITY, b"public"]),
    st.integers(0, 2**31 - 1),
    st.sampled_from([LINK_DOWN, (1, 3, 6, 1, 4, 1, 32473, 0, 1)]) | oids,
    st.lists(st.just(VarBind(IF_INDEX_5, Tag.INTEGER, 5)) | varbinds, max_size=6),
) | st.builds(
    lambda community, generic, specific, vbs: Message(
        0,
        community,
        PduType.TRAP_V1,
        0,
        varbinds=vbs,
        trap_v1=TrapV1((1, 3, 6, 1, 4, 1, 8072), b"\x7f\0\0\x01", generic, specific, 9),
    ),
    st.sampled_from([COMMUNITY, b"public"]),
    st.integers(0, 7),
    st.integers(-1, 3),
    st.lists(varbinds, max_size=4),
)


@st.composite
def trap_datagrams(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["intact", "mutated", "many", "bytes", "v3"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "v3":
        return b"\x30\x2e\x02\x01\x03" + draw(st.binary(max_size=60))
    message = draw(notification_messages)
    if kind == "many":
        message.varbinds.extend(
            [VarBind((1, 3, 6, 1, 9), Tag.NULL, None)] * draw(st.integers(200, 400))
        )
    raw = encode_message(message)
    return raw if kind != "mutated" else mutate(bytearray(raw), draw(st.data()))


def totals(registry: CollectorRegistry) -> tuple[float, float]:
    dropped = sum(
        registry.get_sample_value("trunkwatch_snmp_traps_dropped_total", {"reason": r}) or 0
        for r in DROP_REASONS
    )
    received = sum(
        sample.value
        for family in registry.collect()
        if family.name == "trunkwatch_snmp_traps_received"
        for sample in family.samples
        if sample.name.endswith("_total")
    )
    return dropped, received


@given(trap_datagrams(), st.booleans())
@budget(250)
def test_the_trap_receiver_accounts_for_every_datagram_once(data: bytes, known: bool) -> None:
    registry = CollectorRegistry()
    settings_ = TrapSettings(communities=(COMMUNITY,), rules=RULES, decode_budget=1.0)
    receiver = TrapReceiver(settings_, registry=registry, clock=ManualClock())
    transport = FakeTransport()
    receiver.connection_made(transport)  # type: ignore[arg-type]
    receiver.set_sources(SOURCES)
    receiver.receive(data, KNOWN if known else ("127.0.0.9", 40000))  # raises nothing
    assert totals(registry) in {(1.0, 0.0), (0.0, 1.0)}
    for reply, addr in transport.sent:
        # Only an inform with the right community is answered, with its own request-id.
        assert addr == KNOWN
        inform, response = decode_message(data), decode_message(reply)
        assert (inform.pdu_type, inform.community) == (PduType.INFORM, COMMUNITY)
        assert (response.pdu_type, response.request_id) == (PduType.RESPONSE, inform.request_id)
        assert len(response.varbinds) <= MAX_NOTIFICATION_VARBINDS
    for alarm in receiver.book.active_alarms():
        assert alarm.asset == "sw-1"


# --------------------------------------------------------------------------------------------
# SNMPv3: the pre-check and pysnmp behind it


def v3_message(varbinds: bytes, user: bytes, flags: int) -> bytes:
    engine = bytes.fromhex("8000000001020304")
    header = ber(0x30, b"\x02\x01\x4d\x02\x02\x05\xdc" + ber(4, bytes([flags])) + b"\x02\x01\x03")
    usm = ber(0x30, ber(4, engine) + b"\x02\x01\x01\x02\x01\x64" + ber(4, user) + b"\x04\x00" * 2)
    pdu = ber(PduType.TRAP_V2, b"\x02\x01\x01\x02\x01\x00\x02\x01\x00" + ber(0x30, varbinds))
    return ber(
        0x30, b"\x02\x01\x03" + header + ber(4, usm) + ber(0x30, ber(4, engine) + b"\x04\x00" + pdu)
    )


def content(data: bytes, pos: int) -> tuple[int, int]:
    """Where the content of the TLV at ``pos`` starts and ends."""
    n, start = data[pos + 1], pos + 2
    if n & 0x80:
        width = n & 0x7F
        n, start = int.from_bytes(data[start : start + width], "big"), start + width
    return start, start + n


def varbind_list_body(items: list[VarBind]) -> bytes:
    """The encoded varbinds of ``items``, cut out of a v2c message the codec encodes."""
    data = encode_message(Message(1, b"", PduType.RESPONSE, 0, varbinds=items))
    start, _ = content(data, 0)
    pos = content(data, start)[1]  # past the version
    pos = content(data, pos)[1]  # past the community
    pos = content(data, pos)[0]  # into the PDU
    for _ in range(3):  # request-id, error-status, error-index
        pos = content(data, pos)[1]
    start, end = content(data, pos)
    return data[start:end]


@st.composite
def v3_datagrams(draw: st.DrawFn) -> bytes:
    body = varbind_list_body(draw(st.lists(varbinds, max_size=6)))
    count = draw(st.sampled_from([1, 1, 300]))
    user = draw(st.sampled_from([b"tw-fuzz", b"", b"someone"]))
    raw = v3_message(body * count, user, draw(st.sampled_from([0, 1, 3, 4])))
    return raw if draw(st.booleans()) else mutate(bytearray(raw), draw(st.data()))


def test_the_v3_strategy_frames_varbinds_as_the_codec_reads_them() -> None:
    vbs = [VarBind(LINK_DOWN, Tag.INTEGER, 1), VarBind(IF_INDEX_5, Tag.OCTET_STRING, b"x" * 200)]
    assert read_v3_header(v3_message(varbind_list_body(vbs), b"u", 0)).varbinds == 2


async def test_the_v3_receiver_answers_every_datagram_with_an_outcome() -> None:
    user = V3TrapUser("tw-fuzz", auth_protocol="none", priv_protocol="none")
    receiver = V3NotificationReceiver([user], max_varbinds=MAX_NOTIFICATION_VARBINDS)
    receiver.start(lambda data, address: None)
    outcomes: set[str] = set()

    @given(v3_datagrams())
    @budget(150)
    def feed(data: bytes) -> None:
        outcome, notification = receiver.feed(data, KNOWN)
        outcomes.add(outcome)
        assert outcome in {"accepted", "discovery", "auth", "malformed"}
        if notification is not None:
            assert len(notification.varbinds) <= MAX_NOTIFICATION_VARBINDS
        # What the pre-check refuses never reaches pysnmp: its outcome is known beforehand.
        refused: str | None
        try:
            header = read_v3_header(data, max_varbinds=MAX_NOTIFICATION_VARBINDS)
        except CodecError:
            refused = "malformed"
        else:
            refused = "auth" if header.user_name not in (b"", b"tw-fuzz") else None
        if refused is not None:
            assert outcome == refused

    try:
        feed()
    finally:
        receiver.close()
    assert "malformed" in outcomes

"""The trap receiver without a network: datagrams built with the codec are handed to
``TrapReceiver.receive`` from a chosen source address, replies are caught by a fake transport,
and time is a ManualClock. Real senders (net-snmp snmptrap / snmpinform) are in
tests/integration/test_traps_snmptrap.py.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from monitor.config import load_config
from monitor.core.clock import ManualClock
from monitor.core.sources import ConfigError
from monitor.inventory import Asset
from monitor.traps import (
    SNMP_TRAP_ADDRESS_0,
    SNMP_TRAP_ENTERPRISE_0,
    SNMP_TRAP_OID_0,
    SYS_UPTIME_0,
    TrapReceiver,
    TrapsConfig,
    TrapService,
    TrapSettings,
    TrapSource,
    build_settings,
    load_trap_rules,
    v1_to_v2,
)
from probes.base import Target
from probes.snmp.codec import (
    OID,
    Message,
    PduType,
    Tag,
    TrapV1,
    VarBind,
    decode_message,
    encode_message,
    parse_oid,
)
from probes.snmp.mibs import MibResolver
from probes.snmp.profiles import TrapRule, load_profile

COMMUNITY = b"tw-trap-secret"
SWITCH = ("10.20.0.2", 49152)
GATEWAY = ("10.30.0.5", 161)
BS = ("10.40.0.9", 162)

LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
LINK_UP = "1.3.6.1.6.3.1.1.5.4"
IF_INDEX = "1.3.6.1.2.1.2.2.1.1"
DSX1_LINE_STATUS_CHANGE = "1.3.6.1.2.1.10.18.15.0.1"
DSX1_LINE_STATUS = "1.3.6.1.2.1.10.18.6.1.10"
TSIM = "1.3.6.1.4.1.32473.77"

ALARM = "trunkwatch_snmp_trap_alarm"
RECEIVED = "trunkwatch_snmp_traps_received_total"
DROPPED = "trunkwatch_snmp_traps_dropped_total"


class FakeTransport:
    """Catches what the receiver sends (inform responses)."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent.append((data, addr))

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


SOURCES = {
    "10.20.0.2": [TrapSource("core-sw-1", "hq", "network", "switch", "10.20.0.2")],
    "10.30.0.5": [TrapSource("e1-gw-1", "hq", "line", "e1_gateway", "10.30.0.5")],
    "10.40.0.9": [TrapSource("bs-xingning", "xingning", "radio", "tetra_bs", "10.40.0.9")],
}


def builtin_rules() -> dict[OID, TrapRule]:
    return load_trap_rules(TrapsConfig(credentials=["traps"]))


def make_receiver(
    clock: ManualClock | None = None, **settings: Any
) -> tuple[TrapReceiver, CollectorRegistry, FakeTransport]:
    registry = CollectorRegistry()
    options: dict[str, Any] = {"communities": (COMMUNITY,), "rules": builtin_rules()}
    options.update(settings)
    receiver = TrapReceiver(
        TrapSettings(**options), registry=registry, clock=clock or ManualClock()
    )
    transport = FakeTransport()
    receiver.connection_made(transport)  # type: ignore[arg-type]
    receiver.set_sources(SOURCES)
    return receiver, registry, transport


def vb_int(oid: str, value: int) -> VarBind:
    return VarBind(parse_oid(oid), Tag.INTEGER, value)


def v2_trap(
    trap_oid: str,
    *extra: VarBind,
    community: bytes = COMMUNITY,
    pdu: PduType = PduType.TRAP_V2,
    request_id: int = 7,
) -> bytes:
    varbinds = [
        VarBind(SYS_UPTIME_0, Tag.TIMETICKS, 123456),
        VarBind(SNMP_TRAP_OID_0, Tag.OBJECT_IDENTIFIER, parse_oid(trap_oid)),
        *extra,
    ]
    return encode_message(Message(1, community, pdu, request_id, varbinds=varbinds))


def v1_trap(
    enterprise: str, generic: int, specific: int, *varbinds: VarBind, community: bytes = COMMUNITY
) -> bytes:
    header = TrapV1(parse_oid(enterprise), bytes([10, 20, 0, 2]), generic, specific, 4242)
    return encode_message(
        Message(0, community, PduType.TRAP_V1, 0, varbinds=list(varbinds), trap_v1=header)
    )


def link(kind: str, if_index: int) -> bytes:
    return v2_trap(
        LINK_DOWN if kind == "down" else LINK_UP,
        vb_int(f"{IF_INDEX}.{if_index}", if_index),
        vb_int(f"1.3.6.1.2.1.2.2.1.7.{if_index}", 1),
        vb_int(f"1.3.6.1.2.1.2.2.1.8.{if_index}", 2 if kind == "down" else 1),
    )


def asset_labels(source: tuple[str, int]) -> dict[str, str]:
    s = SOURCES[source[0]][0]
    return {"site": s.site, "asset": s.asset, "system": s.system, "kind": s.kind}


def alarm_value(
    registry: CollectorRegistry, source: tuple[str, int], **labels: str
) -> float | None:
    return registry.get_sample_value(ALARM, {**asset_labels(source), **labels})


def received(registry: CollectorRegistry, source: tuple[str, int], trap: str) -> float | None:
    return registry.get_sample_value(RECEIVED, {**asset_labels(source), "trap": trap})


def dropped(registry: CollectorRegistry, reason: str) -> float | None:
    return registry.get_sample_value(DROPPED, {"reason": reason})


LINK_DOWN_3 = {
    "alarm": "link_down",
    "severity": "warning",
    "trap": "linkDown",
    "index": "3",
}


# -- mapping -----------------------------------------------------------------------------------


def test_link_down_raises_link_down_for_its_ifindex_and_link_up_clears_only_that_one() -> None:
    receiver, registry, _ = make_receiver()
    receiver.receive(link("down", 3), SWITCH)
    receiver.receive(link("down", 5), SWITCH)
    assert alarm_value(registry, SWITCH, **LINK_DOWN_3) == 1
    assert alarm_value(registry, SWITCH, **{**LINK_DOWN_3, "index": "5"}) == 1
    assert received(registry, SWITCH, "linkDown") == 2

    receiver.receive(link("up", 3), SWITCH)
    assert alarm_value(registry, SWITCH, **LINK_DOWN_3) is None
    assert alarm_value(registry, SWITCH, **{**LINK_DOWN_3, "index": "5"}) == 1
    assert received(registry, SWITCH, "linkUp") == 1
    assert [(a.asset, a.alarm, a.instance) for a in receiver.book.active_alarms()] == [
        ("core-sw-1", "link_down", "5")
    ]


def test_ds1_line_status_change_raises_on_alarm_bits_and_clears_on_no_alarm() -> None:
    receiver, registry, _ = make_receiver()
    los_lof = v2_trap(DSX1_LINE_STATUS_CHANGE, vb_int(f"{DSX1_LINE_STATUS}.2", 96))
    receiver.receive(los_lof, GATEWAY)
    line_2 = {"alarm": "ds1_line_alarm", "severity": "critical", "line": "2"}
    assert alarm_value(registry, GATEWAY, trap="dsx1LineStatusChange", **line_2) == 1

    receiver.receive(v2_trap(DSX1_LINE_STATUS_CHANGE, vb_int(f"{DSX1_LINE_STATUS}.2", 1)), GATEWAY)
    assert receiver.book.active_alarms() == []
    assert received(registry, GATEWAY, "dsx1LineStatusChange") == 2


def test_base_station_fail_and_restore_pairs_raise_and_clear() -> None:
    receiver, registry, _ = make_receiver()
    carrier_state_2 = vb_int(f"{TSIM}.1.2.1.2.2", 2)
    receiver.receive(v2_trap(f"{TSIM}.2.0.1", carrier_state_2), BS)
    receiver.receive(v2_trap(f"{TSIM}.2.0.5", vb_int(f"{TSIM}.1.4.1.0", 2)), BS)
    assert alarm_value(
        registry, BS, alarm="carrier_down", severity="critical", trap="tsimCarrierFail", carrier="2"
    )
    assert alarm_value(registry, BS, alarm="mains_fail", severity="warning", trap="tsimMainsFail")

    receiver.receive(v2_trap(f"{TSIM}.2.0.2", vb_int(f"{TSIM}.1.2.1.2.2", 1)), BS)
    receiver.receive(v2_trap(f"{TSIM}.2.0.6"), BS)
    assert receiver.book.active_alarms() == []


def test_a_clearing_trap_without_an_instance_ends_every_instance_of_its_alarm() -> None:
    rules = {
        parse_oid("1.3.6.1.4.1.32473.9.0.1"): TrapRule(
            "fanFail",
            parse_oid("1.3.6.1.4.1.32473.9.0.1"),
            "vendor",
            raises="fan_fail",
            severity="warning",
            instance=parse_oid("1.3.6.1.4.1.32473.9.1.1"),
        ),
        parse_oid("1.3.6.1.4.1.32473.9.0.2"): TrapRule(
            "fansOk", parse_oid("1.3.6.1.4.1.32473.9.0.2"), "vendor", clears=("fan_fail",)
        ),
    }
    receiver, _, _ = make_receiver(rules=rules)
    for fan in (1, 2):
        receiver.receive(
            v2_trap("1.3.6.1.4.1.32473.9.0.1", vb_int(f"1.3.6.1.4.1.32473.9.1.1.{fan}", 0)), BS
        )
    assert [a.instance for a in receiver.book.active_alarms()] == ["1", "2"]
    receiver.receive(v2_trap("1.3.6.1.4.1.32473.9.0.2"), BS)
    assert receiver.book.active_alarms() == []


# -- lifetimes ---------------------------------------------------------------------------------


async def test_a_raised_alarm_expires_after_its_hold_unless_raised_again() -> None:
    clock = ManualClock()
    receiver, registry, _ = make_receiver(clock, hold=900.0)
    receiver.receive(link("down", 3), SWITCH)
    await clock.advance(899)
    assert alarm_value(registry, SWITCH, **LINK_DOWN_3) == 1
    receiver.receive(link("down", 3), SWITCH)  # the device repeats it: the hold starts again
    await clock.advance(899)
    assert alarm_value(registry, SWITCH, **LINK_DOWN_3) == 1
    await clock.advance(2)
    assert alarm_value(registry, SWITCH, **LINK_DOWN_3) is None
    assert receiver.book.active_alarms() == []


async def test_a_mapping_hold_overrides_the_receivers_default() -> None:
    rule = TrapRule(
        "doorOpen",
        parse_oid("1.3.6.1.4.1.32473.9.0.3"),
        "vendor",
        raises="door_open",
        severity="info",
        hold=60.0,
    )
    clock = ManualClock()
    receiver, _, _ = make_receiver(clock, rules={rule.oid: rule}, hold=900.0)
    receiver.receive(v2_trap("1.3.6.1.4.1.32473.9.0.3"), BS)
    await clock.advance(59)
    assert [a.alarm for a in receiver.book.active_alarms()] == ["door_open"]
    await clock.advance(1)
    assert receiver.book.active_alarms() == []


# -- SNMPv1 ------------------------------------------------------------------------------------


def test_v1_generic_and_enterprise_specific_traps_convert_to_the_v2_form() -> None:
    generic = decode_message(v1_trap("1.3.6.1.4.1.8072.3.2.10", 2, 0, vb_int(f"{IF_INDEX}.3", 3)))
    assert v1_to_v2(generic) == [
        VarBind(SYS_UPTIME_0, Tag.TIMETICKS, 4242),
        VarBind(SNMP_TRAP_OID_0, Tag.OBJECT_IDENTIFIER, parse_oid(LINK_DOWN)),
        VarBind(parse_oid(f"{IF_INDEX}.3"), Tag.INTEGER, 3),
        VarBind(SNMP_TRAP_ADDRESS_0, Tag.IPADDRESS, bytes([10, 20, 0, 2])),
        VarBind(
            SNMP_TRAP_ENTERPRISE_0, Tag.OBJECT_IDENTIFIER, parse_oid("1.3.6.1.4.1.8072.3.2.10")
        ),
    ]
    specific = v1_to_v2(decode_message(v1_trap(f"{TSIM}.2", 6, 7)))
    assert specific[1].value == parse_oid(f"{TSIM}.2.0.7")  # tsimBackhaulDown
    cold_start = v1_to_v2(decode_message(v1_trap("1.3.6.1.4.1.8072", 0, 0)))
    assert cold_start[1].value == parse_oid("1.3.6.1.6.3.1.1.5.1")
    # The community must not travel on in the varbinds (snmpTrapCommunity.0).
    assert all(vb.value != COMMUNITY for vb in specific)


def test_a_v1_link_down_raises_the_same_alarm_as_a_v2_one() -> None:
    receiver, registry, _ = make_receiver()
    receiver.receive(v1_trap("1.3.6.1.4.1.8072.3.2.10", 2, 0, vb_int(f"{IF_INDEX}.3", 3)), SWITCH)
    assert alarm_value(registry, SWITCH, **LINK_DOWN_3) == 1
    receiver.receive(v1_trap(f"{TSIM}.2", 6, 7), BS)
    assert received(registry, BS, "tsimBackhaulDown") == 1


# -- informs -----------------------------------------------------------------------------------


def test_an_inform_is_answered_with_a_response_echoing_its_request_id_and_varbinds() -> None:
    receiver, registry, transport = make_receiver()
    inform = v2_trap(LINK_DOWN, vb_int(f"{IF_INDEX}.4", 4), pdu=PduType.INFORM, request_id=31337)
    receiver.receive(inform, SWITCH)
    assert len(transport.sent) == 1
    data, addr = transport.sent[0]
    assert addr == SWITCH
    reply = decode_message(data)
    sent = decode_message(inform)
    assert reply.pdu_type == PduType.RESPONSE
    assert reply.request_id == 31337
    assert (reply.version, reply.error_status, reply.error_index) == (1, 0, 0)
    assert reply.varbinds == sent.varbinds
    assert reply.community == COMMUNITY
    assert alarm_value(registry, SWITCH, **{**LINK_DOWN_3, "index": "4"}) == 1


async def test_a_retransmitted_inform_is_acknowledged_again_but_counted_once() -> None:
    clock = ManualClock()
    receiver, registry, transport = make_receiver(clock)
    inform = v2_trap(LINK_DOWN, vb_int(f"{IF_INDEX}.4", 4), pdu=PduType.INFORM, request_id=99)
    receiver.receive(inform, SWITCH)
    receiver.receive(inform, SWITCH)
    assert len(transport.sent) == 2
    assert received(registry, SWITCH, "linkDown") == 1
    await clock.advance(61)  # long after any retransmission: a new inform that reuses the id
    receiver.receive(inform, SWITCH)
    assert received(registry, SWITCH, "linkDown") == 2


# -- what is dropped ---------------------------------------------------------------------------


def test_unknown_sources_and_wrong_communities_are_counted_and_dropped_unanswered() -> None:
    receiver, registry, transport = make_receiver()
    receiver.receive(link("down", 3), ("192.0.2.77", 162))
    wrong = v2_trap(LINK_DOWN, community=b"public", pdu=PduType.INFORM)
    receiver.receive(wrong, SWITCH)
    assert dropped(registry, "unknown_source") == 1
    assert dropped(registry, "bad_community") == 1
    assert dropped(registry, "malformed") == 0
    assert dropped(registry, "auth") == 0
    assert transport.sent == []
    assert received(registry, SWITCH, "linkDown") is None
    assert receiver.book.active_alarms() == []


@pytest.mark.parametrize(
    "datagram",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x30\x03\x02\x01", id="truncated"),
        pytest.param(b"GET / HTTP/1.0\r\n\r\n", id="not-snmp"),
        pytest.param(link("down", 3)[:-3], id="cut-short"),
        pytest.param(
            encode_message(Message(1, COMMUNITY, PduType.GET, 1, varbinds=[])), id="a-get"
        ),
        pytest.param(
            encode_message(
                Message(1, COMMUNITY, PduType.TRAP_V2, 1, varbinds=[vb_int("1.3.6.1.2.1.1.3.0", 5)])
            ),
            id="no-snmpTrapOID",
        ),
        pytest.param(v1_trap("1.3.6.1.4.1.8072", 9, 0), id="v1-generic-9"),
    ],
)
def test_malformed_datagrams_are_counted_and_the_receiver_keeps_working(datagram: bytes) -> None:
    receiver, registry, transport = make_receiver()
    receiver.datagram_received(datagram, SWITCH)
    assert dropped(registry, "malformed") == 1
    assert transport.sent == []
    receiver.datagram_received(link("down", 3), SWITCH)
    assert alarm_value(registry, SWITCH, **LINK_DOWN_3) == 1


def test_an_snmpv3_datagram_without_v3_users_is_dropped_as_auth() -> None:
    receiver, registry, _ = make_receiver()
    # The first bytes of net-snmp's v3 engine-id discovery probe: SEQUENCE, INTEGER 3 …
    probe = bytes.fromhex("303e020103301102040c5e9b0d020300ffe30401040201030410300e0400020100")
    receiver.receive(probe, SWITCH)
    assert dropped(registry, "auth") == 1


# -- hostile input and the decode budget ------------------------------------------------------


class CpuMeter:
    """A stand-in for the thread's CPU clock: each reading after a start adds ``cost``."""

    def __init__(self, cost: float) -> None:
        self.cost = cost
        self.readings = 0
        self.now = 0.0

    def __call__(self) -> float:
        self.readings += 1
        if self.readings % 2 == 0:  # the reading after a decode
            self.now += self.cost
        return self.now


def make_metered(
    cost: float, clock: ManualClock | None = None, **settings: Any
) -> tuple[TrapReceiver, CollectorRegistry, FakeTransport, CpuMeter]:
    registry = CollectorRegistry()
    meter = CpuMeter(cost)
    options: dict[str, Any] = {"communities": (COMMUNITY,), "rules": builtin_rules()}
    options.update(settings)
    receiver = TrapReceiver(
        TrapSettings(**options), registry=registry, clock=clock or ManualClock(), cpu_time=meter
    )
    transport = FakeTransport()
    receiver.connection_made(transport)  # type: ignore[arg-type]
    receiver.set_sources(SOURCES)
    return receiver, registry, transport, meter


def with_long_oid(community: bytes, pdu: PduType = PduType.TRAP_V2) -> bytes:
    """A notification (request-id 7) whose one varbind is named by a 64 kB OID: one endless
    sub-identifier. The codec will not encode such an OID, so it is framed here."""
    name = b"\x2b" + b"\xff" * 65_000 + b"\x7f"
    varbind = _ber(0x30, _ber(0x06, name) + b"\x05\x00")
    pdu_body = b"\x02\x01\x07\x02\x01\x00\x02\x01\x00" + _ber(0x30, varbind)
    return _ber(0x30, b"\x02\x01\x01" + _ber(0x04, community) + _ber(pdu, pdu_body))


def _ber(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def test_pdu_type_and_community_are_checked_before_anything_is_decoded() -> None:
    receiver, registry, _, meter = make_metered(0.001)
    receiver.receive(with_long_oid(b"public"), SWITCH)
    receiver.receive(with_long_oid(COMMUNITY, pdu=PduType.GET), SWITCH)
    assert dropped(registry, "bad_community") == 1
    assert dropped(registry, "malformed") == 1
    assert meter.readings == 0  # neither was decoded, so neither was charged
    receiver.receive(with_long_oid(COMMUNITY), SWITCH)
    assert dropped(registry, "malformed") == 2
    assert meter.readings == 2


async def test_decoding_beyond_the_budget_is_dropped_as_over_budget_until_it_refills(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="trunkwatch.traps")
    clock = ManualClock()
    receiver, registry, _, _ = make_metered(0.04, clock, decode_budget=0.1)
    assert dropped(registry, "over_budget") == 0  # the series exists before the first drop
    for _ in range(5):  # 0.1 s of budget: three decodes of 0.04 s, then it is spent
        receiver.receive(link("down", 3), SWITCH)
    assert received(registry, SWITCH, "linkDown") == 3
    assert dropped(registry, "over_budget") == 2
    await clock.advance(0.1)  # refilled by 0.01 s: still in debt
    receiver.receive(link("down", 3), SWITCH)
    assert dropped(registry, "over_budget") == 3
    await clock.advance(0.5)
    receiver.receive(link("down", 3), SWITCH)
    assert received(registry, SWITCH, "linkDown") == 4
    await clock.advance(3600)  # saved up: one second's worth at most
    for _ in range(5):
        receiver.receive(link("down", 3), SWITCH)
    assert received(registry, SWITCH, "linkDown") == 7
    receiver.reconfigure(replace(receiver.settings, decode_budget=1.0))
    await clock.advance(1)
    for _ in range(20):
        receiver.receive(link("down", 3), SWITCH)
    assert received(registry, SWITCH, "linkDown") == 7 + 20
    # Logged when the budget runs out and when decoding resumes, not per datagram.
    used = (
        "trap decoding used its budget (0.1 s of CPU a second): dropping datagrams as over_budget"
    )
    back = "trap decoding back within its budget after dropping {} datagrams"
    assert [r.getMessage() for r in caplog.records if "budget" in r.getMessage()] == [
        used,
        back.format(3),
        used,
        back.format(2),
    ]


def test_what_is_dropped_before_decoding_costs_no_budget() -> None:
    receiver, registry, _, meter = make_metered(0.05, decode_budget=0.1)
    for _ in range(100):
        receiver.receive(link("down", 3), ("192.0.2.1", 162))
        receiver.receive(v2_trap(LINK_DOWN, community=b"guess"), SWITCH)
        receiver.receive(b"\x30\x03\x02\x01", SWITCH)
    assert meter.readings == 0
    receiver.receive(link("down", 3), SWITCH)
    assert received(registry, SWITCH, "linkDown") == 1
    assert dropped(registry, "over_budget") == 0


def test_notifications_with_more_than_256_varbinds_are_malformed_and_unanswered() -> None:
    receiver, registry, transport = make_receiver()
    filler = [vb_int(f"1.3.6.1.4.1.32473.9.{n}", n) for n in range(254)]
    receiver.receive(v2_trap(LINK_UP, *filler, pdu=PduType.INFORM), SWITCH)  # 256 in all
    assert len(transport.sent) == 1
    too_many = [*filler, vb_int("1.3.6.1.4.1.32473.9.999", 1)]
    receiver.receive(v2_trap(LINK_DOWN, *too_many, pdu=PduType.INFORM, request_id=8), SWITCH)
    assert dropped(registry, "malformed") == 1
    assert len(transport.sent) == 1
    assert received(registry, SWITCH, "linkUp") == 1
    assert received(registry, SWITCH, "linkDown") is None


async def test_v3_datagrams_pysnmp_would_spend_long_on_are_refused_before_it() -> None:
    from probes.snmp import V3TrapUser

    receiver, registry, _ = make_receiver()
    user = V3TrapUser("tw-noc", auth_protocol="none", priv_protocol="none")
    receiver.reconfigure(replace(receiver.settings, v3_users=(user,)))
    try:
        tiny = _ber(0x30, b"\x06\x01\x2b\x05\x00")
        receiver.receive(v3_trap(tiny * 9000, b"tw-noc"), SWITCH)  # 64 kB of varbinds
        receiver.receive(v3_trap(tiny, b"intruder"), SWITCH)
        long_name = _ber(0x30, _ber(0x06, b"\x2b" + b"\xff" * 60_000 + b"\x7f") + b"\x05\x00")
        receiver.receive(v3_trap(long_name, b"tw-noc"), SWITCH)
        assert dropped(registry, "malformed") == 2
        assert dropped(registry, "auth") == 1
    finally:
        await receiver.stop()


def v3_trap(varbinds: bytes, user: bytes) -> bytes:
    """An SNMPv3 noAuthNoPriv trap (USM, plaintext) with the given varbind list content."""
    engine = bytes.fromhex("8000000001020304")
    header = _ber(0x30, b"\x02\x01\x4d\x02\x02\x05\xdc\x04\x01\x00\x02\x01\x03")
    usm = _ber(
        0x30, _ber(4, engine) + b"\x02\x01\x01\x02\x01\x64" + _ber(4, user) + b"\x04\x00" * 2
    )
    pdu = _ber(PduType.TRAP_V2, b"\x02\x01\x01\x02\x01\x00\x02\x01\x00" + _ber(0x30, varbinds))
    scoped = _ber(0x30, _ber(4, engine) + b"\x04\x00" + pdu)
    return _ber(0x30, b"\x02\x01\x03" + header + _ber(4, usm) + scoped)


# -- cardinality -------------------------------------------------------------------------------


def test_unmapped_trap_oids_beyond_the_cap_are_counted_as_other() -> None:
    receiver, registry, _ = make_receiver(max_trap_oids=2)
    for n in (1, 2, 3, 4, 1):
        receiver.receive(v2_trap(f"1.3.6.1.4.1.99999.0.{n}"), SWITCH)
    assert received(registry, SWITCH, "1.3.6.1.4.1.99999.0.1") == 2
    assert received(registry, SWITCH, "1.3.6.1.4.1.99999.0.2") == 1
    assert received(registry, SWITCH, "other") == 2
    assert received(registry, SWITCH, "1.3.6.1.4.1.99999.0.3") is None
    # Mapped traps keep their names whatever the cap.
    receiver.receive(link("down", 1), SWITCH)
    assert received(registry, SWITCH, "linkDown") == 1
    names = {
        s.labels["trap"]
        for metric in registry.collect()
        if metric.name == "trunkwatch_snmp_traps_received"
        for s in metric.samples
    }
    assert names == {"1.3.6.1.4.1.99999.0.1", "1.3.6.1.4.1.99999.0.2", "other", "linkDown"}


def test_alarms_beyond_max_alarms_are_refused_and_counted() -> None:
    receiver, registry, _ = make_receiver(max_alarms=3)
    for index in range(1, 6):
        receiver.receive(link("down", index), SWITCH)
    assert [a.instance for a in receiver.book.active_alarms()] == ["1", "2", "3"]
    assert registry.get_sample_value("trunkwatch_snmp_trap_alarms_refused_total") == 2
    receiver.receive(link("down", 2), SWITCH)  # refreshing an active one needs no room
    receiver.receive(link("up", 1), SWITCH)
    receiver.receive(link("down", 4), SWITCH)
    assert [a.instance for a in receiver.book.active_alarms()] == ["2", "3", "4"]


def test_instance_values_from_long_strings_are_cut() -> None:
    rule = TrapRule(
        "portAlarm",
        parse_oid("1.3.6.1.4.1.32473.9.0.4"),
        "vendor",
        raises="port_alarm",
        severity="warning",
        instance=parse_oid("1.3.6.1.4.1.32473.9.2.0"),
        instance_label="port",
    )
    receiver, _, _ = make_receiver(rules={rule.oid: rule})
    name = VarBind(parse_oid("1.3.6.1.4.1.32473.9.2.0"), Tag.OCTET_STRING, b"x" * 500)
    receiver.receive(v2_trap("1.3.6.1.4.1.32473.9.0.4", name), BS)
    (alarm,) = receiver.book.active_alarms()
    assert alarm.instance == "x" * 64


# -- sources -----------------------------------------------------------------------------------


def test_assets_sharing_an_address_are_told_apart_by_the_source_port() -> None:
    receiver, registry, _ = make_receiver()
    receiver.set_sources(
        {
            "127.0.0.1": [
                TrapSource("sim-a", "hq", "radio", "tetra_bs", "127.0.0.1", 16101),
                TrapSource("sim-b", "hq", "radio", "tetra_bs", "127.0.0.1", 16102),
            ]
        }
    )
    receiver.receive(link("down", 1), ("127.0.0.1", 16102))
    receiver.receive(link("down", 1), ("127.0.0.1", 40000))  # another port: the first asset
    labels = {"site": "hq", "system": "radio", "kind": "tetra_bs", "trap": "linkDown"}
    assert registry.get_sample_value(RECEIVED, {**labels, "asset": "sim-b"}) == 1
    assert registry.get_sample_value(RECEIVED, {**labels, "asset": "sim-a"}) == 1
    # IPv4-mapped IPv6 sources (a dual-stack socket) are the IPv4 asset.
    receiver.receive(link("down", 1), ("::ffff:127.0.0.1", 16101))
    assert registry.get_sample_value(RECEIVED, {**labels, "asset": "sim-a"}) == 2


def test_assets_removed_from_the_configuration_lose_their_series() -> None:
    receiver, registry, _ = make_receiver()
    receiver.receive(link("down", 3), SWITCH)
    receiver.set_sources({k: v for k, v in SOURCES.items() if k != SWITCH[0]})
    assert received(registry, SWITCH, "linkDown") is None
    assert receiver.book.active_alarms() == []
    receiver.receive(link("down", 3), SWITCH)
    assert dropped(registry, "unknown_source") == 1


# -- profiles ----------------------------------------------------------------------------------


def test_builtin_profiles_map_the_standard_and_base_station_traps() -> None:
    rules = builtin_rules()
    by_name = {r.name: r for r in rules.values()}
    assert by_name["linkDown"].oid == parse_oid(LINK_DOWN)
    assert by_name["linkDown"].raises == "link_down"
    assert by_name["linkUp"].clears == ("link_down",)
    assert by_name["dsx1LineStatusChange"].oid == parse_oid(DSX1_LINE_STATUS_CHANGE)
    pairs = {r.name: (r.raises, r.clears) for r in rules.values() if r.profile == "trunked_bs"}
    assert pairs == {
        "tsimCarrierFail": ("carrier_down", ()),
        "tsimCarrierRestored": (None, ("carrier_down",)),
        "tsimVswrHigh": ("vswr_high", ()),
        "tsimVswrNormal": (None, ("vswr_high",)),
        "tsimMainsFail": ("mains_fail", ()),
        "tsimMainsRestored": (None, ("mains_fail",)),
        "tsimBackhaulDown": ("backhaul_down", ()),
        "tsimBackhaulUp": (None, ("backhaul_down",)),
    }
    assert all(
        oid[:-1] == parse_oid(f"{TSIM}.2.0") for oid in rules if rules[oid].name[:4] == "tsim"
    )


def test_trap_mapping_mistakes_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "vendor.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            description: Vendor alarms with mistakes.
            traps:
              - name: fanFail
                oid: 1.3.6.1.4.1.32473.9.0.1
                raises: fan_fail
              - name: fanOk
                oid: 1.3.6.1.4.1.32473.9.0.2
                clears: fan_failed
              - name: doorOpen
                oid: .1.3.6.1.4.1.32473.9.0.1
                raises: door_open
                severity: major
              - name: portDown
                oid: 1.3.6.1.4.1.32473.9.0.4
                raises: port_down
                severity: warning
                instance: {oid: 1.3.6.1.4.1.32473.9.2.1, label: instance}
              - name: note
                oid: 1.3.6.1.4.1.32473.9.0.5
                severity: info
            """
        )
    )
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    found = [str(p) for p in info.value.problems]
    assert found == [
        f"{path}:12: traps[2].severity: Input should be 'critical', 'warning' or 'info'",
    ], found
    # Fix the shape; the semantic checks then report together.
    path.write_text(path.read_text().replace("severity: major", "severity: warning"))
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    found = [str(p) for p in info.value.problems]
    assert found == [
        f"{path}:3: traps[0].severity: an alarm needs a severity (critical, warning, info)",
        f"{path}:8: traps[1].clears: no trap in this profile raises fan_failed",
        f"{path}:10: traps[2].oid: trap 1.3.6.1.4.1.32473.9.0.1 is mapped twice in this profile",
        f"{path}:17: traps[3].instance.label: label 'instance' is reserved",
        f"{path}:20: traps[4].severity: only used by a trap that raises an alarm",
    ], found


def test_trap_mappings_may_name_notifications_through_a_mib(tmp_path: Path) -> None:
    path = tmp_path / "bs.yaml"
    text = textwrap.dedent(
        """\
        description: Base station alarms by MIB name.
        traps:
          - name: tsimCarrierFail
            oid: TRUNKWATCH-SIM-MIB::tsimCarrierFail
            raises: carrier_down
            severity: critical
            instance: {oid: TRUNKWATCH-SIM-MIB::tsimCarrierState, label: carrier}
          - name: vendorThing
            oid: TW-ABSENT-MIB::vendorThing
        """
    )
    path.write_text(text)
    resolver = MibResolver(cache_dir=tmp_path / "cache")
    with pytest.raises(ConfigError) as info:
        load_profile(path, resolver)
    (problem,) = info.value.problems
    assert str(problem).startswith(
        f"{path}:9: traps[1].oid: MIB module TW-ABSENT-MIB not found in ["
    )
    path.write_text(text[: text.index("  - name: vendorThing")])
    (rule,) = load_profile(path, resolver).traps
    assert rule.oid == parse_oid(f"{TSIM}.2.0.1")
    assert rule.instance == parse_oid(f"{TSIM}.1.2.1.2")


# -- configuration -----------------------------------------------------------------------------

CONFIG = """\
credentials:
  traps: {community: "${TW_TEST_TRAP_COMMUNITY:-tw-trap-secret}"}
  polling: {community: public}
sites: [{id: hq, name: HQ}]
assets:
  - {id: core-sw-1, site: hq, system: network, kind: switch, address: 10.20.0.2}
traps:
  listen: 127.0.0.1:0
  credentials: traps
  profiles: [if_mib]
  hold: 10m
"""


def test_the_traps_section_resolves_communities_and_the_profiles_traps(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(CONFIG)
    settings = build_settings(load_config(path))
    assert settings.listen == ("127.0.0.1", 0)
    assert settings.communities == (COMMUNITY,)
    assert settings.hold == 600.0
    assert {r.name for r in settings.rules.values()} == {
        "linkDown",
        "linkUp",
        "coldStart",  # if_mib includes system
        "warmStart",
        "authenticationFailure",
    }
    assert "tw-trap-secret" not in repr(settings)


def test_the_decode_budget_is_configured_in_the_traps_section(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(CONFIG)
    assert build_settings(load_config(path)).decode_budget == 0.2
    path.write_text(CONFIG + "  decode_budget: 0.05\n")
    assert build_settings(load_config(path)).decode_budget == 0.05
    path.write_text(CONFIG + "  decode_budget: 0\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert str(problem).startswith(f"{path}:12: traps.decode_budget: ")
    assert "0.01" in str(problem)


def test_traps_section_problems_are_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        CONFIG.replace("credentials: traps\n", "credentials: [traps, nobody, polling2]\n")
        .replace("profiles: [if_mib]", "profiles: [if_mib, no_such]")
        .replace("polling: {community: public}", "polling2: {user: x}")
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    found = [str(p) for p in info.value.problems]
    assert f"{path}:9: traps.credentials[1]: no credentials 'nobody'" in found
    assert f"{path}:9: traps.credentials[2]: credentials 'polling2' have no community" in found
    assert any(p.startswith(f"{path}:10: traps.profiles: unknown profile 'no_such'") for p in found)
    assert len(found) == 3, found

    # SNMPv3 keys are checked as the receiver will use them; their values never show.
    path.write_text(
        CONFIG.replace(
            "polling: {community: public}",
            "v3: {user: noc, auth_key: tw-k3y, priv_key: tw-priv-aes128}",
        )
        + "  v3_users: [{credentials: v3}]\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:12: traps.v3_users[0].credentials: auth_key must have at least 8 characters"
    ]
    assert "tw-k3y" not in str(info.value)

    path.write_text(CONFIG.replace("listen: 127.0.0.1:0", "listen: everywhere"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:8: traps.listen: expected HOST:PORT such as 127.0.0.1:9750, got 'everywhere'"
    ]


async def test_the_service_follows_reloads_keeping_counts_across_a_new_address(
    tmp_path: Path,
) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(CONFIG)
    registry = CollectorRegistry()
    service = TrapService(registry, ManualClock())

    def assets(config_path: Path) -> Sequence[Asset]:
        config = load_config(config_path)
        return [
            Asset(a.id, a.site, a.system, a.kind, a.id, Target(a.id, a.address), None)
            for a in config.assets
        ]

    def receiver() -> TrapReceiver | None:
        # A call, not the attribute: mypy keeps an attribute narrowed by an assert across awaits.
        return service.receiver

    await service.apply(load_config(path), assets(path))
    first = service.receiver
    assert first is not None and first.address is not None
    first.receive(link("down", 3), SWITCH)
    assert alarm_value(registry, SWITCH, **LINK_DOWN_3) == 1

    # Same address, new hold: the same socket. New address: a new socket, same counts.
    path.write_text(CONFIG.replace("hold: 10m", "hold: 20m"))
    await service.apply(load_config(path), assets(path))
    assert service.receiver is first
    assert first.settings.hold == 1200.0
    path.write_text(CONFIG.replace("127.0.0.1:0", "127.0.0.2:0"))
    await service.apply(load_config(path), assets(path))
    second = receiver()
    assert second is not None and second is not first
    assert second.address is not None and second.address[0] == "127.0.0.2"
    assert received(registry, SWITCH, "linkDown") == 1
    assert alarm_value(registry, SWITCH, **LINK_DOWN_3) == 1

    # An address that cannot be bound is a configuration problem; the receiver stays.
    path.write_text(CONFIG.replace("127.0.0.1:0", f"127.0.0.2:{second.address[1]}"))
    with pytest.raises(ConfigError) as info:
        await service.apply(load_config(path), assets(path))
    (problem,) = info.value.problems
    assert problem.field == "traps.listen"
    assert "cannot listen on udp 127.0.0.2:" in problem.reason
    assert service.receiver is second

    # The section removed: receiver and series are gone.
    path.write_text(CONFIG[: CONFIG.index("traps:\n  listen")])
    await service.apply(load_config(path), assets(path))
    assert receiver() is None
    assert registry.get_sample_value(DROPPED, {"reason": "malformed"}) is None


def test_assets_become_trap_sources_with_their_labels() -> None:
    asset = Asset(
        "bs-xingning",
        "xingning",
        "radio",
        "tetra_bs",
        "兴宁区基站",
        Target("bs-xingning", "10.40.0.9", 16101, MappingProxyType({"community": "x"})),
        None,
    )
    source = TrapSource.from_asset(asset)
    assert source == TrapSource("bs-xingning", "xingning", "radio", "tetra_bs", "10.40.0.9", 16101)


def test_a_replicas_trap_series_carry_its_process_labels() -> None:
    asset = Asset(
        "core-sw-1",
        "hq",
        "network",
        "switch",
        "core-sw-1",
        Target("core-sw-1", "10.20.0.2", None, MappingProxyType({})),
        None,
        process_labels=(("replica", "b"),),
    )
    receiver, registry, _ = make_receiver()
    receiver.set_sources({"10.20.0.2": [TrapSource.from_asset(asset)]})
    receiver.receive(link("down", 3), SWITCH)
    process = {**asset_labels(SWITCH), "replica": "b"}
    assert registry.get_sample_value(RECEIVED, {**process, "trap": "linkDown"}) == 1
    assert registry.get_sample_value(ALARM, {**process, **LINK_DOWN_3}) == 1
    # Without it the two replicas' series would collide: none is left unlabelled.
    assert received(registry, SWITCH, "linkDown") is None
    assert alarm_value(registry, SWITCH, **LINK_DOWN_3) is None

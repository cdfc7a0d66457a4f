"""The simulator's SNMP agent: protocol answers from the MIB views, over real UDP on
loopback, and silence whenever the fleet says the device cannot be reached."""

from __future__ import annotations

import asyncio

import pytest

from monitor.core.clock import ManualClock
from monitor.simulator import oids as O
from monitor.simulator.agent import ErrorStatus, SnmpAgent
from monitor.simulator.fleet import DEFAULT_FLEET, Fault, Fleet
from probes.snmp.codec import Message, PduType, Tag, VarBind, decode_message, encode_message

T0 = 1467331200.0


def make_agent() -> tuple[SnmpAgent, ManualClock]:
    source = ManualClock()
    fleet = Fleet({**DEFAULT_FLEET, "start": T0}, source=source)
    return SnmpAgent(fleet, ephemeral=True), source


def request(
    pdu: PduType,
    *oids: tuple[int, ...],
    version: int = 1,
    community: bytes = b"public",
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:
    return encode_message(
        Message(
            version=version,
            community=community,
            pdu_type=pdu,
            request_id=4242,
            error_status=non_repeaters,
            error_index=max_repetitions,
            varbinds=[VarBind(oid, Tag.NULL, None) for oid in oids],
        )
    )


def ask(agent: SnmpAgent, asset: str, data: bytes) -> Message:
    reply = agent.answer(asset, data)
    assert reply is not None
    return decode_message(reply)


async def test_get_answers_values_and_v2_exceptions() -> None:
    agent, source = make_agent()
    await source.advance(60)
    answer = ask(
        agent,
        "bs-xingning",
        request(PduType.GET, (*O.SYS_NAME, 0), (*O.TSIM_CALL_ATTEMPTS, 0), (*O.SYS_NAME, 1),
                (1, 3, 6, 1, 2, 1, 99999, 0)),
    )  # fmt: skip
    assert answer.pdu_type == PduType.RESPONSE and answer.request_id == 4242
    assert answer.error_status == 0
    assert [vb.tag for vb in answer.varbinds] == [
        Tag.OCTET_STRING, Tag.COUNTER64, Tag.NO_SUCH_INSTANCE, Tag.NO_SUCH_OBJECT
    ]  # fmt: skip
    assert answer.varbinds[0].value == b"bs-xingning"


def test_getnext_and_getbulk_walk_in_order() -> None:
    agent, _ = make_agent()
    answer = ask(agent, "e1-gw-110", request(PduType.GETNEXT, O.DSX1_LINE_STATUS))
    assert answer.varbinds[0].oid == (*O.DSX1_LINE_STATUS, 1)
    assert answer.varbinds[0].value == 1
    bulk = ask(
        agent,
        "e1-gw-110",
        request(PduType.GETBULK, O.SYS_UP_TIME, O.IF_DESCR, non_repeaters=1, max_repetitions=4),
    )
    oids = [vb.oid for vb in bulk.varbinds]
    assert oids[0] == (*O.SYS_UP_TIME, 0)
    assert oids[1:4] == [(*O.IF_DESCR, 1), (*O.IF_DESCR, 2), (*O.IF_DESCR, 3)]
    assert oids[4][: len(O.IF_TYPE)] == O.IF_TYPE
    end = ask(agent, "e1-gw-110", request(PduType.GETNEXT, (2, 0)))
    assert end.varbinds[0].tag == Tag.END_OF_MIB_VIEW


def test_v1_walk_skips_counter64_and_fails_with_no_such_name() -> None:
    agent, _ = make_agent()
    step = ask(agent, "bs-xingning", request(PduType.GETNEXT, (*O.TSIM_REGISTERED_TERMINALS, 0),
                                           version=0))  # fmt: skip
    assert step.varbinds[0].oid == (*O.TSIM_LATITUDE, 0)
    missing = ask(
        agent,
        "bs-xingning",
        request(PduType.GET, (*O.SYS_NAME, 0), (*O.TSIM_CALL_ATTEMPTS, 0), version=0),
    )
    assert (missing.error_status, missing.error_index) == (ErrorStatus.NO_SUCH_NAME, 2)
    assert [vb.oid for vb in missing.varbinds] == [(*O.SYS_NAME, 0), (*O.TSIM_CALL_ATTEMPTS, 0)]


def test_set_is_refused() -> None:
    agent, _ = make_agent()
    answer = ask(agent, "core-sw-1", request(PduType.SET, (*O.SYS_NAME, 0)))
    assert (answer.error_status, answer.error_index) == (ErrorStatus.NOT_WRITABLE, 1)


def test_silence_for_bad_community_garbage_and_unreachable_devices() -> None:
    agent, _ = make_agent()
    get = request(PduType.GET, (*O.SYS_NAME, 0))
    assert agent.answer("bs-shanglin", request(PduType.GET, (*O.SYS_NAME, 0),
                                             community=b"private")) is None  # fmt: skip
    assert agent.answer("bs-shanglin", b"\x30\x03\x02\x01") is None
    assert agent.answer("bs-shanglin", get) is not None
    agent.fleet.inject(Fault.BACKHAUL_DOWN, "bs-binyang")
    assert agent.answer("bs-shanglin", get) is None
    assert agent.answer("bs-binyang", get) is None
    assert agent.answer("bs-xingning", get) is not None


def test_bulk_answer_is_trimmed_to_the_datagram_limit() -> None:
    agent, _ = make_agent()
    agent.max_datagram = 600
    reply = agent.answer("core-sw-1", request(PduType.GETBULK, O.IF_ENTRY, max_repetitions=200))
    assert reply is not None and len(reply) <= 600
    assert 0 < len(decode_message(reply).varbinds) < 200
    too_big = ask(agent, "core-sw-1", request(PduType.GET, *[(*O.IF_DESCR, i) for i in
                                                               range(1, 49)]))  # fmt: skip
    assert too_big.error_status == ErrorStatus.TOO_BIG


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.replies.put_nowait(data)


async def test_agent_answers_over_udp_on_loopback() -> None:
    agent, _ = make_agent()
    async with agent:
        host, port = agent.endpoints["srv-cad-1"]
        assert len(agent.endpoints) == len(agent.fleet.ports)
        loop = asyncio.get_running_loop()
        transport, client = await loop.create_datagram_endpoint(_Client, remote_addr=(host, port))
        try:
            transport.sendto(request(PduType.GET, (*O.HR_SYSTEM_UPTIME, 0)))
            reply = decode_message(await asyncio.wait_for(client.replies.get(), 5.0))
            assert reply.varbinds[0].tag == Tag.TIMETICKS
            agent.fleet.inject(Fault.SITE_DOWN, "srv-cad-1")
            transport.sendto(request(PduType.GET, (*O.HR_SYSTEM_UPTIME, 0)))
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.replies.get(), 0.3)
        finally:
            transport.close()

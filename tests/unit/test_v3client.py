"""SnmpV3Client's USM rules against a scripted agent on loopback: forged, replayed and
downgraded replies are dropped, one discovery serves concurrent requests.

The agent here is our own code playing the authoritative side (``v3message`` and ``usmcrypto``);
that it agrees with net-snmp is shown in tests/integration/test_snmp_v3client.py. These tests
pin what a healthy snmpd never sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import cast

import pytest

from probes.base import AuthError, ProbeTimeout
from probes.snmp.codec import Pdu, PduType, Tag, VarBind
from probes.snmp.usmcrypto import UsmKeyring, UsmKeys, decrypt_scoped_pdu, encrypt_scoped_pdu
from probes.snmp.v3client import SnmpV3Client, SnmpV3Endpoint
from probes.snmp.v3message import (
    FLAG_AUTH,
    FLAG_PRIV,
    ScopedPdu,
    UsmMessage,
    UsmParameters,
    decode_scoped_pdu,
    decode_usm_message,
    encode_scoped_pdu,
    encode_usm_message,
)

ENGINE = bytes.fromhex("80001f8804747765737400")
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
UNKNOWN_ENGINE_IDS = (1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0)
NOT_IN_TIME_WINDOWS = (1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0)
AUTH_PASS, PRIV_PASS = "auth-pass-phrase", "priv-pass-phrase"

#: What the agent sends for one authenticated request: (its reply as a genuine agent would
#: send it) -> the datagrams actually sent.
Script = Callable[["Agent", UsmMessage, Pdu], list[bytes]]


@dataclass
class Agent(asyncio.DatagramProtocol):
    """An authoritative SNMPv3 engine answering sysName.0 with SHA-256/AES keys."""

    boots: int = 7
    time: int = 5000
    script: Script | None = None
    discoveries: int = 0
    keys: UsmKeys = field(
        default_factory=lambda: UsmKeyring().keys(ENGINE, "sha256", AUTH_PASS, "aes", PRIV_PASS)
    )
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        assert self.transport is not None
        message = decode_usm_message(data)
        if not message.usm.engine_id:
            self.discoveries += 1
            report = Pdu(PduType.REPORT, 0, 0, 0, [VarBind(UNKNOWN_ENGINE_IDS, Tag.COUNTER32, 1)])
            self.transport.sendto(self.message(message.msg_id, report, 0, b""), addr)
            return
        plain = decrypt_scoped_pdu(
            self.keys, message.data, message.usm.boots, message.usm.time, message.usm.priv
        )
        asked = decode_scoped_pdu(plain).pdu
        answer = Pdu(
            PduType.RESPONSE,
            asked.request_id,
            0,
            0,
            [VarBind(SYS_NAME, Tag.OCTET_STRING, b"scripted")],
        )
        genuine = [self.message(message.msg_id, answer, FLAG_AUTH | FLAG_PRIV, b"tw-user")]
        for datagram in self.script(self, message, answer) if self.script else genuine:
            self.transport.sendto(datagram, addr)

    def message(
        self,
        msg_id: int,
        pdu: Pdu,
        level: int,
        user: bytes,
        *,
        boots: int | None = None,
        time: int | None = None,
    ) -> bytes:
        boots = self.boots if boots is None else boots
        time = self.time if time is None else time
        data = encode_scoped_pdu(ScopedPdu(ENGINE, b"", pdu))
        salt = b""
        if level & FLAG_PRIV:
            data, salt = encrypt_scoped_pdu(self.keys, data, boots, time, 99)
        digest = bytes(self.keys.digest_length if level & FLAG_AUTH else 0)
        usm = UsmParameters(ENGINE, boots, time, user, digest, salt)
        encoded = encode_usm_message(UsmMessage(msg_id, 65507, level, usm, data))
        if not level & FLAG_AUTH:
            return encoded.data
        at = encoded.auth_at
        signed = self.keys.sign(encoded.data)
        return encoded.data[:at] + signed + encoded.data[at + len(signed) :]


@pytest.fixture
async def agent() -> AsyncIterator[Agent]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(Agent, local_addr=("127.0.0.1", 0))
    yield protocol
    transport.close()


@pytest.fixture
async def client() -> AsyncIterator[SnmpV3Client]:
    async with SnmpV3Client(bind_v4="127.0.0.1") as snmp:
        yield snmp


def endpoint(agent: Agent, timeout: float = 0.3) -> SnmpV3Endpoint:
    assert agent.transport is not None
    port = agent.transport.get_extra_info("sockname")[1]
    return SnmpV3Endpoint(
        "127.0.0.1",
        port,
        user="tw-user",
        auth_protocol="sha256",
        auth_key=AUTH_PASS,
        priv_protocol="aes",
        priv_key=PRIV_PASS,
        timeout=timeout,
        retries=0,
    )


async def test_concurrent_requests_to_a_new_agent_share_one_discovery(
    agent: Agent, client: SnmpV3Client
) -> None:
    got = await asyncio.gather(*(client.get(endpoint(agent), [SYS_NAME]) for _ in range(5)))
    assert [vb[0].value for vb in got] == [b"scripted"] * 5
    assert agent.discoveries == 1 == client.stats.discoveries
    assert client.engine("127.0.0.1", endpoint(agent).port) == (ENGINE, 7, 5000)


async def test_a_forged_digest_is_dropped_and_the_genuine_reply_still_answers(
    agent: Agent, client: SnmpV3Client
) -> None:
    def forged_first(agent: Agent, request: UsmMessage, answer: Pdu) -> list[bytes]:
        genuine = agent.message(request.msg_id, answer, FLAG_AUTH | FLAG_PRIV, b"tw-user")
        at = decode_usm_message(genuine).auth_at
        forged = genuine[:at] + bytes([genuine[at] ^ 1]) + genuine[at + 1 :]
        return [forged, genuine]

    agent.script = forged_first
    got = await client.get(endpoint(agent), [SYS_NAME])
    assert got[0].value == b"scripted"
    assert client.stats.dropped_unauthentic == 1


async def test_a_replay_from_before_a_restart_is_outside_the_time_window(
    agent: Agent, client: SnmpV3Client
) -> None:
    await client.get(endpoint(agent), [SYS_NAME])  # boots 7 now known, authenticated

    def replayed(agent: Agent, request: UsmMessage, answer: Pdu) -> list[bytes]:
        return [agent.message(request.msg_id, answer, FLAG_AUTH | FLAG_PRIV, b"tw-user", boots=6)]

    agent.script = replayed
    with pytest.raises(ProbeTimeout):
        await client.get(endpoint(agent), [SYS_NAME])
    assert client.stats.dropped_not_in_time == 1


async def test_an_unauthenticated_response_to_an_auth_priv_request_is_dropped(
    agent: Agent, client: SnmpV3Client
) -> None:
    def downgraded(agent: Agent, request: UsmMessage, answer: Pdu) -> list[bytes]:
        return [agent.message(request.msg_id, answer, 0, b"tw-user")]

    agent.script = downgraded
    with pytest.raises(ProbeTimeout):
        await client.get(endpoint(agent), [SYS_NAME])
    assert client.stats.dropped_mismatch == 1


async def test_an_unauthenticated_time_window_report_fails_without_touching_the_clock(
    agent: Agent, client: SnmpV3Client
) -> None:
    await client.get(endpoint(agent), [SYS_NAME])

    def unsigned_report(agent: Agent, request: UsmMessage, answer: Pdu) -> list[bytes]:
        report = Pdu(PduType.REPORT, 0, 0, 0, [VarBind(NOT_IN_TIME_WINDOWS, Tag.COUNTER32, 1)])
        return [agent.message(request.msg_id, report, 0, b"tw-user", boots=900)]

    agent.script = unsigned_report
    with pytest.raises(AuthError, match="not in time window"):
        await client.get(endpoint(agent), [SYS_NAME])
    assert client.engine("127.0.0.1", endpoint(agent).port) == (ENGINE, 7, 5000)
    assert client.stats.resyncs == 0


async def test_an_authenticated_time_window_report_resyncs_once(
    agent: Agent, client: SnmpV3Client
) -> None:
    await client.get(endpoint(agent), [SYS_NAME])
    agent.boots, agent.time = 8, 3  # the agent restarted

    def restarted(agent: Agent, request: UsmMessage, answer: Pdu) -> list[bytes]:
        if request.usm.boots != agent.boots:
            report = Pdu(PduType.REPORT, 0, 0, 0, [VarBind(NOT_IN_TIME_WINDOWS, Tag.COUNTER32, 1)])
            return [agent.message(request.msg_id, report, FLAG_AUTH, b"tw-user")]
        return [agent.message(request.msg_id, answer, FLAG_AUTH | FLAG_PRIV, b"tw-user")]

    agent.script = restarted
    got = await client.get(endpoint(agent), [SYS_NAME])
    assert got[0].value == b"scripted"
    assert client.stats.resyncs == 1
    assert client.engine("127.0.0.1", endpoint(agent).port) == (ENGINE, 8, 3)

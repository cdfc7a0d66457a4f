"""Asyncio SNMPv3 client (USM): GET, subtree walks and multi-column GETBULK in our own codec.

The SNMPv3 counterpart of ``probes.snmp.client`` and built the same way: one ``SnmpV3Client``
serves the process, every request leaves one unconnected UDP socket per address family, replies
are matched to waiting requests by msgID and source address, and retries resend the same
datagram (same msgID, same salt) so a late answer to the first try still completes the request.
Messages are framed by ``probes.snmp.v3message`` around ``probes.snmp.codec``'s PDUs; keys,
digests and ciphers are ``probes.snmp.usmcrypto``'s.

USM as a non-authoritative engine (RFC 3414 §3, §4):

- Discovery: the first request to an address is preceded by an unauthenticated, empty-engine-ID
  GET; the agent's usmStatsUnknownEngineIDs report names its engine ID, boots and time. One
  discovery serves all requests waiting on that address.
- Timeliness: the agent's boots and time are tracked per address. Only authenticated messages
  update them (the first one unconditionally, replacing the discovery's unauthenticated
  guess); an authenticated reply outside the time window (older boots, or time more than 150 s
  behind) is dropped as a replay. An authenticated usmStatsNotInTimeWindows report (the agent
  restarted, its boots grew) re-synchronises and the request is sent once more; an
  usmStatsUnknownEngineIDs report (a new engine at the address) repeats discovery once.
- Authentication: a reply that claims authentication is accepted only when its digest, checked
  with ``hmac.compare_digest`` over the datagram with its digest zeroed, is right, and it comes
  from the engine and user asked; a forged or corrupted one is dropped and counted, and the
  request keeps waiting. A RESPONSE must have the request's security level and request-id.
  Reports below that level are taken for what they say (USM sends its error reports
  unauthenticated), but they never change the agent's boots or time.

Failures become ``probes.base`` exceptions, their messages naming the agent and never a key:
unknown user, wrong digest, decryption error, unsupported security level, a time window or
engine that will not settle: ``AuthError``; no reply after every try: ``ProbeTimeout`` (net-snmp
drops a request it cannot decrypt, so a wrong privacy key looks like this); an authenticated
reply that does not decrypt or decode: ``MalformedReply``; a non-zero error-status as
``probes.snmp.errors.status_error`` says.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Final, NamedTuple

from probes.base import (
    AuthError,
    MalformedReply,
    ProbeConfigError,
    ProbeError,
    ProbeTimeout,
    UnexpectedReply,
)
from probes.snmp.codec import OID, CodecError, Pdu, PduType, Tag, VarBind, format_oid, parse_oid
from probes.snmp.errors import check_usm_credentials, status_error
from probes.snmp.udp import RECV_BUFFER, Pending, UdpRequester, UdpSocket
from probes.snmp.usm import AuthProtocol, PrivProtocol
from probes.snmp.usmcrypto import UsmKeyring, UsmKeys, decrypt_scoped_pdu, encrypt_scoped_pdu
from probes.snmp.v3message import (
    FLAG_AUTH,
    FLAG_PRIV,
    FLAG_REPORTABLE,
    ScopedPdu,
    UsmMessage,
    UsmParameters,
    decode_scoped_pdu,
    decode_usm_message,
    encode_scoped_pdu,
    encode_usm_message,
)
from probes.snmp.walk import SubtreeWalk

__all__ = ["SnmpV3Client", "SnmpV3ClientStats", "SnmpV3Endpoint"]

log = logging.getLogger(__name__)

#: What we accept as a reply's size (RFC 3412 msgMaxSize): the largest UDP payload.
_MAX_SIZE = 65507
#: RFC 3414 §3.2 step 7: a message more than 150 s behind the engine's time is outside the window.
_TIME_WINDOW = 150
_MAX_BOOTS = 0x7FFFFFFF

_USM_STATS = "1.3.6.1.6.3.15.1.1"
_UNKNOWN_ENGINE_IDS: Final = parse_oid(f"{_USM_STATS}.4.0")
_NOT_IN_TIME_WINDOWS: Final = parse_oid(f"{_USM_STATS}.2.0")
# Reports and what they mean, in fixed words (RFC 3414 §3.2, RFC 3412 §7.2, RFC 3413).
_AUTH_REPORTS: Final[dict[OID, str]] = {
    parse_oid(f"{_USM_STATS}.1.0"): "security level not accepted by the agent",
    _NOT_IN_TIME_WINDOWS: "not in time window",
    parse_oid(f"{_USM_STATS}.3.0"): "unknown user",
    _UNKNOWN_ENGINE_IDS: "unknown engine id",
    parse_oid(f"{_USM_STATS}.5.0"): "wrong digest (auth key or protocol)",
    parse_oid(f"{_USM_STATS}.6.0"): "decryption failed (priv key or protocol)",
}
_OTHER_REPORTS: Final[dict[OID, str]] = {
    parse_oid("1.3.6.1.6.3.11.2.1.1.0"): "unknown security model",
    parse_oid("1.3.6.1.6.3.11.2.1.2.0"): "invalid message",
    parse_oid("1.3.6.1.6.3.11.2.1.3.0"): "unknown PDU handler",
    parse_oid("1.3.6.1.6.3.12.1.4.0"): "unavailable context",
    parse_oid("1.3.6.1.6.3.12.1.5.0"): "unknown context",
}


@dataclass(frozen=True, slots=True)
class SnmpV3Endpoint:
    """Where and how to ask one SNMPv3 agent; everything after ``port`` is keyword-only.

    The security level follows from the protocols: ``auth_protocol="none"`` is
    noAuthNoPriv, ``priv_protocol="none"`` authNoPriv, both set authPriv. Keys are pass
    phrases (localized to the agent's engine ID) and never appear in a repr. ``timeout`` is
    per try in seconds; ``retries`` counts the resends after the first try.
    """

    host: str
    port: int = 161
    _: KW_ONLY
    user: str
    auth_protocol: AuthProtocol = "sha"
    auth_key: str = field(default="", repr=False)
    priv_protocol: PrivProtocol = "aes"
    priv_key: str = field(default="", repr=False)
    timeout: float = 1.0
    retries: int = 1

    def __post_init__(self) -> None:
        check_usm_credentials(
            self.user, self.auth_protocol, self.auth_key, self.priv_protocol, self.priv_key
        )
        if len(self.user.encode()) > 32:
            raise ValueError("SNMPv3 user name is longer than 32 octets")
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} outside 1..65535")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")

    @property
    def flags(self) -> int:
        """msgFlags of a request: its security level, reportable."""
        if self.auth_protocol == "none":
            return FLAG_REPORTABLE
        if self.priv_protocol == "none":
            return FLAG_AUTH | FLAG_REPORTABLE
        return FLAG_AUTH | FLAG_PRIV | FLAG_REPORTABLE


@dataclass(slots=True)
class SnmpV3ClientStats:
    """Counters of what the client's sockets saw, for the daemon's own metrics."""

    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    replies: int = 0
    reports: int = 0
    discoveries: int = 0
    resyncs: int = 0
    malformed_replies: int = 0
    dropped_unknown_id: int = 0
    dropped_wrong_source: int = 0
    dropped_mismatch: int = 0
    dropped_undecodable: int = 0
    dropped_unauthentic: int = 0
    dropped_not_in_time: int = 0
    send_errors: int = 0
    socket_errors: int = 0


class _Agent:
    """What we know of one authoritative engine: its ID and its boots and time (RFC 3414
    §2.3), the time kept as the value last received and when it was received."""

    __slots__ = ("authenticated", "boots", "engine_id", "latest_time", "received_at")

    def __init__(self, engine_id: bytes, boots: int, time: int, now: float) -> None:
        self.engine_id = engine_id
        self.boots = boots
        self.latest_time = time
        self.received_at = now
        # Until an authenticated message arrives, boots and time are the discovery report's
        # unauthenticated word.
        self.authenticated = False

    def clock(self, now: float) -> tuple[int, int]:
        """Our estimate of the engine's (boots, time) now."""
        return self.boots, min(_MAX_BOOTS, self.latest_time + int(now - self.received_at))

    def observe(self, boots: int, time: int, now: float) -> bool:
        """Take an authenticated message's boots and time (RFC 3414 §3.2 step 7b); False when
        the message lies outside the time window."""
        if (
            not self.authenticated
            or boots > self.boots
            or (boots == self.boots and time > self.latest_time)
        ):
            self.boots, self.latest_time, self.received_at = boots, time, now
            self.authenticated = True
        if boots == _MAX_BOOTS or boots < self.boots:
            return False
        return not (boots == self.boots and time < self.clock(now)[1] - _TIME_WINDOW)


class _Reply(NamedTuple):
    message: UsmMessage
    pdu: Pdu
    authenticated: bool


class _Pending(Pending):
    """An SNMPv3 request in flight: a reply must also come from its engine and user, secured
    as the request was."""

    __slots__ = ("agent", "keys", "request_id", "user")

    def __init__(
        self,
        future: asyncio.Future[_Reply],
        addr: tuple[str, int],
        packet: bytes,
        transport: UdpSocket,
        ep: SnmpV3Endpoint,
        agent: _Agent | None,
        keys: UsmKeys | None,
        request_id: int,
        pdu_name: str,
    ) -> None:
        super().__init__(future, addr, packet, transport, ep.timeout, ep.retries, pdu_name)
        self.agent = agent
        self.keys = keys
        self.user = ep.user.encode() if agent is not None else b""
        self.request_id = request_id


class SnmpV3Client(UdpRequester[_Pending]):
    """The process-wide SNMPv3 client. Use ``async with SnmpV3Client() as client:``."""

    stats: SnmpV3ClientStats

    def __init__(
        self, *, bind_v4: str = "0.0.0.0", bind_v6: str = "::", recv_buffer: int = RECV_BUFFER
    ) -> None:
        super().__init__(bind_v4=bind_v4, bind_v6=bind_v6, recv_buffer=recv_buffer)
        self._agents: dict[tuple[str, int], _Agent] = {}
        self._discovering: dict[tuple[str, int], asyncio.Lock] = {}
        self._keyring = UsmKeyring()
        # Salts must not repeat under one key (RFC 3826 §3.1.2.1): a counter from a random start.
        self._salt = random.getrandbits(64)
        self.stats = SnmpV3ClientStats()

    def _timeout_error(self, entry: _Pending) -> ProbeError:
        host, port = entry.addr
        return ProbeTimeout(
            f"no reply from {host}:{port} to SNMPv3 {entry.pdu_name} after {entry.tries} "
            f"tries of {entry.timeout:g} s (a wrong priv key also looks like this)"
        )

    def engine(self, host: str, port: int) -> tuple[bytes, int, int] | None:
        """The engine ID, boots and time last learnt from the agent at this address."""
        agent = self._agents.get((host, port))
        if agent is None:
            return None
        return agent.engine_id, agent.boots, agent.latest_time

    # -- public operations -------------------------------------------------------------------

    async def get(self, ep: SnmpV3Endpoint, oids: Sequence[OID]) -> list[VarBind]:
        """GET ``oids``; missing objects come back tagged NO_SUCH_OBJECT / NO_SUCH_INSTANCE."""
        if not oids:
            raise ProbeConfigError("GET needs at least one OID")
        request = [VarBind(tuple(oid), Tag.NULL, None) for oid in oids]
        reply = await self.request(ep, PduType.GET, request)
        if reply.error_status:
            raise status_error(ep.host, reply.error_status, reply.error_index, oids)
        got = reply.varbinds
        if [vb.oid for vb in got] != [vb.oid for vb in request]:
            raise MalformedReply(f"{ep.host}: GET reply names other OIDs than requested")
        return got

    async def walk(self, ep: SnmpV3Endpoint, root: OID, max_repetitions: int = 25) -> list[VarBind]:
        """Every varbind strictly under ``root`` in OID order, by GETBULK."""
        if max_repetitions < 1:
            raise ProbeConfigError(f"max_repetitions must be >= 1, got {max_repetitions}")
        walk = SubtreeWalk(tuple(root))
        while True:
            reply = await self.request(
                ep,
                PduType.GETBULK,
                [VarBind(walk.last, Tag.NULL, None)],
                max_repetitions=max_repetitions,
            )
            if reply.error_status:
                raise status_error(ep.host, reply.error_status, reply.error_index, [walk.last])
            if not reply.varbinds:
                raise MalformedReply(f"{ep.host}: GETBULK answered with no varbinds")
            if walk.take(reply.varbinds):
                return walk.varbinds

    async def bulk(
        self, ep: SnmpV3Endpoint, oids: Sequence[OID], max_repetitions: int
    ) -> list[VarBind]:
        """One GETBULK for several OIDs at once: the reply's varbinds, row-major (RFC 3416
        §4.2.3), for the caller to assign to its subtrees."""
        request = [VarBind(tuple(oid), Tag.NULL, None) for oid in oids]
        reply = await self.request(ep, PduType.GETBULK, request, max_repetitions=max_repetitions)
        if reply.error_status:
            raise status_error(ep.host, reply.error_status, reply.error_index, oids)
        return reply.varbinds

    async def request(
        self,
        ep: SnmpV3Endpoint,
        pdu_type: PduType,
        varbinds: list[VarBind],
        *,
        non_repeaters: int = 0,
        max_repetitions: int = 0,
    ) -> Pdu:
        """Send one PDU in the endpoint's security level and return the agent's RESPONSE
        PDU, error-status not yet checked. Discovery and re-synchronisation happen here."""
        if not self._started or self._closed:
            raise RuntimeError("SnmpV3Client is not running: use 'async with SnmpV3Client()'")
        family, ip = await self._resolve(ep.host)
        sock = self._sockets.get(family) or await self._socket(family)
        addr = (ip, ep.port)
        bulk = pdu_type == PduType.GETBULK
        rediscovered = resynced = False
        while True:
            agent = self._agents.get(addr) or await self._discover(ep, addr, sock)
            keys = self._keyring.keys(
                agent.engine_id, ep.auth_protocol, ep.auth_key, ep.priv_protocol, ep.priv_key
            )
            request_id = self._allocate_id()
            pdu = Pdu(
                pdu_type,
                request_id,
                non_repeaters if bulk else 0,
                max_repetitions if bulk else 0,
                varbinds,
            )
            reply = await self._exchange(ep, addr, sock, agent, keys, request_id, pdu)
            got = reply.pdu
            if got.pdu_type == PduType.RESPONSE:
                return got
            if got.pdu_type != PduType.REPORT:
                raise UnexpectedReply(f"{ep.host}: agent answered with a {_pdu_name(got)} PDU")
            reported = got.varbinds[0].oid if got.varbinds else None
            if reported == _UNKNOWN_ENGINE_IDS and not rediscovered:
                # Another engine answers at this address now (a replaced or reset agent).
                rediscovered = True
                if self._agents.get(addr) is agent:
                    del self._agents[addr]
                continue
            if reported == _NOT_IN_TIME_WINDOWS and reply.authenticated and not resynced:
                # The agent restarted (boots grew): its authenticated report already set the
                # clock (see _accept); ask again once.
                resynced = True
                self.stats.resyncs += 1
                continue
            raise _report_error(ep, reported)

    # -- internals ---------------------------------------------------------------------------

    async def _discover(self, ep: SnmpV3Endpoint, addr: tuple[str, int], sock: UdpSocket) -> _Agent:
        lock = self._discovering.setdefault(addr, asyncio.Lock())
        async with lock:
            known = self._agents.get(addr)
            if known is not None:
                return known
            self.stats.discoveries += 1
            request_id = self._allocate_id()
            probe = Pdu(PduType.GET, request_id, 0, 0, [])
            reply = await self._exchange(ep, addr, sock, None, None, request_id, probe)
            usm = reply.message.usm
            if reply.pdu.pdu_type != PduType.REPORT or not 5 <= len(usm.engine_id) <= 32:
                raise UnexpectedReply(f"{ep.host}: engine discovery was not answered by a report")
            agent = _Agent(usm.engine_id, usm.boots, usm.time, asyncio.get_running_loop().time())
            self._agents[addr] = agent
            return agent

    async def _exchange(
        self,
        ep: SnmpV3Endpoint,
        addr: tuple[str, int],
        sock: UdpSocket,
        agent: _Agent | None,
        keys: UsmKeys | None,
        request_id: int,
        pdu: Pdu,
    ) -> _Reply:
        loop = asyncio.get_running_loop()
        try:
            packet = self._encode(ep, agent, keys, request_id, pdu, loop.time())
        except CodecError as exc:
            raise ProbeConfigError(f"cannot encode request: {exc}") from exc
        future: asyncio.Future[_Reply] = loop.create_future()
        name = "discovery" if agent is None else PduType(pdu.pdu_type).name
        entry = _Pending(future, addr, packet, sock, ep, agent, keys, request_id, name)
        self._pending[request_id] = entry
        self.stats.requests += 1
        try:
            self._send(request_id, entry)
            if not future.done():
                entry.timer = loop.call_later(entry.timeout, self._on_timer, request_id)
            return await future
        finally:
            if self._pending.get(request_id) is entry:
                del self._pending[request_id]
            if entry.timer is not None:
                entry.timer.cancel()

    def _encode(
        self,
        ep: SnmpV3Endpoint,
        agent: _Agent | None,
        keys: UsmKeys | None,
        msg_id: int,
        pdu: Pdu,
        now: float,
    ) -> bytes:
        if agent is None or keys is None:  # discovery: noAuthNoPriv, no engine, no user
            scoped = encode_scoped_pdu(ScopedPdu(b"", b"", pdu))
            usm = UsmParameters(b"", 0, 0, b"")
            return encode_usm_message(
                UsmMessage(msg_id, _MAX_SIZE, FLAG_REPORTABLE, usm, scoped)
            ).data
        boots, time = agent.clock(now)
        flags = ep.flags
        data = encode_scoped_pdu(ScopedPdu(agent.engine_id, b"", pdu))
        salt = b""
        if flags & FLAG_PRIV:
            self._salt = (self._salt + 1) & 0xFFFFFFFFFFFFFFFF
            data, salt = encrypt_scoped_pdu(keys, data, boots, time, self._salt)
        usm = UsmParameters(
            agent.engine_id, boots, time, ep.user.encode(), bytes(keys.digest_length), salt
        )
        encoded = encode_usm_message(UsmMessage(msg_id, _MAX_SIZE, flags, usm, data))
        if not flags & FLAG_AUTH:
            return encoded.data
        datagram = bytearray(encoded.data)
        at = encoded.auth_at
        datagram[at : at + keys.digest_length] = keys.sign(encoded.data)
        return bytes(datagram)

    def _on_datagram(self, data: bytes, source: tuple[str, int]) -> None:
        try:
            message = decode_usm_message(data)
        except CodecError as exc:
            self.stats.dropped_undecodable += 1
            log.debug("dropped undecodable datagram from %s:%s: %s", *source, exc)
            return
        entry = self._pending.get(message.msg_id)
        if entry is None:
            self.stats.dropped_unknown_id += 1
            return
        if entry.addr != source:
            self.stats.dropped_wrong_source += 1
            return
        try:
            reply = self._accept(entry, message, data)
        except CodecError as exc:
            # Authenticated, so truly the agent's, yet it does not decrypt or decode.
            del self._pending[message.msg_id]
            self.stats.malformed_replies += 1
            if not entry.future.done():
                host = entry.addr[0]
                entry.future.set_exception(MalformedReply(f"{host}: undecodable reply: {exc}"))
            return
        if reply is None:
            return
        del self._pending[message.msg_id]
        self.stats.replies += 1
        if reply.pdu.pdu_type == PduType.REPORT:
            self.stats.reports += 1
        if not entry.future.done():
            entry.future.set_result(reply)

    def _accept(self, entry: _Pending, message: UsmMessage, data: bytes) -> _Reply | None:
        """The reply if it may answer ``entry``, None (counted) if it must be dropped;
        ``CodecError`` when an authenticated reply does not decrypt or decode."""
        usm = message.usm
        agent, keys = entry.agent, entry.keys
        if agent is None or keys is None:  # discovery: only a plaintext report will do
            if message.flags & FLAG_AUTH:
                self.stats.dropped_mismatch += 1
                return None
            pdu = self._plain_pdu(message)
            return None if pdu is None else _Reply(message, pdu, False)
        if usm.user != entry.user:
            self.stats.dropped_mismatch += 1
            return None
        if not message.flags & FLAG_AUTH:
            pdu = self._plain_pdu(message)
            if pdu is None:
                return None
            # Only error reports may come below the request's level (RFC 3412 §7.2.12).
            if keys.auth_protocol != "none" and pdu.pdu_type != PduType.REPORT:
                self.stats.dropped_mismatch += 1
                return None
            if pdu.pdu_type == PduType.RESPONSE and pdu.request_id != entry.request_id:
                self.stats.dropped_mismatch += 1
                return None
            return _Reply(message, pdu, False)
        if keys.auth_protocol == "none" or usm.engine_id != agent.engine_id:
            self.stats.dropped_mismatch += 1
            return None
        at, length = message.auth_at, len(usm.auth)
        if not keys.verify(data[:at] + bytes(length) + data[at + length :], usm.auth):
            self.stats.dropped_unauthentic += 1
            return None
        if not agent.observe(usm.boots, usm.time, entry.future.get_loop().time()):
            self.stats.dropped_not_in_time += 1
            return None
        if message.flags & FLAG_PRIV:
            if keys.priv_protocol == "none":
                self.stats.dropped_mismatch += 1
                return None
            plain = decrypt_scoped_pdu(keys, message.data, usm.boots, usm.time, usm.priv)
            pdu = decode_scoped_pdu(plain, padded=keys.priv_protocol == "des").pdu
        else:
            pdu = decode_scoped_pdu(message.data).pdu
        if pdu.pdu_type == PduType.RESPONSE:
            level = message.flags & (FLAG_AUTH | FLAG_PRIV)
            if level != _security_level(keys) or pdu.request_id != entry.request_id:
                self.stats.dropped_mismatch += 1
                return None
        return _Reply(message, pdu, True)

    def _plain_pdu(self, message: UsmMessage) -> Pdu | None:
        """The PDU of an unauthenticated message, None (counted) if it is not decodable:
        nothing proves such a message came from the agent, so it cannot fail a request."""
        if message.flags & FLAG_PRIV:
            self.stats.dropped_mismatch += 1
            return None
        try:
            return decode_scoped_pdu(message.data).pdu
        except CodecError:
            self.stats.dropped_undecodable += 1
            return None


def _security_level(keys: UsmKeys) -> int:
    """The msgFlags security bits of requests made with ``keys``."""
    if keys.auth_protocol == "none":
        return 0
    if keys.priv_protocol == "none":
        return FLAG_AUTH
    return FLAG_AUTH | FLAG_PRIV


def _report_error(ep: SnmpV3Endpoint, reported: OID | None) -> ProbeError:
    if reported is None:
        return UnexpectedReply(f"{ep.host}: agent sent an empty report")
    reason = _AUTH_REPORTS.get(reported)
    if reason is not None:
        return AuthError(f"{ep.host}: SNMPv3 {reason}")
    other = _OTHER_REPORTS.get(reported, f"report {format_oid(reported)}")
    return UnexpectedReply(f"{ep.host}: agent reported {other}")


def _pdu_name(pdu: Pdu) -> str:
    try:
        return PduType(pdu.pdu_type).name
    except ValueError:
        return f"0x{pdu.pdu_type:02x}"

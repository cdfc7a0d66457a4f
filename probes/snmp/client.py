"""Asyncio SNMP v1/v2c client: GET and subtree walks over one shared UDP socket per family.

Built on ``probes.snmp.codec`` (no pysnmp). One ``SnmpClient`` serves the whole process: every
request goes out of the same unconnected UDP socket (one for IPv4, one for IPv6 opened on first
use) and replies are matched to waiting requests by request-id and source address. Retries
resend the same datagram with the same request-id, so a late answer to the first try still
completes the request.

Failures become ``probes.base`` exceptions:

- no reply after all tries: ``ProbeTimeout``. net-snmp silently drops a request with a wrong
  community, so for v1/v2c a bad community is indistinguishable from a dead agent and is
  reported with reason ``timeout`` (SNMPv3, in ``probes.snmp.v3client``, does get an auth error
  back).
  Likewise an ICMP port-unreachable is not delivered to an unconnected socket, so a closed
  port also ends in ``ProbeTimeout`` after timeout x (retries + 1);
- the kernel refusing to send (no route to the host): ``Unreachable``;
- an undecodable reply to a pending request: ``MalformedReply``, at once, as soon as its
  request-id, source, version and community can be read and match, even when the reply is
  cut short; an agent walking backwards (non-increasing OIDs) too;
- a non-zero error-status as ``probes.snmp.errors.status_error`` says: v1 ``noSuchName``
  ``NoSuchObject``, ``authorizationError`` ``AuthError``, any other ``UnexpectedReply``.

Datagrams that match no pending request (unknown id, wrong source, wrong version/community,
or no readable request-id) are dropped and counted in ``SnmpClient.stats`` without their
varbinds being decoded: what a datagram costs the event loop before it is known to answer a
request is constant, and decoding itself is linear in its size (``probes.snmp.codec``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Final, Literal

from probes.base import (
    MalformedReply,
    ProbeConfigError,
    ProbeError,
    ProbeTimeout,
    UnexpectedReply,
)
from probes.snmp.codec import (
    OID,
    CodecError,
    Message,
    PduType,
    Tag,
    VarBind,
    decode_message,
    encode_message,
    format_oid,
    peek_header,
)
from probes.snmp.errors import status_error
from probes.snmp.udp import RECV_BUFFER, Pending, UdpRequester, UdpSocket
from probes.snmp.walk import SubtreeWalk

__all__ = ["SnmpClient", "SnmpClientStats", "SnmpEndpoint"]

log = logging.getLogger(__name__)

_VERSIONS: Final[dict[str, int]] = {"1": 0, "2c": 1}


@dataclass(frozen=True, slots=True)
class SnmpEndpoint:
    """Where and how to ask one v1/v2c agent. Everything after ``port`` is keyword-only.

    ``timeout`` is per try in seconds; ``retries`` counts the resends after the first try.
    """

    host: str
    port: int = 161
    _: KW_ONLY
    version: Literal["1", "2c"] = "2c"
    community: str = field(repr=False)
    timeout: float = 1.0
    retries: int = 1

    def __post_init__(self) -> None:
        if self.version not in _VERSIONS:
            raise ValueError(f"SNMP version must be '1' or '2c', not {self.version!r}")
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} outside 1..65535")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")


@dataclass(slots=True)
class SnmpClientStats:
    """Counters of what the shared socket saw, for the daemon's own metrics."""

    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    replies: int = 0
    malformed_replies: int = 0
    dropped_unknown_id: int = 0
    dropped_wrong_source: int = 0
    dropped_mismatch: int = 0
    dropped_undecodable: int = 0
    send_errors: int = 0
    socket_errors: int = 0


class _Pending(Pending):
    """A v1/v2c request in flight: a reply must also match its version and community."""

    __slots__ = ("community", "version")

    def __init__(
        self,
        future: asyncio.Future[Message],
        addr: tuple[str, int],
        packet: bytes,
        transport: UdpSocket,
        ep: SnmpEndpoint,
        version: int,
        community: bytes,
        pdu_name: str,
    ) -> None:
        super().__init__(future, addr, packet, transport, ep.timeout, ep.retries, pdu_name)
        self.version = version
        self.community = community


class SnmpClient(UdpRequester[_Pending]):
    """The process-wide v1/v2c client. Use ``async with SnmpClient() as client:``."""

    stats: SnmpClientStats

    def __init__(
        self, *, bind_v4: str = "0.0.0.0", bind_v6: str = "::", recv_buffer: int = RECV_BUFFER
    ) -> None:
        super().__init__(bind_v4=bind_v4, bind_v6=bind_v6, recv_buffer=recv_buffer)
        self.stats = SnmpClientStats()

    def _timeout_error(self, entry: _Pending) -> ProbeError:
        host, port = entry.addr
        return ProbeTimeout(
            f"no reply from {host}:{port} to {entry.pdu_name} after {entry.tries} tries "
            f"of {entry.timeout:g} s (a wrong community also looks like this)"
        )

    @property
    def local_addresses(self) -> list[tuple[str, int]]:
        """The (host, port) of each open socket: where agents' replies arrive."""
        return [
            (str(address[0]), int(address[1]))
            for sock in self._sockets.values()
            for address in (sock.sock.getsockname(),)
        ]

    # -- public operations -------------------------------------------------------------------

    async def get(self, ep: SnmpEndpoint, oids: Sequence[OID]) -> list[VarBind]:
        """GET ``oids`` in one PDU; the reply's varbinds in request order.

        In v2c a missing object comes back as a varbind tagged NO_SUCH_OBJECT or
        NO_SUCH_INSTANCE (for the caller to judge); in v1 the agent rejects the whole PDU
        with noSuchName, raised as ``NoSuchObject``.
        """
        if not oids:
            raise ProbeConfigError("GET needs at least one OID")
        request = [VarBind(tuple(oid), Tag.NULL, None) for oid in oids]
        reply = await self.request(ep, PduType.GET, request)
        if reply.error_status:
            raise status_error(ep.host, reply.error_status, reply.error_index, oids)
        got = reply.varbinds
        if len(got) != len(request):
            raise MalformedReply(f"GET of {len(request)} OIDs answered with {len(got)} varbinds")
        for sent, vb in zip(request, got, strict=True):
            if vb.oid != sent.oid:
                raise MalformedReply(
                    f"GET reply names {format_oid(vb.oid)} where {format_oid(sent.oid)} was asked"
                )
        return got

    async def walk(self, ep: SnmpEndpoint, root: OID, max_repetitions: int = 25) -> list[VarBind]:
        """Every varbind strictly under ``root``, in OID order.

        GETBULK (``max_repetitions`` per request) for v2c, GETNEXT for v1. Stops at the end of
        the subtree, at endOfMibView, or (v1) at noSuchName. An empty list means the agent has
        nothing under ``root``; walking a leaf such as ``sysUpTime.0`` itself returns nothing.
        A reply that does not move forward raises ``MalformedReply`` instead of looping.
        """
        if max_repetitions < 1:
            raise ProbeConfigError(f"max_repetitions must be >= 1, got {max_repetitions}")
        bulk = ep.version == "2c"
        walk = SubtreeWalk(tuple(root))
        while True:
            request = [VarBind(walk.last, Tag.NULL, None)]
            if bulk:
                reply = await self.request(
                    ep, PduType.GETBULK, request, non_repeaters=0, max_repetitions=max_repetitions
                )
            else:
                reply = await self.request(ep, PduType.GETNEXT, request)
                if reply.error_status == 2:  # v1 noSuchName: past the last object
                    return walk.varbinds
            if reply.error_status:
                raise status_error(ep.host, reply.error_status, reply.error_index, [walk.last])
            varbinds = reply.varbinds
            if not varbinds or (not bulk and len(varbinds) != 1):
                raise MalformedReply(
                    f"{'GETBULK' if bulk else 'GETNEXT'} answered with {len(varbinds)} varbinds"
                )
            if walk.take(varbinds):
                return walk.varbinds

    async def bulk(
        self, ep: SnmpEndpoint, oids: Sequence[OID], max_repetitions: int
    ) -> list[VarBind]:
        """One GETBULK for several OIDs at once (v2c): the reply's varbinds, row-major as RFC
        3416 §4.2.3 lays them out, for the caller to assign to its subtrees."""
        request = [VarBind(tuple(oid), Tag.NULL, None) for oid in oids]
        reply = await self.request(
            ep, PduType.GETBULK, request, non_repeaters=0, max_repetitions=max_repetitions
        )
        if reply.error_status:
            raise status_error(ep.host, reply.error_status, reply.error_index, oids)
        return reply.varbinds

    async def request(
        self,
        ep: SnmpEndpoint,
        pdu_type: PduType,
        varbinds: list[VarBind],
        *,
        non_repeaters: int = 0,
        max_repetitions: int = 0,
    ) -> Message:
        """Send one PDU and return the agent's RESPONSE, error-status not yet checked.

        The building block of ``get`` and ``walk``; profiles that fetch several table
        columns per GETBULK use it directly.
        """
        if not self._started or self._closed:
            raise RuntimeError("SnmpClient is not running: use 'async with SnmpClient()'")
        family, ip = await self._resolve(ep.host)
        sock = self._sockets.get(family) or await self._socket(family)
        loop = asyncio.get_running_loop()
        version = _VERSIONS[ep.version]
        community = ep.community.encode()
        request_id = self._allocate_id()
        bulk = pdu_type == PduType.GETBULK
        try:
            packet = encode_message(
                Message(
                    version,
                    community,
                    pdu_type,
                    request_id,
                    non_repeaters if bulk else 0,
                    max_repetitions if bulk else 0,
                    varbinds,
                )
            )
        except CodecError as exc:
            raise ProbeConfigError(f"cannot encode request: {exc}") from exc
        future: asyncio.Future[Message] = loop.create_future()
        entry = _Pending(
            future, (ip, ep.port), packet, sock, ep, version, community, PduType(pdu_type).name
        )
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

    # -- internals ---------------------------------------------------------------------------

    def _on_datagram(self, data: bytes, source: tuple[str, int]) -> None:
        # Whom the datagram is for is read first, in constant time: a datagram that answers
        # no pending request of its sender, version and community is dropped undecoded.
        try:
            head = peek_header(data)
        except CodecError as exc:
            self.stats.dropped_undecodable += 1
            log.debug("dropped undecodable datagram from %s:%s: %s", *source, exc)
            return
        rid = head.request_id
        entry = self._pending.get(rid) if rid is not None else None
        if rid is None or entry is None:
            # Usually the answer to a try that was already answered (retries reuse the id).
            self.stats.dropped_unknown_id += 1
            return
        if entry.addr != source:
            self.stats.dropped_wrong_source += 1
            log.debug("dropped reply id %d from unexpected %s:%s", rid, *source)
            return
        if head.version != entry.version or head.community != entry.community:
            self.stats.dropped_mismatch += 1
            return
        del self._pending[rid]
        try:
            msg = decode_message(data)
        except CodecError as exc:
            # Cut short or broken after its request-id: fail now rather than time out.
            self.stats.malformed_replies += 1
            if not entry.future.done():
                entry.future.set_exception(MalformedReply(f"undecodable reply: {exc}"))
            return
        self.stats.replies += 1
        if entry.future.done():
            return
        if msg.pdu_type != PduType.RESPONSE:
            entry.future.set_exception(
                UnexpectedReply(f"agent answered with a {_pdu_name(msg.pdu_type)} PDU")
            )
            return
        entry.future.set_result(msg)


def _pdu_name(pdu_type: int) -> str:
    try:
        return PduType(pdu_type).name
    except ValueError:
        return f"0x{pdu_type:02x}"

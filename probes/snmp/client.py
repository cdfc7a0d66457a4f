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
import errno
import ipaddress
import logging
import random
import socket
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from types import TracebackType
from typing import Final, Literal

from probes.base import (
    ConnectionRefused,
    MalformedReply,
    ProbeConfigError,
    ProbeError,
    ProbeTimeout,
    UnexpectedReply,
    Unreachable,
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
from probes.snmp.walk import SubtreeWalk

__all__ = ["SnmpClient", "SnmpClientStats", "SnmpEndpoint"]

log = logging.getLogger(__name__)

_VERSIONS: Final[dict[str, int]] = {"1": 0, "2c": 1}
_MAX_REQUEST_ID = 0x7FFFFFFF
# Bulk walks of 200 agents at once land many ~1.5 kB replies together; the default socket
# buffer (~200 kB) would drop some and turn them into retries.
_RECV_BUFFER = 4 << 20
_UNREACHABLE_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.EADDRNOTAVAIL}
)


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


class _Pending:
    """One request in flight: its future, where the reply must come from, and its timer."""

    __slots__ = (
        "addr",
        "community",
        "future",
        "packet",
        "pdu_name",
        "timeout",
        "timer",
        "transport",
        "tries",
        "tries_left",
        "version",
    )

    def __init__(
        self,
        future: asyncio.Future[Message],
        addr: tuple[str, int],
        packet: bytes,
        transport: _Socket,
        ep: SnmpEndpoint,
        version: int,
        community: bytes,
        pdu_name: str,
    ) -> None:
        self.future = future
        self.addr = addr
        self.packet = packet
        self.transport = transport
        self.timeout = ep.timeout
        self.tries = ep.retries + 1
        self.tries_left = ep.retries
        self.version = version
        self.community = community
        self.pdu_name = pdu_name
        self.timer: asyncio.TimerHandle | None = None


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, client: SnmpClient) -> None:
        self._client = client

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._client._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        # Unconnected sockets only see local errors here (e.g. ENOBUFS); they cannot be
        # attributed to a request, so they are counted and the request times out or retries.
        self._client.stats.socket_errors += 1
        log.debug("SNMP socket error: %s", exc)


class _Socket:
    """A bound UDP socket with its asyncio transport; sends go straight to the socket."""

    __slots__ = ("sock", "transport")

    def __init__(self, sock: socket.socket, transport: asyncio.DatagramTransport) -> None:
        self.sock = sock
        self.transport = transport

    def send(self, packet: bytes, addr: tuple[str, int]) -> None:
        """Send now; a local refusal (no route …) raises OSError for the caller to map.

        The transport's own sendto reports such errors to error_received, where they cannot
        be tied to the request; so the socket is tried first and the transport only queues
        when the socket buffer is full (UDP does not care about the resulting order).
        """
        try:
            self.sock.sendto(packet, addr)
        except BlockingIOError:
            self.transport.sendto(packet, addr)


class SnmpClient:
    """The process-wide v1/v2c client. Use ``async with SnmpClient() as client:``."""

    def __init__(
        self,
        *,
        bind_v4: str = "0.0.0.0",
        bind_v6: str = "::",
        recv_buffer: int = _RECV_BUFFER,
    ) -> None:
        self._bind: dict[int, str] = {socket.AF_INET: bind_v4, socket.AF_INET6: bind_v6}
        self._recv_buffer = recv_buffer
        self._sockets: dict[int, _Socket] = {}
        self._opening: dict[int, asyncio.Lock] = {}
        self._pending: dict[int, _Pending] = {}
        self._next_id = random.randrange(1, _MAX_REQUEST_ID)
        self._ip_cache: dict[str, tuple[int, str]] = {}
        self._started = False
        self._closed = False
        self.stats = SnmpClientStats()

    async def __aenter__(self) -> SnmpClient:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the IPv4 socket (IPv6 is opened on the first IPv6 request)."""
        if self._closed:
            raise RuntimeError("SnmpClient was closed")
        if not self._started:
            await self._socket(socket.AF_INET)
            self._started = True

    async def close(self) -> None:
        """Fail every request in flight and close the sockets."""
        self._closed = True
        pending, self._pending = self._pending, {}
        for entry in pending.values():
            if entry.timer is not None:
                entry.timer.cancel()
            if not entry.future.done():
                entry.future.set_exception(ProbeError("SNMP client closed"))
        for sock in self._sockets.values():
            sock.transport.close()
        self._sockets.clear()
        # Let the transports run their close callbacks before the loop might end.
        await asyncio.sleep(0)

    @property
    def in_flight(self) -> int:
        """Requests waiting for a reply."""
        return len(self._pending)

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

    def _allocate_id(self) -> int:
        request_id = self._next_id
        while request_id in self._pending:
            request_id = request_id % _MAX_REQUEST_ID + 1
        self._next_id = request_id % _MAX_REQUEST_ID + 1
        return request_id

    async def _resolve(self, host: str) -> tuple[int, str]:
        cached = self._ip_cache.get(host)
        if cached is not None:
            return cached
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            found = (socket.AF_INET if ip.version == 4 else socket.AF_INET6, str(ip))
            self._ip_cache[host] = found
            return found
        # Host names are resolved on every request so DNS changes are followed; the result
        # is not cached here (the resolver or nscd does that, with TTLs).
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
        except socket.gaierror as exc:
            raise Unreachable(f"cannot resolve {host}: {exc.strerror}") from exc
        for family in (socket.AF_INET, socket.AF_INET6):
            for info in infos:
                if info[0] == family:
                    return family, str(info[4][0])
        raise Unreachable(f"{host} has no IPv4 or IPv6 address")

    async def _socket(self, family: int) -> _Socket:
        existing = self._sockets.get(family)
        if existing is not None:
            return existing
        lock = self._opening.setdefault(family, asyncio.Lock())
        async with lock:
            existing = self._sockets.get(family)
            if existing is not None:
                return existing
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.setblocking(False)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._recv_buffer)
                sock.bind((self._bind[family], 0))
                transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                    lambda: _Receiver(self), sock=sock
                )
            except OSError as exc:
                sock.close()
                raise Unreachable(f"cannot open a UDP socket: {exc.strerror}") from exc
            opened = _Socket(sock, transport)
            self._sockets[family] = opened
            return opened

    def _send(self, request_id: int, entry: _Pending) -> None:
        try:
            entry.transport.send(entry.packet, entry.addr)
        except OSError as exc:
            self.stats.send_errors += 1
            self._pending.pop(request_id, None)
            host, port = entry.addr
            error: ProbeError
            if exc.errno == errno.ECONNREFUSED:
                error = ConnectionRefused(f"{host}:{port} refused")
            elif exc.errno in _UNREACHABLE_ERRNOS:
                error = Unreachable(f"{host}:{port}: {exc.strerror}")
            else:
                error = Unreachable(f"cannot send to {host}:{port}: {exc.strerror}")
            if not entry.future.done():
                entry.future.set_exception(error)

    def _on_timer(self, request_id: int) -> None:
        entry = self._pending.get(request_id)
        if entry is None or entry.future.done():
            return
        if entry.tries_left > 0:
            entry.tries_left -= 1
            self.stats.retries += 1
            self._send(request_id, entry)
            if not entry.future.done():
                loop = entry.future.get_loop()
                entry.timer = loop.call_later(entry.timeout, self._on_timer, request_id)
            return
        del self._pending[request_id]
        self.stats.timeouts += 1
        host, port = entry.addr
        entry.future.set_exception(
            ProbeTimeout(
                f"no reply from {host}:{port} to {entry.pdu_name} after {entry.tries} tries "
                f"of {entry.timeout:g} s (a wrong community also looks like this)"
            )
        )

    def _on_datagram(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        source = (addr[0], addr[1])
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

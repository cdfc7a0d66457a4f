"""What both SNMP clients (v1/v2c in ``probes.snmp.client``, v3 in ``probes.snmp.v3client``)
do with UDP: one unconnected socket per address family shared by every request, request ids,
sends whose local refusals fail the request that caused them, and retries on a timer.

A client subclasses ``UdpRequester`` with its own kind of ``Pending`` and says how a datagram
is matched and read (``_on_datagram``) and what a timeout is called (``_timeout_error``).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import random
import socket
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

from probes.base import ConnectionRefused, ProbeError, Unreachable

__all__ = ["Pending", "TransportStats", "UdpRequester", "UdpSocket"]

log = logging.getLogger(__name__)

MAX_REQUEST_ID = 0x7FFFFFFF
# Bulk walks of 200 agents at once land many ~1.5 kB replies together; the default socket
# buffer (~200 kB) would drop some and turn them into retries.
RECV_BUFFER = 4 << 20
_UNREACHABLE_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.EADDRNOTAVAIL}
)


class TransportStats(Protocol):
    """The counters a client's stats keep for what its sockets did."""

    retries: int
    timeouts: int
    send_errors: int
    socket_errors: int


class UdpSocket:
    """A bound UDP socket and its transport; sends go straight to the socket first, so a
    local refusal (no route …) is raised to the request that caused it.

    The transport's own sendto reports such errors to ``error_received``, where they cannot be
    tied to the request; it is used only when the socket buffer is full (UDP does not care
    about the resulting order).
    """

    __slots__ = ("sock", "transport")

    def __init__(self, sock: socket.socket, transport: asyncio.DatagramTransport) -> None:
        self.sock = sock
        self.transport = transport

    def send(self, packet: bytes, addr: tuple[str, int]) -> None:
        try:
            self.sock.sendto(packet, addr)
        except BlockingIOError:
            self.transport.sendto(packet, addr)


class Pending:
    """One request in flight: its future, where the reply must come from, its datagram and
    its retry timer. Clients add what they match replies on."""

    __slots__ = (
        "addr",
        "future",
        "packet",
        "pdu_name",
        "timeout",
        "timer",
        "transport",
        "tries",
        "tries_left",
    )

    def __init__(
        self,
        future: asyncio.Future[Any],
        addr: tuple[str, int],
        packet: bytes,
        transport: UdpSocket,
        timeout: float,
        retries: int,
        pdu_name: str,
    ) -> None:
        self.future = future
        self.addr = addr
        self.packet = packet
        self.transport = transport
        self.timeout = timeout
        self.tries = retries + 1
        self.tries_left = retries
        self.pdu_name = pdu_name
        self.timer: asyncio.TimerHandle | None = None


P = TypeVar("P", bound=Pending)


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, requester: UdpRequester[P]) -> None:
        self._requester = requester

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._requester._on_datagram(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        # Unconnected sockets only see local errors here (e.g. ENOBUFS); they cannot be
        # attributed to a request, so they are counted and the request times out or retries.
        self._requester.stats.socket_errors += 1
        log.debug("SNMP socket error: %s", exc)


class UdpRequester(Generic[P]):
    """Sockets, request ids, sends and retries of one SNMP client. Use ``async with``."""

    stats: TransportStats

    def __init__(
        self, *, bind_v4: str = "0.0.0.0", bind_v6: str = "::", recv_buffer: int = RECV_BUFFER
    ) -> None:
        self._bind: dict[int, str] = {socket.AF_INET: bind_v4, socket.AF_INET6: bind_v6}
        self._recv_buffer = recv_buffer
        self._sockets: dict[int, UdpSocket] = {}
        self._opening: dict[int, asyncio.Lock] = {}
        self._pending: dict[int, P] = {}
        self._next_id = random.randrange(1, MAX_REQUEST_ID)
        self._ip_cache: dict[str, tuple[int, str]] = {}
        self._started = False
        self._closed = False

    async def __aenter__(self) -> Self:
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
            raise RuntimeError(f"{type(self).__name__} was closed")
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
                entry.future.set_exception(ProbeError(f"{type(self).__name__} closed"))
        for sock in self._sockets.values():
            sock.transport.close()
        self._sockets.clear()
        # Let the transports run their close callbacks before the loop might end.
        await asyncio.sleep(0)

    @property
    def in_flight(self) -> int:
        """Requests waiting for a reply."""
        return len(self._pending)

    def _on_datagram(self, data: bytes, source: tuple[str, int]) -> None:
        raise NotImplementedError

    def _timeout_error(self, entry: P) -> ProbeError:
        raise NotImplementedError

    def _allocate_id(self) -> int:
        request_id = self._next_id
        while request_id in self._pending:
            request_id = request_id % MAX_REQUEST_ID + 1
        self._next_id = request_id % MAX_REQUEST_ID + 1
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

    async def _socket(self, family: int) -> UdpSocket:
        existing = self._sockets.get(family)
        if existing is not None:
            return existing
        async with self._opening.setdefault(family, asyncio.Lock()):
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
            opened = UdpSocket(sock, transport)
            self._sockets[family] = opened
            return opened

    def _send(self, request_id: int, entry: P) -> None:
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
        entry.future.set_exception(self._timeout_error(entry))

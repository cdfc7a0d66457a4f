"""Listening sockets that say where they failed.

``open_listener("udp", host, port)`` binds one address and returns the socket, ready to hand
to asyncio or aiohttp; with ``fallback=True`` a port that is already taken is replaced by any
free port of the same host (the demo, run beside another one, does this and says where it
went). A failure is a ``ListenError`` whose text names protocol, address and reason:
``cannot listen on udp 127.0.0.1:9162: address in use``.
"""

from __future__ import annotations

import errno
import socket
from typing import Literal

__all__ = ["ListenError", "Protocol", "open_listener", "port_or_any"]

Protocol = Literal["tcp", "udp"]

#: Pending connections a listening TCP socket queues (asyncio's and aiohttp's default).
_BACKLOG = 100


class ListenError(OSError):
    """An address that cannot be listened on; ``str()`` names it and says why."""

    def __init__(self, protocol: Protocol, host: str, port: int, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.protocol = protocol
        self.host = host
        self.port = port
        self.reason = _reason(cause, host, port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"cannot listen on {self.protocol} {host}:{self.port}: {self.reason}"

    @property
    def in_use(self) -> bool:
        return self.errno == errno.EADDRINUSE


def _reason(exc: OSError, host: str, port: int) -> str:
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {host!r}"
    if exc.errno == errno.EADDRINUSE:
        return "address in use"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "not an address of this host"
    if exc.errno in (errno.EACCES, errno.EPERM):
        hint = " (ports below 1024 need CAP_NET_BIND_SERVICE)" if 0 < port < 1024 else ""
        return f"permission denied{hint}"
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


def _bind(protocol: Protocol, host: str, port: int) -> socket.socket:
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    family, kind, proto, _, sockaddr = socket.getaddrinfo(
        host, port, type=kind, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        if protocol == "tcp":
            # As asyncio and aiohttp do: a restart may bind while old connections linger in
            # TIME_WAIT. (Never for UDP: there it would let two sockets share the port.)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        if protocol == "tcp":
            sock.listen(_BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def open_listener(
    protocol: Protocol, host: str, port: int, *, fallback: bool = False
) -> socket.socket:
    """A socket bound to ``host:port`` (listening, for tcp). With ``fallback``, a port in
    use is replaced by a free one of the same host; ``getsockname()`` tells which.

    Raises ListenError naming the address that could not be bound.
    """
    try:
        return _bind(protocol, host, port)
    except OSError as exc:
        failure = ListenError(protocol, host, port, exc)
        if not (fallback and failure.in_use and port != 0):
            raise failure from exc
    try:
        return _bind(protocol, host, 0)
    except OSError as exc:
        raise ListenError(protocol, host, 0, exc) from exc


def port_or_any(protocol: Protocol, host: str, port: int) -> int:
    """``port`` if it can be bound right now, else 0 (any free port): for servers that bind
    by themselves from an address. Raises ListenError for any failure but "in use"."""
    try:
        open_listener(protocol, host, port).close()
    except ListenError as exc:
        if exc.in_use:
            return 0
        raise
    return port

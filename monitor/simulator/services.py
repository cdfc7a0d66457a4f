"""The simulator's non-SNMP services: SIP trunk endpoints answering OPTIONS over UDP, and the
platform servers' HTTP health pages.

Both ask the fleet whether the device is reachable before answering, so faults upstream (a
switch port, a backhaul) silence them exactly as they silence the SNMP agents. Each device's
port is the agent's base port plus an offset (``configured``); ``endpoints`` says where it is
really served (port 0 when ``ephemeral``; any free port when ``fallback`` and it is taken).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import cast

from monitor.core.listen import open_listener
from monitor.simulator.fleet import Fleet
from monitor.simulator.lines import SipTrunk
from monitor.simulator.network import Server

__all__ = ["HttpServices", "SipResponders", "build_sip_response"]

log = logging.getLogger("trunkwatch.simulator.services")

#: Offsets from the SNMP agent's base port where the SIP and HTTP services start.
SIP_PORT_OFFSET = 200
HTTP_PORT_OFFSET = 300

_ECHOED = ("via", "from", "to", "call-id", "cseq")


def build_sip_response(request: bytes, status: int, reason: str) -> bytes | None:
    """A SIP response to ``request`` echoing its transaction headers (RFC 3261 §8.2.6), or
    None when the request is not a SIP request."""
    try:
        text = request.decode("utf-8")
    except UnicodeDecodeError:
        return None
    head, _, _ = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    if len(lines) < 2 or not lines[0].endswith("SIP/2.0") or lines[0].startswith("SIP/"):
        return None
    echoed: list[str] = []
    for line in lines[1:]:
        name, sep, _ = line.partition(":")
        if sep and name.strip().lower() in _ECHOED:
            echoed.append(line)
    if len(echoed) < len(_ECHOED):
        return None
    out = [f"SIP/2.0 {status} {reason}", *echoed]
    out += [
        "Server: trunkwatch-simulator",
        "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE",
        "Content-Length: 0",
    ]
    return ("\r\n".join(out) + "\r\n\r\n").encode()


class _SipEndpoint(asyncio.DatagramProtocol):
    def __init__(self, fleet: Fleet, trunk: SipTrunk) -> None:
        self.fleet = fleet
        self.trunk = trunk
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if not self.fleet.reachable(self.trunk.asset_id):
            return
        answer = self.trunk.answer()
        if answer is None:
            return
        response = build_sip_response(data, answer.status, answer.reason)
        if response is None or self.transport is None:
            return
        loop = asyncio.get_running_loop()
        loop.call_later(answer.delay_s, self._send, response, addr)

    def _send(self, response: bytes, addr: tuple[str | int, ...]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(response, addr)


class SipResponders:
    """One UDP SIP endpoint per simulated trunk."""

    def __init__(self, fleet: Fleet, *, ephemeral: bool = False, fallback: bool = False) -> None:
        self.fleet = fleet
        self.ephemeral = ephemeral
        self.fallback = fallback
        self.configured: dict[str, tuple[str, int]] = {
            trunk.asset_id: (fleet.agent.host, fleet.agent.base_port + SIP_PORT_OFFSET + i)
            for i, trunk in enumerate(self.trunks())
        }
        self.endpoints: dict[str, tuple[str, int]] = {}
        self._transports: list[asyncio.BaseTransport] = []

    def trunks(self) -> list[SipTrunk]:
        return [d for d in self.fleet if isinstance(d, SipTrunk)]

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for trunk in self.trunks():
            host, port = self.configured[trunk.asset_id]
            sock = open_listener("udp", host, 0 if self.ephemeral else port, fallback=self.fallback)
            transport, _ = await loop.create_datagram_endpoint(
                partial(_SipEndpoint, self.fleet, trunk), sock=sock
            )
            self._transports.append(transport)
            sockname = transport.get_extra_info("sockname")
            self.endpoints[trunk.asset_id] = (str(sockname[0]), int(sockname[1]))

    def close(self) -> None:
        for transport in self._transports:
            transport.close()
        self._transports.clear()


class HttpServices:
    """Each simulated server's health page: 200 while it answers, nothing while it is down."""

    def __init__(self, fleet: Fleet, *, ephemeral: bool = False, fallback: bool = False) -> None:
        self.fleet = fleet
        self.ephemeral = ephemeral
        self.fallback = fallback
        self.configured: dict[str, tuple[str, int]] = {
            server.asset_id: (fleet.agent.host, fleet.agent.base_port + HTTP_PORT_OFFSET + i)
            for i, server in enumerate(self.servers())
        }
        self.endpoints: dict[str, tuple[str, int]] = {}
        self._servers: list[asyncio.Server] = []

    def servers(self) -> list[Server]:
        return [d for d in self.fleet if isinstance(d, Server)]

    async def _handle(
        self, server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            async with asyncio.timeout(5):
                await reader.readuntil(b"\r\n\r\n")
            if not self.fleet.reachable(server.asset_id):
                return  # a dead server accepts nothing useful: close without a reply
            body = f"OK {server.asset_id}\n".encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            writer.close()

    async def start(self) -> None:
        for server in self.servers():
            host, port = self.configured[server.asset_id]
            sock = open_listener("tcp", host, 0 if self.ephemeral else port, fallback=self.fallback)
            listener = await asyncio.start_server(partial(self._handle, server), sock=sock)
            self._servers.append(listener)
            sockname = listener.sockets[0].getsockname()
            self.endpoints[server.asset_id] = (str(sockname[0]), int(sockname[1]))

    async def close(self) -> None:
        for listener in self._servers:
            listener.close()
            await listener.wait_closed()
        self._servers.clear()

"""The simulator's SNMP agent: one UDP endpoint per simulated device, answering SNMP v1/v2c
GET, GETNEXT and GETBULK from the device's MIB view, and staying silent while the fleet says the
device is unreachable (down, behind a failed backhaul, switch port or parent).

``SnmpAgent.answer`` is the whole protocol logic on bytes, usable without sockets; ``start``
binds the endpoints on an asyncio loop.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from types import TracebackType
from typing import cast

from monitor.core.listen import open_listener
from monitor.simulator.fleet import Fleet
from monitor.simulator.mib import Binding, MibView, Syntax
from monitor.simulator.traps import TrapSender
from probes.snmp.codec import (
    CodecError,
    Message,
    PduType,
    VarBind,
    decode_message,
    encode_message,
)

__all__ = ["ErrorStatus", "SnmpAgent"]

log = logging.getLogger("trunkwatch.simulator.agent")

_V1 = 0
#: The largest datagram the agent sends: what fits in one UDP packet over IPv4.
MAX_DATAGRAM = 65507


class ErrorStatus:
    """SNMP error-status values the agent uses (RFC 3416)."""

    NO_ERROR = 0
    TOO_BIG = 1
    NO_SUCH_NAME = 2
    GEN_ERR = 5
    NOT_WRITABLE = 17


_EXCEPTIONS = frozenset({Syntax.NO_SUCH_OBJECT, Syntax.NO_SUCH_INSTANCE, Syntax.END_OF_MIB_VIEW})


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, agent: SnmpAgent, asset_id: str) -> None:
        self.agent = agent
        self.asset_id = asset_id
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's selector transport does not subclass DatagramTransport on every version.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        reply = self.agent.answer(self.asset_id, data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class SnmpAgent:
    """Serves every SNMP-speaking device of a fleet, each on its own UDP port.

    Ports come from the fleet (``simulator.agent.base_port`` or a device's ``port``); with
    ``ephemeral=True`` each endpoint binds port 0 and ``endpoints`` tells where it landed,
    which is what tests want; with ``fallback=True`` only the ports already taken move.
    """

    def __init__(
        self,
        fleet: Fleet,
        *,
        host: str | None = None,
        community: str | None = None,
        ephemeral: bool = False,
        fallback: bool = False,
        max_datagram: int = MAX_DATAGRAM,
    ) -> None:
        self.fleet = fleet
        self.host = host or fleet.agent.host
        self.community = (community or fleet.agent.community).encode()
        self.ephemeral = ephemeral
        self.fallback = fallback
        self.max_datagram = max_datagram
        self.endpoints: dict[str, tuple[str, int]] = {}
        self._transports: list[asyncio.DatagramTransport] = []
        self._by_asset: dict[str, asyncio.DatagramTransport] = {}
        self.traps = TrapSender(
            self.fleet, self._by_asset, _sink(fleet.agent.trap_sink), self.community
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            for asset_id, port in self.fleet.ports.items():
                sock = open_listener(
                    "udp", self.host, 0 if self.ephemeral else port, fallback=self.fallback
                )
                transport, _ = await loop.create_datagram_endpoint(
                    partial(_Endpoint, self, asset_id), sock=sock
                )
                self._transports.append(transport)
                self._by_asset[asset_id] = transport
                sockname = transport.get_extra_info("sockname")
                self.endpoints[asset_id] = (str(sockname[0]), int(sockname[1]))
        except OSError:
            self.close()
            raise
        log.info(
            "simulated SNMP agents listening: %d devices on %s", len(self.endpoints), self.host
        )

    def close(self) -> None:
        self.traps.close()
        for transport in self._transports:
            transport.close()
        self._transports.clear()
        self._by_asset.clear()

    async def __aenter__(self) -> SnmpAgent:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def run_ticks(self, interval_s: float = 30.0) -> None:
        """Advance the whole fleet every ``interval_s`` seconds of the clock the simulation
        runs on (real seconds, unless a test drives it), until cancelled, so that no device
        piles up hours of events for its next poll."""
        while True:
            await self.fleet.clock.source.sleep(interval_s)
            self.fleet.tick()

    # -- protocol ----------------------------------------------------------------------------

    def answer(self, asset_id: str, data: bytes) -> bytes | None:
        """The reply datagram for a request to ``asset_id``, or ``None`` to stay silent."""
        try:
            request = decode_message(data)
        except CodecError:
            return None  # an agent drops what it cannot parse (snmpInASNParseErrs)
        if request.community != self.community:
            return None
        view = self.fleet.poll(asset_id)
        if view is None:
            return None
        try:
            response = self._respond(request, view)
        except Exception:
            # A broken getter is a simulator bug: answer genErr, as an agent would, and keep
            # serving the other requests.
            log.exception("error answering %s for %s", PduType(request.pdu_type).name, asset_id)
            response = self._reply(request, request.varbinds, ErrorStatus.GEN_ERR, 1)
        if response is None:
            return None
        try:
            return self._encode_fitting(request, response)
        except CodecError:
            log.exception("cannot encode the answer of %s", asset_id)
            return None

    def _respond(self, request: Message, view: MibView) -> Message | None:
        v1 = request.version == _V1
        oids = [vb.oid for vb in request.varbinds]
        if request.pdu_type == PduType.GET:
            bindings = [self._v1_get(view, oid) if v1 else view.get(oid) for oid in oids]
        elif request.pdu_type == PduType.GETNEXT:
            bindings = [self._v1_next(view, oid) if v1 else view.next(oid) for oid in oids]
        elif request.pdu_type == PduType.GETBULK:
            bindings = view.bulk(oids, request.error_status, request.error_index)
        elif request.pdu_type == PduType.SET:
            status = ErrorStatus.NO_SUCH_NAME if v1 else ErrorStatus.NOT_WRITABLE
            return self._reply(request, request.varbinds, status, 1 if oids else 0)
        else:
            return None
        if v1:
            for i, binding in enumerate(bindings):
                if binding.tag in _EXCEPTIONS:
                    # SNMPv1 has no exception values: the whole request fails on this varbind.
                    return self._reply(request, request.varbinds, ErrorStatus.NO_SUCH_NAME, i + 1)
        return self._reply(request, [_varbind(b) for b in bindings])

    @staticmethod
    def _v1_get(view: MibView, oid: tuple[int, ...]) -> Binding:
        binding = view.get(oid)
        if binding.tag == Syntax.COUNTER64:
            return Binding(oid, Syntax.NO_SUCH_OBJECT, None)
        return binding

    @staticmethod
    def _v1_next(view: MibView, oid: tuple[int, ...]) -> Binding:
        # SNMPv1 cannot carry Counter64: a v1 walk steps over those objects (RFC 3584 §4.2.2).
        binding = view.next(oid)
        while binding.tag == Syntax.COUNTER64:
            binding = view.next(binding.oid)
        return binding

    @staticmethod
    def _reply(
        request: Message, varbinds: list[VarBind], status: int = 0, index: int = 0
    ) -> Message:
        return Message(
            version=request.version,
            community=request.community,
            pdu_type=PduType.RESPONSE,
            request_id=request.request_id,
            error_status=status,
            error_index=index,
            varbinds=list(varbinds),
        )

    def _encode_fitting(self, request: Message, response: Message) -> bytes:
        data = encode_message(response)
        if len(data) <= self.max_datagram:
            return data
        if request.pdu_type == PduType.GETBULK:
            # GETBULK may answer with fewer varbinds (RFC 3416 §4.2.3): trim to fit.
            varbinds = response.varbinds
            while varbinds and len(data) > self.max_datagram:
                keep = max(0, int(len(varbinds) * self.max_datagram / len(data)) - 1)
                varbinds = varbinds[:keep]
                response.varbinds = varbinds
                data = encode_message(response)
            return data
        too_big = self._reply(request, [], ErrorStatus.TOO_BIG, 0)
        return encode_message(too_big)


def _sink(text: str | None) -> tuple[str, int] | None:
    if not text:
        return None
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def _varbind(binding: Binding) -> VarBind:
    return VarBind(binding.oid, binding.tag, binding.value)

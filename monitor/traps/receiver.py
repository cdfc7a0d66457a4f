"""The SNMP trap receiver: one UDP socket, every datagram attributed to an asset, checked,
decoded within a CPU budget, acknowledged when it is an inform, counted, and turned into
alarms by the profiles' mappings (state in a ``TrapBook``).

What happens to a datagram, in order:

1. The source address must be a configured asset's (its ``address`` host; host names are
   resolved when the configuration is applied). Several assets on one host: the one whose
   port equals the source port, else the first in the file. Otherwise it is dropped as
   ``unknown_source`` and never acknowledged.
2. Before anything is decoded, v1/v2c headers are read in constant time: the PDU must be a
   notification (else ``malformed``) and the community one configured (``bad_community``).
   SNMPv3 without ``v3_users`` is ``auth`` at once.
3. What passed so far is decoded only within the decode budget: ``decode_budget`` seconds of
   CPU per second (a token bucket holding one second's worth); the CPU time each datagram
   took is charged after it, and while the bucket is empty datagrams are dropped as
   ``over_budget``. A flood of costly datagrams from a known source with the right community
   (or user name) thus takes at most that share of the event loop, and probes keep their
   timing; decoding one datagram takes time linear in its size (``probes.snmp.codec``).
4. v1/v2c are decoded by ``probes.snmp.codec`` (``malformed`` if that fails, or if the PDU
   lacks snmpTrapOID.0 or has more than 256 varbinds). SNMPv3 goes to pysnmp
   (``probes.snmp.V3NotificationReceiver``, which refuses unknown user names, over-long OIDs
   and more than 256 plaintext varbinds before pysnmp decodes anything): unknown users, wrong
   keys and undecryptable messages are ``auth``; engine-id discovery and time
   synchronisation of informs are part of the protocol and not counted.
5. An INFORM is acknowledged with a RESPONSE echoing its request-id and varbinds. A
   retransmitted inform (same source and request-id within a minute) is acknowledged again but
   counted once.
6. SNMPv1 traps are converted to the SNMPv2 form (RFC 3584 §3.1): snmpTrapOID.0 is the
   generic trap's snmpTraps OID, or enterprise.0.specific; snmpTrapAddress.0 and
   snmpTrapEnterprise.0 are appended. snmpTrapCommunity.0 is deliberately left out: it would
   carry the community into whatever shows the varbinds.
7. The notification is counted under its mapped name, or its numeric OID while fewer than
   ``max_trap_oids`` unmapped OIDs have been seen, else ``other``. A mapped trap then raises or
   clears its alarm (see ``probes.snmp.profiles`` for the ``traps:`` list of a profile).

Community strings and keys never reach a log, an error or a label.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, cast

from prometheus_client.registry import CollectorRegistry

from monitor.core.clock import Clock
from monitor.inventory import Asset
from monitor.traps.alarms import TrapBook
from monitor.traps.notification import (
    clears_instead,
    instance_of,
    message_version,
    trap_oid_of,
    v1_to_v2,
)
from monitor.traps.settings import TrapSettings
from monitor.traps.sources import TrapSource, address_key, resolve_sources
from probes.base import ProbeConfigError
from probes.snmp.codec import (
    OID,
    CodecError,
    Message,
    PduType,
    VarBind,
    decode_message,
    encode_message,
    peek_header,
)

if TYPE_CHECKING:
    from probes.snmp import V3NotificationReceiver, V3TrapUser

__all__ = ["MAX_NOTIFICATION_VARBINDS", "DecodeBudget", "TrapReceiver"]

log = logging.getLogger("trunkwatch.traps")

_NOTIFICATIONS: Final = frozenset({PduType.TRAP_V1, PduType.TRAP_V2, PduType.INFORM})
#: How long a retransmitted inform is recognised, and how many are remembered.
_INFORM_MEMORY_S: Final = 60.0
_INFORM_MEMORY_MAX: Final = 4096
#: Sources and reasons logged once each; beyond this many, drops are only counted.
_LOGGED_MAX: Final = 1024
#: A trap storm (a site losing mains sends dozens at once) must not overflow the socket.
_RECEIVE_BUFFER_BYTES: Final = 1 << 20
#: Varbinds a notification may carry; real ones carry a handful. More is refused as malformed
#: (pysnmp alone spends ~70 µs on each v3 varbind).
MAX_NOTIFICATION_VARBINDS: Final = 256


class _Once:
    """Remembers (reason, host) pairs already logged, up to a bound."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()

    def first(self, reason: str, host: str) -> bool:
        key = (reason, host)
        if key in self._seen or len(self._seen) >= _LOGGED_MAX:
            return False
        self._seen.add(key)
        return True


class DecodeBudget:
    """The CPU time the receiver may spend decoding, as a token bucket.

    ``share`` seconds are added per second of ``clock``, and at most ``share`` are saved up
    (one second's worth). A datagram may be decoded while the bucket is not empty; the CPU
    time it then took (``cpu_time``, this thread's by default, so time other processes took
    from us is not charged) is taken out afterwards. Over any stretch, decoding thus takes at
    most ``share`` of the event loop plus one datagram's worth.
    """

    def __init__(
        self,
        share: float,
        clock: Clock,
        cpu_time: Callable[[], float] = time.thread_time,
    ) -> None:
        self.share = share
        self.cpu_time = cpu_time
        self._clock = clock
        self._tokens = share
        self._filled_at = clock.monotonic()

    def available(self) -> bool:
        """True while some budget is left (refilled for the time passed first)."""
        now = self._clock.monotonic()
        self._tokens = min(self.share, self._tokens + (now - self._filled_at) * self.share)
        self._filled_at = now
        return self._tokens > 0

    def charge(self, seconds: float) -> None:
        """Take out what one datagram cost."""
        self._tokens -= seconds


class TrapReceiver(asyncio.DatagramProtocol):
    """Receives traps and informs on one UDP socket and records them in a TrapBook.

    ``registry`` gets the book's collector when the receiver creates its own book; a receiver
    given a ``book`` (one replacing another on a new address) leaves registration alone.
    ``cpu_time`` measures what decoding costs against ``settings.decode_budget``.
    """

    def __init__(
        self,
        settings: TrapSettings,
        *,
        registry: CollectorRegistry | None = None,
        clock: Clock | None = None,
        book: TrapBook | None = None,
        cpu_time: Callable[[], float] = time.thread_time,
    ) -> None:
        self.settings = settings
        self._registry: CollectorRegistry | None = None
        if book is None:
            book = TrapBook(clock)
            if registry is not None:
                registry.register(book.collector)
                self._registry = registry
        self.book = book
        self.budget = DecodeBudget(settings.decode_budget, book.clock, cpu_time)
        self._over_budget = 0  # datagrams dropped since the budget last ran out
        self._by_address: dict[str, list[TrapSource]] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._v3: V3NotificationReceiver | None = None
        self._informs: OrderedDict[tuple[str, int, int, int], float] = OrderedDict()
        self._logged = _Once()
        self.address: tuple[str, int] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> tuple[str, int]:
        """Bind ``settings.listen``; returns the address bound (port 0 picks a free one).
        Raises OSError when the address cannot be bound."""
        loop = asyncio.get_running_loop()
        host, port = self.settings.listen
        await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        assert self._transport is not None
        sock = self._transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER_BYTES)
            except OSError:  # capped by net.core.rmem_max: the default still works
                log.debug("could not enlarge the trap socket's receive buffer")
        bound = self._transport.get_extra_info("sockname")
        self.address = (str(bound[0]), int(bound[1]))
        try:
            self._v3 = self._new_v3(self.settings.v3_users)
        except ProbeConfigError:
            self._transport.close()
            self._transport = None
            raise
        log.info(
            "receiving SNMP traps on udp %s:%d (rules=%d v3_users=%d)",
            self.address[0],
            self.address[1],
            len(self.settings.rules),
            len(self.settings.v3_users),
        )
        return self.address

    async def stop(self) -> None:
        """Close the socket and the SNMPv3 engine; the book's collector is unregistered if
        this receiver registered it."""
        self._stop_v3()
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
        if self._registry is not None:
            self._registry.unregister(self.book.collector)
            self._registry = None

    def reconfigure(self, settings: TrapSettings) -> None:
        """Apply new settings on the same socket (a new ``listen`` needs a new receiver).
        Raises ProbeConfigError, changing nothing, if new SNMPv3 users cannot be set up."""
        if settings.v3_users != self.settings.v3_users and self._transport is not None:
            v3 = self._new_v3(settings.v3_users)
            self._stop_v3()
            self._v3 = v3
        self.settings = settings
        self.budget.share = settings.decode_budget

    def set_sources(self, by_address: Mapping[str, Sequence[TrapSource]]) -> None:
        """The assets traps are attributed to, by literal address (see ``resolve_sources``)."""
        self._by_address = {key: list(sources) for key, sources in by_address.items()}
        self.book.set_sources({s for sources in by_address.values() for s in sources})

    async def set_assets(self, assets: Iterable[Asset]) -> None:
        """Attribute traps to these inventory assets (host names resolved now)."""
        self.set_sources(await resolve_sources(TrapSource.from_asset(a) for a in assets))

    def _new_v3(self, users: Sequence[V3TrapUser]) -> V3NotificationReceiver | None:
        if not users or self._transport is None:
            return None
        # Imported here, not above: probes.snmp loads pysnmp (~0.4 s), which only SNMPv3 needs.
        from probes.snmp import V3NotificationReceiver

        transport = self._transport
        receiver = V3NotificationReceiver(users, max_varbinds=MAX_NOTIFICATION_VARBINDS)
        receiver.start(lambda data, address: transport.sendto(data, address))
        return receiver

    def _stop_v3(self) -> None:
        receiver, self._v3 = self._v3, None
        if receiver is not None:
            receiver.close()

    # -- asyncio.DatagramProtocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        source = (str(addr[0]), int(addr[1]))
        try:
            self.receive(data, source)
        except Exception:  # a bug must cost one datagram, never the receiver
            self.book.drop("malformed")
            if self._logged.first("internal", source[0]):
                log.exception("trap from %s could not be processed", source[0])

    def error_received(self, exc: Exception) -> None:
        # ICMP errors for our inform responses (the sender went away): nothing to do.
        log.debug("trap socket error: %s", exc)

    # -- processing ------------------------------------------------------------------------

    def lookup(self, host: str, port: int) -> TrapSource | None:
        """The asset a datagram from (host, port) belongs to, if any."""
        key = address_key(host)
        candidates = self._by_address.get(key) if key is not None else None
        if not candidates:
            return None
        if len(candidates) > 1:
            for candidate in candidates:
                if candidate.port == port:
                    return candidate
        return candidates[0]

    def receive(self, data: bytes, source: tuple[str, int]) -> None:
        """Handle one datagram from ``source``; replies go out through the socket."""
        book = self.book
        asset = self.lookup(*source)
        if asset is None:
            book.drop("unknown_source")
            if self._logged.first("unknown_source", source[0]):
                log.info("trap from %s dropped: no asset has that address", source[0])
            return
        if message_version(data) == 3:
            if self._v3 is None:
                book.drop("auth")
                if self._logged.first("auth", source[0]):
                    log.warning("SNMPv3 trap from %s dropped: no v3_users configured", source[0])
                return
            if self._within_budget():
                self._decode_charged(self._receive_v3, asset, data, source)
            return
        # Whom it is for, read in constant time, before anything costly is decoded.
        try:
            head = peek_header(data)
        except CodecError as exc:
            self._malformed(source, str(exc))
            return
        if head.pdu_type not in _NOTIFICATIONS:
            self._malformed(source, f"{PduType(head.pdu_type).name} is not a notification")
            return
        if not any(hmac.compare_digest(head.community, c) for c in self.settings.communities):
            book.drop("bad_community")
            if self._logged.first("bad_community", source[0]):
                log.warning("trap from %s (%s) dropped: wrong community", source[0], asset.asset)
            return
        if self._within_budget():
            self._decode_charged(self._receive_v1_v2c, asset, data, source)

    def _within_budget(self) -> bool:
        """Whether decoding may go on; counts the drop and logs the change when it may not."""
        if self.budget.available():
            if self._over_budget:
                log.info(
                    "trap decoding back within its budget after dropping %d datagrams",
                    self._over_budget,
                )
                self._over_budget = 0
            return True
        self.book.drop("over_budget")
        if not self._over_budget:
            log.warning(
                "trap decoding used its budget (%g s of CPU a second): "
                "dropping datagrams as over_budget",
                self.budget.share,
            )
        self._over_budget += 1
        return False

    def _decode_charged(
        self,
        handle: Callable[[TrapSource, bytes, tuple[str, int]], None],
        asset: TrapSource,
        data: bytes,
        source: tuple[str, int],
    ) -> None:
        cpu_time = self.budget.cpu_time
        started = cpu_time()
        try:
            handle(asset, data, source)
        finally:
            self.budget.charge(cpu_time() - started)

    def _receive_v1_v2c(self, asset: TrapSource, data: bytes, source: tuple[str, int]) -> None:
        try:
            msg = decode_message(data)
        except CodecError as exc:
            self._malformed(source, str(exc))
            return
        if len(msg.varbinds) > MAX_NOTIFICATION_VARBINDS:
            self._malformed(source, f"{len(msg.varbinds)} varbinds")
            return
        try:
            varbinds = v1_to_v2(msg) if msg.pdu_type == PduType.TRAP_V1 else msg.varbinds
        except CodecError as exc:
            self._malformed(source, str(exc))
            return
        trap_oid = trap_oid_of(varbinds)
        if trap_oid is None:
            self._malformed(source, "no snmpTrapOID.0 among the first two varbinds")
            return
        if msg.pdu_type == PduType.INFORM:
            self._acknowledge(msg, source)
            if self._retransmitted(source, msg):
                return
        self.notify(asset, trap_oid, varbinds)

    def _receive_v3(self, asset: TrapSource, data: bytes, source: tuple[str, int]) -> None:
        assert self._v3 is not None
        outcome, notification = self._v3.feed(data, source)
        if outcome == "accepted" and notification is not None:
            if len(notification.varbinds) > MAX_NOTIFICATION_VARBINDS:
                self._malformed(source, f"{len(notification.varbinds)} varbinds")
                return
            trap_oid = trap_oid_of(notification.varbinds)
            if trap_oid is None:
                self._malformed(source, "no snmpTrapOID.0 among the first two varbinds")
                return
            self.notify(asset, trap_oid, notification.varbinds)
        elif outcome == "auth":
            self.book.drop("auth")
            if self._logged.first("auth", source[0]):
                log.warning(
                    "SNMPv3 trap from %s (%s) dropped: unknown user, engine id or keys",
                    source[0],
                    asset.asset,
                )
        elif outcome == "malformed":
            self._malformed(source, "undecodable SNMPv3 message")
        # "discovery": engine-id and time synchronisation of an inform, answered by pysnmp.

    def _malformed(self, source: tuple[str, int], reason: str) -> None:
        self.book.drop("malformed")
        log.debug("trap from %s dropped as malformed: %s", source[0], reason)

    def _acknowledge(self, msg: Message, source: tuple[str, int]) -> None:
        response = Message(
            version=msg.version,
            community=msg.community,
            pdu_type=PduType.RESPONSE,
            request_id=msg.request_id,
            varbinds=msg.varbinds,
        )
        if self._transport is not None:
            self._transport.sendto(encode_message(response), source)

    def _retransmitted(self, source: tuple[str, int], msg: Message) -> bool:
        """True if this inform was seen already (its response got lost on the way back)."""
        now = self.book.clock.monotonic()
        informs = self._informs
        while informs:
            oldest, seen_at = next(iter(informs.items()))
            if seen_at > now - _INFORM_MEMORY_S and len(informs) < _INFORM_MEMORY_MAX:
                break
            del informs[oldest]
        key = (source[0], source[1], msg.version, msg.request_id)
        if key in informs:
            return True
        informs[key] = now
        return False

    def notify(self, asset: TrapSource, trap_oid: OID, varbinds: Sequence[VarBind]) -> None:
        """Count a notification and apply its mapping (v1 traps already in v2 form)."""
        settings = self.settings
        rule = settings.rules.get(trap_oid)
        book = self.book
        book.count(asset.asset, book.trap_label(trap_oid, rule, settings.max_trap_oids))
        if rule is None:
            return
        instance = instance_of(rule.instance, varbinds)
        if rule.raises is not None:
            if clears_instead(rule, varbinds):
                book.clear_alarm(asset.asset, rule.raises, instance)
            else:
                hold = rule.hold or settings.hold
                raised = book.raise_alarm(asset.asset, rule, instance, hold, settings.max_alarms)
                if not raised and self._logged.first("refused", ""):
                    log.warning(
                        "alarm %s of %s not raised: %d alarms are active (max_alarms)",
                        rule.raises,
                        asset.asset,
                        settings.max_alarms,
                    )
        for alarm in rule.clears:
            # A clearing trap mapped without an instance ends every instance of the alarm.
            book.clear_alarm(asset.asset, alarm, instance if rule.instance is not None else None)

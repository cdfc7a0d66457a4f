"""SNMPv3 over pysnmp, the only module that imports it: notifications from agents, and a
reference requester.

``V3NotificationReceiver`` authenticates and decrypts the v3 traps and informs the trap
receiver hands it (acknowledging informs, answering their engine discovery): the one job
pysnmp still does in production. Polling goes through ``probes.snmp.v3client`` (our own USM
codec, about ten times cheaper per varbind); ``PysnmpSession`` offers the same ``get``/``walk``
over pysnmp as the slow, independent path the tests compare it with. Both turn pysnmp's results
into the codec's ``VarBind`` triples and its failures into ``probes.base`` exceptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from types import TracebackType
from typing import Any, Final, Literal

from probes.base import (
    AuthError,
    MalformedReply,
    ProbeConfigError,
    ProbeError,
    ProbeTimeout,
    UnexpectedReply,
    Unreachable,
)
from probes.snmp.codec import OID, CodecError, PduType, Tag, VarBind, read_v3_header
from probes.snmp.errors import check_usm_credentials, status_error
from probes.snmp.usm import AuthProtocol, PrivProtocol
from probes.snmp.v3client import SnmpV3Endpoint
from probes.snmp.walk import SubtreeWalk

# pysnmp 7.1 imports pysmi through names pysmi has deprecated; with warnings turned into
# errors (as the test suite does) the import itself would fail.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyasn1.error import PyAsn1Error
    from pysnmp.carrier.asyncio.dgram import udp as _udp
    from pysnmp.carrier.base import AbstractTransport
    from pysnmp.entity import config as _entity_config
    from pysnmp.entity.rfc3413 import ntfrcv as _ntfrcv
    from pysnmp.error import PySnmpError
    from pysnmp.hlapi.v3arch.asyncio import (
        USM_AUTH_HMAC96_MD5,
        USM_AUTH_HMAC96_SHA,
        USM_AUTH_HMAC128_SHA224,
        USM_AUTH_HMAC192_SHA256,
        USM_AUTH_HMAC256_SHA384,
        USM_AUTH_HMAC384_SHA512,
        USM_AUTH_NONE,
        USM_PRIV_CBC56_DES,
        USM_PRIV_CFB128_AES,
        USM_PRIV_CFB192_AES_BLUMENTHAL,
        USM_PRIV_CFB256_AES_BLUMENTHAL,
        USM_PRIV_NONE,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        Udp6TransportTarget,
        UdpTransportTarget,
        UsmUserData,
        bulk_walk_cmd,
        get_cmd,
    )
    from pysnmp.hlapi.varbinds import CommandGeneratorVarBinds
    from pysnmp.proto import errind
    from pysnmp.proto.api import v2c as _v2c

__all__ = [
    "PysnmpSession",
    "SnmpV3Endpoint",
    "V3Notification",
    "V3NotificationReceiver",
    "V3Outcome",
    "V3TrapUser",
]

_AUTH: Final[dict[str, Any]] = {
    "none": USM_AUTH_NONE,
    "md5": USM_AUTH_HMAC96_MD5,
    "sha": USM_AUTH_HMAC96_SHA,
    "sha224": USM_AUTH_HMAC128_SHA224,
    "sha256": USM_AUTH_HMAC192_SHA256,
    "sha384": USM_AUTH_HMAC256_SHA384,
    "sha512": USM_AUTH_HMAC384_SHA512,
}
# AES-192/256 keys are extended the way net-snmp's AES-192/AES-256 do (Blumenthal draft);
# Cisco's variant (Reeder, net-snmp "AES-192-C") is not offered.
_PRIV: Final[dict[str, Any]] = {
    "none": USM_PRIV_NONE,
    "des": USM_PRIV_CBC56_DES,
    "aes": USM_PRIV_CFB128_AES,
    "aes192": USM_PRIV_CFB192_AES_BLUMENTHAL,
    "aes256": USM_PRIV_CFB256_AES_BLUMENTHAL,
}


# pysnmp's error indications, most specific meaning first. The reason texts are fixed so no
# key material can reach a log through them.
_AUTH_INDICATIONS: Final[tuple[tuple[type[Exception], str], ...]] = (
    (errind.UnknownUserName, "unknown user"),
    (errind.UnknownSecurityName, "unknown user"),
    (errind.WrongDigest, "wrong digest (auth key or protocol)"),
    (errind.AuthenticationFailure, "authentication failed"),
    (errind.AuthenticationError, "authentication failed"),
    (errind.DecryptionError, "decryption failed (priv key or protocol)"),
    (errind.NotInTimeWindow, "not in time window"),
    (errind.UnsupportedSecurityLevel, "security level not accepted by the agent"),
)

# pysnmp value classes (and their bases, for subclasses such as DisplayString) -> BER tag.
_TAG_BY_CLASS: Final[dict[str, int]] = {
    "Integer32": Tag.INTEGER,
    "Integer": Tag.INTEGER,
    "OctetString": Tag.OCTET_STRING,
    "Bits": Tag.OCTET_STRING,
    "Null": Tag.NULL,
    "ObjectIdentifier": Tag.OBJECT_IDENTIFIER,
    "ObjectName": Tag.OBJECT_IDENTIFIER,
    "IpAddress": Tag.IPADDRESS,
    "Counter32": Tag.COUNTER32,
    "Gauge32": Tag.GAUGE32,
    "Unsigned32": Tag.GAUGE32,
    "TimeTicks": Tag.TIMETICKS,
    "Opaque": Tag.OPAQUE,
    "Counter64": Tag.COUNTER64,
    "NoSuchObject": Tag.NO_SUCH_OBJECT,
    "NoSuchInstance": Tag.NO_SUCH_INSTANCE,
    "EndOfMibView": Tag.END_OF_MIB_VIEW,
}
_BYTES_TAGS = frozenset({Tag.OCTET_STRING, Tag.IPADDRESS, Tag.OPAQUE})
_INT_TAGS = frozenset({Tag.INTEGER, Tag.COUNTER32, Tag.GAUGE32, Tag.TIMETICKS, Tag.COUNTER64})


def _tag_of(value: object) -> int:
    tag = _TAG_BY_CLASS.get(type(value).__name__)
    if tag is not None:
        return tag
    # NoSuchObject and friends derive from Null, and DisplayString from OctetString: the
    # first known class on the MRO is the wire type.
    for cls in type(value).__mro__[1:]:
        tag = _TAG_BY_CLASS.get(cls.__name__)
        if tag is not None:
            return tag
    raise UnexpectedReply(f"unsupported SNMP value type {type(value).__name__}")


def _to_varbind(name: Any, value: Any) -> VarBind:
    """One pysnmp (ObjectName, value) pair as the codec's VarBind."""
    oid: OID = tuple(int(sub) for sub in name)
    tag = _tag_of(value)
    if tag in _INT_TAGS:
        return VarBind(oid, tag, int(value))
    if tag in _BYTES_TAGS:
        return VarBind(oid, tag, bytes(value.asOctets()))
    if tag == Tag.OBJECT_IDENTIFIER:
        return VarBind(oid, tag, tuple(int(sub) for sub in value))
    return VarBind(oid, tag, None)


def _raise_for_indication(ep: SnmpV3Endpoint, indication: object) -> None:
    if isinstance(indication, errind.RequestTimedOut):
        raise ProbeTimeout(
            f"no reply from {ep.host}:{ep.port} after {ep.retries + 1} tries of "
            f"{ep.timeout:g} s (a wrong priv key also looks like this)"
        )
    for cls, reason in _AUTH_INDICATIONS:
        if isinstance(indication, cls):
            raise AuthError(f"{ep.host}: SNMPv3 {reason}")
    if isinstance(indication, errind.OidNotIncreasing):
        raise MalformedReply(f"{ep.host}: agent returned a non-increasing OID")
    if isinstance(indication, errind.DeserializationError):
        raise MalformedReply(f"{ep.host}: undecodable reply")
    raise UnexpectedReply(f"{ep.host}: {indication}")


def _raise_for_status(ep: SnmpV3Endpoint, status: Any, index: Any, asked: Sequence[OID]) -> None:
    code = int(status)
    if code:
        raise status_error(ep.host, code, int(index or 0), asked)


class _UserGate:
    """The credentials a USM user name is registered with, and the requests using them."""

    __slots__ = ("credentials", "idle", "in_flight")

    def __init__(self) -> None:
        self.credentials: tuple[str, str, str, str] | None = None
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()


class PysnmpSession:
    """SNMPv3 GET and walk over one pysnmp engine: create one per process (and event loop).

    The engine keeps the agents' engine ids and time windows, so sharing it saves a discovery
    round trip per request. Requests use ``lookupMib=False`` (no MIB resolution of replies)
    and walks ``lexicographicMode=False`` (stop at the end of the subtree).

    pysnmp registers a USM user by name only: two agents with the same user name but
    different keys would overwrite each other's registration mid-request and fail with a
    spurious wrong-digest error. Requests for one user name therefore run concurrently only
    while they share credentials; a request with other keys waits until those finish.
    """

    def __init__(self) -> None:
        self._engine: Any = None
        self._targets: dict[tuple[str, int, float, int], Any] = {}
        self._gates: dict[str, _UserGate] = {}

    @contextlib.asynccontextmanager
    async def _credentials(self, ep: SnmpV3Endpoint) -> AsyncIterator[None]:
        wanted = (ep.auth_protocol, ep.auth_key, ep.priv_protocol, ep.priv_key)
        gate = self._gates.setdefault(ep.user, _UserGate())
        while gate.in_flight and gate.credentials != wanted:
            await gate.idle.wait()
        gate.credentials = wanted
        gate.in_flight += 1
        gate.idle.clear()
        try:
            yield
        finally:
            gate.in_flight -= 1
            if not gate.in_flight:
                gate.idle.set()

    async def __aenter__(self) -> PysnmpSession:
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
        """Create the engine and prime its MIB view so no request loads MIB machinery."""
        if self._engine is not None:
            return
        engine = SnmpEngine()
        # Building a request resolves its OIDs through a MIB view that pysnmp creates (and
        # equips with pysmi) on first use; doing that here, once, keeps pysmi's deprecation
        # warnings and the one-off cost out of the polling path.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            CommandGeneratorVarBinds().make_varbinds(
                engine.cache, (ObjectType(ObjectIdentity((1, 3, 6, 1))),)
            )
        self._engine = engine

    async def close(self) -> None:
        """Close the engine's sockets."""
        engine, self._engine = self._engine, None
        self._targets.clear()
        if engine is not None:
            engine.close_dispatcher()

    async def get(self, ep: SnmpV3Endpoint, oids: Sequence[OID]) -> list[VarBind]:
        """GET ``oids``; missing objects come back tagged NO_SUCH_OBJECT / NO_SUCH_INSTANCE."""
        if not oids:
            raise ProbeConfigError("GET needs at least one OID")
        engine = self._running()
        target = await self._target(ep)
        request = [ObjectType(ObjectIdentity(tuple(oid))) for oid in oids]
        try:
            async with self._credentials(ep):
                indication, status, index, varbinds = await get_cmd(
                    engine, _user(ep), target, ContextData(), *request, lookupMib=False
                )
        except (PySnmpError, PyAsn1Error) as exc:
            raise _library_error(ep, exc) from exc
        if indication:
            _raise_for_indication(ep, indication)
        _raise_for_status(ep, status, index, oids)
        got = [_to_varbind(name, value) for name, value in varbinds]
        if [vb.oid for vb in got] != [tuple(oid) for oid in oids]:
            raise MalformedReply(f"{ep.host}: GET reply names other OIDs than requested")
        return got

    async def walk(self, ep: SnmpV3Endpoint, root: OID, max_repetitions: int = 25) -> list[VarBind]:
        """Every varbind strictly under ``root`` in OID order, by GETBULK."""
        if max_repetitions < 1:
            raise ProbeConfigError(f"max_repetitions must be >= 1, got {max_repetitions}")
        engine = self._running()
        target = await self._target(ep)
        walk = SubtreeWalk(tuple(root))
        walker = bulk_walk_cmd(
            engine,
            _user(ep),
            target,
            ContextData(),
            0,
            max_repetitions,
            ObjectType(ObjectIdentity(walk.root)),
            lexicographicMode=False,
            lookupMib=False,
        )
        try:
            async with self._credentials(ep), contextlib.aclosing(walker) as replies:
                async for indication, status, index, varbinds in replies:
                    if indication:
                        _raise_for_indication(ep, indication)
                    _raise_for_status(ep, status, index, [walk.last])
                    if walk.take(_to_varbind(name, value) for name, value in varbinds):
                        break
        except (PySnmpError, PyAsn1Error) as exc:
            raise _library_error(ep, exc) from exc
        return walk.varbinds

    def _running(self) -> Any:
        if self._engine is None:
            raise RuntimeError("PysnmpSession is not running: use 'async with PysnmpSession()'")
        return self._engine

    async def _target(self, ep: SnmpV3Endpoint) -> Any:
        key = (ep.host, ep.port, ep.timeout, ep.retries)
        target = self._targets.get(key)
        if target is not None:
            return target
        try:
            literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(
                ep.host
            )
        except ValueError:
            literal = None
        kind = Udp6TransportTarget if literal is not None and literal.version == 6 else None
        try:
            target = await (kind or UdpTransportTarget).create(
                (ep.host, ep.port), timeout=ep.timeout, retries=ep.retries
            )
        except PySnmpError as exc:
            raise Unreachable(f"cannot resolve {ep.host}") from exc
        # Only addresses are cached: a host name is looked up again on the next request so
        # DNS changes are followed.
        if literal is not None:
            self._targets[key] = target
        return target


def _user(ep: SnmpV3Endpoint) -> Any:
    # Weaker levels exist because some site equipment offers nothing better; the config
    # chooses them explicitly.
    if ep.auth_protocol == "none":
        return UsmUserData(ep.user)  # noqa: S509
    if ep.priv_protocol == "none":
        return UsmUserData(ep.user, authKey=ep.auth_key, authProtocol=_AUTH[ep.auth_protocol])
    return UsmUserData(
        ep.user,
        authKey=ep.auth_key,
        privKey=ep.priv_key,
        authProtocol=_AUTH[ep.auth_protocol],
        privProtocol=_PRIV[ep.priv_protocol],
    )


def _library_error(ep: SnmpV3Endpoint, exc: Exception) -> ProbeError:
    # The exception text is pysnmp's and may quote request parameters; only its type is kept.
    if isinstance(exc, PyAsn1Error):
        return MalformedReply(f"{ep.host}: reply could not be decoded ({type(exc).__name__})")
    return UnexpectedReply(f"{ep.host}: SNMPv3 engine error ({type(exc).__name__})")


# ---------------------------------------------------------------------------------------------
# Notifications (SNMPv3 traps and informs)
#
# V3NotificationReceiver: the SNMPv3 half of the trap receiver. The trap receiver owns
# the UDP socket and hands each SNMPv3 datagram to feed(); pysnmp's engine authenticates and
# decrypts it (USM), acknowledges informs through the send function it was started with, and
# hands back the varbinds. Processing is synchronous (the transport below calls the engine
# directly instead of scheduling it), so the outcome of each datagram is known when feed()
# returns: pysnmp reports failures only by counting them in its USM statistics, so feed()
# compares those counters before and after.
#
# pysnmp decodes a whole message, plaintext varbinds included, before it checks the user
# (~40 µs a varbind: a 64 kB datagram of tiny varbinds holds the loop for ~0.4 s). So feed()
# first reads the message's clear parts with our codec, in linear time: an unknown user is
# refused as auth, and OIDs beyond the codec's limits or more than max_varbinds plaintext
# varbinds as malformed, before pysnmp sees the datagram.

#: accepted: a trap or inform, authenticated (informs already acknowledged); discovery: engine
#: id or time synchronisation for an inform, answered by pysnmp; auth: unknown user, engine id
#: or wrong keys; malformed: anything else pysnmp would not take.
V3Outcome = Literal["accepted", "discovery", "auth", "malformed"]

_USM_AUTH_FAILURES: Final = (
    "usmStatsUnknownUserNames",
    "usmStatsWrongDigests",
    "usmStatsDecryptionErrors",
    "usmStatsUnsupportedSecLevels",
)
_USM_SYNCHRONISATION: Final = ("usmStatsUnknownEngineIDs", "usmStatsNotInTimeWindows")


@dataclass(frozen=True, slots=True)
class V3TrapUser:
    """A USM user that may send traps and informs. ``engine_ids`` are the senders' engine
    ids for traps (USM localises the keys with the sender's id); informs are sent to our own
    engine and need none. Keys never appear in a repr."""

    user: str
    _: KW_ONLY
    auth_protocol: AuthProtocol = "sha"
    auth_key: str = field(default="", repr=False)
    priv_protocol: PrivProtocol = "aes"
    priv_key: str = field(default="", repr=False)
    engine_ids: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        check_usm_credentials(
            self.user, self.auth_protocol, self.auth_key, self.priv_protocol, self.priv_key
        )
        for engine_id in self.engine_ids:
            if not 5 <= len(engine_id) <= 32:
                raise ValueError(f"an engine id has 5 to 32 octets, got {len(engine_id)}")


@dataclass(frozen=True, slots=True)
class V3Notification:
    """An authenticated SNMPv3 notification: its PDU type, varbinds and USM user name."""

    pdu_type: PduType
    varbinds: list[VarBind]
    user: str


class _FedTransport(_udp.UdpAsyncioTransport):  # type: ignore[misc]
    """A pysnmp transport without a socket of its own: datagrams are fed in, replies go out
    through the trap receiver's socket."""

    def __init__(self, send: Callable[[bytes, tuple[str, int]], None]) -> None:
        super().__init__()
        self._send = send

    def feed(self, datagram: bytes, source: tuple[str, int]) -> None:
        callback = self._callback_function
        if callback is None:
            raise RuntimeError("transport is not registered with an engine")
        callback(self, _udp.UdpTransportAddress(source), datagram)

    def send_message(self, outgoingMessage: Any, transportAddress: Any) -> None:
        self._send(bytes(outgoingMessage), (str(transportAddress[0]), int(transportAddress[1])))

    def close_transport(self) -> None:
        # Only detach from the engine: the socket belongs to the trap receiver.
        AbstractTransport.close_transport(self)


class V3NotificationReceiver:
    """Authenticates and decrypts SNMPv3 traps and informs fed to it; acknowledges informs.

    ``start`` needs the running event loop (pysnmp's dispatcher keeps a timer task on it for
    its caches); ``close`` ends that task. One instance serves one socket.
    """

    def __init__(self, users: Sequence[V3TrapUser], *, max_varbinds: int = 256) -> None:
        self.users = tuple(users)
        self.max_varbinds = max_varbinds
        self._user_names = frozenset(user.user.encode() for user in self.users)
        self._engine: Any = None
        self._transport: _FedTransport | None = None
        self._counters: list[tuple[str, Any]] = []
        self._caught: list[V3Notification] = []

    def start(self, send: Callable[[bytes, tuple[str, int]], None]) -> None:
        if self._engine is not None:
            return
        engine = SnmpEngine()
        transport = _FedTransport(send)
        try:
            _entity_config.add_transport(engine, _udp.DOMAIN_NAME, transport)
            for user in self.users:
                # Informs: keys localised with our engine id; traps: with each sender's.
                for engine_id in (None, *user.engine_ids):
                    _entity_config.add_v3_user(
                        engine,
                        user.user,
                        _AUTH[user.auth_protocol],
                        user.auth_key or None,
                        _PRIV[user.priv_protocol],
                        user.priv_key or None,
                        securityEngineId=(
                            None if engine_id is None else _v2c.OctetString(engine_id)
                        ),
                    )
            _ntfrcv.NotificationReceiver(engine, self._on_notification)
        except (PySnmpError, PyAsn1Error) as exc:
            engine.close_dispatcher()
            raise ProbeConfigError(
                f"SNMPv3 trap users could not be set up ({type(exc).__name__})"
            ) from exc
        builder = engine.get_mib_builder()
        names = (*_USM_AUTH_FAILURES, *_USM_SYNCHRONISATION)
        symbols = builder.import_symbols("__SNMP-USER-BASED-SM-MIB", *names)
        self._counters = list(zip(names, symbols, strict=True))
        self._engine = engine
        self._transport = transport

    def close(self) -> None:
        engine, self._engine = self._engine, None
        self._transport = None
        if engine is not None:
            engine.close_dispatcher()

    def _snapshot(self) -> dict[str, int]:
        return {name: int(symbol.syntax) for name, symbol in self._counters}

    def _on_notification(
        self,
        engine: Any,
        state_reference: Any,
        context_engine_id: Any,
        context_name: Any,
        varbinds: Any,
        cb_ctx: Any,
    ) -> None:
        context = engine.observer.get_execution_context("rfc3412.receiveMessage:request")
        pdu = context.get("pdu") if context else None
        inform = pdu is not None and pdu.tagSet == _v2c.InformRequestPDU.tagSet
        self._caught.append(
            V3Notification(
                PduType.INFORM if inform else PduType.TRAP_V2,
                [_to_varbind(name, value) for name, value in varbinds],
                str(context.get("securityName", "")) if context else "",
            )
        )

    def feed(
        self, datagram: bytes, source: tuple[str, int]
    ) -> tuple[V3Outcome, V3Notification | None]:
        """Process one SNMPv3 datagram from ``source``; replies are sent before this returns."""
        transport = self._transport
        if transport is None:
            raise RuntimeError("V3NotificationReceiver is not started")
        try:
            header = read_v3_header(datagram, max_varbinds=self.max_varbinds)
        except CodecError:
            return "malformed", None
        # An empty user name is engine-id discovery, which pysnmp answers.
        if header.user_name and header.user_name not in self._user_names:
            return "auth", None
        before = self._snapshot()
        self._caught.clear()
        try:
            transport.feed(datagram, source)
        except (PySnmpError, PyAsn1Error, ProbeError):
            return "malformed", None
        if self._caught:
            return "accepted", self._caught[-1]
        after = self._snapshot()
        if any(after[name] > before[name] for name in _USM_AUTH_FAILURES):
            return "auth", None
        if any(after[name] > before[name] for name in _USM_SYNCHRONISATION):
            return "discovery", None
        return "malformed", None

"""SNMP probing: the SNMPv3 session (the only place pysnmp is imported) and the SNMP probe.

v1/v2c traffic goes through ``probes.snmpclient`` (our own codec); SNMPv3 needs USM
authentication and privacy, which pysnmp provides, so ``PysnmpSession`` offers the same
``get``/``walk`` calls for v3 agents and turns pysnmp's results into the same ``VarBind``
triples and ``probes.base`` exceptions.
"""

from __future__ import annotations

# --- sessions ---------------------------------------------------------------------------------
#
# PysnmpSession: SNMPv3 GET and bulk walk through one pysnmp engine. Self-contained: the
# profile-based probe below builds on it and on probes.snmpclient.SnmpClient.
import asyncio
import contextlib
import ipaddress
import warnings
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import KW_ONLY, dataclass, field
from types import TracebackType
from typing import Any, Final, Literal

from probes.base import (
    AuthError,
    MalformedReply,
    NoSuchObject,
    ProbeConfigError,
    ProbeError,
    ProbeTimeout,
    UnexpectedReply,
    Unreachable,
)
from probes.snmpclient import ERROR_STATUS_NAMES
from probes.snmpcodec import OID, Tag, VarBind, format_oid

# pysnmp 7.1 imports pysmi through names pysmi has deprecated; with warnings turned into
# errors (as the test suite does) the import itself would fail.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyasn1.error import PyAsn1Error
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

__all__ = ["AuthProtocol", "PrivProtocol", "PysnmpSession", "SnmpV3Endpoint"]

AuthProtocol = Literal["none", "md5", "sha", "sha224", "sha256", "sha384", "sha512"]
PrivProtocol = Literal["none", "des", "aes", "aes192", "aes256"]

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
# RFC 3414 §11.2: pass phrases shorter than 8 characters are refused by agents.
_MIN_KEY_LEN = 8


@dataclass(frozen=True, slots=True)
class SnmpV3Endpoint:
    """Where and how to ask one SNMPv3 agent; everything after ``port`` is keyword-only.

    The security level follows from the protocols: ``auth_protocol="none"`` is
    noAuthNoPriv, ``priv_protocol="none"`` authNoPriv, both set authPriv. Keys are pass
    phrases (localised by the engine) and never appear in a repr. A host name resolves to
    IPv4; an IPv6 agent is given by its address.
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
        if not self.user:
            raise ValueError("SNMPv3 user must not be empty")
        if self.auth_protocol not in _AUTH:
            raise ValueError(f"unknown auth_protocol {self.auth_protocol!r}")
        if self.priv_protocol not in _PRIV:
            raise ValueError(f"unknown priv_protocol {self.priv_protocol!r}")
        if self.auth_protocol == "none" and self.priv_protocol != "none":
            raise ValueError("privacy needs authentication: set auth_protocol")
        if self.auth_protocol != "none" and len(self.auth_key) < _MIN_KEY_LEN:
            raise ValueError(f"auth_key must have at least {_MIN_KEY_LEN} characters")
        if self.priv_protocol != "none" and len(self.priv_key) < _MIN_KEY_LEN:
            raise ValueError(f"priv_key must have at least {_MIN_KEY_LEN} characters")
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} outside 1..65535")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")


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
    if not code:
        return
    name = ERROR_STATUS_NAMES.get(code, f"error-status {code}")
    position = int(index or 0)
    where = f" at {format_oid(asked[position - 1])}" if 0 < position <= len(asked) else ""
    if code == 2:
        raise NoSuchObject(f"{ep.host}: noSuchName{where}")
    if code == 16:
        raise AuthError(f"{ep.host}: authorizationError")
    raise UnexpectedReply(f"{ep.host}: agent answered {name}{where}")


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
        root = tuple(root)
        depth = len(root)
        last = root
        out: list[VarBind] = []
        walker = bulk_walk_cmd(
            engine,
            _user(ep),
            target,
            ContextData(),
            0,
            max_repetitions,
            ObjectType(ObjectIdentity(root)),
            lexicographicMode=False,
            lookupMib=False,
        )
        try:
            async with self._credentials(ep), contextlib.aclosing(walker) as replies:
                async for indication, status, index, varbinds in replies:
                    if indication:
                        _raise_for_indication(ep, indication)
                    _raise_for_status(ep, status, index, [last])
                    for name, value in varbinds:
                        vb = _to_varbind(name, value)
                        if vb.tag == Tag.END_OF_MIB_VIEW or vb.oid[:depth] != root:
                            return out
                        if vb.oid <= last:
                            raise MalformedReply(
                                f"{ep.host}: non-increasing OID {format_oid(vb.oid)} "
                                f"after {format_oid(last)}"
                            )
                        out.append(vb)
                        last = vb.oid
        except (PySnmpError, PyAsn1Error) as exc:
            raise _library_error(ep, exc) from exc
        return out

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


# --- end of sessions ---------------------------------------------------------------------------


# --- profile probe -----------------------------------------------------------------------------
#
# SnmpProbe polls the profiles its parameters name (probes/profiles/*.yaml): v1/v2c through the
# process-wide SnmpClient, v3 through the process-wide PysnmpSession, both created on first use
# inside the running loop. The poll itself (what to fetch, partial failures, counters, labels)
# is probes.snmp_poll.DevicePoller; this section adds the parameters, credentials and transports.
# The imports sit here, not at the top, so the sessions section above stays self-contained.

import time  # noqa: E402
from collections.abc import Callable, Mapping  # noqa: E402
from typing import Annotated  # noqa: E402

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field  # noqa: E402

from monitor.core.durations import parse_duration  # noqa: E402
from monitor.core.sources import ConfigError  # noqa: E402
from probes.base import (  # noqa: E402
    Family,
    ProbeParamsError,
    ProbeResult,
    Target,
    validate_params,
)
from probes.snmp_poll import DEFAULT_CHARSET, DevicePoller, PollPlan  # noqa: E402
from probes.snmp_profiles import ProfileConflict, UnknownProfile, library  # noqa: E402
from probes.snmp_usm import AuthProtocolName, PrivProtocolName  # noqa: E402
from probes.snmpclient import SnmpClient, SnmpEndpoint  # noqa: E402
from probes.snmpcodec import PduType  # noqa: E402

__all__ += ["SnmpParams", "SnmpProbe", "close_shared_sessions", "create"]


def _version(value: Any) -> Any:
    """Accept ``2c``, ``v2c``, ``2`` and a bare YAML number for the SNMP version."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        value = value.strip().lower().removeprefix("v")
        return "2c" if value == "2" else value
    return value


def _profiles(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


#: The profiles that carry an agent's identity, left out of a probe whose ``identity`` is off.
IDENTITY_PROFILES: tuple[str, ...] = ("system",)


class SnmpParams(BaseModel):
    """Parameters of an ``snmp`` probe. Credentials come from the asset's ``credentials``:
    ``community`` for v1/v2c; ``user``, ``auth_key`` and ``priv_key`` for v3."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: Annotated[list[str], BeforeValidator(_profiles), Field(min_length=1)]
    version: Annotated[Literal["1", "2c", "3"], BeforeValidator(_version)] = "2c"
    port: int | None = Field(None, ge=1, le=65535)
    retries: int = Field(1, ge=0, le=10)
    max_repetitions: int = Field(25, ge=1, le=200)
    #: How often label columns (ifName, ifAlias, descriptions …) are walked again.
    label_refresh: Annotated[float, BeforeValidator(parse_duration)] = 900.0
    #: net-snmp's spellings (``SHA-256``, ``AES-256`` …) are accepted, in any case.
    auth_protocol: AuthProtocolName = "sha"
    priv_protocol: PrivProtocolName = "aes"
    #: Folders searched for profiles before the built-in ones.
    profile_dirs: list[str] = Field(default_factory=list)
    #: Folders of MIB files for symbolic names (MODULE::object) in profiles.
    mib_dirs: list[str] = Field(default_factory=list)
    #: Export the agent's identity: the system group (``snmp_system_info``), sysUpTime and the
    #: restarts seen. An asset's second SNMP probe of the same agent would repeat those series
    #: under the same labels, so the inventory turns it off there unless a probe says otherwise.
    identity: bool = True


class _Shared:
    """The SnmpClient and PysnmpSession of one event loop, shared by every probe on it.

    Sockets belong to the loop that opened them, so each loop has its own pair: a command that
    runs probes on a loop of its own beside a daemon's (``probe`` in a test, a capacity
    recording) never closes the sockets the daemon is using.
    """

    def __init__(self) -> None:
        self.client: SnmpClient | None = None
        self.session: PysnmpSession | None = None

    async def get_client(self) -> SnmpClient:
        if self.client is None:
            self.client = SnmpClient()
        # start() is idempotent and safe to await from several probes at once.
        await self.client.start()
        return self.client

    async def get_session(self) -> PysnmpSession:
        if self.session is None:
            self.session = PysnmpSession()
        await self.session.start()
        return self.session

    async def close(self) -> None:
        client, session = self.client, self.session
        self.client = self.session = None
        if client is not None:
            await client.close()
        if session is not None:
            await session.close()


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Shared] = (
    weakref.WeakKeyDictionary()
)


def _shared() -> _Shared:
    loop = asyncio.get_running_loop()
    shared = _BY_LOOP.get(loop)
    if shared is None:
        shared = _BY_LOOP[loop] = _Shared()
    return shared


async def close_shared_sessions() -> None:
    """Close this loop's SNMP client and v3 session (the daemon does at shutdown)."""
    shared = _BY_LOOP.pop(asyncio.get_running_loop(), None)
    if shared is not None:
        await shared.close()


class _ClientTransport:
    """v1/v2c requests of one poll through the shared SnmpClient; v2c walks several columns
    per GETBULK (SNMPv1 has no GETBULK, so it walks each column with GETNEXT)."""

    __slots__ = ("_client", "_endpoint", "_repetitions", "can_bulk", "version")

    def __init__(self, client: SnmpClient, endpoint: SnmpEndpoint, repetitions: int) -> None:
        self._client = client
        self._endpoint = endpoint
        self._repetitions = repetitions
        self.version = endpoint.version
        self.can_bulk = endpoint.version == "2c"

    async def get(self, oids: Sequence[OID]) -> list[VarBind]:
        return await self._client.get(self._endpoint, oids)

    async def walk(self, root: OID) -> list[VarBind]:
        return await self._client.walk(self._endpoint, root, self._repetitions)

    async def bulk(self, oids: Sequence[OID], repetitions: int) -> list[VarBind]:
        request = [VarBind(tuple(oid), Tag.NULL, None) for oid in oids]
        ep = self._endpoint
        reply = await self._client.request(
            ep, PduType.GETBULK, request, non_repeaters=0, max_repetitions=repetitions
        )
        status = reply.error_status
        if status == 16:
            raise AuthError(f"{ep.host}: authorizationError")
        if status:
            name = ERROR_STATUS_NAMES.get(status, f"error-status {status}")
            raise UnexpectedReply(f"{ep.host}: agent answered {name} to GETBULK")
        return reply.varbinds


class _SessionTransport:
    """SNMPv3 requests of one poll through the shared PysnmpSession."""

    __slots__ = ("_endpoint", "_repetitions", "_session", "can_bulk", "version")

    def __init__(self, session: PysnmpSession, endpoint: SnmpV3Endpoint, repetitions: int) -> None:
        self._session = session
        self._endpoint = endpoint
        self._repetitions = repetitions
        self.version = "3"
        # PysnmpSession offers GET and single-subtree walks only.
        self.can_bulk = False

    async def get(self, oids: Sequence[OID]) -> list[VarBind]:
        return await self._session.get(self._endpoint, oids)

    async def walk(self, root: OID) -> list[VarBind]:
        return await self._session.walk(self._endpoint, root, self._repetitions)

    async def bulk(self, oids: Sequence[OID], repetitions: int) -> list[VarBind]:
        raise ProbeConfigError("multi-column GETBULK is not available for SNMPv3")


class SnmpProbe:
    """Polls one asset's agent for its profiles, remembering counters and labels between runs.

    Runs of one probe must not overlap (the scheduler skips a run while the last is in
    flight). Each try of a request gets an equal share of 80 % of the probe's timeout, so an
    agent that does not answer fails the run with ``ProbeTimeout`` before the scheduler's own
    deadline.
    """

    def __init__(
        self,
        params: SnmpParams,
        plan: PollPlan,
        *,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.params = params
        self.timeout = timeout
        self.try_timeout = max(0.05, 0.8 * timeout / (params.retries + 1))
        self.poller = DevicePoller(
            plan,
            label_refresh=params.label_refresh,
            tolerance=timeout + 1.0,
            max_repetitions=params.max_repetitions,
            clock=clock,
            identity=params.identity,
        )

    @property
    def families(self) -> list[Family]:
        return self.poller.plan.families()

    def __repr__(self) -> str:
        return f"SnmpProbe(profile={self.params.profile!r}, version={self.params.version!r})"

    async def run(self, target: Target) -> ProbeResult:
        port = self.params.port or target.port or 161
        transport: _ClientTransport | _SessionTransport
        try:
            repetitions = self.params.max_repetitions
            if self.params.version == "3":
                endpoint3 = self._v3_endpoint(target, port)
                transport = _SessionTransport(await _shared().get_session(), endpoint3, repetitions)
            else:
                endpoint = self._endpoint(target, port)
                transport = _ClientTransport(await _shared().get_client(), endpoint, repetitions)
        except ValueError as exc:  # the endpoints' own checks; their messages hold no secret
            raise ProbeConfigError(str(exc)) from exc
        return await self.poller.poll(transport, charset=target.charset or DEFAULT_CHARSET)

    def _endpoint(self, target: Target, port: int) -> SnmpEndpoint:
        community = target.secret("community")
        if not community:
            raise ProbeConfigError("no SNMP community in the asset's credentials")
        version: Literal["1", "2c"] = "1" if self.params.version == "1" else "2c"
        return SnmpEndpoint(
            target.host,
            port,
            version=version,
            community=community,
            timeout=self.try_timeout,
            retries=self.params.retries,
        )

    def _v3_endpoint(self, target: Target, port: int) -> SnmpV3Endpoint:
        user = target.secret("user")
        if not user:
            raise ProbeConfigError("no SNMPv3 user in the asset's credentials")
        return SnmpV3Endpoint(
            target.host,
            port,
            user=user,
            auth_protocol=self.params.auth_protocol,
            auth_key=target.secret("auth_key") or "",
            priv_protocol=self.params.priv_protocol,
            priv_key=target.secret("priv_key") or "",
            timeout=self.try_timeout,
            retries=self.params.retries,
        )


def create(params: Mapping[str, Any], *, timeout: float) -> SnmpProbe:
    """Validate an ``snmp`` probe's parameters, load its profiles and build the probe."""
    parsed = validate_params(SnmpParams, params)
    try:
        plan = library(parsed.profile_dirs, parsed.mib_dirs).plan(
            parsed.profile, skip_included=() if parsed.identity else IDENTITY_PROFILES
        )
    except (UnknownProfile, ProfileConflict) as exc:
        raise ProbeParamsError([("profile", str(exc))]) from exc
    except ConfigError as exc:
        raise ProbeParamsError([("profile", str(problem)) for problem in exc.problems]) from exc
    return SnmpProbe(parsed, plan, timeout=timeout)


# --- notifications (SNMPv3 traps and informs) --------------------------------------------------
#
# V3NotificationReceiver: the SNMPv3 half of probes.traps.TrapReceiver. The trap receiver owns
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

from pysnmp.carrier.base import AbstractTransport  # noqa: E402

from probes.snmpcodec import CodecError, read_v3_header  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pysnmp.carrier.asyncio.dgram import udp as _udp
    from pysnmp.entity import config as _entity_config
    from pysnmp.entity.rfc3413 import ntfrcv as _ntfrcv
    from pysnmp.proto.api import v2c as _v2c

__all__ += ["V3Notification", "V3NotificationReceiver", "V3Outcome", "V3TrapUser"]

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
        if not self.user:
            raise ValueError("SNMPv3 user must not be empty")
        if self.auth_protocol not in _AUTH:
            raise ValueError(f"unknown auth_protocol {self.auth_protocol!r}")
        if self.priv_protocol not in _PRIV:
            raise ValueError(f"unknown priv_protocol {self.priv_protocol!r}")
        if self.auth_protocol == "none" and self.priv_protocol != "none":
            raise ValueError("privacy needs authentication: set auth_protocol")
        if self.auth_protocol != "none" and len(self.auth_key) < _MIN_KEY_LEN:
            raise ValueError(f"auth_key must have at least {_MIN_KEY_LEN} characters")
        if self.priv_protocol != "none" and len(self.priv_key) < _MIN_KEY_LEN:
            raise ValueError(f"priv_key must have at least {_MIN_KEY_LEN} characters")
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


# --- end of notifications ----------------------------------------------------------------------

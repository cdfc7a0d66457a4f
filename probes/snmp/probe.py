"""The ``snmp`` probe: polls the profiles its parameters name, over v1/v2c or SNMPv3.

``create`` validates the parameters (``SnmpParams``) and compiles the profiles into a poll plan;
``SnmpProbe`` adds the asset's credentials and runs ``probes.snmp.poll.DevicePoller`` over the
event loop's shared ``SnmpClient`` (v1/v2c) or ``SnmpV3Client`` (SNMPv3, every USM security
level and protocol; no pysnmp). Both are created on first use inside the running loop and
closed by ``close_shared_sessions``.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from monitor.core.clock import Clock
from monitor.core.durations import parse_duration
from monitor.core.sources import ConfigError
from probes.base import (
    Family,
    ProbeConfigError,
    ProbeParamsError,
    ProbeResult,
    Target,
    validate_params,
)
from probes.snmp.client import SnmpClient, SnmpClientStats, SnmpEndpoint
from probes.snmp.codec import OID, VarBind
from probes.snmp.plan import PollPlan
from probes.snmp.poll import DevicePoller
from probes.snmp.profiles import ProfileConflict, UnknownProfile, library
from probes.snmp.rows import DEFAULT_CHARSET
from probes.snmp.usm import AuthProtocolName, PrivProtocolName

if TYPE_CHECKING:
    from probes.snmp.v3client import SnmpV3Client, SnmpV3ClientStats, SnmpV3Endpoint

__all__ = [
    "IDENTITY_PROFILES",
    "SnmpParams",
    "SnmpProbe",
    "client_stats",
    "close_shared_sessions",
    "create",
]


def _version(value: Any) -> Any:
    """Accept ``2c``, ``v2c``, ``2`` and a bare YAML number for the SNMP version."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        value = value.strip().lower().removeprefix("v")
        return "2c" if value == "2" else value
    return value


def _profiles(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


#: The profiles that carry an agent's identity, left out of a probe whose ``identity`` is off.
IDENTITY_PROFILES: tuple[str, ...] = ("system",)


class SnmpParams(BaseModel):
    """Parameters of an ``snmp`` probe. Credentials come from the asset's ``credentials``:
    ``community`` for v1/v2c; ``user``, ``auth_key`` and ``priv_key`` for v3."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: Annotated[tuple[str, ...], BeforeValidator(_profiles), Field(min_length=1)]
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
    profile_dirs: tuple[str, ...] = ()
    #: Folders of MIB files for symbolic names (MODULE::object) in profiles.
    mib_dirs: tuple[str, ...] = ()
    #: Export the agent's identity: the system group (``snmp_system_info``), sysUpTime and the
    #: restarts seen. An asset's second SNMP probe of the same agent would repeat those series
    #: under the same labels, so the inventory turns it off there unless a probe says otherwise.
    identity: bool = True


class _Shared:
    """The SnmpClient and SnmpV3Client of one event loop, shared by every probe on it.

    Sockets belong to the loop that opened them, so each loop has its own pair: a command that
    runs probes on a loop of its own beside a daemon's (``probe`` in a test, a capacity
    recording) never closes the sockets the daemon is using.
    """

    def __init__(self) -> None:
        self.client: SnmpClient | None = None
        self.v3_client: SnmpV3Client | None = None

    async def get_client(self) -> SnmpClient:
        if self.client is None:
            self.client = SnmpClient()
        # start() is idempotent and safe to await from several probes at once.
        await self.client.start()
        return self.client

    async def get_v3_client(self) -> SnmpV3Client:
        if self.v3_client is None:
            # USM's cryptography (OpenSSL, a few MB) is loaded only where SNMPv3 is polled.
            from probes.snmp.v3client import SnmpV3Client

            self.v3_client = SnmpV3Client()
        await self.v3_client.start()
        return self.v3_client

    async def close(self) -> None:
        client, v3_client = self.client, self.v3_client
        self.client = self.v3_client = None
        if client is not None:
            await client.close()
        if v3_client is not None:
            await v3_client.close()


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Shared] = (
    weakref.WeakKeyDictionary()
)


def _shared() -> _Shared:
    loop = asyncio.get_running_loop()
    shared = _BY_LOOP.get(loop)
    if shared is None:
        shared = _BY_LOOP[loop] = _Shared()
    return shared


def client_stats(
    loop: asyncio.AbstractEventLoop,
) -> dict[str, SnmpClientStats | SnmpV3ClientStats]:
    """The counters of ``loop``'s shared clients by kind (``v1v2c``, ``v3``), leaving out a
    kind never used: the live objects, for the daemon's metrics (read on the loop's thread
    at scrape time)."""
    shared = _BY_LOOP.get(loop)
    if shared is None:
        return {}
    found: dict[str, SnmpClientStats | SnmpV3ClientStats] = {}
    if shared.client is not None:
        found["v1v2c"] = shared.client.stats
    if shared.v3_client is not None:
        found["v3"] = shared.v3_client.stats
    return found


async def close_shared_sessions() -> None:
    """Close this loop's SNMP v1/v2c and v3 clients (the daemon does at shutdown)."""
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
        return await self._client.bulk(self._endpoint, oids, repetitions)


class _V3Transport:
    """SNMPv3 requests of one poll through the shared SnmpV3Client, several columns per
    GETBULK like v2c."""

    __slots__ = ("_client", "_endpoint", "_repetitions", "can_bulk", "version")

    def __init__(self, client: SnmpV3Client, endpoint: SnmpV3Endpoint, repetitions: int) -> None:
        self._client = client
        self._endpoint = endpoint
        self._repetitions = repetitions
        self.version = "3"
        self.can_bulk = True

    async def get(self, oids: Sequence[OID]) -> list[VarBind]:
        return await self._client.get(self._endpoint, oids)

    async def walk(self, root: OID) -> list[VarBind]:
        return await self._client.walk(self._endpoint, root, self._repetitions)

    async def bulk(self, oids: Sequence[OID], repetitions: int) -> list[VarBind]:
        return await self._client.bulk(self._endpoint, oids, repetitions)


class SnmpProbe:
    """Polls one asset's agent for its profiles, remembering counters and labels between runs.

    Runs of one probe must not overlap (the scheduler skips a run while the last is in
    flight). Each try of a request gets an equal share of 80 % of the probe's timeout, so an
    agent that does not answer fails the run with ``ProbeTimeout`` before the scheduler's own
    deadline. ``clock`` times the label refreshes and the restart check (default: the system
    clock); the tries themselves are timed by the shared client on the event loop, as they
    wait for datagrams.
    """

    def __init__(
        self,
        params: SnmpParams,
        plan: PollPlan,
        *,
        timeout: float,
        clock: Clock | None = None,
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
        transport: _ClientTransport | _V3Transport
        try:
            repetitions = self.params.max_repetitions
            if self.params.version == "3":
                endpoint3 = self._v3_endpoint(target, port)
                transport = _V3Transport(await _shared().get_v3_client(), endpoint3, repetitions)
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
        from probes.snmp.v3client import SnmpV3Endpoint  # SNMPv3 only: see get_v3_client

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

"""SNMP traps and informs: a UDP receiver that counts every notification per asset and trap,
and turns the traps a profile maps into alarms that stay active until cleared or expired.

Configured by the top-level ``traps:`` section of monitor.yaml::

    traps:
      listen: 127.0.0.1:9162     # UDP HOST:PORT (default); 162 needs privileges, see below
      credentials: [traps]       # v1/v2c: the `community` of each named credentials entry
      v3_users:                  # SNMPv3 (optional): user, auth_key, priv_key from credentials
        - {credentials: traps-v3, auth_protocol: sha, priv_protocol: aes,
           engine_ids: ["0x80001f8880aabbccdd"]}   # senders' engine ids, for v3 traps
      profiles: [if_mib, ds1_mib, trunked_bs]      # whose `traps:` apply (default: all)
      hold: 15m                  # how long a raised alarm lives unless raised again
      max_trap_oids: 100         # distinct unmapped trap OIDs kept as labels; then "other"
      max_alarms: 10000          # active alarms at most; further raises are refused, counted
      decode_budget: 0.2         # CPU seconds per second the receiver may spend decoding

Port 162 is privileged: run with ``CAP_NET_BIND_SERVICE`` (systemd ``AmbientCapabilities=``)
or keep the unprivileged default and redirect, e.g. ``nft add rule ip nat prerouting udp dport
162 redirect to :9162`` (and the same in ``output`` for traps sent from the host itself).

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

Metrics (a custom collector in the registry passed in)::

    trunkwatch_snmp_traps_received_total{site,asset,system,kind,trap}
    trunkwatch_snmp_trap_last_received_timestamp_seconds{site,asset,system,kind,trap}
    trunkwatch_snmp_traps_dropped_total{reason}   unknown_source | bad_community | malformed |
                                                  auth | over_budget
    trunkwatch_snmp_trap_alarm{site,asset,system,kind,alarm,severity,trap[,<instance>]} 1
    trunkwatch_snmp_trap_alarms_refused_total

``trap`` on an alarm names the trap that raised it last. Its instance label is the one its
mapping names (``index`` for interfaces, ``line`` for E1 lines, ``carrier`` for carriers), never
``instance``, which Prometheus sets on every target. Community strings and keys never reach a
log, an error or a label.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, cast

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from pydantic import BeforeValidator, Field, field_validator, model_validator

from monitor.core.addresses import parse_listen
from monitor.core.clock import Clock, SystemClock
from monitor.core.durations import parse_duration
from monitor.core.listen import ListenError
from monitor.core.sources import ConfigError, Problem, SourceMap, Strict
from probes.base import ProbeConfigError
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
from probes.snmp.profiles import TrapRule, UnknownProfile, library
from probes.snmp.usm import AuthProtocolName, PrivProtocolName

if TYPE_CHECKING:
    from monitor.config import Config, ConfigModel
    from monitor.inventory import Asset
    from probes.snmp import V3NotificationReceiver, V3TrapUser

__all__ = [
    "DROP_REASONS",
    "ActiveAlarm",
    "DecodeBudget",
    "TrapBook",
    "TrapMappingConflict",
    "TrapReceiver",
    "TrapService",
    "TrapSettings",
    "TrapSource",
    "TrapsConfig",
    "V3TrapUserConfig",
    "build_settings",
    "config_problems",
    "load_trap_rules",
    "resolve_sources",
    "trap_oid_of",
    "v1_to_v2",
]

log = logging.getLogger("trunkwatch.traps")

DEFAULT_LISTEN: Final = "127.0.0.1:9162"
#: Why a datagram was dropped: the fixed values of trunkwatch_snmp_traps_dropped_total{reason}.
DROP_REASONS: Final = ("unknown_source", "bad_community", "malformed", "auth", "over_budget")
OTHER_TRAP: Final = "other"

SYS_UPTIME_0: Final[OID] = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SNMP_TRAP_OID_0: Final[OID] = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
SNMP_TRAP_ENTERPRISE_0: Final[OID] = (1, 3, 6, 1, 6, 3, 1, 1, 4, 3, 0)
SNMP_TRAP_ADDRESS_0: Final[OID] = (1, 3, 6, 1, 6, 3, 18, 1, 3, 0)
#: snmpTraps (SNMPv2-MIB): coldStart .1 … egpNeighborLoss .6, generic-trap 0 … 5 plus one.
SNMP_TRAPS: Final[OID] = (1, 3, 6, 1, 6, 3, 1, 1, 5)

_NOTIFICATIONS: Final = frozenset({PduType.TRAP_V1, PduType.TRAP_V2, PduType.INFORM})
#: Alarm instance label values are cut to this length (an index, rarely a name).
_MAX_INSTANCE_LEN: Final = 64
#: How long a retransmitted inform is recognised, and how many are remembered.
_INFORM_MEMORY_S: Final = 60.0
_INFORM_MEMORY_MAX: Final = 4096
#: Sources and reasons logged once each; beyond this many, drops are only counted.
_LOGGED_MAX: Final = 1024
#: A trap storm (a site losing mains sends dozens at once) must not overflow the socket.
_RECEIVE_BUFFER_BYTES: Final = 1 << 20
_RESOLVE_TIMEOUT_S: Final = 5.0
#: Varbinds a notification may carry; real ones carry a handful. More is refused as malformed
#: (pysnmp alone spends ~70 µs on each v3 varbind).
MAX_NOTIFICATION_VARBINDS: Final = 256
#: CPU seconds per second the receiver may spend decoding: ~250 v3 authPriv traps a second
#: (~0.8 ms each in pysnmp), thousands in v1/v2c (~45 µs each, alarm handling included).
DEFAULT_DECODE_BUDGET: Final = 0.2


# ---------------------------------------------------------------------------------------------
# Configuration


def _one_or_more(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _engine_id(value: Any) -> Any:
    """``0x8000…`` or plain hex → bytes; RFC 3411 engine ids are 5 to 32 octets."""
    if not isinstance(value, str):
        raise ValueError("expected an engine id in hex, e.g. 0x80001f8880aabbccdd")
    text = value.strip().lower().removeprefix("0x").replace(":", "")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ValueError("expected an engine id in hex, e.g. 0x80001f8880aabbccdd") from None
    if not 5 <= len(raw) <= 32:
        raise ValueError(f"an engine id has 5 to 32 octets, got {len(raw)}")
    return raw


# The same spelling as monitor.config's identifiers (that module imports this one).
CredentialName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
ProfileName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]


class V3TrapUserConfig(Strict):
    """An SNMPv3 user allowed to send traps and informs; keys come from its credentials."""

    credentials: CredentialName
    auth_protocol: AuthProtocolName = "sha"
    priv_protocol: PrivProtocolName = "aes"
    #: The engine ids of the devices sending v3 *traps* as this user (USM localises keys
    #: with the sender's id). Informs are sent to our engine and need none.
    engine_ids: list[Annotated[bytes, BeforeValidator(_engine_id)]] = Field(default_factory=list)


class TrapsConfig(Strict):
    """The ``traps:`` section of monitor.yaml."""

    listen: str = DEFAULT_LISTEN
    credentials: Annotated[list[CredentialName], BeforeValidator(_one_or_more)] = Field(
        default_factory=list
    )
    v3_users: list[V3TrapUserConfig] = Field(default_factory=list)
    profiles: Annotated[list[ProfileName], BeforeValidator(_one_or_more)] | None = None
    profile_dirs: list[str] = Field(default_factory=list)
    mib_dirs: list[str] = Field(default_factory=list)
    hold: Annotated[float, BeforeValidator(parse_duration)] = 900.0
    max_trap_oids: int = Field(100, ge=0, le=10_000)
    max_alarms: int = Field(10_000, ge=1, le=1_000_000)
    decode_budget: float = Field(DEFAULT_DECODE_BUDGET, ge=0.01, le=1.0)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @model_validator(mode="after")
    def _someone_may_send(self) -> TrapsConfig:
        if not self.credentials and not self.v3_users:
            raise ValueError("name credentials (a community) or v3_users: nothing could send")
        return self


@dataclass(frozen=True, slots=True)
class TrapSettings:
    """What a receiver runs with: the config section resolved (secrets, profiles)."""

    listen: tuple[str, int] = ("127.0.0.1", 9162)
    communities: tuple[bytes, ...] = field(default=(), repr=False)
    rules: Mapping[OID, TrapRule] = field(default_factory=dict)
    v3_users: tuple[V3TrapUser, ...] = ()
    hold: float = 900.0
    max_trap_oids: int = 100
    max_alarms: int = 10_000
    decode_budget: float = DEFAULT_DECODE_BUDGET


class TrapMappingConflict(ValueError):
    """Two profiles map the same trap OID differently."""


def load_trap_rules(section: TrapsConfig) -> dict[OID, TrapRule]:
    """The trap mappings of the section's profiles (and their includes), by trap OID.

    Raises UnknownProfile, ConfigError (a broken profile, with its file:line) or
    TrapMappingConflict.
    """
    lib = library(section.profile_dirs, section.mib_dirs)
    names = section.profiles if section.profiles is not None else lib.available()
    rules: dict[OID, TrapRule] = {}
    for profile in lib.expand(names):
        for rule in profile.traps:
            first = rules.setdefault(rule.oid, rule)
            if first is not rule and replace(first, profile=rule.profile) != rule:
                raise TrapMappingConflict(
                    f"trap {format_oid(rule.oid)} is mapped differently by profiles "
                    f"{first.profile} and {rule.profile}"
                )
    return rules


def _v3_user(spec: V3TrapUserConfig, secrets: Mapping[str, str]) -> V3TrapUser:
    """The USM user of a ``v3_users`` entry; ValueError (naming the field) if unusable."""
    from probes.snmp import V3TrapUser  # pysnmp is loaded only when v3 is configured

    return V3TrapUser(
        secrets.get("user", ""),
        auth_protocol=spec.auth_protocol,
        auth_key=secrets.get("auth_key", ""),
        priv_protocol=spec.priv_protocol,
        priv_key=secrets.get("priv_key", ""),
        engine_ids=tuple(spec.engine_ids),
    )


def _resolved(fields: Mapping[str, str | int], smap: SourceMap) -> dict[str, str]:
    """A credentials entry's secrets resolved as load_config will; KeyError if one cannot be
    (load_config reports that against the credentials entry)."""
    from monitor.config import resolve_secret

    base = Path(smap.file).resolve().parent
    try:
        return {key: resolve_secret(value, base) for key, value in fields.items()}
    except ValueError:
        raise KeyError("unresolvable secret") from None


def config_problems(model: ConfigModel, smap: SourceMap) -> list[Problem]:
    """Cross-checks of the ``traps:`` section against the rest of the configuration."""
    section = model.traps
    if section is None:
        return []
    out: list[Problem] = []
    for i, name in enumerate(section.credentials):
        fields = model.credentials.get(name)
        if fields is None:
            out.append(smap.problem(("traps", "credentials", i), f"no credentials {name!r}"))
        elif "community" not in fields:
            out.append(
                smap.problem(("traps", "credentials", i), f"credentials {name!r} have no community")
            )
    for i, user in enumerate(section.v3_users):
        where = ("traps", "v3_users", i, "credentials")
        fields = model.credentials.get(user.credentials)
        if fields is None:
            out.append(smap.problem(where, f"no credentials {user.credentials!r}"))
            continue
        needed = ["user"]
        needed += ["auth_key"] if user.auth_protocol != "none" else []
        needed += ["priv_key"] if user.priv_protocol != "none" else []
        missing = [key for key in needed if key not in fields]
        if missing:
            out.append(
                smap.problem(where, f"credentials {user.credentials!r} lack {', '.join(missing)}")
            )
            continue
        try:
            _v3_user(user, _resolved(fields, smap))
        except KeyError:
            pass  # an unresolvable secret: reported with the credentials themselves
        except ValueError as exc:  # V3TrapUser's messages name fields, never values
            out.append(smap.problem(where, str(exc)))
    try:
        load_trap_rules(section)
    except ConfigError as exc:
        out.extend(exc.problems)  # the profile's own file:line
    except (UnknownProfile, TrapMappingConflict) as exc:
        out.append(smap.problem(("traps", "profiles"), str(exc)))
    return out


def build_settings(config: Config) -> TrapSettings:
    """Resolve the validated ``traps:`` section into receiver settings. ConfigError names the
    field when keys are unusable; their values never appear."""
    section = config.model.traps
    if section is None:
        raise ValueError("the configuration has no traps: section")
    smap = config.source
    try:
        rules = load_trap_rules(section)
    except (UnknownProfile, TrapMappingConflict) as exc:
        raise ConfigError([smap.problem(("traps", "profiles"), str(exc))]) from exc
    communities = tuple(
        str(config.secrets.get(name, {}).get("community", "")).encode()
        for name in section.credentials
    )
    users: list[V3TrapUser] = []
    for i, spec in enumerate(section.v3_users):
        try:
            users.append(_v3_user(spec, config.secrets.get(spec.credentials, {})))
        except ValueError as exc:  # V3TrapUser's messages name fields, never values
            raise ConfigError(
                [smap.problem(("traps", "v3_users", i, "credentials"), str(exc))]
            ) from exc
    return TrapSettings(
        listen=parse_listen(section.listen),
        communities=tuple(c for c in communities if c),
        rules=rules,
        v3_users=tuple(users),
        hold=section.hold,
        max_trap_oids=section.max_trap_oids,
        max_alarms=section.max_alarms,
        decode_budget=section.decode_budget,
    )


# ---------------------------------------------------------------------------------------------
# Sources: which asset a datagram comes from


@dataclass(frozen=True, slots=True)
class TrapSource:
    """An asset that may send traps, with the labels its series carry."""

    asset: str
    site: str
    system: str
    kind: str
    host: str
    port: int | None = None

    @classmethod
    def from_asset(cls, asset: Asset) -> TrapSource:
        return cls(
            asset.id, asset.site, asset.system, asset.kind, asset.target.host, asset.target.port
        )

    @property
    def label_values(self) -> tuple[str, str, str, str]:
        return (self.site, self.asset, self.system, self.kind)


def _address_key(host: str) -> str | None:
    """A literal address in one spelling (IPv4-mapped IPv6 as IPv4), None for a host name."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


async def resolve_sources(sources: Iterable[TrapSource]) -> dict[str, list[TrapSource]]:
    """Sources by address; host names are resolved (all their addresses), failures logged."""
    by_address: dict[str, list[TrapSource]] = {}
    named: list[TrapSource] = []
    for source in sources:
        key = _address_key(source.host)
        if key is None:
            named.append(source)
        else:
            by_address.setdefault(key, []).append(source)
    if named:
        loop = asyncio.get_running_loop()
        limit = asyncio.Semaphore(16)

        async def lookup(source: TrapSource) -> tuple[TrapSource, set[str]]:
            async with limit:
                try:
                    async with asyncio.timeout(_RESOLVE_TIMEOUT_S):
                        infos = await loop.getaddrinfo(source.host, None, type=socket.SOCK_DGRAM)
                except (OSError, TimeoutError) as exc:
                    log.warning(
                        "traps from asset %s cannot be attributed: %s does not resolve (%s)",
                        source.asset,
                        source.host,
                        type(exc).__name__,
                    )
                    return source, set()
            return source, {k for info in infos if (k := _address_key(str(info[4][0])))}

        for source, keys in await asyncio.gather(*(lookup(s) for s in named)):
            for key in sorted(keys):
                by_address.setdefault(key, []).append(source)
    return by_address


# ---------------------------------------------------------------------------------------------
# State: counters and alarms


@dataclass(slots=True)
class _TrapCount:
    count: int = 0
    last_seen: float = 0.0


@dataclass(frozen=True, slots=True)
class ActiveAlarm:
    """An alarm raised by a trap; ``expires_at`` is on the monotonic clock."""

    asset: str
    alarm: str
    severity: str
    instance_label: str
    instance: str
    trap: str
    raised_at: float
    expires_at: float


_RECEIVED = ("trunkwatch_snmp_traps_received", "Notifications received, by asset and trap.")
_LAST = (
    "trunkwatch_snmp_trap_last_received_timestamp_seconds",
    "Unix time of the last notification received, by asset and trap.",
)
_DROPPED = (
    "trunkwatch_snmp_traps_dropped",
    "Datagrams dropped by the trap receiver, by reason (unknown_source, bad_community, "
    "malformed, auth).",
)
_ALARM = (
    "trunkwatch_snmp_trap_alarm",
    "1 while an alarm raised by a trap is active (until its clearing trap, or its hold ends).",
)
_REFUSED = (
    "trunkwatch_snmp_trap_alarms_refused",
    "Alarm raises refused because max_alarms alarms were already active.",
)
_ASSET_LABELS = ("site", "asset", "system", "kind")


class TrapBook:
    """Counts per (asset, trap), drops per reason, and the active alarms; exported by a
    prometheus-client Collector at scrape time. Expired alarms are swept when read."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.sources: dict[str, TrapSource] = {}
        self.counts: dict[tuple[str, str], _TrapCount] = {}
        self.dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)
        self.refused = 0
        # (asset, alarm) → instance → alarm: a clear without instance ends every instance.
        self._alarms: dict[tuple[str, str], dict[str, ActiveAlarm]] = {}
        self._alarm_count = 0
        self._unmapped: set[str] = set()
        self.collector = _TrapCollector(self)

    # -- counting --------------------------------------------------------------------------

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1

    def trap_label(self, oid: OID, rule: TrapRule | None, cap: int) -> str:
        if rule is not None:
            return rule.name
        text = format_oid(oid)
        if text in self._unmapped:
            return text
        if len(self._unmapped) < cap:
            self._unmapped.add(text)
            return text
        return OTHER_TRAP

    def count(self, asset: str, trap: str) -> None:
        entry = self.counts.get((asset, trap))
        if entry is None:
            entry = self.counts[(asset, trap)] = _TrapCount()
        entry.count += 1
        entry.last_seen = self.clock.time()

    # -- alarms ----------------------------------------------------------------------------

    def raise_alarm(
        self,
        asset: str,
        rule: TrapRule,
        instance: str,
        hold: float,
        max_alarms: int,
    ) -> bool:
        """Raise (or refresh) the rule's alarm; False when refused for lack of room."""
        assert rule.raises is not None
        assert rule.severity is not None
        now = self.clock.monotonic()
        instances = self._alarms.setdefault((asset, rule.raises), {})
        if instance not in instances and self._alarm_count >= max_alarms:
            self.sweep()
            if self._alarm_count >= max_alarms:
                self.refused += 1
                if not instances:
                    del self._alarms[(asset, rule.raises)]
                return False
        if instance not in instances:
            self._alarm_count += 1
        previous = instances.get(instance)
        instances[instance] = ActiveAlarm(
            asset=asset,
            alarm=rule.raises,
            severity=rule.severity,
            instance_label=rule.instance_label,
            instance=instance,
            trap=rule.name,
            raised_at=previous.raised_at if previous else self.clock.time(),
            expires_at=now + hold,
        )
        return True

    def clear_alarm(self, asset: str, alarm: str, instance: str | None) -> int:
        """End the alarm's instance (every instance when None); returns how many ended."""
        instances = self._alarms.get((asset, alarm))
        if not instances:
            return 0
        if instance is None:
            ended = len(instances)
            instances.clear()
        else:
            ended = 1 if instances.pop(instance, None) is not None else 0
        if not instances:
            del self._alarms[(asset, alarm)]
        self._alarm_count -= ended
        return ended

    def sweep(self) -> None:
        """Forget alarms whose hold has ended."""
        now = self.clock.monotonic()
        for key in list(self._alarms):
            instances = self._alarms[key]
            for instance in [i for i, a in instances.items() if a.expires_at <= now]:
                del instances[instance]
                self._alarm_count -= 1
            if not instances:
                del self._alarms[key]

    def active_alarms(self) -> list[ActiveAlarm]:
        """The alarms active now, by asset, alarm and instance."""
        self.sweep()
        return sorted(
            (a for instances in self._alarms.values() for a in instances.values()),
            key=lambda a: (a.asset, a.alarm, a.instance),
        )

    # -- sources ---------------------------------------------------------------------------

    def set_sources(self, sources: Iterable[TrapSource]) -> None:
        """Assets known now; counters and alarms of assets no longer configured are dropped."""
        self.sources = {s.asset: s for s in sources}
        for key in [k for k in self.counts if k[0] not in self.sources]:
            del self.counts[key]
        for key in [k for k in self._alarms if k[0] not in self.sources]:
            self._alarm_count -= len(self._alarms.pop(key))

    # -- exposition ------------------------------------------------------------------------

    def families(self) -> Iterator[Metric]:
        received = CounterMetricFamily(*_RECEIVED, labels=(*_ASSET_LABELS, "trap"))
        last = GaugeMetricFamily(*_LAST, labels=(*_ASSET_LABELS, "trap"))
        for (asset, trap), entry in sorted(self.counts.items()):
            source = self.sources.get(asset)
            if source is None:
                continue
            values = [*source.label_values, trap]
            received.add_metric(values, entry.count)
            last.add_metric(values, entry.last_seen)
        dropped = CounterMetricFamily(*_DROPPED, labels=("reason",))
        for reason in DROP_REASONS:
            dropped.add_metric([reason], self.dropped[reason])
        alarm = Metric(_ALARM[0], _ALARM[1], "gauge")
        for active in self.active_alarms():
            source = self.sources.get(active.asset)
            if source is None:
                continue
            labels = dict(zip(_ASSET_LABELS, source.label_values, strict=True))
            labels["alarm"] = active.alarm
            labels["severity"] = active.severity
            labels["trap"] = active.trap
            if active.instance:
                labels[active.instance_label] = active.instance
            alarm.add_sample(_ALARM[0], labels, 1)
        refused = CounterMetricFamily(*_REFUSED, value=self.refused)
        yield from (received, last, dropped, alarm, refused)


class _TrapCollector(Collector):
    def __init__(self, book: TrapBook) -> None:
        self._book = book

    def describe(self) -> Iterator[Metric]:
        # Names only, so registering never reads (or sweeps) the state.
        yield CounterMetricFamily(*_RECEIVED)
        yield GaugeMetricFamily(*_LAST)
        yield CounterMetricFamily(*_DROPPED)
        yield Metric(_ALARM[0], _ALARM[1], "gauge")
        yield CounterMetricFamily(*_REFUSED)

    def collect(self) -> Iterator[Metric]:
        return self._book.families()


# ---------------------------------------------------------------------------------------------
# Decoding helpers


def v1_to_v2(msg: Message) -> list[VarBind]:
    """The varbinds of an SNMPv1 Trap-PDU in SNMPv2 form (RFC 3584 §3.1), without
    snmpTrapCommunity.0 (it would carry the community)."""
    trap = msg.trap_v1
    if trap is None:
        raise CodecError("not an SNMPv1 trap")
    if trap.generic_trap == 6:
        if trap.specific_trap < 0:
            raise CodecError(f"specific-trap {trap.specific_trap} is negative")
        trap_oid = (*trap.enterprise, 0, trap.specific_trap)
    elif 0 <= trap.generic_trap <= 5:
        trap_oid = (*SNMP_TRAPS, trap.generic_trap + 1)
    else:
        raise CodecError(f"generic-trap {trap.generic_trap} outside 0..6")
    out = [
        VarBind(SYS_UPTIME_0, Tag.TIMETICKS, trap.timestamp),
        VarBind(SNMP_TRAP_OID_0, Tag.OBJECT_IDENTIFIER, trap_oid),
        *msg.varbinds,
    ]
    present = {vb.oid for vb in msg.varbinds}
    if SNMP_TRAP_ADDRESS_0 not in present:
        out.append(VarBind(SNMP_TRAP_ADDRESS_0, Tag.IPADDRESS, trap.agent_addr))
    if SNMP_TRAP_ENTERPRISE_0 not in present:
        out.append(VarBind(SNMP_TRAP_ENTERPRISE_0, Tag.OBJECT_IDENTIFIER, trap.enterprise))
    return out


def trap_oid_of(varbinds: Sequence[VarBind]) -> OID | None:
    """snmpTrapOID.0's value: the second varbind by RFC 3416, the first from agents that
    leave out sysUpTime.0."""
    for vb in varbinds[:2]:
        if vb.oid == SNMP_TRAP_OID_0 and vb.tag == Tag.OBJECT_IDENTIFIER:
            return cast(OID, vb.value)
    return None


def _value_text(value: int | bytes | OID | None) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        return format_oid(value)
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return value.hex()
    return text if text.isprintable() else value.hex()


def _instance_of(column: OID | None, varbinds: Sequence[VarBind]) -> str:
    """The index part of the first varbind under ``column``, or its value when it is the
    column itself; empty when the trap carries no such varbind."""
    if column is None:
        return ""
    n = len(column)
    for vb in varbinds:
        if vb.oid[:n] == column:
            text = format_oid(vb.oid[n:]) if len(vb.oid) > n else _value_text(vb.value)
            return text[:_MAX_INSTANCE_LEN]
    return ""


def _clears_instead(rule: TrapRule, varbinds: Sequence[VarBind]) -> bool:
    if rule.clear_when is None:
        return False
    column, values = rule.clear_when
    n = len(column)
    for vb in varbinds:
        if vb.oid[:n] == column:
            return isinstance(vb.value, int) and vb.value in values
    return False


def _message_version(data: bytes) -> int | None:
    """The version field of an SNMP message (0, 1, 3), without decoding the rest."""
    try:
        if data[0] != 0x30:
            return None
        pos = 2 + (data[1] & 0x7F if data[1] & 0x80 else 0)
        if data[pos] != 0x02 or data[pos + 1] != 1:
            return None
        return data[pos + 2]
    except IndexError:
        return None


# ---------------------------------------------------------------------------------------------
# The receiver


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
        key = _address_key(host)
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
        if _message_version(data) == 3:
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
        instance = _instance_of(rule.instance, varbinds)
        if rule.raises is not None:
            if _clears_instead(rule, varbinds):
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


# ---------------------------------------------------------------------------------------------
# The daemon's side


class TrapService:
    """Runs the trap receiver the configuration asks for: started when ``traps:`` appears,
    reconfigured on reload (a new ``listen`` binds a new socket before the old one closes,
    keeping counters and alarms), stopped when the section goes."""

    def __init__(self, registry: CollectorRegistry, clock: Clock | None = None) -> None:
        self._registry = registry
        self._clock = clock
        self.receiver: TrapReceiver | None = None
        self._book: TrapBook | None = None

    async def apply(self, config: Config, assets: Iterable[Asset]) -> None:
        """Make the receiver match ``config``. Raises ConfigError (keeping what runs) when
        the section cannot be used, including an address that cannot be bound."""
        if config.model.traps is None:
            await self.close()
            return
        settings = await asyncio.to_thread(build_settings, config)
        sources = await resolve_sources(TrapSource.from_asset(a) for a in assets)
        current = self.receiver
        if current is not None and current.settings.listen == settings.listen:
            try:
                current.reconfigure(settings)
            except ProbeConfigError as exc:
                raise ConfigError([config.source.problem(("traps", "v3_users"), str(exc))]) from exc
            current.set_sources(sources)
            return
        if self._book is None:
            self._book = TrapBook(self._clock)
        receiver = TrapReceiver(settings, book=self._book)
        try:
            await receiver.start()
        except ProbeConfigError as exc:
            raise ConfigError([config.source.problem(("traps", "v3_users"), str(exc))]) from exc
        except OSError as exc:
            failure = ListenError("udp", *settings.listen, exc)
            raise ConfigError([config.source.problem(("traps", "listen"), str(failure))]) from exc
        receiver.set_sources(sources)
        if current is not None:
            await current.stop()
        else:
            self._registry.register(self._book.collector)
        self.receiver = receiver

    async def close(self) -> None:
        receiver, self.receiver = self.receiver, None
        if receiver is not None:
            await receiver.stop()
        if self._book is not None:
            self._registry.unregister(self._book.collector)
            self._book = None

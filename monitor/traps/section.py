"""The ``traps:`` section of monitor.yaml, its cross-checks against the rest of the file, and
the trap mappings of the profiles it names; registered as a configuration section::

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
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

from pydantic import BeforeValidator, Field, field_validator, model_validator

from monitor.config import ConfigModel, ConfigSection, Identifier, resolve_secret
from monitor.core.addresses import parse_listen
from monitor.core.durations import Duration
from monitor.core.sources import ConfigError, Problem, SourceMap, Strict
from probes.snmp.codec import OID, format_oid
from probes.snmp.profiles import TrapRule, UnknownProfile, library
from probes.snmp.usm import AuthProtocolName, PrivProtocolName

if TYPE_CHECKING:
    from probes.snmp import V3TrapUser

__all__ = [
    "DEFAULT_DECODE_BUDGET",
    "DEFAULT_LISTEN",
    "TRAPS",
    "TrapMappingConflict",
    "TrapsConfig",
    "V3TrapUserConfig",
    "check_traps",
    "load_trap_rules",
    "v3_user",
]

DEFAULT_LISTEN: Final = "127.0.0.1:9162"
#: CPU seconds per second the receiver may spend decoding: ~250 v3 authPriv traps a second
#: (~0.8 ms each in pysnmp), thousands in v1/v2c (~45 µs each, alarm handling included).
DEFAULT_DECODE_BUDGET: Final = 0.2


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


ProfileName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]


class V3TrapUserConfig(Strict):
    """An SNMPv3 user allowed to send traps and informs; keys come from its credentials."""

    credentials: Identifier
    auth_protocol: AuthProtocolName = "sha"
    priv_protocol: PrivProtocolName = "aes"
    #: The engine ids of the devices sending v3 *traps* as this user (USM localises keys
    #: with the sender's id). Informs are sent to our engine and need none.
    engine_ids: list[Annotated[bytes, BeforeValidator(_engine_id)]] = Field(default_factory=list)


class TrapsConfig(Strict):
    """The ``traps:`` section of monitor.yaml."""

    listen: str = DEFAULT_LISTEN
    credentials: Annotated[list[Identifier], BeforeValidator(_one_or_more)] = Field(
        default_factory=list
    )
    v3_users: list[V3TrapUserConfig] = Field(default_factory=list)
    profiles: Annotated[list[ProfileName], BeforeValidator(_one_or_more)] | None = None
    profile_dirs: list[str] = Field(default_factory=list)
    mib_dirs: list[str] = Field(default_factory=list)
    hold: Duration = 900.0
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


def v3_user(spec: V3TrapUserConfig, secrets: Mapping[str, str]) -> V3TrapUser:
    """The USM user of a ``v3_users`` entry; ValueError (naming the field) if unusable."""
    # Imported here, not above: probes.snmp loads pysnmp (~0.4 s), which only SNMPv3 needs.
    from probes.snmp import V3TrapUser

    return V3TrapUser(
        secrets.get("user", ""),
        auth_protocol=spec.auth_protocol,
        auth_key=secrets.get("auth_key", ""),
        priv_protocol=spec.priv_protocol,
        priv_key=secrets.get("priv_key", ""),
        engine_ids=tuple(spec.engine_ids),
    )


def _resolved(fields: Mapping[str, str | int], base: Path) -> dict[str, str]:
    """A credentials entry's secrets resolved as load_config will; KeyError if one cannot be
    (load_config reports that against the credentials entry)."""
    try:
        return {key: resolve_secret(value, base) for key, value in fields.items()}
    except ValueError:
        raise KeyError("unresolvable secret") from None


def check_traps(
    section: TrapsConfig, model: ConfigModel, smap: SourceMap, base: Path
) -> Iterator[Problem]:
    """Cross-checks of the ``traps:`` section against the rest of the configuration."""
    for i, name in enumerate(section.credentials):
        fields = model.credentials.get(name)
        if fields is None:
            yield smap.problem(("traps", "credentials", i), f"no credentials {name!r}")
        elif "community" not in fields:
            yield smap.problem(
                ("traps", "credentials", i), f"credentials {name!r} have no community"
            )
    for i, user in enumerate(section.v3_users):
        where = ("traps", "v3_users", i, "credentials")
        fields = model.credentials.get(user.credentials)
        if fields is None:
            yield smap.problem(where, f"no credentials {user.credentials!r}")
            continue
        needed = ["user"]
        needed += ["auth_key"] if user.auth_protocol != "none" else []
        needed += ["priv_key"] if user.priv_protocol != "none" else []
        missing = [key for key in needed if key not in fields]
        if missing:
            yield smap.problem(where, f"credentials {user.credentials!r} lack {', '.join(missing)}")
            continue
        try:
            v3_user(user, _resolved(fields, base))
        except KeyError:
            pass  # an unresolvable secret: reported with the credentials themselves
        except ValueError as exc:  # V3TrapUser's messages name fields, never values
            yield smap.problem(where, str(exc))
    try:
        load_trap_rules(section)
    except ConfigError as exc:
        yield from exc.problems  # the profile's own file:line
    except (UnknownProfile, TrapMappingConflict) as exc:
        yield smap.problem(("traps", "profiles"), str(exc))


#: The ``traps:`` section as registered (``monitor.config.sections``); ``TRAPS.of(config)``.
TRAPS: Final = ConfigSection("traps", TrapsConfig, check_traps)

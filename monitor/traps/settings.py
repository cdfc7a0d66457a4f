"""What a trap receiver runs with: the validated ``traps:`` section resolved against its
configuration (community strings and SNMPv3 keys from the credentials, the profiles' trap
mappings). Secrets never appear in a message, nor in the settings' repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from monitor.config import Config
from monitor.core.addresses import parse_listen
from monitor.core.sources import ConfigError
from monitor.traps.section import (
    DEFAULT_DECODE_BUDGET,
    TRAPS,
    TrapMappingConflict,
    load_trap_rules,
    v3_user,
)
from probes.snmp.codec import OID
from probes.snmp.profiles import TrapRule, UnknownProfile

if TYPE_CHECKING:
    from probes.snmp import V3TrapUser

__all__ = ["TrapSettings", "build_settings"]


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


def build_settings(config: Config) -> TrapSettings:
    """Resolve the validated ``traps:`` section into receiver settings. ConfigError names the
    field when keys are unusable; their values never appear."""
    section = TRAPS.of(config)
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
            users.append(v3_user(spec, config.secrets.get(spec.credentials, {})))
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

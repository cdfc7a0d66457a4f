"""SNMP traps and informs: a UDP receiver that counts every notification per asset and trap,
and turns the traps a profile maps into alarms that stay active until cleared or expired.

The parts, one concept each: ``section`` (the ``traps:`` section of monitor.yaml and its
checks, registered with ``monitor.config``), ``settings`` (the section resolved: secrets,
trap mappings), ``sources`` (which asset a datagram comes from), ``notification`` (what a
notification's varbinds say), ``alarms`` (counters, alarms and their collector),
``receiver`` (the socket, the checks in order and the decode budget) and ``service`` (the
receiver the daemon runs, kept matching the configuration).
"""

from __future__ import annotations

from monitor.traps.alarms import DROP_REASONS, OTHER_TRAP, ActiveAlarm, TrapBook
from monitor.traps.notification import (
    SNMP_TRAP_ADDRESS_0,
    SNMP_TRAP_ENTERPRISE_0,
    SNMP_TRAP_OID_0,
    SNMP_TRAPS,
    SYS_UPTIME_0,
    trap_oid_of,
    v1_to_v2,
)
from monitor.traps.receiver import MAX_NOTIFICATION_VARBINDS, DecodeBudget, TrapReceiver
from monitor.traps.section import (
    DEFAULT_DECODE_BUDGET,
    DEFAULT_LISTEN,
    TRAPS,
    TrapMappingConflict,
    TrapsConfig,
    V3TrapUserConfig,
    check_traps,
    load_trap_rules,
)
from monitor.traps.service import TrapService
from monitor.traps.settings import TrapSettings, build_settings
from monitor.traps.sources import TrapSource, resolve_sources

__all__ = [
    "DEFAULT_DECODE_BUDGET",
    "DEFAULT_LISTEN",
    "DROP_REASONS",
    "MAX_NOTIFICATION_VARBINDS",
    "OTHER_TRAP",
    "SNMP_TRAPS",
    "SNMP_TRAP_ADDRESS_0",
    "SNMP_TRAP_ENTERPRISE_0",
    "SNMP_TRAP_OID_0",
    "SYS_UPTIME_0",
    "TRAPS",
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
    "check_traps",
    "load_trap_rules",
    "resolve_sources",
    "trap_oid_of",
    "v1_to_v2",
]

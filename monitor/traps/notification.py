"""What a notification says, read from its varbinds: SNMPv1 traps in SNMPv2 form (RFC 3584
§3.1), snmpTrapOID.0, the instance an alarm mapping names, whether a trap clears instead of
raising, and a message's version read without decoding the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, cast

from probes.snmp.codec import OID, CodecError, Message, Tag, VarBind, format_oid
from probes.snmp.profiles import TrapRule

__all__ = [
    "SNMP_TRAPS",
    "SNMP_TRAP_ADDRESS_0",
    "SNMP_TRAP_ENTERPRISE_0",
    "SNMP_TRAP_OID_0",
    "SYS_UPTIME_0",
    "clears_instead",
    "instance_of",
    "message_version",
    "trap_oid_of",
    "v1_to_v2",
]

SYS_UPTIME_0: Final[OID] = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SNMP_TRAP_OID_0: Final[OID] = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
SNMP_TRAP_ENTERPRISE_0: Final[OID] = (1, 3, 6, 1, 6, 3, 1, 1, 4, 3, 0)
SNMP_TRAP_ADDRESS_0: Final[OID] = (1, 3, 6, 1, 6, 3, 18, 1, 3, 0)
#: snmpTraps (SNMPv2-MIB): coldStart .1 … egpNeighborLoss .6, generic-trap 0 … 5 plus one.
SNMP_TRAPS: Final[OID] = (1, 3, 6, 1, 6, 3, 1, 1, 5)

#: Alarm instance label values are cut to this length (an index, rarely a name).
_MAX_INSTANCE_LEN: Final = 64


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


def instance_of(column: OID | None, varbinds: Sequence[VarBind]) -> str:
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


def clears_instead(rule: TrapRule, varbinds: Sequence[VarBind]) -> bool:
    if rule.clear_when is None:
        return False
    column, values = rule.clear_when
    n = len(column)
    for vb in varbinds:
        if vb.oid[:n] == column:
            return isinstance(vb.value, int) and vb.value in values
    return False


def message_version(data: bytes) -> int | None:
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

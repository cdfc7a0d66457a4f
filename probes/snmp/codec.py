"""SNMP v1/v2c messages to and from bytes, every PDU type in both directions.

Shared by the poller (encode requests, decode responses) and the simulated agent (decode
requests, encode responses and traps). Pure Python without pysnmp: decoding walks the datagram
with index arithmetic over one ``bytes`` object, which is what makes polling thousands of
agents affordable (pysnmp's pyasn1 codec is ~40x slower per varbind).

Decisions worth knowing:

- The BER rules themselves (definite lengths of at most 4 bytes, integer and OID limits) are
  ``probes.snmp.ber``'s; its OID type, ``CodecError`` and OID text functions are re-exported.
- INTEGER values must fit Integer32. Counter32, Gauge32 and TimeTicks are unsigned 32-bit,
  Counter64 unsigned 64-bit. Some agents encode a large unsigned value without the leading
  zero byte, so it reads as negative; like net-snmp, such a value (at most 4 or 8 bytes) is
  taken modulo 2^32 or 2^64 instead of being rejected.
- A varbind value with a primitive tag not listed in ``Tag`` (e.g. NsapAddress 0x45) is kept
  as raw bytes under its tag, so one odd column does not make a whole walk fail; it encodes
  back unchanged.
- The SNMPv1 Trap-PDU (0xA4) decodes into a ``Message`` whose ``trap_v1`` holds the
  enterprise, agent address, generic and specific trap numbers and time stamp, with
  ``request_id`` 0; encoding a TRAP_V1 message needs ``trap_v1`` set.
- GETBULK, INFORM, TRAP_V2 and REPORT exist only in v2c; TRAP_V1 only in v1. Other
  combinations are rejected both ways.
- Every malformed input raises ``CodecError``; nothing else escapes ``decode_message``. When
  the request-id can be read, even from a message cut short, ``CodecError.request_id``
  carries it so a client can fail the matching request at once instead of letting it time out.
- Decoding costs time linear in the datagram, whatever it holds: an OID is refused as soon as
  a sub-identifier runs past 5 bytes (32 bits need at most 5) or the OID past 128
  sub-identifiers (RFC 2578 §3.5), before any big number is built from it.
- ``peek_header`` reads version, community, PDU type and request-id in constant time, so a
  receiver can check whom a datagram is for before decoding its varbinds. ``read_v3_header``
  does the same for an SNMPv3 message (RFC 3412 §6, USM user name of RFC 3414 §2.4) without
  any security processing, and counts and checks the varbinds of a plaintext scoped PDU, so
  what pysnmp would spend long on can be refused before it sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

from probes.snmp.ber import (
    INT32_MAX,
    INT32_MIN,
    MAX_OID_LEN,
    MAX_SUBID,
    MAX_SUBID_BYTES,
    OID,
    U32_MAX,
    U64_MAX,
    CodecError,
    encode_integer,
    encode_oid,
    encode_signed,
    format_oid,
    long_length,
    open_tlv,
    parse_oid,
    read_int32,
    read_oid,
    read_tlv,
    read_unsigned,
    tlv,
)

__all__ = [
    "MAX_OID_LEN",
    "MAX_SUBID",
    "MAX_SUBID_BYTES",
    "OID",
    "CodecError",
    "Message",
    "MessageHeader",
    "Pdu",
    "PduType",
    "Tag",
    "TrapV1",
    "V3Header",
    "VarBind",
    "decode_message",
    "decode_pdu",
    "encode_message",
    "encode_pdu",
    "format_oid",
    "parse_oid",
    "peek_header",
    "read_v3_header",
]


class Tag(IntEnum):
    """BER tags of the values a varbind can carry."""

    INTEGER = 0x02
    OCTET_STRING = 0x04
    NULL = 0x05
    OBJECT_IDENTIFIER = 0x06
    IPADDRESS = 0x40
    COUNTER32 = 0x41
    GAUGE32 = 0x42
    TIMETICKS = 0x43
    OPAQUE = 0x44
    COUNTER64 = 0x46
    NO_SUCH_OBJECT = 0x80
    NO_SUCH_INSTANCE = 0x81
    END_OF_MIB_VIEW = 0x82


class PduType(IntEnum):
    """BER tags of the SNMP PDUs (context-specific, constructed)."""

    GET = 0xA0
    GETNEXT = 0xA1
    RESPONSE = 0xA2
    SET = 0xA3
    TRAP_V1 = 0xA4
    GETBULK = 0xA5
    INFORM = 0xA6
    TRAP_V2 = 0xA7
    REPORT = 0xA8


class VarBind(NamedTuple):
    """One name/value pair. IpAddress is 4 bytes; NULL and the v2 exceptions are None."""

    oid: OID
    tag: int
    value: int | bytes | OID | None


class TrapV1(NamedTuple):
    """The header fields of an SNMPv1 Trap-PDU (RFC 1157 §4.1.6)."""

    enterprise: OID
    agent_addr: bytes
    generic_trap: int
    specific_trap: int
    timestamp: int


@dataclass(slots=True)
class Message:
    """One SNMP v1/v2c message.

    For GETBULK, ``error_status`` is non-repeaters and ``error_index`` max-repetitions, as on
    the wire. The community is left out of the repr so a logged message never shows it.
    """

    version: int
    community: bytes = field(repr=False)
    pdu_type: int
    request_id: int
    error_status: int = 0
    error_index: int = 0
    varbinds: list[VarBind] = field(default_factory=list)
    trap_v1: TrapV1 | None = None


@dataclass(slots=True)
class MessageHeader:
    """What precedes the varbinds of a v1/v2c message: enough to tell whom it is for.

    ``request_id`` is None for an SNMPv1 Trap-PDU, which has none. The community is left out
    of the repr.
    """

    version: int
    community: bytes = field(repr=False)
    pdu_type: int
    request_id: int | None


@dataclass(frozen=True, slots=True)
class V3Header:
    """The parts of an SNMPv3 message readable without keys (RFC 3412 §6, RFC 3414 §2.4).

    ``user_name`` and ``engine_id`` are the USM ones (empty for another security model).
    ``varbinds`` counts the varbinds of a plaintext scoped PDU; None when it is encrypted.
    """

    msg_id: int
    flags: int
    security_model: int
    engine_id: bytes
    user_name: bytes
    pdu_type: int | None
    varbinds: int | None


VERSION_V1 = 0
VERSION_V2C = 1
VERSION_V3 = 3
#: msgSecurityModel of the User-based Security Model (RFC 3411 §5).
_USM = 3

_V2_ONLY = frozenset({PduType.GETBULK, PduType.INFORM, PduType.TRAP_V2, PduType.REPORT})
_PDU_TYPES = frozenset(int(t) for t in PduType)

# Tags whose value is an empty body decoded to None.
_EMPTY_TAGS = frozenset({0x05, 0x80, 0x81, 0x82})
# Unsigned 32-bit application types.
_U32_TAGS = frozenset({0x41, 0x42, 0x43})


# ---------------------------------------------------------------------------------------------
# Encoding


def _enc_value(tag: int, value: int | bytes | OID | None) -> bytes:
    if tag == 0x04 or tag == 0x44:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise CodecError(f"value for tag 0x{tag:02x} must be bytes")
        return tlv(tag, bytes(value))
    if tag == 0x02:
        return encode_integer(tag, value, INT32_MIN, INT32_MAX, "INTEGER")
    if tag in _U32_TAGS:
        return encode_integer(tag, value, 0, U32_MAX, Tag(tag).name)
    if tag == 0x46:
        return encode_integer(tag, value, 0, U64_MAX, "COUNTER64")
    if tag == 0x06:
        if not isinstance(value, tuple):
            raise CodecError("OBJECT IDENTIFIER value must be a tuple of ints")
        return tlv(0x06, encode_oid(value))
    if tag == 0x40:
        if not isinstance(value, bytes | bytearray) or len(value) != 4:
            raise CodecError("IpAddress value must be 4 bytes")
        return bytes((0x40, 4)) + bytes(value)
    if tag in _EMPTY_TAGS:
        if value is not None:
            raise CodecError(f"tag 0x{tag:02x} carries no value, got {type(value).__name__}")
        return bytes((tag, 0))
    if tag < 0 or tag > 0xFF or tag & 0x20 or tag & 0x1F == 0x1F:
        raise CodecError(f"cannot encode value tag 0x{tag:x}")
    if not isinstance(value, bytes | bytearray):
        raise CodecError(f"value for unknown tag 0x{tag:02x} must be raw bytes")
    return tlv(tag, bytes(value))


def _check_pdu_version(version: int, pdu_type: int, request_id: int | None) -> None:
    if version not in (VERSION_V1, VERSION_V2C):
        raise CodecError(f"unsupported SNMP version field {version}", request_id)
    if pdu_type not in _PDU_TYPES:
        raise CodecError(f"unknown PDU type 0x{pdu_type:02x}", request_id)
    if version == VERSION_V1 and pdu_type in _V2_ONLY:
        raise CodecError(f"{PduType(pdu_type).name} is not an SNMPv1 PDU", request_id)
    if version == VERSION_V2C and pdu_type == PduType.TRAP_V1:
        raise CodecError("TRAP_V1 is not an SNMPv2c PDU", request_id)


def encode_message(msg: Message) -> bytes:
    """Encode a message to the bytes of one UDP datagram."""
    _check_pdu_version(msg.version, msg.pdu_type, None)
    parts = []
    for vb in msg.varbinds:
        item = tlv(0x06, encode_oid(vb.oid)) + _enc_value(vb.tag, vb.value)
        parts.append(tlv(0x30, item))
    varbinds = tlv(0x30, b"".join(parts))
    if msg.pdu_type == PduType.TRAP_V1:
        trap = msg.trap_v1
        if trap is None:
            raise CodecError("a TRAP_V1 message needs its trap_v1 header")
        header = (
            tlv(0x06, encode_oid(trap.enterprise))
            + _enc_value(0x40, trap.agent_addr)
            + encode_integer(0x02, trap.generic_trap, INT32_MIN, INT32_MAX, "generic-trap")
            + encode_integer(0x02, trap.specific_trap, INT32_MIN, INT32_MAX, "specific-trap")
            + encode_integer(0x43, trap.timestamp, 0, U32_MAX, "time-stamp")
        )
    else:
        header = (
            encode_integer(0x02, msg.request_id, INT32_MIN, INT32_MAX, "request-id")
            + encode_integer(0x02, msg.error_status, INT32_MIN, INT32_MAX, "error-status")
            + encode_integer(0x02, msg.error_index, INT32_MIN, INT32_MAX, "error-index")
        )
    if not isinstance(msg.community, bytes | bytearray):
        raise CodecError("community must be bytes")
    body = (
        tlv(0x02, encode_signed(msg.version))
        + tlv(0x04, bytes(msg.community))
        + tlv(msg.pdu_type, header + varbinds)
    )
    return tlv(0x30, body)


# ---------------------------------------------------------------------------------------------
# Decoding
#
# One pass over the datagram with ``probes.snmp.ber``'s readers; reading past the whole buffer
# raises IndexError, which is turned into CodecError("truncated") at the top.


#: ``VarBind(...)`` without the generated ``__new__``'s call: a third of a varbind's decoding.
_tuple_new = tuple.__new__

#: Varbind names decoded before, by their encoding: a poll names the same objects as the one
#: before (and a fleet's devices the same as each other), so most names are looked up, not
#: decoded, and share one tuple. Emptied when full, so names that never repeat cannot grow it.
_OID_CACHE: dict[bytes, OID] = {}
_OID_CACHE_SIZE = 1 << 14
#: Longer names (none a profile polls) are decoded each time: with this the cache holds at
#: most a few MB whatever names arrive.
_OID_CACHE_LONGEST = 40


def _varbinds(data: bytes, pos: int, end: int) -> list[VarBind]:
    """Decode the VarBindList content between ``pos`` and ``end``: the hot loop."""
    out: list[VarBind] = []
    append = out.append
    oids = _OID_CACHE
    while pos < end:
        # varbind SEQUENCE
        if data[pos] != 0x30:
            raise CodecError(f"varbind: expected SEQUENCE, got 0x{data[pos]:02x} at offset {pos}")
        n = data[pos + 1]
        vstart = pos + 2
        if n >= 0x80:
            n, vstart = long_length(data, vstart, n)
        vend = vstart + n
        if vend > end:
            raise CodecError(f"varbind at offset {pos} runs past the varbind list")
        # name
        if data[vstart] != 0x06:
            raise CodecError(f"varbind name: expected OID, got 0x{data[vstart]:02x}")
        n = data[vstart + 1]
        ostart = vstart + 2
        if n >= 0x80:
            n, ostart = long_length(data, ostart, n)
        oend = ostart + n
        if oend > vend:
            raise CodecError(f"varbind name at offset {vstart} runs past its varbind")
        raw = data[ostart:oend]
        oid = oids.get(raw)
        if oid is None:
            oid = read_oid(data, ostart, oend)
            if n <= _OID_CACHE_LONGEST:
                if len(oids) >= _OID_CACHE_SIZE:
                    oids.clear()
                oids[raw] = oid
        # value
        if oend >= vend:
            raise CodecError(f"varbind at offset {pos} has no value")
        tag = data[oend]
        n = data[oend + 1]
        start = oend + 2
        if n >= 0x80:
            n, start = long_length(data, start, n)
        stop = start + n
        if stop != vend:
            raise CodecError(f"varbind value at offset {oend} does not end its varbind")
        value: int | bytes | OID | None
        if tag == 0x04:
            value = data[start:stop]
        elif tag == 0x02:
            if 0 < n < 5:  # four bytes or fewer always hold an Integer32
                value = int.from_bytes(data[start:stop], "big", signed=True)
            else:
                value = read_int32(data, start, stop, "varbind value")
        elif tag in _U32_TAGS:
            if 0 < n < 5 and data[start] < 0x80:
                value = int.from_bytes(data[start:stop], "big")
            else:
                value = read_unsigned(data, start, stop, 32, "varbind value")
        elif tag == 0x06:
            value = read_oid(data, start, stop)
        elif tag == 0x46:
            if 0 < n < 9 and data[start] < 0x80:
                value = int.from_bytes(data[start:stop], "big")
            else:
                value = read_unsigned(data, start, stop, 64, "Counter64 value")
        elif tag == 0x40:
            if n != 4:
                raise CodecError(f"IpAddress of {n} bytes at offset {oend}")
            value = data[start:stop]
        elif tag in _EMPTY_TAGS:
            if n:
                raise CodecError(f"tag 0x{tag:02x} at offset {oend} must be empty")
            value = None
        elif tag == 0x44:
            value = data[start:stop]
        elif tag & 0x20 or tag & 0x1F == 0x1F or tag == 0:
            raise CodecError(f"varbind value tag 0x{tag:02x} at offset {oend} is not a value")
        else:
            value = data[start:stop]
        append(_tuple_new(VarBind, (oid, tag, value)))
        pos = vend
    return out


def decode_message(data: bytes | bytearray | memoryview) -> Message:
    """Decode one datagram; raise ``CodecError`` saying why if it is not a v1/v2c message."""
    buf = data if type(data) is bytes else bytes(data)
    request_id: int | None = None
    try:
        total = len(buf)
        if total < 2:
            raise CodecError("truncated: too short for a message")
        start, end = _header_top(buf)
        if end < total:
            raise CodecError(f"{total - end} bytes of trailing garbage after the message")
        pos, vend = read_tlv(buf, start, end, 0x02, "version")
        version = read_int32(buf, pos, vend, "version")
        if version == 3:
            raise CodecError("SNMPv3 message: not handled by this codec")
        if version not in (VERSION_V1, VERSION_V2C):
            raise CodecError(f"unsupported SNMP version field {version}")
        pos, cend = read_tlv(buf, vend, end, 0x04, "community")
        community = buf[pos:cend]
        pdu_type = buf[cend]
        if pdu_type not in _PDU_TYPES:
            raise CodecError(f"unknown PDU tag 0x{pdu_type:02x} at offset {cend}")
        pos, pdu_end = read_tlv(buf, cend, end, pdu_type, "PDU")
        if pdu_end != end:
            raise CodecError("PDU does not end the message")
        trap: TrapV1 | None = None
        if pdu_type == 0xA4:
            _check_pdu_version(version, pdu_type, None)
            trap, pos = _trap_v1_header(buf, pos, pdu_end)
            rid = error_status = error_index = 0
        else:
            pos, ie = read_tlv(buf, pos, pdu_end, 0x02, "request-id")
            rid = request_id = read_int32(buf, pos, ie, "request-id")
            _check_pdu_version(version, pdu_type, rid)
            pos, se = read_tlv(buf, ie, pdu_end, 0x02, "error-status")
            error_status = read_int32(buf, pos, se, "error-status")
            pos, xe = read_tlv(buf, se, pdu_end, 0x02, "error-index")
            error_index = read_int32(buf, pos, xe, "error-index")
            pos = xe
        pos, lend = read_tlv(buf, pos, pdu_end, 0x30, "varbind list")
        if lend != pdu_end:
            raise CodecError("varbind list does not end the PDU")
        varbinds = _varbinds(buf, pos, lend)
    except CodecError as exc:
        if exc.request_id is None:
            exc.request_id = request_id if request_id is not None else _readable_id(buf)
        raise
    except IndexError:
        rid_known = request_id if request_id is not None else _readable_id(buf)
        raise CodecError("truncated message", rid_known) from None
    return Message(version, community, pdu_type, rid, error_status, error_index, varbinds, trap)


def _readable_id(buf: bytes) -> int | None:
    """The request-id of a message that failed before it was read, if it can be read at all
    (a reply cut short, or one whose outer length is wrong)."""
    try:
        return peek_header(buf).request_id
    except CodecError:
        return None


def peek_header(data: bytes | bytearray | memoryview) -> MessageHeader:
    """Read version, community, PDU type and request-id of a v1/v2c message, nothing more.

    Takes constant time whatever follows, and reads a message cut short as far as it goes:
    only the fields returned must be whole. Raises ``CodecError`` when they cannot be read.
    """
    buf = data if type(data) is bytes else bytes(data)
    try:
        if len(buf) < 2:
            raise CodecError("truncated: too short for a message")
        start, end = _header_top_lenient(buf)
        limit = min(end, len(buf))
        pos, vend = read_tlv(buf, start, limit, 0x02, "version")
        version = read_int32(buf, pos, vend, "version")
        if version == VERSION_V3:
            raise CodecError("SNMPv3 message: not handled by this codec")
        if version not in (VERSION_V1, VERSION_V2C):
            raise CodecError(f"unsupported SNMP version field {version}")
        pos, cend = read_tlv(buf, vend, limit, 0x04, "community")
        community = buf[pos:cend]
        pdu_type = buf[cend]
        if pdu_type not in _PDU_TYPES:
            raise CodecError(f"unknown PDU tag 0x{pdu_type:02x} at offset {cend}")
        if pdu_type == 0xA4:  # TRAP_V1 has no request-id
            return MessageHeader(version, community, pdu_type, None)
        pos, pdu_end = open_tlv(buf, cend, pdu_type, "PDU")
        pos, ie = read_tlv(buf, pos, min(pdu_end, limit), 0x02, "request-id")
        request_id = read_int32(buf, pos, ie, "request-id")
    except IndexError:
        raise CodecError("truncated before the request-id") from None
    return MessageHeader(version, community, pdu_type, request_id)


# ---------------------------------------------------------------------------------------------
# SNMPv3 framing, without security processing


def read_v3_header(
    data: bytes | bytearray | memoryview, *, max_varbinds: int | None = None
) -> V3Header:
    """Read the clear parts of an SNMPv3 message and check a plaintext scoped PDU's varbinds.

    The OIDs of a plaintext PDU are held to the same limits as in v1/v2c and its varbinds are
    counted (values are not decoded), up to ``max_varbinds``. Raises ``CodecError`` when the
    message is not a whole, well-formed SNMPv3 message as far as it can be read without keys,
    or holds more varbinds than that.
    """
    buf = data if type(data) is bytes else bytes(data)
    try:
        if len(buf) < 2:
            raise CodecError("truncated: too short for a message")
        start, end = _header_top(buf)
        if end < len(buf):
            raise CodecError(f"{len(buf) - end} bytes of trailing garbage after the message")
        pos, stop = read_tlv(buf, start, end, 0x02, "msgVersion")
        if read_int32(buf, pos, stop, "msgVersion") != VERSION_V3:
            raise CodecError("not an SNMPv3 message")
        gstart, gend = read_tlv(buf, stop, end, 0x30, "msgGlobalData")
        pos, stop = read_tlv(buf, gstart, gend, 0x02, "msgID")
        msg_id = read_int32(buf, pos, stop, "msgID")
        pos, stop = read_tlv(buf, stop, gend, 0x02, "msgMaxSize")
        read_int32(buf, pos, stop, "msgMaxSize")
        pos, stop = read_tlv(buf, stop, gend, 0x04, "msgFlags")
        if stop - pos != 1:
            raise CodecError(f"msgFlags of {stop - pos} bytes")
        flags = buf[pos]
        pos, stop = read_tlv(buf, stop, gend, 0x02, "msgSecurityModel")
        model = read_int32(buf, pos, stop, "msgSecurityModel")
        if stop != gend:
            raise CodecError("msgSecurityModel does not end msgGlobalData")
        sstart, send = read_tlv(buf, gend, end, 0x04, "msgSecurityParameters")
        engine_id = user = b""
        if model == _USM:
            engine_id, user = _usm_names(buf, sstart, send)
        pdu_type: int | None = None
        count: int | None = None
        if buf[send] == 0x04:  # encryptedPDU: nothing more to read without keys
            _, dend = read_tlv(buf, send, end, 0x04, "encryptedPDU")
        else:
            pstart, dend = read_tlv(buf, send, end, 0x30, "scopedPDU")
            pdu_type, count = _scoped_pdu(buf, pstart, dend, max_varbinds)
        if dend != end:
            raise CodecError("msgData does not end the message")
    except IndexError:
        raise CodecError("truncated SNMPv3 message") from None
    return V3Header(msg_id, flags, model, engine_id, user, pdu_type, count)


def _usm_names(buf: bytes, start: int, end: int) -> tuple[bytes, bytes]:
    """msgAuthoritativeEngineID and msgUserName of UsmSecurityParameters (RFC 3414 §2.4)."""
    pos, stop = read_tlv(buf, start, end, 0x30, "UsmSecurityParameters")
    if stop != end:
        raise CodecError("UsmSecurityParameters do not fill msgSecurityParameters")
    epos, estop = read_tlv(buf, pos, stop, 0x04, "msgAuthoritativeEngineID")
    _, bstop = read_tlv(buf, estop, stop, 0x02, "msgAuthoritativeEngineBoots")
    _, tstop = read_tlv(buf, bstop, stop, 0x02, "msgAuthoritativeEngineTime")
    upos, ustop = read_tlv(buf, tstop, stop, 0x04, "msgUserName")
    if ustop - upos > 32:
        raise CodecError(f"msgUserName of {ustop - upos} bytes, more than 32")
    return buf[epos:estop], buf[upos:ustop]


def _scoped_pdu(buf: bytes, pos: int, end: int, max_varbinds: int | None) -> tuple[int, int]:
    """Check a plaintext ScopedPDU: its PDU type and the number of its varbinds, whose OIDs
    (names and OID values) are held to the decoder's limits; other values are skipped."""
    _, stop = read_tlv(buf, pos, end, 0x04, "contextEngineID")
    _, stop = read_tlv(buf, stop, end, 0x04, "contextName")
    pdu_type = buf[stop]
    if pdu_type not in _PDU_TYPES or pdu_type == PduType.TRAP_V1:
        raise CodecError(f"unknown SNMPv3 PDU tag 0x{pdu_type:02x} at offset {stop}")
    pos, pdu_end = read_tlv(buf, stop, end, pdu_type, "PDU")
    if pdu_end != end:
        raise CodecError("PDU does not end the scoped PDU")
    for what in ("request-id", "error-status", "error-index"):
        _, pos = read_tlv(buf, pos, pdu_end, 0x02, what)
    pos, lend = read_tlv(buf, pos, pdu_end, 0x30, "varbind list")
    if lend != pdu_end:
        raise CodecError("varbind list does not end the PDU")
    count = 0
    while pos < lend:
        vstart, vend = read_tlv(buf, pos, lend, 0x30, "varbind")
        ostart, oend = read_tlv(buf, vstart, vend, 0x06, "varbind name")
        read_oid(buf, ostart, oend)
        tag = buf[oend]
        value_start, value_end = open_tlv(buf, oend, tag, "varbind value")
        if value_end != vend:
            raise CodecError(f"varbind value at offset {oend} does not end its varbind")
        if tag == 0x06:
            read_oid(buf, value_start, value_end)
        count += 1
        if max_varbinds is not None and count > max_varbinds:
            raise CodecError(f"more than {max_varbinds} varbinds")
        pos = vend
    return pdu_type, count


def _header_top_lenient(buf: bytes) -> tuple[int, int]:
    """The message SEQUENCE's content (start, end), the end possibly past the datagram."""
    if buf[0] != 0x30:
        raise CodecError(f"not an SNMP message: starts with 0x{buf[0]:02x}, not SEQUENCE")
    n = buf[1]
    if n < 0x80:
        return 2, 2 + n
    n, start = long_length(buf, 2, n)
    return start, start + n


def _header_top(buf: bytes) -> tuple[int, int]:
    if buf[0] != 0x30:
        raise CodecError(f"not an SNMP message: starts with 0x{buf[0]:02x}, not SEQUENCE")
    n = buf[1]
    start = 2
    if n >= 0x80:
        n, start = long_length(buf, start, n)
    end = start + n
    if end > len(buf):
        raise CodecError(f"truncated: message says {end} bytes, datagram has {len(buf)}")
    return start, end


def _trap_v1_header(buf: bytes, pos: int, end: int) -> tuple[TrapV1, int]:
    start, stop = read_tlv(buf, pos, end, 0x06, "enterprise")
    enterprise = read_oid(buf, start, stop)
    start, stop = read_tlv(buf, stop, end, 0x40, "agent-addr")
    if stop - start != 4:
        raise CodecError(f"agent-addr of {stop - start} bytes")
    agent_addr = buf[start:stop]
    start, stop = read_tlv(buf, stop, end, 0x02, "generic-trap")
    generic = read_int32(buf, start, stop, "generic-trap")
    start, stop = read_tlv(buf, stop, end, 0x02, "specific-trap")
    specific = read_int32(buf, start, stop, "specific-trap")
    start, stop = read_tlv(buf, stop, end, 0x43, "time-stamp")
    timestamp = read_unsigned(buf, start, stop, 32, "time-stamp")
    return TrapV1(enterprise, agent_addr, generic, specific, timestamp), stop


# ---------------------------------------------------------------------------------------------
# A PDU on its own: the data of an SNMPv3 scoped PDU (RFC 3412 §6), framed by probes.snmp.v3message


class Pdu(NamedTuple):
    """One PDU without a message around it. For GETBULK ``error_status`` is non-repeaters and
    ``error_index`` max-repetitions, as on the wire."""

    pdu_type: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[VarBind]


def encode_pdu(pdu: Pdu) -> bytes:
    """One PDU element (any type but the SNMPv1 Trap-PDU)."""
    if pdu.pdu_type not in _PDU_TYPES or pdu.pdu_type == PduType.TRAP_V1:
        raise CodecError(f"cannot encode PDU type 0x{pdu.pdu_type:02x} on its own")
    parts = [
        tlv(0x30, tlv(0x06, encode_oid(vb.oid)) + _enc_value(vb.tag, vb.value))
        for vb in pdu.varbinds
    ]
    return tlv(
        pdu.pdu_type,
        encode_integer(0x02, pdu.request_id, INT32_MIN, INT32_MAX, "request-id")
        + encode_integer(0x02, pdu.error_status, INT32_MIN, INT32_MAX, "error-status")
        + encode_integer(0x02, pdu.error_index, INT32_MIN, INT32_MAX, "error-index")
        + tlv(0x30, b"".join(parts)),
    )


def decode_pdu(data: bytes, pos: int, end: int) -> Pdu:
    """The PDU element at ``pos``, which must end exactly at ``end``; ``CodecError`` (with the
    request-id when it was read) if it is not a whole PDU of a type other than Trap-PDU."""
    request_id: int | None = None
    try:
        pdu_type = data[pos]
        if pdu_type not in _PDU_TYPES or pdu_type == PduType.TRAP_V1:
            raise CodecError(f"unknown PDU tag 0x{pdu_type:02x} at offset {pos}")
        pos, pdu_end = read_tlv(data, pos, end, pdu_type, "PDU")
        if pdu_end != end:
            raise CodecError("PDU does not end its container")
        pos, ie = read_tlv(data, pos, pdu_end, 0x02, "request-id")
        request_id = read_int32(data, pos, ie, "request-id")
        pos, se = read_tlv(data, ie, pdu_end, 0x02, "error-status")
        error_status = read_int32(data, pos, se, "error-status")
        pos, xe = read_tlv(data, se, pdu_end, 0x02, "error-index")
        error_index = read_int32(data, pos, xe, "error-index")
        pos, lend = read_tlv(data, xe, pdu_end, 0x30, "varbind list")
        if lend != pdu_end:
            raise CodecError("varbind list does not end the PDU")
        varbinds = _varbinds(data, pos, lend)
    except CodecError as exc:
        if exc.request_id is None:
            exc.request_id = request_id
        raise
    except IndexError:
        raise CodecError("truncated PDU", request_id) from None
    return Pdu(pdu_type, request_id, error_status, error_index, varbinds)

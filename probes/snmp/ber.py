"""BER as SNMP uses it: lengths, INTEGERs, unsigned integers and OBJECT IDENTIFIERs, both ways.

The building blocks of ``probes.snmp.codec`` (messages) and nothing else: definite lengths
only (RFC 3417 §8 forbids the indefinite form), Integer32 and the unsigned 32/64-bit
application types, and OIDs held to SNMP's limits (RFC 2578 §3.5: 128 sub-identifiers of 32
bits). Readers take the datagram, a position and a bound and return positions, so a message
is decoded in one pass over one ``bytes`` object; every malformed input raises ``CodecError``.
"""

from __future__ import annotations

__all__ = [
    "INT32_MAX",
    "INT32_MIN",
    "MAX_OID_LEN",
    "MAX_SUBID",
    "MAX_SUBID_BYTES",
    "OID",
    "U32_MAX",
    "U64_MAX",
    "CodecError",
    "check_oid",
    "encode_integer",
    "encode_length",
    "encode_oid",
    "encode_signed",
    "encode_unsigned",
    "format_oid",
    "long_length",
    "open_tlv",
    "parse_oid",
    "read_int32",
    "read_oid",
    "read_tlv",
    "read_unsigned",
    "tlv",
]

OID = tuple[int, ...]

#: SNMP limits an OID to 128 sub-identifiers of 32 bits each (RFC 2578 §3.5).
MAX_OID_LEN = 128
MAX_SUBID = 0xFFFFFFFF
#: Base-128 bytes of one sub-identifier at most: 5 carry 35 bits, enough for 32.
MAX_SUBID_BYTES = 5
# The longest OID body that can be valid: the first two arcs share one sub-identifier.
_MAX_OID_BYTES = MAX_SUBID_BYTES * (MAX_OID_LEN - 1)


INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
U32_MAX = (1 << 32) - 1
U64_MAX = (1 << 64) - 1


class CodecError(ValueError):
    """The bytes are not a well-formed SNMP v1/v2c message, or a value cannot be encoded.

    ``request_id`` is set when decoding failed after the request-id had been read.
    """

    def __init__(self, reason: str, request_id: int | None = None) -> None:
        super().__init__(reason)
        self.request_id = request_id


# ---------------------------------------------------------------------------------------------
# OIDs in text


def parse_oid(text: str) -> OID:
    """Parse a dotted numeric OID, with or without the leading dot."""
    body = text[1:] if text.startswith(".") else text
    parts = body.split(".")
    if not body or not all(part.isdigit() and part.isascii() for part in parts):
        raise CodecError(f"not a numeric OID: {text!r}")
    oid = tuple(int(part) for part in parts)
    check_oid(oid)
    return oid


def format_oid(oid: OID) -> str:
    """The dotted form without a leading dot, e.g. ``1.3.6.1.2.1.1.3.0``."""
    return ".".join(map(str, oid))


def check_oid(oid: OID) -> None:
    """Reject OIDs that BER cannot carry: fewer than 2 arcs, a bad first pair, huge arcs."""
    if len(oid) < 2:
        raise CodecError(f"an OID needs at least 2 sub-identifiers, got {len(oid)}")
    if len(oid) > MAX_OID_LEN:
        raise CodecError(f"OID has {len(oid)} sub-identifiers, more than {MAX_OID_LEN}")
    first, second = oid[0], oid[1]
    if first > 2 or (first < 2 and second > 39):
        raise CodecError(f"OID cannot start with {first}.{second}")
    for sub in oid:
        if type(sub) is not int:
            raise CodecError(f"OID sub-identifier {sub!r} is not an int")
        if not 0 <= sub <= MAX_SUBID:
            raise CodecError(f"OID sub-identifier {sub} outside 0..{MAX_SUBID}")
    if first == 2 and second > MAX_SUBID - 80:
        raise CodecError(f"OID sub-identifier {second} too large after 2")


# ---------------------------------------------------------------------------------------------
# Encoding


def encode_length(n: int) -> bytes:
    """A definite length: short form below 128, else long form of up to 3 bytes."""
    if n < 0x80:
        return bytes((n,))
    if n < 0x100:
        return bytes((0x81, n))
    if n < 0x10000:
        return bytes((0x82, n >> 8, n & 0xFF))
    if n < 0x1000000:
        return bytes((0x83, n >> 16, (n >> 8) & 0xFF, n & 0xFF))
    raise CodecError(f"length {n} too large for an SNMP message")


def tlv(tag: int, body: bytes) -> bytes:
    """Tag, length and ``body`` as one element."""
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    return bytes((tag,)) + encode_length(n) + body


def encode_signed(value: int) -> bytes:
    # Minimal two's complement: one extra bit for the sign.
    return value.to_bytes((value + (value < 0)).bit_length() // 8 + 1, "big", signed=True)


def encode_unsigned(value: int) -> bytes:
    # A leading zero byte whenever the top bit would otherwise read as a sign.
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


_oid_body_cache: dict[OID, bytes] = {}
_OID_CACHE_MAX = 8192


def encode_oid(oid: OID) -> bytes:
    """The content octets of an OBJECT IDENTIFIER (cached: agents and pollers repeat OIDs)."""
    try:
        body = _oid_body_cache.get(oid)
    except TypeError:  # unhashable parts: not an OID
        raise CodecError(f"OID must be a tuple of ints, got {oid!r}") from None
    # (1, 3.0) == (1, 3) with the same hash: a hit proves nothing about the arcs' types.
    if body is not None and type(oid) is tuple and all(type(sub) is int for sub in oid):
        return body
    if type(oid) is not tuple:
        raise CodecError(f"OID must be a tuple of ints, got {type(oid).__name__}")
    check_oid(oid)
    first = oid[0] * 40 + oid[1]
    if first < 0x80 and max(oid[2:], default=0) < 0x80:
        body = bytes((first, *oid[2:]))
    else:
        out = bytearray()
        for sub in (first, *oid[2:]):
            if sub < 0x80:
                out.append(sub)
                continue
            chunk = [sub & 0x7F]
            sub >>= 7
            while sub:
                chunk.append(0x80 | (sub & 0x7F))
                sub >>= 7
            out.extend(reversed(chunk))
        body = bytes(out)
    # Agents and pollers reuse the same few thousand OIDs; a full cache is simply reset.
    if len(_oid_body_cache) >= _OID_CACHE_MAX:
        _oid_body_cache.clear()
    _oid_body_cache[oid] = body
    return body


def encode_integer(tag: int, value: object, lo: int, hi: int, name: str) -> bytes:
    """An integer element of ``tag`` whose value must lie in ``lo..hi`` (``name`` in errors)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise CodecError(f"{name} value must be an int, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise CodecError(f"{name} value {value!r} outside {lo}..{hi}")
    return tlv(tag, encode_signed(value) if lo < 0 else encode_unsigned(value))


# ---------------------------------------------------------------------------------------------
# Decoding
#
# Each element's end is checked against its parent's end, so reading a header byte past a
# parent merely leads to that check failing; reading past the whole buffer raises IndexError,
# which the message decoder turns into CodecError("truncated").


def long_length(data: bytes, pos: int, first: int) -> tuple[int, int]:
    """Read a long-form length whose first byte ``first`` sits at ``pos - 1``."""
    count = first & 0x7F
    if count == 0:
        raise CodecError("indefinite length is not allowed in SNMP")
    if count > 4:
        raise CodecError(f"length field of {count} bytes is too long")
    end = pos + count
    if end > len(data):
        raise CodecError("truncated in a length field")
    return int.from_bytes(data[pos:end], "big"), end


def read_tlv(data: bytes, pos: int, limit: int, want: int, what: str) -> tuple[int, int]:
    """Check the tag at ``pos`` and return (content start, content end) inside ``limit``."""
    tag = data[pos]
    if tag != want:
        raise CodecError(f"{what}: expected tag 0x{want:02x}, got 0x{tag:02x} at offset {pos}")
    n = data[pos + 1]
    start = pos + 2
    if n >= 0x80:
        n, start = long_length(data, start, n)
    end = start + n
    if end > limit:
        raise CodecError(f"{what}: length {n} at offset {pos} runs past its container")
    return start, end


def read_int32(data: bytes, start: int, end: int, what: str) -> int:
    """The Integer32 content between ``start`` and ``end`` (``what`` names it in errors)."""
    if end == start:
        raise CodecError(f"{what}: empty INTEGER")
    if end - start > 5:
        raise CodecError(f"{what}: INTEGER of {end - start} bytes is too long")
    value = int.from_bytes(data[start:end], "big", signed=True)
    if not INT32_MIN <= value <= INT32_MAX:
        raise CodecError(f"{what}: INTEGER {value} outside Integer32")
    return value


def read_unsigned(data: bytes, start: int, end: int, bits: int, what: str) -> int:
    """An unsigned ``bits``-bit value; one encoded without its leading zero byte wraps."""
    size = end - start
    if size == 0:
        raise CodecError(f"{what}: empty integer")
    if size > bits // 8 + 1:
        raise CodecError(f"{what}: integer of {size} bytes is too long")
    value = int.from_bytes(data[start:end], "big", signed=True)
    if value < 0:
        if size > bits // 8:
            raise CodecError(f"{what}: negative unsigned value")
        value &= (1 << bits) - 1
    elif value >> bits:
        raise CodecError(f"{what}: value {value} does not fit {bits} bits")
    return value


def read_oid(data: bytes, start: int, end: int) -> OID:
    """The OBJECT IDENTIFIER content between ``start`` and ``end``, in time linear in it."""
    size = end - start
    if not size:
        raise CodecError("empty OBJECT IDENTIFIER")
    # Refused before anything is built from it: no valid OID is longer.
    if size > _MAX_OID_BYTES:
        raise CodecError(
            f"OBJECT IDENTIFIER of {size} bytes has more than {MAX_OID_LEN} sub-identifiers "
            f"or one longer than {MAX_SUBID_BYTES} bytes"
        )
    raw = data[start:end]
    if raw.isascii():
        # Fast path: every sub-identifier fits one byte, the common case.
        if size > MAX_OID_LEN - 1:
            raise CodecError(f"OBJECT IDENTIFIER has more than {MAX_OID_LEN} sub-identifiers")
        first = raw[0]
        if first < 40:
            head: OID = (0, first)
        elif first < 80:
            head = (1, first - 40)
        else:
            head = (2, first - 80)
        return head + tuple(raw[1:])
    # Base-128 sub-identifiers: bytes >= 0x80 carry 7 bits and continue, a byte < 0x80 ends
    # one. ``value`` holds the bits gathered so far, already shifted for the next byte;
    # ``width`` counts its bytes, so no sub-identifier grows past 35 bits (shifting an
    # ever-growing number is what made long sub-identifiers cost quadratic time).
    subs: list[int] = []
    append = subs.append
    value = 0
    width = 0
    for byte in raw:
        if byte < 0x80:
            append(value | byte)
            value = 0
            width = 0
        elif not width and byte == 0x80:
            raise CodecError("OBJECT IDENTIFIER sub-identifier has a redundant leading byte")
        else:
            width += 1
            if width == MAX_SUBID_BYTES:
                raise CodecError(
                    f"OBJECT IDENTIFIER sub-identifier longer than {MAX_SUBID_BYTES} bytes"
                )
            value = (value | (byte & 0x7F)) << 7
    if width:
        raise CodecError("OBJECT IDENTIFIER ends inside a sub-identifier")
    first = subs[0]
    if first < 40:
        out = [0, first]
    elif first < 80:
        out = [1, first - 40]
    else:
        out = [2, first - 80]
    out.extend(subs[1:])
    if len(out) > MAX_OID_LEN:
        raise CodecError(f"OBJECT IDENTIFIER has more than {MAX_OID_LEN} sub-identifiers")
    if max(subs) > MAX_SUBID:
        raise CodecError("OBJECT IDENTIFIER sub-identifier exceeds 32 bits")
    return tuple(out)


def open_tlv(buf: bytes, pos: int, want: int, what: str) -> tuple[int, int]:
    """Like ``read_tlv`` but without checking the end against a container: (start, end)."""
    tag = buf[pos]
    if tag != want:
        raise CodecError(f"{what}: expected tag 0x{want:02x}, got 0x{tag:02x} at offset {pos}")
    n = buf[pos + 1]
    start = pos + 2
    if n >= 0x80:
        n, start = long_length(buf, start, n)
    return start, start + n

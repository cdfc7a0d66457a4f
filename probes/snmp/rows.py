"""Table rows as label values: a row's index decoded into labels, and label columns as text.

Text that is not UTF-8 is read with the asset's character set (GB18030 unless configured), and
every label value is printable and cut to ``MAX_LABEL_CHARS``, so one odd description cannot
bloat a series.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from probes.snmp.codec import OID, Tag, VarBind, format_oid

__all__ = [
    "DEFAULT_CHARSET",
    "MAX_LABEL_CHARS",
    "MISSING_TAGS",
    "ColumnValues",
    "Index",
    "IndexKind",
    "IndexPart",
    "LabelColumn",
    "LabelDecode",
    "Labels",
    "decode_index",
    "decode_text",
    "label_text",
]

Index = tuple[int, ...]
Labels = tuple[tuple[str, str], ...]
ColumnValues = dict[Index, VarBind]

#: How DisplayString and SnmpAdminString octets that are not valid UTF-8 are read unless the
#: asset says otherwise: GB18030, the superset of GBK and GB2312 that Chinese equipment uses.
DEFAULT_CHARSET: Final = "gb18030"

#: Label values are cut to this many characters so one odd description cannot bloat a series.
MAX_LABEL_CHARS: Final = 160

#: Tags of varbinds that carry no value: the SNMPv2 exceptions, and NULL.
MISSING_TAGS: Final = frozenset(
    {int(Tag.NO_SUCH_OBJECT), int(Tag.NO_SUCH_INSTANCE), int(Tag.END_OF_MIB_VIEW), int(Tag.NULL)}
)

IndexKind = Literal[
    "integer", "string", "fixed_string", "implied_string", "ipv4", "ipv6", "mac", "oid"
]
LabelDecode = Literal["utf8", "hex", "mac", "ipv4", "oid", "integer"]


@dataclass(frozen=True, slots=True)
class IndexPart:
    """One component of a table index and the label it becomes."""

    label: str
    kind: IndexKind = "integer"
    length: int = 0
    enum: Mapping[int, str] | None = None


def _clean(text: str) -> str:
    """A label value: printable, trimmed, and short enough to keep series bounded."""
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text.strip()[:MAX_LABEL_CHARS]


def decode_text(raw: bytes, charset: str = DEFAULT_CHARSET) -> str:
    """DisplayString or SnmpAdminString octets as label text.

    SnmpAdminString is UTF-8 (RFC 3411) and ASCII is UTF-8 too; octets that are not valid
    UTF-8 come from equipment writing its local code page (GBK on Chinese devices), and are
    read with ``charset``, whatever they cannot hold becoming U+FFFD.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode(charset, errors="replace")
    return _clean(text.rstrip("\x00"))


def _octets_text(raw: Sequence[int], charset: str) -> str:
    return decode_text(bytes(raw), charset)


def _take(index: Index, pos: int, size: int) -> Index:
    if pos + size > len(index):
        raise IndexError(pos)
    return index[pos : pos + size]


def decode_index(
    parts: Sequence[IndexPart], index: Index, charset: str = DEFAULT_CHARSET
) -> Labels:
    """The labels of one row from its index. An index that does not fit the parts is shown
    whole, dotted, under the first part's label; string parts are read as ``decode_text``
    reads values."""
    out: list[tuple[str, str]] = []
    pos = 0
    try:
        for part in parts:
            kind = part.kind
            if kind == "integer":
                number = index[pos]
                pos += 1
                text = part.enum.get(number, str(number)) if part.enum else str(number)
            elif kind == "string":
                size = index[pos]
                text = _octets_text(_take(index, pos + 1, size), charset)
                pos += 1 + size
            elif kind == "fixed_string":
                text = _octets_text(_take(index, pos, part.length), charset)
                pos += part.length
            elif kind == "implied_string":
                text = _octets_text(index[pos:], charset)
                pos = len(index)
            elif kind == "ipv4":
                text = ".".join(map(str, _take(index, pos, 4)))
                pos += 4
            elif kind == "ipv6":
                text = str(ipaddress.IPv6Address(bytes(_take(index, pos, 16))))
                pos += 16
            elif kind == "mac":
                text = ":".join(f"{b:02x}" for b in _take(index, pos, 6))
                pos += 6
            else:  # oid: the rest of the index
                text = (
                    format_oid(index[pos:])
                    if len(index) - pos >= 2
                    else ".".join(map(str, index[pos:]))
                )
                pos = len(index)
            out.append((part.label, text))
        if pos != len(index):
            raise IndexError(pos)
    except (IndexError, ValueError):
        first = parts[0].label if parts else "index"
        return ((first, ".".join(map(str, index))),)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class LabelColumn:
    """A column (or, among scalars, an object) whose value becomes a label."""

    label: str
    column: OID
    decode: LabelDecode | None = None
    enum: Mapping[int, str] | None = None


def label_text(
    vb: VarBind,
    decode: LabelDecode | None,
    enum: Mapping[int, str] | None,
    charset: str = DEFAULT_CHARSET,
) -> str:
    """A varbind's value as label text, per the column's ``decode`` and ``enum``; text is
    read by ``decode_text`` with the asset's ``charset``."""
    value = vb.value
    if value is None or vb.tag in MISSING_TAGS:
        return ""
    if isinstance(value, int):
        if enum is not None:
            return enum.get(value, str(value))
        return str(value)
    if isinstance(value, tuple):
        # An OID value names a registered kind (hrStorageRam …): ``enum`` names its last arc.
        if enum is not None and value:
            return enum.get(value[-1], format_oid(value))
        return format_oid(value)
    if decode == "hex":
        return value.hex()
    if decode == "mac":
        return ":".join(f"{b:02x}" for b in value)
    if decode == "ipv4" or vb.tag == Tag.IPADDRESS:
        return ".".join(map(str, value)) if len(value) == 4 else value.hex()
    if decode == "integer":
        return str(int.from_bytes(value, "big")) if value else ""
    return decode_text(value, charset)

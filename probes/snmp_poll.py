"""Poll compiled SNMP profiles: what to GET and walk each interval, and how varbinds become samples.

``probes.snmp_profiles`` compiles profile files into the immutable ``Group`` and ``Mapper``
objects defined here; ``PollPlan`` merges the groups of the profiles one probe uses and works
out, once, every OID to fetch and which mapper reads it. ``DevicePoller`` holds what one
device's polls remember (counter accumulators, row labels, sysUpTime) and runs a poll over any
``SnmpTransport``, so the whole algorithm can be tested without a network.

Per poll only dict lookups run per varbind: a walked column becomes ``{row index: varbind}``
and each mapper reads the columns it was compiled for; label tuples are built once per row
between label refreshes. Counters are exported as true counters: 32-bit wraps are folded into
an accumulator so the exported value only goes down after the device restarts (sysUpTime going
backwards), when the accumulators start again from the device's own values.

What real agents get wrong is handled here, by the MIB's rules rather than per device: a
value outside the range its profile declares (the object's SYNTAX) is dropped and counted in
``trunkwatch_snmp_invalid_values_total{object}``; a value of the wrong kind (an OCTET STRING
where a number belongs) is a partial failure with reason ``malformed``; text that is not
UTF-8 is decoded with the asset's character set (GB18030 unless configured); and a probe
whose profiles find none of their objects on the agent fails with ``no_such_object``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import struct
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from probes.base import Family, MalformedReply, NoSuchObject, ProbeError, ProbeResult, Sample
from probes.snmpcodec import OID, Tag, VarBind, format_oid

__all__ = [
    "DEFAULT_CHARSET",
    "DEVICE_REBOOTS",
    "INVALID_VALUES",
    "SYS_UPTIME",
    "UPTIME_SECONDS",
    "VARBINDS",
    "BitsMapper",
    "CounterMapper",
    "DevicePoller",
    "DeviceState",
    "GaugeMapper",
    "Group",
    "HighCapacityGaugeMapper",
    "IndexPart",
    "InfoMapper",
    "LabelColumn",
    "Mapper",
    "PollPlan",
    "SnmpTransport",
    "StateSetMapper",
    "UptimeTracker",
    "ValueCheck",
    "decode_index",
    "decode_text",
    "label_text",
]

Index = tuple[int, ...]
Labels = tuple[tuple[str, str], ...]
ColumnValues = dict[Index, VarBind]

#: sysUpTime.0: read on every poll, whatever the profiles say, to notice restarts.
SYS_UPTIME: Final[OID] = (1, 3, 6, 1, 2, 1, 1, 3, 0)

UPTIME_SECONDS = Family(
    "trunkwatch_snmp_uptime_seconds",
    "gauge",
    "Time since the SNMP agent (re)started, from sysUpTime, with its 497-day wraps unfolded.",
)
DEVICE_REBOOTS = Family(
    "trunkwatch_snmp_device_reboots_total",
    "counter",
    "Restarts seen by this poller: sysUpTime went backwards (device reboot or agent restart).",
)
VARBINDS = Family(
    "trunkwatch_snmp_varbinds",
    "gauge",
    "Varbinds fetched from the agent by the last poll of this probe.",
    per_probe=True,
)
INVALID_VALUES = Family(
    "trunkwatch_snmp_invalid_values_total",
    "counter",
    "Values outside the range the MIB allows (or meaning 'no reading'), dropped instead of "
    "exported, by the profile object that received them.",
)

#: How DisplayString and SnmpAdminString octets that are not valid UTF-8 are read unless the
#: asset says otherwise: GB18030, the superset of GBK and GB2312 that Chinese equipment uses.
DEFAULT_CHARSET: Final = "gb18030"

#: A GET carries at most this many varbinds, so a reply stays well inside one datagram.
GET_CHUNK: Final = 30
#: Walks of one device in flight at once: the small agents of base-station controllers serve
#: requests one at a time, and a handful in flight already hides the round-trip time.
PARALLEL_WALKS: Final = 4
#: Varbinds one multi-column GETBULK asks for: about 1.5 kB of counters, one Ethernet frame,
#: so replies from sites behind thin backhaul links are never fragmented.
BULK_VARBINDS: Final = 60
#: Label values are cut to this many characters so one odd description cannot bloat a series.
MAX_LABEL_CHARS: Final = 160

_U32: Final = 1 << 32
#: The largest Gauge32: where RFC 2863's ifSpeed saturates.
_GAUGE32_MAX: Final = _U32 - 1
_COUNTER32: Final = int(Tag.COUNTER32)
_END_OF_MIB_VIEW: Final = int(Tag.END_OF_MIB_VIEW)
_MISSING_TAGS: Final = frozenset(
    {int(Tag.NO_SUCH_OBJECT), int(Tag.NO_SUCH_INSTANCE), int(Tag.END_OF_MIB_VIEW), int(Tag.NULL)}
)
# tuple.__new__ skips the NamedTuple's Python-level constructor: a third of the cost of a sample.
_tuple_new = tuple.__new__


# ---------------------------------------------------------------------------------------------
# Index and label decoding

IndexKind = Literal[
    "integer", "string", "fixed_string", "implied_string", "ipv4", "ipv6", "mac", "oid"
]
LabelDecode = Literal["utf8", "hex", "mac", "ipv4", "oid", "integer"]
ValueDecode = Literal["float32le", "float32be", "number"]


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
    if value is None or vb.tag in _MISSING_TAGS:
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


_FLOAT_LE = struct.Struct("<f").unpack
_FLOAT_BE = struct.Struct(">f").unpack


def decode_value(vb: VarBind, decode: ValueDecode | None) -> float | int | None:
    """A varbind's value as a number, or None when it carries none."""
    value = vb.value
    if isinstance(value, int):
        return value
    if not isinstance(value, bytes) or decode is None:
        return None
    if decode == "number":
        try:
            return float(value.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            return None
    if len(value) != 4:
        return None
    return float((_FLOAT_LE if decode == "float32le" else _FLOAT_BE)(value)[0])


# ---------------------------------------------------------------------------------------------
# Mappers: one per metric of a profile, each reading the columns it was compiled for


class _Context:
    """What the mappers of one poll share: the fetched columns, the device's memory, and the
    parts that received values of the wrong kind."""

    __slots__ = ("cols", "generation", "malformed", "state")

    def __init__(self, cols: dict[OID, ColumnValues], state: DeviceState) -> None:
        self.cols = cols
        self.state = state
        self.generation = state.generation
        self.malformed: set[str] = set()

    def invalid(self, slot: int) -> None:
        """A value outside its object's range was dropped."""
        self.state.invalid[slot] += 1

    def labels_for(self, group: Group, mapper: Mapper, index: Index) -> Labels:
        """Row labels (index parts, the group's label columns), then the metric's own label
        columns and fixed labels."""
        state = self.state
        base = state.rows.get(group.name, {}).get(index)
        if base is None:
            # A row that appeared since the last label refresh and whose refresh failed.
            base = (
                *(() if group.scalar else decode_index(group.index, index, state.charset)),
                *((lc.label, "") for lc in group.labels),
            )
        if not mapper.labels and not mapper.const:
            return base
        values = state.label_values
        own = tuple((lc.label, values.get(lc.column, {}).get(index, "")) for lc in mapper.labels)
        return (*base, *own, *mapper.const)


@dataclass(frozen=True, slots=True)
class ValueCheck:
    """The raw values an object may hold: its SYNTAX range (``low``, ``high``, either open)
    and values a device uses to mean "no reading" (``invalid``). Others are dropped and
    counted, never exported as a reading an alert would act on."""

    low: float | None = None
    high: float | None = None
    invalid: frozenset[float] = frozenset()

    def accepts(self, value: float) -> bool:
        if self.low is not None and value < self.low:
            return False
        if self.high is not None and value > self.high:
            return False
        return value not in self.invalid


@dataclass(eq=False, slots=True, kw_only=True)
class Mapper:
    """Turns one column's value per row into the samples of one metric family.

    ``fallback`` is read for the rows that lack ``column`` (ifInOctets where ifHCInOctets is
    missing). ``labels`` are label columns of this metric only and ``const`` fixed labels; the
    group's index and label columns come first. ``part`` names the metric in partial results.
    ``check`` (gauges) drops raw values outside the object's range. A value of the wrong kind
    (text, an OID or an address where a number belongs) is reported under ``part`` as
    malformed; the integer types (INTEGER, Gauge32, Counter32, TimeTicks …) stand for each
    other, as agents mix them up without changing the number's meaning.
    """

    family: Family
    column: OID | None
    part: str
    fallback: OID | None = None
    labels: tuple[LabelColumn, ...] = ()
    const: Labels = ()
    optional: bool = False
    check: ValueCheck | None = None

    def columns(self) -> tuple[OID, ...]:
        """Columns fetched on every poll for this metric (not its fallback or labels)."""
        return () if self.column is None else (self.column,)

    def values(self, cols: Mapping[OID, ColumnValues]) -> Iterable[tuple[Index, VarBind]]:
        primary = cols.get(self.column) if self.column is not None else None
        if self.fallback is None:
            return primary.items() if primary else ()
        backup = cols.get(self.fallback)
        if not backup:
            return primary.items() if primary else ()
        if not primary:
            return backup.items()
        if backup.keys() <= primary.keys():
            return primary.items()
        merged = dict(backup)
        merged.update(primary)
        return merged.items()

    def emit(self, ctx: _Context, group: Group, slot: int, out: list[Sample]) -> None:
        raise NotImplementedError


@dataclass(eq=False, slots=True, kw_only=True)
class GaugeMapper(Mapper):
    """value × scale ÷ divisor; optionally × another column of the row
    (hrStorageAllocationUnits), or scaled the ENTITY-SENSOR-MIB way by the row's scale and
    precision columns; ``value_map`` turns enumerated values into numbers (up(1) → 1, down(2)
    → 0), dropping unlisted ones. A scale of 0.1 is given as divisor 10: 194 ÷ 10 is 19.4,
    where 194 × 0.1 is 19.400000000000002."""

    scale: float = 1
    divisor: int = 1
    decode: ValueDecode | None = None
    multiply_by: OID | None = None
    scale_column: OID | None = None
    precision_column: OID | None = None
    value_map: Mapping[int, float] | None = None

    def columns(self) -> tuple[OID, ...]:
        extra = (self.multiply_by, self.scale_column, self.precision_column)
        return (*Mapper.columns(self), *(c for c in extra if c is not None))

    def emit(self, ctx: _Context, group: Group, slot: int, out: list[Sample]) -> None:
        cache = ctx.state.label_cache[slot]
        family, scale, decode, value_map = self.family, self.scale, self.decode, self.value_map
        divisor = self.divisor
        cols = ctx.cols
        factor = cols.get(self.multiply_by) if self.multiply_by is not None else None
        exponents = cols.get(self.scale_column) if self.scale_column is not None else None
        precisions = cols.get(self.precision_column) if self.precision_column is not None else None
        derived = self.multiply_by is not None or self.scale_column is not None
        check = self.check
        append = out.append
        for index, vb in self.values(cols):
            value: float | int | None = vb.value  # type: ignore[assignment]
            if value.__class__ is not int:
                value = decode_value(vb, decode)
                if value is None:
                    ctx.malformed.add(self.part)
                    continue
            if check is not None and not check.accepts(value):
                ctx.invalid(slot)
                continue
            if value_map is not None:
                value = value_map.get(value) if isinstance(value, int) else None
                if value is None:
                    continue
            if derived:
                value = _derive(value, index, factor, exponents, precisions)
                if value is None:
                    # The row's multiplier is missing (skipped) or not a number (malformed).
                    if factor is not None and factor.get(index) is not None:
                        ctx.malformed.add(self.part)
                    continue
            labels = cache.get(index)
            if labels is None:
                labels = cache[index] = ctx.labels_for(group, self, index)
            value = value / divisor if divisor != 1 else value * scale
            append(_tuple_new(Sample, (family, value, labels, "")))


def _derive(
    value: float,
    index: Index,
    factor: ColumnValues | None,
    exponents: ColumnValues | None,
    precisions: ColumnValues | None,
) -> float | None:
    if factor is not None:
        vb = factor.get(index)
        if vb is None or not isinstance(vb.value, int):
            return None
        value = value * vb.value
    if exponents is not None:
        # ENTITY-SENSOR-MIB: value × 10^(3·(scale − 9)) ÷ 10^precision; scale 9 is units(9).
        vb = exponents.get(index)
        scale = vb.value if vb is not None and isinstance(vb.value, int) else 9
        precision = 0
        if precisions is not None:
            pvb = precisions.get(index)
            if pvb is not None and isinstance(pvb.value, int):
                precision = pvb.value
        exponent = 3 * (scale - 9) - precision
        # Dividing by an exact power of ten gives 35.25 for 3525 and -2, not 35.250000000000004.
        value = value * 10**exponent if exponent >= 0 else value / 10**-exponent
    return value


@dataclass(eq=False, slots=True, kw_only=True)
class HighCapacityGaugeMapper(Mapper):
    """A Gauge32 that saturates at 4,294,967,295 (``column``), read together with its
    high-capacity twin in coarser units (``high_capacity``, worth ``factor`` of the first):
    ifSpeed in bit/s and ifHighSpeed in Mbit/s, as RFC 2863 defines them.

    The Gauge32 is authoritative, as the RFC says, unless it cannot be: when it is saturated,
    0 ("no accurate estimation") or missing, the twin's reading is used. Agents get the pair
    wrong in ways this settles without knowing the device: no twin at all (no ifXTable), a
    twin of 0, or a twin off by a power of ten or reporting bit/s (the Gauge32 wins); a
    Gauge32 within half a twin unit of its maximum (4,294,967,294 for 8 Gbit/s), which the
    twin cannot tell from saturated; and a Gauge32 that wrapped instead of saturating (10
    Gbit/s as 1,410,065,408, exactly the twin's value modulo 2^32), where the twin is used.
    The result is multiplied by ``scale`` (or divided by ``divisor``).
    """

    high_capacity: OID
    factor: int
    scale: float = 1
    divisor: int = 1

    def columns(self) -> tuple[OID, ...]:
        return (*Mapper.columns(self), self.high_capacity)

    def reading(self, low: int | None, high: int | None) -> int | None:
        """The value RFC 2863 says the pair holds, in the Gauge32's units."""
        factor = self.factor
        twin = high * factor if high is not None else None
        usable = low is not None and 0 < low < _GAUGE32_MAX - factor // 2
        wrapped = twin is not None and twin > _GAUGE32_MAX and low == twin % _U32
        if usable and not wrapped:
            return low
        if twin is not None and (twin > 0 or low is None):
            return twin
        return low

    def emit(self, ctx: _Context, group: Group, slot: int, out: list[Sample]) -> None:
        cache = ctx.state.label_cache[slot]
        cols = ctx.cols
        lows = cols.get(self.column, {}) if self.column is not None else {}
        highs = cols.get(self.high_capacity, {})
        rows = dict.fromkeys(lows)
        rows.update(dict.fromkeys(highs))
        for index in rows:
            low = self._number(ctx, lows.get(index))
            high = self._number(ctx, highs.get(index))
            value = self.reading(low, high)
            if value is None:
                continue
            labels = cache.get(index)
            if labels is None:
                labels = cache[index] = ctx.labels_for(group, self, index)
            number = value / self.divisor if self.divisor != 1 else value * self.scale
            out.append(_tuple_new(Sample, (self.family, number, labels, "")))

    def _number(self, ctx: _Context, vb: VarBind | None) -> int | None:
        if vb is None:
            return None
        if vb.value.__class__ is not int:
            ctx.malformed.add(self.part)
            return None
        return vb.value


class _CounterRow:
    """One row of a counter: last raw value, exported total, which column, last poll seen."""

    __slots__ = ("generation", "primary", "raw", "total")

    def __init__(self, raw: int, primary: bool, generation: int) -> None:
        self.raw = raw
        self.total = raw
        self.primary = primary
        self.generation = generation


@dataclass(eq=False, slots=True, kw_only=True)
class CounterMapper(Mapper):
    """A device counter as a Prometheus counter that only goes down after a device restart.

    A Counter32 that goes down between polls without a restart wrapped: the distance to 2^32
    is added. Any other decrease means the counter alone was reset (cleared by an operator):
    its new value is added, so the export still never goes down. After a restart each row
    starts again from the device's value. A row moving between the 64-bit column and its
    32-bit fallback adds nothing for that interval, the two not being comparable.
    """

    scale: float = 1
    divisor: int = 1

    def emit(self, ctx: _Context, group: Group, slot: int, out: list[Sample]) -> None:
        cache = ctx.state.label_cache[slot]
        rows = ctx.state.counters[slot]
        family, scale, divisor, generation = self.family, self.scale, self.divisor, ctx.generation
        cols = ctx.cols
        primary: ColumnValues = cols.get(self.column, {}) if self.column is not None else {}
        sources: list[tuple[Iterable[tuple[Index, VarBind]], bool]] = [(primary.items(), True)]
        backup = cols.get(self.fallback) if self.fallback is not None else None
        if backup and not backup.keys() <= primary.keys():
            sources.append((((i, vb) for i, vb in backup.items() if i not in primary), False))
        append = out.append
        for items, from_primary in sources:
            for index, vb in items:
                raw = vb.value
                if raw.__class__ is not int:
                    ctx.malformed.add(self.part)
                    continue
                row = rows.get(index)
                if row is None:
                    row = rows[index] = _CounterRow(raw, from_primary, generation)
                else:
                    last = row.raw
                    if row.primary is not from_primary:
                        row.primary = from_primary
                    elif raw >= last:
                        row.total += raw - last
                    elif vb.tag == _COUNTER32:
                        row.total += raw + _U32 - last
                    else:
                        row.total += raw
                    row.raw = raw
                    row.generation = generation
                labels = cache.get(index)
                if labels is None:
                    labels = cache[index] = ctx.labels_for(group, self, index)
                total: float = row.total
                if divisor != 1:
                    total = total / divisor
                elif scale != 1:
                    total = total * scale
                append(_tuple_new(Sample, (family, total, labels, "")))


@dataclass(eq=False, slots=True, kw_only=True)
class StateSetMapper(Mapper):
    """An enumerated value as one series per named state: 1 for the current one, 0 for the
    others (all 0 for a value the profile does not name)."""

    states: Mapping[int, str]
    label: str = "state"

    def emit(self, ctx: _Context, group: Group, slot: int, out: list[Sample]) -> None:
        cache = ctx.state.label_cache[slot]
        family = self.family
        append = out.append
        for index, vb in self.values(ctx.cols):
            value = vb.value
            if value.__class__ is not int:
                ctx.malformed.add(self.part)
                continue
            series = cache.get(index)
            if series is None:
                base = ctx.labels_for(group, self, index)
                series = cache[index] = tuple(
                    (code, (*base, (self.label, name))) for code, name in self.states.items()
                )
            for code, labels in series:
                append(_tuple_new(Sample, (family, 1 if code == value else 0, labels, "")))


@dataclass(eq=False, slots=True, kw_only=True)
class BitsMapper(Mapper):
    """A bitmap as one 0/1 series per named bit.

    In an INTEGER bitmap (dsx1LineStatus) bit n is worth 2^n; in an SMI BITS value (an OCTET
    STRING) bit n counts from the most significant bit of the first octet (RFC 2578 §7.1.4).
    """

    bits: Mapping[int, str]
    label: str = "bit"

    def emit(self, ctx: _Context, group: Group, slot: int, out: list[Sample]) -> None:
        cache = ctx.state.label_cache[slot]
        family = self.family
        append = out.append
        for index, vb in self.values(ctx.cols):
            value = vb.value
            if isinstance(value, int):
                mask = value
            elif isinstance(value, bytes):
                width = len(value) * 8
                number = int.from_bytes(value, "big")
                mask = sum(1 << n for n in range(width) if number >> (width - 1 - n) & 1)
            else:
                ctx.malformed.add(self.part)
                continue
            series = cache.get(index)
            if series is None:
                base = ctx.labels_for(group, self, index)
                series = cache[index] = tuple(
                    (bit, (*base, (self.label, name))) for bit, name in self.bits.items()
                )
            for bit, labels in series:
                append(_tuple_new(Sample, (family, mask >> bit & 1, labels, "")))


@dataclass(eq=False, slots=True, kw_only=True)
class InfoMapper(Mapper):
    """Descriptive text as the labels of a series whose value is 1, one per known row that
    has at least one of the texts."""

    def emit(self, ctx: _Context, group: Group, slot: int, out: list[Sample]) -> None:
        cache = ctx.state.label_cache[slot]
        family = self.family
        values = ctx.state.label_values
        for index in ctx.state.rows.get(group.name, {}):
            labels = cache.get(index)
            if labels is None:
                if not any(index in values.get(lc.column, {}) for lc in self.labels):
                    continue
                labels = cache[index] = ctx.labels_for(group, self, index)
            out.append(_tuple_new(Sample, (family, 1, labels, "")))


# ---------------------------------------------------------------------------------------------
# Groups and the poll plan


@dataclass(frozen=True, slots=True)
class Walk:
    """One subtree walked every poll (``metric``), on label refreshes (``label``), or while the
    device lacks the primary column it stands in for (``fallback``). Walks of the same
    ``table`` share one multi-column GETBULK where the transport offers it."""

    root: OID
    part: str
    kind: Literal["metric", "label", "fallback"] = "metric"
    table: str = ""


@dataclass(frozen=True, slots=True)
class Group:
    """A profile's scalars, or one of its tables: index, row labels and metrics.

    ``name`` (``profile.table``) keys the row cache. Scalars form one row with the empty
    index, and each of their "columns" is an object instance fetched by GET. ``walk`` lists
    subtrees (a whole table entry, say) walked instead of each column on its own.
    """

    name: str
    profile: str
    scalar: bool
    mappers: tuple[Mapper, ...]
    index: tuple[IndexPart, ...] = ()
    labels: tuple[LabelColumn, ...] = ()
    walk: tuple[OID, ...] = ()

    def label_columns(self) -> tuple[LabelColumn, ...]:
        seen: dict[OID, LabelColumn] = {lc.column: lc for lc in self.labels}
        for mapper in self.mappers:
            for lc in mapper.labels:
                seen.setdefault(lc.column, lc)
        return tuple(seen.values())


def _under(oid: OID, roots: Iterable[OID]) -> OID | None:
    for root in roots:
        if oid[: len(root)] == root:
            return root
    return None


class PollPlan:
    """Everything one probe fetches and maps, worked out once from its profiles' groups.

    A plan is immutable and shared by every probe polling the same profiles; each probe keeps
    its device's memory in its own ``DeviceState``.
    """

    def __init__(self, groups: Sequence[Group]) -> None:
        self.groups = tuple(groups)
        self.slots: tuple[tuple[Group, Mapper], ...] = tuple(
            (g, m) for g in self.groups for m in g.mappers
        )
        #: OIDs fetched by GET on every poll, and on label refreshes only.
        gets: dict[OID, None] = {SYS_UPTIME: None}
        label_gets: dict[OID, None] = {}
        #: Which part of the profiles an OID serves, to name a failed GET in partial results.
        self.get_part: dict[OID, str] = {}
        #: Metric columns and objects the profiles need, by the name a missing one is reported.
        self.required: dict[OID, str] = {}
        self.fallback_of: dict[OID, OID] = {}
        #: Per profile, the objects and columns its metrics read: a profile none of which
        #: the agent has is absent from the device.
        self.profile_columns: dict[str, set[OID]] = {}
        #: Mapper slots whose values are range-checked, and the object each is counted as.
        self.checked: tuple[tuple[int, str], ...] = ()
        self.label_columns: dict[str, tuple[LabelColumn, ...]] = {}
        #: A table's metric columns: the rows present in them are the table's rows.
        self.metric_columns: dict[str, tuple[OID, ...]] = {}
        wanted: dict[OID, Walk] = {}
        needed: set[OID] = set()
        for group in self.groups:
            label_cols = group.label_columns()
            self.label_columns[group.name] = label_cols
            for mapper in group.mappers:
                if mapper.column is not None and not mapper.optional:
                    self.required.setdefault(mapper.column, mapper.part)
                if mapper.column is not None and mapper.fallback is not None:
                    self.fallback_of[mapper.column] = mapper.fallback
                if mapper.column is not None and isinstance(mapper, HighCapacityGaugeMapper):
                    self.fallback_of[mapper.column] = mapper.high_capacity
                own = (*mapper.columns()[:1], *((mapper.fallback,) if mapper.fallback else ()))
                if isinstance(mapper, HighCapacityGaugeMapper):
                    own = (*own, mapper.high_capacity)
                if own:
                    self.profile_columns.setdefault(group.profile, set()).update(own)
            if group.scalar:
                for mapper in group.mappers:
                    for oid in (*mapper.columns(), *[f for f in [mapper.fallback] if f]):
                        gets.setdefault(oid)
                        self.get_part.setdefault(oid, f"{group.profile}.scalars")
                for lc in label_cols:
                    if lc.column not in gets:
                        label_gets.setdefault(lc.column)
                        self.get_part.setdefault(lc.column, f"{group.profile}.scalars")
                continue
            metric_cols: dict[OID, str] = {}
            for mapper in group.mappers:
                for column in mapper.columns():
                    metric_cols.setdefault(column, mapper.part)
            self.metric_columns[group.name] = tuple(metric_cols)
            for i, root in enumerate(group.walk):
                name = group.name if len(group.walk) == 1 else f"{group.name}[{i}]"
                wanted.setdefault(root, Walk(root, name, table=group.name))
            for column, part in metric_cols.items():
                needed.add(column)
                wanted.setdefault(column, Walk(column, part, table=group.name))
            for mapper in group.mappers:
                if mapper.fallback is not None:
                    needed.add(mapper.fallback)
                    wanted.setdefault(
                        mapper.fallback,
                        Walk(mapper.fallback, mapper.part, "fallback", table=group.name),
                    )
            for lc in label_cols:
                needed.add(lc.column)
                wanted.setdefault(
                    lc.column, Walk(lc.column, f"{group.name}.{lc.label}", "label", group.name)
                )
        # Walk only the outermost roots: a column inside a walked entry comes with it, and the
        # entry is then walked every poll if any metric column needs it.
        self.walks: dict[OID, Walk] = {}
        for root in sorted(wanted, key=len):
            walk = wanted[root]
            cover = _under(root, self.walks)
            if cover is None:
                self.walks[root] = walk
            elif walk.kind == "metric" and self.walks[cover].kind != "metric":
                self.walks[cover] = Walk(cover, self.walks[cover].part, table=walk.table)
        #: The walk that serves each column, and for each walked root the columns inside it
        #: (by OID length) to index on their own.
        self.root_of: dict[OID, OID] = {}
        inner: dict[OID, dict[int, set[OID]]] = {}
        for column in needed:
            cover = column if column in self.walks else _under(column, self.walks)
            assert cover is not None
            self.root_of[column] = cover
            if cover != column:
                inner.setdefault(cover, {}).setdefault(len(column), set()).add(column)
        self.splits: dict[OID, dict[int, frozenset[OID]]] = {
            root: {width: frozenset(columns) for width, columns in widths.items()}
            for root, widths in inner.items()
        }
        #: Walked roots that are columns themselves (not entries walked for their columns).
        self.direct: frozenset[OID] = frozenset(c for c, root in self.root_of.items() if c == root)
        self.gets: tuple[OID, ...] = tuple(gets)
        self.label_gets: tuple[OID, ...] = tuple(label_gets)
        self.checked = tuple(
            (slot, mapper.part)
            for slot, (_, mapper) in enumerate(self.slots)
            if mapper.check is not None
        )

    def families(self) -> list[Family]:
        seen: dict[str, Family] = {}
        for _, mapper in self.slots:
            seen.setdefault(mapper.family.name, mapper.family)
        if self.checked:
            seen.setdefault(INVALID_VALUES.name, INVALID_VALUES)
        return list(seen.values())

    # -- per poll ---------------------------------------------------------------------------

    def walk_roots(self, state: DeviceState, *, refresh: bool) -> list[Walk]:
        """The subtrees to walk now: metric walks always, label walks on a refresh, fallback
        walks while the device needs them."""
        return [
            walk
            for walk in self.walks.values()
            if walk.kind == "metric"
            or (walk.kind == "label" and refresh)
            or (walk.kind == "fallback" and walk.root in state.fallback_needed)
        ]

    def columns(
        self, values: Mapping[OID, VarBind], walked: Mapping[OID, list[VarBind]]
    ) -> dict[OID, ColumnValues]:
        """Index what was fetched by column, then by row index."""
        cols: dict[OID, ColumnValues] = {}
        for oid, vb in values.items():
            if vb.tag not in _MISSING_TAGS:
                cols[oid] = {(): vb}
        splits, direct = self.splits, self.direct
        for root, vbs in walked.items():
            if root in direct:
                depth = len(root)
                cols[root] = {vb.oid[depth:]: vb for vb in vbs}
            inner = splits.get(root)
            if inner is None:
                continue
            for width, columns in inner.items():
                for vb in vbs:
                    column = vb.oid[:width]
                    if column in columns:
                        rows = cols.get(column)
                        if rows is None:
                            rows = cols[column] = {}
                        rows[vb.oid[width:]] = vb
        return cols

    def fallbacks_missing(self, state: DeviceState, cols: Mapping[OID, ColumnValues]) -> list[Walk]:
        """Fallback walks needed now because their primary column lacks rows of its table;
        remembered, so later polls walk them together with the rest."""
        out: list[Walk] = []
        for group, mapper in self.slots:
            primary, fallback = mapper.column, mapper.fallback
            if group.scalar or primary is None or fallback is None:
                continue
            root = self.root_of[fallback]
            if cols.get(fallback) or root in state.fallback_needed:
                continue
            have = cols.get(primary, {})
            columns = self.metric_columns[group.name]
            # Cheap test first: the primary has as many rows as the fullest column.
            if len(have) >= max(len(cols.get(c, ())) for c in columns):
                continue
            if _table_rows(columns, cols).keys() - have.keys():
                state.fallback_needed.add(root)
                if self.walks[root].kind == "fallback":
                    out.append(self.walks[root])
        return out

    def unknown_rows(self, state: DeviceState, cols: Mapping[OID, ColumnValues]) -> bool:
        """Whether a table has rows the label cache has not seen (a new interface …)."""
        for group in self.groups:
            if group.scalar:
                continue
            known = state.rows.get(group.name, {})
            for column in self.metric_columns[group.name]:
                rows = cols.get(column)
                if rows and not rows.keys() <= known.keys():
                    return True
        return False

    def refresh_labels(self, state: DeviceState, cols: Mapping[OID, ColumnValues]) -> None:
        """Rebuild label values and row labels from this poll's columns."""
        values: dict[OID, dict[Index, str]] = {}
        for group in self.groups:
            for lc in self.label_columns[group.name]:
                got = cols.get(lc.column)
                if got is None:
                    # A label column that did not answer keeps its last known values.
                    values[lc.column] = state.label_values.get(lc.column, {})
                else:
                    values[lc.column] = {
                        i: label_text(vb, lc.decode, lc.enum, state.charset)
                        for i, vb in got.items()
                    }
        state.label_values = values
        state.rows = {}
        for group in self.groups:
            if group.scalar:
                state.rows[group.name] = {(): ()}
                continue
            rows = _table_rows(self.metric_columns[group.name], cols)
            for lc in group.labels:
                rows.update(dict.fromkeys(values.get(lc.column, {})))
            state.rows[group.name] = {
                index: (
                    *decode_index(group.index, index, state.charset),
                    *((lc.label, values.get(lc.column, {}).get(index, "")) for lc in group.labels),
                )
                for index in rows
            }
        state.label_cache = [{} for _ in self.slots]
        state.missing_v1.clear()
        # Forget the counters of rows not seen lately (an interface that went away).
        for counter_rows in state.counters:
            stale = [i for i, r in counter_rows.items() if r.generation < state.generation - 1]
            for index in stale:
                del counter_rows[index]

    def map(
        self, state: DeviceState, cols: dict[OID, ColumnValues]
    ) -> tuple[list[Sample], set[str]]:
        """Every sample of the profiles from this poll's columns, with the invalid values
        counted so far; and the parts that received values of the wrong kind."""
        ctx = _Context(cols, state)
        out: list[Sample] = []
        for slot, (group, mapper) in enumerate(self.slots):
            mapper.emit(ctx, group, slot, out)
        if self.checked:
            counts: dict[str, int] = {}
            for slot, part in self.checked:
                counts[part] = counts.get(part, 0) + state.invalid[slot]
            out.extend(Sample(INVALID_VALUES, n, (("object", part),)) for part, n in counts.items())
        return out, ctx.malformed

    def absent_profiles(self, cols: Mapping[OID, ColumnValues], failed: Iterable[OID]) -> list[str]:
        """The profiles none of whose objects the agent has: every fetch of them worked and
        brought nothing."""
        broken = set(failed)
        return [
            profile
            for profile, columns in self.profile_columns.items()
            if not any(cols.get(c) for c in columns)
            and not any(self.root_of.get(c, c) in broken for c in columns)
        ]


def _table_rows(columns: Iterable[OID], cols: Mapping[OID, ColumnValues]) -> dict[Index, None]:
    rows: dict[Index, None] = {}
    for column in columns:
        got = cols.get(column)
        if got:
            rows.update(dict.fromkeys(got))
    return rows


# ---------------------------------------------------------------------------------------------
# What one device's polls remember


@dataclass(slots=True)
class UptimeTracker:
    """sysUpTime across polls: unfolds its 2^32-centisecond wrap and notices restarts.

    A restart is sysUpTime going backwards, unless the wall clock says it simply wrapped (it
    does every 497 days); or, when the previous reading was younger than the time since,
    sysUpTime advancing clearly less than the wall clock (the agent restarted in between).
    ``tolerance`` (seconds) absorbs the request delays around both readings.
    """

    ticks: int | None = None
    at: float = 0.0
    wraps: int = 0
    restarts: int = 0

    def observe(self, ticks: int, now: float, tolerance: float) -> bool:
        """Record a reading taken at monotonic time ``now``; True if the agent restarted."""
        last, last_at = self.ticks, self.at
        self.ticks, self.at = ticks, now
        if last is None:
            return False
        elapsed = max(0.0, now - last_at) * 100
        slack = tolerance * 100 + 0.01 * elapsed
        if ticks >= last:
            restarted = last < elapsed and (ticks - last) + slack < elapsed
        else:
            expected = last + elapsed
            wrapped = expected >= _U32 and abs(ticks - (expected - _U32)) <= slack
            if wrapped:
                self.wraps += 1
            restarted = not wrapped
        if restarted:
            self.restarts += 1
            self.wraps = 0
        return restarted

    @property
    def seconds(self) -> float | None:
        if self.ticks is None:
            return None
        return (self.wraps * _U32 + self.ticks) / 100


@dataclass(slots=True)
class DeviceState:
    """What the polls of one device remember between runs."""

    slots: int
    uptime: UptimeTracker = field(default_factory=UptimeTracker)
    generation: int = 0
    labels_at: float | None = None
    label_values: dict[OID, dict[Index, str]] = field(default_factory=dict)
    rows: dict[str, dict[Index, Labels]] = field(default_factory=dict)
    #: Per mapper slot: row index → its label tuple (or, for state sets, its series).
    label_cache: list[dict[Index, Any]] = field(default_factory=list)
    counters: list[dict[Index, _CounterRow]] = field(default_factory=list)
    fallback_needed: set[OID] = field(default_factory=set)
    missing_v1: set[OID] = field(default_factory=set)
    #: Varbinds each walked subtree had last time: sizes the next GETBULK so that it asks for
    #: what is there plus one row, instead of overshooting small tables by max-repetitions.
    walk_sizes: dict[OID, int] = field(default_factory=dict)
    #: Per mapper slot: values dropped as outside their object's range, since the start.
    invalid: list[int] = field(default_factory=list)
    #: How text that is not UTF-8 is read (the asset's ``charset``).
    charset: str = DEFAULT_CHARSET

    def __post_init__(self) -> None:
        self.label_cache = [{} for _ in range(self.slots)]
        self.counters = [{} for _ in range(self.slots)]
        self.invalid = [0] * self.slots

    def restart(self) -> None:
        """The device restarted: counters start again from its values, and what it lacked
        before is asked for again."""
        for rows in self.counters:
            rows.clear()
        self.fallback_needed.clear()
        self.missing_v1.clear()


# ---------------------------------------------------------------------------------------------
# The poll


class SnmpTransport(Protocol):
    """GET and walk against one agent; failures are ``probes.base`` exceptions.

    ``bulk`` sends one GETBULK for several OIDs at once (the reply is row-major, as RFC 3416
    says); transports that cannot (SNMPv1, or a v3 library without it) set ``can_bulk`` false
    and each subtree is walked with ``walk``.
    """

    @property
    def version(self) -> str: ...

    @property
    def can_bulk(self) -> bool: ...

    async def get(self, oids: Sequence[OID]) -> list[VarBind]: ...

    async def walk(self, root: OID) -> list[VarBind]: ...

    async def bulk(self, oids: Sequence[OID], repetitions: int) -> list[VarBind]: ...


async def bulk_walk(
    transport: SnmpTransport,
    roots: Sequence[OID],
    *,
    max_repetitions: int,
    sizes: Mapping[OID, int],
) -> dict[OID, list[VarBind]]:
    """Walk several subtrees together with multi-varbind GETBULKs, as ``snmptable`` does.

    Each request carries one OID per subtree still open and asks for as many rows as the
    largest of them had last time (``sizes``) plus one, capped by ``max_repetitions`` and by
    ``BULK_VARBINDS`` in all; a subtree closes at the first varbind outside it.
    """
    out: dict[OID, list[VarBind]] = {root: [] for root in roots}
    last: dict[OID, OID] = {root: root for root in roots}
    pending = list(roots)
    while pending:
        n = len(pending)
        left = max(sizes.get(r, max_repetitions) - len(out[r]) for r in pending)
        repetitions = max(1, min(max_repetitions, left + 1, BULK_VARBINDS // n))
        got = await transport.bulk([last[r] for r in pending], repetitions)
        if not got:
            raise MalformedReply("GETBULK answered with no varbinds")
        closed: set[OID] = set()
        for i, vb in enumerate(got):
            root = pending[i % n]
            if root in closed:
                continue
            oid = vb.oid
            if vb.tag == _END_OF_MIB_VIEW or oid[: len(root)] != root:
                closed.add(root)
                continue
            if oid <= last[root]:
                raise MalformedReply(
                    f"agent returned non-increasing OID {format_oid(oid)} "
                    f"after {format_oid(last[root])}"
                )
            out[root].append(vb)
            last[root] = oid
        pending = [root for root in pending if root not in closed]
    return out


class _Run:
    """The fetches of one poll and how each went."""

    def __init__(self, plan: PollPlan, transport: SnmpTransport, state: DeviceState) -> None:
        self.plan = plan
        self.transport = transport
        self.state = state
        self.values: dict[OID, VarBind] = {}
        self.walked: dict[OID, list[VarBind]] = {}
        self.partial: dict[str, str] = {}
        self.failed: set[OID] = set()
        self.first_error: ProbeError | None = None
        self.answered = False
        self.varbinds = 0

    def _record(self, part: str, error: ProbeError) -> None:
        if self.first_error is None:
            self.first_error = error
        self.partial.setdefault(part, error.reason)

    async def get(self, oids: Sequence[OID]) -> None:
        """GET in chunks. Raises at once if the agent has answered nothing yet: a dead or
        refusing agent would only make every later request wait for the same timeout."""
        oids = [oid for oid in oids if oid not in self.state.missing_v1]
        for start in range(0, len(oids), GET_CHUNK):
            chunk = oids[start : start + GET_CHUNK]
            try:
                self._got(await self.transport.get(chunk))
            except NoSuchObject as exc:
                if self.transport.version == "1" and len(chunk) > 1:
                    await self._get_one_by_one(chunk)
                else:
                    self._chunk_failed(chunk, exc)
            except ProbeError as exc:
                self._chunk_failed(chunk, exc)
                if not self.answered:
                    raise

    async def _get_one_by_one(self, chunk: Sequence[OID]) -> None:
        # SNMPv1 rejects a whole GET for one missing object: ask one at a time, and skip the
        # missing ones until the next label refresh.
        self.answered = True
        for oid in chunk:
            try:
                self._got(await self.transport.get([oid]))
            except NoSuchObject:
                self.state.missing_v1.add(oid)
            except ProbeError as exc:
                self._chunk_failed([oid], exc)

    def _got(self, got: list[VarBind]) -> None:
        self.answered = True
        self.varbinds += len(got)
        values = self.values
        for vb in got:
            values[vb.oid] = vb

    def _chunk_failed(self, chunk: Sequence[OID], error: ProbeError) -> None:
        self.failed.update(chunk)
        for part in sorted({self.plan.get_part.get(oid, "system") for oid in chunk}):
            self._record(part, error)

    async def walk_all(self, walks: Sequence[Walk], max_repetitions: int) -> None:
        """Walk the subtrees, a few at a time; the subtrees of one table share GETBULKs."""
        if not walks:
            return
        transport, sizes = self.transport, self.state.walk_sizes
        batches: list[list[Walk]] = []
        if transport.can_bulk:
            by_table: dict[str, list[Walk]] = {}
            for walk in walks:
                by_table.setdefault(walk.table, []).append(walk)
            for members in by_table.values():
                for start in range(0, len(members), BULK_VARBINDS):
                    batches.append(members[start : start + BULK_VARBINDS])
        else:
            batches = [[walk] for walk in walks]
        gate = asyncio.Semaphore(PARALLEL_WALKS)

        async def one(batch: list[Walk]) -> None:
            async with gate:
                try:
                    if transport.can_bulk:
                        got = await bulk_walk(
                            transport,
                            [w.root for w in batch],
                            max_repetitions=max_repetitions,
                            sizes=sizes,
                        )
                    else:
                        got = {batch[0].root: await transport.walk(batch[0].root)}
                except ProbeError as exc:
                    for walk in batch:
                        self.failed.add(walk.root)
                        self._record(walk.part, exc)
                    return
            self.answered = True
            for root, vbs in got.items():
                self.varbinds += len(vbs)
                self.walked[root] = vbs
                sizes[root] = len(vbs)

        async with asyncio.TaskGroup() as tasks:
            for batch in batches:
                tasks.create_task(one(batch))

    def record_missing(self, cols: Mapping[OID, ColumnValues]) -> None:
        """Name each required column or object the agent does not have (its fetch worked but
        brought nothing, and no fallback stood in)."""
        plan = self.plan
        for column, part in plan.required.items():
            if cols.get(column):
                continue
            fallback = plan.fallback_of.get(column)
            if fallback is not None and cols.get(fallback):
                continue
            source = plan.root_of.get(column, column)
            if source in self.failed:
                continue  # recorded with the failure's own reason
            self.partial.setdefault(part, NoSuchObject.reason)


class DevicePoller:
    """Polls one device with a plan, remembering counters, labels and uptime between runs.

    ``label_refresh`` is how often (seconds) label columns are walked again; they are also
    walked when the agent restarted or a table shows rows not seen before. ``tolerance``
    (seconds, about the probe timeout) absorbs request delays when comparing sysUpTime with
    the wall clock. ``max_repetitions`` caps the rows per subtree of one GETBULK.
    """

    def __init__(
        self,
        plan: PollPlan,
        *,
        label_refresh: float = 900.0,
        tolerance: float = 10.0,
        max_repetitions: int = 25,
        clock: Callable[[], float] = time.monotonic,
        identity: bool = True,
    ) -> None:
        self.plan = plan
        #: Whether this poller exports the agent's uptime and restarts (one poller per asset).
        self.identity = identity
        self.label_refresh = label_refresh
        self.max_repetitions = max_repetitions
        self.tolerance = tolerance
        self.clock = clock
        self.state = DeviceState(len(plan.slots))

    async def poll(
        self, transport: SnmpTransport, *, charset: str = DEFAULT_CHARSET
    ) -> ProbeResult:
        """GET the scalars, walk the tables, map. A part that fails is named in ``partial``
        and the rest kept; when nothing answered, the first error is raised, and when the
        agent has none of the profiles' objects, ``NoSuchObject``. ``charset`` reads text
        that is not UTF-8 (a change re-reads the labels)."""
        plan, state = self.plan, self.state
        if charset != state.charset:
            state.charset = charset
            state.labels_at = None
        state.generation += 1
        run = _Run(plan, transport, state)
        refresh = state.labels_at is None or self.clock() - state.labels_at >= self.label_refresh
        await run.get(plan.gets + plan.label_gets if refresh else plan.gets)
        uptime = run.values.get(SYS_UPTIME)
        if uptime is not None and isinstance(uptime.value, int) and uptime.tag == Tag.TIMETICKS:
            if state.uptime.observe(uptime.value, self.clock(), self.tolerance):
                state.restart()
                if not refresh:
                    refresh = True
                    await run.get(plan.label_gets)
        else:
            uptime = None
        await run.walk_all(plan.walk_roots(state, refresh=refresh), self.max_repetitions)
        cols = plan.columns(run.values, run.walked)
        later = plan.fallbacks_missing(state, cols)
        if not refresh and plan.unknown_rows(state, cols):
            refresh = True
            later.extend(w for w in plan.walks.values() if w.kind == "label")
            await run.get(plan.label_gets)
        if later:
            await run.walk_all(later, self.max_repetitions)
            cols = plan.columns(run.values, run.walked)
        if not run.answered:
            assert run.first_error is not None
            raise run.first_error
        absent = plan.absent_profiles(cols, run.failed)
        if absent and len(absent) == len(plan.profile_columns):
            raise NoSuchObject(f"the agent has none of the objects of {', '.join(absent)}")
        if refresh:
            plan.refresh_labels(state, cols)
            state.labels_at = self.clock()
        run.record_missing(cols)
        samples, malformed = plan.map(state, cols)
        for part in sorted(malformed):
            run.partial.setdefault(part, MalformedReply.reason)
        if self.identity:
            seconds = state.uptime.seconds
            if uptime is not None and seconds is not None:
                samples.append(Sample(UPTIME_SECONDS, seconds))
            samples.append(Sample(DEVICE_REBOOTS, state.uptime.restarts))
        samples.append(Sample(VARBINDS, run.varbinds))
        return ProbeResult(samples, run.partial)

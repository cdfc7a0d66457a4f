"""Mappers: one per metric of a profile, turning a column's value per row into samples; and
``Group``, a profile's scalars or one of its tables, which holds them.

``probes.snmp.profiles`` compiles profile files into these immutable objects. Per poll only
dict lookups run per varbind: each mapper reads the columns it was compiled for from
``{column: {row index: varbind}}``, and label tuples are built once per row between label
refreshes. Counters are exported as true counters: 32-bit wraps are folded into an
accumulator so the exported value only goes down after the device restarts.

What real agents get wrong is handled here, by the MIB's rules rather than per device: a value
outside the range its profile declares (the object's SYNTAX) is dropped and counted; a value
of the wrong kind (an OCTET STRING where a number belongs) is reported as malformed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Final, Literal

from probes.base import Family, Samples
from probes.snmp.codec import OID, Tag, VarBind
from probes.snmp.rows import (
    ColumnValues,
    Index,
    IndexPart,
    LabelColumn,
    Labels,
    decode_index,
)
from probes.snmp.state import CounterRow, DeviceState

__all__ = [
    "BitsMapper",
    "Columns",
    "CounterMapper",
    "GaugeMapper",
    "Group",
    "HighCapacityGaugeMapper",
    "InfoMapper",
    "MapContext",
    "Mapper",
    "StateSetMapper",
    "ValueCheck",
    "ValueDecode",
    "decode_value",
]

_U32: Final = 1 << 32
#: The largest Gauge32: where RFC 2863's ifSpeed saturates.
_GAUGE32_MAX: Final = _U32 - 1
_COUNTER32: Final = int(Tag.COUNTER32)
#: The rows of a group not refreshed yet: looked up, never written.
_NO_ROWS: Final[dict[Index, Labels]] = {}


class Columns:
    """The samples of one poll as the mappers make them, a column each (no sample of a profile
    has a suffix): read as ``Samples`` when the poll is done, with no ``Sample`` made between.
    A table of 200 interfaces brings some 3,400 samples a poll."""

    __slots__ = ("families", "labels", "values")

    def __init__(self) -> None:
        self.families: list[Family] = []
        self.values: list[float] = []
        self.labels: list[Labels] = []

    def add(self, family: Family, value: float, labels: Labels = ()) -> None:
        self.families.append(family)
        self.values.append(value)
        self.labels.append(labels)

    def samples(self) -> Samples:
        """What the mappers wrote, as a result keeps it."""
        return Samples.of_columns(self.families, self.values, self.labels)


ValueDecode = Literal["float32le", "float32be", "number"]

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
# Mappers


class MapContext:
    """What the mappers of one poll share: the fetched columns, the device's memory, and the
    parts that received values of the wrong kind."""

    __slots__ = ("cols", "generation", "malformed", "state")

    def __init__(self, cols: dict[OID, ColumnValues], state: DeviceState) -> None:
        self.cols = cols
        self.state = state
        self.generation = state.generation
        self.malformed: set[str] = set()

    def label_cache(
        self, group: Group, mapper: Mapper, slot: int
    ) -> tuple[dict[Index, Labels], bool]:
        """Where the label tuples of ``mapper``'s rows are looked up, and whether one made
        on a miss is kept there: a mapper with no labels of its own reads the group's rows
        themselves (their tuples are its labels) and keeps nothing; others their slot's
        cache."""
        if not mapper.labels and not mapper.const:
            return self.state.rows.get(group.name, _NO_ROWS), False
        return self.cache(slot), True

    def cache(self, slot: int) -> dict[Index, Any]:
        """The label cache of mapper ``slot``, made when it first emits."""
        caches = self.state.label_cache
        cache = caches.get(slot)
        if cache is None:
            cache = caches[slot] = {}
        return cache

    def row(self, index: Index) -> Index:
        """The device's one object for row ``index`` (``DeviceState.indexes``), to keep
        something by: the poll's own index objects go with the poll."""
        return self.state.indexes.get(index, index)

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

    def emit(self, ctx: MapContext, group: Group, slot: int, out: Columns) -> None:
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

    def emit(self, ctx: MapContext, group: Group, slot: int, out: Columns) -> None:
        cache, keep = ctx.label_cache(group, self, slot)
        family, scale, decode, value_map = self.family, self.scale, self.decode, self.value_map
        divisor = self.divisor
        cols = ctx.cols
        factor = cols.get(self.multiply_by) if self.multiply_by is not None else None
        exponents = cols.get(self.scale_column) if self.scale_column is not None else None
        precisions = cols.get(self.precision_column) if self.precision_column is not None else None
        derived = self.multiply_by is not None or self.scale_column is not None
        check = self.check
        add_family, add_value, add_labels = (
            out.families.append,
            out.values.append,
            out.labels.append,
        )
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
                labels = ctx.labels_for(group, self, index)
                if keep:
                    cache[ctx.row(index)] = labels
            add_family(family)
            add_value(value / divisor if divisor != 1 else value * scale)
            add_labels(labels)


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

    def emit(self, ctx: MapContext, group: Group, slot: int, out: Columns) -> None:
        cache, keep = ctx.label_cache(group, self, slot)
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
                labels = ctx.labels_for(group, self, index)
                if keep:
                    cache[ctx.row(index)] = labels
            number = value / self.divisor if self.divisor != 1 else value * self.scale
            out.add(self.family, number, labels)

    def _number(self, ctx: MapContext, vb: VarBind | None) -> int | None:
        if vb is None:
            return None
        if vb.value.__class__ is not int:
            ctx.malformed.add(self.part)
            return None
        return vb.value


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

    def emit(self, ctx: MapContext, group: Group, slot: int, out: Columns) -> None:
        cache, keep = ctx.label_cache(group, self, slot)
        rows = ctx.state.counters.get(slot)
        if rows is None:
            rows = ctx.state.counters[slot] = {}
        family, scale, divisor, generation = self.family, self.scale, self.divisor, ctx.generation
        cols = ctx.cols
        primary: ColumnValues = cols.get(self.column, {}) if self.column is not None else {}
        sources: list[tuple[Iterable[tuple[Index, VarBind]], bool]] = [(primary.items(), True)]
        backup = cols.get(self.fallback) if self.fallback is not None else None
        if backup and not backup.keys() <= primary.keys():
            sources.append((((i, vb) for i, vb in backup.items() if i not in primary), False))
        add_family, add_value, add_labels = (
            out.families.append,
            out.values.append,
            out.labels.append,
        )
        for items, from_primary in sources:
            for index, vb in items:
                raw = vb.value
                if raw.__class__ is not int:
                    ctx.malformed.add(self.part)
                    continue
                row = rows.get(index)
                if row is None:
                    row = rows[ctx.row(index)] = CounterRow(raw, from_primary, generation)
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
                    labels = ctx.labels_for(group, self, index)
                    if keep:
                        cache[ctx.row(index)] = labels
                total: float = row.total
                if divisor != 1:
                    total = total / divisor
                elif scale != 1:
                    total = total * scale
                add_family(family)
                add_value(total)
                add_labels(labels)


@dataclass(eq=False, slots=True, kw_only=True)
class StateSetMapper(Mapper):
    """An enumerated value as one series per named state: 1 for the current one, 0 for the
    others (all 0 for a value the profile does not name)."""

    states: Mapping[int, str]
    label: str = "state"
    #: Each state's label pair, made once and shared by every row's label tuples.
    _pairs: dict[int, tuple[str, str]] = field(init=False, repr=False, compare=False)
    #: Per named value, the value of each state's series (1 for that state, 0 for the others).
    _flags: dict[int, tuple[int, ...]] = field(init=False, repr=False, compare=False)
    #: The values of a value the profile does not name: all 0.
    _unnamed: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._pairs = {code: (self.label, name) for code, name in self.states.items()}
        self._flags = {
            value: tuple(1 if code == value else 0 for code in self.states) for value in self.states
        }
        self._unnamed = (0,) * len(self.states)

    def emit(self, ctx: MapContext, group: Group, slot: int, out: Columns) -> None:
        # Each row keeps its label tuples, one per state in the order of ``states``, made at
        # its first value after a label refresh: poll after poll its samples carry the very
        # same tuples, which is what lets a result share its last one's series.
        cache: dict[Index, tuple[Labels, ...]] = ctx.cache(slot)
        flags, unnamed = self._flags, self._unnamed
        family, size = self.family, len(self._pairs)
        families, values, labels = out.families.extend, out.values.extend, out.labels.extend
        for index, vb in self.values(ctx.cols):
            value = vb.value
            if value.__class__ is not int:
                ctx.malformed.add(self.part)
                continue
            series = cache.get(index)
            if series is None:
                base = ctx.labels_for(group, self, index)
                series = cache[ctx.row(index)] = tuple(
                    (*base, pair) for pair in self._pairs.values()
                )
            families(repeat(family, size))
            values(flags.get(value, unnamed))
            labels(series)


@dataclass(eq=False, slots=True, kw_only=True)
class BitsMapper(Mapper):
    """A bitmap as one 0/1 series per named bit.

    In an INTEGER bitmap (dsx1LineStatus) bit n is worth 2^n; in an SMI BITS value (an OCTET
    STRING) bit n counts from the most significant bit of the first octet (RFC 2578 §7.1.4).
    """

    bits: Mapping[int, str]
    label: str = "bit"

    def emit(self, ctx: MapContext, group: Group, slot: int, out: Columns) -> None:
        cache = ctx.cache(slot)
        family = self.family
        add = out.add
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
                series = cache[ctx.row(index)] = tuple(
                    (bit, (*base, (self.label, name))) for bit, name in self.bits.items()
                )
            for bit, labels in series:
                add(family, mask >> bit & 1, labels)


@dataclass(eq=False, slots=True, kw_only=True)
class InfoMapper(Mapper):
    """Descriptive text as the labels of a series whose value is 1, one per known row that
    has at least one of the texts."""

    def emit(self, ctx: MapContext, group: Group, slot: int, out: Columns) -> None:
        cache = ctx.cache(slot)
        family = self.family
        values = ctx.state.label_values
        for index in ctx.state.rows.get(group.name, {}):
            labels = cache.get(index)
            if labels is None:
                if not any(index in values.get(lc.column, {}) for lc in self.labels):
                    continue
                labels = cache[ctx.row(index)] = ctx.labels_for(group, self, index)
            out.add(family, 1, labels)


# ---------------------------------------------------------------------------------------------
# Groups


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

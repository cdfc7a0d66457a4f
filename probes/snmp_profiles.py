"""SNMP profiles: the YAML files that say which OIDs a device is polled for and how each
becomes a metric, validated with file:line errors and compiled once into poll plans.

A profile lives in ``probes/profiles/NAME.yaml`` (or a folder named by a probe's
``profile_dirs``, searched first). Its shape, in the spirit of snmp_exporter's modules::

    description: Interfaces of IF-MIB (ifTable + ifXTable).
    include: [system]
    scalars:
      - name: ups_battery_charge_ratio        # exported as trunkwatch_ups_battery_charge_ratio
        oid: 1.3.6.1.2.1.33.1.2.4.0           # or UPS-MIB::upsEstimatedChargeRemaining.0
        type: gauge                           # gauge | counter | stateset | enum | info
        unit: ratio                           # the name must then end in _ratio
        scale: 0.01                           # percent → ratio
        help: Battery charge remaining.
    tables:
      - name: interfaces
        index: [{label: index, type: integer}]
        labels:                               # label columns, re-read every label_refresh
          name: 1.3.6.1.2.1.31.1.1.1.1        # ifName, joined on the same index
          alias: {oid: 1.3.6.1.2.1.31.1.1.1.18, decode: utf8}
        metrics:
          - name: if_receive_bytes            # a counter: exported with _total
            oid: 1.3.6.1.2.1.31.1.1.1.6       # ifHCInOctets …
            fallback: 1.3.6.1.2.1.2.2.1.10    # … or ifInOctets where the agent lacks it
            type: counter
            unit: bytes
            help: Octets received.
          - name: if_oper_status
            oid: 1.3.6.1.2.1.2.2.1.8
            type: stateset                    # one 0/1 series per state, label "state"
            enum: {1: up, 2: down, 3: testing, 4: unknown, 5: dormant, 6: not_present,
                   7: lower_layer_down}
            help: Operational status.

Per metric also: ``range`` (``[low, high]``, the raw values the object's SYNTAX allows, either
end ``null`` for open) and ``invalid`` (values the device uses for "no reading"): other values
are dropped and counted, never exported; ``high_capacity`` (``{oid, factor}``: a saturating
Gauge32 read with its high-capacity twin, ifSpeed with ifHighSpeed, as RFC 2863 says);
``bits`` (a bitmap → one 0/1 series per named bit), ``decode`` (float32le,
float32be, number), ``map`` (raw value → number, e.g. ``{1: 1, 2: 0}``), ``multiply_by`` (a
column of the same row), ``sensor_scale`` (ENTITY-SENSOR-MIB scale and precision columns),
``labels`` (label columns of this metric), ``const_labels``, ``state_label`` and
``optional`` (no partial-failure report when the agent lacks it). Tables also take ``walk``:
subtrees (such as a whole table entry) walked instead of each column. Symbolic names are
resolved through ``probes.mibs`` when the profile is loaded.

A profile may also map the notifications its devices send (read by ``monitor.traps``)::

    traps:
      - name: linkDown                        # the trap label; MIB names read best
        oid: 1.3.6.1.6.3.1.1.5.3              # snmpTrapOID.0 (v1 traps are converted first)
        raises: link_down                     # an alarm, active until cleared or hold ends
        severity: warning                     # critical | warning | info
        instance: 1.3.6.1.2.1.2.2.1.1         # ifIndex.N in the varbinds → label index="N"
        hold: 15m                             # optional; the receiver's default otherwise
      - name: linkUp
        oid: 1.3.6.1.6.3.1.1.5.4
        clears: link_down                     # one alarm or a list
        instance: 1.3.6.1.2.1.2.2.1.1

``instance`` takes ``{oid: …, label: line}`` to name the label after the table it indexes
(``index`` by default): the alarm's instance is the index part of the first varbind under that
OID, or the varbind's value when it has no index part. A trap that carries its state in one
varbind (dsx1LineStatusChange) raises and clears with one mapping: ``clear_when: {oid: …,
values: [1]}`` clears instead of raising when that varbind holds one of the values. A trap
with neither ``raises`` nor ``clears`` is only named.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BeforeValidator, Field, ValidationError

from monitor.core.durations import parse_duration
from monitor.core.sources import (
    ConfigError,
    Problem,
    SourceMap,
    Strict,
    load_yaml,
    pydantic_problems,
)
from probes.base import Family
from probes.mibs import MibError, MibResolver
from probes.snmp_poll import (
    BitsMapper,
    CounterMapper,
    GaugeMapper,
    Group,
    HighCapacityGaugeMapper,
    IndexKind,
    IndexPart,
    InfoMapper,
    LabelColumn,
    LabelDecode,
    Mapper,
    PollPlan,
    StateSetMapper,
    ValueCheck,
    ValueDecode,
)
from probes.snmpcodec import OID, CodecError, parse_oid

__all__ = [
    "BUILTIN_PROFILE_DIR",
    "SEVERITIES",
    "UNITS",
    "Profile",
    "ProfileConflict",
    "ProfileLibrary",
    "TrapRule",
    "UnknownProfile",
    "library",
    "load_profile",
]

BUILTIN_PROFILE_DIR: Final = Path(__file__).resolve().parent / "profiles"

#: Base units a metric name may end in (``unit:`` checks it does).
UNITS: Final = (
    "seconds",
    "bytes",
    "bytes_per_second",
    "watts",
    "celsius",
    "ratio",
    "dbm",
    "db",
    "volts",
    "amperes",
    "hertz",
    "rpm",
    "erlangs",
)
#: Name endings that are not base units, and what to write instead.
_NOT_BASE: Final = {
    "percent": "_ratio with scale: 0.01",
    "pct": "_ratio with scale: 0.01",
    "milliseconds": "_seconds with scale: 0.001",
    "centiseconds": "_seconds with scale: 0.01",
    "ticks": "_seconds with scale: 0.01",
    "minutes": "_seconds with scale: 60",
    "hours": "_seconds with scale: 3600",
    "days": "_seconds with scale: 86400",
    "kilobytes": "_bytes with scale: 1024",
    "megabytes": "_bytes with scale: 1048576",
    "octets": "_bytes",
    "bps": "_bytes_per_second with scale: 0.125",
    "kbps": "_bytes_per_second with scale: 125",
    "mbps": "_bytes_per_second with scale: 125000",
    "milliwatts": "_watts with scale: 0.001",
    "millivolts": "_volts with scale: 0.001",
    "milliamperes": "_amperes with scale: 0.001",
    "fahrenheit": "_celsius",
}
#: Labels the exporter sets on every series, or Prometheus on every target.
_RESERVED_LABELS: Final = frozenset(
    {"site", "asset", "system", "kind", "probe", "job", "instance", "le", "quantile"}
)
#: Severities a trap's alarm can carry: the values Alertmanager routes on.
SEVERITIES: Final = ("critical", "warning", "info")
#: Labels the trap receiver sets on an alarm series itself.
_ALARM_LABELS: Final = frozenset({"alarm", "severity", "trap"})

_NUMERIC_OID = r"\.?[0-2](?:\.\d+)+"
_SYMBOLIC_OID = r"[A-Za-z][A-Za-z0-9-]*::[A-Za-z][A-Za-z0-9-]*(?:\.\d+)*"
OidText = Annotated[
    str,
    BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v),
    Field(pattern=rf"^(?:{_NUMERIC_OID}|{_SYMBOLIC_OID})$"),
]
MetricName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=120)]
LabelName = Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$", max_length=60)]
ProfileName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
StateName = Annotated[str, Field(min_length=1, max_length=60)]


def _label_shorthand(value: Any) -> Any:
    """``name: 1.3.6…`` is short for ``name: {oid: 1.3.6…}``."""
    return {"oid": value} if isinstance(value, str) else value


class LabelSpec(Strict):
    oid: OidText
    decode: LabelDecode | None = None
    enum: dict[int, StateName] | None = None


LabelMap = dict[LabelName, Annotated[LabelSpec, BeforeValidator(_label_shorthand)]]


class IndexSpec(Strict):
    label: LabelName
    type: IndexKind = "integer"
    length: int | None = Field(None, ge=1, le=128)
    enum: dict[int, StateName] | None = None


class SensorScaleSpec(Strict):
    scale: OidText
    precision: OidText | None = None


class HighCapacitySpec(Strict):
    oid: OidText
    factor: int = Field(ge=2)


MetricType = Literal["gauge", "counter", "stateset", "enum", "info"]


class MetricSpec(Strict):
    name: MetricName
    help: str = Field(min_length=1)
    type: MetricType = "gauge"
    oid: OidText | None = None
    fallback: OidText | None = None
    unit: str | None = None
    scale: float = 1.0
    decode: ValueDecode | None = None
    enum: dict[int, StateName] | None = None
    bits: dict[Annotated[int, Field(ge=0, le=1023)], StateName] | None = None
    map: dict[int, float] | None = None
    multiply_by: OidText | None = None
    sensor_scale: SensorScaleSpec | None = None
    high_capacity: HighCapacitySpec | None = None
    range: tuple[float | None, float | None] | None = None
    invalid: list[float] = Field(default_factory=list)
    labels: LabelMap = Field(default_factory=dict)
    const_labels: dict[LabelName, str] = Field(default_factory=dict)
    state_label: LabelName | None = None
    optional: bool = False


class TableSpec(Strict):
    name: MetricName
    description: str | None = None
    index: list[IndexSpec] = Field(default_factory=lambda: [IndexSpec(label="index")])
    labels: LabelMap = Field(default_factory=dict)
    walk: list[OidText] = Field(default_factory=list)
    metrics: list[MetricSpec] = Field(min_length=1)


def _one_or_more(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


TrapName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$", max_length=80)]
AlarmName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
Severity = Literal["critical", "warning", "info"]


class TrapInstanceSpec(Strict):
    oid: OidText
    label: LabelName = "index"


class TrapClearWhenSpec(Strict):
    oid: OidText
    values: list[int] = Field(min_length=1)


class TrapSpec(Strict):
    name: TrapName
    oid: OidText
    help: str | None = None
    raises: AlarmName | None = None
    severity: Severity | None = None
    clears: Annotated[list[AlarmName], BeforeValidator(_one_or_more)] = Field(default_factory=list)
    instance: Annotated[TrapInstanceSpec, BeforeValidator(_label_shorthand)] | None = None
    clear_when: TrapClearWhenSpec | None = None
    hold: Annotated[float, BeforeValidator(parse_duration)] | None = None


class ProfileSpec(Strict):
    description: str = Field(min_length=1)
    include: list[ProfileName] = Field(default_factory=list)
    scalars: list[MetricSpec] = Field(default_factory=list)
    tables: list[TableSpec] = Field(default_factory=list)
    traps: list[TrapSpec] = Field(default_factory=list)


#: Which optional keys each metric type accepts (beyond name, help, type, labels,
#: const_labels, optional).
_ALLOWED: Final[dict[str, frozenset[str]]] = {
    "gauge": frozenset(
        {"oid", "fallback", "unit", "scale", "decode", "bits", "map", "multiply_by",
         "sensor_scale", "state_label", "high_capacity", "range", "invalid"}
    ),
    "counter": frozenset({"oid", "fallback", "unit", "scale"}),
    "stateset": frozenset({"oid", "fallback", "enum", "state_label"}),
    "enum": frozenset({"oid", "fallback", "enum", "state_label"}),
    "info": frozenset(),
}  # fmt: skip
_ALWAYS: Final = frozenset({"name", "help", "type", "labels", "const_labels", "optional"})

Path_ = tuple[str | int, ...]


# ---------------------------------------------------------------------------------------------
# Checks beyond the shape


def _metric_problems(
    m: MetricSpec, where: Path_, row_labels: Sequence[str]
) -> Iterator[tuple[Path_, str]]:
    for key in sorted(m.model_fields_set - _ALWAYS - _ALLOWED[m.type]):
        yield (*where, key), f"not used by a {m.type} metric"
    name = m.name
    if name.startswith("trunkwatch_"):
        yield (*where, "name"), "leave out the trunkwatch_ prefix: it is added"
    if m.type == "counter":
        if name.endswith("_total"):
            yield (*where, "name"), "leave out _total: counters get it"
    elif name.endswith("_total"):
        yield (*where, "name"), "only counters end in _total"
    if m.type == "info" and not name.endswith("_info"):
        yield (*where, "name"), "an info metric's name ends in _info"
    if m.type != "info" and name.endswith("_info"):
        yield (*where, "name"), "only info metrics end in _info"
    for suffix, instead in _NOT_BASE.items():
        if name.endswith(f"_{suffix}"):
            yield (*where, "name"), f"_{suffix} is not a base unit: use {instead}"
    if m.unit is not None:
        if m.unit not in UNITS:
            yield (*where, "unit"), f"unknown unit {m.unit!r} (known: {', '.join(UNITS)})"
        elif not name.endswith(f"_{m.unit}"):
            yield (*where, "name"), f"a metric in {m.unit} must end in _{m.unit}"
    if m.type != "info" and m.oid is None:
        yield (*where, "oid"), f"a {m.type} metric needs an oid"
    if m.type in ("stateset", "enum") and not m.enum:
        yield (*where, "enum"), f"a {m.type} metric needs the enum names of its states"
    if m.type == "info" and not m.labels:
        yield (*where, "labels"), "an info metric needs label columns to carry its text"
    if m.bits is not None:
        for key in ("scale", "decode", "map", "multiply_by", "sensor_scale", "unit", "range",
                    "invalid", "high_capacity"):  # fmt: skip
            if key in m.model_fields_set:
                yield (*where, key), "not used with bits"
    if m.multiply_by is not None and m.sensor_scale is not None:
        yield (*where, "sensor_scale"), "use either multiply_by or sensor_scale"
    if m.high_capacity is not None:
        for key in ("fallback", "decode", "map", "multiply_by", "sensor_scale", "range",
                    "invalid"):  # fmt: skip
            if key in m.model_fields_set:
                yield (*where, key), "not used with high_capacity"
    if m.range is not None:
        low, high = m.range
        if low is not None and high is not None and low > high:
            yield (*where, "range"), "expected [low, high] with low <= high"
    if m.state_label is not None and m.type == "gauge" and m.bits is None:
        yield (*where, "state_label"), "only stateset, enum and bits metrics have states"
    if m.scale == 0:
        yield (*where, "scale"), "must not be 0"
    # The labels of one series must be distinct, and leave the exporter's own alone (the
    # table's own labels are checked with the table).
    names: list[tuple[Path_, str]] = [((*where, "labels", label), label) for label in m.labels]
    names += [((*where, "const_labels", label), label) for label in m.const_labels]
    if m.type in ("stateset", "enum") or m.bits is not None:
        state = m.state_label or ("bit" if m.bits is not None else "state")
        names.append(((*where, "state_label"), state))
    yield from _label_problems(names, set(row_labels))


def _label_problems(
    names: Sequence[tuple[Path_, str]], taken: set[str]
) -> Iterator[tuple[Path_, str]]:
    seen = set(taken)
    for path, label in names:
        if label in _RESERVED_LABELS or label.startswith("__"):
            yield path, f"label {label!r} is reserved (the exporter or Prometheus sets it)"
        elif label in seen:
            yield path, f"label {label!r} appears twice in the series"
        seen.add(label)


def _spec_problems(spec: ProfileSpec) -> Iterator[tuple[Path_, str]]:
    types: dict[str, tuple[str, Path_]] = {}
    series: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()

    def metric(
        m: MetricSpec, where: Path_, group: str, row_labels: Sequence[str]
    ) -> Iterator[tuple[Path_, str]]:
        yield from _metric_problems(m, where, row_labels)
        first = types.setdefault(m.name, (m.type, where))
        if first[0] != m.type:
            yield (*where, "type"), f"{m.name} is a {first[0]} elsewhere in this profile"
        key = (group, m.name, tuple(sorted(m.const_labels.items())))
        if key in series:
            yield (*where, "name"), f"{m.name} appears twice with the same labels"
        series.add(key)

    for i, m in enumerate(spec.scalars):
        yield from metric(m, ("scalars", i), "", ())
    tables: set[str] = set()
    for t, table in enumerate(spec.tables):
        where: Path_ = ("tables", t)
        if table.name in tables:
            yield (*where, "name"), f"duplicate table name {table.name!r}"
        tables.add(table.name)
        row_labels = [part.label for part in table.index] + list(table.labels)
        yield from _label_problems(
            [((*where, "index", p, "label"), part.label) for p, part in enumerate(table.index)]
            + [((*where, "labels", label), label) for label in table.labels],
            set(),
        )
        for p, part in enumerate(table.index):
            if part.type == "fixed_string" and part.length is None:
                yield (*where, "index", p, "length"), "a fixed_string index needs its length"
            if part.type in ("implied_string", "oid") and p != len(table.index) - 1:
                yield (*where, "index", p, "type"), f"{part.type} can only be the last index part"
            if part.enum is not None and part.type != "integer":
                yield (*where, "index", p, "enum"), "only an integer index part has enum names"
        for i, m in enumerate(table.metrics):
            yield from metric(m, (*where, "metrics", i), table.name, row_labels)
    yield from _trap_problems(spec.traps)


def _trap_problems(traps: Sequence[TrapSpec]) -> Iterator[tuple[Path_, str]]:
    names: set[str] = set()
    oids: set[str] = set()
    raised: dict[str, str] = {}  # alarm → its instance label
    for i, trap in enumerate(traps):
        where: Path_ = ("traps", i)
        if trap.name in names:
            yield (*where, "name"), f"duplicate trap name {trap.name!r}"
        names.add(trap.name)
        oid = trap.oid.removeprefix(".")
        if oid in oids:
            yield (*where, "oid"), f"trap {oid} is mapped twice in this profile"
        oids.add(oid)
        if trap.raises is None:
            for key in ("severity", "hold", "clear_when"):
                if key in trap.model_fields_set:
                    yield (*where, key), "only used by a trap that raises an alarm"
            if trap.instance is not None and not trap.clears:
                yield (*where, "instance"), "only used by a trap that raises or clears an alarm"
        else:
            if trap.severity is None:
                yield (*where, "severity"), f"an alarm needs a severity ({', '.join(SEVERITIES)})"
            if trap.raises in trap.clears:
                yield (*where, "clears"), f"a trap cannot both raise and clear {trap.raises}"
            label = trap.instance.label if trap.instance is not None else ""
            first = raised.setdefault(trap.raises, label)
            if first != label:
                yield (
                    (*where, "instance"),
                    f"{trap.raises} is keyed by {first or 'no instance'} elsewhere in this profile",
                )
        if trap.instance is not None:
            label = trap.instance.label
            if label in _RESERVED_LABELS or label in _ALARM_LABELS or label.startswith("__"):
                yield (*where, "instance", "label"), f"label {label!r} is reserved"
    for i, trap in enumerate(traps):
        for alarm in trap.clears:
            if alarm not in raised:
                yield ("traps", i, "clears"), f"no trap in this profile raises {alarm}"


def _item_problems(document: Mapping[str, Any]) -> Iterator[tuple[Path_, str]]:
    """The checks of every metric that is well-formed on its own, for a document whose
    shape is wrong elsewhere: all problems are reported in one go."""

    def parsed(item: Any) -> MetricSpec | None:
        try:
            return MetricSpec.model_validate(item)
        except ValidationError:
            return None

    scalars = document.get("scalars")
    for i, item in enumerate(scalars if isinstance(scalars, list) else []):
        if (m := parsed(item)) is not None:
            yield from _metric_problems(m, ("scalars", i), ())
    tables = document.get("tables")
    for t, table in enumerate(tables if isinstance(tables, list) else []):
        if not isinstance(table, dict):
            continue
        index = table.get("index", [{"label": "index"}])
        labels = table.get("labels")
        row_labels = [
            str(part.get("label"))
            for part in (index if isinstance(index, list) else [])
            if isinstance(part, dict)
        ] + [str(label) for label in (labels if isinstance(labels, dict) else {})]
        metrics = table.get("metrics")
        for i, item in enumerate(metrics if isinstance(metrics, list) else []):
            if (m := parsed(item)) is not None:
                yield from _metric_problems(m, ("tables", t, "metrics", i), row_labels)


def _oid_fields(spec: ProfileSpec) -> Iterator[tuple[Path_, str]]:
    """Every OID written in the profile, with where it was written."""

    def labels(items: Mapping[str, LabelSpec], where: Path_) -> Iterator[tuple[Path_, str]]:
        for label, lspec in items.items():
            yield (*where, label, "oid"), lspec.oid

    def metric(m: MetricSpec, where: Path_) -> Iterator[tuple[Path_, str]]:
        for key in ("oid", "fallback", "multiply_by"):
            text = getattr(m, key)
            if text is not None:
                yield (*where, key), text
        if m.sensor_scale is not None:
            yield (*where, "sensor_scale", "scale"), m.sensor_scale.scale
            if m.sensor_scale.precision is not None:
                yield (*where, "sensor_scale", "precision"), m.sensor_scale.precision
        if m.high_capacity is not None:
            yield (*where, "high_capacity", "oid"), m.high_capacity.oid
        yield from labels(m.labels, (*where, "labels"))

    for i, m in enumerate(spec.scalars):
        yield from metric(m, ("scalars", i))
    for t, table in enumerate(spec.tables):
        yield from labels(table.labels, ("tables", t, "labels"))
        for w, text in enumerate(table.walk):
            yield ("tables", t, "walk", w), text
        for i, m in enumerate(table.metrics):
            yield from metric(m, ("tables", t, "metrics", i))
    for i, trap in enumerate(spec.traps):
        yield ("traps", i, "oid"), trap.oid
        if trap.instance is not None:
            yield ("traps", i, "instance", "oid"), trap.instance.oid
        if trap.clear_when is not None:
            yield ("traps", i, "clear_when", "oid"), trap.clear_when.oid


_OID_FIELDS = frozenset({"oid", "fallback", "multiply_by", "scale", "precision"})


def _profile_reason(err: dict[str, Any], loc: list[str | int]) -> str | None:
    """Pattern mismatches worded for a profile's author rather than as a regular expression."""
    if err["type"] != "string_pattern_mismatch":
        return None
    if loc and loc[-1] in _OID_FIELDS:
        return "expected a numeric OID (1.3.6.1…) or MODULE::object"
    if loc[:1] == ["traps"] and loc[-1] == "name":
        return "expected a trap name such as linkDown (letters, digits, _ and -)"
    return "expected lower_case_with_underscores"


def _pydantic_problems(exc: ValidationError, smap: SourceMap) -> Iterator[Problem]:
    return pydantic_problems(exc, smap, reason_for=_profile_reason)


# ---------------------------------------------------------------------------------------------
# Compiled profiles


@dataclass(frozen=True, slots=True)
class TrapRule:
    """One mapped notification, resolved: what the trap receiver does when it arrives.

    ``instance`` is the varbind OID (without its index) whose index part keys the alarm,
    exported under ``instance_label``; ``clear_when`` turns a raising trap into a clearing one
    when that varbind's value is in the set. ``hold`` None means the receiver's default.
    """

    name: str
    oid: OID
    profile: str
    help: str = ""
    raises: str | None = None
    severity: str | None = None
    clears: tuple[str, ...] = ()
    instance: OID | None = None
    instance_label: str = "index"
    clear_when: tuple[OID, frozenset[int]] | None = None
    hold: float | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """A validated, resolved profile: its groups are ready to poll, its traps to map."""

    name: str
    description: str
    includes: tuple[str, ...]
    groups: tuple[Group, ...]
    path: Path
    traps: tuple[TrapRule, ...] = ()

    @property
    def families(self) -> tuple[Family, ...]:
        seen: dict[str, Family] = {}
        for group in self.groups:
            for mapper in group.mappers:
                seen.setdefault(mapper.family.name, mapper.family)
        return tuple(seen.values())


def _number(value: float) -> float:
    """A whole number as an int, so integer values stay exact integers."""
    return int(value) if float(value).is_integer() else value


def _scaling(scale: float) -> dict[str, Any]:
    """``scale`` as a multiplier, or as a whole divisor when it is one's reciprocal (0.1 →
    ÷ 10), which keeps decimal results exact."""
    if 0 < abs(scale) < 1:
        inverse = 1 / scale
        if abs(inverse - round(inverse)) < 1e-9:
            return {"scale": 1, "divisor": round(inverse)}
    return {"scale": _number(scale)}


def _compile(name: str, spec: ProfileSpec, oids: Mapping[str, OID], path: Path) -> Profile:
    families: dict[str, Family] = {}

    def family(m: MetricSpec) -> Family:
        full = f"trunkwatch_{m.name}" + ("_total" if m.type == "counter" else "")
        found = families.get(full)
        if found is None:
            found = families[full] = Family(
                full, "counter" if m.type == "counter" else "gauge", " ".join(m.help.split())
            )
        return found

    def label_columns(items: Mapping[str, LabelSpec]) -> tuple[LabelColumn, ...]:
        return tuple(
            LabelColumn(label, oids[spec_.oid], spec_.decode, spec_.enum)
            for label, spec_ in items.items()
        )

    def mapper(m: MetricSpec, part: str) -> Mapper:
        common: dict[str, Any] = {
            "family": family(m),
            "part": part,
            "fallback": oids[m.fallback] if m.fallback else None,
            "labels": label_columns(m.labels),
            "const": tuple(m.const_labels.items()),
            "optional": m.optional,
        }
        column = oids[m.oid] if m.oid else None
        if m.type == "info":
            return InfoMapper(column=None, **common)
        assert column is not None
        if m.type == "counter":
            return CounterMapper(column=column, **_scaling(m.scale), **common)
        if m.type in ("stateset", "enum"):
            assert m.enum is not None
            return StateSetMapper(
                column=column, states=dict(m.enum), label=m.state_label or "state", **common
            )
        if m.bits is not None:
            return BitsMapper(
                column=column, bits=dict(m.bits), label=m.state_label or "bit", **common
            )
        if m.high_capacity is not None:
            return HighCapacityGaugeMapper(
                column=column,
                high_capacity=oids[m.high_capacity.oid],
                factor=m.high_capacity.factor,
                **_scaling(m.scale),
                **common,
            )
        sensor = m.sensor_scale
        check = None
        if m.range is not None or m.invalid:
            low, high = m.range or (None, None)
            check = ValueCheck(low, high, frozenset(m.invalid))
        return GaugeMapper(
            column=column,
            check=check,
            **_scaling(m.scale),
            decode=m.decode,
            multiply_by=oids[m.multiply_by] if m.multiply_by else None,
            scale_column=oids[sensor.scale] if sensor else None,
            precision_column=oids[sensor.precision] if sensor and sensor.precision else None,
            value_map={k: _number(v) for k, v in m.map.items()} if m.map is not None else None,
            **common,
        )

    groups: list[Group] = []
    if spec.scalars:
        groups.append(
            Group(
                name=f"{name}.scalars",
                profile=name,
                scalar=True,
                mappers=tuple(mapper(m, f"{name}.{m.name}") for m in spec.scalars),
            )
        )
    for table in spec.tables:
        groups.append(
            Group(
                name=f"{name}.{table.name}",
                profile=name,
                scalar=False,
                mappers=tuple(mapper(m, f"{name}.{table.name}.{m.name}") for m in table.metrics),
                index=tuple(IndexPart(p.label, p.type, p.length or 0, p.enum) for p in table.index),
                labels=label_columns(table.labels),
                walk=tuple(oids[w] for w in table.walk),
            )
        )
    traps = tuple(
        TrapRule(
            name=t.name,
            oid=oids[t.oid],
            profile=name,
            help=" ".join((t.help or "").split()),
            raises=t.raises,
            severity=t.severity,
            clears=tuple(t.clears),
            instance=oids[t.instance.oid] if t.instance is not None else None,
            instance_label=t.instance.label if t.instance is not None else "index",
            clear_when=(
                (oids[t.clear_when.oid], frozenset(t.clear_when.values))
                if t.clear_when is not None
                else None
            ),
            hold=t.hold,
        )
        for t in spec.traps
    )
    return Profile(
        name, " ".join(spec.description.split()), tuple(spec.include), tuple(groups), path, traps
    )


def load_profile(path: Path, resolver: MibResolver | None = None) -> Profile:
    """Read, validate and compile one profile file; ConfigError lists every problem with its
    file:line. Symbolic OIDs need ``resolver``."""
    document, smap = load_yaml(path)
    if not isinstance(document, dict):
        raise ConfigError([Problem(str(path), 1, "(document)", "expected a mapping")])
    try:
        spec = ProfileSpec.model_validate(document)
    except ValidationError as exc:
        found = list(_pydantic_problems(exc, smap))
        found += [smap.problem(where, reason) for where, reason in _item_problems(document)]
        raise ConfigError(sorted(found, key=lambda p: p.line)) from None
    problems = [smap.problem(where, reason) for where, reason in _spec_problems(spec)]
    problems.sort(key=lambda p: p.line)
    oids: dict[str, OID] = {}
    for where, text in _oid_fields(spec):
        if text in oids:
            continue
        try:
            if "::" in text:
                if resolver is None:
                    raise MibError("symbolic names need MIB folders (mib_dirs)")
                oids[text] = resolver.resolve(text)
            else:
                oids[text] = parse_oid(text)
        except (MibError, CodecError) as exc:
            problems.append(smap.problem(where, str(exc)))
    if problems:
        raise ConfigError(problems)
    return _compile(path.stem, spec, oids, path)


# ---------------------------------------------------------------------------------------------
# The library of profiles a probe can name


class UnknownProfile(LookupError):
    """A probe names a profile no folder has."""


class ProfileConflict(ValueError):
    """Profiles polled together disagree on a metric's type."""


class ProfileLibrary:
    """The profiles in ``dirs`` (searched first) and the built-in ones.

    Loaded profiles and plans are cached and reused while their files are unchanged, so the
    thousands of probes naming ``if_mib`` share one compiled profile and one plan.
    """

    def __init__(
        self,
        dirs: Iterable[str | Path] = (),
        mib_dirs: Iterable[str | Path] = (),
        *,
        mib_cache: Path | None = None,
    ) -> None:
        self.dirs: tuple[Path, ...] = (*(Path(d).expanduser() for d in dirs), BUILTIN_PROFILE_DIR)
        self._mib_dirs = tuple(Path(d).expanduser() for d in mib_dirs)
        self._mib_cache = mib_cache
        self._resolver: MibResolver | None = None
        self._profiles: dict[Path, tuple[tuple[int, int], Profile]] = {}
        self._plans: dict[tuple[tuple[Path, int, int], ...], PollPlan] = {}

    @property
    def resolver(self) -> MibResolver:
        if self._resolver is None:
            self._resolver = MibResolver(self._mib_dirs, self._mib_cache)
        return self._resolver

    def available(self) -> list[str]:
        names: set[str] = set()
        for folder in self.dirs:
            if folder.is_dir():
                names.update(p.stem for p in folder.glob("*.yaml"))
        return sorted(names)

    def path(self, name: str) -> Path | None:
        for folder in self.dirs:
            candidate = folder / f"{name}.yaml"
            if candidate.is_file():
                return candidate
        return None

    def profile(self, name: str) -> Profile:
        """One profile, loaded (or reused while its file is unchanged)."""
        path = self.path(name) if re.fullmatch(r"[a-z][a-z0-9_]*", name) else None
        if path is None:
            raise UnknownProfile(
                f"unknown profile {name!r} (available: {', '.join(self.available())})"
            )
        info = path.stat()
        stamp = (info.st_mtime_ns, info.st_size)
        cached = self._profiles.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        profile = load_profile(path, self.resolver)
        self._profiles[path] = (stamp, profile)
        return profile

    def expand(self, names: Sequence[str], skip_included: Iterable[str] = ()) -> list[Profile]:
        """The profiles named and those they include (included first), each once; a profile
        in ``skip_included`` is left out where it is only included, not named."""
        out: dict[str, Profile] = {}
        visiting: list[str] = []
        skipped = set(skip_included).difference(names)

        def visit(name: str) -> None:
            if name in out or name in skipped:
                return
            if name in visiting:
                raise ConfigError(
                    [
                        Problem(
                            str(self.path(name)),
                            1,
                            "include",
                            f"profiles include each other: {' → '.join([*visiting, name])}",
                        )
                    ]
                )
            visiting.append(name)
            profile = self.profile(name)
            for included in profile.includes:
                try:
                    visit(included)
                except UnknownProfile as exc:
                    raise ConfigError(
                        [Problem(str(profile.path), 1, "include", str(exc))]
                    ) from None
            visiting.pop()
            out[name] = profile

        for name in names:
            visit(name)
        return list(out.values())

    def plan(self, names: Sequence[str], skip_included: Iterable[str] = ()) -> PollPlan:
        """The poll plan for these profiles (with their includes), shared while unchanged."""
        profiles = self.expand(names, skip_included)
        key = tuple(
            (p.path, *self._profiles[p.path][0]) for p in profiles if p.path in self._profiles
        )
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        kinds: dict[str, tuple[str, str]] = {}
        for profile in profiles:
            for family in profile.families:
                first = kinds.setdefault(family.name, (family.type, profile.name))
                if first[0] != family.type:
                    raise ProfileConflict(
                        f"{family.name} is a {family.type} in profile {profile.name} but a "
                        f"{first[0]} in profile {first[1]}"
                    )
        plan = PollPlan([g for p in profiles for g in p.groups])
        self._plans[key] = plan
        return plan


@functools.lru_cache(maxsize=32)
def _library(dirs: tuple[str, ...], mib_dirs: tuple[str, ...]) -> ProfileLibrary:
    return ProfileLibrary(dirs, mib_dirs)


def library(dirs: Sequence[str] = (), mib_dirs: Sequence[str] = ()) -> ProfileLibrary:
    """The process-wide library for these folders (shared by every probe naming them)."""
    return _library(tuple(dirs), tuple(mib_dirs))

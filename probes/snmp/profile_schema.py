"""The SNMP profile file format: its schema, and every check of a profile beyond its shape.

A profile is a YAML file that says which OIDs a device is polled for and how each becomes a
metric; ``probes.snmp.profiles`` loads it through ``check_profile`` and compiles it.

A profile lives in ``probes/snmp/profiles/NAME.yaml`` (or a folder named by a probe's
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
resolved through ``probes.snmp.mibs`` when the profile is loaded.

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

from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any, Final, Literal

from pydantic import BeforeValidator, Field, ValidationError

from monitor.core.durations import parse_duration
from monitor.core.sources import (
    ConfigError,
    Problem,
    SourceMap,
    Strict,
    pydantic_problems,
)
from probes.snmp.mappers import ValueDecode
from probes.snmp.rows import IndexKind, LabelDecode

__all__ = [
    "SEVERITIES",
    "UNITS",
    "LabelSpec",
    "MetricSpec",
    "ProfileSpec",
    "check_profile",
    "oid_fields",
]

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


def oid_fields(spec: ProfileSpec) -> Iterator[tuple[Path_, str]]:
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


def check_profile(
    document: Mapping[str, Any], smap: SourceMap
) -> tuple[ProfileSpec, list[Problem]]:
    """The document as a ``ProfileSpec`` and the problems found beyond its shape, by line.

    A document of the wrong shape raises ``ConfigError`` with every problem: pydantic's, and
    those of each metric that is well-formed on its own.
    """
    try:
        spec = ProfileSpec.model_validate(document)
    except ValidationError as exc:
        found = list(_pydantic_problems(exc, smap))
        found += [smap.problem(where, reason) for where, reason in _item_problems(document)]
        raise ConfigError(sorted(found, key=lambda p: p.line)) from None
    problems = [smap.problem(where, reason) for where, reason in _spec_problems(spec)]
    problems.sort(key=lambda p: p.line)
    return spec, problems

"""Every built-in profile against every recorded device of tests/corpus, served by snmpsim.

For each recording and profile the probe's samples must equal what the MIB says the
recording holds, as net-snmp reads it: ``snmpbulkwalk -On`` against the same responder is the
oracle, and the expectations below are written from the MIB definitions (units, SYNTAX ranges,
RFC 2863's rule for ifSpeed and ifHighSpeed, RFC 3433's sensor scaling, DisplayString text
read as UTF-8 or else GB18030), not from the profiles' YAML or the probe's output. A profile
whose MIB a recording lacks must fail with ``no_such_object``; one whose MIB it has must
report exactly the objects it lacks (``no_such_object``) and the values of the wrong kind
(``malformed``), and count the values outside their SYNTAX range instead of exporting them.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import pytest

from probes.base import NoSuchObject, ProbeError, Sample, Target
from probes.snmp import close_shared_sessions, create
from probes.snmp.profiles import ProfileLibrary
from tests.integration.snmpsim import SnmpsimInstance, start_snmpsim

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parents[1] / "corpus"
RECORDINGS = sorted(CORPUS.glob("*.snmprec"))
PROFILES = ProfileLibrary().available()

#: Families every SNMP poll adds on its own (sysUpTime, reboots, varbinds fetched).
POLLER_OWN = frozenset(
    {"trunkwatch_snmp_uptime_seconds", "trunkwatch_snmp_device_reboots_total"}
    | {"trunkwatch_snmp_varbinds"}
)
INVALID = "trunkwatch_snmp_invalid_values_total"
INT_MAX = 2147483647
GAUGE32_MAX = 4294967295


# ---------------------------------------------------------------------------------------------
# What net-snmp reads


@dataclass(frozen=True)
class Reading:
    """One varbind as ``snmpbulkwalk -On -Ot -Ox`` prints it."""

    type: str  # INTEGER, Gauge32, Counter32, Counter64, Timeticks, STRING, OID, IpAddress …
    value: int | bytes | str

    @property
    def number(self) -> int | None:
        """The value if it is of an integer type (they stand for each other), else None."""
        return self.value if isinstance(self.value, int) else None


Walk = dict[tuple[int, ...], Reading]

_INTEGER_TYPES = ("INTEGER", "Gauge32", "Counter32", "Counter64", "UInteger32", "Timeticks")


def parse_walk(text: str) -> Walk:
    entries: list[str] = []
    for line in text.splitlines():
        if line.startswith("."):
            entries.append(line)
        elif entries and line.strip():
            entries[-1] += " " + line.strip()  # a long Hex-STRING continues on the next lines
    out: Walk = {}
    for entry in entries:
        name, _, raw = entry.partition(" = ")
        oid = tuple(int(arc) for arc in name.strip(".").split("."))
        kind, sep, rest = raw.partition(": ")
        if raw.startswith("No "):  # No more variables left in this MIB View …
            continue
        if not sep:  # -Ot prints Timeticks as a bare number; an empty string prints ""
            if raw == '""':
                out[oid] = Reading("STRING", b"")
            else:
                out[oid] = Reading("Timeticks", int(raw))
        elif kind in _INTEGER_TYPES:
            out[oid] = Reading(kind, int(rest.split()[0]))
        elif kind in ("Hex-STRING", "STRING"):
            out[oid] = Reading("STRING", bytes.fromhex(rest) if kind == "Hex-STRING" else rest)
        else:
            out[oid] = Reading(kind, rest.strip())
    return out


def oid(text: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in text.split("."))


def column(walk: Walk, base: str) -> dict[str, Reading]:
    """A column's rows by index text (``1``, or ``1.0`` where an agent adds an arc)."""
    prefix = oid(base)
    return {
        ".".join(map(str, k[len(prefix) :])): v
        for k, v in walk.items()
        if k[: len(prefix)] == prefix and len(k) > len(prefix)
    }


def has_subtree(walk: Walk, base: str) -> bool:
    prefix = oid(base)
    return any(k[: len(prefix)] == prefix for k in walk)


def text(reading: Reading | None) -> str:
    """Label text: DisplayString octets as UTF-8 (SnmpAdminString, RFC 3411) or else GB18030,
    the device's other printable values in their dotted or decimal form; non-printable
    characters become spaces, and labels are trimmed and cut to 160 characters."""
    if reading is None:
        return ""
    value = reading.value
    if isinstance(value, int):
        out = str(value)
    elif isinstance(value, bytes):
        try:
            out = value.decode("utf-8")
        except UnicodeDecodeError:
            out = value.decode("gb18030", errors="replace")
        out = out.rstrip("\x00")
    elif reading.type == "OID":
        out = value.lstrip(".")
    else:
        out = value
    out = "".join(ch if ch.isprintable() else " " for ch in out)
    return out.strip()[:160]


# ---------------------------------------------------------------------------------------------
# What the MIBs say the recording holds


Labels = tuple[tuple[str, str], ...]


@dataclass
class Expected:
    """The samples (family, sorted labels) → value, the partial failures, and the values
    counted as invalid (object → count) of one poll."""

    samples: dict[tuple[str, Labels], float] = field(default_factory=dict)
    partial: dict[str, str] = field(default_factory=dict)
    invalid: dict[str, int] = field(default_factory=dict)

    def add(self, family: str, labels: Mapping[str, str], value: float) -> None:
        self.samples[f"trunkwatch_{family}", tuple(sorted(labels.items()))] = value


@dataclass(frozen=True)
class Metric:
    """One exported object: ``read`` turns its raw integer into the exported value per the
    MIB's UNITS; ``valid`` is its SYNTAX range (values outside are dropped and counted);
    ``states`` names an enumeration's values (one 0/1 series each). ``part`` names it in
    partial failures; an ``optional`` object may be missing without one."""

    family: str
    oid: str
    part: str
    read: Callable[[int], float] = float
    valid: tuple[float, float] | None = None
    invalid: frozenset[int] = frozenset()
    states: Mapping[int, str] | None = None
    optional: bool = False
    fallback: str | None = None  # a column read for rows lacking ``oid`` (32-bit counters)


def scaled(factor: float | Fraction) -> Callable[[int], float]:
    return lambda raw: float(Fraction(raw) * Fraction(factor))


def emit(
    expected: Expected,
    metric: Metric,
    rows: Mapping[str, Reading],
    labels: Callable[[str], dict[str, str]],
) -> None:
    """The samples of one metric from its rows; what is missing, malformed or invalid."""
    if not rows and not metric.optional:
        expected.partial[metric.part] = "no_such_object"
    if metric.valid is not None or metric.invalid:
        expected.invalid.setdefault(metric.part, 0)
    for index, reading in rows.items():
        raw = reading.number
        if raw is None:
            expected.partial[metric.part] = "malformed"
            continue
        if metric.states is not None:
            for code, state in metric.states.items():
                expected.add(metric.family, {**labels(index), "state": state}, int(raw == code))
            continue
        low, high = metric.valid or (-math.inf, math.inf)
        if not low <= raw <= high or raw in metric.invalid:
            expected.invalid[metric.part] += 1
            continue
        expected.add(metric.family, labels(index), metric.read(raw))


def scalars(expected: Expected, walk: Walk, metrics: Sequence[Metric]) -> None:
    for metric in metrics:
        reading = walk.get(oid(metric.oid))
        emit(expected, metric, {"": reading} if reading is not None else {}, lambda _: {})


def table(
    expected: Expected,
    walk: Walk,
    metrics: Sequence[Metric],
    labels: Callable[[str], dict[str, str]],
) -> None:
    for metric in metrics:
        rows = column(walk, metric.oid)
        if metric.fallback is not None:
            rows = {**column(walk, metric.fallback), **rows}
        emit(expected, metric, rows, labels)


def info(expected: Expected, family: str, walk: Walk, objects: Mapping[str, str]) -> None:
    """An info series (value 1) when the agent has any of its text objects."""
    readings = {label: walk.get(oid(o)) for label, o in objects.items()}
    if any(r is not None for r in readings.values()):
        expected.add(family, {label: text(r) for label, r in readings.items()}, 1)


# -- SNMPv2-MIB (RFC 3418) ---------------------------------------------------------------------


def system(walk: Walk) -> Expected:
    expected = Expected()
    info(
        expected,
        "snmp_system_info",
        walk,
        {
            "descr": "1.3.6.1.2.1.1.1.0",
            "object_id": "1.3.6.1.2.1.1.2.0",
            "name": "1.3.6.1.2.1.1.5.0",
            "location": "1.3.6.1.2.1.1.6.0",
        },
    )
    return expected


# -- IF-MIB (RFC 2863) -------------------------------------------------------------------------

IF, IFX = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"


def interface_speed(if_speed: int | None, if_high_speed: int | None) -> int | None:
    """RFC 2863: ifSpeed (bit/s) is the interface's speed, except where it cannot be: it
    saturates at 4,294,967,295 for faster interfaces, where ifHighSpeed (Mbit/s) holds the
    speed; 0 means no estimate. A value within half an ifHighSpeed unit of the maximum
    cannot be told from saturated, and one equal to ifHighSpeed × 10^6 modulo 2^32 is a
    speed that wrapped where it should have saturated."""
    high = if_high_speed * 1_000_000 if if_high_speed is not None else None
    speed_holds_it = (
        if_speed is not None
        and 0 < if_speed < GAUGE32_MAX - 500_000
        and not (high is not None and high > GAUGE32_MAX and if_speed == high % 2**32)
    )
    if speed_holds_it:
        return if_speed
    if high is not None and (high > 0 or if_speed is None):
        return high
    return if_speed


def if_mib(walk: Walk) -> Expected:
    expected = Expected()
    names, descrs, aliases = (
        column(walk, f"{IFX}.1"),
        column(walk, f"{IF}.2"),
        column(walk, f"{IFX}.18"),
    )

    def labels(index: str) -> dict[str, str]:
        return {
            "index": index,
            "name": text(names.get(index)),
            "descr": text(descrs.get(index)),
            "alias": text(aliases.get(index)),
        }

    part = "if_mib.interfaces."
    admin = {1: "up", 2: "down", 3: "testing"}
    oper = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "not_present"}
    oper[7] = "lower_layer_down"
    table(
        expected,
        walk,
        [
            Metric("if_admin_status", f"{IF}.7", part + "if_admin_status", states=admin),
            Metric("if_oper_status", f"{IF}.8", part + "if_oper_status", states=oper),
            # Counters start at the device's own value on the first poll.
            Metric(
                "if_receive_bytes_total", f"{IFX}.6", part + "if_receive_bytes", fallback=f"{IF}.10"
            ),
            Metric(
                "if_transmit_bytes_total",
                f"{IFX}.10",
                part + "if_transmit_bytes",
                fallback=f"{IF}.16",
            ),
            Metric("if_receive_errors_total", f"{IF}.14", part + "if_receive_errors"),
            Metric("if_transmit_errors_total", f"{IF}.20", part + "if_transmit_errors"),
            Metric("if_receive_discards_total", f"{IF}.13", part + "if_receive_discards"),
            Metric("if_transmit_discards_total", f"{IF}.19", part + "if_transmit_discards"),
        ],
        labels,
    )
    speeds, high_speeds = column(walk, f"{IF}.5"), column(walk, f"{IFX}.15")
    if not speeds and not high_speeds:
        expected.partial[part + "if_speed_bytes_per_second"] = "no_such_object"
    for index in {**speeds, **high_speeds}:
        low, high = speeds.get(index), high_speeds.get(index)
        for reading in (low, high):
            if reading is not None and reading.number is None:
                expected.partial[part + "if_speed_bytes_per_second"] = "malformed"
        bits = interface_speed(
            low.number if low is not None else None, high.number if high is not None else None
        )
        if bits is not None:
            expected.add("if_speed_bytes_per_second", labels(index), bits / 8)
    return expected


# -- HOST-RESOURCES-MIB (RFC 2790) -------------------------------------------------------------

HR = "1.3.6.1.2.1.25"
STORAGE_TYPES = {1: "other", 2: "ram", 3: "virtual_memory", 4: "fixed_disk", 5: "removable_disk"}
STORAGE_TYPES |= {6: "floppy_disk", 7: "compact_disc", 8: "ram_disk", 9: "flash_memory"}
STORAGE_TYPES |= {10: "network_disk"}
DEVICE_TYPES = {1: "other", 2: "unknown", 3: "processor", 4: "network", 5: "printer"}
DEVICE_TYPES |= {6: "disk_storage", 10: "video", 11: "audio", 12: "coprocessor", 13: "keyboard"}
DEVICE_TYPES |= {14: "modem", 15: "parallel_port", 16: "pointing", 17: "serial_port", 18: "tape"}
DEVICE_TYPES |= {19: "clock", 20: "volatile_memory", 21: "non_volatile_memory"}


def registered(reading: Reading | None, base: str, names: Mapping[int, str]) -> str:
    """An AutonomousType value (hrStorageType, hrDeviceType): the name of a type registered
    under ``base``, else the OID itself."""
    value = text(reading)
    prefix = base + "."
    if value.startswith(prefix) and value[len(prefix) :].isdigit():
        return names.get(int(value[len(prefix) :]), value)
    return value


def host_resources(walk: Walk) -> Expected:
    expected = Expected()
    hr = "host_resources."
    scalars(
        expected,
        walk,
        [
            Metric("host_uptime_seconds", f"{HR}.1.1.0", hr + "host_uptime_seconds", scaled(Fraction(1, 100))),
            Metric("host_processes", f"{HR}.1.6.0", hr + "host_processes", optional=True),
            Metric(
                "host_memory_size_bytes", f"{HR}.2.2.0", hr + "host_memory_size_bytes",
                scaled(1024), valid=(0, INT_MAX), optional=True,
            ),
        ],
    )  # fmt: skip
    device_descr, device_type = column(walk, f"{HR}.3.2.1.3"), column(walk, f"{HR}.3.2.1.2")
    table(
        expected,
        walk,
        [
            Metric(
                "host_processor_load_ratio", f"{HR}.3.3.1.2",
                hr + "processors.host_processor_load_ratio", scaled(Fraction(1, 100)), valid=(0, 100),
            )
        ],
        lambda i: {"index": i, "descr": text(device_descr.get(i))},
    )  # fmt: skip
    table(
        expected,
        walk,
        [
            Metric(
                "host_device_status", f"{HR}.3.2.1.5", hr + "devices.host_device_status",
                states={1: "unknown", 2: "running", 3: "warning", 4: "testing", 5: "down"},
                optional=True,
            )
        ],
        lambda i: {
            "index": i,
            "descr": text(device_descr.get(i)),
            "type": registered(device_type.get(i), f"{HR}.3.1", DEVICE_TYPES),
        },
    )  # fmt: skip
    units = column(walk, f"{HR}.2.3.1.4")
    descr, kind = column(walk, f"{HR}.2.3.1.3"), column(walk, f"{HR}.2.3.1.2")

    def storage_labels(index: str) -> dict[str, str]:
        return {
            "index": index,
            "descr": text(descr.get(index)),
            "type": registered(kind.get(index), f"{HR}.2.1", STORAGE_TYPES),
        }

    for name, col in (("host_storage_size_bytes", 5), ("host_storage_used_bytes", 6)):
        rows = column(walk, f"{HR}.2.3.1.{col}")
        # Allocation units (bytes) multiply each row; a row without them has no size.
        usable = {i: r for i, r in rows.items() if units.get(i) is not None}
        metric = Metric(name, f"{HR}.2.3.1.{col}", hr + "storage." + name, valid=(0, INT_MAX))
        sub = Expected()
        emit(sub, metric, usable, storage_labels)
        if not rows:
            expected.partial[metric.part] = "no_such_object"
        expected.partial.update({k: v for k, v in sub.partial.items() if v != "no_such_object"})
        expected.invalid.update(sub.invalid)
        for (family, labels), value in sub.samples.items():
            unit = units[dict(labels)["index"]].number
            assert unit is not None
            expected.samples[family, labels] = value * unit
    return expected


# -- ENTITY-SENSOR-MIB (RFC 3433) --------------------------------------------------------------

SENSOR = "1.3.6.1.2.1.99.1.1.1"
SENSOR_TYPES = {1: "other", 2: "unknown", 3: "volts_ac", 4: "volts_dc", 5: "amperes"}
SENSOR_TYPES |= {6: "watts", 7: "hertz", 8: "celsius", 9: "percent_rh", 10: "rpm", 11: "cmm"}
SENSOR_TYPES |= {12: "truth_value"}


def entity_sensor(walk: Walk) -> Expected:
    expected = Expected()
    names = column(walk, "1.3.6.1.2.1.47.1.1.1.1.7")
    types, scales, precisions = (column(walk, f"{SENSOR}.{c}") for c in (1, 2, 3))

    def labels(index: str) -> dict[str, str]:
        kind = types.get(index)
        number = kind.number if kind is not None else None
        return {
            "index": index,
            "name": text(names.get(index)),
            "type": SENSOR_TYPES.get(number, str(number)) if number is not None else "",
        }

    def value_of(index: str) -> Callable[[int], float]:
        # value × 10^(3·(scale − 9)) ÷ 10^precision; units(9) and 0 places when not given.
        scale = scales.get(index)
        precision = precisions.get(index)
        exponent = 3 * ((scale.number if scale and scale.number is not None else 9) - 9)
        exponent -= precision.number if precision and precision.number is not None else 0
        return lambda raw: float(Fraction(raw) * Fraction(10) ** exponent)

    part = "entity_sensor.sensors."
    for index, reading in column(walk, f"{SENSOR}.4").items():
        metric = Metric(
            "entity_sensor_value", f"{SENSOR}.4", part + "entity_sensor_value",
            value_of(index), valid=(-1_000_000_000, 1_000_000_000),
        )  # fmt: skip
        emit(expected, metric, {index: reading}, labels)
    if not column(walk, f"{SENSOR}.4"):
        expected.partial[part + "entity_sensor_value"] = "no_such_object"
    table(
        expected,
        walk,
        [
            Metric(
                "entity_sensor_oper_status", f"{SENSOR}.5", part + "entity_sensor_oper_status",
                states={1: "ok", 2: "unavailable", 3: "nonoperational"},
            )
        ],
        labels,
    )  # fmt: skip
    return expected


# -- UPS-MIB (RFC 1628) and XUPS-MIB (Eaton PowerMIB) ------------------------------------------

UPS = "1.3.6.1.2.1.33.1"
OUTPUT_SOURCE = {1: "other", 2: "none", 3: "normal", 4: "bypass", 5: "battery", 6: "booster"}
OUTPUT_SOURCE |= {7: "reducer"}
TENTH = scaled(Fraction(1, 10))
PERCENT = scaled(Fraction(1, 100))
NON_NEGATIVE = (0, INT_MAX)  # NonNegativeInteger


def ups_mib(walk: Walk) -> Expected:
    expected = Expected()
    info(
        expected,
        "ups_identity_info",
        walk,
        {"manufacturer": f"{UPS}.1.1.0", "model": f"{UPS}.1.2.0", "ups_name": f"{UPS}.1.5.0"},
    )
    p = "ups_mib."
    scalars(
        expected,
        walk,
        [
            Metric("ups_battery_status", f"{UPS}.2.1.0", p + "ups_battery_status",
                   states={1: "unknown", 2: "normal", 3: "low", 4: "depleted"}),
            Metric("ups_on_battery_seconds", f"{UPS}.2.2.0", p + "ups_on_battery_seconds",
                   valid=NON_NEGATIVE),
            Metric("ups_battery_runtime_seconds", f"{UPS}.2.3.0", p + "ups_battery_runtime_seconds",
                   scaled(60), valid=(1, INT_MAX)),  # PositiveInteger minutes
            Metric("ups_battery_charge_ratio", f"{UPS}.2.4.0", p + "ups_battery_charge_ratio",
                   PERCENT, valid=(0, 100)),
            Metric("ups_battery_volts", f"{UPS}.2.5.0", p + "ups_battery_volts", TENTH,
                   valid=NON_NEGATIVE),
            Metric("ups_battery_current_amperes", f"{UPS}.2.6.0", p + "ups_battery_current_amperes",
                   TENTH, optional=True),
            Metric("ups_battery_temperature_celsius", f"{UPS}.2.7.0",
                   p + "ups_battery_temperature_celsius", optional=True),
            Metric("ups_input_line_bads_total", f"{UPS}.3.1.0", p + "ups_input_line_bads",
                   optional=True),
            Metric("ups_output_source", f"{UPS}.4.1.0", p + "ups_output_source",
                   states=OUTPUT_SOURCE),
            Metric("ups_alarms_present", f"{UPS}.6.1.0", p + "ups_alarms_present"),
        ],
    )  # fmt: skip
    table(
        expected,
        walk,
        [
            Metric("ups_input_frequency_hertz", f"{UPS}.3.3.1.2", p + "input.ups_input_frequency_hertz",
                   TENTH, valid=NON_NEGATIVE, optional=True),
            Metric("ups_input_volts", f"{UPS}.3.3.1.3", p + "input.ups_input_volts",
                   valid=NON_NEGATIVE),
        ],
        lambda i: {"line": i},
    )  # fmt: skip
    table(
        expected,
        walk,
        [
            Metric("ups_output_volts", f"{UPS}.4.4.1.2", p + "output.ups_output_volts",
                   valid=NON_NEGATIVE),
            Metric("ups_output_current_amperes", f"{UPS}.4.4.1.3",
                   p + "output.ups_output_current_amperes", TENTH, valid=NON_NEGATIVE,
                   optional=True),
            Metric("ups_output_power_watts", f"{UPS}.4.4.1.4", p + "output.ups_output_power_watts",
                   valid=NON_NEGATIVE, optional=True),
            Metric("ups_output_load_ratio", f"{UPS}.4.4.1.5", p + "output.ups_output_load_ratio",
                   PERCENT, valid=(0, 200)),
        ],
        lambda i: {"line": i},
    )  # fmt: skip
    return expected


XUPS = "1.3.6.1.4.1.534.1"


def xups_mib(walk: Walk) -> Expected:
    expected = Expected()
    info(
        expected,
        "ups_identity_info",
        walk,
        {"manufacturer": f"{XUPS}.1.1.0", "model": f"{XUPS}.1.2.0"},
    )
    p = "xups_mib."
    scalars(
        expected,
        walk,
        [
            # xupsBatTimeRemaining: seconds; cards say 65535 when they have no estimate.
            Metric("ups_battery_runtime_seconds", f"{XUPS}.2.1.0", p + "ups_battery_runtime_seconds",
                   valid=NON_NEGATIVE, invalid=frozenset({65535})),
            Metric("ups_battery_volts", f"{XUPS}.2.2.0", p + "ups_battery_volts", valid=NON_NEGATIVE),
            Metric("ups_battery_current_amperes", f"{XUPS}.2.3.0", p + "ups_battery_current_amperes",
                   optional=True),
            Metric("ups_battery_charge_ratio", f"{XUPS}.2.4.0", p + "ups_battery_charge_ratio",
                   PERCENT, valid=(0, 100)),
            Metric("ups_battery_abm_status", f"{XUPS}.2.5.0", p + "ups_battery_abm_status",
                   states={1: "charging", 2: "discharging", 3: "floating", 4: "resting",
                           5: "unknown", 6: "disconnected", 7: "under_test", 8: "check_battery"},
                   optional=True),
            Metric("ups_input_frequency_hertz", f"{XUPS}.3.1.0", p + "ups_input_frequency_hertz",
                   TENTH, valid=NON_NEGATIVE, optional=True),
            Metric("ups_input_line_bads_total", f"{XUPS}.3.2.0", p + "ups_input_line_bads",
                   optional=True),
            Metric("ups_output_load_ratio", f"{XUPS}.4.1.0", p + "ups_output_load_ratio", PERCENT,
                   valid=(0, 200)),
            Metric("ups_output_source", f"{XUPS}.4.5.0", p + "ups_output_source",
                   states={**OUTPUT_SOURCE, 8: "parallel_capacity", 9: "parallel_redundant",
                           10: "high_efficiency", 11: "maintenance_bypass", 12: "ess"}),
            Metric("ups_ambient_temperature_celsius", f"{XUPS}.6.1.0",
                   p + "ups_ambient_temperature_celsius", valid=(-100, 200), optional=True),
            Metric("ups_alarms_present", f"{XUPS}.7.1.0", p + "ups_alarms_present"),
        ],
    )  # fmt: skip
    table(
        expected,
        walk,
        [Metric("ups_input_volts", f"{XUPS}.3.4.1.2", p + "input.ups_input_volts", valid=NON_NEGATIVE)],
        lambda i: {"line": i},
    )  # fmt: skip
    table(
        expected,
        walk,
        [
            Metric("ups_output_volts", f"{XUPS}.4.4.1.2", p + "output.ups_output_volts",
                   valid=NON_NEGATIVE),
            Metric("ups_output_current_amperes", f"{XUPS}.4.4.1.3",
                   p + "output.ups_output_current_amperes", valid=NON_NEGATIVE, optional=True),
            Metric("ups_output_power_watts", f"{XUPS}.4.4.1.4", p + "output.ups_output_power_watts",
                   valid=NON_NEGATIVE, optional=True),
        ],
        lambda i: {"line": i},
    )  # fmt: skip
    return expected


#: Per profile: the subtrees that hold its MIB's objects, and the oracle where one is written.
#: The other built-in profiles read MIBs no recording has (DS1-MIB E1 lines, the Hytera
#: repeater MIB, the simulator's own MIB): against the corpus they must fail as absent.
MIBS: dict[str, tuple[tuple[str, ...], Callable[[Walk], Expected] | None]] = {
    "system": (("1.3.6.1.2.1.1",), system),
    "if_mib": ((IF, IFX), if_mib),
    "host_resources": ((f"{HR}.1", f"{HR}.2", f"{HR}.3"), host_resources),
    "entity_sensor": ((SENSOR,), entity_sensor),
    "ups_mib": ((UPS,), ups_mib),
    "xups_mib": ((XUPS,), xups_mib),
    "ds1_mib": (("1.3.6.1.2.1.10.18",), None),
    "hytera_repeater": (("1.3.6.1.4.1.40297",), None),
    "trunked_bs": (("1.3.6.1.4.1.32473",), None),
    "trunk_gateway": (("1.3.6.1.4.1.32473",), None),
}


# ---------------------------------------------------------------------------------------------
# The tests


@pytest.fixture(scope="module")
def responder() -> Iterator[SnmpsimInstance]:
    with start_snmpsim(RECORDINGS) as instance:
        yield instance


_WALKS: dict[str, Walk] = {}


def walk_of(responder: SnmpsimInstance, community: str) -> Walk:
    """Everything the recording holds, as net-snmp reads it (once per recording)."""
    if community not in _WALKS:
        out = responder.run_tool(
            "snmpbulkwalk", community, "1.3.6.1", options=("-On", "-Ot", "-Ox", "-Cr50")
        )
        _WALKS[community] = parse_walk(out)
    return _WALKS[community]


@pytest.fixture(autouse=True)
async def shared_sessions() -> AsyncIterator[None]:
    """The probe's process-wide client lives on the test's loop: close it with the loop."""
    yield
    await close_shared_sessions()


def test_every_built_in_profile_has_an_oracle_or_an_absent_mib() -> None:
    assert set(PROFILES) == set(MIBS)
    assert len(RECORDINGS) >= 20


def _got(samples: Sequence[Sample]) -> tuple[dict[tuple[str, Labels], float], dict[str, float]]:
    series: dict[tuple[str, Labels], float] = {}
    invalid: dict[str, float] = {}
    for s in samples:
        if s.family.name == INVALID:
            invalid[dict(s.labels)["object"]] = s.value
        elif s.family.name not in POLLER_OWN:
            key = (s.family.name, tuple(sorted(s.labels)))
            assert key not in series, f"duplicate series {key}"
            series[key] = s.value
    return series, invalid


def _differences(
    got: Mapping[tuple[str, Labels], float], expected: Mapping[tuple[str, Labels], float]
) -> list[str]:
    out = [f"missing {k} = {v}" for k, v in expected.items() if k not in got]
    out += [f"unexpected {k} = {v}" for k, v in got.items() if k not in expected]
    out += [
        f"{k}: got {got[k]}, expected {v}"
        for k, v in expected.items()
        if k in got and not math.isclose(got[k], v, rel_tol=1e-9, abs_tol=1e-12)
    ]
    return sorted(out)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda path: path.stem)
async def test_profile_reads_what_the_mib_says_the_recording_holds(
    responder: SnmpsimInstance, recording: Path, profile: str
) -> None:
    community = recording.stem
    walk = walk_of(responder, community)
    subtrees, oracle = MIBS[profile]
    probe = create({"profile": profile, "retries": 2}, timeout=10)
    target = Target(community, responder.host, responder.port, {"community": community})
    has_mib = any(has_subtree(walk, subtree) for subtree in subtrees)
    if oracle is None or (not has_mib and profile != "system"):
        assert not has_mib, f"{community} has the MIB of {profile}: write its oracle"
        with pytest.raises(NoSuchObject):
            await probe.run(target)
        return
    try:
        result = await probe.run(target)
    except ProbeError as exc:
        pytest.fail(f"{profile} against {community} failed: {exc.reason}: {exc}")
    expected = system(walk)
    if profile != "system":
        own = oracle(walk)
        expected.samples.update(own.samples)
        expected.partial.update(own.partial)
        expected.invalid.update(own.invalid)
    series, invalid = _got(result.samples)
    assert _differences(series, expected.samples) == []
    assert result.partial == expected.partial
    assert invalid == expected.invalid


async def test_an_asset_charset_reads_the_devices_text_through_the_probe(
    responder: SnmpsimInstance,
) -> None:
    # The Ruijie switch writes its sysLocation in GBK: read as GB18030 by default (中文), and
    # with the asset's own charset when one is configured.
    community = "switch-ruijie-s5750"
    raw = walk_of(responder, community)[oid("1.3.6.1.2.1.1.6.0")].value
    assert isinstance(raw, bytes)
    probe = create({"profile": "system"}, timeout=10)
    for charset, location in ((None, "中文"), ("big5", raw.decode("big5", errors="replace"))):
        target = Target(community, responder.host, responder.port, {"community": community})
        if charset is not None:
            target = Target(community, responder.host, responder.port, target.secrets, charset)
        result = await probe.run(target)
        (info_sample,) = (
            s for s in result.samples if s.family.name == "trunkwatch_snmp_system_info"
        )
        assert dict(info_sample.labels)["location"] == location
    assert location != "中文"

"""MIB views of simulated devices: a sorted OID → (syntax, getter) map per device that answers
GET, GETNEXT and GETBULK, and the builders that register each device kind's MIB objects.

A device's OID set is fixed by its configuration, so its view is built and sorted once; a
request only bisects into the sorted OIDs and calls the getters it answers, which read the
device's state at the instant the fleet advanced it to. A getter may return ``None`` for a row
that does not exist right now (a UPS alarm that is not present): GET then answers
noSuchInstance and GETNEXT skips it.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from enum import IntEnum
from typing import NamedTuple

from monitor.simulator import oids as O
from monitor.simulator.device import Device, Interface
from monitor.simulator.lines import CHANNELS_PER_E1, E1Gateway, E1Span, IntervalCounters
from monitor.simulator.network import ALLOCATION_UNIT, NetworkDevice, Server, StorageSpec
from monitor.simulator.oids import Oid
from monitor.simulator.power import BatteryStatus
from monitor.simulator.radio import BaseStation, Carrier

__all__ = ["Binding", "MibBuilder", "MibView", "Syntax", "build_view"]

_U32 = (1 << 32) - 1


class Syntax(IntEnum):
    """BER tags of the values a view serves (the same numbers as the SNMP codec's ``Tag``)."""

    INTEGER = 0x02
    OCTET_STRING = 0x04
    OBJECT_IDENTIFIER = 0x06
    IPADDRESS = 0x40
    COUNTER32 = 0x41
    GAUGE32 = 0x42
    TIMETICKS = 0x43
    COUNTER64 = 0x46
    NO_SUCH_OBJECT = 0x80
    NO_SUCH_INSTANCE = 0x81
    END_OF_MIB_VIEW = 0x82


Value = int | bytes | tuple[int, ...] | None
Raw = int | float | str | bytes | tuple[int, ...] | None
Getter = Callable[[], Raw]


class Binding(NamedTuple):
    """One variable binding of an answer: the OID, its syntax tag and its value."""

    oid: Oid
    tag: int
    value: Value


def _coerce(tag: int, raw: Raw) -> Value:
    """Turn a getter's natural value into what the syntax allows (wrap, clamp, encode)."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw.encode()
    if isinstance(raw, bytes | tuple):
        return raw
    value = math.floor(raw + 0.5) if isinstance(raw, float) else raw
    if tag == Syntax.INTEGER:
        return max(-(1 << 31), min((1 << 31) - 1, value))
    if tag == Syntax.GAUGE32:
        return max(0, min(_U32, value))
    if tag in (Syntax.COUNTER32, Syntax.TIMETICKS):
        return value % (1 << 32)
    if tag == Syntax.COUNTER64:
        return value % (1 << 64)
    return value


class _Entry(NamedTuple):
    object_oid: Oid
    tag: int
    getter: Getter


class MibView:
    """A device's MIB: OIDs kept sorted once, answered by bisection."""

    __slots__ = ("_entries", "_objects", "_oids")

    def __init__(self, entries: Iterable[tuple[Oid, Oid, int, Getter]]) -> None:
        table: dict[Oid, _Entry] = {}
        for oid, object_oid, tag, getter in entries:
            if oid in table:
                raise ValueError(f"OID {'.'.join(map(str, oid))} registered twice")
            table[oid] = _Entry(object_oid, tag, getter)
        self._oids: list[Oid] = sorted(table)
        self._entries: list[_Entry] = [table[oid] for oid in self._oids]
        self._objects: list[Oid] = sorted({e.object_oid for e in self._entries})

    def __len__(self) -> int:
        return len(self._oids)

    @property
    def oids(self) -> Sequence[Oid]:
        return self._oids

    def get(self, oid: Oid) -> Binding:
        i = bisect_left(self._oids, oid)
        if i < len(self._oids) and self._oids[i] == oid:
            entry = self._entries[i]
            value = _coerce(entry.tag, entry.getter())
            if value is not None:
                return Binding(oid, entry.tag, value)
            return Binding(oid, Syntax.NO_SUCH_INSTANCE, None)
        return Binding(oid, self._missing(oid), None)

    def _missing(self, oid: Oid) -> Syntax:
        # noSuchInstance when the OID is inside an object we implement, else noSuchObject.
        j = bisect_right(self._objects, oid) - 1
        if j >= 0 and oid[: len(self._objects[j])] == self._objects[j]:
            return Syntax.NO_SUCH_INSTANCE
        return Syntax.NO_SUCH_OBJECT

    def next(self, oid: Oid) -> Binding:
        """The first instance lexicographically after ``oid``, or endOfMibView."""
        i = bisect_right(self._oids, oid)
        while i < len(self._oids):
            entry = self._entries[i]
            value = _coerce(entry.tag, entry.getter())
            if value is not None:
                return Binding(self._oids[i], entry.tag, value)
            i += 1
        return Binding(oid, Syntax.END_OF_MIB_VIEW, None)

    def bulk(self, oids: Sequence[Oid], non_repeaters: int, max_repetitions: int) -> list[Binding]:
        """GETBULK (RFC 3416 §4.2.3): GETNEXT for the first ``non_repeaters`` OIDs, then up to
        ``max_repetitions`` rounds over the rest, stopping early once every repeater reached
        the end of the view."""
        non_repeaters = max(0, min(non_repeaters, len(oids)))
        answer = [self.next(oid) for oid in oids[:non_repeaters]]
        cursors = list(oids[non_repeaters:])
        if not cursors:
            return answer
        for _ in range(max(0, max_repetitions)):
            row = [self.next(oid) for oid in cursors]
            answer.extend(row)
            if all(b.tag == Syntax.END_OF_MIB_VIEW for b in row):
                break
            cursors = [b.oid for b in row]
        return answer

    def walk(self, prefix: Oid = ()) -> Iterator[Binding]:
        """Every instance under ``prefix`` in order (what snmpwalk would see)."""
        i = bisect_left(self._oids, prefix)
        while i < len(self._oids) and self._oids[i][: len(prefix)] == prefix:
            entry = self._entries[i]
            value = _coerce(entry.tag, entry.getter())
            if value is not None:
                yield Binding(self._oids[i], entry.tag, value)
            i += 1


class MibBuilder:
    """Collects a device's objects in any order; ``build()`` sorts them once."""

    def __init__(self) -> None:
        self._entries: list[tuple[Oid, Oid, int, Getter]] = []

    def scalar(self, obj: Oid, tag: Syntax, getter: Getter) -> None:
        self._entries.append(((*obj, 0), obj, int(tag), getter))

    def column(self, obj: Oid, index: Oid, tag: Syntax, getter: Getter) -> None:
        self._entries.append(((*obj, *index), obj, int(tag), getter))

    def build(self) -> MibView:
        return MibView(self._entries)


def _const(value: Raw) -> Getter:
    return lambda: value


# -- common groups ----------------------------------------------------------------------------


def _add_system(b: MibBuilder, device: Device) -> None:
    product = O.PRODUCT_BY_KIND.get(device.kind, O.TSIM_PRODUCTS)
    b.scalar(O.SYS_DESCR, Syntax.OCTET_STRING, _const(device.descr))
    b.scalar(O.SYS_OBJECT_ID, Syntax.OBJECT_IDENTIFIER, _const(product))
    b.scalar(O.SYS_UP_TIME, Syntax.TIMETICKS, lambda: device.uptime_ticks)
    b.scalar(O.SYS_CONTACT, Syntax.OCTET_STRING, _const("值班室 duty room, ext. 110"))
    b.scalar(O.SYS_NAME, Syntax.OCTET_STRING, _const(device.asset_id))
    b.scalar(O.SYS_LOCATION, Syntax.OCTET_STRING, _const(device.location or device.name))
    b.scalar(O.SYS_SERVICES, Syntax.INTEGER, _const(72 if device.kind == "server" else 6))


def _add_interfaces(b: MibBuilder, device: Device) -> None:
    b.scalar(O.IF_NUMBER, Syntax.INTEGER, _const(len(device.interfaces)))
    for iface in device.interfaces:
        _add_interface(b, device, iface)


def _add_interface(b: MibBuilder, device: Device, i: Interface) -> None:
    idx = (i.index,)

    def col(obj: Oid, tag: Syntax, getter: Getter) -> None:
        b.column(obj, idx, tag, getter)

    col(O.IF_INDEX, Syntax.INTEGER, _const(i.index))
    col(O.IF_DESCR, Syntax.OCTET_STRING, _const(i.descr))
    col(O.IF_TYPE, Syntax.INTEGER, _const(int(i.if_type)))
    col(O.IF_MTU, Syntax.INTEGER, _const(i.mtu))
    col(O.IF_SPEED, Syntax.GAUGE32, _const(min(_U32, i.speed_bps)))
    col(O.IF_PHYS_ADDRESS, Syntax.OCTET_STRING, _const(i.mac))
    col(O.IF_ADMIN_STATUS, Syntax.INTEGER, lambda: 1 if i.admin_up else 2)
    col(O.IF_OPER_STATUS, Syntax.INTEGER, lambda: int(i.oper_status(device.answering)))
    col(O.IF_LAST_CHANGE, Syntax.TIMETICKS, lambda: i.last_change_ticks)
    col(O.IF_IN_OCTETS, Syntax.COUNTER32, lambda: int(i.in_octets))
    col(O.IF_IN_UCAST_PKTS, Syntax.COUNTER32, lambda: i.in_ucast_pkts)
    col(O.IF_IN_DISCARDS, Syntax.COUNTER32, lambda: i.in_discards)
    col(O.IF_IN_ERRORS, Syntax.COUNTER32, lambda: i.in_errors)
    col(O.IF_OUT_OCTETS, Syntax.COUNTER32, lambda: int(i.out_octets))
    col(O.IF_OUT_UCAST_PKTS, Syntax.COUNTER32, lambda: i.out_ucast_pkts)
    col(O.IF_OUT_DISCARDS, Syntax.COUNTER32, lambda: i.out_discards)
    col(O.IF_OUT_ERRORS, Syntax.COUNTER32, lambda: i.out_errors)
    col(O.IF_NAME, Syntax.OCTET_STRING, _const(i.name))
    col(O.IF_HC_IN_OCTETS, Syntax.COUNTER64, lambda: int(i.in_octets))
    col(O.IF_HC_IN_UCAST_PKTS, Syntax.COUNTER64, lambda: i.in_ucast_pkts)
    col(O.IF_HC_OUT_OCTETS, Syntax.COUNTER64, lambda: int(i.out_octets))
    col(O.IF_HC_OUT_UCAST_PKTS, Syntax.COUNTER64, lambda: i.out_ucast_pkts)
    col(O.IF_HIGH_SPEED, Syntax.GAUGE32, _const(i.speed_bps // 1_000_000))
    col(O.IF_ALIAS, Syntax.OCTET_STRING, _const(i.alias))


# -- base station -----------------------------------------------------------------------------


def _add_base_station(b: MibBuilder, site: BaseStation) -> None:
    spec = site.spec
    counters = site.engine
    s = b.scalar
    s(O.TSIM_SITE_ID, Syntax.OCTET_STRING, _const(spec.asset_id))
    s(O.TSIM_SITE_NAME, Syntax.OCTET_STRING, _const(spec.name))
    s(O.TSIM_CARRIER_COUNT, Syntax.INTEGER, _const(spec.carriers))
    s(O.TSIM_MCCH_CARRIER, Syntax.INTEGER, lambda: site.mcch_carrier)
    s(O.TSIM_TCH_TOTAL, Syntax.GAUGE32, lambda: site.tch_configured)
    s(O.TSIM_TCH_AVAILABLE, Syntax.GAUGE32, lambda: site.tch_available)
    s(O.TSIM_TCH_BUSY, Syntax.GAUGE32, lambda: site.tch_busy)
    s(O.TSIM_QUEUE_LENGTH, Syntax.GAUGE32, lambda: site.queue_length)
    s(O.TSIM_REGISTERED_TERMINALS, Syntax.GAUGE32, lambda: site.registered_terminals)
    s(O.TSIM_CALL_ATTEMPTS, Syntax.COUNTER64, lambda: counters.counters.attempts)
    s(O.TSIM_CALL_SUCCESSES, Syntax.COUNTER64, lambda: counters.counters.successes)
    s(O.TSIM_CALLS_QUEUED, Syntax.COUNTER64, lambda: counters.counters.queued)
    s(O.TSIM_CALLS_BLOCKED, Syntax.COUNTER64, lambda: counters.counters.blocked)
    s(O.TSIM_CALLS_DROPPED, Syntax.COUNTER64, lambda: counters.counters.dropped)
    s(
        O.TSIM_CARRIED_CHANNEL_SECONDS,
        Syntax.COUNTER64,
        lambda: int(counters.counters.carried_channel_seconds),
    )
    s(
        O.TSIM_QUEUE_WAIT_SECONDS,
        Syntax.COUNTER64,
        lambda: int(counters.counters.queue_wait_seconds),
    )
    s(O.TSIM_LATITUDE, Syntax.INTEGER, _const(round(spec.lat * 1e6)))
    s(O.TSIM_LONGITUDE, Syntax.INTEGER, _const(round(spec.lon * 1e6)))

    for carrier in site.carriers:
        _add_carrier(b, site, carrier)

    p = site.power
    s(O.TSIM_MAINS_STATE, Syntax.INTEGER, lambda: int(p.mains))
    s(O.TSIM_BATTERY_CHARGE, Syntax.GAUGE32, lambda: math.ceil(p.charge_pct))
    s(O.TSIM_BATTERY_MINUTES_REMAINING, Syntax.GAUGE32, lambda: int(p.minutes_remaining))
    s(O.TSIM_BATTERY_VOLTAGE, Syntax.GAUGE32, lambda: p.battery_voltage * 10)
    s(O.TSIM_RECTIFIER_STATE, Syntax.INTEGER, lambda: int(p.rectifier))
    s(O.TSIM_RECTIFIER_VOLTAGE, Syntax.GAUGE32, lambda: p.rectifier_voltage * 10)
    s(O.TSIM_RECTIFIER_CURRENT, Syntax.GAUGE32, lambda: p.rectifier_current_a * 10)
    s(O.TSIM_SITE_LOAD, Syntax.GAUGE32, lambda: p.load_w)
    s(O.TSIM_CABINET_TEMPERATURE, Syntax.INTEGER, lambda: site.cabinet_temperature_c * 10)
    s(O.TSIM_BACKHAUL_STATE, Syntax.INTEGER, lambda: 1 if site.backhaul_up else 2)
    s(O.TSIM_BACKHAUL_IF_INDEX, Syntax.INTEGER, _const(site.interfaces[0].index))

    _add_ups(b, site)
    _add_sensors(b, site)


def _add_carrier(b: MibBuilder, site: BaseStation, carrier: Carrier) -> None:
    idx = (carrier.index,)
    c = carrier
    b.column(O.TSIM_CARRIER_STATE, idx, Syntax.INTEGER, lambda: site.carrier_state(c))
    b.column(
        O.TSIM_CARRIER_FORWARD_POWER,
        idx,
        Syntax.GAUGE32,
        lambda: site.forward_power_w(c) * 1000,
    )
    b.column(
        O.TSIM_CARRIER_REFLECTED_POWER,
        idx,
        Syntax.GAUGE32,
        lambda: site.reflected_power_w(c) * 1000,
    )
    b.column(O.TSIM_CARRIER_VSWR, idx, Syntax.GAUGE32, lambda: site.measured_vswr(c) * 100)
    b.column(O.TSIM_CARRIER_TIMESLOTS, idx, Syntax.GAUGE32, lambda: site.carrier_timeslots(c))
    b.column(O.TSIM_CARRIER_BUSY_TCH, idx, Syntax.GAUGE32, lambda: site.carrier_busy_tch(c))
    for path in (1, 2):
        _add_rx_path(b, site, carrier, path)


def _add_rx_path(b: MibBuilder, site: BaseStation, c: Carrier, path: int) -> None:
    idx = (c.index, path)
    b.column(O.TSIM_RX_PATH_RSSI, idx, Syntax.INTEGER, lambda: site.rssi_dbm(c, path))
    b.column(O.TSIM_RX_PATH_NOISE_FLOOR, idx, Syntax.INTEGER, lambda: site.noise_floor_dbm(c, path))


def _add_ups(b: MibBuilder, site: BaseStation) -> None:
    """UPS-MIB view of the site's rectifier and battery (RFC 1628)."""
    p = site.power
    s = b.scalar
    s(O.UPS_IDENT_MANUFACTURER, Syntax.OCTET_STRING, _const("trunkwatch simulator"))
    s(O.UPS_IDENT_MODEL, Syntax.OCTET_STRING, _const("48V DC power plant"))
    s(O.UPS_IDENT_NAME, Syntax.OCTET_STRING, _const(f"{site.asset_id} power"))
    s(O.UPS_BATTERY_STATUS, Syntax.INTEGER, lambda: int(p.battery_status))
    s(O.UPS_SECONDS_ON_BATTERY, Syntax.INTEGER, lambda: p.seconds_on_battery)
    s(O.UPS_ESTIMATED_MINUTES_REMAINING, Syntax.INTEGER, lambda: p.minutes_remaining)
    s(O.UPS_ESTIMATED_CHARGE_REMAINING, Syntax.INTEGER, lambda: math.ceil(p.charge_pct))
    s(O.UPS_BATTERY_VOLTAGE, Syntax.INTEGER, lambda: p.battery_voltage * 10)
    s(O.UPS_BATTERY_CURRENT, Syntax.INTEGER, lambda: p.battery_current_a * 10)
    s(O.UPS_BATTERY_TEMPERATURE, Syntax.INTEGER, lambda: site.cabinet_temperature_c - 2.0)
    s(O.UPS_INPUT_LINE_BADS, Syntax.COUNTER32, lambda: site.mains_losses)
    s(O.UPS_INPUT_NUM_LINES, Syntax.INTEGER, _const(1))
    b.column(O.UPS_INPUT_FREQUENCY, (1,), Syntax.INTEGER, lambda: 0 if p.on_battery else 500)
    b.column(O.UPS_INPUT_VOLTAGE, (1,), Syntax.INTEGER, lambda: 0 if p.on_battery else 220)
    s(O.UPS_OUTPUT_SOURCE, Syntax.INTEGER, lambda: 5 if p.on_battery else 3)
    s(O.UPS_OUTPUT_NUM_LINES, Syntax.INTEGER, _const(1))
    b.column(O.UPS_OUTPUT_VOLTAGE, (1,), Syntax.INTEGER, lambda: round(p.battery_voltage))
    b.column(O.UPS_OUTPUT_POWER, (1,), Syntax.INTEGER, lambda: p.load_w)
    rated_w = site.spec.base_load_w + 4 * site.spec.load_per_carrier_w
    b.column(O.UPS_OUTPUT_PERCENT_LOAD, (1,), Syntax.INTEGER, lambda: p.load_w / rated_w * 100)

    def alarms() -> list[Oid]:
        present = []
        if p.on_battery:
            present += [O.UPS_ALARM_ON_BATTERY, O.UPS_ALARM_INPUT_BAD]
        if p.battery_status in (BatteryStatus.LOW, BatteryStatus.DEPLETED):
            present.append(O.UPS_ALARM_LOW_BATTERY)
        return present

    s(O.UPS_ALARMS_PRESENT, Syntax.GAUGE32, lambda: len(alarms()))
    # Alarm rows keep fixed ids per well-known alarm so a row's identity is stable.
    for alarm_id, alarm in (
        (1, O.UPS_ALARM_ON_BATTERY),
        (2, O.UPS_ALARM_INPUT_BAD),
        (3, O.UPS_ALARM_LOW_BATTERY),
    ):
        _add_ups_alarm(b, site, alarm_id, alarm, alarms)


def _add_ups_alarm(
    b: MibBuilder, site: BaseStation, alarm_id: int, alarm: Oid, alarms: Callable[[], list[Oid]]
) -> None:
    def descr() -> Raw:
        return alarm if alarm in alarms() else None

    def when() -> Raw:
        return _alarm_time(site) if alarm in alarms() else None

    b.column(O.UPS_ALARM_DESCR, (alarm_id,), Syntax.OBJECT_IDENTIFIER, descr)
    b.column(O.UPS_ALARM_TIME, (alarm_id,), Syntax.TIMETICKS, when)


def _alarm_time(site: BaseStation) -> int:
    since = site.power.on_battery_since
    if since is None:
        return 0
    return int(max(0.0, since - site.boot_time) * 100)


def _add_sensors(b: MibBuilder, site: BaseStation) -> None:
    """ENTITY-MIB names and ENTITY-SENSOR-MIB values: 1 cabinet temperature (0.1 °C),
    2 battery voltage (0.1 V DC)."""
    sensors: tuple[tuple[int, str, int, Getter], ...] = (
        (1, "cabinet temperature 机柜温度", 8, lambda: site.cabinet_temperature_c * 10),
        (2, "battery voltage 蓄电池电压", 4, lambda: site.power.battery_voltage * 10),
    )
    for index, descr, sensor_type, value in sensors:
        idx = (index,)
        b.column(O.ENT_PHYSICAL_DESCR, idx, Syntax.OCTET_STRING, _const(descr))
        b.column(O.ENT_PHYSICAL_CLASS, idx, Syntax.INTEGER, _const(8))
        b.column(O.ENT_PHYSICAL_NAME, idx, Syntax.OCTET_STRING, _const(descr.split(" ")[0]))
        b.column(O.ENT_PHY_SENSOR_TYPE, idx, Syntax.INTEGER, _const(sensor_type))
        b.column(O.ENT_PHY_SENSOR_SCALE, idx, Syntax.INTEGER, _const(9))
        b.column(O.ENT_PHY_SENSOR_PRECISION, idx, Syntax.INTEGER, _const(1))
        b.column(O.ENT_PHY_SENSOR_VALUE, idx, Syntax.INTEGER, value)
        b.column(O.ENT_PHY_SENSOR_OPER_STATUS, idx, Syntax.INTEGER, _const(1))
        units = "degrees C" if sensor_type == 8 else "volts DC"
        b.column(O.ENT_PHY_SENSOR_UNITS_DISPLAY, idx, Syntax.OCTET_STRING, _const(units))


# -- E1 gateway -------------------------------------------------------------------------------


def _add_e1_gateway(b: MibBuilder, gw: E1Gateway) -> None:
    cache: dict[int, tuple[float, IntervalCounters]] = {}

    def current(span: E1Span) -> IntervalCounters:
        # One walk reads ten columns of the same row; work the interval out once per instant.
        hit = cache.get(span.index)
        if hit is None or hit[0] != gw.now:
            hit = (gw.now, span.interval_counters(gw.now))
            cache[span.index] = hit
        return hit[1]

    for span in gw.spans:
        _add_span(b, gw, span, current)

    counters = gw.engine
    s = b.scalar
    s(O.TSIM_TRUNK_CALL_ATTEMPTS, Syntax.COUNTER64, lambda: counters.counters.attempts)
    s(O.TSIM_TRUNK_CALL_SUCCESSES, Syntax.COUNTER64, lambda: counters.counters.successes)
    s(O.TSIM_TRUNK_CALLS_BLOCKED, Syntax.COUNTER64, lambda: counters.counters.blocked)
    s(O.TSIM_TRUNK_CALLS_DROPPED, Syntax.COUNTER64, lambda: counters.counters.dropped)
    s(
        O.TSIM_TRUNK_CARRIED_SECONDS,
        Syntax.COUNTER64,
        lambda: int(counters.counters.carried_channel_seconds),
    )


def _add_span(
    b: MibBuilder, gw: E1Gateway, sp: E1Span, current: Callable[[E1Span], IntervalCounters]
) -> None:
    idx = (sp.index,)

    def col(obj: Oid, tag: Syntax, getter: Getter) -> None:
        b.column(obj, idx, tag, getter)

    col(O.DSX1_LINE_INDEX, Syntax.INTEGER, _const(sp.index))
    col(O.DSX1_IF_INDEX, Syntax.INTEGER, _const(gw.interfaces[sp.index - 1].index))
    col(O.DSX1_TIME_ELAPSED, Syntax.INTEGER, lambda: gw.time_elapsed)
    col(O.DSX1_VALID_INTERVALS, Syntax.INTEGER, lambda: gw.valid_intervals)
    col(O.DSX1_LINE_TYPE, Syntax.INTEGER, _const(7))  # dsx1E1CRCMF
    col(O.DSX1_LINE_CODING, Syntax.INTEGER, _const(3))  # dsx1HDB3
    col(O.DSX1_SEND_CODE, Syntax.INTEGER, _const(1))  # dsx1SendNoCode
    col(O.DSX1_CIRCUIT_IDENTIFIER, Syntax.OCTET_STRING, _const(sp.circuit_id))
    col(O.DSX1_LOOPBACK_CONFIG, Syntax.INTEGER, _const(1))  # dsx1NoLoop
    col(O.DSX1_LINE_STATUS, Syntax.INTEGER, lambda: sp.line_status)
    col(O.DSX1_SIGNAL_MODE, Syntax.INTEGER, _const(4))  # messageOriented (ISDN PRI)
    col(O.DSX1_TRANSMIT_CLOCK_SOURCE, Syntax.INTEGER, _const(1))  # loopTiming
    col(O.DSX1_INVALID_INTERVALS, Syntax.INTEGER, _const(0))
    col(O.DSX1_LINE_STATUS_LAST_CHANGE, Syntax.TIMETICKS, lambda: gw.status_last_change_ticks(sp))
    for name, number in O.DSX1_CURRENT_COLUMNS.items():
        obj = (*O.DSX1_CURRENT_ENTRY, number)
        if name == "index":
            col(obj, Syntax.INTEGER, _const(sp.index))
        else:
            col(obj, Syntax.GAUGE32, _interval_getter(current, sp, name))
    col(O.TSIM_E1_BUSY_CHANNELS, Syntax.GAUGE32, lambda: gw.span_busy(sp.index))
    col(O.TSIM_E1_TOTAL_CHANNELS, Syntax.GAUGE32, _const(CHANNELS_PER_E1))
    col(O.TSIM_E1_AVAILABLE_CHANNELS, Syntax.GAUGE32, lambda: gw.span_available(sp.index))


def _interval_getter(
    current: Callable[[E1Span], IntervalCounters], span: E1Span, name: str
) -> Getter:
    def getter() -> Raw:
        value: int = getattr(current(span), name)
        return value

    return getter


# -- servers ----------------------------------------------------------------------------------

_STORAGE_TYPES = {
    "ram": O.HR_STORAGE_RAM,
    "virtual": O.HR_STORAGE_VIRTUAL_MEMORY,
    "disk": O.HR_STORAGE_FIXED_DISK,
}
#: hrDeviceIndex of the first CPU, as net-snmp numbers them.
_FIRST_CPU_DEVICE = 196608


def _date_and_time(device: Device) -> bytes:
    """SNMPv2-TC DateAndTime of the simulated instant in the device's zone."""
    local = datetime.fromtimestamp(device.now, device.profile.tz)
    offset = local.utcoffset()
    minutes = 0 if offset is None else int(offset.total_seconds() // 60)
    sign = b"+" if minutes >= 0 else b"-"
    return (
        local.year.to_bytes(2, "big")
        + bytes([local.month, local.day, local.hour, local.minute, local.second])
        + bytes([local.microsecond // 100_000])
        + sign
        + bytes([abs(minutes) // 60, abs(minutes) % 60])
    )


def _add_server(b: MibBuilder, server: Server) -> None:
    spec = server.spec
    s = b.scalar
    s(O.HR_SYSTEM_UPTIME, Syntax.TIMETICKS, lambda: server.uptime_ticks)
    s(O.HR_SYSTEM_DATE, Syntax.OCTET_STRING, lambda: _date_and_time(server))
    s(O.HR_SYSTEM_NUM_USERS, Syntax.GAUGE32, _const(2))
    s(O.HR_SYSTEM_PROCESSES, Syntax.GAUGE32, lambda: server.processes)
    ram = next((st for st in spec.storage if st.kind == "ram"), None)
    s(O.HR_MEMORY_SIZE, Syntax.INTEGER, _const(int(ram.size_gb * 1e6) if ram else 0))
    for row, storage in enumerate(spec.storage):
        _add_storage(b, server, row, storage)
    for cpu in range(spec.cpus):
        _add_cpu(b, server, cpu)


def _add_storage(b: MibBuilder, server: Server, row: int, storage: StorageSpec) -> None:
    idx = (row + 1,)
    storage_type = _STORAGE_TYPES.get(storage.kind, O.HR_STORAGE_FIXED_DISK)
    b.column(O.HR_STORAGE_INDEX, idx, Syntax.INTEGER, _const(row + 1))
    b.column(O.HR_STORAGE_TYPE, idx, Syntax.OBJECT_IDENTIFIER, _const(storage_type))
    b.column(O.HR_STORAGE_DESCR, idx, Syntax.OCTET_STRING, _const(storage.descr))
    b.column(O.HR_STORAGE_ALLOCATION_UNITS, idx, Syntax.INTEGER, _const(ALLOCATION_UNIT))
    b.column(O.HR_STORAGE_SIZE, idx, Syntax.INTEGER, _const(server.storage_size_units(row)))
    b.column(O.HR_STORAGE_USED, idx, Syntax.INTEGER, lambda: server.storage_used_units(row))


def _add_cpu(b: MibBuilder, server: Server, cpu: int) -> None:
    idx = (_FIRST_CPU_DEVICE + cpu,)
    b.column(O.HR_DEVICE_INDEX, idx, Syntax.INTEGER, _const(idx[0]))
    b.column(O.HR_DEVICE_TYPE, idx, Syntax.OBJECT_IDENTIFIER, _const(O.HR_DEVICE_PROCESSOR))
    b.column(O.HR_DEVICE_DESCR, idx, Syntax.OCTET_STRING, _const(f"CPU {cpu}"))
    b.column(O.HR_DEVICE_STATUS, idx, Syntax.INTEGER, _const(2))  # running
    b.column(O.HR_PROCESSOR_FRW_ID, idx, Syntax.OBJECT_IDENTIFIER, _const((0, 0)))
    b.column(O.HR_PROCESSOR_LOAD, idx, Syntax.INTEGER, lambda: server.cpu_load(cpu))


# -- dispatch ---------------------------------------------------------------------------------


def build_view(device: Device) -> MibView | None:
    """The MIB view of a device, or ``None`` for a device without an SNMP agent."""
    if device.kind == "sip_trunk":
        return None
    b = MibBuilder()
    _add_system(b, device)
    _add_interfaces(b, device)
    if isinstance(device, BaseStation):
        _add_base_station(b, device)
    elif isinstance(device, E1Gateway):
        _add_e1_gateway(b, device)
    elif isinstance(device, Server):
        _add_server(b, device)
    elif not isinstance(device, NetworkDevice):
        raise TypeError(f"no MIB for device kind {device.kind!r}")
    return b.build()

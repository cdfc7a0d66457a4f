"""SNMP profiles: validation with file:line, and the mapping of varbinds to samples.

The agent here is ``FakeAgent``: a sorted table of OIDs answering GET, walks and multi-column
GETBULK the way RFC 3416 says, driven through the same ``DevicePoller`` the probe uses. Real
agents are in tests/integration/test_snmp_profiles.py.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Sequence
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.core.clock import ManualClock
from monitor.core.sources import ConfigError
from monitor.inventory import build_inventory
from probes.base import NoSuchObject, ProbeParamsError, ProbeTimeout, Sample
from probes.snmp import SnmpProbe, create
from probes.snmp.codec import OID, Tag, VarBind, parse_oid
from probes.snmp.mibs import MibResolver
from probes.snmp.poll import DevicePoller
from probes.snmp.profiles import ProfileLibrary, load_profile
from probes.snmp.rows import IndexPart, decode_index
from probes.snmp.state import UptimeTracker

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
IF_ENTRY = "1.3.6.1.2.1.2.2.1"
IFX_ENTRY = "1.3.6.1.2.1.31.1.1.1"

Value = int | bytes | tuple[int, ...]


class FakeAgent:
    """An agent over a dict of OID text → (tag, value), with failures on chosen subtrees."""

    def __init__(
        self,
        objects: dict[str, tuple[int, Value]],
        *,
        version: str = "2c",
        failing: dict[str, Exception] | None = None,
    ) -> None:
        self.version = version
        self.can_bulk = version == "2c"
        self.failing = {parse_oid(k): v for k, v in (failing or {}).items()}
        self.requests = 0
        self.set(objects)

    def set(self, objects: dict[str, tuple[int, Value]]) -> None:
        self.objects = {parse_oid(k): v for k, v in objects.items()}
        self.keys = sorted(self.objects)

    def update(self, changes: dict[str, tuple[int, Value]]) -> None:
        merged = {k: v for k, v in self.objects.items()}
        merged.update({parse_oid(k): v for k, v in changes.items()})
        self.objects = merged
        self.keys = sorted(merged)

    def _check(self, oids: Sequence[OID]) -> None:
        self.requests += 1
        for oid in oids:
            for prefix, error in self.failing.items():
                if oid[: len(prefix)] == prefix:
                    raise error

    def _vb(self, oid: OID) -> VarBind:
        tag, value = self.objects[oid]
        return VarBind(oid, tag, value)

    def _next(self, oid: OID) -> VarBind:
        i = bisect.bisect_right(self.keys, oid)
        if i >= len(self.keys):
            return VarBind(oid, Tag.END_OF_MIB_VIEW, None)
        return self._vb(self.keys[i])

    async def get(self, oids: Sequence[OID]) -> list[VarBind]:
        self._check(oids)
        if self.version == "1" and any(oid not in self.objects for oid in oids):
            raise NoSuchObject("noSuchName")
        return [
            self._vb(oid) if oid in self.objects else VarBind(oid, Tag.NO_SUCH_INSTANCE, None)
            for oid in oids
        ]

    async def walk(self, root: OID) -> list[VarBind]:
        self._check([root])
        return [self._vb(oid) for oid in self.keys if oid[: len(root)] == root]

    async def bulk(self, oids: Sequence[OID], repetitions: int) -> list[VarBind]:
        self._check(oids)
        out: list[VarBind] = []
        current = list(oids)
        for _ in range(repetitions):
            row = [self._next(oid) for oid in current]
            out.extend(row)
            current = [vb.oid for vb in row]
        return out


def ticks(seconds: float) -> tuple[int, int]:
    return (Tag.TIMETICKS, int(seconds * 100))


def values(samples: Sequence[Sample], metric: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {s.labels: s.value for s in samples if s.family.name == metric}


def value(samples: Sequence[Sample], metric: str, **labels: str) -> float:
    """The one sample of ``metric`` whose labels include ``labels``."""
    found = [
        s.value
        for s in samples
        if s.family.name == metric and all(dict(s.labels).get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (metric, labels, found)
    return found[0]


def poller(profiles: Sequence[str], clock: ManualClock | None = None, **kw: float) -> DevicePoller:
    plan = ProfileLibrary().plan(list(profiles))
    return DevicePoller(plan, clock=clock or ManualClock(), **kw)  # type: ignore[arg-type]


def interfaces(
    *,
    uptime: float = 100.0,
    hc: bool = True,
    in_octets: int = 1000,
    names: tuple[str, str] = ("eth0", "eth1"),
) -> dict[str, tuple[int, Value]]:
    objects: dict[str, tuple[int, Value]] = {SYS_UPTIME: ticks(uptime)}
    for i, name in ((1, names[0]), (2, names[1])):
        objects.update(
            {
                f"{IF_ENTRY}.2.{i}": (Tag.OCTET_STRING, f"descr {i}".encode()),
                f"{IF_ENTRY}.5.{i}": (Tag.GAUGE32, 1_000_000_000),
                f"{IF_ENTRY}.7.{i}": (Tag.INTEGER, 1),
                f"{IF_ENTRY}.8.{i}": (Tag.INTEGER, 1 if i == 1 else 2),
                f"{IF_ENTRY}.10.{i}": (Tag.COUNTER32, in_octets + i),
                f"{IF_ENTRY}.13.{i}": (Tag.COUNTER32, 0),
                f"{IF_ENTRY}.14.{i}": (Tag.COUNTER32, 3 * i),
                f"{IF_ENTRY}.16.{i}": (Tag.COUNTER32, 50),
                f"{IF_ENTRY}.19.{i}": (Tag.COUNTER32, 0),
                f"{IF_ENTRY}.20.{i}": (Tag.COUNTER32, 0),
            }
        )
        if hc:
            objects.update(
                {
                    f"{IFX_ENTRY}.1.{i}": (Tag.OCTET_STRING, name.encode()),
                    f"{IFX_ENTRY}.6.{i}": (Tag.COUNTER64, 10**12 + i),
                    f"{IFX_ENTRY}.10.{i}": (Tag.COUNTER64, 2 * 10**12),
                    f"{IFX_ENTRY}.15.{i}": (Tag.GAUGE32, 1000),
                    f"{IFX_ENTRY}.18.{i}": (Tag.OCTET_STRING, f"uplink {i}".encode()),
                }
            )
    return objects


# ---------------------------------------------------------------------------------------------
# Profile files


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def problems(path: Path, resolver: MibResolver | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_profile(path, resolver)
    return [str(p) for p in info.value.problems]


def test_every_builtin_profile_loads_and_names_follow_the_conventions() -> None:
    library = ProfileLibrary()
    names = library.available()
    assert {"system", "if_mib", "host_resources", "ups_mib", "ds1_mib", "entity_sensor"} <= set(
        names
    )
    assert {"hytera_repeater", "trunked_bs"} <= set(names)
    for name in names:
        for family in library.profile(name).families:
            assert family.name.startswith("trunkwatch_")
            assert family.name.endswith("_total") == (family.type == "counter"), family.name
    bs = {f.name for f in library.profile("trunked_bs").families}
    assert {
        "trunkwatch_bs_carrier_up",
        "trunkwatch_bs_traffic_channels",
        "trunkwatch_bs_traffic_channels_busy",
        "trunkwatch_bs_calls_total",
        "trunkwatch_bs_calls_queued_total",
        "trunkwatch_bs_calls_blocked_total",
        "trunkwatch_bs_channel_seconds_total",
        "trunkwatch_bs_tx_forward_power_watts",
        "trunkwatch_bs_tx_reflected_power_watts",
        "trunkwatch_bs_vswr_ratio",
        "trunkwatch_bs_rssi_dbm",
        "trunkwatch_bs_noise_floor_dbm",
        "trunkwatch_bs_registered_terminals",
        "trunkwatch_bs_mains_present",
        "trunkwatch_bs_backhaul_up",
    } <= bs


def test_profile_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "broken",
        """\
description: A profile with mistakes.
scalars:
  - name: calls_total
    oid: 1.3.6.1.4.1.32473.1.0
    type: counter
    help: Calls.
  - name: battery_charge_percent
    oid: 1.3.6.1.4.1.32473.2.0
    help: Charge.
  - name: link_state
    oid: not-an-oid
    type: stateset
    help: State.
tables:
  - name: ports
    colour: blue
    metrics:
      - name: port_temperature
        oid: 1.3.6.1.4.1.32473.3.1.2
        unit: celsius
        help: Temperature.
""",
    )
    found = problems(path)
    assert f"{path}:3: scalars[0].name: leave out _total: counters get it" in found
    assert (
        f"{path}:7: scalars[1].name: _percent is not a base unit: use _ratio with scale: 0.01"
        in found
    )
    assert (
        f"{path}:11: scalars[2].oid: expected a numeric OID (1.3.6.1…) or MODULE::object" in found
    )
    assert f"{path}:16: tables[0].colour: unknown key" in found
    assert f"{path}:18: tables[0].metrics[0].name: a metric in celsius must end in _celsius" in (
        found
    )
    assert len(found) == 5, found


def test_semantic_profile_errors_are_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "semantic",
        """\
description: More mistakes.
scalars:
  - name: link_state
    oid: 1.3.6.1.4.1.32473.2.0
    type: stateset
    help: State.
  - name: port_temperature
    oid: 1.3.6.1.4.1.32473.3.0
    unit: celsius
    help: Temperature.
  - name: thing
    oid: 1.3.6.1.4.1.32473.4.0
    decode: float32le
    type: counter
    help: A counter that cannot be decoded.
tables:
  - name: ports
    labels: {site: 1.3.6.1.4.1.32473.5.1.1}
    metrics:
      - {name: port_up, oid: 1.3.6.1.4.1.32473.5.1.2, help: Up.}
""",
    )
    found = problems(path)
    assert f"{path}:3: scalars[0].enum: a stateset metric needs the enum names of its states" in (
        found
    )
    assert f"{path}:7: scalars[1].name: a metric in celsius must end in _celsius" in found
    assert f"{path}:13: scalars[2].decode: not used by a counter metric" in found
    assert (
        f"{path}:18: tables[0].labels.site: label 'site' is reserved "
        "(the exporter or Prometheus sets it)"
    ) in found
    assert len(found) == 4, found


def test_symbolic_names_resolve_through_a_mib_folder(tmp_path: Path) -> None:
    mibs = tmp_path / "mibs"
    mibs.mkdir()
    (mibs / "vendor.mib").write_text(
        """\
TW-TEST-MIB DEFINITIONS ::= BEGIN
IMPORTS MODULE-IDENTITY, OBJECT-TYPE, Integer32, enterprises FROM SNMPv2-SMI;
twTest MODULE-IDENTITY
    LAST-UPDATED "202501010000Z" ORGANIZATION "x" CONTACT-INFO "x" DESCRIPTION "x"
    ::= { enterprises 32473 9 }
twFanSpeed OBJECT-TYPE
    SYNTAX Integer32 MAX-ACCESS read-only STATUS current DESCRIPTION "rpm"
    ::= { twTest 3 }
END
"""
    )
    path = write(
        tmp_path,
        "vendor",
        """\
description: Uses a vendor MIB.
scalars:
  - {name: fan_speed_rpm, oid: "TW-TEST-MIB::twFanSpeed.0", unit: rpm, help: Fan.}
  - {name: sim_busy, oid: "TRUNKWATCH-SIM-MIB::tsimTchBusy.0", help: Busy channels.}
  - {name: missing, oid: "NO-SUCH-MIB::thing.0", help: Missing.}
""",
    )
    resolver = MibResolver([mibs], cache_dir=tmp_path / "cache")
    found = problems(path, resolver)
    assert len(found) == 1
    assert found[0].startswith(
        f"{path}:5: scalars[2].oid: MIB module NO-SUCH-MIB not found in [{mibs}, "
    )
    assert resolver.resolve("TW-TEST-MIB::twFanSpeed.0") == (1, 3, 6, 1, 4, 1, 32473, 9, 3, 0)
    assert resolver.resolve("TRUNKWATCH-SIM-MIB::tsimTchBusy.0") == parse_oid(
        "1.3.6.1.4.1.32473.77.1.1.7.0"
    )
    # A second resolver reads the compiled JSON from the cache, without compiling again.
    again = MibResolver([mibs], cache_dir=tmp_path / "cache")
    assert again.resolve("TW-TEST-MIB::twFanSpeed") == (1, 3, 6, 1, 4, 1, 32473, 9, 3)
    assert list((tmp_path / "cache").glob("TW-TEST-MIB-*.json"))


def test_unknown_profile_is_a_parameter_error_listing_the_available_ones() -> None:
    with pytest.raises(ProbeParamsError) as info:
        create({"profile": ["if_mib", "no_such"]}, timeout=5)
    ((key, reason),) = info.value.problems
    assert key == "profile"
    assert reason.startswith("unknown profile 'no_such' (available: ds1_mib, entity_sensor,")


def test_probe_parameters_accept_yaml_spellings() -> None:
    probe = create({"profile": "if_mib", "version": 2, "label_refresh": "5m"}, timeout=4)
    assert isinstance(probe, SnmpProbe)
    assert probe.params.version == "2c"
    assert probe.params.profile == ("if_mib",)
    assert probe.poller.label_refresh == 300.0
    assert probe.try_timeout == pytest.approx(1.6)
    with pytest.raises(ProbeParamsError) as info:
        create({"profile": "if_mib", "version": "4", "comunity": "x"}, timeout=4)
    assert {key for key, _ in info.value.problems} == {"version", "comunity"}


# ---------------------------------------------------------------------------------------------
# Mapping


async def test_hytera_float32le_reading_decodes_to_its_value() -> None:
    base = "1.3.6.1.4.1.40297.1.2.1.2"
    agent = FakeAgent(
        {
            SYS_UPTIME: ticks(10),
            f"{base}.2.0": (Tag.OCTET_STRING, bytes.fromhex("00005c42")),
            f"{base}.4.0": (Tag.OCTET_STRING, struct.pack("<f", 1.25)),
            f"{base}.9.0": (Tag.INTEGER, -87),
            f"{base}.11.0": (Tag.INTEGER, 1),
        }
    )
    result = await poller(["hytera_repeater"]).poll(agent)
    samples = result.samples
    assert value(samples, "trunkwatch_hytera_pa_temperature_celsius") == 55.0
    assert value(samples, "trunkwatch_hytera_vswr_ratio") == 1.25
    assert value(samples, "trunkwatch_hytera_rssi_dbm", slot="1") == -87
    assert value(samples, "trunkwatch_hytera_supply_type", state="battery") == 1
    assert value(samples, "trunkwatch_hytera_supply_type", state="dc") == 0
    # Objects the repeater does not have are named, except the optional ones.
    assert result.partial["hytera_repeater.hytera_supply_volts"] == "no_such_object"
    assert "hytera_repeater.hytera_fan_speed_rpm" not in result.partial


async def test_entity_sensor_value_is_scaled_by_scale_and_precision() -> None:
    sensor = "1.3.6.1.2.1.99.1.1.1"
    agent = FakeAgent(
        {
            SYS_UPTIME: ticks(10),
            f"{sensor}.1.7": (Tag.INTEGER, 8),  # celsius
            f"{sensor}.2.7": (Tag.INTEGER, 9),  # units
            f"{sensor}.3.7": (Tag.INTEGER, 2),
            f"{sensor}.4.7": (Tag.INTEGER, 3525),
            f"{sensor}.5.7": (Tag.INTEGER, 1),
            f"{sensor}.1.8": (Tag.INTEGER, 4),  # volts DC
            f"{sensor}.2.8": (Tag.INTEGER, 8),  # milli
            f"{sensor}.3.8": (Tag.INTEGER, 0),
            f"{sensor}.4.8": (Tag.INTEGER, 53250),
            f"{sensor}.5.8": (Tag.INTEGER, 3),
            "1.3.6.1.2.1.47.1.1.1.1.7.7": (Tag.OCTET_STRING, b"cabinet"),
        }
    )
    samples = (await poller(["entity_sensor"]).poll(agent)).samples
    assert value(samples, "trunkwatch_entity_sensor_value", index="7") == 35.25
    labels = dict(
        next(
            s.labels
            for s in samples
            if s.family.name == "trunkwatch_entity_sensor_value" and ("index", "7") in s.labels
        )
    )
    assert labels == {"index": "7", "name": "cabinet", "type": "celsius"}
    assert value(samples, "trunkwatch_entity_sensor_value", index="8", type="volts_dc") == 53.25
    assert value(samples, "trunkwatch_entity_sensor_oper_status", index="8", state="ok") == 0
    assert (
        value(samples, "trunkwatch_entity_sensor_oper_status", index="8", state="nonoperational")
        == 1
    )


async def test_ds1_line_status_bitmap_becomes_one_series_per_alarm() -> None:
    config, current = "1.3.6.1.2.1.10.18.6.1", "1.3.6.1.2.1.10.18.7.1"
    objects: dict[str, tuple[int, Value]] = {
        SYS_UPTIME: ticks(10),
        f"{config}.3.1": (Tag.INTEGER, 421),
        f"{config}.5.1": (Tag.INTEGER, 7),
        f"{config}.8.1": (Tag.OCTET_STRING, b"CT-110-E1-01"),
        f"{config}.10.1": (Tag.INTEGER, 96),
    }
    objects.update({f"{current}.{col}.1": (Tag.GAUGE32, col * 10) for col in range(2, 12)})
    samples = (await poller(["ds1_mib"]).poll(FakeAgent(objects))).samples
    status = {
        dict(labels)["status"]: v
        for labels, v in values(samples, "trunkwatch_ds1_line_status").items()
    }
    assert status["lof"] == 1
    assert status["los"] == 1
    assert status["no_alarm"] == 0
    assert sum(status.values()) == 2
    assert value(samples, "trunkwatch_ds1_line_info", line="1", line_type="e1_crc_mf") == 1
    assert value(samples, "trunkwatch_ds1_interval_elapsed_seconds", circuit="CT-110-E1-01") == 421
    assert value(samples, "trunkwatch_ds1_current_severely_errored_seconds", line="1") == 30
    assert value(samples, "trunkwatch_ds1_current_degraded_seconds", line="1") == 100 * 60
    assert all(
        s.family.type == "gauge" for s in samples if s.family.name.startswith("trunkwatch_ds1")
    )


async def test_interface_labels_join_name_and_alias_onto_64_bit_counters() -> None:
    agent = FakeAgent(interfaces())
    result = await poller(["if_mib"]).poll(agent)
    samples = result.samples
    received = values(samples, "trunkwatch_if_receive_bytes_total")
    assert received == {
        (("index", "1"), ("name", "eth0"), ("descr", "descr 1"), ("alias", "uplink 1")): 10**12 + 1,
        (("index", "2"), ("name", "eth1"), ("descr", "descr 2"), ("alias", "uplink 2")): 10**12 + 2,
    }
    assert value(samples, "trunkwatch_if_oper_status", index="2", state="down") == 1
    assert value(samples, "trunkwatch_if_oper_status", index="2", state="up") == 0
    assert value(samples, "trunkwatch_if_oper_status", index="1", state="up") == 1
    assert value(samples, "trunkwatch_if_speed_bytes_per_second", index="1") == 125_000_000
    assert value(samples, "trunkwatch_if_receive_errors_total", name="eth1") == 6
    assert result.partial == {}
    # sysUpTime and the 4 system-group objects, 7 ifTable and 3 ifXTable columns of 2 rows,
    # and 3 label columns: the 64-bit column answered for every row, so the 32-bit fallback
    # columns were never walked.
    assert value(samples, "trunkwatch_snmp_varbinds") == 1 + 4 + 2 * (7 + 3) + 2 * 3


async def test_what_a_device_keeps_by_row_holds_one_index_object_per_row() -> None:
    # Each column read brings its own index objects; kept by row (labels, label values,
    # counters, label caches) they would be one per column and mapper instead of one per row,
    # and the counter rows, which outlive label refreshes, would keep those of the first.
    clock = ManualClock()
    agent = FakeAgent(interfaces(uptime=100))
    polling = poller(["if_mib"], clock, label_refresh=900)
    await polling.poll(agent)
    for uptime in (200, 1200, 2200):  # a poll without a refresh, then two refreshes
        await clock.advance(uptime - 100 if uptime == 200 else 1000)
        agent.set(interfaces(uptime=uptime, in_octets=uptime))
        await polling.poll(agent)
        state = polling.state
        kept = [
            *(i for rows in state.rows.values() for i in rows if i),
            *(i for by_index in state.label_values.values() for i in by_index),
            *(i for rows in state.counters.values() for i in rows),
            *(i for cache in state.label_cache.values() for i in cache),
        ]
        assert set(kept) == {(1,), (2,)}
        assert len({id(i) for i in kept}) == 2, uptime
        assert len(kept) > 20


async def test_counter32_wraps_are_accumulated_and_never_go_down() -> None:
    clock = ManualClock()
    probe = poller(["if_mib"], clock)
    agent = FakeAgent(interfaces(hc=False, in_octets=2**32 - 1001, uptime=100))
    first = (await probe.poll(agent)).samples
    assert value(first, "trunkwatch_if_receive_bytes_total", index="1") == 2**32 - 1000
    for elapsed, raw in ((60, 999), (120, 5999)):  # wrapped, then grew
        await clock.advance(60)
        agent.set(interfaces(hc=False, in_octets=raw, uptime=100 + elapsed))
        samples = (await probe.poll(agent)).samples
    assert value(samples, "trunkwatch_if_receive_bytes_total", index="1") == 2**32 - 1000 + 7000
    assert value(samples, "trunkwatch_snmp_device_reboots_total") == 0
    assert value(samples, "trunkwatch_snmp_uptime_seconds") == 220


async def test_a_row_moving_between_its_64_and_32_bit_columns_adds_nothing_that_interval() -> None:
    clock = ManualClock()
    probe = poller(["if_mib"], clock)
    agent = FakeAgent(interfaces(uptime=100))
    first = (await probe.poll(agent)).samples
    total = 10**12 + 1  # ifHCInOctets.1
    assert value(first, "trunkwatch_if_receive_bytes_total", index="1") == total
    # The agent stops answering the 64-bit column: its 32-bit value is no measure of what
    # came in since, so nothing is added; then the 32-bit column's growth is.
    for uptime, in_octets, added in ((160, 5000, 0), (220, 5500, 500), (280, 7000, 1500)):
        await clock.advance(60)
        agent.set(interfaces(hc=False, in_octets=in_octets, uptime=uptime))
        samples = (await probe.poll(agent)).samples
        total += added
        assert value(samples, "trunkwatch_if_receive_bytes_total", index="1") == total, uptime
    # And back: nothing added for the interval in which it moved.
    await clock.advance(60)
    agent.set(interfaces(uptime=340))
    samples = (await probe.poll(agent)).samples
    assert value(samples, "trunkwatch_if_receive_bytes_total", index="1") == total


async def test_agent_restart_resets_counters_recounts_reboots_and_rereads_labels() -> None:
    clock = ManualClock()
    probe = poller(["if_mib"], clock)
    agent = FakeAgent(interfaces(hc=False, in_octets=2**32 - 1001, uptime=5000))
    await probe.poll(agent)
    await clock.advance(60)
    agent.set(interfaces(hc=False, in_octets=999, uptime=5060))
    wrapped = (await probe.poll(agent)).samples
    assert value(wrapped, "trunkwatch_if_receive_bytes_total", index="1") == 2**32 + 1000

    await clock.advance(60)
    agent.set(interfaces(in_octets=500, uptime=30, names=("ge0", "ge1")))
    samples = (await probe.poll(agent)).samples
    assert value(samples, "trunkwatch_snmp_device_reboots_total") == 1
    assert value(samples, "trunkwatch_snmp_uptime_seconds") == 30
    # Counters start again from the device's own values (here from the 64-bit column now
    # present), and the new interface names show at once, not at the next label refresh.
    assert value(samples, "trunkwatch_if_receive_bytes_total", index="1", name="ge0") == 10**12 + 1


async def test_labels_are_reread_only_when_the_refresh_is_due() -> None:
    clock = ManualClock()
    probe = poller(["if_mib"], clock, label_refresh=900)
    agent = FakeAgent(interfaces(uptime=100))
    await probe.poll(agent)
    await clock.advance(300)
    agent.set(interfaces(uptime=400, names=("wan", "lan")))
    stale = (await probe.poll(agent)).samples
    assert value(stale, "trunkwatch_if_admin_status", index="1", state="up", name="eth0") == 1
    await clock.advance(600)
    agent.set(interfaces(uptime=1000, names=("wan", "lan")))
    fresh = (await probe.poll(agent)).samples
    assert value(fresh, "trunkwatch_if_admin_status", index="1", state="up", name="wan") == 1


class SlowAgent(FakeAgent):
    """A FakeAgent whose every GET takes a second of ``clock``, as round trips do."""

    def __init__(self, objects: dict[str, tuple[int, Value]], clock: ManualClock) -> None:
        super().__init__(objects)
        self.clock = clock

    async def get(self, oids: Sequence[OID]) -> list[VarBind]:
        await self.clock.advance(1.0)
        return await super().get(oids)


async def test_the_label_refresh_counts_from_the_start_of_the_poll_that_refreshed() -> None:
    # Polls start 60 s apart (the third half a second early, as after a late one) and take
    # some seconds each. Counted from when the refresh ended (118.5 s before the third poll),
    # or with no slack for the early start, 120 s would be every third poll.
    clock = ManualClock()
    probe = poller(["if_mib"], clock, label_refresh=120, tolerance=1.0)
    agent = SlowAgent(interfaces(uptime=100), clock)
    shown = []
    for start in (0.0, 60.0, 119.5):
        await clock.advance(1000.0 + start - clock.monotonic())
        agent.set(interfaces(uptime=100 + start, names=(f"at{start:g}", "lan")))
        samples = (await probe.poll(agent)).samples
        shown.append(values(samples, "trunkwatch_if_admin_status"))
    names = [{dict(labels)["name"] for labels in poll} for poll in shown]
    assert names == [{"at0", "lan"}, {"at0", "lan"}, {"at119.5", "lan"}]


async def test_a_refresh_comes_early_by_a_tenth_of_label_refresh_at_most() -> None:
    # A probe timeout near the interval must not make every poll a refresh: with 90 s at a
    # 60 s interval and a 31 s tolerance, the labels are read at every second poll.
    clock = ManualClock()
    probe = poller(["if_mib"], clock, label_refresh=90, tolerance=31.0)
    agent = FakeAgent(interfaces(uptime=100))
    refreshed = []
    for poll in range(5):
        if poll:
            await clock.advance(60)
        agent.set(interfaces(uptime=100 + 60 * poll, names=(f"p{poll}", "lan")))
        samples = (await probe.poll(agent)).samples
        names = {dict(labels)["name"] for labels in values(samples, "trunkwatch_if_admin_status")}
        refreshed.append(f"p{poll}" in names)
    assert refreshed == [True, False, True, False, True]


async def test_a_new_row_gets_its_labels_in_the_same_poll() -> None:
    clock = ManualClock()
    probe = poller(["if_mib"], clock)
    agent = FakeAgent(interfaces(uptime=100))
    await probe.poll(agent)
    await clock.advance(60)
    agent.update(
        {
            SYS_UPTIME: ticks(160),
            f"{IF_ENTRY}.7.9": (Tag.INTEGER, 1),
            f"{IF_ENTRY}.8.9": (Tag.INTEGER, 1),
            f"{IFX_ENTRY}.1.9": (Tag.OCTET_STRING, b"vlan110"),
            f"{IFX_ENTRY}.6.9": (Tag.COUNTER64, 7),
        }
    )
    samples = (await probe.poll(agent)).samples
    assert value(samples, "trunkwatch_if_receive_bytes_total", index="9", name="vlan110") == 7


async def test_one_failing_subtree_is_partial_and_the_rest_is_kept() -> None:
    agent = FakeAgent(interfaces(), failing={f"{IFX_ENTRY}.6": ProbeTimeout("no reply")})
    result = await poller(["if_mib", "host_resources"]).poll(agent)
    # The HC counters share GETBULKs with the rest of the interface table, so that batch fails.
    assert result.partial["if_mib.interfaces.if_receive_bytes"] == "timeout"
    assert result.partial["host_resources.host_uptime_seconds"] == "no_such_object"
    assert result.partial["host_resources.processors.host_processor_load_ratio"] == (
        "no_such_object"
    )
    assert value(result.samples, "trunkwatch_snmp_uptime_seconds") == 100
    assert not values(result.samples, "trunkwatch_if_receive_bytes_total")


async def test_a_missing_table_leaves_the_other_tables_alone_over_single_walks() -> None:
    objects = interfaces()
    agent = FakeAgent(objects, version="1")
    result = await poller(["if_mib", "host_resources"]).poll(agent)
    assert result.partial["host_resources.storage.host_storage_size_bytes"] == "no_such_object"
    assert value(result.samples, "trunkwatch_if_receive_bytes_total", index="2") == 10**12 + 2


async def test_an_agent_that_answers_nothing_fails_with_the_first_error() -> None:
    agent = FakeAgent(interfaces(), failing={"1.3": ProbeTimeout("no reply from 192.0.2.1")})
    with pytest.raises(ProbeTimeout):
        await poller(["if_mib"]).poll(agent)
    assert agent.requests == 1  # the first GET failed, so nothing else waited for a timeout


async def test_storage_is_counted_in_bytes_through_its_allocation_units() -> None:
    storage = "1.3.6.1.2.1.25.2.3.1"
    agent = FakeAgent(
        {
            SYS_UPTIME: ticks(10),
            "1.3.6.1.2.1.25.1.1.0": ticks(123.45),
            f"{storage}.2.31": (Tag.OBJECT_IDENTIFIER, parse_oid("1.3.6.1.2.1.25.2.1.4")),
            f"{storage}.3.31": (Tag.OCTET_STRING, b"/"),
            f"{storage}.4.31": (Tag.INTEGER, 4096),
            f"{storage}.5.31": (Tag.INTEGER, 1000),
            f"{storage}.6.31": (Tag.INTEGER, 250),
        }
    )
    samples = (await poller(["host_resources"]).poll(agent)).samples
    assert value(samples, "trunkwatch_host_storage_used_bytes", descr="/", type="fixed_disk") == (
        250 * 4096
    )
    assert value(samples, "trunkwatch_host_storage_size_bytes", index="31") == 4_096_000
    assert value(samples, "trunkwatch_host_uptime_seconds") == pytest.approx(123.45)


async def test_base_station_profile_maps_the_simulator_mib() -> None:
    base = "1.3.6.1.4.1.32473.77.1"
    agent = FakeAgent(
        {
            SYS_UPTIME: ticks(10),
            f"{base}.1.1.0": (Tag.OCTET_STRING, b"bs-xingning"),
            f"{base}.1.2.0": (Tag.OCTET_STRING, "兴宁基站".encode()),
            f"{base}.1.5.0": (Tag.GAUGE32, 7),
            f"{base}.1.7.0": (Tag.GAUGE32, 3),
            f"{base}.1.15.0": (Tag.COUNTER64, 86400),
            f"{base}.2.1.2.1": (Tag.INTEGER, 1),
            f"{base}.2.1.2.2": (Tag.INTEGER, 2),
            f"{base}.2.1.3.1": (Tag.GAUGE32, 50000),
            f"{base}.2.1.4.1": (Tag.GAUGE32, 1000),
            f"{base}.2.1.5.1": (Tag.GAUGE32, 133),
            f"{base}.3.1.2.1.2": (Tag.INTEGER, -95),
            f"{base}.4.1.0": (Tag.INTEGER, 2),
            f"{base}.5.1.0": (Tag.INTEGER, 1),
        }
    )
    samples = (await poller(["trunked_bs"]).poll(agent)).samples
    assert (
        value(samples, "trunkwatch_bs_site_info", site_id="bs-xingning", site_name="兴宁基站") == 1
    )
    assert value(samples, "trunkwatch_bs_traffic_channels") == 7
    assert value(samples, "trunkwatch_bs_channel_seconds_total") == 86400
    assert value(samples, "trunkwatch_bs_carrier_up", carrier="1") == 1
    assert value(samples, "trunkwatch_bs_carrier_up", carrier="2") == 0
    assert value(samples, "trunkwatch_bs_tx_forward_power_watts", carrier="1") == 50.0
    assert value(samples, "trunkwatch_bs_vswr_ratio", carrier="1") == pytest.approx(1.33)
    assert value(samples, "trunkwatch_bs_rssi_dbm", carrier="1", path="diversity") == -95
    assert value(samples, "trunkwatch_bs_mains_present") == 0
    assert value(samples, "trunkwatch_bs_backhaul_up") == 1


# ---------------------------------------------------------------------------------------------
# Pieces


def test_uptime_wrap_is_not_a_restart_but_going_back_is() -> None:
    tracker = UptimeTracker()
    assert not tracker.observe(2**32 - 3000, now=0.0, tolerance=5)
    assert not tracker.observe(3000, now=60.0, tolerance=5)  # 497 days: the counter wrapped
    assert tracker.wraps == 1
    assert tracker.seconds == pytest.approx((2**32 + 3000) / 100)
    assert tracker.observe(500, now=120.0, tolerance=5)  # back to 5 s: restarted
    assert tracker.restarts == 1
    assert tracker.seconds == 5.0
    # Young at the last poll and barely older now: it restarted in between.
    assert tracker.observe(1000, now=180.0, tolerance=5)
    assert tracker.restarts == 2


def test_index_parts_decode_strings_and_addresses() -> None:
    parts = [IndexPart("name", "string"), IndexPart("address", "ipv4")]
    assert decode_index(parts, (3, 0x77, 0x61, 0x6E, 192, 0, 2, 7)) == (
        ("name", "wan"),
        ("address", "192.0.2.7"),
    )
    # An index that does not fit is shown whole rather than mislabelled.
    assert decode_index(parts, (9, 1)) == (("name", "9.1"),)


# ---------------------------------------------------------------------------------------------
# What real agents get wrong (tests/corpus has the recordings these cases come from)

GBIT = 1_000_000_000


@pytest.mark.parametrize(
    ("if_speed", "if_high_speed", "expected_bits"),
    [
        pytest.param(100_000_000, None, 100_000_000, id="no-ifxtable"),
        pytest.param(GBIT, 0, GBIT, id="high-speed-zero"),
        pytest.param(100_000_000, 100_000_000, 100_000_000, id="high-speed-in-bits"),
        pytest.param(10_000_000, 100, 10_000_000, id="high-speed-ten-times"),
        pytest.param(GBIT, 10_000, GBIT, id="disagree-by-ten"),
        pytest.param(2**32 - 1, 10_000, 10 * GBIT, id="saturated"),
        pytest.param(2**32 - 2, 8_000, 8 * GBIT, id="one-below-saturated"),
        pytest.param(10 * GBIT % 2**32, 10_000, 10 * GBIT, id="wrapped-not-saturated"),
        pytest.param(0, 100, 100_000_000, id="speed-unknown"),
        pytest.param(0, 0, 0, id="both-zero"),
        pytest.param(2**32 - 1, None, 2**32 - 1, id="saturated-without-twin"),
        pytest.param(None, 40_000, 40 * GBIT, id="only-high-speed"),
    ],
)
async def test_interface_speed_follows_rfc_2863(
    if_speed: int | None, if_high_speed: int | None, expected_bits: int
) -> None:
    objects = interfaces()
    for i in (1, 2):
        del objects[f"{IF_ENTRY}.5.{i}"]
        del objects[f"{IFX_ENTRY}.15.{i}"]
    if if_speed is not None:
        objects[f"{IF_ENTRY}.5.1"] = (Tag.GAUGE32, if_speed)
    if if_high_speed is not None:
        objects[f"{IFX_ENTRY}.15.1"] = (Tag.GAUGE32, if_high_speed)
    result = await poller(["if_mib"]).poll(FakeAgent(objects))
    assert values(result.samples, "trunkwatch_if_speed_bytes_per_second") == {
        (("index", "1"), ("name", "eth0"), ("descr", "descr 1"), ("alias", "uplink 1")): (
            expected_bits / 8
        )
    }
    assert result.partial == {}


def ups(**objects: tuple[int, Value]) -> dict[str, tuple[int, Value]]:
    """A UPS-MIB agent on mains with the given battery objects (upsBattery.N.0 as ``bN``)."""
    out: dict[str, tuple[int, Value]] = {
        SYS_UPTIME: ticks(100),
        "1.3.6.1.2.1.33.1.2.1.0": (Tag.INTEGER, 2),
        "1.3.6.1.2.1.33.1.4.1.0": (Tag.INTEGER, 3),
    }
    out.update({f"1.3.6.1.2.1.33.1.2.{key[1:]}.0": v for key, v in objects.items()})
    return out


async def test_values_outside_the_mib_range_are_dropped_and_counted() -> None:
    clock = ManualClock()
    probe = poller(["ups_mib"], clock)
    # Huawei UPS5000: -1 for "no estimate"; phoenixtec: 0 minutes at 100 % charge.
    agent = FakeAgent(ups(b3=(Tag.INTEGER, -1), b4=(Tag.INTEGER, -1), b5=(Tag.INTEGER, 5385)))
    first = await probe.poll(agent)
    assert not values(first.samples, "trunkwatch_ups_battery_runtime_seconds")
    assert not values(first.samples, "trunkwatch_ups_battery_charge_ratio")
    assert value(first.samples, "trunkwatch_ups_battery_volts") == pytest.approx(538.5)
    invalid = "trunkwatch_snmp_invalid_values_total"
    assert value(first.samples, invalid, object="ups_mib.ups_battery_runtime_seconds") == 1
    assert value(first.samples, invalid, object="ups_mib.ups_battery_charge_ratio") == 1
    assert value(first.samples, invalid, object="ups_mib.ups_battery_volts") == 0
    # A dropped value is neither missing from the agent nor malformed.
    assert "ups_mib.ups_battery_runtime_seconds" not in first.partial
    await clock.advance(60)
    agent.set(ups(b3=(Tag.INTEGER, 0), b4=(Tag.INTEGER, 100), b5=(Tag.INTEGER, 5385)))
    second = await probe.poll(agent)
    assert value(second.samples, invalid, object="ups_mib.ups_battery_runtime_seconds") == 2
    assert value(second.samples, "trunkwatch_ups_battery_charge_ratio") == 1.0
    await clock.advance(60)
    agent.set(ups(b3=(Tag.INTEGER, 42), b4=(Tag.INTEGER, 100), b5=(Tag.INTEGER, 5385)))
    third = await probe.poll(agent)
    assert value(third.samples, "trunkwatch_ups_battery_runtime_seconds") == 42 * 60
    assert value(third.samples, invalid, object="ups_mib.ups_battery_runtime_seconds") == 2


async def test_xups_maps_onto_the_ups_series_and_drops_its_unknown_sentinel() -> None:
    xups = "1.3.6.1.4.1.534.1"
    objects: dict[str, tuple[int, Value]] = {
        SYS_UPTIME: ticks(100),
        f"{xups}.1.1.0": (Tag.OCTET_STRING, b"EATON"),
        f"{xups}.1.2.0": (Tag.OCTET_STRING, b"Eaton 9PX 2200i RT 3U"),
        f"{xups}.2.1.0": (Tag.INTEGER, 17218),
        f"{xups}.2.2.0": (Tag.INTEGER, 78),
        f"{xups}.2.4.0": (Tag.INTEGER, 100),
        f"{xups}.3.1.0": (Tag.INTEGER, 500),
        f"{xups}.3.4.1.2.1": (Tag.INTEGER, 243),
        f"{xups}.4.1.0": (Tag.INTEGER, 9),
        f"{xups}.4.4.1.2.1": (Tag.INTEGER, 231),
        f"{xups}.4.5.0": (Tag.INTEGER, 5),
        f"{xups}.7.1.0": (Tag.GAUGE32, 1),
    }
    result = await poller(["xups_mib"]).poll(FakeAgent(objects))
    s = result.samples
    assert value(s, "trunkwatch_ups_battery_runtime_seconds") == 17218
    assert value(s, "trunkwatch_ups_battery_charge_ratio") == 1.0
    assert value(s, "trunkwatch_ups_input_frequency_hertz") == 50.0
    assert value(s, "trunkwatch_ups_input_volts", line="1") == 243
    assert value(s, "trunkwatch_ups_output_load_ratio") == 0.09
    assert value(s, "trunkwatch_ups_output_source", state="battery") == 1
    assert value(s, "trunkwatch_ups_alarms_present") == 1
    assert value(s, "trunkwatch_ups_identity_info", model="Eaton 9PX 2200i RT 3U") == 1
    assert result.partial == {}
    # The same families as ups_mib, so the same alerts and boards work.
    library = ProfileLibrary()
    shared = {f.name for f in library.profile("xups_mib").families} & {
        f.name for f in library.profile("ups_mib").families
    }
    assert {
        "trunkwatch_ups_battery_runtime_seconds",
        "trunkwatch_ups_battery_charge_ratio",
        "trunkwatch_ups_output_source",
        "trunkwatch_ups_input_volts",
        "trunkwatch_ups_output_volts",
        "trunkwatch_ups_alarms_present",
    } <= shared
    # Eaton 93E: 65535 s means the card has no estimate.
    objects[f"{xups}.2.1.0"] = (Tag.INTEGER, 65535)
    again = await poller(["xups_mib"]).poll(FakeAgent(objects))
    assert not values(again.samples, "trunkwatch_ups_battery_runtime_seconds")
    assert (
        value(
            again.samples,
            "trunkwatch_snmp_invalid_values_total",
            object="xups_mib.ups_battery_runtime_seconds",
        )
        == 1
    )


async def test_a_wrong_typed_value_is_a_malformed_part_not_a_silent_gap() -> None:
    objects = interfaces()
    objects[f"{IFX_ENTRY}.6.1"] = (Tag.OCTET_STRING, b"1234")  # where a Counter64 belongs
    objects["1.3.6.1.2.1.2.2.1.8.2"] = (Tag.OBJECT_IDENTIFIER, (1, 3, 6))
    result = await poller(["if_mib"]).poll(FakeAgent(objects))
    assert result.partial == {
        "if_mib.interfaces.if_receive_bytes": "malformed",
        "if_mib.interfaces.if_oper_status": "malformed",
    }
    # The rows with good values are kept.
    assert set(values(result.samples, "trunkwatch_if_receive_bytes_total")) == {
        (("index", "2"), ("name", "eth1"), ("descr", "descr 2"), ("alias", "uplink 2"))
    }
    assert value(result.samples, "trunkwatch_if_oper_status", index="1", state="up") == 1


async def test_text_that_is_not_utf8_is_read_as_gb18030_or_the_asset_charset() -> None:
    objects = interfaces()
    objects["1.3.6.1.2.1.1.6.0"] = (Tag.OCTET_STRING, "中文".encode("gbk"))  # Ruijie S5750
    objects["1.3.6.1.2.1.1.5.0"] = (Tag.OCTET_STRING, "江北基站".encode())
    objects[f"{IFX_ENTRY}.18.1"] = (Tag.OCTET_STRING, "至江北 E1".encode("gb18030"))
    samples = (await poller(["if_mib"]).poll(FakeAgent(objects))).samples
    assert value(samples, "trunkwatch_snmp_system_info", location="中文", name="江北基站") == 1
    assert value(samples, "trunkwatch_if_oper_status", index="1", state="up") == 1
    assert value(samples, "trunkwatch_if_receive_bytes_total", alias="至江北 E1") == 10**12 + 1
    # An asset configured for Big5 reads its octets as Big5.
    objects["1.3.6.1.2.1.1.6.0"] = (Tag.OCTET_STRING, "機房".encode("big5"))
    big5 = (await poller(["if_mib"]).poll(FakeAgent(objects), charset="big5")).samples
    assert value(big5, "trunkwatch_snmp_system_info", location="機房") == 1


async def test_an_agent_without_any_of_the_profiles_objects_fails_with_no_such_object() -> None:
    # A switch polled as a UPS: only the system group answers.
    objects = interfaces()
    objects["1.3.6.1.2.1.1.1.0"] = (Tag.OCTET_STRING, b"S5720")
    with pytest.raises(NoSuchObject, match="ups_mib"):
        await poller(["ups_mib"]).poll(FakeAgent(objects))
    with pytest.raises(NoSuchObject, match="ups_mib, xups_mib"):
        await poller(["ups_mib", "xups_mib"]).poll(FakeAgent(objects))
    # With a profile that does answer, the absent one is a partial failure.
    result = await poller(["if_mib", "ups_mib"]).poll(FakeAgent(objects))
    assert result.partial["ups_mib.ups_battery_status"] == "no_such_object"
    assert not any(part.startswith("if_mib") for part in result.partial)
    # A walk that timed out is not absence: the parts say what happened.
    failing = FakeAgent(objects, failing={"1.3.6.1.2.1.33.1.4.4": ProbeTimeout("no reply")})
    partial = await poller(["ups_mib"]).poll(failing)
    assert partial.partial["ups_mib.output"] == "timeout"
    assert partial.partial["ups_mib.ups_battery_status"] == "no_such_object"


def test_range_high_capacity_and_invalid_are_checked_when_a_profile_loads(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "ranges",
        """\
description: Range mistakes.
scalars:
  - {name: charge_ratio, oid: 1.3.6.1.4.1.32473.1.0, range: [100, 0], help: Charge.}
  - name: line_speed_bytes_per_second
    oid: 1.3.6.1.4.1.32473.2.0
    high_capacity: {oid: 1.3.6.1.4.1.32473.3.0, factor: 1000000}
    fallback: 1.3.6.1.4.1.32473.4.0
    help: Speed.
  - name: alarm_bits
    oid: 1.3.6.1.4.1.32473.5.0
    bits: {0: fan}
    range: [0, 1]
    help: Alarms.
  - {name: calls, oid: 1.3.6.1.4.1.32473.6.0, type: counter, invalid: [0], help: Calls.}
""",
    )
    found = problems(path)
    assert f"{path}:3: scalars[0].range: expected [low, high] with low <= high" in found
    assert f"{path}:7: scalars[1].fallback: not used with high_capacity" in found
    assert f"{path}:12: scalars[2].range: not used with bits" in found
    assert f"{path}:14: scalars[3].invalid: not used by a counter metric" in found
    assert len(found) == 4, found


def test_asset_charset_is_validated_and_reaches_the_probe_target(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    body = """\
sites: [{{id: hq, name: 中心}}]
assets:
  - {{id: sw, site: hq, system: network, kind: switch, address: 127.0.0.1, charset: {charset}}}
"""
    config.write_text(body.format(charset="GBK"), encoding="utf-8")
    assets = build_inventory(load_config(config)).assets
    assert assets["sw"].target.charset == "gbk"
    config.write_text(body.format(charset="klingon"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert [str(p) for p in info.value.problems] == [
        f"{config}:3: assets[0].charset: unknown character set 'klingon'"
    ]


async def test_a_state_follows_its_row_poll_after_poll_whatever_the_device_sends() -> None:
    clock = ManualClock()
    probe = poller(["if_mib"], clock)
    agent = FakeAgent(interfaces(uptime=100))
    oper = f"{IF_ENTRY}.8.2"
    states = ("up", "down", "testing", "unknown", "dormant", "not_present", "lower_layer_down")
    # down, up, down again, then values the profile does not name (all states 0), more of
    # them than a row keeps; then back to a named one.
    for step, raw in enumerate([2, 1, 2, *range(100, 140), 7, 1]):
        await clock.advance(15)
        agent.update({SYS_UPTIME: ticks(100 + 15 * (step + 1)), oper: (Tag.INTEGER, raw)})
        samples = (await probe.poll(agent)).samples
        for code, state in enumerate(states, start=1):
            got = value(samples, "trunkwatch_if_oper_status", index="2", state=state)
            assert got == (1 if code == raw else 0), (step, raw, state)
        assert value(samples, "trunkwatch_if_oper_status", index="1", state="up") == 1

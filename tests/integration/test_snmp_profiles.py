"""SNMP profiles polled by SnmpProbe from a real net-snmp snmpd.

What the probe exports must equal what ``snmpbulkwalk -On`` prints at nearly the same moment
(exactly for states, names and sizes; counters within a small delta). UPS-MIB, DS1-MIB,
ENTITY-SENSOR-MIB and HYTERA-REPEATER-MIB rows, which snmpd does not implement, are served
through ``pass_persist`` by ``tests/integration/pass_persist_agent.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.config import load_config
from monitor.core.addresses import split_address
from monitor.core.clock import ManualClock
from monitor.inventory import Asset, Job
from monitor.scheduler import run_once
from monitor.simulator.agent import SnmpAgent
from monitor.simulator.fleet import DEFAULT_FLEET, Fleet
from probes.base import ProbeTimeout, Sample, Target
from probes.snmp import close_shared_sessions, create
from probes.snmp.codec import OID, parse_oid
from tests.integration.snmpd import SnmpdInstance, start_snmpd

pytestmark = pytest.mark.integration

AGENT = Path(__file__).with_name("pass_persist_agent.py")
REPO = Path(__file__).resolve().parents[2]
IF_ENTRY = "1.3.6.1.2.1.2.2.1"
IFX_ENTRY = "1.3.6.1.2.1.31.1.1.1"
STORAGE = "1.3.6.1.2.1.25.2.3.1"

#: Rows snmpd does not implement, served through pass_persist (net-snmp pass types).
PASSED: dict[str, list[object]] = {
    # UPS-MIB: on battery, 87 % charge, 42 minutes left, 54.3 V, two input lines, one output.
    "1.3.6.1.2.1.33.1.2.1.0": ["integer", 3],
    "1.3.6.1.2.1.33.1.2.2.0": ["integer", 310],
    "1.3.6.1.2.1.33.1.2.3.0": ["integer", 42],
    "1.3.6.1.2.1.33.1.2.4.0": ["integer", 87],
    "1.3.6.1.2.1.33.1.2.5.0": ["integer", 543],
    "1.3.6.1.2.1.33.1.2.7.0": ["integer", 31],
    "1.3.6.1.2.1.33.1.3.3.1.2.1": ["integer", 500],
    "1.3.6.1.2.1.33.1.3.3.1.3.1": ["integer", 0],
    "1.3.6.1.2.1.33.1.3.3.1.3.2": ["integer", 229],
    "1.3.6.1.2.1.33.1.4.1.0": ["integer", 5],
    "1.3.6.1.2.1.33.1.4.4.1.2.1": ["integer", 230],
    "1.3.6.1.2.1.33.1.4.4.1.5.1": ["integer", 64],
    "1.3.6.1.2.1.33.1.6.1.0": ["gauge", 2],
    # DS1-MIB: line 1 in LOF + LOS (96), line 2 healthy (1).
    "1.3.6.1.2.1.10.18.6.1.3.1": ["integer", 421],
    "1.3.6.1.2.1.10.18.6.1.3.2": ["integer", 421],
    "1.3.6.1.2.1.10.18.6.1.5.1": ["integer", 7],
    "1.3.6.1.2.1.10.18.6.1.5.2": ["integer", 7],
    "1.3.6.1.2.1.10.18.6.1.8.1": ["string", "CT-110-E1-01"],
    "1.3.6.1.2.1.10.18.6.1.8.2": ["string", "CT-110-E1-02"],
    "1.3.6.1.2.1.10.18.6.1.10.1": ["integer", 96],
    "1.3.6.1.2.1.10.18.6.1.10.2": ["integer", 1],
    **{f"1.3.6.1.2.1.10.18.7.1.{c}.1": ["gauge", 100 + c] for c in range(2, 12)},
    **{f"1.3.6.1.2.1.10.18.7.1.{c}.2": ["gauge", 0] for c in range(2, 12)},
    # ENTITY-SENSOR-MIB: a cabinet temperature of 35.25 °C and a 53.25 V DC bus.
    "1.3.6.1.2.1.99.1.1.1.1.7": ["integer", 8],
    "1.3.6.1.2.1.99.1.1.1.2.7": ["integer", 9],
    "1.3.6.1.2.1.99.1.1.1.3.7": ["integer", 2],
    "1.3.6.1.2.1.99.1.1.1.4.7": ["integer", 3525],
    "1.3.6.1.2.1.99.1.1.1.5.7": ["integer", 1],
    "1.3.6.1.2.1.99.1.1.1.1.8": ["integer", 4],
    "1.3.6.1.2.1.99.1.1.1.2.8": ["integer", 8],
    "1.3.6.1.2.1.99.1.1.1.3.8": ["integer", 0],
    "1.3.6.1.2.1.99.1.1.1.4.8": ["integer", 53250],
    "1.3.6.1.2.1.99.1.1.1.5.8": ["integer", 1],
    "1.3.6.1.2.1.47.1.1.1.1.7.7": ["string", "cabinet"],
    "1.3.6.1.2.1.47.1.1.1.1.7.8": ["string", "dc bus"],
    # HYTERA-REPEATER-MIB: float32le readings in 4-byte OCTET STRINGs.
    "1.3.6.1.4.1.40297.1.2.1.1.6.0": ["integer", 1],
    "1.3.6.1.4.1.40297.1.2.1.2.1.0": ["octet", "00 00 50 41"],
    "1.3.6.1.4.1.40297.1.2.1.2.2.0": ["octet", "00 00 5c 42"],
    "1.3.6.1.4.1.40297.1.2.1.2.4.0": ["octet", "00 00 c0 3f"],
}
PASSED_SUBTREES = (
    "1.3.6.1.2.1.33",
    "1.3.6.1.2.1.10.18",
    "1.3.6.1.2.1.99",
    "1.3.6.1.2.1.47",
    "1.3.6.1.4.1.40297",
)


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpdInstance]:
    """snmpd with the pass_persist rows, and a community ``no-ifx`` whose view hides ifXTable
    and UPS-MIB (an agent without 64-bit counters, and a device lacking a profile's MIB)."""
    tmp = tmp_path_factory.mktemp("snmpd-profiles")
    objects = tmp / "objects.json"
    objects.write_text(json.dumps(PASSED))
    lines = [
        f"pass_persist .{subtree} {sys.executable} {AGENT} {objects}" for subtree in PASSED_SUBTREES
    ]
    lines += [
        "view noifx included .1.3.6.1",
        "view noifx excluded .1.3.6.1.2.1.31",
        "view noifx excluded .1.3.6.1.2.1.33",
        "rocommunity no-ifx 127.0.0.1 -V noifx",
    ]
    with start_snmpd(tmp, "\n".join(lines)) as instance:
        yield instance


@pytest.fixture(autouse=True)
async def shared_sessions() -> AsyncIterator[None]:
    """The probe's process-wide client lives on the test's loop: close it with the loop."""
    yield
    await close_shared_sessions()


def target(agent: SnmpdInstance, **secrets: str) -> Target:
    return Target("test-agent", agent.host, agent.port, secrets or {"community": agent.community})


def walk(agent: SnmpdInstance, oid: str, *options: str) -> dict[OID, int | bytes | OID]:
    """``snmpbulkwalk -On`` of ``oid``: OID → integer, octets (printed in hex) or OID."""
    out: dict[OID, int | bytes | OID] = {}
    text = agent.run_tool("snmpbulkwalk", *options, "-On", "-Oq", "-Ot", "-Ox", oid)
    # Long hex strings continue on the following lines.
    entries: list[str] = []
    for line in text.splitlines():
        if line.startswith(".") or not entries:
            entries.append(line)
        else:
            entries[-1] += " " + line.strip()
    for entry in entries:
        name, _, raw = entry.partition(" ")
        if not name.startswith(".") or raw.startswith("No Such"):
            continue
        if raw.startswith('"'):
            out[parse_oid(name)] = bytes.fromhex(raw.replace('"', ""))
        elif raw.startswith("."):
            out[parse_oid(name)] = parse_oid(raw)
        else:
            out[parse_oid(name)] = int(raw)
    return out


def _index(oid: OID, depth: int) -> str:
    return ".".join(map(str, oid[depth:]))


def numbers(rows: dict[OID, int | bytes | OID], prefix: str) -> dict[str, int]:
    """The integer rows of one column, by index text."""
    base = parse_oid(prefix)
    out = {_index(k, len(base)): v for k, v in rows.items() if k[: len(base)] == base}
    assert all(isinstance(v, int) for v in out.values()), out
    return {k: v for k, v in out.items() if isinstance(v, int)}


def texts(rows: dict[OID, int | bytes | OID], prefix: str) -> dict[str, str]:
    """The string rows of one column, by index text."""
    base = parse_oid(prefix)
    return {
        _index(k, len(base)): v.decode()
        for k, v in rows.items()
        if k[: len(base)] == base and isinstance(v, bytes)
    }


def series(samples: Sequence[Sample], metric: str, key: str = "index") -> dict[str, float]:
    return {dict(s.labels)[key]: s.value for s in samples if s.family.name == metric}


def rows_in_a_state(samples: Sequence[Sample], metric: str) -> set[str]:
    """Indexes of a state set that have some state at 1."""
    return {dict(s.labels)["index"] for s in samples if s.family.name == metric and s.value == 1}


def one(samples: Sequence[Sample], metric: str, **labels: str) -> float:
    found = [
        s.value
        for s in samples
        if s.family.name == metric and all(dict(s.labels).get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (metric, labels, found)
    return found[0]


async def test_if_mib_equals_what_snmpbulkwalk_prints(agent: SnmpdInstance) -> None:
    probe = create({"profile": "if_mib"}, timeout=5)
    result = await probe.run(target(agent))
    table = walk(agent, IF_ENTRY)
    xtable = walk(agent, IFX_ENTRY)
    samples = result.samples
    assert result.partial == {}

    oper = numbers(table, f"{IF_ENTRY}.8")
    assert oper, "snmpd lists no interfaces"
    assert rows_in_a_state(samples, "trunkwatch_if_oper_status") == set(oper)
    states = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant"}
    for index, status in oper.items():
        assert one(samples, "trunkwatch_if_oper_status", index=index, state=states[status]) == 1
    descr = texts(table, f"{IF_ENTRY}.2")
    for index, name in texts(xtable, f"{IFX_ENTRY}.1").items():
        assert (
            one(
                samples,
                "trunkwatch_if_receive_bytes_total",
                index=index,
                name=name,
                descr=descr[index],
            )
            >= 0
        )
    speeds = series(samples, "trunkwatch_if_speed_bytes_per_second")
    assert speeds == {i: v * 125_000 for i, v in numbers(xtable, f"{IFX_ENTRY}.15").items()}
    # Counters: read by the probe a moment before the walk, so never above it, and close.
    # (The loopback interface carries this test's own SNMP traffic.)
    received = series(samples, "trunkwatch_if_receive_bytes_total")
    for index, walked in numbers(xtable, f"{IFX_ENTRY}.6").items():
        assert 0 <= walked - received[index] < 1_000_000
    assert one(samples, "trunkwatch_snmp_uptime_seconds") > 0
    (sys_name,) = texts(walk(agent, "1.3.6.1.2.1.1.5"), "1.3.6.1.2.1.1.5").values()
    assert one(samples, "trunkwatch_snmp_system_info", name=sys_name) == 1


async def test_host_resources_equals_what_snmpbulkwalk_prints(agent: SnmpdInstance) -> None:
    probe = create({"profile": "host_resources"}, timeout=5)
    result = await probe.run(target(agent))
    storage = walk(agent, STORAGE)
    samples = result.samples
    units = numbers(storage, f"{STORAGE}.4")
    sizes = numbers(storage, f"{STORAGE}.5")
    used = numbers(storage, f"{STORAGE}.6")
    descr = texts(storage, f"{STORAGE}.3")
    exported_size = series(samples, "trunkwatch_host_storage_size_bytes")
    assert exported_size == {i: sizes[i] * units[i] for i in sizes}
    for index in used:
        # Memory in use moves between two reads; allocation of disks hardly does.
        exported = one(
            samples, "trunkwatch_host_storage_used_bytes", index=index, descr=descr[index]
        )
        assert exported == pytest.approx(used[index] * units[index], rel=0.05, abs=1 << 20)
    states = {1: "unknown", 2: "running", 3: "warning", 4: "testing", 5: "down"}
    for index, status in numbers(
        walk(agent, "1.3.6.1.2.1.25.3.2.1.5"), "1.3.6.1.2.1.25.3.2.1.5"
    ).items():
        assert one(samples, "trunkwatch_host_device_status", index=index, state=states[status]) == 1
    (uptime,) = numbers(walk(agent, "1.3.6.1.2.1.25.1.1"), "1.3.6.1.2.1.25.1.1").values()
    assert one(samples, "trunkwatch_host_uptime_seconds") == pytest.approx(uptime / 100, abs=2)
    # net-snmp reports processor load only after a minute of samples: until then the column
    # is missing and named in the partial result; once present it is exported per CPU.
    load = walk(agent, "1.3.6.1.2.1.25.3.3.1.2")
    if load:
        assert set(series(samples, "trunkwatch_host_processor_load_ratio")) == {
            str(oid[-1]) for oid in load
        }
    else:
        assert result.partial == {
            "host_resources.processors.host_processor_load_ratio": "no_such_object"
        }


async def test_pass_through_tables_map_to_their_values(agent: SnmpdInstance) -> None:
    probe = create(
        {"profile": ["ups_mib", "ds1_mib", "entity_sensor", "hytera_repeater"]}, timeout=5
    )
    result = await probe.run(target(agent))
    s = result.samples
    # UPS-MIB
    assert one(s, "trunkwatch_ups_battery_status", state="low") == 1
    assert one(s, "trunkwatch_ups_battery_status", state="normal") == 0
    assert one(s, "trunkwatch_ups_battery_charge_ratio") == pytest.approx(0.87)
    assert one(s, "trunkwatch_ups_battery_runtime_seconds") == 42 * 60
    assert one(s, "trunkwatch_ups_battery_volts") == pytest.approx(54.3)
    assert one(s, "trunkwatch_ups_on_battery_seconds") == 310
    assert series(s, "trunkwatch_ups_input_volts", "line") == {"1": 0, "2": 229}
    assert one(s, "trunkwatch_ups_input_frequency_hertz", line="1") == pytest.approx(50.0)
    assert one(s, "trunkwatch_ups_output_source", state="battery") == 1
    assert one(s, "trunkwatch_ups_output_load_ratio", line="1") == pytest.approx(0.64)
    assert one(s, "trunkwatch_ups_alarms_present") == 2
    # DS1-MIB
    assert one(s, "trunkwatch_ds1_line_status", line="1", status="lof") == 1
    assert one(s, "trunkwatch_ds1_line_status", line="1", status="los") == 1
    assert one(s, "trunkwatch_ds1_line_status", line="1", status="no_alarm") == 0
    assert one(s, "trunkwatch_ds1_line_status", line="2", status="no_alarm") == 1
    assert one(s, "trunkwatch_ds1_line_status", line="2", status="los") == 0
    assert one(s, "trunkwatch_ds1_current_errored_seconds", circuit="CT-110-E1-01") == 102
    assert one(s, "trunkwatch_ds1_current_line_code_violations", line="1") == 111
    assert one(s, "trunkwatch_ds1_line_info", line="2", line_type="e1_crc_mf") == 1
    # ENTITY-SENSOR-MIB, named from ENTITY-MIB on the same index
    assert one(s, "trunkwatch_entity_sensor_value", name="cabinet", type="celsius") == 35.25
    assert one(s, "trunkwatch_entity_sensor_value", name="dc bus", type="volts_dc") == 53.25
    # HYTERA-REPEATER-MIB
    assert one(s, "trunkwatch_hytera_pa_temperature_celsius") == 55.0
    assert one(s, "trunkwatch_hytera_supply_volts") == 13.0
    assert one(s, "trunkwatch_hytera_vswr_ratio") == 1.5
    assert one(s, "trunkwatch_hytera_alarm", alarm="vswr") == 1
    assert not any(k.startswith(("ups_mib", "ds1_mib", "entity_sensor")) for k in result.partial)


async def test_agent_without_ifxtable_falls_back_to_32_bit_counters(agent: SnmpdInstance) -> None:
    probe = create({"profile": ["if_mib", "ups_mib"]}, timeout=5)
    result = await probe.run(target(agent, community="no-ifx"))
    table = numbers(walk(agent, f"{IF_ENTRY}.10"), f"{IF_ENTRY}.10")
    received = series(result.samples, "trunkwatch_if_receive_bytes_total")
    assert set(received) == set(table)
    for index, octets in table.items():
        assert 0 <= octets - received[index] < 1_000_000
    # Without ifXTable the rows have no ifName or ifAlias: those labels are empty.
    assert one(result.samples, "trunkwatch_if_receive_bytes_total", index="1", name="") >= 0
    # The device lacks UPS-MIB: each required object is named, the interfaces are kept.
    assert result.partial["ups_mib.ups_battery_status"] == "no_such_object"
    assert result.partial["ups_mib.output.ups_output_volts"] == "no_such_object"
    assert not any(k.startswith("if_mib") for k in result.partial)


async def test_snmpv1_walks_each_column_and_uses_the_32_bit_fallback(agent: SnmpdInstance) -> None:
    probe = create({"profile": "if_mib", "version": "1"}, timeout=5)
    first = await probe.run(target(agent))
    second = await probe.run(target(agent))
    table = walk(agent, f"{IF_ENTRY}.10")
    received = series(second.samples, "trunkwatch_if_receive_bytes_total")
    assert set(received) == {str(oid[-1]) for oid in table}
    assert first.partial == second.partial == {}


async def test_snmpv3_polls_through_the_usm_client(agent: SnmpdInstance) -> None:
    user = agent.v3_user("SHA-256")
    probe = create(
        {"profile": "if_mib", "version": "3", "auth_protocol": "sha256", "priv_protocol": "aes"},
        timeout=5,
    )
    result = await probe.run(
        target(agent, user=user.name, auth_key=user.auth_key, priv_key=user.priv_key)
    )
    oper = numbers(walk(agent, f"{IF_ENTRY}.8"), f"{IF_ENTRY}.8")
    assert rows_in_a_state(result.samples, "trunkwatch_if_oper_status") == set(oper)
    assert result.partial == {}


async def test_wrong_community_fails_with_timeout_within_the_probe_timeout(
    agent: SnmpdInstance,
) -> None:
    probe = create({"profile": "if_mib", "retries": 1}, timeout=1.5)
    started = time.monotonic()
    with pytest.raises(ProbeTimeout) as info:
        await probe.run(target(agent, community="not-the-community"))
    elapsed = time.monotonic() - started
    assert info.value.reason == "timeout"
    assert 1.0 <= elapsed < 1.5


async def test_an_agent_that_never_answers_times_out_on_the_schedulers_clock(
    agent: SnmpdInstance,
) -> None:
    """The job's deadline is kept on the clock the scheduler is given: with a manual one the
    probe fails as ``timeout`` when the test moves time past it, while the client's own tries
    (about 24 s each of real time here) are still waiting for a reply that never comes."""
    clock = ManualClock()
    probe = create({"profile": "if_mib", "retries": 1}, timeout=60)
    station = Asset(
        "mute-agent", "s1", "network", "switch", "mute-agent",
        target(agent, community="not-the-community"), None,
    )  # fmt: skip
    mute = Job(station, "snmp:if_mib", "snmp", 300.0, 60.0, probe)
    started = time.monotonic()
    async with asyncio.TaskGroup() as tasks:
        run = tasks.create_task(run_once(mute, clock))
        await clock.advance(59.0)
        assert not run.done()
        await clock.advance(1.5)
        assert run.done()
    elapsed = time.monotonic() - started
    result, outcome = run.result()
    assert (outcome, result.reason, result.success) == ("timeout", "timeout", False)
    assert result.message == "no answer within 60s"
    assert elapsed < 0.5  # the minute passed on the manual clock


async def test_polls_keep_counters_monotonic_across_polls(agent: SnmpdInstance) -> None:
    probe = create({"profile": "if_mib"}, timeout=5)
    before = series((await probe.run(target(agent))).samples, "trunkwatch_if_transmit_bytes_total")
    await asyncio.sleep(0.05)
    result = await probe.run(target(agent))
    after = series(result.samples, "trunkwatch_if_transmit_bytes_total")
    assert set(before) == set(after)
    assert all(after[i] >= before[i] for i in before)
    assert one(result.samples, "trunkwatch_snmp_device_reboots_total") == 0


# ---------------------------------------------------------------------------------------------
# The project's simulated fleet, polled with the probes of the demo configuration

#: Parts the simulator does not serve; every profile of the demo configuration is complete.
SIMULATOR_GAPS: set[str] = set()


@pytest.fixture
async def fleet_agent() -> AsyncIterator[tuple[Fleet, ManualClock, SnmpAgent]]:
    source = ManualClock()
    fleet = Fleet({**DEFAULT_FLEET, "start": 1467331200.0}, source=source)
    async with SnmpAgent(fleet, ephemeral=True) as agent:
        yield fleet, source, agent


async def test_demo_probes_map_every_simulated_device(
    fleet_agent: tuple[Fleet, ManualClock, SnmpAgent],
) -> None:
    fleet, source, agent = fleet_agent
    await source.advance(3600)  # an hour of traffic
    config = load_config(Path(__file__).parents[2] / "monitor.yaml")
    # The configuration names the simulator's fixed ports; a site's UPS answers on its base
    # station's port. The test agent listens on ephemeral ports instead.
    device_on_port = {port: device for device, port in fleet.ports.items()}
    polled: dict[tuple[str, str], Sequence[Sample]] = {}
    for asset in config.assets:
        device = device_on_port.get(split_address(asset.address)[1] or 0)
        if device is None:
            continue
        for spec in asset.probes:
            if spec.module != "snmp":
                continue
            host, port = agent.endpoints[device]
            secrets = config.secrets.get(asset.credentials or "", {})
            result = await create(spec.params, timeout=3).run(Target(asset.id, host, port, secrets))
            assert set(result.partial) <= SIMULATOR_GAPS, (asset.id, result.partial)
            polled[asset.id, str(spec.params["profile"])] = result.samples
    kinds = {profile for _, profile in polled}
    assert {"if_mib", "trunked_bs", "ups_mib", "entity_sensor", "ds1_mib", "trunk_gateway"} <= kinds

    site = fleet.site("bs-xingning")
    s = polled["bs-xingning", "trunked_bs"]
    assert one(s, "trunkwatch_bs_carriers") == len(site.carriers)
    assert one(s, "trunkwatch_bs_traffic_channels") == site.spec.configured_tch
    assert one(s, "trunkwatch_bs_calls_total") > 0
    assert one(s, "trunkwatch_bs_channel_seconds_total") > 0
    assert one(s, "trunkwatch_bs_site_info", site_id="bs-xingning") == 1
    for carrier in site.carriers:
        index = str(carrier.index)
        assert one(s, "trunkwatch_bs_carrier_up", carrier=index) == 1
        assert 1.0 <= one(s, "trunkwatch_bs_vswr_ratio", carrier=index) < 1.5
        assert one(s, "trunkwatch_bs_rssi_dbm", carrier=index, path="main") < 0
    lines = polled["e1-gw-110", "ds1_mib"]
    assert {dict(x.labels)["line"] for x in lines if x.family.name == "trunkwatch_ds1_line_status"}
    assert all(
        x.value == 1
        for x in lines
        if x.family.name == "trunkwatch_ds1_line_status" and ("status", "no_alarm") in x.labels
    )


async def test_simulated_reboot_is_counted_and_counters_restart(
    fleet_agent: tuple[Fleet, ManualClock, SnmpAgent],
) -> None:
    fleet, source, agent = fleet_agent
    host, port = agent.endpoints["core-rtr-1"]
    probe = create({"profile": "if_mib"}, timeout=3)
    station = Target("core-rtr-1", host, port, {"community": fleet.agent.community})
    await source.advance(600)
    before = await probe.run(station)
    await source.advance(600)
    fleet.reboot("core-rtr-1")
    await source.advance(60)
    after = await probe.run(station)
    assert one(before.samples, "trunkwatch_snmp_device_reboots_total") == 0
    assert one(after.samples, "trunkwatch_snmp_device_reboots_total") == 1
    assert one(after.samples, "trunkwatch_snmp_uptime_seconds") == pytest.approx(60, abs=1)
    sent_before = series(before.samples, "trunkwatch_if_transmit_bytes_total")
    sent_after = series(after.samples, "trunkwatch_if_transmit_bytes_total")
    # The device's counters restarted from zero, and so did the export: a counter reset that
    # Prometheus's rate() handles, instead of a huge bogus increase.
    assert all(sent_after[i] < sent_before[i] for i in sent_before if sent_before[i] > 10**9)


def series_identities(text: str) -> list[str]:
    """``name{labels}`` of every sample line of an exposition, in order, repeats kept."""
    return [
        line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")
    ]


BUILT_IN_PROFILES = sorted(p.stem for p in (REPO / "probes" / "snmp" / "profiles").glob("*.yaml"))
#: Profiles whose MIB this agent does not serve, and where their data is checked instead.
SERVED_ELSEWHERE = {
    "trunked_bs": "the simulated base stations, tests/integration/test_scrape_unique.py",
    "trunk_gateway": "the simulated E1 gateway, tests/integration/test_scrape_unique.py",
    "xups_mib": "the recorded Eaton and Santak cards, tests/integration/test_corpus.py",
}


@pytest.mark.parametrize("profile", BUILT_IN_PROFILES)
def test_probe_output_of_every_built_in_profile_has_each_series_once(
    agent: SnmpdInstance, profile: str
) -> None:
    """``trunkwatch probe`` prints what /metrics would serve: no two samples may share a name
    and labels, or Prometheus keeps one of them and drops the other silently."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "monitor.cli", "probe"),
            *("--target", f"{agent.host}:{agent.port}", "--module", profile),
            *("--community-env", "TW_TEST_COMMUNITY", "--timeout", "5"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, "TW_TEST_COMMUNITY": agent.community},
        check=False,
    )
    if profile in SERVED_ELSEWHERE:
        # Absent here: a failure with the reason, and still each series once.
        assert done.returncode == 1, done.stdout + done.stderr
        assert 'reason="no_such_object"' in done.stdout
    else:
        assert done.returncode == 0, done.stdout + done.stderr
    identities = series_identities(done.stdout)
    assert len(identities) > 3
    repeated = sorted({i for i in identities if identities.count(i) > 1})
    assert repeated == []
    # Parses as Prometheus text, and a poll that worked carries the agent's identity once.
    names = [s.name for f in text_string_to_metric_families(done.stdout) for s in f.samples]
    assert names.count("trunkwatch_snmp_uptime_seconds") == (profile not in SERVED_ELSEWHERE)

"""The fleet: configuration, reachability through parents, faults on and off, and the cost of
simulating many sites."""

from __future__ import annotations

import asyncio
import copy
import random
import time
from typing import Any

import pytest

from monitor.core.clock import Clock, ManualClock
from monitor.simulator import oids as O
from monitor.simulator.clock import SimClock
from monitor.simulator.fleet import (
    DEFAULT_FLEET,
    Fault,
    FaultError,
    Fleet,
    SimulatorConfigError,
    UnknownAsset,
    distance_km,
)
from monitor.simulator.lines import E1Gateway, SipState, SipTrunk
from monitor.simulator.radio import BaseStation

T0 = 1467331200.0  # 2016-07-01 08:00 Asia/Shanghai


def make_fleet(config: dict[str, Any] | None = None) -> tuple[Fleet, ManualClock]:
    source = ManualClock()
    fleet = Fleet({**(config or DEFAULT_FLEET), "start": T0}, source=source)
    return fleet, source


async def test_sim_clock_runs_at_its_speed_and_re_anchors_on_change() -> None:
    source = ManualClock(100.0)
    clock = SimClock(T0, speed=60.0, source=source)
    assert clock.time() == T0
    await source.advance(10)
    assert clock.time() == T0 + 600
    clock.speed = 1.0
    assert clock.time() == T0 + 600
    await source.advance(10)
    assert clock.time() == T0 + 610
    assert clock.local(T0).hour == 8
    with pytest.raises(ValueError, match="backwards"):
        await source.advance(-1)


async def test_sim_clock_sleeps_timers_and_timeouts_run_on_its_source_at_its_speed() -> None:
    source = ManualClock(100.0)
    clock: Clock = SimClock(T0, speed=60.0, source=source)  # anything taking a Clock takes it
    assert clock.monotonic() == 100.0  # simulated seconds count from the source's present
    events: list[tuple[str, float]] = []
    clock.call_at(clock.monotonic() + 1800, lambda: events.append(("timer", clock.time() - T0)))

    async def sleeper() -> None:
        await clock.sleep(3600)  # an hour of the city: a real minute at 60x
        events.append(("slept", clock.time() - T0))

    async def bounded() -> None:
        try:
            async with clock.timeout(600):
                await clock.sleep_until(clock.monotonic() + 7200)
        except TimeoutError:
            events.append(("timed out", clock.time() - T0))

    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(sleeper())
        tasks.create_task(bounded())
        await source.advance(9.5)
        assert events == []
        await source.advance(0.5)
        assert events == [("timed out", 600.0)]
        await source.advance(50)
    assert events == [("timed out", 600.0), ("timer", 1800.0), ("slept", 3600.0)]


def test_default_fleet_is_a_twelve_site_city_with_lines_network_and_servers() -> None:
    fleet, _ = make_fleet()
    assert len(fleet.sites) == 12
    kinds = {d.kind for d in fleet}
    assert kinds == {"base_station", "e1_gateway", "sip_trunk", "switch", "router", "server"}
    assert {s.spec.carriers for s in fleet.sites} == {1, 2, 3}
    for s in fleet.sites:
        assert distance_km(22.95, 108.45, s.spec.lat, s.spec.lon) < 100
        assert s.name  # Chinese display name
    # Every SNMP device has its own agent port; SIP trunks have none.
    assert len(set(fleet.ports.values())) == len(fleet.ports) == len(fleet) - 4
    assert fleet.device("bs-xingning").name == "兴宁区"
    with pytest.raises(UnknownAsset):
        fleet.device("bs-nowhere")


async def test_same_seed_same_fleet_readings() -> None:
    a, source_a = make_fleet()
    b, source_b = make_fleet()
    await source_a.advance(3 * 3600)
    await source_b.advance(3 * 3600)
    for asset in ("bs-xingning", "e1-gw-110", "core-sw-1", "srv-cad-1"):
        view_a, view_b = a.poll(asset), b.poll(asset)
        assert view_a is not None and view_b is not None
        assert list(view_a.walk()) == list(view_b.walk())
    other = Fleet({**DEFAULT_FLEET, "start": T0, "seed": 7}, source=ManualClock())
    other_view = other.poll("bs-xingning", T0 + 3 * 3600)
    assert other_view is not None
    view = a.poll("bs-xingning")
    assert view is not None
    assert view.get((*O.TSIM_CALL_ATTEMPTS, 0)) != other_view.get((*O.TSIM_CALL_ATTEMPTS, 0))


def test_config_errors_name_every_bad_field() -> None:
    config = copy.deepcopy(DEFAULT_FLEET)
    config["sites"][0]["carriers"] = 5
    config["sites"][1]["colour"] = "red"
    config["sites"][2]["parent"] = "nowhere"
    config["lines"][0]["parent_port"] = 99
    config["sites"].append({"name": "无名"})
    config["speed"] = "fast"
    config["servers"][2]["storage"][0]["size"] = 16
    with pytest.raises(SimulatorConfigError) as info:
        Fleet(config, source=ManualClock())
    fields = [field for field, _ in info.value.problems]
    assert "simulator.sites[0]" in fields
    assert "simulator.sites[1].colour" in fields
    assert "bs-jiangnan.parent" in fields
    assert "e1-gw-110.parent_port" in fields
    assert "simulator.sites[12].id" in fields
    assert "simulator.speed" in fields
    assert "simulator.servers[2].storage[0].size" in fields


@pytest.mark.parametrize(
    ("section", "index", "key", "value", "reason"),
    [
        ("sites", 0, "busy_hour_erlangs", "lots", "expected a number"),
        ("sites", 0, "busy_hour_erlangs", True, "expected a number"),
        ("sites", 1, "parent_port", "five", "expected a whole number"),
        ("lines", 0, "spans", 2.5, "expected a whole number"),
        ("sites", 2, "name", 7, "expected text"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_problem_at_its_field_not_a_crash(
    section: str, index: int, key: str, value: object, reason: str
) -> None:
    config = copy.deepcopy(DEFAULT_FLEET)
    config[section][index][key] = value
    with pytest.raises(SimulatorConfigError) as info:
        Fleet(config, source=ManualClock())
    assert info.value.problems == [(f"simulator.{section}[{index}].{key}", reason)]


def test_config_accepts_the_simulator_section_of_monitor_yaml() -> None:
    fleet = Fleet(
        {
            "simulator": {
                "seed": 1,
                "start": "2016-07-01T08:00:00+08:00",
                "speed": 60,
                "agent": {"base_port": 20000},
                "sites": [{"id": "bs-a", "lat": 22.8, "lon": 108.4, "port": 20555}],
                "switches": [{"id": "sw-a", "ports": 8}],
            }
        },
        source=ManualClock(),
    )
    assert fleet.clock.time() == T0
    assert fleet.clock.speed == 60.0
    assert fleet.ports == {"bs-a": 20555, "sw-a": 20001}
    assert fleet.device("bs-a").name == "bs-a"


async def test_backhaul_down_hides_the_site_and_the_sites_behind_it() -> None:
    fleet, source = make_fleet()
    fleet.inject(Fault.BACKHAUL_DOWN, "bs-yongning")
    await source.advance(60)
    assert fleet.poll("bs-yongning") is None
    assert fleet.poll("bs-hengzhou") is None  # over bs-yongning's microwave
    assert fleet.poll("bs-shanglin") is not None
    assert fleet.poll("core-sw-1") is not None
    fleet.clear(Fault.BACKHAUL_DOWN, "bs-yongning")
    assert fleet.reachable("bs-hengzhou")
    assert fleet.active_faults() == []


def test_switch_port_down_hides_what_hangs_off_it() -> None:
    fleet, _ = make_fleet()
    fleet.inject(Fault.PORT_DOWN, "core-sw-1", port=3)
    assert not fleet.reachable("e1-gw-110")
    assert fleet.reachable("bs-xingning")
    view = fleet.poll("core-sw-1")
    assert view is not None
    assert view.get((*O.IF_OPER_STATUS, 3)).value == 2
    fleet.inject(Fault.SITE_DOWN, "core-rtr-1")
    assert not any(fleet.reachable(d.asset_id) for d in fleet)
    fleet.clear(Fault.SITE_DOWN, "core-rtr-1")
    fleet.clear(Fault.PORT_DOWN, "core-sw-1", port=3)
    assert all(fleet.reachable(d.asset_id) for d in fleet)


async def test_site_down_silences_the_agent_and_reboots_on_clear() -> None:
    fleet, source = make_fleet()
    await source.advance(3600)
    fleet.inject("site_down", "bs-qingxiu")
    assert fleet.poll("bs-qingxiu") is None
    await source.advance(600)
    fleet.clear("site_down", "bs-qingxiu")
    await source.advance(5)
    view = fleet.poll("bs-qingxiu")
    assert view is not None
    assert view.get((*O.SYS_UP_TIME, 0)).value == 500
    attempts = view.get((*O.TSIM_CALL_ATTEMPTS, 0)).value
    assert isinstance(attempts, int) and attempts < 20  # counters restarted at boot


async def test_mains_failure_runs_the_site_down_and_clearing_boots_it() -> None:
    fleet, source = make_fleet()
    site = fleet.site("bs-liangqing")
    fault = fleet.inject(Fault.MAINS_FAILURE, "bs-liangqing")
    assert fault.since == T0
    view = fleet.poll("bs-liangqing")
    assert view is not None
    assert view.get((*O.UPS_OUTPUT_SOURCE, 0)).value == 5  # battery
    assert view.get((*O.TSIM_MAINS_STATE, 0)).value == 2
    assert view.get((*O.UPS_ALARMS_PRESENT, 0)).value == 2
    minutes = view.get((*O.UPS_ESTIMATED_MINUTES_REMAINING, 0)).value
    assert isinstance(minutes, int) and minutes > 60
    await source.advance(minutes * 60 / 2)
    view = fleet.poll("bs-liangqing")
    assert view is not None
    half = view.get((*O.TSIM_BATTERY_CHARGE, 0)).value
    assert isinstance(half, int) and 49 <= half <= 51
    await source.advance(minutes * 60)
    assert fleet.poll("bs-liangqing") is None
    assert not site.powered
    fleet.clear(Fault.MAINS_FAILURE, "bs-liangqing")
    assert fleet.poll("bs-liangqing") is not None
    assert site.uptime_s == 0.0


def test_carrier_and_vswr_faults_show_in_the_carrier_table() -> None:
    fleet, _ = make_fleet()
    fleet.inject(Fault.CARRIER_FAILURE, "bs-xingning", carrier=1)
    fleet.inject(Fault.VSWR_HIGH, "bs-xingning", carrier=2, vswr=3.0)
    view = fleet.poll("bs-xingning")
    assert view is not None
    assert view.get((*O.TSIM_TCH_AVAILABLE, 0)).value == 7
    assert view.get((*O.TSIM_MCCH_CARRIER, 0)).value == 2
    assert view.get((*O.TSIM_CARRIER_STATE, 1)).value == 2
    assert view.get((*O.TSIM_CARRIER_VSWR, 2)).value == 300
    assert len(fleet.active_faults()) == 2
    fleet.clear(Fault.CARRIER_FAILURE, "bs-xingning")
    fleet.clear(Fault.VSWR_HIGH, "bs-xingning", carrier=2)
    view = fleet.poll("bs-xingning")
    assert view is not None
    assert view.get((*O.TSIM_TCH_AVAILABLE, 0)).value == 11
    vswr = view.get((*O.TSIM_CARRIER_VSWR, 2)).value
    assert isinstance(vswr, int) and vswr < 135


def test_line_faults_reach_their_devices() -> None:
    fleet, _ = make_fleet()
    fleet.inject(Fault.E1_LOS, "e1-gw-110", span=2)
    gateway = fleet.device("e1-gw-110")
    assert isinstance(gateway, E1Gateway)
    view = fleet.poll("e1-gw-110")
    assert view is not None
    assert view.get((*O.DSX1_LINE_STATUS, 2)).value == 96
    assert view.get((*O.DSX1_LINE_STATUS, 1)).value == 1
    assert view.get((*O.TSIM_E1_AVAILABLE_CHANNELS, 2)).value == 0
    trunk = fleet.device("sip-119-fire")
    assert isinstance(trunk, SipTrunk)
    fleet.inject(Fault.SIP_503, "sip-119-fire")
    during = trunk.state
    fleet.clear(Fault.SIP_503, "sip-119-fire")
    assert (during, trunk.state) == (SipState.UNAVAILABLE, SipState.OK)
    with pytest.raises(FaultError):
        fleet.inject(Fault.E1_AIS, "bs-xingning")
    with pytest.raises(FaultError):
        fleet.inject(Fault.CARRIER_FAILURE, "bs-liangqing", carrier=3)
    with pytest.raises(FaultError):
        fleet.inject(Fault.PORT_DOWN, "core-sw-1")


def test_traffic_surge_covers_neighbours_within_the_radius() -> None:
    fleet, _ = make_fleet()
    centre = fleet.site("bs-xingning").spec
    near = {
        s.asset_id
        for s in fleet.sites
        if distance_km(centre.lat, centre.lon, s.spec.lat, s.spec.lon) <= 7.0
    }
    # 青秀 is 5.1 km away, 西乡塘 6.8 km; 江南 and the outer counties are further.
    assert near == {"bs-xingning", "bs-qingxiu", "bs-xixiangtang"}
    fault = fleet.inject(Fault.TRAFFIC_SURGE, "bs-xingning", multiplier=4.0, radius_km=7.0)
    assert set(fault.affected) == near
    surges = {s.asset_id: s.offered.surge for s in fleet.sites}
    assert surges["bs-qingxiu"] == 4.0 and surges["bs-jiangnan"] == 1.0
    fleet.inject(Fault.TRAFFIC_SURGE, "bs-qingxiu", multiplier=2.0, radius_km=0.0)
    assert fleet.site("bs-qingxiu").offered.surge == 8.0
    fleet.clear(Fault.TRAFFIC_SURGE, "bs-xingning")
    assert fleet.site("bs-qingxiu").offered.surge == 2.0
    assert fleet.site("bs-xingning").offered.surge == 1.0


def test_two_hundred_sites_for_a_simulated_hour() -> None:
    """Not a timing assertion: prints the CPU it takes (the O(events) design keeps it small)."""
    rng = random.Random(1)
    sites = [
        {
            "id": f"bs-{i:03d}",
            "lat": 22.8 + rng.uniform(-0.4, 0.4),
            "lon": 108.4 + rng.uniform(-0.4, 0.4),
            "carriers": rng.randint(1, 4),
            "busy_hour_erlangs": rng.uniform(0.5, 8.0),
            "mean_hold_s": rng.choice([5.0, 20.0]),
        }
        for i in range(200)
    ]
    # 10:00–11:00 local: the busy hour, the worst case.
    fleet = Fleet({"seed": 1, "start": T0 + 2 * 3600, "sites": sites}, source=ManualClock())
    for site in fleet.sites:
        fleet.view(site.asset_id)
    started = time.process_time()
    for step in range(1, 241):  # every site polled every 15 s
        t = T0 + 2 * 3600 + 15 * step
        for site in fleet.sites:
            view = fleet.poll(site.asset_id, t)
            assert view is not None
            view.get((*O.TSIM_TCH_BUSY, 0))
    cpu = time.process_time() - started
    calls = sum(s.engine.counters.attempts for s in fleet.sites)
    print(f"\n200 sites, 1 simulated hour, polled every 15 s: {calls} calls, {cpu:.2f} s CPU")
    assert calls > 100_000
    assert all(isinstance(s, BaseStation) for s in fleet.sites)


def test_a_site_with_local_ports_serves_one_if_mib_row_per_interface() -> None:
    site = {"id": "bs-a", "lat": 22.8, "lon": 108.4, "interfaces": 8}
    fleet = Fleet({"seed": 1, "start": T0, "sites": [site]}, source=ManualClock())
    view = fleet.view("bs-a")
    assert view is not None
    assert view.get((*O.IF_NUMBER, 0)).value == 8
    names = [view.get((*O.IF_NAME, i)).value for i in range(1, 9)]
    assert names == [b"ge0/0", b"ge0/1", b"ge0/2", b"ge0/3", b"ge0/4", b"ge0/5", b"ge0/6",
                     b"ge0/7"]  # fmt: skip
    assert view.next((*O.IF_NAME, 8)).oid[: len(O.IF_NAME)] != O.IF_NAME
    with pytest.raises(SimulatorConfigError) as info:
        Fleet({"sites": [{**site, "interfaces": 0}]}, source=ManualClock())
    assert info.value.problems == [("simulator.sites[0]", "interfaces must be 1–64")]

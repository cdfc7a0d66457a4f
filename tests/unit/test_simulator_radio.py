"""The TETRA base-station model: channel plan and carrier failure, RF readings, battery under
mains failure, backhaul, and that readings are a function of the seed and simulated time."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from monitor.simulator.power import BatteryStatus, MainsState
from monitor.simulator.radio import (
    BaseStation,
    CarrierState,
    SiteSpec,
    return_loss_db,
    vswr_from_powers,
)
from monitor.simulator.signals import DailyProfile

T0 = datetime(2016, 7, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


def site(carriers: int = 2, **overrides: object) -> BaseStation:
    spec = SiteSpec(
        "bs-test", "测试站", 22.8, 108.4, carriers=carriers, busy_hour_erlangs=2.0,
        **overrides,  # type: ignore[arg-type]
    )  # fmt: skip
    return BaseStation(spec, start=T0, seed=42, profile=DailyProfile())


def battery_status(bs: BaseStation) -> BatteryStatus:
    # A call, so that type checkers do not carry a narrowed value across ``advance``.
    return bs.power.battery_status


def in_service(bs: BaseStation) -> bool:
    return bs.answering and bs.carrying


def test_vswr_and_return_loss_from_domain_example() -> None:
    # DOMAIN.md: 50 W forward, 1 W reflected → VSWR 1.33, return loss 17.0 dB.
    assert vswr_from_powers(50.0, 1.0) == pytest.approx(1.330, abs=0.001)
    assert return_loss_db(50.0, 1.0) == pytest.approx(16.99, abs=0.01)
    assert vswr_from_powers(25.0, 0.0) == 1.0
    assert math.isinf(vswr_from_powers(10.0, 10.0))


@pytest.mark.parametrize(
    ("carriers", "extra_control", "packet_data", "tch"),
    [(1, 0, 0, 3), (2, 0, 0, 7), (4, 0, 0, 15), (4, 1, 2, 12)],
)
def test_traffic_channels_follow_the_channel_plan(
    carriers: int, extra_control: int, packet_data: int, tch: int
) -> None:
    bs = site(carriers, extra_control=extra_control, packet_data=packet_data)
    assert bs.tch_configured == tch
    assert bs.tch_available == tch
    assert bs.mcch_carrier == 1


def test_high_vswr_raises_reflected_power_and_the_derived_vswr() -> None:
    bs = site(2)
    carrier = bs.carrier(2)
    normal = bs.measured_vswr(carrier)
    assert 1.1 < normal < 1.35
    bs.set_vswr_fault(2, 2.5, T0 + 60)
    forward = bs.forward_power_w(carrier)
    reflected = bs.reflected_power_w(carrier)
    assert vswr_from_powers(forward, reflected) == pytest.approx(2.5)
    assert bs.measured_vswr(carrier) == pytest.approx(2.5)
    # Γ = 1.5/3.5: 18.4 % of the forward power comes back.
    assert reflected / forward == pytest.approx((1.5 / 3.5) ** 2)
    bs.set_vswr_fault(2, None, T0 + 120)
    assert bs.measured_vswr(carrier) == pytest.approx(normal, abs=0.02)
    assert bs.measured_vswr(bs.carrier(1)) < 1.35


def test_failed_traffic_carrier_costs_four_channels() -> None:
    bs = site(3)
    bs.advance(T0 + 1800)
    assert bs.tch_available == 11
    bs.set_carrier_failed(3, True, T0 + 1800)
    assert bs.tch_available == 7
    assert bs.carrier_state(bs.carrier(3)) == CarrierState.DOWN
    assert bs.forward_power_w(bs.carrier(3)) == 0.0
    assert bs.mcch_carrier == 1


def test_failed_main_carrier_also_costs_four_because_the_mcch_moves() -> None:
    """Carrier 1 held the MCCH and 3 TCH; the MCCH re-establishes on carrier 2's timeslot 1,
    which was a TCH, so the site loses 3 + 1 = 4, not 3."""
    bs = site(3)
    bs.set_carrier_failed(1, True, T0 + 60)
    assert bs.mcch_carrier == 2
    assert bs.tch_available == 7
    assert [bs.engine.group_capacity(i) for i in range(3)] == [0, 3, 4]
    bs.set_carrier_failed(1, False, T0 + 120)
    assert bs.mcch_carrier == 1
    assert bs.tch_available == 11


def test_single_carrier_site_loses_its_three_channels_and_service() -> None:
    bs = site(1)
    assert bs.tch_available == 3
    bs.set_carrier_failed(1, True, T0 + 60)
    assert bs.tch_available == 0
    assert bs.mcch_carrier == 0
    assert not bs.carrying
    attempts = bs.engine.counters.attempts
    bs.advance(T0 + 7200)
    assert bs.engine.counters.attempts == attempts
    assert bs.registered_terminals == 0


def test_battery_drains_under_mains_failure_until_the_site_goes_down() -> None:
    bs = site(2, battery_ah=25.0)  # 1.2 kWh at 48 V, 800 W load: 90 minutes
    assert bs.power.load_w == 800.0
    bs.set_mains(False, T0)
    assert bs.power.mains is MainsState.ABSENT
    assert bs.power.minutes_remaining == pytest.approx(90.0)
    bs.advance(T0 + 45 * 60)
    assert bs.power.charge_pct == pytest.approx(50.0)
    assert bs.power.minutes_remaining == pytest.approx(45.0)
    assert battery_status(bs) is BatteryStatus.NORMAL
    volts_half = bs.power.battery_voltage
    bs.advance(T0 + 70 * 60)
    assert battery_status(bs) is BatteryStatus.LOW
    assert bs.power.battery_voltage < volts_half
    assert in_service(bs)
    hot = bs.cabinet_temperature_c
    bs.advance(T0 + 91 * 60)
    assert bs.power.charge_pct == 0.0
    assert not in_service(bs)
    assert bs.tch_available == 0
    assert bs.power.load_w == 0.0
    assert hot > 25.0


def test_flat_battery_is_found_even_when_polled_long_after() -> None:
    """One step across the depletion instant gives what small steps give: calls stop when the
    battery goes flat at 90 minutes, not when somebody next looks."""
    stepped, jumped = site(2, battery_ah=25.0), site(2, battery_ah=25.0)
    for bs in (stepped, jumped):
        bs.set_mains(False, T0)
    for minute in range(0, 10 * 60 + 1, 5):
        stepped.advance(T0 + minute * 60)
    jumped.advance(T0 + 10 * 3600)
    assert not jumped.answering
    assert jumped.engine.counters == stepped.engine.counters
    assert jumped.engine.counters.dropped == stepped.engine.counters.dropped


def test_mains_back_on_a_dark_site_boots_it_and_recharges() -> None:
    bs = site(2, battery_ah=25.0)
    bs.set_mains(False, T0)
    bs.advance(T0 + 2 * 3600)
    assert not in_service(bs)
    bs.set_mains(True, T0 + 3 * 3600)
    assert in_service(bs)
    assert bs.uptime_s == 0.0
    assert bs.engine.counters.attempts == 0
    bs.advance(T0 + 7 * 3600)
    assert bs.power.charge_pct == pytest.approx(50.0)
    assert bs.power.battery_status is BatteryStatus.NORMAL


def test_backhaul_down_keeps_local_trunking() -> None:
    bs = site(2)
    bs.set_backhaul(False, T0 + 60)
    assert not bs.uplink_up
    assert bs.answering
    attempts = bs.engine.counters.attempts
    bs.advance(T0 + 3600)
    assert bs.engine.counters.attempts > attempts


def test_registered_terminals_wander_around_the_configured_number() -> None:
    bs = site(2, terminals=1000)
    counts = []
    for minute in range(0, 24 * 60, 10):
        bs.advance(T0 + minute * 60)
        counts.append(bs.registered_terminals)
    assert 750 <= min(counts) < max(counts) <= 1060
    assert len(set(counts)) > 20


def test_readings_are_the_same_for_the_same_seed_and_instant() -> None:
    a, b = site(2), site(2)
    a.advance(T0 + 600)
    a.advance(T0 + 3600)
    b.advance(T0 + 3600)
    for bs in (a, b):
        assert bs.carrier(1).nominal_vswr == a.carrier(1).nominal_vswr
    assert a.engine.counters == b.engine.counters
    assert a.registered_terminals == b.registered_terminals
    assert a.cabinet_temperature_c == b.cabinet_temperature_c
    assert a.rssi_dbm(a.carrier(1), 1) == b.rssi_dbm(b.carrier(1), 1)


def test_rf_readings_are_plausible() -> None:
    bs = site(2)
    bs.advance(T0 + 3600)
    for carrier in bs.carriers:
        assert 24.0 < bs.forward_power_w(carrier) < 26.0
        for path in (1, 2):
            floor = bs.noise_floor_dbm(carrier, path)
            assert -120.0 < floor < -114.0
            assert floor <= bs.rssi_dbm(carrier, path) < -80.0
    assert 15.0 < bs.cabinet_temperature_c < 35.0

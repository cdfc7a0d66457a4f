"""The simulated fleet polled through the real SNMP path: each fault changes the metrics it
should, leaves the others alone, and clearing it restores them.

One simulation and one daemon (1 s intervals) serve the whole module; every test clears its
fault before the next starts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
import pytest
import pytest_asyncio
import yaml

from monitor.app.daemon import Daemon
from monitor.config import load_config
from monitor.simulator.fleet import Fault
from monitor.simulator.runtime import Simulation
from monitor.simulator.section import SIMULATOR
from tests.helpers import REPO, Series, parse_metrics, select
from tests.integration.simcity import city_config

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

WAIT = 15.0


@dataclass
class Stack:
    sim: Simulation
    daemon: Daemon
    url: str
    session: aiohttp.ClientSession

    async def metrics(self) -> Series:
        async with self.session.get(self.url + "/metrics") as response:
            return parse_metrics(await response.text())

    async def until(self, check: Callable[[Series], bool], what: str) -> Series:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            m = await self.metrics()
            if check(m):
                return m
            await asyncio.sleep(0.3)
        raise AssertionError(f"not within {WAIT}s: {what}")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    section = SIMULATOR.of(load_config(REPO / "monitor.yaml"))
    tmp = tmp_path_factory.mktemp("simfaults")
    async with Simulation(section, ephemeral=True) as sim:
        raw = yaml.safe_load((REPO / "monitor.yaml").read_text(encoding="utf-8"))
        rewritten = city_config(raw, sim, data_dir=tmp / "data", interval="1s", timeout="800ms")
        config = tmp / "monitor.yaml"
        config.write_text(yaml.safe_dump(rewritten, allow_unicode=True), encoding="utf-8")
        daemon = Daemon(config, "127.0.0.1:0")
        started = asyncio.Event()
        task = asyncio.create_task(daemon.run(started))
        await asyncio.wait_for(started.wait(), 30)
        assert daemon.traps.receiver is not None and daemon.traps.receiver.address is not None
        sim.agent.traps.sink = daemon.traps.receiver.address
        async with aiohttp.ClientSession() as session:
            s = Stack(sim, daemon, f"http://127.0.0.1:{daemon.bound_port}", session)
            jobs = len(daemon.loaded.inventory.jobs) if daemon.loaded else 0
            await s.until(
                lambda m: (
                    len(select(m, "trunkwatch_probe_success")) == jobs
                    and all(v == 1 for v in select(m, "trunkwatch_probe_success").values())
                ),
                "every probe succeeds",
            )
            yield s
        daemon.stop()
        await task


def value(m: Series, name: str, **labels: str) -> float:
    found = select(m, name, **labels)
    assert len(found) == 1, (name, labels, found)
    return next(iter(found.values()))


def success_by_asset(m: Series) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, v in select(m, "trunkwatch_probe_success").items():
        asset = dict(key)["asset"]
        out[asset] = min(v, out.get(asset, 1.0))
    return out


def reasons(m: Series) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for key in select(m, "trunkwatch_probe_failure_info"):
        labels = dict(key)
        out.setdefault(labels["asset"], set()).add(labels["reason"])
    return out


async def test_every_site_line_and_switch_is_polled_and_values_move(stack: Stack) -> None:
    first = await stack.metrics()
    sites = {dict(k)["asset"] for k in select(first, "trunkwatch_bs_traffic_channels")}
    assert len(sites) == 12
    assert len(select(first, "trunkwatch_ds1_line_status", status="no_alarm")) == 2
    assert len(select(first, "trunkwatch_if_oper_status", asset="core-sw-1", state="up")) > 10
    octets = value(first, "trunkwatch_if_receive_bytes_total", asset="core-rtr-1", index="1")
    await stack.until(
        lambda m: (
            value(m, "trunkwatch_if_receive_bytes_total", asset="core-rtr-1", index="1") > octets
        ),
        "interface counters increase",
    )


async def test_mains_failure_changes_power_only_at_that_site(stack: Stack) -> None:
    stack.sim.fleet.inject(Fault.MAINS_FAILURE, "bs-xingning")
    try:
        m = await stack.until(
            lambda m: value(m, "trunkwatch_bs_mains_present", asset="bs-xingning") == 0,
            "mains absent at xingning",
        )
        assert value(m, "trunkwatch_bs_mains_present", asset="bs-qingxiu") == 1
        assert all(
            v == 1 for v in select(m, "trunkwatch_bs_carrier_up", asset="bs-xingning").values()
        )
        assert success_by_asset(m)["bs-xingning"] == 1
    finally:
        stack.sim.fleet.clear(Fault.MAINS_FAILURE, "bs-xingning")
    await stack.until(
        lambda m: value(m, "trunkwatch_bs_mains_present", asset="bs-xingning") == 1, "mains back"
    )


async def test_high_vswr_on_one_carrier(stack: Stack) -> None:
    stack.sim.fleet.inject(Fault.VSWR_HIGH, "bs-qingxiu", carrier=2, vswr=2.5)
    try:
        m = await stack.until(
            lambda m: value(m, "trunkwatch_bs_vswr_ratio", asset="bs-qingxiu", carrier="2") > 2.2,
            "VSWR high on carrier 2",
        )
        assert value(m, "trunkwatch_bs_vswr_ratio", asset="bs-qingxiu", carrier="1") < 1.5
        assert value(m, "trunkwatch_bs_vswr_ratio", asset="bs-qingxiu", carrier="3") < 1.5
        reflected = value(
            m, "trunkwatch_bs_tx_reflected_power_watts", asset="bs-qingxiu", carrier="2"
        )
        forward = value(m, "trunkwatch_bs_tx_forward_power_watts", asset="bs-qingxiu", carrier="2")
        gamma = (reflected / forward) ** 0.5
        assert (1 + gamma) / (1 - gamma) == pytest.approx(
            value(m, "trunkwatch_bs_vswr_ratio", asset="bs-qingxiu", carrier="2"), abs=0.02
        )
    finally:
        stack.sim.fleet.clear(Fault.VSWR_HIGH, "bs-qingxiu", carrier=2)
    await stack.until(
        lambda m: value(m, "trunkwatch_bs_vswr_ratio", asset="bs-qingxiu", carrier="2") < 1.5,
        "VSWR back to normal",
    )


async def test_carrier_failure_drops_four_traffic_channels(stack: Stack) -> None:
    before = value(
        await stack.metrics(), "trunkwatch_bs_traffic_channels_available", asset="bs-xingning"
    )
    stack.sim.fleet.inject(Fault.CARRIER_FAILURE, "bs-xingning", carrier=1)
    try:
        # One poll reads scalars before the carrier table, so a fault injected between the
        # two shows half of it for one poll; wait for a poll that saw it whole.
        m = await stack.until(
            lambda m: (
                value(m, "trunkwatch_bs_carrier_up", asset="bs-xingning", carrier="1") == 0
                and value(m, "trunkwatch_bs_traffic_channels_available", asset="bs-xingning")
                == before - 4
            ),
            "carrier 1 down and four traffic channels fewer in service",
        )
        assert value(m, "trunkwatch_bs_carrier_up", asset="bs-xingning", carrier="2") == 1
        # Configured capacity is unchanged: only what is in service dropped.
        assert value(m, "trunkwatch_bs_traffic_channels", asset="bs-xingning") == before
        assert value(m, "trunkwatch_bs_mcch_carrier", asset="bs-xingning") == 2
        # The station's own notification raised the alarm too, for that carrier only.
        alarm = select(m, "trunkwatch_snmp_trap_alarm", asset="bs-xingning", alarm="carrier_down")
        assert [dict(k)["carrier"] for k in alarm] == ["1"]
    finally:
        stack.sim.fleet.clear(Fault.CARRIER_FAILURE, "bs-xingning", carrier=1)
    await stack.until(
        lambda m: not select(m, "trunkwatch_snmp_trap_alarm", asset="bs-xingning"),
        "the restore notification clears the alarm",
    )
    await stack.until(
        lambda m: (
            value(m, "trunkwatch_bs_traffic_channels_available", asset="bs-xingning") == before
        ),
        "capacity restored",
    )


async def test_backhaul_down_makes_what_is_behind_it_unreachable(stack: Stack) -> None:
    stack.sim.fleet.inject(Fault.BACKHAUL_DOWN, "bs-binyang")
    try:
        m = await stack.until(
            lambda m: (
                reasons(m).get("bs-binyang") == {"timeout"}
                and reasons(m).get("bs-shanglin") == {"unreachable"}
                and reasons(m).get("ups-shanglin") == {"unreachable"}
                and reasons(m).get("ups-binyang") == {"unreachable"}
            ),
            "binyang down, everything behind it unreachable",
        )
        down = {a for a, v in success_by_asset(m).items() if v == 0}
        assert down == {"bs-binyang", "ups-binyang", "bs-shanglin", "ups-shanglin"}
    finally:
        stack.sim.fleet.clear(Fault.BACKHAUL_DOWN, "bs-binyang")
    await stack.until(
        lambda m: all(v == 1 for v in success_by_asset(m).values()), "everything back"
    )


async def test_e1_loss_of_signal_on_one_span(stack: Stack) -> None:
    stack.sim.fleet.inject(Fault.E1_LOS, "e1-gw-110", span=1)
    try:
        m = await stack.until(
            lambda m: (
                value(m, "trunkwatch_ds1_line_status", asset="e1-gw-110", line="1", status="los")
                == 1
            ),
            "LOS on span 1",
        )
        assert value(m, "trunkwatch_ds1_line_status", line="1", status="no_alarm") == 0
        assert value(m, "trunkwatch_ds1_line_status", line="2", status="no_alarm") == 1
        assert value(m, "trunkwatch_ds1_line_status", line="2", status="los") == 0
        alarm = select(m, "trunkwatch_snmp_trap_alarm", asset="e1-gw-110", alarm="ds1_line_alarm")
        assert [dict(k)["line"] for k in alarm] == ["1"]
    finally:
        stack.sim.fleet.clear(Fault.E1_LOS, "e1-gw-110", span=1)
    await stack.until(
        lambda m: value(m, "trunkwatch_ds1_line_status", line="1", status="no_alarm") == 1,
        "span 1 clean",
    )


async def test_switch_port_down_cuts_off_the_site_behind_it(stack: Stack) -> None:
    port = stack.sim.fleet.device("bs-qingxiu").parent_port
    stack.sim.fleet.inject(Fault.PORT_DOWN, "core-sw-1", port=port)
    try:
        m = await stack.until(
            lambda m: (
                value(
                    m, "trunkwatch_if_oper_status", asset="core-sw-1", index=str(port), state="down"
                )
                == 1
                and success_by_asset(m)["bs-qingxiu"] == 0
            ),
            "port down and the site behind it silent",
        )
        assert value(m, "trunkwatch_if_oper_status", asset="core-sw-1", index="1", state="up") == 1
        assert success_by_asset(m)["bs-xingning"] == 1
    finally:
        stack.sim.fleet.clear(Fault.PORT_DOWN, "core-sw-1", port=port)
    await stack.until(lambda m: success_by_asset(m)["bs-qingxiu"] == 1, "site back")


async def test_sip_trunk_out_of_service_then_silent(stack: Stack) -> None:
    stack.sim.fleet.inject(Fault.SIP_503, "sip-119-fire")
    try:
        m = await stack.until(
            lambda m: reasons(m).get("sip-119-fire") == {"unavailable"}, "trunk answers 503"
        )
        assert "sip-120-ambulance" not in reasons(m)
    finally:
        stack.sim.fleet.clear(Fault.SIP_503, "sip-119-fire")
    stack.sim.fleet.inject(Fault.SIP_SILENT, "sip-119-fire")
    try:
        await stack.until(lambda m: reasons(m).get("sip-119-fire") == {"timeout"}, "trunk silent")
    finally:
        stack.sim.fleet.clear(Fault.SIP_SILENT, "sip-119-fire")
    m = await stack.until(lambda m: "sip-119-fire" not in reasons(m), "trunk available again")
    assert value(m, "trunkwatch_sip_response_code", asset="sip-119-fire") == 200


async def test_platform_server_health_page(stack: Stack) -> None:
    m = await stack.metrics()
    assert value(m, "trunkwatch_http_status_code", asset="srv-cad-1") == 200
    stack.sim.fleet.inject(Fault.SITE_DOWN, "srv-cad-1")
    try:
        m = await stack.until(lambda m: success_by_asset(m)["srv-cad-1"] == 0, "server down")
        assert success_by_asset(m)["srv-gis-1"] == 1
    finally:
        stack.sim.fleet.clear(Fault.SITE_DOWN, "srv-cad-1")
    await stack.until(lambda m: success_by_asset(m)["srv-cad-1"] == 1, "server back")

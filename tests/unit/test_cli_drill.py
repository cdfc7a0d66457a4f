"""``trunkwatch drill`` refused in words: an unknown site, a fault the device cannot have, a
monitor or simulator that is not there, a report that could not be written — each before any
fault is injected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from monitor.simulator.drill import DrillError, run_drill
from monitor.simulator.fleet import DEFAULT_FLEET, Fault
from monitor.simulator.runtime import Simulation
from tests.unit.test_cli import closed_tcp_port, run


@pytest.fixture
async def simulation() -> AsyncIterator[Simulation]:
    async with Simulation(DEFAULT_FLEET, ephemeral=True, control=("127.0.0.1", 0)) as sim:
        yield sim


@pytest.fixture
async def monitor() -> AsyncIterator[str]:
    """Stands in for the monitor's /metrics: the drill reads a baseline there first."""

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(text="")

    app = web.Application()
    app.add_routes([web.get("/metrics", metrics)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def drill(sim: Simulation, monitor: str, fault: Fault, site: str) -> str:
    with pytest.raises(DrillError) as caught:
        await run_drill(
            fault,
            site,
            {},
            control=f"http://127.0.0.1:{sim.control_port}",
            monitor=monitor,
            wait_seconds=1,
        )
    assert sim.fleet.active_faults() == []
    return str(caught.value)


async def test_a_fault_the_device_cannot_have_is_named_in_words(
    simulation: Simulation, monitor: str
) -> None:
    text = await drill(simulation, monitor, Fault.E1_LOS, "bs-xingning")
    assert text == "bs-xingning is a base station; e1_los needs an E1 gateway"
    text = await drill(simulation, monitor, Fault.MAINS_FAILURE, "sip-119-fire")
    assert text == "sip-119-fire is a SIP trunk; mains_failure needs a base station"


async def test_an_unknown_site_is_named_with_the_devices_there_are(
    simulation: Simulation, monitor: str
) -> None:
    text = await drill(simulation, monitor, Fault.SITE_DOWN, "bs-nowhere")
    assert text.startswith("no simulated device 'bs-nowhere' (the devices: ")
    assert "bs-xingning" in text and "e1-gw-110" in text
    assert "http" not in text


async def test_no_monitor_or_no_simulator_is_said_plainly(
    simulation: Simulation, monitor: str
) -> None:
    closed = closed_tcp_port()
    with pytest.raises(DrillError) as caught:
        await run_drill(
            Fault.SITE_DOWN,
            "bs-xingning",
            {},
            control=f"http://127.0.0.1:{simulation.control_port}",
            monitor=f"http://127.0.0.1:{closed}",
        )
    assert str(caught.value).startswith(
        f"no trunkwatch monitor answers at http://127.0.0.1:{closed}"
    )
    with pytest.raises(DrillError) as caught:
        await run_drill(
            Fault.SITE_DOWN,
            "bs-xingning",
            {},
            control=monitor,  # not a simulator
            monitor=monitor,
        )
    assert (
        str(caught.value)
        == f"{monitor} is not a trunkwatch simulator (HTTP 404); give its control API as --control-url"
    )


@pytest.mark.parametrize(
    ("report", "says"),
    [
        (
            "{tmp}/missing/drill.md",
            "--report: no folder '{tmp}/missing' for {tmp}/missing/drill.md",
        ),
        ("{tmp}", "--report: {tmp} is a folder"),
    ],
)
def test_the_report_path_is_checked_before_anything_is_injected(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, report: str, says: str
) -> None:
    # Monitor and simulator are not there: had the drill started, it would say so instead.
    closed = closed_tcp_port()
    code, out, err = run(
        capsys,
        "drill", "mains_failure", "--site", "bs-xingning", "--report", report.format(tmp=tmp_path),
        "--monitor", f"http://127.0.0.1:{closed}", "--control-url", f"http://127.0.0.1:{closed}",
    )  # fmt: skip
    assert code == 2
    assert out == ""
    assert err == f"trunkwatch drill: {says.format(tmp=tmp_path)}\n"


def test_a_drill_without_a_monitor_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    closed = closed_tcp_port()
    code, _, err = run(
        capsys,
        "drill", "site_down", "--site", "bs-xingning",
        "--monitor", f"http://127.0.0.1:{closed}", "--control-url", f"http://127.0.0.1:{closed}",
    )  # fmt: skip
    assert code == 1
    assert err.count("\n") == 1
    assert "no trunkwatch monitor answers" in err

"""Traffic through the real SNMP path: the simulated sites offer the configured busy-hour
traffic, and their queued / blocked calls follow Erlang C / Erlang B for their channels.

Simulated time is driven by a manual source (hours pass in microseconds), and every count is
read over UDP from the simulator's SNMP agent by the trunked_bs profile, as in production.

Tolerances are statistical, not fudge factors. Call counts over an hour are Poisson-ish but
queueing makes hours correlated within themselves, so each quantity is estimated per hour
(a batch) and compared within four standard errors of the batch mean, plus the small bias of
hour-long batches starting from the previous hour's state.
"""

from __future__ import annotations

import statistics
from collections.abc import AsyncIterator
from typing import Any

import pytest

from monitor.capacity import erlang_b, erlang_c, tetra_traffic_channels
from monitor.core.clock import ManualClock
from monitor.simulator.agent import SnmpAgent
from monitor.simulator.fleet import DEFAULT_FLEET, Fleet
from probes.base import Target
from probes.snmp import close_shared_sessions, create

pytestmark = pytest.mark.integration

HOUR = 3600.0
# 2016-07-01 00:00 in Asia/Shanghai.
MIDNIGHT = 1467302400.0


class Poller:
    def __init__(self, fleet: Fleet, agent: SnmpAgent) -> None:
        self.fleet = fleet
        self.agent = agent
        # One probe per asset, as the daemon has one per job: a probe keeps counter state.
        self.probes = {a: create({"profile": "trunked_bs"}, timeout=3) for a in agent.endpoints}

    async def counters(self, asset: str) -> dict[str, float]:
        host, port = self.agent.endpoints[asset]
        result = await self.probes[asset].run(Target(asset, host, port, {"community": "public"}))
        return {
            s.family.name: s.value
            for s in result.samples
            if s.family.name
            in (
                "trunkwatch_bs_calls_total",
                "trunkwatch_bs_calls_queued_total",
                "trunkwatch_bs_calls_blocked_total",
                "trunkwatch_bs_channel_seconds_total",
            )
        }


async def fleet_with(config: dict[str, Any]) -> AsyncIterator[tuple[Poller, ManualClock]]:
    source = ManualClock()
    fleet = Fleet({**config, "start": MIDNIGHT}, source=source)
    try:
        async with SnmpAgent(fleet, ephemeral=True) as agent:
            yield Poller(fleet, agent), source
    finally:
        await close_shared_sessions()


def batch_mean(values: list[float]) -> tuple[float, float]:
    """Mean and its standard error from per-batch estimates."""
    return statistics.fmean(values), statistics.stdev(values) / len(values) ** 0.5


@pytest.fixture
async def city() -> AsyncIterator[tuple[Poller, ManualClock]]:
    sites = [{**s, "growth_per_week": 0.0} for s in DEFAULT_FLEET["sites"]]
    async for pair in fleet_with({**DEFAULT_FLEET, "sites": sites}):
        yield pair


async def test_busy_hour_offered_traffic_matches_the_configuration(
    city: tuple[Poller, ManualClock],
) -> None:
    poller, source = city
    sites = [s for s in DEFAULT_FLEET["sites"] if s["busy_hour_erlangs"] >= 1.0]
    hold = DEFAULT_FLEET["defaults"]["mean_hold_s"]
    per_site: dict[str, list[float]] = {s["id"]: [] for s in sites}
    now = 0.0
    for day in range(5):
        for busy_start in (10, 20):  # the default profile's two busy hours, local time
            start = day * 24 * HOUR + busy_start * HOUR
            await source.advance(start - now)
            before = {s["id"]: await poller.counters(s["id"]) for s in sites}
            await source.advance(HOUR)
            now = start + HOUR
            for s in sites:
                after = await poller.counters(s["id"])
                attempts = (
                    after["trunkwatch_bs_calls_total"]
                    - before[s["id"]]["trunkwatch_bs_calls_total"]
                )
                per_site[s["id"]].append(attempts * hold / HOUR)
    for s in sites:
        mean, se = batch_mean(per_site[s["id"]])
        configured = s["busy_hour_erlangs"]
        print(f"{s['id']}: offered {mean:.3f} E ± {se:.3f} (configured {configured})")
        assert abs(mean - configured) <= 4 * se, (s["id"], mean, se, configured)
        # And the estimate is tight enough to mean something: better than ±10 %.
        assert 4 * se < 0.1 * configured


ERLANG_SITES = {
    "sites": [
        # Queued calls wait as long as it takes: a delay system, Erlang C.
        {
            "id": "bs-queue",
            "name": "排队站",
            "lat": 22.8,
            "lon": 108.4,
            "carriers": 3,
            "busy_hour_erlangs": 8.0,
            "mean_hold_s": 20.0,
            "queue_timeout_s": None,
        },
        # No queue: a call finding every channel busy is lost, Erlang B.
        {
            "id": "bs-loss",
            "name": "呼损站",
            "lat": 22.7,
            "lon": 108.3,
            "carriers": 2,
            "busy_hour_erlangs": 4.0,
            "mean_hold_s": 20.0,
            "queue_timeout_s": 0.0,
        },
    ],
    "profile": [1.0] * 24,  # every hour a busy hour: steady state, 24 batches a day
    "seed": 7,
}


async def test_queued_and_blocked_calls_follow_erlang_c_and_b() -> None:
    async for poller, source in fleet_with(ERLANG_SITES):
        await source.advance(HOUR)  # warm up from an empty system
        samples: dict[str, list[float]] = {"bs-queue": [], "bs-loss": []}
        previous = {a: await poller.counters(a) for a in samples}
        for _ in range(48):
            await source.advance(HOUR)
            for asset in samples:
                now = await poller.counters(asset)
                attempts = (
                    now["trunkwatch_bs_calls_total"] - previous[asset]["trunkwatch_bs_calls_total"]
                )
                key = (
                    "trunkwatch_bs_calls_queued_total"
                    if asset == "bs-queue"
                    else "trunkwatch_bs_calls_blocked_total"
                )
                samples[asset].append((now[key] - previous[asset][key]) / attempts)
                previous[asset] = now
        channels_c = tetra_traffic_channels(3)
        channels_b = tetra_traffic_channels(2)
        expected_c = erlang_c(8.0, channels_c)
        expected_b = erlang_b(4.0, channels_b)
        mean_c, se_c = batch_mean(samples["bs-queue"])
        mean_b, se_b = batch_mean(samples["bs-loss"])
        print(f"P(queued) {mean_c:.4f} ± {se_c:.4f}, Erlang C({channels_c}) {expected_c:.4f}")
        print(f"P(blocked) {mean_b:.4f} ± {se_b:.4f}, Erlang B({channels_b}) {expected_b:.4f}")
        assert abs(mean_c - expected_c) <= 4 * se_c + 0.005
        assert abs(mean_b - expected_b) <= 4 * se_b + 0.003
        # The two models really differ here: the test could tell them apart.
        assert abs(erlang_b(8.0, channels_c) - mean_c) > 4 * se_c

"""The simulated fleet as a capacity history: ``record_simulation`` runs the simulator on a
manual clock and reads every base station and E1 gateway through its real SNMP agent, hour by
hour, into a ``SampleHistory`` — the input of ``trunkwatch capacity report --from-simulation``
and of the capacity acceptance test. It drives the simulator, so it lives beside the command,
not in ``monitor.capacity``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.capacity import Progress, SampleHistory
from monitor.capacity.history import HOUR_S, local_hour_ceil
from monitor.core.clock import ManualClock
from monitor.inventory import Asset, Job
from monitor.results import Result
from monitor.simulator.agent import SnmpAgent
from monitor.simulator.fleet import Fleet
from monitor.simulator.lines import E1Gateway
from monitor.simulator.radio import BaseStation
from probes.base import ProbeError, Target
from probes.snmp import close_shared_sessions, create

__all__ = ["Surge", "record_simulation"]

log = logging.getLogger("trunkwatch.capacity")


@dataclass(frozen=True, slots=True)
class Surge:
    """A major incident in a simulation: ``asset``'s offered traffic (and that of sites within
    ``radius_km``) times ``multiplier`` from ``start`` for ``hours`` (simulated epoch time)."""

    asset: str
    start: float
    hours: float = 24.0
    multiplier: float = 3.0
    radius_km: float = 0.0


async def record_simulation(
    fleet: Fleet,
    source: ManualClock,
    history: SampleHistory,
    *,
    hours: int,
    sites: Mapping[str, str] | None = None,
    surges: Sequence[Surge] = (),
    read_hours: Iterable[int] | None = None,
    progress: Progress | None = None,
) -> None:
    """Run ``fleet`` (driven by the manual ``source``) for ``hours`` simulated hours, reading
    every base station and E1 gateway through the simulator's real SNMP agent at each local
    hour boundary into ``history``, as the daemon's probes would.

    ``sites`` maps asset ids to the site label their results carry (default: the asset id);
    ``read_hours`` limits the readings to the boundaries of those local hours of day (the
    start and end of each is read), to save time on long runs; ``surges`` are injected and
    cleared on the way. Polls that fail are skipped (their hours go missing).
    """

    if hours < 1:
        raise ValueError("hours must be >= 1")
    wanted: set[int] | None = None
    if read_hours is not None:
        wanted = set()
        for h in read_hours:
            wanted |= {h % 24, (h + 1) % 24}
    labels = dict(sites or {})
    tz = history.tz
    events: list[tuple[float, bool, Surge]] = []
    for s in surges:
        events += [(s.start, True, s), (s.start + s.hours * HOUR_S, False, s)]
    events.sort(key=lambda e: (e[0], e[1]))

    async def advance_to(t: float) -> None:
        step = (t - fleet.now()) / fleet.clock.speed
        if step > 0:
            await source.advance(step)

    try:
        async with SnmpAgent(fleet, ephemeral=True) as agent:
            jobs = []
            for device in fleet:
                if isinstance(device, BaseStation):
                    system, kind, profile = "radio", "tetra_bs", "trunked_bs"
                elif isinstance(device, E1Gateway):
                    system, kind, profile = "line", "e1_gateway", "trunk_gateway"
                else:
                    continue
                host, port = agent.endpoints[device.asset_id]
                target = Target(device.asset_id, host, port, {"community": fleet.agent.community})
                asset = Asset(
                    device.asset_id,
                    labels.get(device.asset_id, device.asset_id),
                    system,
                    kind,
                    device.name,
                    target,
                    None,
                )
                probe = create({"profile": profile}, timeout=3.0)
                jobs.append(Job(asset, f"snmp:{profile}", "snmp", 3600.0, 3.0, probe))

            async def poll(job: Job, t: float) -> None:
                try:
                    run = await job.probe.run(job.asset.target)
                except ProbeError as exc:
                    log.warning("simulation: %s not read at %s: %s", job.asset.id, t, exc)
                    return
                history.observe(Result(job, True, 0.0, t, run.samples))

            t = float(local_hour_ceil(fleet.now(), tz))
            end = t + hours * HOUR_S
            pending = list(events)
            step = 0
            while t <= end:
                await advance_to(t)
                if wanted is None or datetime.fromtimestamp(t, tz).hour in wanted:
                    async with asyncio.TaskGroup() as tasks:
                        for job in jobs:
                            tasks.create_task(poll(job, t))
                while pending and pending[0][0] <= t:
                    _, on, surge = pending.pop(0)
                    if on:
                        fleet.inject(
                            "traffic_surge",
                            surge.asset,
                            multiplier=surge.multiplier,
                            radius_km=surge.radius_km,
                        )
                    else:
                        fleet.clear("traffic_surge", surge.asset)
                step += 1
                if progress is not None and (step % 24 == 0 or t + HOUR_S > end):
                    progress(step - 1, hours, datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d"))
                t += HOUR_S
    finally:
        await close_shared_sessions()

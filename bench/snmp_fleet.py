"""The scale bench's devices: simulated TETRA base stations (``trunked_bs``, IF-MIB with several
interfaces, UPS-MIB), served by the simulator's own SNMP agent (``monitor.simulator``) in shard
processes of their own, each on one loopback address with one ephemeral UDP port per device.

A shard builds its part of the fleet and every device's MIB view before it says where its
devices listen, so that the first polls find a warm agent; it serves until told to stop, its
parent's end of the pipe closes, or its lifetime runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from monitor.simulator.fleet import DEFAULT_FLEET
from monitor.simulator.runtime import Simulation

__all__ = ["CENTRE", "COMMUNITY", "Shard", "device_id", "shard_host", "simulated_fleet"]

COMMUNITY = "public"
SEED = 2016
#: How long a shard may take to build its devices and bind their ports.
SHARD_START_SECONDS = 300.0


#: The centre's own equipment, served by the first shard beside its base stations, so that the
#: shipped inspection plans of the line, network and platform systems have something to
#: inspect: (section of the simulator, asset id, system, kind, SNMP profiles).
CENTRE: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("switches", "core-rtr-1", "network", "router", ("if_mib",)),
    ("lines", "e1-gw-110", "line", "e1_gateway", ("ds1_mib", "trunk_gateway")),
    ("servers", "srv-cad-1", "platform", "server", ("host_resources",)),
)


def device_id(index: int) -> str:
    return f"bs-s{index:05d}"


def shard_host(shard: int) -> str:
    """The loopback address of a shard's devices (127.77.0.1, 127.77.1.1 …)."""
    return f"127.77.{shard // 250}.{shard % 250 + 1}"


def simulator_section(first: int, count: int, host: str, interfaces: int) -> dict[str, Any]:
    """The ``simulator:`` section of ``count`` base stations from ``first`` on: the demo city's
    sites repeated, with ``interfaces`` IF-MIB rows each and no parent (every one answers);
    the first shard's has the centre's equipment too."""
    template = DEFAULT_FLEET["sites"]
    sites = []
    for index in range(first, first + count):
        site = copy.deepcopy(template[index % len(template)])
        site.update(id=device_id(index), parent=None, parent_port=None, interfaces=interfaces)
        sites.append(site)
    section: dict[str, Any] = {
        "seed": SEED,
        "agent": {"host": host, "community": COMMUNITY},
        "defaults": DEFAULT_FLEET["defaults"],
        "sites": sites,
    }
    if first == 0:
        for kind, asset_id, *_ in CENTRE:
            spec = next(d for d in DEFAULT_FLEET[kind] if d["id"] == asset_id)
            spec = {**copy.deepcopy(spec), "parent": None, "parent_port": None}
            section.setdefault(kind, []).append(spec)
    return section


@dataclass(frozen=True, slots=True)
class Shard:
    """One shard process: its pid, and where each of its devices listens."""

    pid: int
    host: str
    endpoints: dict[str, tuple[str, int]]
    #: CPU seconds it took to build the devices and their views.
    build_cpu: float


async def _serve(section: dict[str, Any], conn: Connection, lifetime: float) -> None:
    loop = asyncio.get_running_loop()
    cpu0 = time.process_time()
    async with Simulation(section, ephemeral=True) as sim:
        for device in sim.fleet:
            sim.fleet.view(device.asset_id)
        conn.send((dict(sim.agent.endpoints), time.process_time() - cpu0))
        stop = asyncio.Event()
        # Anything from the parent, or its end of the pipe closing, means stop.
        loop.add_reader(conn.fileno(), stop.set)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(lifetime):
                await stop.wait()


def serve_shard(
    section: dict[str, Any], cpu: int | None, conn: Connection, lifetime: float
) -> None:
    """Process entry: serve one shard of the fleet until told to stop."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    asyncio.run(_serve(section, conn, lifetime))


@contextlib.contextmanager
def simulated_fleet(
    devices: int, per_shard: int, interfaces: int, cpu: int | None, lifetime: float
) -> Iterator[list[Shard]]:
    """Serve ``devices`` base stations from shards of at most ``per_shard`` devices, all pinned
    to ``cpu``; yields the shards once every one of them listens. They are all stopped on
    leaving, however it is left."""
    ctx = get_context("spawn")
    started: list[tuple[BaseProcess, Connection, str]] = []
    try:
        for shard, first in enumerate(range(0, devices, per_shard)):
            host = shard_host(shard)
            section = simulator_section(first, min(per_shard, devices - first), host, interfaces)
            ours, theirs = ctx.Pipe()
            proc: BaseProcess = ctx.Process(
                target=serve_shard,
                args=(section, cpu, theirs, lifetime),
                name=f"bench-sim-{shard}",
                daemon=True,
            )
            proc.start()
            theirs.close()
            started.append((proc, ours, host))
        shards = []
        deadline = time.monotonic() + SHARD_START_SECONDS
        for shard_proc, conn, host in started:
            if not conn.poll(max(0.0, deadline - time.monotonic())):
                raise RuntimeError(f"simulator shard {host} not ready in {SHARD_START_SECONDS:g} s")
            endpoints, build_cpu = conn.recv()
            assert shard_proc.pid is not None
            shards.append(Shard(shard_proc.pid, host, endpoints, build_cpu))
        yield shards
    finally:
        for _, conn, _ in started:
            with contextlib.suppress(OSError):
                conn.send("stop")
            conn.close()
        for stopping, _, _ in started:
            stopping.join(10)
            if stopping.is_alive():
                stopping.terminate()
                stopping.join(5)

"""The demo city for integration tests: the simulated fleet and a trunkwatch daemon polling it.

``city_config(raw, simulation, …)`` rewrites monitor.yaml for a running ``Simulation`` on
ephemeral ports: every asset's address (127.0.0.1:161xx SNMP agents, 163xx SIP trunks) and the
``port`` of its HTTP/TCP probes (164xx) point at what the simulation actually bound, intervals
and timeouts are shortened, and state goes to a temporary folder. The topology (sites,
parents, backhauls), the probes and the inspections stay exactly as shipped.

``SimulatedCity`` runs the simulation and an in-process ``Daemon`` on one event loop in a
background thread, so a test can inject faults with ``city.inject(Fault.MAINS_FAILURE,
"bs-xixiangtang")`` while Prometheus scrapes ``city.metrics_url``. Both are stopped on exit.
``city.add_daemon("b")`` starts one more daemon on the same configuration and simulation (an
HA pair polling the same fleet; its own state folder) and returns its scrape target.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import yaml

from monitor.app.daemon import Daemon
from monitor.simulator.fleet import ActiveFault, Fault
from monitor.simulator.runtime import Simulation

__all__ = ["REPO", "SimulatedCity", "city_config"]

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0

T = TypeVar("T")


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def city_config(
    raw: Mapping[str, Any],
    simulation: Simulation,
    *,
    data_dir: Path,
    interval: str = "2s",
    timeout: str = "1s",
) -> dict[str, Any]:
    """monitor.yaml (as loaded YAML) pointed at ``simulation``'s real endpoints."""
    config = copy.deepcopy(dict(raw))
    endpoints = simulation.endpoints()
    host = simulation.fleet.agent.host
    # monitor.yaml addresses the SNMP agents at the simulator's configured ports; several
    # assets (a base station and its site's UPS) share one agent.
    by_configured_port = {
        f"{host}:{port}": asset_id for asset_id, port in simulation.fleet.ports.items()
    }
    for asset in config.get("assets", []):
        own = endpoints.get(asset["id"], {})
        modules = {p.get("module") for p in asset.get("probes", [])}
        if "sip" in modules and "sip" in own:
            asset["address"] = own["sip"]
        elif asset.get("address") in by_configured_port:
            agent = by_configured_port[asset["address"]]
            asset["address"] = endpoints[agent]["snmp"]
        for probe in asset.get("probes", []):
            probe["interval"] = interval
            probe["timeout"] = timeout
            if probe.get("module") in {"http", "tcp"} and "port" in probe and "http" in own:
                probe["port"] = _port(own["http"])
    if "traps" in config:
        # A free port; SimulatedCity points the simulated devices at what it bound.
        config["traps"] = {**config["traps"], "listen": f"{host}:0"}
    config["defaults"] = {**config.get("defaults", {}), "interval": interval, "timeout": timeout}
    config["server"] = {**config.get("server", {}), "data_dir": str(data_dir)}
    return config


class SimulatedCity:
    """The simulated fleet and the daemon, on one event loop in a background thread."""

    def __init__(
        self,
        workdir: Path,
        source: Path = REPO / "monitor.yaml",
        *,
        interval: str = "2s",
        timeout: str = "1s",
    ) -> None:
        self.workdir = workdir
        self.raw = yaml.safe_load(source.read_text(encoding="utf-8"))
        self.interval = interval
        self.timeout = timeout
        self.config_path = workdir / "monitor.yaml"
        self.simulation: Simulation | None = None
        self.daemon: Daemon | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="city", daemon=True)
        self._run: asyncio.Task[None] | None = None
        self._peers: list[tuple[Daemon, asyncio.Task[None]]] = []

    @property
    def metrics_url(self) -> str:
        assert self.daemon is not None and self.daemon.bound_port is not None
        return f"http://127.0.0.1:{self.daemon.bound_port}/metrics"

    @property
    def target(self) -> str:
        assert self.daemon is not None and self.daemon.bound_port is not None
        return f"127.0.0.1:{self.daemon.bound_port}"

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the city's loop (the fleet is not thread-safe) and return its result."""
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller's thread
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(10)

    def inject(self, fault: Fault, target: str, **params: Any) -> ActiveFault:
        assert self.simulation is not None
        fleet = self.simulation.fleet
        return self.call(lambda: fleet.inject(fault, target, **params))

    def clear_all(self) -> list[ActiveFault]:
        assert self.simulation is not None
        fleet = self.simulation.fleet
        return self.call(fleet.clear_all)

    async def _start(self) -> None:
        self.simulation = Simulation(self.raw.get("simulator"), ephemeral=True)
        await self.simulation.start()
        config = city_config(
            self.raw,
            self.simulation,
            data_dir=self.workdir / "var",
            interval=self.interval,
            timeout=self.timeout,
        )
        self.config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        self.daemon = Daemon(self.config_path, "127.0.0.1:0")
        started = asyncio.Event()
        self._run = asyncio.create_task(self.daemon.run(started))
        waiter = asyncio.create_task(started.wait())
        await asyncio.wait({self._run, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if self._run.done():
            waiter.cancel()
            await self._run  # raises what stopped it
        receiver = self.daemon.traps.receiver
        if receiver is not None:
            self.simulation.agent.traps.sink = receiver.address

    def add_daemon(self, name: str) -> str:
        """One more daemon polling the same simulation; its ``host:port`` scrape target."""
        future = asyncio.run_coroutine_threadsafe(self._add_daemon(name), self._loop)
        return future.result(START_TIMEOUT_S)

    async def _add_daemon(self, name: str) -> str:
        config = yaml.safe_load(self.config_path.read_text(encoding="utf-8"))
        config["server"] = {**config["server"], "data_dir": str(self.workdir / f"var-{name}")}
        path = self.workdir / f"monitor-{name}.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        daemon = Daemon(path, "127.0.0.1:0")
        started = asyncio.Event()
        run = asyncio.create_task(daemon.run(started))
        self._peers.append((daemon, run))
        waiter = asyncio.create_task(started.wait())
        await asyncio.wait({run, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if run.done():
            waiter.cancel()
            await run  # raises what stopped it
        return f"127.0.0.1:{daemon.bound_port}"

    async def _stop(self) -> None:
        for daemon, run in self._peers:
            daemon.stop()
            await run
        if self.daemon is not None and self._run is not None:
            self.daemon.stop()
            await self._run
        if self.simulation is not None:
            await self.simulation.close()

    def __enter__(self) -> SimulatedCity:
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(START_TIMEOUT_S)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._thread.is_alive():
                asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(20)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

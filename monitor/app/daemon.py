"""The ``trunkwatch run`` process: configuration, scheduler, exposition and HTTP server together.

The daemon owns one event loop. It starts the HTTP server first (so health checks answer
while the first round of probes is still out), then its long-lived parts in one task group:
the scheduler, the capacity keeper and the reload worker. SIGHUP and ``POST /-/reload`` ask
the reload worker, which loads the file again, one reload at a time: a bad file, or one that
would drop more than half of the running assets without ``allow_shrink: true``, is rejected
with its problems, ``trunkwatch_config_last_reload_successful`` drops to 0 and the running
configuration stays. SIGTERM/SIGINT stop it within a few seconds. A part that fails stops the
daemon: the others are cancelled, the failure is logged, and ``run`` raises DaemonFailure.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Gauge,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.app.reloads import ReloadWorker
from monitor.app.server import ServerViews, build_app
from monitor.app.status import estate_status, troubled_status
from monitor.app.webconfig import WebConfig, load_web_config
from monitor.capacity import CapacityCollector, SampleHistory, keep_current
from monitor.cluster import ClusterHealth, ClusterRole, apply_role, resolve_role
from monitor.config import Config, load_config, reload_problems
from monitor.core.addresses import parse_listen
from monitor.core.clock import Clock, SystemClock
from monitor.core.collection import CollectorPauses, steady_collection
from monitor.core.errors import TrunkwatchError
from monitor.core.sources import ConfigError, Problem
from monitor.duty import ConditionBook
from monitor.duty.board import active_problems
from monitor.exposition.collector import ExpositionHealth, ResultsCollector
from monitor.exposition.text import Exposition
from monitor.inspections.plans import InspectionSetup, build_setup
from monitor.inspections.section import INSPECTIONS
from monitor.inspections.service import InspectionService
from monitor.inspections.store import InspectionStore, open_store
from monitor.inventory import Inventory, build_inventory
from monitor.results import ResultStore
from monitor.scheduler import Scheduler
from monitor.traps import TrapService

__all__ = ["Daemon", "DaemonFailure", "SnmpClientHealth", "snmp_client_families"]

log = logging.getLogger("trunkwatch.daemon")


class DaemonFailure(TrunkwatchError):
    """A long-lived part of the daemon failed (a bug): the daemon has stopped. The message
    names the part and the kind of error; the log has the traceback."""


class _StopRequested(Exception):
    """Ends the daemon's task group when stop() is called: the parts are cancelled."""


async def close_probe_sessions() -> None:
    """Close the process-wide sockets and sessions of the probe modules that were used."""
    snmp = sys.modules.get("probes.snmp")
    if snmp is not None:
        await snmp.close_shared_sessions()


#: The help of each SNMP client counter, exported as ``trunkwatch_snmp_client_<field>_total``.
#: The ``dropped_*`` fields are one family by reason, the ``*_errors`` fields another.
_SNMP_COUNTERS = {
    "requests": (
        "SNMP requests made, by client (SNMPv3: discoveries and requests asked again included)."
    ),
    "retries": "Tries made again because the last went unanswered, by client.",
    "timeouts": "Requests that no try got an answer to, by client.",
    "replies": "Replies matched to their request (SNMPv3: reports too), by client.",
    "malformed_replies": (
        "Replies to a request that could not be read (the request fails at once), by client."
    ),
    "reports": "SNMPv3 Report PDUs received (discovery, time window, errors).",
    "discoveries": (
        "SNMPv3 engine discoveries: an agent's first request, and again when another engine "
        "answers at its address."
    ),
    "resyncs": "SNMPv3 requests asked again after a notInTimeWindow report (an agent restarted).",
}
_SNMP_DROPPED_HELP = (
    "Datagrams dropped by the SNMP clients, by client and reason: unknown_id (no request waits "
    "for it, often a late answer to a retried try), wrong_source, mismatch (version, community, "
    "user, engine or security level not the request's), undecodable, unauthentic (SNMPv3 "
    "digest), not_in_time (SNMPv3 time window)."
)
_SNMP_ERRORS_HELP = (
    "Local socket errors of the SNMP clients, by client and reason: send (a request that could "
    "not be sent fails at once), socket (an error the socket reported, e.g. ENOBUFS, not tied "
    "to any request)."
)


def snmp_client_families(stats: Mapping[str, Any]) -> list[CounterMetricFamily]:
    """The counters of SNMP clients by kind (``client_stats``) as metric families, every family
    present even with no client."""
    families = {
        field: CounterMetricFamily(f"trunkwatch_snmp_client_{field}", text, labels=["client"])
        for field, text in _SNMP_COUNTERS.items()
    }
    dropped = CounterMetricFamily(
        "trunkwatch_snmp_client_dropped", _SNMP_DROPPED_HELP, labels=["client", "reason"]
    )
    errors = CounterMetricFamily(
        "trunkwatch_snmp_client_errors", _SNMP_ERRORS_HELP, labels=["client", "reason"]
    )
    for client, counters in sorted(stats.items()):
        for field in dataclasses.fields(counters):
            count = getattr(counters, field.name)
            if field.name.startswith("dropped_"):
                dropped.add_metric([client, field.name.removeprefix("dropped_")], count)
            elif field.name.endswith("_errors"):
                errors.add_metric([client, field.name.removesuffix("_errors")], count)
            else:
                families[field.name].add_metric([client], count)
    return [*families.values(), dropped, errors]


class SnmpClientHealth(Collector):
    """The counters of the daemon loop's shared SNMP clients (``client`` ``v1v2c`` or ``v3``):
    requests, retries and timeouts, and every datagram dropped with its reason, so hostile or
    broken replies are seen, not only failed polls. No samples until SNMP is polled (the probe
    package loads on first use); ``loop`` is set when the daemon runs."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None

    def collect(self) -> Iterator[Metric]:
        snmp = sys.modules.get("probes.snmp")
        stats = snmp.client_stats(self.loop) if snmp is not None and self.loop else {}
        yield from snmp_client_families(stats)


@dataclass(slots=True)
class Loaded:
    config: Config
    inventory: Inventory
    inspections: InspectionSetup | None = None
    #: This process's place in a ``cluster:`` (None without one).
    role: ClusterRole | None = None


@dataclass(frozen=True, slots=True)
class Running:
    """What the daemon keeps of the configuration it installed: not the validated file
    (``Loaded.config``), whose models take about 3 KiB an asset (57 MiB for the 20,004 assets
    of 10,000 base stations and their power plants) and of which a reload needs only the ids
    of the running assets."""

    inventory: Inventory
    #: The ids of the configuration's assets (``reload_problems``).
    asset_ids: frozenset[str]


class Daemon:
    def __init__(
        self,
        config_path: str | Path,
        listen: str = "127.0.0.1:9750",
        clock: Clock | None = None,
        web_config_file: str | Path | None = None,
        replica: str | None = None,
        member: str | None = None,
    ) -> None:
        self.config_path = Path(config_path)
        #: ``--replica`` and ``--member``: they win over the file's ``cluster:`` section.
        self.replica = replica
        self.member = member
        self.listen = parse_listen(listen)
        self.web_config_file = web_config_file
        self.web_config: WebConfig | None = None
        self.clock: Clock = clock or SystemClock()
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.gc_pauses = CollectorPauses()
        self.registry.register(self.gc_pauses)
        self.store = ResultStore()
        #: The duty board's degraded conditions and since when (the alert rules, evaluated here).
        self.conditions = ConditionBook()
        self.store.subscribe(self.conditions.on_result)
        self.exposition = Exposition(self.store)
        self.registry.register(ExpositionHealth(self.exposition))
        self.collector = ResultsCollector(self.store)
        self.cluster_health = ClusterHealth()
        self.registry.register(self.cluster_health)
        self.snmp_clients = SnmpClientHealth()
        self.registry.register(self.snmp_clients)
        self.reloads = Gauge(
            "trunkwatch_config_last_reload_successful",
            "1 if the last configuration load succeeded.",
            registry=self.registry,
        )
        self.loaded: Running | None = None
        self.scheduler: Scheduler | None = None
        self.inspections: InspectionService | None = None
        self._inspection_store: InspectionStore | None = None
        self.traps = TrapService(self.registry, self.clock)
        self.ready = False
        self.extra_routes: list[web.RouteDef] = []
        self._stop = asyncio.Event()
        self._reloading = asyncio.Lock()
        stopping = Problem(str(self.config_path), 1, "(reload)", "the daemon is stopping")
        self._reloads = ReloadWorker(self.reload, stopped=[str(stopping)])
        self.bound_port: int | None = None
        #: Applied to every configuration loaded, on reloads too (the demo points the
        #: addresses at where its simulation really listens).
        self.rewrite: Callable[[Config], Config] | None = None

    # -- configuration ----------------------------------------------------------------------

    def _load(self) -> Loaded:
        config = load_config(self.config_path)
        if self.rewrite is not None:
            config = self.rewrite(config)
        setup = build_setup(config) if INSPECTIONS.of(config) is not None else None
        role = resolve_role(config, self.replica, self.member)
        inventory = build_inventory(config)
        if role is not None:
            inventory = apply_role(inventory, role)
        return Loaded(config, inventory, setup, role)

    def _install(self, loaded: Loaded) -> None:
        assert self.scheduler is not None
        # The inventory lives until the next reload: keep it out of the collector's way, so a
        # full collection (which would walk every asset, job and label) cannot stall polling.
        gc.unfreeze()
        self.scheduler.set_inventory(
            loaded.inventory, concurrency=loaded.config.model.limits.concurrency
        )
        self.exposition.set_inventory(loaded.inventory)
        self.collector.inventory = loaded.inventory
        self.cluster_health.install(loaded.role, loaded.inventory)
        if self.inspections is not None and loaded.inspections is not None:
            self.inspections.install(loaded.inspections)
        elif self.inspections is None and loaded.inspections is not None and self.loaded:
            log.warning("inspections were added to the configuration: restart to enable them")
        self.loaded = Running(
            loaded.inventory, frozenset(asset.id for asset in loaded.config.assets)
        )
        gc.collect()
        gc.freeze()

    async def reload(self) -> list[str]:
        """Load the file again; returns its problems (empty when it was installed).

        Never raises: whatever goes wrong is a problem in the answer, the gauge says 0 and the
        running configuration stays. While the daemon runs, only its reload worker calls this
        (``request_reload`` asks it); the lock keeps any other caller from overlapping it.
        """
        async with self._reloading:
            try:
                loaded = await self._load_for_reload()
            except ConfigError as exc:
                problems = exc.problems
            except Exception as exc:
                # A bug, not a bad file: keep running and say so; the log keeps the details.
                log.exception("reload failed unexpectedly, keeping the running configuration")
                reason = f"internal error ({type(exc).__name__}); see the log"
                problems = [Problem(str(self.config_path), 1, "(reload)", reason)]
            else:
                self._install(loaded)
                self.reloads.set(1)
                log.info(
                    "configuration reloaded assets=%d jobs=%d",
                    len(loaded.inventory.assets),
                    len(loaded.inventory.jobs),
                )
                await self._note_reload([])
                return []
            self.reloads.set(0)
            for problem in problems:
                log.error("reload rejected, keeping the running configuration: %s", problem)
            await self._note_reload(problems)
            return [str(p) for p in problems]

    async def _load_for_reload(self) -> Loaded:
        """Load and check the file, then apply its trap section; raises ConfigError."""
        # Loading is bounded (file size, YAML depth and aliases, secret files), so the worker
        # thread always comes back.
        loaded = await asyncio.to_thread(self._load)
        if self.loaded is not None:
            refused = reload_problems(self.loaded.asset_ids, loaded.config)
            if refused:
                raise ConfigError(refused)
        await self.traps.apply(loaded.config, loaded.inventory.assets.values())
        return loaded

    async def request_reload(self) -> list[str]:
        """Have the reload worker load the file again, and wait for its problems."""
        return await self._reloads.reload()

    # -- what the HTTP server reads ---------------------------------------------------------

    @property
    def inventory(self) -> Inventory | None:
        """The running configuration's inventory (None before the first load)."""
        return self.loaded.inventory if self.loaded is not None else None

    def _maintenance(self) -> dict[str, dict[str, Any]]:
        """Assets in a planned maintenance window now, as the board says of them."""
        if self.inspections is None:
            return {}
        return {
            asset: {
                "window": w.id,
                "until": w.ends_at,
                "owner": w.owner,
                "reason": w.reason,
                "target": w.key,
            }
            for asset, w in self.inspections.maintenance.in_force().items()
        }

    def _overdue_follow_ups(self) -> list[dict[str, Any]]:
        """The inspection follow-ups open past their due date: problems of the board (not
        faults of the shift log, which follows the equipment)."""
        return [] if self.inspections is None else self.inspections.follow_ups.overdue()

    def _board_problems(self) -> tuple[list[Mapping[str, Any]], set[str]]:
        """The duty board's problems now, and the assets whose state is known (have a
        result): what the shift log's faults follow. Asked every few seconds on the event
        loop, so it builds the status of the assets in trouble only, not of the estate."""
        status = troubled_status(self.inventory, self.store, self._maintenance(), self.conditions)
        found: list[Mapping[str, Any]] = list(active_problems(status))
        return found, {result.job.asset.id for result in self.store}

    async def _note_reload(self, problems: Sequence[object]) -> None:
        """Write a reload, accepted or rejected, into the shift log (when shifts are kept)."""
        if self.inspections is not None and self.inspections.handover.enabled:
            await asyncio.to_thread(self.inspections.handover.reloaded, [str(p) for p in problems])

    def views(self) -> ServerViews:
        """The read-only views the HTTP handlers get, and the reload they may ask for."""
        return ServerViews(
            registry=self.registry,
            exposition=self.exposition.render_parts,
            results=self.collector,
            status=lambda: estate_status(
                self.inventory,
                self.store,
                self._maintenance(),
                book=self.conditions,
                follow_ups=self._overdue_follow_ups(),
            ),
            ready=self._ready,
            reload=self.request_reload,
            version=lambda: self.conditions.version,
        )

    def _ready(self) -> bool:
        """Running, and the first inspection metrics are computed: a scrape after this has
        every family (the first set is computed apart as the daemon starts, seconds at a
        region's size)."""
        inspections = self.inspections
        collector = inspections.collector if inspections is not None else None
        return self.ready and (collector is None or collector.warmed)

    # -- lifecycle --------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    async def _until_stopped(self) -> None:
        await self._stop.wait()
        self.ready = False
        log.info("stopping")
        raise _StopRequested

    def _keep_capacity_current(
        self, history: SampleHistory, capacity: CapacityCollector, timezone: str
    ) -> Coroutine[Any, Any, None]:
        """The capacity keeper; one of the parts (a method, so a test can fail it)."""
        return keep_current(history, capacity, clock=self.clock, timezone=timezone)

    async def _part(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        """Run one of the daemon's long-lived parts: they run until cancelled, so one that
        fails or returns stops the daemon, logged here with what went wrong."""
        try:
            await work
        except Exception as exc:
            self.ready = False
            log.exception("%s failed, stopping the daemon", name)
            raise DaemonFailure(f"{name} failed ({type(exc).__name__}); see the log") from exc
        self.ready = False
        log.error("%s ended unexpectedly, stopping the daemon", name)
        raise DaemonFailure(f"{name} ended unexpectedly")

    async def _serve(self, cleanup: contextlib.AsyncExitStack, loaded: Loaded) -> None:
        """Start the HTTP server (stopped by ``cleanup``); raises OSError if it cannot bind."""
        app = build_app(self.views(), self.web_config, self.extra_routes)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        cleanup.push_async_callback(runner.cleanup)
        tls = self.web_config.ssl_context if self.web_config else None
        site = web.TCPSite(
            runner, self.listen[0], self.listen[1], reuse_address=True, ssl_context=tls
        )
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self.listen[1]
        log.info(
            "listening on %s://%s:%d assets=%d jobs=%d",
            "https" if tls else "http",
            self.listen[0],
            self.bound_port,
            len(loaded.inventory.assets),
            len(loaded.inventory.jobs),
        )

    def _stopped(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
        log.info("stopped")

    async def run(self, started: asyncio.Event | None = None) -> None:
        """Run until stop(), SIGTERM/SIGINT, or the failure of one of its parts.

        The HTTP server starts first; ``started`` is set once it serves and the parts (the
        scheduler, the capacity keeper, the reload worker) run, in one task group. Raises
        ConfigError on a bad first load, OSError when the HTTP address cannot be bound, and
        DaemonFailure when a part fails (after stopping the others; the log has the details).
        Everything it opened is closed however it ends, cancellation included."""
        if self.web_config_file:
            self.web_config = load_web_config(self.web_config_file)
        loaded = self._load()
        loop = asyncio.get_running_loop()
        self.snmp_clients.loop = loop
        # Closed in the reverse order of opening: the HTTP server first (so no request is
        # left half-answered), the inspection store and the trap receiver last.
        async with contextlib.AsyncExitStack() as cleanup:
            cleanup.callback(self._stopped, loop)
            cleanup.push_async_callback(self.traps.close)
            await self.traps.apply(loaded.config, loaded.inventory.assets.values())
            limits = loaded.config.model.limits
            self.scheduler = Scheduler(
                self.store,
                self.registry,
                concurrency=limits.concurrency,
                per_device=limits.per_device,
                clock=self.clock,
            )
            if loaded.inspections is not None:
                # The store is opened (and migrated) before anything is served: a signed
                # record is never accepted by a daemon that cannot write it.
                store = open_store(loaded.inspections.store_url, loaded.inspections.data_dir)
                self._inspection_store = store
                cleanup.callback(store.close)
                self.inspections = InspectionService(
                    loaded.inspections,
                    store,
                    self.clock,
                    self.store,
                    self.registry,
                    leader_interval=loaded.inspections.leader_interval,
                )
                self.inspections.problems = self._board_problems
                self.extra_routes.extend(self.inspections.routes())
            self._install(loaded)
            if self.inspections is not None and self.inspections.collector is not None:
                # After the install, which counts as a change: a set begun before it would be
                # stale at once and computed again by the first scrape.
                self.inspections.collector.warm()
            self.reloads.set(1)
            # Capacity planning from the monitor's own polls: hourly traffic per site and
            # trunk group, re-analysed every hour into trunkwatch_capacity_* (see `capacity
            # report` for the same analysis from Prometheus history).
            timezone = loaded.config.model.centre.timezone
            history = SampleHistory(
                timezone=timezone, titles={s.id: s.name for s in loaded.config.model.sites}
            )
            self.store.subscribe(history.on_result)
            capacity = CapacityCollector()
            self.registry.register(capacity)
            cleanup.push_async_callback(close_probe_sessions)

            await self._serve(cleanup, loaded)
            # The file's models are not kept while the daemon runs (``Running``).
            del loaded
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signal.SIGTERM, self.stop)
                loop.add_signal_handler(signal.SIGINT, self.stop)
                loop.add_signal_handler(signal.SIGHUP, self._reloads.ask)
            failure: Exception | None = None
            try:
                async with asyncio.TaskGroup() as parts:
                    parts.create_task(
                        self._part("scheduler", self.scheduler.run()), name="scheduler"
                    )
                    parts.create_task(
                        self._part(
                            "capacity keeper",
                            self._keep_capacity_current(history, capacity, timezone),
                        ),
                        name="capacity keeper",
                    )
                    parts.create_task(
                        self._part("reload worker", self._reloads.run()), name="reload worker"
                    )
                    parts.create_task(
                        self._part("collector", steady_collection(self.gc_pauses)),
                        name="collector",
                    )
                    if self.inspections is not None:
                        parts.create_task(
                            self._part("inspections once-only", self.inspections.background()),
                            name="inspections once-only",
                        )
                    parts.create_task(self._until_stopped(), name="stop")
                    self.ready = True
                    if started is not None:
                        started.set()
            except ExceptionGroup as group:
                failures = [e for e in group.exceptions if not isinstance(e, _StopRequested)]
                failure = failures[0] if failures else None
            finally:
                self.ready = False
            if failure is not None:
                raise failure  # each failure is logged by _part; the first says why

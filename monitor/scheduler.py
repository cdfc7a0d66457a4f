"""Run every job on its interval: spread, bounded, never stacked.

One dispatcher coroutine keeps a heap of due times. Each job fires at a stable offset within its
interval (a hash of its ids), so thousands of jobs with one interval spread evenly. A job still
running when it is due again is skipped and counted, never started twice. Runs are bounded by
a global semaphore and one per device (host), and each run by the job's timeout, kept on the
scheduler's clock like everything else it times. A run's outcome, failure included, becomes a
Result in the store; nothing a probe raises escapes.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Iterable
from dataclasses import replace

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from monitor.core.clock import Clock, SystemClock
from monitor.inventory import Inventory, Job
from monitor.results import JobKey, Result, ResultStore
from probes.base import ProbeError, Sample, Samples

__all__ = ["Scheduler", "SchedulerMetrics", "run_once"]

log = logging.getLogger("trunkwatch.scheduler")

OUTCOMES = ("success", "failure", "timeout", "internal")


class SchedulerMetrics:
    """The scheduler's own health, registered in the registry it is given."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Histogram(
            "trunkwatch_scheduler_lag_seconds",
            "Delay between a run's due time and its start.",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.skipped = Counter(
            "trunkwatch_scheduler_skipped_runs",
            "Runs not started because the previous run of the same job was still in flight.",
            ["module"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "trunkwatch_scheduler_in_flight", "Probe runs in progress.", registry=registry
        )
        self.runs = Counter(
            "trunkwatch_scheduler_runs",
            "Probe runs finished, by module and outcome.",
            ["module", "outcome"],
            registry=registry,
        )
        self.jobs = Gauge(
            "trunkwatch_scheduler_jobs", "Jobs (asset × probe) scheduled.", registry=registry
        )


class Scheduler:
    def __init__(
        self,
        store: ResultStore,
        registry: CollectorRegistry,
        *,
        concurrency: int = 256,
        per_device: int = 4,
        clock: Clock | None = None,
        batch_window: float = 0.01,
    ) -> None:
        self.store = store
        self.metrics = SchedulerMetrics(registry)
        self.clock: Clock = clock or SystemClock()
        self._concurrency = concurrency
        self._global = asyncio.Semaphore(concurrency)
        self._per_device_limit = per_device
        # Jobs due within this window of each other start on one wake of the dispatcher; at
        # thousands of jobs a wake per job costs more than the few milliseconds of lag.
        self._batch_window = batch_window
        self._devices: dict[str, asyncio.Semaphore] = {}
        self._jobs: dict[JobKey, Job] = {}
        self._inventory: Inventory | None = None
        self._heap: list[tuple[float, int, JobKey, int]] = []
        # A job's heap entry is valid only while its generation is current: a reload that
        # changes a job bumps it, so the old entry dies instead of running alongside the new.
        self._generation: dict[JobKey, int] = {}
        self._seq = itertools.count()
        self._running: set[JobKey] = set()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.started = asyncio.Event()

    # -- configuration ----------------------------------------------------------------------

    def set_inventory(self, inventory: Inventory, *, concurrency: int | None = None) -> None:
        """Install a new set of jobs. Unchanged jobs keep their phase and results; removed
        jobs' results disappear."""
        new = {job.key: job for job in inventory.jobs}
        for key in [k for k in self._jobs if k not in new]:
            del self._jobs[key]
            self._generation.pop(key, None)
            self.store.remove(key)
        now = self.clock.monotonic()
        for key, job in new.items():
            old = self._jobs.get(key)
            self._jobs[key] = job
            if old is None or old.fingerprint != job.fingerprint:
                if old is not None:
                    self.store.remove(key)
                self._generation[key] = self._generation.get(key, 0) + 1
                self._push(self._first_due(job, now), job)
        if concurrency is not None and concurrency != self._concurrency:
            # Runs in flight keep the semaphore they hold; new runs take the new bound.
            self._concurrency = concurrency
            self._global = asyncio.Semaphore(concurrency)
        devices = {self._device_key(job) for job in new.values()}
        for device in [d for d in self._devices if d not in devices]:
            del self._devices[device]
        self._inventory = inventory
        self.metrics.jobs.set(len(self._jobs))
        self._wake.set()

    def _first_due(self, job: Job, now: float) -> float:
        phase = job.offset
        cycles = (now - phase) // job.interval + 1
        return phase + cycles * job.interval

    def _push(self, due: float, job: Job) -> None:
        generation = self._generation.get(job.key, 0)
        heapq.heappush(self._heap, (due, next(self._seq), job.key, generation))

    # -- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Dispatch until cancelled; on cancellation, in-flight runs are cancelled too."""
        self.started.set()
        timer = None
        try:
            while True:
                self._dispatch_due()
                self._wake.clear()
                if self._heap:
                    deadline = max(self._heap[0][0], self.clock.monotonic() + self._batch_window)
                    timer = self.clock.call_at(deadline, self._wake.set)
                await self._wake.wait()
                if timer is not None:
                    timer.cancel()
                    timer = None
        finally:
            if timer is not None:
                timer.cancel()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def _dispatch_due(self) -> None:
        now = self.clock.monotonic()
        while self._heap and self._heap[0][0] <= now:
            due, _, key, generation = heapq.heappop(self._heap)
            job = self._jobs.get(key)
            if job is None or self._generation.get(key) != generation:
                continue  # removed or replaced by a reload
            next_due = due + job.interval
            if next_due <= now:
                # The dispatcher itself fell a whole interval behind: resume on the grid.
                next_due = self._first_due(job, now)
            self._push(next_due, job)
            if key in self._running:
                self.metrics.skipped.labels(job.module).inc()
                continue
            self._running.add(key)
            task = asyncio.create_task(self._run_job(job, due), name=f"probe {key[0]}/{key[1]}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _device_key(job: Job) -> str:
        # A device is an address: several agents may share a host behind NAT or a proxy.
        target = job.asset.target
        return f"{target.host}:{target.port}"

    def _device(self, job: Job) -> asyncio.Semaphore:
        key = self._device_key(job)
        sem = self._devices.get(key)
        if sem is None:
            sem = self._devices[key] = asyncio.Semaphore(self._per_device_limit)
        return sem

    async def _run_job(self, job: Job, due: float) -> None:
        # The scheduler owns its run tasks (it cancels and awaits them when it stops), and
        # nothing but cancellation leaves one: a failure here is a bug, logged like a probe's.
        try:
            async with self._device(job), self._global:
                await self._execute(job, due)
        except Exception:
            log.exception("probe run failed unexpectedly asset=%s probe=%s", job.asset.id, job.name)
        finally:
            self._running.discard(job.key)

    async def _execute(self, job: Job, due: float) -> None:
        self.metrics.lag.observe(max(0.0, self.clock.monotonic() - due))
        self.metrics.in_flight.inc()
        try:
            result, outcome = await run_once(job, self.clock)
        finally:
            self.metrics.in_flight.dec()
        self.metrics.runs.labels(job.module, outcome).inc()
        if not result.success and result.reason != "unreachable":
            behind = self._failed_upstream(job)
            if behind is not None:
                result = replace(
                    result, reason="unreachable", message=f"upstream asset {behind} is down"
                )
        if self._jobs.get(job.key) is not job:
            return  # removed or replaced while it ran: its result would resurrect it
        self._record(result)

    def _failed_upstream(self, job: Job) -> str | None:
        if self._inventory is None:
            return None
        # The nearest upstream asset we know about decides: if it answers, the path to this
        # asset works and the failure is the asset's own.
        for asset_id in self._inventory.upstream(job.asset.id):
            if self.store.asset_results(asset_id):
                return asset_id if self.store.asset_down(asset_id) else None
        return None

    def _record(self, result: Result) -> None:
        previous = self.store.put(result)
        job = result.job
        if not result.success and (previous is None or previous.success):
            self._reclassify_behind(job.asset.id)
        if previous is not None and not previous.success and result.success:
            log.info("probe recovered asset=%s probe=%s", job.asset.id, job.name)
        elif not result.success and (
            previous is None or previous.success or previous.reason != result.reason
        ):
            log.warning(
                "probe down asset=%s probe=%s reason=%s detail=%s",
                job.asset.id,
                job.name,
                result.reason,
                result.message,
            )

    def _reclassify_behind(self, asset_id: str) -> None:
        """An asset has just gone down: what failed behind it in the meantime failed because
        of it. Say so now rather than at each one's next poll, so that for one interval the
        children do not look like faults of their own."""
        if self._inventory is None or not self.store.asset_down(asset_id):
            return
        pending = self._inventory.children(asset_id)
        while pending:
            child = pending.pop()
            changed = False
            for stale in self.store.asset_results(child):
                if stale.success or stale.reason == "unreachable":
                    continue
                self.store.put(
                    replace(
                        stale,
                        reason="unreachable",
                        message=f"upstream asset {asset_id} is down",
                    )
                )
                changed = True
            if changed and self.store.asset_down(child):
                pending.extend(self._inventory.children(child))

    # -- introspection ----------------------------------------------------------------------

    @property
    def jobs(self) -> Iterable[Job]:
        return self._jobs.values()

    @property
    def running(self) -> int:
        return len(self._running)


async def run_once(job: Job, clock: Clock) -> tuple[Result, str]:
    """Run one job once within its timeout on ``clock``; every failure becomes a Result.

    Returns the result and the outcome for the runs counter (success, failure, timeout,
    internal).
    """
    t0 = clock.monotonic()
    kept: tuple[Sample, ...] = ()
    try:
        async with clock.timeout(job.timeout):
            probed = await job.probe.run(job.asset.target)
    except TimeoutError:
        outcome, reason, message = "timeout", "timeout", f"no answer within {job.timeout:g}s"
    except ProbeError as exc:
        outcome, reason, message = "failure", exc.reason, str(exc)
        kept = exc.samples
    except Exception as exc:  # a bug in one probe must not stop the others
        outcome, reason, message = "internal", "internal", f"{type(exc).__name__}: {exc}"
        log.exception("probe raised unexpectedly asset=%s probe=%s", job.asset.id, job.name)
    else:
        return (
            Result(
                job=job,
                success=True,
                duration=clock.monotonic() - t0,
                finished_at=clock.time(),
                samples=Samples.of(probed.samples),
                partial=tuple(probed.partial.items()),
            ),
            "success",
        )
    result = Result(
        job=job,
        success=False,
        duration=clock.monotonic() - t0,
        finished_at=clock.time(),
        samples=Samples.of(kept) if kept else (),
        reason=reason,
        message=message,
    )
    return result, outcome

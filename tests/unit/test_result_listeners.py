"""A result listener that raises, or a run that fails past the probe, is a logged bug: the
other listeners are still told, and the scheduler keeps every job running."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import CollectorRegistry

from monitor.core.clock import ManualClock
from monitor.inventory import Job
from monitor.results import JobKey, Result, ResultStore
from monitor.scheduler import Scheduler
from probes.base import ConnectionRefused, Family, ProbeResult, Sample, Target
from tests.unit.fleet import ScriptedProbe, asset, inventory, job

VALUE = Family("trunkwatch_test_value", "gauge", "A test value.")


def ok(target: Target) -> ProbeResult:
    return ProbeResult([Sample(VALUE, 1)])


def refused(target: Target) -> ProbeResult:
    raise ConnectionRefused("connection refused")


class Broken:
    """A listener with a bug: it raises on the first ``failures`` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self, key: JobKey, result: Result | None) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ValueError("a bug in a listener")


async def run_for(scheduler: Scheduler, clock: ManualClock, seconds: float) -> None:
    """Run the scheduler for ``seconds`` of manual time; it must still be running then."""
    async with asyncio.TaskGroup() as tasks:
        running = tasks.create_task(scheduler.run())
        await clock.advance(seconds)
        assert not running.done()
        running.cancel()


def listener_records(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str, bool]]:
    return [
        (r.levelno, r.getMessage(), r.exc_info is not None)
        for r in caplog.records
        if r.name == "trunkwatch.results"
    ]


def test_a_raising_listener_is_logged_once_until_it_works_and_the_others_are_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="trunkwatch")
    store = ResultStore()
    broken = Broken(failures=3)
    told: list[tuple[JobKey, bool]] = []
    store.subscribe(broken)
    store.subscribe(lambda key, result: told.append((key, result is not None)))
    jobs = [job(asset(f"a{i}"), ScriptedProbe(ok)) for i in range(4)]
    for j in jobs:
        assert store.put(Result(j, success=True, duration=0.1, finished_at=1.0)) is None
    store.remove(jobs[0].key)
    assert told == [(j.key, True) for j in jobs] + [(jobs[0].key, False)]
    assert len(store) == 3
    name = Broken.__qualname__
    assert listener_records(caplog) == [
        (logging.ERROR, f"result listener {name} failed asset=a0 probe=p", True),
        (logging.INFO, f"result listener {name} works again after 3 failures", False),
    ]


async def test_a_raising_listener_neither_stops_the_scheduler_nor_its_down_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="trunkwatch")
    clock = ManualClock()
    store = ResultStore()
    store.subscribe(Broken(failures=1_000))
    scheduler = Scheduler(store, CollectorRegistry(), clock=clock, batch_window=0.0)
    probe = ScriptedProbe(ok)
    jobs: list[Job] = [job(asset(f"a{i}"), probe, interval=10.0) for i in range(5)]
    jobs.append(job(asset("closed"), ScriptedProbe(refused), interval=10.0))
    scheduler.set_inventory(inventory(jobs))
    await run_for(scheduler, clock, 30.0)
    assert len(probe.calls) == 15
    assert len(store) == 6
    assert [m for m in caplog.messages if m.startswith("probe down")] == [
        "probe down asset=closed probe=p reason=refused detail=connection refused"
    ]
    assert len([r for r in listener_records(caplog) if r[0] == logging.ERROR]) == 1
    assert not [m for m in caplog.messages if "failed unexpectedly" in m]


class FailingStore(ResultStore):
    """A store with a bug: every write fails."""

    def put(self, result: Result) -> Result | None:
        raise RuntimeError("a bug in the store")


async def test_a_run_that_fails_past_the_probe_is_logged_and_its_job_runs_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    scheduler = Scheduler(FailingStore(), CollectorRegistry(), clock=clock, batch_window=0.0)
    probe = ScriptedProbe(ok)
    scheduler.set_inventory(inventory([job(asset("a0"), probe, interval=10.0)]))
    await run_for(scheduler, clock, 30.0)
    # Not stuck as "still running": it ran every interval, and each failure was logged.
    assert len(probe.calls) == 3
    failed = [r for r in caplog.records if "failed unexpectedly" in r.getMessage()]
    assert [r.getMessage() for r in failed] == [
        "probe run failed unexpectedly asset=a0 probe=p"
    ] * 3
    assert all(r.exc_info is not None and r.exc_info[0] is RuntimeError for r in failed)
    assert scheduler.running == 0

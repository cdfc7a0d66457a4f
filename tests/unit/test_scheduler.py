"""Scheduler behaviour under a manual clock: spreading, skipping, bounds, failures, reloads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from monitor.core.clock import ManualClock
from monitor.inventory import Job
from monitor.results import ResultStore
from monitor.scheduler import Scheduler, run_once
from probes.base import ConnectionRefused, Family, ProbeResult, Sample, Target
from tests.unit.fleet import ScriptedProbe, asset, inventory, job

VALUE = Family("trunkwatch_test_value", "gauge", "A test value.")


def ok(target: Target) -> ProbeResult:
    return ProbeResult([Sample(VALUE, 42)])


class Harness:
    def __init__(self, *, concurrency: int = 100, per_device: int = 4) -> None:
        self.clock = ManualClock()
        self.registry = CollectorRegistry()
        self.store = ResultStore()
        self.scheduler = Scheduler(
            self.store,
            self.registry,
            concurrency=concurrency,
            per_device=per_device,
            clock=self.clock,
            batch_window=0.0,
        )

    def metric(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    task = asyncio.create_task(h.scheduler.run())
    await asyncio.sleep(0)
    yield h
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_offsets_spread_jobs_evenly_over_the_interval() -> None:
    probe = ScriptedProbe(ok)
    jobs = [job(asset(f"a{i}"), probe, interval=60.0) for i in range(2000)]
    buckets = [0] * 10
    for j in jobs:
        assert 0 <= j.offset < 60
        buckets[int(j.offset // 6)] += 1
    # 200 expected per bucket; a binomial spread keeps each within ±60 (> 4 sigma).
    assert all(140 <= b <= 260 for b in buckets), buckets
    # Stable: the same ids give the same offset.
    assert job(asset("a7"), probe, interval=60.0).offset == jobs[7].offset


async def test_each_job_runs_once_per_interval_at_its_offset(harness: Harness) -> None:
    probe = ScriptedProbe(ok)
    jobs = [job(asset(f"a{i}"), probe, interval=10.0) for i in range(20)]
    harness.scheduler.set_inventory(inventory(jobs))
    await harness.clock.advance(30.0)
    assert sorted(probe.calls) == sorted([f"a{i}" for i in range(20)] * 3)
    assert (
        harness.metric("trunkwatch_scheduler_runs_total", module="scripted", outcome="success")
        == 60
    )
    assert harness.metric("trunkwatch_scheduler_lag_seconds_sum") == pytest.approx(0.0, abs=1e-6)
    result = harness.store.get(("a3", "p"))
    assert result is not None and result.success and result.samples[0].value == 42


async def test_a_run_still_in_flight_is_skipped_not_stacked(harness: Harness) -> None:
    release = asyncio.Event()
    started = 0

    async def slow(target: Target) -> ProbeResult:
        nonlocal started
        started += 1
        await release.wait()
        return ok(target)

    harness.scheduler.set_inventory(
        inventory([job(asset("slow"), ScriptedProbe(slow), interval=10.0, timeout=3600)])
    )
    await harness.clock.advance(35.0)  # due 3 or 4 times; only the first may start
    assert started == 1
    skipped = harness.metric("trunkwatch_scheduler_skipped_runs_total", module="scripted")
    assert skipped >= 2
    assert harness.metric("trunkwatch_scheduler_in_flight") == 1
    release.set()
    await harness.clock.advance(10.0)
    assert started == 2
    assert harness.store.get(("slow", "p")) is not None


async def test_failures_become_results_with_reasons(harness: Harness) -> None:
    def refused(target: Target) -> ProbeResult:
        raise ConnectionRefused("connection refused")

    def buggy(target: Target) -> ProbeResult:
        raise KeyError("oops")

    async def hangs(target: Target) -> ProbeResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    harness.scheduler.set_inventory(
        inventory(
            [
                job(asset("closed"), ScriptedProbe(refused)),
                job(asset("bug"), ScriptedProbe(buggy)),
                job(asset("silent"), ScriptedProbe(hangs), timeout=5.0),
                job(asset("fine"), ScriptedProbe(ok)),
            ]
        )
    )
    await harness.clock.advance(10.0)  # past every offset and the silent one's timeout
    reasons = {r.job.asset.id: r.reason for r in harness.store}
    assert reasons == {"closed": "refused", "bug": "internal", "silent": "timeout", "fine": None}
    assert (
        harness.metric("trunkwatch_scheduler_runs_total", module="scripted", outcome="internal")
        == 1
    )
    # The dispatcher survived the bug and keeps going.
    await harness.clock.advance(10.0)
    assert (
        harness.metric("trunkwatch_scheduler_runs_total", module="scripted", outcome="success") == 2
    )


async def test_per_device_bound_limits_concurrent_runs_on_one_host() -> None:
    h = Harness(per_device=2)
    running = 0
    peak = 0
    gate = asyncio.Event()

    async def tracked(target: Target) -> ProbeResult:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await gate.wait()
        running -= 1
        return ok(target)

    probe = ScriptedProbe(tracked)
    jobs = [job(asset(f"port{i}", host="10.9.9.9"), probe, timeout=3600) for i in range(6)]
    jobs += [job(asset("elsewhere", host="10.9.9.8"), probe, timeout=3600)]
    task = asyncio.create_task(h.scheduler.run())
    h.scheduler.set_inventory(inventory(jobs))
    await h.clock.advance(9.99)
    assert peak == 3  # two on the shared host, one on the other
    gate.set()
    await h.clock.advance(0.001)
    assert len(h.store) == 7
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_failure_behind_a_down_parent_is_unreachable(harness: Harness) -> None:
    up = {"backhaul": False}

    def backhaul(target: Target) -> ProbeResult:
        if not up["backhaul"]:
            raise ConnectionRefused("down")
        return ok(target)

    def station(target: Target) -> ProbeResult:
        raise ConnectionRefused("no answer")

    jobs = [
        job(asset("rtr"), ScriptedProbe(backhaul), interval=10.0),
        job(asset("bs", parent="rtr"), ScriptedProbe(station), interval=10.0),
    ]
    harness.scheduler.set_inventory(inventory(jobs))
    await harness.clock.advance(20.0)
    bs = harness.store.get(("bs", "p"))
    assert bs is not None and bs.reason == "unreachable"
    assert "rtr" in bs.message
    up["backhaul"] = True
    await harness.clock.advance(20.0)
    bs = harness.store.get(("bs", "p"))
    assert bs is not None and bs.reason == "refused"


async def test_reload_drops_removed_jobs_and_keeps_unchanged_ones(harness: Harness) -> None:
    probe = ScriptedProbe(ok)
    keep, drop = job(asset("keep"), probe), job(asset("drop"), probe)
    harness.scheduler.set_inventory(inventory([keep, drop]))
    await harness.clock.advance(10.0)
    assert set(harness.store.keys()) == {("keep", "p"), ("drop", "p")}
    added = job(asset("new"), probe)
    harness.scheduler.set_inventory(inventory([keep, added]))
    assert set(harness.store.keys()) == {("keep", "p")}
    await harness.clock.advance(10.0)
    assert set(harness.store.keys()) == {("keep", "p"), ("new", "p")}
    assert "drop" not in probe.calls[2:]
    assert harness.metric("trunkwatch_scheduler_jobs") == 2


async def test_a_reloaded_job_with_a_new_interval_runs_at_the_new_rate_only(
    harness: Harness,
) -> None:
    probe = ScriptedProbe(ok)
    a = asset("bs")
    harness.scheduler.set_inventory(inventory([job(a, probe, interval=60.0)]))
    await harness.clock.advance(60.0)
    assert len(probe.calls) == 1
    faster = Job(a, "p", "scripted", 30.0, 5.0, probe, fingerprint="bs/p/30s")
    harness.scheduler.set_inventory(inventory([faster]))
    await harness.clock.advance(600.0)
    # Twenty runs at the new interval, none left over from the old schedule.
    assert len(probe.calls) - 1 == 20


async def test_jobs_due_close_together_start_on_one_wake_within_the_window() -> None:
    h = Harness()
    h.scheduler = Scheduler(h.store, CollectorRegistry(), clock=h.clock, batch_window=0.05)
    probe = ScriptedProbe(ok)
    jobs = [job(asset(f"a{i}"), probe, interval=10.0) for i in range(200)]
    task = asyncio.create_task(h.scheduler.run())
    h.scheduler.set_inventory(inventory(jobs))
    await h.clock.advance(30.0)
    assert len(probe.calls) == 600
    (lag,) = h.scheduler.metrics.lag.collect()
    samples = {s.name: s.value for s in lag.samples if not s.labels.get("le")}
    # No run started later than the batching window after its due time.
    bucket = {s.labels["le"]: s.value for s in lag.samples if s.name.endswith("_bucket")}
    assert bucket["0.05"] == samples["trunkwatch_scheduler_lag_seconds_count"] == 600
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_children_that_failed_first_become_unreachable_when_their_parent_goes_down(
    harness: Harness,
) -> None:
    def refused(target: Target) -> ProbeResult:
        raise ConnectionRefused("no answer")

    # The station is polled before its backhaul router in each interval.
    station = Job(asset("bs", parent="rtr"), "p", "scripted", 10.0, 5.0, ScriptedProbe(refused))
    router = Job(asset("rtr"), "p", "scripted", 10.0, 5.0, ScriptedProbe(refused))
    assert station.offset < router.offset  # the premise: the station's poll comes first
    harness.scheduler.set_inventory(inventory([station, router]))
    await harness.clock.advance(station.offset + 0.001)
    first = harness.store.get(("bs", "p"))
    assert first is not None and first.reason == "refused"  # the router is not known down yet
    await harness.clock.advance(router.offset - station.offset)
    bs = harness.store.get(("bs", "p"))
    rtr = harness.store.get(("rtr", "p"))
    assert bs is not None and rtr is not None
    assert rtr.reason == "refused"
    # Reclassified as soon as the router was seen down, before the station's next poll.
    assert bs.reason == "unreachable"
    assert "rtr" in bs.message


async def never_answers(target: Target) -> ProbeResult:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def test_a_probe_that_never_answers_times_out_when_the_clock_passes_its_timeout() -> None:
    clock = ManualClock()
    silent = job(asset("silent"), ScriptedProbe(never_answers), timeout=30.0)
    started = time.monotonic()
    async with asyncio.TaskGroup() as tasks:
        run = tasks.create_task(run_once(silent, clock))
        await clock.advance(29.9)
        assert not run.done()  # 29.9 of its 30 seconds have passed: still waiting
        await clock.advance(0.2)
        assert run.done()
    elapsed = time.monotonic() - started
    result, outcome = run.result()
    assert outcome == "timeout"
    assert (result.success, result.reason) == (False, "timeout")
    assert result.message == "no answer within 30s"
    assert result.duration == 30.0  # on the clock the timeout ran on
    assert elapsed < 0.5  # the 30 s passed on the manual clock, not in real time


async def test_a_run_that_answers_in_time_leaves_no_timeout_behind() -> None:
    clock = ManualClock()
    release = asyncio.Event()

    async def answers_when_released(target: Target) -> ProbeResult:
        await release.wait()
        return ok(target)

    prompt = job(asset("prompt"), ScriptedProbe(answers_when_released), timeout=30.0)
    async with asyncio.TaskGroup() as tasks:
        run = tasks.create_task(run_once(prompt, clock))
        await clock.advance(10.0)
        release.set()
        await clock.advance(0.0)
        assert run.done()
        # The cancelled deadline must not reach the task that ran the probe.
        await clock.advance(60.0)
    result, outcome = run.result()
    assert outcome == "success"
    assert result.duration == 10.0


async def test_a_timed_out_run_is_counted_and_recorded_without_real_waiting(
    harness: Harness,
) -> None:
    silent = job(asset("silent"), ScriptedProbe(never_answers), interval=60.0, timeout=45.0)
    harness.scheduler.set_inventory(inventory([silent]))
    now = harness.clock.monotonic()
    due = silent.offset + ((now - silent.offset) // silent.interval + 1) * silent.interval
    started = time.monotonic()
    await harness.clock.advance(due - now + 44.9)
    assert harness.store.get(("silent", "p")) is None
    assert harness.metric("trunkwatch_scheduler_in_flight") == 1
    await harness.clock.advance(0.2)
    elapsed = time.monotonic() - started
    result = harness.store.get(("silent", "p"))
    assert result is not None and result.reason == "timeout"
    assert harness.metric("trunkwatch_scheduler_in_flight") == 0
    assert (
        harness.metric("trunkwatch_scheduler_runs_total", module="scripted", outcome="timeout") == 1
    )
    assert elapsed < 0.5

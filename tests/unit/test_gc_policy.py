"""The daemon's garbage-collection policy: Python's automatic full collections off while it
runs, one every ``every`` seconds instead, every pause counted by generation, and Python's
own settings back once it stops."""

from __future__ import annotations

import asyncio
import gc
import time

from prometheus_client import CollectorRegistry

from monitor.core.collection import (
    YOUNG_THRESHOLD,
    CollectorPauses,
    collector_paused,
    steady_collection,
)


def pauses_counted(registry: CollectorRegistry, generation: str) -> float:
    value = registry.get_sample_value(
        "trunkwatch_gc_pause_seconds_count", {"generation": generation}
    )
    assert value is not None
    return value


async def test_full_collections_run_on_the_timer_and_settings_come_back() -> None:
    saved = gc.get_threshold()
    pauses = CollectorPauses()
    registry = CollectorRegistry()
    registry.register(pauses)
    task = asyncio.create_task(steady_collection(pauses, every=0.05))
    await asyncio.sleep(0)
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    assert gc.get_threshold()[2] > 10**9  # Python's own rule never starts a full one
    await asyncio.sleep(0.3)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    full = pauses_counted(registry, "2")
    assert full >= 2  # the timer's, about six in 0.3 s
    assert gc.get_threshold() == saved
    gc.collect()
    assert pauses_counted(registry, "2") == full  # stopped: no longer counted


def test_a_pause_lands_in_its_bucket_and_sum() -> None:
    pauses = CollectorPauses()
    registry = CollectorRegistry()
    registry.register(pauses)
    pauses.callback("start", {"generation": 1})
    # No real collection: the callback times whatever lies between start and stop.
    deadline = time.perf_counter() + 0.02
    while time.perf_counter() < deadline:
        pass
    pauses.callback("stop", {"generation": 1, "collected": 0, "uncollectable": 0})
    labels = {"generation": "1"}
    assert (
        registry.get_sample_value("trunkwatch_gc_pause_seconds_bucket", {**labels, "le": "0.01"})
        == 0
    )
    assert (
        registry.get_sample_value("trunkwatch_gc_pause_seconds_bucket", {**labels, "le": "0.05"})
        == 1
    )
    assert (
        registry.get_sample_value("trunkwatch_gc_pause_seconds_bucket", {**labels, "le": "+Inf"})
        == 1
    )
    total = registry.get_sample_value("trunkwatch_gc_pause_seconds_sum", labels)
    assert total is not None and 0.02 <= total < 0.05
    assert pauses_counted(registry, "0") == 0


def test_collector_paused_leaves_a_collector_turned_off_by_someone_else_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()

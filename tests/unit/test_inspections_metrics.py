"""The inspection metrics are computed once and served until something they show can change:
a write here, a write by another instance on the same store, or the clock reaching a round's
deadline, a period's end or a follow-up's due date. Real SQLite stores, a set clock."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from monitor.app.daemon import Daemon
from monitor.exposition.packed import unpack
from monitor.exposition.registry import render_registry
from monitor.inspections.metrics import CHECK_SECONDS, REFRESH_SECONDS, InspectionCollector
from monitor.inspections.service import InspectionService
from monitor.results import ResultStore
from tests.unit.inspections_fleet import SetClock, local, make_service, radio_up, write_config

RADIO = {"plan": "daily-radio", "site": "", "asset": "", "system": "radio", "owner": "zhangwei"}


@pytest.fixture
def clock() -> SetClock:
    return SetClock(local(2028, 2, 28, 8))


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def results() -> ResultStore:
    return ResultStore()


@pytest.fixture
def service(
    config: Path, clock: SetClock, results: ResultStore, registry: CollectorRegistry
) -> InspectionService:
    return make_service(config, clock, results, registry)


@pytest.fixture
def collector(service: InspectionService) -> InspectionCollector:
    assert service.collector is not None
    return service.collector


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(f"trunkwatch_inspection_{name}", labels)


def count_computes(service: InspectionService, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Each time the collector reads the calendar, the instant it read it at."""
    calls: list[float] = []
    calendar = service.calendar

    def counted(**kwargs: object) -> object:
        calls.append(service.now())
        return calendar(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "calendar", counted)
    return calls


def test_the_set_is_kept_until_the_deadline_and_changes_exactly_at_it(
    service: InspectionService,
    clock: SetClock,
    registry: CollectorRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    computes = count_computes(service, monkeypatch)
    assert sample(registry, "overdue", **RADIO) == 0
    first = render_registry(registry)
    clock.set(2028, 2, 28, 8, 10)
    assert sample(registry, "overdue", **RADIO) == 0
    # Same families, so the same kept text: nothing was written again.
    again = render_registry(registry)
    assert next(p for p in again if "trunkwatch_inspection_state" in unpack(p)) is next(
        p for p in first if "trunkwatch_inspection_state" in unpack(p)
    )
    assert computes == [local(2028, 2, 28, 8)]
    clock.set_time(local(2028, 2, 28, 12) - 0.001)  # computed again: REFRESH_SECONDS passed
    assert sample(registry, "overdue", **RADIO) == 0
    clock.set(2028, 2, 28, 12)  # the deadline (due 10:00 plus two hours' grace)
    assert sample(registry, "overdue", **RADIO) == 1
    assert sample(registry, "state", **RADIO, state="overdue") == 1
    assert computes == [local(2028, 2, 28, 8), local(2028, 2, 28, 12) - 0.001,
                        local(2028, 2, 28, 12)]  # fmt: skip
    # Midnight ends the period: the next day's round opens, no longer overdue.
    clock.set(2028, 2, 29, 0)
    assert sample(registry, "overdue", **RADIO) == 0
    assert sample(registry, "due_timestamp_seconds", **RADIO) == local(2028, 2, 29, 10)


def sign_radio(service: InspectionService, results: ResultStore) -> None:
    """zhangwei signs today's radio round, its live readings in ``results``."""
    radio_up(results, service.now())
    service.record(
        service.person("zhangwei"), "daily-radio", "radio", {"test-call": {"value": "是"}}
    )


def test_a_signature_here_shows_at_the_next_scrape(
    service: InspectionService, results: ResultStore, clock: SetClock, registry: CollectorRegistry
) -> None:
    assert sample(registry, "last_completed_timestamp_seconds", **RADIO) == 0
    clock.set(2028, 2, 28, 9)
    sign_radio(service, results)
    assert sample(registry, "last_completed_timestamp_seconds", **RADIO) == local(2028, 2, 28, 9)
    assert sample(registry, "state", **RADIO, state="done") == 1


def test_another_instances_signature_shows_within_check_seconds(
    service: InspectionService, config: Path, clock: SetClock, registry: CollectorRegistry
) -> None:
    results = ResultStore()
    other = make_service(config, clock, results, CollectorRegistry())
    assert sample(registry, "last_completed_timestamp_seconds", **RADIO) == 0
    clock.set(2028, 2, 28, 9)
    assert sample(registry, "last_completed_timestamp_seconds", **RADIO) == 0
    sign_radio(other, results)
    # Looked at the store less than CHECK_SECONDS ago: still the kept set.
    clock.set_time(local(2028, 2, 28, 9) + CHECK_SECONDS - 1)
    assert sample(registry, "last_completed_timestamp_seconds", **RADIO) == 0
    clock.set_time(local(2028, 2, 28, 9) + CHECK_SECONDS)
    assert sample(registry, "last_completed_timestamp_seconds", **RADIO) == local(2028, 2, 28, 9)


def test_the_set_is_computed_again_after_refresh_seconds_and_when_the_clock_goes_back(
    service: InspectionService,
    clock: SetClock,
    registry: CollectorRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    computes = count_computes(service, monkeypatch)
    start = local(2028, 2, 28, 8)
    sample(registry, "overdue", **RADIO)
    clock.set_time(start + REFRESH_SECONDS)
    sample(registry, "overdue", **RADIO)
    clock.set_time(start + REFRESH_SECONDS - 60)  # the clock stepped back a minute
    sample(registry, "overdue", **RADIO)
    assert computes == [start, start + REFRESH_SECONDS, start + REFRESH_SECONDS - 60]


def test_a_store_that_fails_after_a_scrape_shows_as_down(
    service: InspectionService, clock: SetClock, registry: CollectorRegistry
) -> None:
    assert sample(registry, "store_up") == 1
    service.store.close()
    clock.set_time(local(2028, 2, 28, 8) + CHECK_SECONDS)
    assert sample(registry, "store_up") == 0
    assert sample(registry, "overdue", **RADIO) is None


def test_a_costly_set_is_computed_in_a_worker_while_the_one_before_is_served(
    service: InspectionService,
    collector: InspectionCollector,
    clock: SetClock,
    registry: CollectorRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every set counts as costly here, as at 10,000 sites: only the first is computed inline.
    monkeypatch.setattr("monitor.inspections.metrics.INLINE_SECONDS", -1.0)
    computes = count_computes(service, monkeypatch)
    assert sample(registry, "overdue", **RADIO) == 0
    clock.set(2028, 2, 28, 12)  # the deadline: the served set is stale
    assert sample(registry, "overdue", **RADIO) == 0  # the set before, while the worker runs
    collector.settle(10)
    assert computes == [local(2028, 2, 28, 8), local(2028, 2, 28, 12)]
    assert sample(registry, "overdue", **RADIO) == 1
    assert sample(registry, "state", **RADIO, state="overdue") == 1
    assert len(computes) == 2  # and then served as computed


def test_a_write_during_a_computation_leaves_its_result_stale(
    service: InspectionService,
    results: ResultStore,
    clock: SetClock,
    registry: CollectorRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    due_between = service.due_between
    signed: list[bool] = []

    def sign_meanwhile(*args: float, **kwargs: object) -> object:
        entries = due_between(*args, **kwargs)  # type: ignore[arg-type]
        if not signed:  # the set's last read: a signature lands before the set is kept
            signed.append(True)
            sign_radio(service, results)
        return entries

    clock.set(2028, 2, 28, 9)
    monkeypatch.setattr(service, "due_between", sign_meanwhile)
    assert sample(registry, "last_completed_timestamp_seconds", **RADIO) == 0
    # The set computed across the signature is not kept: the next scrape computes again.
    assert sample(registry, "last_completed_timestamp_seconds", **RADIO) == local(2028, 2, 28, 9)


def test_a_warmed_first_set_is_computed_apart_and_a_scrape_meanwhile_does_not_wait_for_it(
    service: InspectionService,
    collector: InspectionCollector,
    registry: CollectorRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    computes = count_computes(service, monkeypatch)
    counted = service.calendar

    def held(**kwargs: object) -> object:
        release.wait(10)
        return counted(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "calendar", held)
    before = collector.warmed  # nothing asked for yet
    collector.warm()
    during = collector.warmed  # the daemon is not ready meanwhile
    assert (before, during) == (True, False)
    # Served at once, without the inspection families, while the first set is computed.
    assert sample(registry, "overdue", **RADIO) is None
    assert sample(registry, "store_up") is None
    assert not any("trunkwatch_inspection_" in unpack(p) for p in render_registry(registry))
    release.set()
    collector.settle(10)
    assert collector.warmed
    assert sample(registry, "overdue", **RADIO) == 0
    assert sample(registry, "store_up") == 1
    assert computes == [local(2028, 2, 28, 8)]  # the worker's, then served as computed


def test_a_scrape_waits_a_moment_for_a_warmed_first_set(
    service: InspectionService,
    collector: InspectionCollector,
    registry: CollectorRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("monitor.inspections.metrics.INLINE_SECONDS", 30.0)
    computes = count_computes(service, monkeypatch)
    collector.warm()
    collector.warm()  # one worker, whoever asks again
    assert sample(registry, "store_up") == 1
    assert sample(registry, "overdue", **RADIO) == 0
    assert len(computes) == 1


async def test_a_started_daemon_serves_the_first_set_it_computed_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first set is computed once, after the configuration is installed: installing it
    # counts as a change, and a set begun before that would be computed again at once.
    computed: list[float] = []
    compute = InspectionCollector._compute

    def counted(self: InspectionCollector, now: float) -> Any:
        computed.append(now)
        return compute(self, now)

    monkeypatch.setattr(InspectionCollector, "_compute", counted)
    daemon = Daemon(write_config(tmp_path), "127.0.0.1:0")
    started = asyncio.Event()
    async with asyncio.timeout(20), asyncio.TaskGroup() as tasks:
        tasks.create_task(daemon.run(started))
        await started.wait()
        assert daemon.inspections is not None and daemon.inspections.collector is not None
        collector = daemon.inspections.collector
        await asyncio.to_thread(collector.settle, 10)
        assert collector.warmed
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{daemon.bound_port}"
            async with session.get(f"{url}/-/ready") as ready:
                assert ready.status == 200
            async with session.get(f"{url}/metrics") as scraped:
                text = await scraped.text()
        daemon.stop()
    assert "trunkwatch_inspection_due_timestamp_seconds{" in text
    assert len(computed) == 1

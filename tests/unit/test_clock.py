"""The Clock protocol: a ManualClock's sleeps, timers and timeouts fire as a test advances it,
in deadline order and never in real time; the SystemClock's timeouts are asyncio's."""

from __future__ import annotations

import asyncio
import time

import pytest

from monitor.core.clock import Clock, ManualClock, SystemClock


async def wait_forever() -> None:
    await asyncio.Event().wait()


async def test_a_manual_timeout_expires_only_when_the_clock_passes_its_deadline() -> None:
    clock = ManualClock()
    outcome: list[str] = []

    async def bounded() -> None:
        try:
            async with clock.timeout(10.0):
                await wait_forever()
        except TimeoutError:
            outcome.append(f"timed out at {clock.monotonic() - 1_000.0:g}")

    async with asyncio.TaskGroup() as tasks:
        run = tasks.create_task(bounded())
        await clock.advance(9.999)
        assert not run.done()
        await clock.advance(0.002)
        assert run.done()
    assert outcome == ["timed out at 10"]


async def test_nested_manual_timeouts_each_raise_only_for_their_own_deadline() -> None:
    clock = ManualClock()
    caught: list[str] = []

    async def nested() -> None:
        try:
            async with clock.timeout(60.0):
                try:
                    async with clock.timeout(5.0):
                        await wait_forever()
                except TimeoutError:
                    caught.append(f"inner at {clock.monotonic() - 1_000.0:g}")
                # Still inside the outer scope, which expires on its own deadline.
                await clock.sleep(100.0)
        except TimeoutError:
            caught.append(f"outer at {clock.monotonic() - 1_000.0:g}")

    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(nested())
        await clock.advance(120.0)
    assert caught == ["inner at 5", "outer at 60"]


async def test_a_manual_timeout_left_in_time_never_cancels_later_work() -> None:
    clock = ManualClock()
    task = asyncio.current_task()
    assert task is not None
    async with clock.timeout_at(clock.monotonic() + 5.0):
        await clock.sleep(0.0)
    # The deadline passes with nothing left in its scope: the task carries on, uncancelled.
    await clock.advance(10.0)
    assert task.cancelling() == 0


async def test_a_manual_deadline_already_past_times_out_at_the_first_wait() -> None:
    clock = ManualClock()
    await clock.advance(30.0)
    with pytest.raises(TimeoutError):
        async with clock.timeout_at(clock.monotonic() - 1.0):
            await asyncio.sleep(0)


async def test_manual_sleepers_and_timers_wake_in_deadline_order() -> None:
    clock = ManualClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic() - 1_000.0))

    clock.call_at(clock.monotonic() + 2.0, lambda: woke.append(("timer", 2.0)))
    cancelled = clock.call_at(clock.monotonic() + 1.0, lambda: woke.append(("cancelled", 1.0)))
    cancelled.cancel()
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(sleeper("late", 3.0))
        tasks.create_task(sleeper("early", 0.5))
        await clock.advance(5.0)
    assert woke == [("early", 0.5), ("timer", 2.0), ("late", 3.0)]


async def test_a_manual_clock_never_goes_backwards_but_its_wall_clock_may_be_stepped() -> None:
    clock = ManualClock(start=50.0, wall=1_700_000_000.0)
    with pytest.raises(ValueError, match="backwards"):
        await clock.advance(-1.0)
    clock.set_time(1_600_000_000.0)
    assert (clock.time(), clock.monotonic()) == (1_600_000_000.0, 50.0)
    await clock.advance(10.0)
    assert (clock.time(), clock.monotonic()) == (1_600_000_010.0, 60.0)


async def test_system_clock_timeouts_are_asyncio_timeouts_on_the_monotonic_clock() -> None:
    clock: Clock = SystemClock()
    with pytest.raises(TimeoutError):
        async with clock.timeout_at(time.monotonic() - 1.0):
            await wait_forever()
    with pytest.raises(TimeoutError):
        async with clock.timeout(0.0):
            await wait_forever()
    async with clock.timeout(3600.0):
        await asyncio.sleep(0)

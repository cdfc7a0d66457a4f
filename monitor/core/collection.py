"""The cyclic garbage collector: held off while a configuration is built
(``collector_paused``), and in a running daemon kept from stopping the event loop for seconds
(``steady_collection``), its pauses exported (``CollectorPauses``).

Building a configuration allocates hundreds of thousands of dicts, lists and models and
creates no reference cycle; every full collection meanwhile walks all of them again and frees
nothing. That was an eighth of the load's time at 10,000 assets and a third at 28,650 (the
share grows with the fleet). Reference counting still frees everything at once, as always.
"""

from __future__ import annotations

import asyncio
import gc
import time
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import accumulate

from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["CollectorPauses", "collector_paused", "steady_collection"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; re-enable it after only if it was on,
    so nested or concurrent uses never turn on a collector someone else turned off."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# -- the daemon's steady state -----------------------------------------------------------------

#: Net allocations between young collections (Python's default is 700). A daemon polling
#: thousands of devices allocates hundreds of thousands of short-lived objects a second; a
#: larger young generation collects them in fewer, still short, pauses.
YOUNG_THRESHOLD = 20_000
#: Seconds between full collections, which the daemon runs itself instead of Python's rule.
FULL_EVERY_S = 600.0
#: Python's third threshold (young collections between full ones) when the daemon runs them.
_NEVER = 2**31 - 1
#: Bounds of the pause histogram, seconds.
PAUSE_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class CollectorPauses(Collector):
    """``trunkwatch_gc_pause_seconds{generation}``: how long each collection held the
    process, from ``gc.callbacks``. Counted without a lock (a callback runs inside a
    collection, where taking a metric's lock could wait on itself)."""

    def __init__(self) -> None:
        self._buckets = [[0] * (len(PAUSE_BUCKETS) + 1) for _ in range(3)]
        self._sums = [0.0, 0.0, 0.0]
        self._started = 0.0

    def callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        generation = min(max(info.get("generation", 2), 0), 2)
        self._buckets[generation][bisect_left(PAUSE_BUCKETS, pause)] += 1
        self._sums[generation] += pause

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "trunkwatch_gc_pause_seconds",
            "How long each cyclic garbage collection held the process, by generation.",
            labels=["generation"],
        )
        for generation, counts in enumerate(self._buckets):
            bounds = [*(format(b, "g") for b in PAUSE_BUCKETS), "+Inf"]
            family.add_metric(
                [str(generation)],
                list(zip(bounds, accumulate(counts), strict=True)),
                self._sums[generation],
            )
        yield family


async def steady_collection(pauses: CollectorPauses, every: float = FULL_EVERY_S) -> None:
    """Run until cancelled: young collections every ``YOUNG_THRESHOLD`` allocations, a full
    one every ``every`` seconds, each pause counted in ``pauses``. Python's settings are put
    back when it ends.

    Python starts a full collection whenever a quarter more objects have survived into the
    oldest generation. Every poll replaces its samples, so at 5,000 devices that was a full
    collection every minute walking four million live objects and freeing none: 1.8 s with
    the event loop stopped, replies waiting and polls timing out. Reference counting frees
    the samples; the full collection is only for cycles, and every ten minutes is enough."""
    saved = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, saved[1], _NEVER)
    gc.callbacks.append(pauses.callback)
    try:
        while True:
            await asyncio.sleep(every)
            gc.collect()
    finally:
        gc.callbacks.remove(pauses.callback)
        gc.set_threshold(*saved)

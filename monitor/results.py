"""The latest result of every (asset, probe), and who wants to know when one changes.

The store is the hand-off between the scheduler (which writes a result after every run) and
the exporter, the duty pages and the inspections (which read). Listeners are told of every
update and removal so they can keep derived state (pre-rendered exposition text) current
instead of recomputing it at read time. A listener that raises is a bug in that listener: the
others are still told, the writer (the scheduler) never sees the error, and it is logged once
when the listener starts failing and once when it works again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from monitor.inventory import Job
from probes.base import Sample, Samples

__all__ = ["Result", "ResultStore"]

log = logging.getLogger("trunkwatch.results")

JobKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Result:
    """What the last run of one job found. The scheduler's results keep their samples by
    column (``Samples``), or none; any sequence of them will do."""

    job: Job
    success: bool
    duration: float
    finished_at: float
    samples: Sequence[Sample] = ()
    reason: str | None = None
    message: str = ""
    partial: tuple[tuple[str, str], ...] = ()


Listener = Callable[[JobKey, Result | None], None]


@dataclass(slots=True)
class ResultStore:
    _latest: dict[JobKey, Result] = field(default_factory=dict)
    _by_asset: dict[str, dict[str, Result]] = field(default_factory=dict)
    _listeners: list[Listener] = field(default_factory=list)
    #: Listeners whose last call raised, with how many calls in a row did.
    _failing: dict[Listener, int] = field(default_factory=dict)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)
        for key, result in self._latest.items():
            listener(key, result)

    def put(self, result: Result) -> Result | None:
        """Store ``result`` as its job's latest; returns the one it replaces."""
        key = result.job.key
        previous = self._latest.get(key)
        if previous is not None:
            samples, last = result.samples, previous.samples
            if isinstance(samples, Samples) and isinstance(last, Samples):
                samples.share(last.keys)
        self._latest[key] = result
        self._by_asset.setdefault(key[0], {})[key[1]] = result
        for listener in self._listeners:
            try:
                listener(key, result)
            except Exception:
                self._failed(listener, key)
            else:
                if self._failing:
                    self._recovered(listener)
        return previous

    def remove(self, key: JobKey) -> None:
        if self._latest.pop(key, None) is not None:
            of_asset = self._by_asset.get(key[0], {})
            of_asset.pop(key[1], None)
            if not of_asset:
                self._by_asset.pop(key[0], None)
            for listener in self._listeners:
                try:
                    listener(key, None)
                except Exception:
                    self._failed(listener, key)
                else:
                    if self._failing:
                        self._recovered(listener)

    def _failed(self, listener: Listener, key: JobKey) -> None:
        failures = self._failing.get(listener, 0)
        self._failing[listener] = failures + 1
        if not failures:
            log.exception(
                "result listener %s failed asset=%s probe=%s", _name(listener), key[0], key[1]
            )

    def _recovered(self, listener: Listener) -> None:
        failures = self._failing.pop(listener, 0)
        if failures:
            log.info("result listener %s works again after %d failures", _name(listener), failures)

    def get(self, key: JobKey) -> Result | None:
        return self._latest.get(key)

    def __iter__(self) -> Iterator[Result]:
        return iter(list(self._latest.values()))

    def __len__(self) -> int:
        return len(self._latest)

    def keys(self) -> list[JobKey]:
        return list(self._latest)

    def asset_down(self, asset_id: str) -> bool:
        """True when the asset has results and every one of them failed."""
        results = self._by_asset.get(asset_id)
        if not results:
            return False
        return not any(r.success for r in results.values())

    def asset_results(self, asset_id: str) -> list[Result]:
        return list(self._by_asset.get(asset_id, {}).values())


def _name(listener: Listener) -> str:
    return getattr(listener, "__qualname__", None) or type(listener).__qualname__

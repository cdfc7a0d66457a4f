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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from typing import overload

from monitor.inventory import Job
from probes.base import Family, Sample

__all__ = ["Result", "ResultStore", "Samples", "SeriesKeys"]

log = logging.getLogger("trunkwatch.results")

JobKey = tuple[str, str]
Labels = tuple[tuple[str, str], ...]

_FAMILY = itemgetter(0)
_VALUE = itemgetter(1)
_LABELS = itemgetter(2)
_SUFFIX = itemgetter(3)


class SeriesKeys:
    """What tells a result's samples apart, in order: each one's family, labels and suffix
    (``suffixes`` is None when none has one, as outside histograms). A job whose series stay
    the same from one result to the next keeps one of these for all of them."""

    __slots__ = ("families", "labels", "suffixes")

    def __init__(
        self,
        families: tuple[Family, ...],
        labels: tuple[Labels, ...],
        suffixes: tuple[str, ...] | None,
    ) -> None:
        self.families = families
        self.labels = labels
        self.suffixes = suffixes

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, SeriesKeys):
            return NotImplemented
        # Tuple comparison checks identity before equality, item by item, in C: the label
        # tuples of an unchanged device are the very same objects.
        return (
            self.labels == other.labels
            and self.families == other.families
            and self.suffixes == other.suffixes
        )

    __hash__ = None  # type: ignore[assignment]


class Samples(Sequence[Sample]):
    """A result's samples kept by column: their ``keys`` (shared with the job's last result
    when its series are the same) and their ``values``. A poll of a base station brings a few
    hundred samples; kept as ``Sample`` tuples each costs some 70 bytes more, which at 10,000
    devices is a tenth of the daemon's memory. Read as a sequence, it hands out ``Sample``s."""

    __slots__ = ("keys", "values")

    def __init__(self, samples: Iterable[Sample] = ()) -> None:
        rows = samples if isinstance(samples, list | tuple) else list(samples)
        suffixes: tuple[str, ...] | None = tuple(map(_SUFFIX, rows))
        if not any(suffixes):  # type: ignore[arg-type]
            suffixes = None
        self.keys = SeriesKeys(tuple(map(_FAMILY, rows)), tuple(map(_LABELS, rows)), suffixes)
        self.values: tuple[float, ...] = tuple(map(_VALUE, rows))

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> Samples:
        """``samples`` as they are when they are kept by column already, else by column."""
        return samples if isinstance(samples, Samples) else cls(samples)

    def share(self, keys: SeriesKeys) -> bool:
        """Whether these samples have the series ``keys`` tell apart, one by one; if so they
        keep ``keys`` from now on (and their own go)."""
        if self.keys is keys:
            return True
        if self.keys == keys:
            self.keys = keys
            return True
        return False

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self) -> Iterator[Sample]:
        return map(Sample._make, self.rows())

    def rows(self) -> Iterator[tuple[Family, float, Labels, str]]:
        """The samples as plain tuples, their fields in ``Sample``'s order: for a reader that
        goes through every sample of every result, without making a ``Sample`` of each."""
        keys, values = self.keys, self.values
        suffixes = keys.suffixes if keys.suffixes is not None else repeat("", len(values))
        return zip(keys.families, values, keys.labels, suffixes, strict=False)

    @overload
    def __getitem__(self, index: int) -> Sample: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Sample, ...]: ...

    def __getitem__(self, index: int | slice) -> Sample | tuple[Sample, ...]:
        if isinstance(index, slice):
            return tuple(self)[index]
        keys = self.keys
        suffix = keys.suffixes[index] if keys.suffixes is not None else ""
        return Sample(keys.families[index], self.values[index], keys.labels[index], suffix)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Samples):
            return self.values == other.values and self.keys == other.keys
        if isinstance(other, tuple | list):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Samples({list(self)!r})"


@dataclass(frozen=True, slots=True)
class Result:
    """What the last run of one job found. The scheduler's results keep their samples by
    column (``Samples``); any sequence of them will do."""

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

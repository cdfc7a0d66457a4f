"""Since when: the degraded conditions of every job's latest result with the time each was
first seen, and the time each failing job started failing.

The book listens to the result store (``ResultStore.subscribe``): every result is evaluated
once, when it arrives, so "since" is the finish time of the first poll that saw a condition,
however rarely the board is looked at. A condition that clears and comes back starts again.
It holds what the latest results show, nothing older: one entry per job and condition.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.duty.conditions import Finding, evaluate
from monitor.results import Result

__all__ = ["ActiveCondition", "ConditionBook"]

JobKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class ActiveCondition:
    """A finding of one probe, and since when it holds."""

    probe: str
    finding: Finding
    since: float


class ConditionBook:
    def __init__(self) -> None:
        self._conditions: dict[str, dict[str, dict[str, ActiveCondition]]] = {}
        self._failing_since: dict[JobKey, float] = {}
        #: Results seen so far: a cheap way to tell that something may have changed.
        self.version = 0

    def on_result(self, key: JobKey, result: Result | None) -> None:
        """The store's listener: ``result`` is the job's latest (None once it is removed)."""
        self.version += 1
        asset_id, probe = key
        if result is None:
            self._failing_since.pop(key, None)
            of_asset = self._conditions.get(asset_id, {})
            of_asset.pop(probe, None)
            if not of_asset:
                self._conditions.pop(asset_id, None)
            return
        if result.success:
            self._failing_since.pop(key, None)
        else:
            self._failing_since.setdefault(key, result.finished_at)
        findings = evaluate(result)
        of_asset = self._conditions.setdefault(asset_id, {})
        previous = of_asset.get(probe, {})
        if not findings:
            of_asset.pop(probe, None)
            if not of_asset:
                self._conditions.pop(asset_id, None)
            return
        of_asset[probe] = {
            f.key: ActiveCondition(
                probe, f, previous[f.key].since if f.key in previous else result.finished_at
            )
            for f in findings
        }

    def conditions(self, asset_id: str) -> list[ActiveCondition]:
        """The asset's conditions now, probe by probe in the order they were found."""
        return [c for found in self._conditions.get(asset_id, {}).values() for c in found.values()]

    def troubled(self) -> set[str]:
        """The assets with a failing job or a condition now: the only ones whose state can be
        other than up or pending, found without looking at the others."""
        return {asset_id for asset_id, _ in self._failing_since} | self._conditions.keys()

    def failing_since(self, key: JobKey) -> float | None:
        """When the job's current run of failures began (None while it succeeds)."""
        return self._failing_since.get(key)

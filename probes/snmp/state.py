"""What the polls of one device remember between runs: sysUpTime (restarts and wraps), counter
accumulators, row labels and label values, and what the agent lacked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from probes.snmp.codec import OID
from probes.snmp.rows import DEFAULT_CHARSET, Index, Labels

__all__ = ["CounterRow", "DeviceState", "UptimeTracker"]

_U32: Final = 1 << 32


class CounterRow:
    """One row of a counter: last raw value, exported total, which column, last poll seen."""

    __slots__ = ("generation", "primary", "raw", "total")

    def __init__(self, raw: int, primary: bool, generation: int) -> None:
        self.raw = raw
        self.total = raw
        self.primary = primary
        self.generation = generation


@dataclass(slots=True)
class UptimeTracker:
    """sysUpTime across polls: unfolds its 2^32-centisecond wrap and notices restarts.

    A restart is sysUpTime going backwards, unless the wall clock says it simply wrapped (it
    does every 497 days); or, when the previous reading was younger than the time since,
    sysUpTime advancing clearly less than the wall clock (the agent restarted in between).
    ``tolerance`` (seconds) absorbs the request delays around both readings.
    """

    ticks: int | None = None
    at: float = 0.0
    wraps: int = 0
    restarts: int = 0

    def observe(self, ticks: int, now: float, tolerance: float) -> bool:
        """Record a reading taken at monotonic time ``now``; True if the agent restarted."""
        last, last_at = self.ticks, self.at
        self.ticks, self.at = ticks, now
        if last is None:
            return False
        elapsed = max(0.0, now - last_at) * 100
        slack = tolerance * 100 + 0.01 * elapsed
        if ticks >= last:
            restarted = last < elapsed and (ticks - last) + slack < elapsed
        else:
            expected = last + elapsed
            wrapped = expected >= _U32 and abs(ticks - (expected - _U32)) <= slack
            if wrapped:
                self.wraps += 1
            restarted = not wrapped
        if restarted:
            self.restarts += 1
            self.wraps = 0
        return restarted

    @property
    def seconds(self) -> float | None:
        if self.ticks is None:
            return None
        return (self.wraps * _U32 + self.ticks) / 100


@dataclass(slots=True)
class DeviceState:
    """What the polls of one device remember between runs."""

    slots: int
    uptime: UptimeTracker = field(default_factory=UptimeTracker)
    generation: int = 0
    labels_at: float | None = None
    label_values: dict[OID, dict[Index, str]] = field(default_factory=dict)
    rows: dict[str, dict[Index, Labels]] = field(default_factory=dict)
    #: Each row index of the last label refresh, as one object: what the rest keeps by index
    #: holds that one, rather than one made for each column read.
    indexes: dict[Index, Index] = field(default_factory=dict)
    #: Per mapper slot that has emitted since the last label refresh: row index → its label
    #: tuple (state sets and bits: one per state or bit). A gauge or counter with no labels of
    #: its own keeps none: it reads ``rows``.
    label_cache: dict[int, dict[Index, Any]] = field(default_factory=dict)
    #: Per counter mapper's slot: row index → its running total.
    counters: dict[int, dict[Index, CounterRow]] = field(default_factory=dict)
    fallback_needed: set[OID] = field(default_factory=set)
    missing_v1: set[OID] = field(default_factory=set)
    #: Varbinds each walked subtree had last time: sizes the next GETBULK so that it asks for
    #: what is there plus one row, instead of overshooting small tables by max-repetitions.
    walk_sizes: dict[OID, int] = field(default_factory=dict)
    #: Per mapper slot: values dropped as outside their object's range, since the start.
    invalid: list[int] = field(default_factory=list)
    #: How text that is not UTF-8 is read (the asset's ``charset``).
    charset: str = DEFAULT_CHARSET

    def __post_init__(self) -> None:
        self.invalid = [0] * self.slots

    def restart(self) -> None:
        """The device restarted: counters start again from its values, and what it lacked
        before is asked for again."""
        for rows in self.counters.values():
            rows.clear()
        self.fallback_needed.clear()
        self.missing_v1.clear()

"""Call traffic on a group of channels: Poisson arrivals, exponential holding, FIFO queueing.

``CallEngine`` is an event-driven simulation advanced lazily to any later instant: it processes
only the arrivals, departures and queue time-outs that happened since the last update, so its
cost is proportional to the calls carried, not to the time elapsed or to how often it is polled.
The same engine serves a TETRA site (a delay system: calls queue for a traffic channel) and an
E1 trunk group (a loss system: a call finding every channel busy is blocked at once).
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from monitor.simulator.signals import DailyProfile

__all__ = ["CallCounters", "CallEngine", "Hunting", "OfferedTraffic"]

_WEEK = 7 * 86400.0

#: How a new call picks its channel group (a carrier, an E1 span): ``balanced`` takes the group
#: with the most idle channels, ``sequential`` the first group with one (ascending hunt).
Hunting = Literal["balanced", "sequential"]


@dataclass(slots=True)
class OfferedTraffic:
    """Offered load ``A(t) = busy_hour_erlangs × profile(t) × growth(t) × surge`` in Erlangs.

    ``growth_per_week`` compounds from ``growth_epoch`` (the fleet's start), so a site configured
    at 5 E with 2 % a week offers about 5.2 E a fortnight later. ``surge`` is the multiplier a
    traffic-surge fault sets (1.0 when none is active).
    """

    busy_hour_erlangs: float
    mean_hold_s: float
    profile: DailyProfile
    growth_per_week: float = 0.0
    growth_epoch: float = 0.0
    surge: float = 1.0

    def __post_init__(self) -> None:
        if self.busy_hour_erlangs < 0:
            raise ValueError("busy_hour_erlangs must be >= 0")
        if self.mean_hold_s <= 0:
            raise ValueError("mean_hold_s must be positive")

    def growth(self, t: float) -> float:
        if self.growth_per_week == 0.0:
            return 1.0
        return float((1.0 + self.growth_per_week) ** ((t - self.growth_epoch) / _WEEK))

    def erlangs(self, t: float) -> float:
        """Offered traffic at ``t``."""
        return self.busy_hour_erlangs * self.profile.value(t) * self.growth(t) * self.surge

    def arrival_rate(self, t: float, profile_value: float) -> float:
        """Calls per second in the segment starting at ``t``."""
        erlangs = self.busy_hour_erlangs * profile_value * self.growth(t) * self.surge
        return erlangs / self.mean_hold_s


@dataclass(slots=True)
class CallCounters:
    """Cumulative call statistics since the engine started (or the device last rebooted).

    ``attempts`` counts every arrival. ``successes`` got a channel, at once or after queueing.
    ``queued`` found every channel busy and waited (the Erlang C event); ``blocked`` never got a
    channel (loss system: at once; delay system: after the queue time-out). ``dropped`` were cut
    off in progress when channels left service. ``carried_channel_seconds`` integrates the busy
    channels over time, so its rate is the carried traffic in Erlangs.
    """

    attempts: int = 0
    successes: int = 0
    queued: int = 0
    blocked: int = 0
    dropped: int = 0
    carried_channel_seconds: float = 0.0
    queue_wait_seconds: float = 0.0


class CallEngine:
    """Calls offered to channel groups, simulated event by event up to the instant asked for.

    ``queue_timeout_s`` makes the system: ``0`` a loss system (Erlang B), ``None`` a delay
    system with unlimited patience (Erlang C), a positive value a delay system where a call
    still queued after that long is given up and counted blocked (M/M/n+D).

    The arrival process draws from its own ``random.Random`` and is re-drawn only at the
    boundaries of the hourly profile, so the calls generated for a seed are the same whichever
    instants the engine is advanced to.
    """

    def __init__(
        self,
        capacities: Sequence[int],
        offered: OfferedTraffic,
        *,
        rng: random.Random,
        start: float,
        queue_timeout_s: float | None = 0.0,
        hunting: Hunting = "balanced",
    ) -> None:
        if not capacities or min(capacities) < 0:
            raise ValueError("capacities must be a non-empty list of channel counts >= 0")
        if queue_timeout_s is not None and queue_timeout_s < 0:
            raise ValueError("queue_timeout_s must be >= 0 or None")
        self.offered = offered
        self.queue_timeout_s = queue_timeout_s
        self.hunting: Hunting = hunting
        self.counters = CallCounters()
        self._rng = rng
        self._capacity = list(capacities)
        self._group_busy = [0] * len(capacities)
        self._busy = 0
        self._now = start
        self._departures: list[tuple[float, int, int]] = []
        self._queue: deque[float] = deque()
        self._seq = 0
        self._in_service = True
        self._next_arrival = math.inf
        self._arrival_is_call = False
        self._segment_start = self._segment_end = -math.inf
        self._rate = 0.0
        self._draw_arrival(start)

    # -- state -----------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self._now

    @property
    def busy(self) -> int:
        return self._busy

    @property
    def capacity(self) -> int:
        """Channels in service now."""
        return sum(self._capacity)

    @property
    def queue_length(self) -> int:
        return len(self._queue)

    @property
    def in_service(self) -> bool:
        return self._in_service

    def group_busy(self, group: int) -> int:
        return self._group_busy[group]

    def group_capacity(self, group: int) -> int:
        return self._capacity[group]

    # -- changes ---------------------------------------------------------------------------

    def set_group_capacity(self, group: int, channels: int, now: float) -> None:
        """Put channels of one group in or out of service; calls on lost channels are dropped."""
        self.advance(now)
        if channels < 0:
            raise ValueError("channels must be >= 0")
        self._capacity[group] = channels
        excess = self._group_busy[group] - channels
        if excess > 0:
            self._drop_calls(group, excess)
        self._serve_queue(now)

    def set_in_service(self, in_service: bool, now: float) -> None:
        """Take the whole system out of service (every call dropped) or bring it back."""
        self.advance(now)
        if in_service == self._in_service:
            return
        self._in_service = in_service
        if not in_service:
            for group, busy in enumerate(self._group_busy):
                if busy:
                    self._drop_calls(group, busy)
            self.counters.blocked += len(self._queue)
            self._queue.clear()
            self._next_arrival = math.inf
        else:
            self._draw_arrival(now)

    def reschedule(self, now: float) -> None:
        """Re-draw the next arrival after the offered load changed (a surge set or cleared).

        Exact because the Poisson process is memoryless: the remaining time to the next call
        at the new rate does not depend on how long we already waited at the old one.
        """
        self.advance(now)
        self._segment_start = self._segment_end = -math.inf
        if self._in_service:
            self._draw_arrival(now)

    def reset_counters(self) -> None:
        """Counters restart from zero, as a device's do when it reboots."""
        self.counters = CallCounters()

    # -- simulation ------------------------------------------------------------------------

    def advance(self, t: float) -> None:
        """Process every event up to ``t``. Moving backwards is ignored."""
        if t <= self._now:
            return
        if not self._in_service:
            self._now = t
            return
        counters = self.counters
        departures = self._departures
        queue = self._queue
        timeout = self.queue_timeout_s
        now = self._now
        busy = self._busy
        carried = 0.0
        while True:
            t_dep = departures[0][0] if departures else math.inf
            t_out = queue[0] + timeout if queue and timeout is not None else math.inf
            t_arr = self._next_arrival
            t_next = min(t_dep, t_out, t_arr)
            if t_next > t:
                break
            carried += busy * (t_next - now)
            now = t_next
            if t_next == t_dep:
                _, _, group = heapq.heappop(departures)
                self._group_busy[group] -= 1
                busy -= 1
                if queue:
                    arrived = queue.popleft()
                    counters.queue_wait_seconds += now - arrived
                    self._seize(self._free_group(), now)
                    counters.successes += 1
                    busy += 1
            elif t_next == t_out:
                queue.popleft()
                counters.blocked += 1
            elif self._arrival_is_call:
                counters.attempts += 1
                group = self._free_group() if not queue else -1
                if group >= 0:
                    self._seize(group, now)
                    counters.successes += 1
                    busy += 1
                elif timeout == 0.0:
                    counters.blocked += 1
                else:
                    counters.queued += 1
                    queue.append(now)
                self._draw_arrival(now)
            else:
                self._draw_arrival(now)
        carried += busy * (t - now)
        counters.carried_channel_seconds += carried
        self._busy = busy
        self._now = t

    def _draw_arrival(self, start: float) -> None:
        if not self._segment_start <= start < self._segment_end:
            # Entering a new constant-rate segment: growth is taken at its start, so the rate
            # depends only on the segment, never on when somebody polled.
            _, value, self._segment_end = self.offered.profile.segment(start)
            self._segment_start = start
            self._rate = self.offered.arrival_rate(start, value)
        rate, segment_end = self._rate, self._segment_end
        if rate > 0.0:
            at = start + self._rng.expovariate(rate)
            if at < segment_end:
                self._next_arrival = at
                self._arrival_is_call = True
                return
        # The rate changes at the segment end: re-draw from there (memoryless, so exact).
        self._next_arrival = segment_end
        self._arrival_is_call = False

    def _free_group(self) -> int:
        best = -1
        best_idle = 0
        for group, capacity in enumerate(self._capacity):
            idle = capacity - self._group_busy[group]
            if idle > best_idle:
                if self.hunting == "sequential":
                    return group
                best, best_idle = group, idle
        return best

    def _seize(self, group: int, now: float) -> None:
        self._group_busy[group] += 1
        self._seq += 1
        hold = self._rng.expovariate(1.0 / self.offered.mean_hold_s)
        heapq.heappush(self._departures, (now + hold, self._seq, group))

    def _serve_queue(self, now: float) -> None:
        while self._queue and self._in_service:
            group = self._free_group()
            if group < 0:
                return
            arrived = self._queue.popleft()
            self.counters.queue_wait_seconds += now - arrived
            self.counters.successes += 1
            self._seize(group, now)
            self._busy += 1

    def _drop_calls(self, group: int, count: int) -> None:
        # Cut off the calls with the longest time still to run: which calls a failing carrier
        # happened to hold is arbitrary, and this keeps the choice deterministic.
        on_group = sorted((d for d in self._departures if d[2] == group), reverse=True)
        doomed = set(on_group[:count])
        self._departures = [d for d in self._departures if d not in doomed]
        heapq.heapify(self._departures)
        self._group_busy[group] -= len(doomed)
        self._busy -= len(doomed)
        self.counters.dropped += len(doomed)

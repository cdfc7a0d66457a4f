"""A timed outage drill for the boards' state timelines: four faults put in force together for
a few minutes (an E1 span losing signal, a SIP trunk gone silent, a base-station carrier
down, a documented router port down) and cleared together by a timer, and the edges of an
outage read from a series of Prometheus range-query results.

``OutageDrill.start(city)`` injects the faults and arms the timer; ``stop()`` clears them
(at the timer, or at once when the stack is torn down). ``edges(points, bad)`` finds the
first point that shows the outage and the first after it that no longer does.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.simulator.fleet import Fault
from tests.integration.simcity import SimulatedCity

__all__ = ["DRILL_FAULTS", "DrillFault", "OutageDrill", "edges", "query_range"]


@dataclass(frozen=True)
class DrillFault:
    """One fault of the drill and how its state timeline shows it."""

    fault: Fault
    target: str
    params: dict[str, Any]
    #: (board uid, title prefix) of the state timeline that must show it
    panel: tuple[str, str]
    #: labels of the panel's series that is the faulty object
    series: dict[str, str]
    #: the panel's value while the fault is in force
    bad: float


DRILL_FAULTS = (
    DrillFault(
        Fault.E1_LOS, "e1-gw-110", {"span": 1}, ("trunkwatch-lines", "E1 线路状态"),
        {"asset": "e1-gw-110"}, 80.0,
    ),
    DrillFault(
        Fault.SIP_SILENT, "sip-119-fire", {}, ("trunkwatch-lines", "SIP 中继状态"),
        {"asset": "sip-119-fire"}, 0.0,
    ),
    DrillFault(
        Fault.CARRIER_FAILURE, "bs-qingxiu", {"carrier": 3}, ("trunkwatch-site", "载波状态"),
        {"carrier": "3"}, 0.0,
    ),
    DrillFault(
        Fault.PORT_DOWN, "core-rtr-1", {"port": 3}, ("trunkwatch-network", "链路状态"),
        {"asset": "core-rtr-1", "alias": "government network"}, 0.0,
    ),
)  # fmt: skip


@dataclass
class OutageDrill:
    """The drill's faults in force for ``duration_s``, with the wall-clock times they were
    put in force and cleared."""

    duration_s: float
    faults: Sequence[DrillFault] = DRILL_FAULTS
    injected_at: float = 0.0
    cleared_at: float | None = None
    _city: SimulatedCity | None = None
    _timer: threading.Timer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, city: SimulatedCity) -> OutageDrill:
        self._city = city
        for f in self.faults:
            city.inject(f.fault, f.target, **f.params)
        self.injected_at = time.time()
        self._timer = threading.Timer(self.duration_s, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        """Clear the drill's faults (once)."""
        with self._lock:
            if self.cleared_at is not None or self._city is None:
                return
            assert self._city.simulation is not None
            fleet = self._city.simulation.fleet

            def clear() -> None:
                for f in self.faults:
                    fleet.clear(f.fault, f.target, **f.params)

            self._city.call(clear)
            self.cleared_at = time.time()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.stop()

    def wait_cleared(self, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while self.cleared_at is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert self.cleared_at is not None, "the drill did not end"
        return self.cleared_at


def query_range(url: str, expr: str, start: float, end: float, step_s: float) -> list[Any]:
    """A range query's result (matrix) from the Prometheus at ``url``."""
    params = urllib.parse.urlencode(
        {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step_s}"}
    )
    request = urllib.request.Request(f"{url}/api/v1/query_range", data=params.encode())
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    result: list[Any] = body["data"]["result"]
    return result


def edges(
    points: Sequence[tuple[float, float]], bad: Callable[[float], bool], after: float
) -> tuple[float, float] | None:
    """(first time at or after ``after`` a point is bad, first time after that one is not)."""
    start = None
    for t, value in points:
        if t < after:
            continue
        if start is None and bad(value):
            start = t
        elif start is not None and not bad(value):
            return start, t
    return None

"""Erlang B and C: the grade of service of a group of channels, the channels a traffic needs
and the traffic a group carries (the inverses), and ``GradeOfService``, an objective.

Conventions: traffic is offered traffic in Erlangs, times are seconds, probabilities are ratios
in [0, 1]. A *grade of service* (GoS) is ``P(blocked)`` for a loss system (model ``"b"``,
Erlang B: E1 trunk groups) or ``P(wait > wait_s)`` for a delay system (model ``"c"``, Erlang C:
TETRA queues a call when every traffic channel is busy); with ``wait_s = 0`` the latter is the
probability of waiting at all, Erlang C itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from monitor.capacity.checks import check_channels, check_target, check_traffic, check_wait

__all__ = [
    "DEFAULT_TOLERANCE",
    "GradeOfService",
    "Model",
    "channels_needed",
    "erlang_b",
    "erlang_c",
    "grade_of_service",
    "mean_wait",
    "offered_traffic",
    "p_wait_longer",
    "traffic_capacity",
]

#: ``"b"``: loss system, GoS = P(blocked) (Erlang B). ``"c"``: delay system, GoS =
#: P(wait > wait_s) (Erlang C).
Model = Literal["b", "c"]


_SECONDS_PER_HOUR = 3600.0

#: Relative precision of ``traffic_capacity``: far finer than the three decimals of printed
#: tables, and reached in about 30 bisection steps.
DEFAULT_TOLERANCE = 1e-9


def _check_model(model: str) -> Model:
    if model == "b":
        return "b"
    if model == "c":
        return "c"
    raise ValueError(f"model must be 'b' (blocking) or 'c' (queueing), got {model!r}")


def _erlang_b_series(traffic: float) -> Iterator[float]:
    """``B(A, 0), B(A, 1), …`` by the recursion ``B(n) = A·B(n-1) / (n + A·B(n-1))``.

    Every term stays in [0, 1], so nothing overflows however large ``n`` or ``A`` get (the
    textbook ``A^n / n!`` form overflows a float near n = 170); the relative error grows by
    about one rounding per step. The inverse form ``1/B(n) = 1 + n/A · 1/B(n-1)`` is the same
    recursion but divides by ``A`` and overflows to ``inf`` when B underflows.
    """
    b = 1.0
    n = 0
    while True:
        yield b
        n += 1
        carried = traffic * b
        b = carried / (n + carried)


def erlang_b(traffic: float, channels: int) -> float:
    """Blocking probability of ``channels`` offered ``traffic`` Erlangs (blocked calls cleared).

    ``traffic`` may be fractional; ``channels`` of a thousand or more are fine. ``B(A, 0) = 1``.
    """
    a = check_traffic(traffic)
    n = check_channels(channels)
    b = 1.0
    for k in range(1, n + 1):
        carried = a * b
        b = carried / (k + carried)
    return b


def _erlang_c_from_b(traffic: float, channels: int, b: float) -> float:
    if channels == 0 or traffic >= channels:
        return 1.0
    return channels * b / (channels - traffic * (1.0 - b))


def erlang_c(traffic: float, channels: int) -> float:
    """Probability that a call has to wait (blocked calls queued, served in order of arrival).

    ``C = N·B / (N - A·(1 - B))`` for ``A < N``. At ``A >= N`` the queue grows without bound
    and every call waits: 1.0.
    """
    a = check_traffic(traffic)
    n = check_channels(channels)
    return _erlang_c_from_b(a, n, erlang_b(a, n))


def _wait_tail(traffic: float, channels: int, c: float, wait: float, hold: float) -> float:
    if channels == 0 or traffic >= channels:
        return 1.0
    if wait == 0.0:
        return c
    return c * math.exp(-(channels - traffic) * wait / hold)


def p_wait_longer(traffic: float, channels: int, wait_s: float, hold_s: float) -> float:
    """``P(wait > wait_s) = C · exp(-(N - A) · wait_s / hold_s)`` over all calls (Erlang C).

    ``hold_s`` is the mean holding time (exponentially distributed). 1.0 when ``A >= N``.
    """
    a = check_traffic(traffic)
    n = check_channels(channels)
    wait, hold = check_wait(wait_s, hold_s)
    return _wait_tail(a, n, erlang_c(a, n), wait, hold)


def mean_wait(traffic: float, channels: int, hold_s: float) -> float:
    """Mean wait in seconds over all calls, those served at once included: ``C·T / (N - A)``.

    ``inf`` when ``A >= N``.
    """
    a = check_traffic(traffic)
    n = check_channels(channels)
    _, hold = check_wait(0.0, hold_s)
    if n == 0 or a >= n:
        return math.inf
    return erlang_c(a, n) * hold / (n - a)


def grade_of_service(
    traffic: float,
    channels: int,
    model: Model = "b",
    *,
    wait_s: float = 0.0,
    hold_s: float | None = None,
) -> float:
    """The GoS of ``channels`` at ``traffic``: P(blocked) for model b, P(wait > wait_s) for c."""
    a = check_traffic(traffic)
    n = check_channels(channels)
    kind = _check_model(model)
    wait, hold = check_wait(wait_s, hold_s)
    b = erlang_b(a, n)
    if kind == "b":
        return b
    return _wait_tail(a, n, _erlang_c_from_b(a, n, b), wait, hold)


def channels_needed(
    traffic: float,
    target: float,
    model: Model = "b",
    *,
    wait_s: float = 0.0,
    hold_s: float | None = None,
) -> int:
    """The least number of channels whose GoS at ``traffic`` is at most ``target``.

    One pass of the Erlang B recursion, so the cost is proportional to the answer.
    """
    a = check_traffic(traffic)
    t = check_target(target)
    kind = _check_model(model)
    wait, hold = check_wait(wait_s, hold_s)
    for n, b in enumerate(_erlang_b_series(a)):
        gos = b if kind == "b" else _wait_tail(a, n, _erlang_c_from_b(a, n, b), wait, hold)
        if gos <= t:
            return n
    raise AssertionError("unreachable: B(A, n) tends to 0")  # pragma: no cover


def traffic_capacity(
    channels: int,
    target: float,
    model: Model = "b",
    *,
    wait_s: float = 0.0,
    hold_s: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> float:
    """The most traffic ``channels`` can be offered with a GoS of at most ``target``.

    Bisection on the traffic, whose GoS rises strictly with it. The answer ``A`` meets the
    target (``GoS(A) <= target``) and lies within ``tolerance`` (relative) below the exact
    value.
    """
    n = check_channels(channels)
    t = check_target(target)
    kind = _check_model(model)
    wait, hold = check_wait(wait_s, hold_s)
    if not 0.0 < tolerance < 1.0:
        raise ValueError(f"tolerance must be between 0 and 1, got {tolerance!r}")
    if n == 0:
        return 0.0
    # Carried traffic A·(1 - B) never exceeds N, so B >= 1 - N/A and B reaches t by
    # A = N / (1 - t); a delay system is saturated (GoS 1) at A = N.
    hi = n / (1.0 - t) if kind == "b" else float(n)
    lo = 0.0
    while hi - lo > tolerance * hi:
        mid = 0.5 * (lo + hi)
        if grade_of_service(mid, n, kind, wait_s=wait, hold_s=hold) <= t:
            lo = mid
        else:
            hi = mid
    return lo


def offered_traffic(calls_per_hour: float, mean_hold_s: float) -> float:
    """Offered traffic in Erlangs: ``calls_per_hour × mean_hold_s / 3600``."""
    calls = float(calls_per_hour)
    if not math.isfinite(calls) or calls < 0.0:
        raise ValueError(f"calls_per_hour must be >= 0, got {calls_per_hour!r}")
    _, hold = check_wait(0.0, mean_hold_s)
    return calls * hold / _SECONDS_PER_HOUR


@dataclass(frozen=True, slots=True)
class GradeOfService:
    """A GoS objective: ``P(blocked) <= target`` (model b) or ``P(wait > wait_s) <= target``
    (model c; ``hold_s``, the mean holding time, is needed when ``wait_s > 0``)."""

    target: float
    model: Model = "b"
    wait_s: float = 0.0
    hold_s: float | None = None

    def __post_init__(self) -> None:
        check_target(self.target)
        _check_model(self.model)
        check_wait(self.wait_s, self.hold_s)

    def of(self, traffic: float, channels: int) -> float:
        """The GoS ``channels`` give at ``traffic`` (same measure as ``target``)."""
        return grade_of_service(
            traffic, channels, self.model, wait_s=self.wait_s, hold_s=self.hold_s
        )

    def met(self, traffic: float, channels: int) -> bool:
        return self.of(traffic, channels) <= self.target

    def channels_needed(self, traffic: float) -> int:
        return channels_needed(
            traffic, self.target, self.model, wait_s=self.wait_s, hold_s=self.hold_s
        )

    def traffic_capacity(self, channels: int) -> float:
        return traffic_capacity(
            channels, self.target, self.model, wait_s=self.wait_s, hold_s=self.hold_s
        )

    def describe(self) -> str:
        """``P(blocked) <= 1 %`` / ``P(wait > 5 s) <= 5 %`` / ``P(wait) <= 2 %``."""
        if self.model == "b":
            measure = "P(blocked)"
        elif self.wait_s > 0.0:
            measure = f"P(wait > {self.wait_s:g} s)"
        else:
            measure = "P(wait)"
        return f"{measure} <= {self.target * 100:g} %"

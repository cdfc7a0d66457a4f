"""Argument checks shared by the traffic-engineering modules: each turns a bad argument into one
``ValueError`` that names it and says what was expected."""

from __future__ import annotations

import math

__all__ = ["check_channels", "check_count", "check_target", "check_traffic", "check_wait"]


def check_traffic(traffic: float) -> float:
    value = float(traffic)
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"traffic must be a finite number of Erlangs >= 0, got {traffic!r}")
    return value


def check_channels(channels: int) -> int:
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 0:
        raise ValueError(f"channels must be an integer >= 0, got {channels!r}")
    return channels


def check_target(target: float) -> float:
    value = float(target)
    if not 0.0 < value < 1.0:
        raise ValueError(f"target must be a probability strictly between 0 and 1, got {target!r}")
    return value


def check_wait(wait_s: float, hold_s: float | None) -> tuple[float, float]:
    """Validated ``(wait_s, hold_s)``; ``hold_s`` is only needed (and required) for a wait > 0."""
    wait = float(wait_s)
    if not math.isfinite(wait) or wait < 0.0:
        raise ValueError(f"wait_s must be >= 0 seconds, got {wait_s!r}")
    if hold_s is None:
        if wait > 0.0:
            raise ValueError("hold_s (the mean holding time) is needed for P(wait > wait_s)")
        return wait, 1.0
    hold = float(hold_s)
    if not math.isfinite(hold) or hold <= 0.0:
        raise ValueError(f"hold_s must be > 0 seconds, got {hold_s!r}")
    return wait, hold


def check_count(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value

"""Durations as people write them in configuration: ``30s``, ``5m``, ``1h``, ``250ms``, ``1d``."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

__all__ = ["MAX_DURATION_SECONDS", "Duration", "format_duration", "parse_duration"]

_DURATION = re.compile(r"(\d{1,12}(?:\.\d{1,9})?)\s*(ms|s|m|h|d)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
MAX_DURATION_SECONDS = 366 * 86400.0
"""Nothing the monitor schedules waits longer than a year; more is a typing mistake."""


def parse_duration(value: Any) -> float:
    """'30s', '5m', '1h', '250ms', '1d' or a bare number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m or 1h")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
    elif isinstance(value, str) and (m := _DURATION.fullmatch(value.strip())):
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    else:
        raise ValueError("expected a duration such as 30s, 5m or 1h")
    if math.isnan(seconds):
        raise ValueError("expected a duration such as 30s, 5m or 1h")
    if seconds <= 0:
        raise ValueError("must be greater than zero")
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError("must be at most 366d")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact spelling: 90 → '90s', 300 → '5m', 0.25 → '250ms'."""
    for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size and (seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{seconds * 1000:g}ms"


#: A pydantic field type: a duration in the file, seconds in the model.
Duration = Annotated[float, BeforeValidator(parse_duration)]

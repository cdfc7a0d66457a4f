"""The capacity package's errors: a traffic history that could not be read.

::

    TrunkwatchError
     └── CapacityError
          └── HistoryError                 the measured history could not be read
               ├── HistoryUnavailable      no answer: connection refused, timeout, HTTP 5xx
               └── HistoryQueryError       Prometheus answered but rejected a query (HTTP 4xx)
"""

from __future__ import annotations

from monitor.core.errors import TrunkwatchError

__all__ = ["CapacityError", "HistoryError", "HistoryQueryError", "HistoryUnavailable"]


class CapacityError(TrunkwatchError):
    """Base of the capacity package's errors."""


class HistoryError(CapacityError):
    """The measured traffic history could not be read."""


class HistoryUnavailable(HistoryError):
    """No answer from the history's source: refused, timed out, HTTP 5xx (or 401/403/404)."""


class HistoryQueryError(HistoryError):
    """The source answered but rejected a query, or its answer was malformed."""

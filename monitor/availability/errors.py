"""The availability package's errors: a period that is not one, or samples that could not be
read.

::

    TrunkwatchError
     └── AvailabilityError
          ├── PeriodError                  not a month (YYYY-MM) or quarter (YYYY-Qn)
          └── SourceError                  the raw samples could not be read
               ├── SourceUnavailable       no answer: connection refused, timeout, HTTP 5xx
               └── SourceQueryError        Prometheus answered but rejected a query (HTTP 4xx)
"""

from __future__ import annotations

from monitor.core.errors import TrunkwatchError

__all__ = [
    "AvailabilityError",
    "PeriodError",
    "SourceError",
    "SourceQueryError",
    "SourceUnavailable",
]


class AvailabilityError(TrunkwatchError):
    """Base of the availability package's errors."""


class PeriodError(AvailabilityError, ValueError):
    """A reporting period that is not a calendar month or quarter."""


class SourceError(AvailabilityError):
    """The raw probe samples could not be read."""


class SourceUnavailable(SourceError):
    """No answer from the source: refused, timed out, HTTP 5xx (or 401/403/404)."""


class SourceQueryError(SourceError):
    """The source answered but rejected a query, or its answer was malformed."""

"""The exception tree of the inspections: what a caller (web page, API, CLI) can be refused.

Library errors (sqlite3, psycopg) are converted into this tree inside ``store.py``; messages
name plans, rounds, items and people, never a token::

    InspectionError
    ├── MalformedRequest      a body that is not an acceptable JSON object    HTTP 400
    ├── NotFound              no such plan, target, round or follow-up        HTTP 404
    ├── NotAllowed            the person may not do this (not owner/deputy)   HTTP 403
    ├── InvalidEntry          bad or missing item values, missing notes       HTTP 422
    │                         or photos, too many photos
    ├── TooLarge              an upload over its size or pixel limit          HTTP 413
    ├── UnsupportedMedia      a photo that is not a JPEG or PNG image         HTTP 415
    ├── Conflict              already signed, period closed, not yet open     HTTP 409
    │   └── RecordImmutable   a signed record or the audit log was to change  HTTP 409
    └── StoreError            the store failed                                HTTP 503
        └── StoreUnavailable  cannot reach or lock the database               HTTP 503
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "InspectionError",
    "InvalidEntry",
    "MalformedRequest",
    "NotAllowed",
    "NotFound",
    "RecordImmutable",
    "StoreError",
    "StoreUnavailable",
    "TooLarge",
    "UnsupportedMedia",
]


class InspectionError(Exception):
    """Something an inspection request could not do; ``status`` is its HTTP status."""

    status = 400


class MalformedRequest(InspectionError):
    status = 400


class NotFound(InspectionError):
    status = 404


class NotAllowed(InspectionError):
    status = 403


class InvalidEntry(InspectionError):
    """Item values that cannot be accepted; ``problems`` maps item id → reason."""

    status = 422

    def __init__(self, message: str, problems: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems = dict(problems or {})


class TooLarge(InspectionError):
    status = 413


class UnsupportedMedia(InspectionError):
    status = 415


class Conflict(InspectionError):
    status = 409


class RecordImmutable(Conflict):
    pass


class StoreError(InspectionError):
    """The store failed; nothing was written. ``retry_after`` is the ``Retry-After`` a 503
    answer carries (a restarting PostgreSQL or a failover is back within seconds)."""

    status = 503
    retry_after = 5


class StoreUnavailable(StoreError):
    pass

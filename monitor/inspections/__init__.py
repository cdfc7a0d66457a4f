"""Inspection rounds (巡检): plans with a calendar of due windows, checklists that read live
probe results, signed immutable records in SQLite or PostgreSQL, metrics, alerts, the duty
page, the JSON API, the CLI and the monthly compliance report.

The parts, one concept each: ``config`` (the ``inspections:`` section), ``calendar``
(periods, due times, states), ``checklist`` (items and their conditions), ``plans`` (what
the service runs), ``store`` (records, on the plumbing of ``sqlbase``), ``ledger`` (calendar
joined with records), ``service`` (the decisions), ``metrics``, ``web``, ``api``, ``feed``,
``report``, ``cli``; ``maintenance`` (planned maintenance windows, kept in the same store
by the same people, with their Alertmanager silences); ``photos`` (photos of checklist items,
stripped and kept by their SHA-256); and ``labels`` (the equipment's QR labels and the page
they open).
"""

from __future__ import annotations

from monitor.inspections.calendar import Frequency, Period, RoundState, Schedule, round_state
from monitor.inspections.config import InspectionPlan, InspectionsConfig, validate_inspections
from monitor.inspections.errors import (
    Conflict,
    InspectionError,
    InvalidEntry,
    NotAllowed,
    NotFound,
    RecordImmutable,
    StoreError,
    StoreUnavailable,
)
from monitor.inspections.records import FollowUp, ItemResult, Outcome, RoundRecord, RoundTarget

__all__ = [
    "Conflict",
    "FollowUp",
    "Frequency",
    "InspectionError",
    "InspectionPlan",
    "InspectionsConfig",
    "InvalidEntry",
    "ItemResult",
    "NotAllowed",
    "NotFound",
    "Outcome",
    "Period",
    "RecordImmutable",
    "RoundRecord",
    "RoundState",
    "RoundTarget",
    "Schedule",
    "StoreError",
    "StoreUnavailable",
    "round_state",
    "validate_inspections",
]

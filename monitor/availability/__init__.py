"""Availability and SLA reports (可用率报告): per asset, site and system over a calendar month or
quarter, the time up, down, in planned maintenance and without data, the outages with their
root asset, MTTR and MTBF, and the E1 lines' G.826 seconds — computed from the raw
``trunkwatch_probe_success`` / ``trunkwatch_probe_failure_info`` samples, never from recording
rules (which older or backfilled history does not have). Everything public is re-exported here.

- ``periods``: a month or quarter in the centre's time zone
- ``timeline``: samples into up / down / unknown time, and the rules that combine time lines
- ``outages``: outages and their root asset (down, or unreachable behind a failed asset)
- ``calculator``: the account of a period per asset, site and system (``compute``)
- ``g826``: E1 errored, severely errored and unavailable seconds from the interval gauges
- ``prometheus_samples``: the raw samples from the Prometheus HTTP API
- ``render``: the account as JSON, CSV and an HTML page
- ``errors``: ``AvailabilityError`` and its tree
"""

from monitor.availability.calculator import (
    SYSTEMS,
    AssetInfo,
    AvailabilityReport,
    AvailabilityRow,
    Level,
    MaintenanceWindow,
    ProbeSeries,
    compute,
)
from monitor.availability.errors import (
    AvailabilityError,
    PeriodError,
    SourceError,
    SourceQueryError,
    SourceUnavailable,
)
from monitor.availability.g826 import E1Counts, E1Line
from monitor.availability.outages import Cause, Outage
from monitor.availability.periods import Period, month, quarter
from monitor.availability.prometheus_samples import PrometheusSamples, Samples
from monitor.availability.render import render_csv, render_html, render_json, report_rows
from monitor.availability.timeline import STALENESS_S, State

__all__ = [
    "STALENESS_S",
    "SYSTEMS",
    "AssetInfo",
    "AvailabilityError",
    "AvailabilityReport",
    "AvailabilityRow",
    "Cause",
    "E1Counts",
    "E1Line",
    "Level",
    "MaintenanceWindow",
    "Outage",
    "Period",
    "PeriodError",
    "ProbeSeries",
    "PrometheusSamples",
    "Samples",
    "SourceError",
    "SourceQueryError",
    "SourceUnavailable",
    "State",
    "compute",
    "month",
    "quarter",
    "render_csv",
    "render_html",
    "render_json",
    "report_rows",
]

"""Capacity planning (容量规划): traffic engineering, measured traffic histories, their analysis
into breach dates and expansion recommendations, the ``trunkwatch_capacity_*`` metrics and the
HTML report. Everything public is re-exported here.

- ``erlang``: Erlang B and C, their inverses, ``GradeOfService``
- ``channels``: TETRA / PDT carriers and E1 spans into traffic channels
- ``busy_hours``: hourly traffic, daily busy hours, worst-N-days loads
- ``trend``: Theil–Sen growth trends and breach dates
- ``forecasting``: a site's forecast and the carriers (spans) to add
- ``history``: what a traffic history is (``MeasuredGroup``, ``TrafficHistory``)
- ``sample_history`` / ``prometheus_history``: the monitor's own polls / Prometheus
- ``analysis``: the plan of every group (``analyse``)
- ``metrics``: ``CapacityCollector``, ``write_textfile``, ``keep_current``
- ``report`` (with ``charts``): the HTML page
- ``errors``: ``CapacityError`` and the history errors
"""

from monitor.capacity.analysis import (
    CapacityReport,
    GroupReport,
    MeasuredGoS,
    PlanningOptions,
    analyse,
    analyse_group,
    flag_incident_days,
    measured_gos,
)
from monitor.capacity.busy_hours import (
    DailyBusyHour,
    HourlyTraffic,
    Period,
    PeriodLoad,
    busy_hour,
    daily_busy_hours,
    time_consistent_busy_hour,
    worst_n_days_busy_hour,
)
from monitor.capacity.channels import (
    SLOTS_PER_UNIT,
    ChannelPlan,
    System,
    carriers_needed,
    e1_needed,
    pdt_traffic_channels,
    tetra_traffic_channels,
    units_needed,
)
from monitor.capacity.erlang import (
    DEFAULT_TOLERANCE,
    GradeOfService,
    Model,
    channels_needed,
    erlang_b,
    erlang_c,
    grade_of_service,
    mean_wait,
    offered_traffic,
    p_wait_longer,
    traffic_capacity,
)
from monitor.capacity.errors import (
    CapacityError,
    HistoryError,
    HistoryQueryError,
    HistoryUnavailable,
)
from monitor.capacity.forecasting import Forecast, Recommendation, SiteTraffic, forecast, recommend
from monitor.capacity.history import (
    DEFAULT_LINE_GOS,
    DEFAULT_RADIO_GOS,
    GroupSystem,
    MeasuredGroup,
    Objectives,
    Progress,
    TrafficHistory,
)
from monitor.capacity.metrics import CapacityCollector, keep_current, write_textfile
from monitor.capacity.prometheus_history import PrometheusHistory
from monitor.capacity.report import render_html
from monitor.capacity.sample_history import SampleHistory
from monitor.capacity.trend import Growth, TrendLine, breach_date, fit_trend, theil_sen

__all__ = [
    "DEFAULT_LINE_GOS",
    "DEFAULT_RADIO_GOS",
    "DEFAULT_TOLERANCE",
    "SLOTS_PER_UNIT",
    "CapacityCollector",
    "CapacityError",
    "CapacityReport",
    "ChannelPlan",
    "DailyBusyHour",
    "Forecast",
    "GradeOfService",
    "GroupReport",
    "GroupSystem",
    "Growth",
    "HistoryError",
    "HistoryQueryError",
    "HistoryUnavailable",
    "HourlyTraffic",
    "MeasuredGoS",
    "MeasuredGroup",
    "Model",
    "Objectives",
    "Period",
    "PeriodLoad",
    "PlanningOptions",
    "Progress",
    "PrometheusHistory",
    "Recommendation",
    "SampleHistory",
    "SiteTraffic",
    "System",
    "TrafficHistory",
    "TrendLine",
    "analyse",
    "analyse_group",
    "breach_date",
    "busy_hour",
    "carriers_needed",
    "channels_needed",
    "daily_busy_hours",
    "e1_needed",
    "erlang_b",
    "erlang_c",
    "fit_trend",
    "flag_incident_days",
    "forecast",
    "grade_of_service",
    "keep_current",
    "mean_wait",
    "measured_gos",
    "offered_traffic",
    "p_wait_longer",
    "pdt_traffic_channels",
    "recommend",
    "render_html",
    "tetra_traffic_channels",
    "theil_sen",
    "time_consistent_busy_hour",
    "traffic_capacity",
    "units_needed",
    "worst_n_days_busy_hour",
    "write_textfile",
]

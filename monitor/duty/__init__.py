"""The duty room: what the duty board (``/``) shows and how it reaches the screen.

conditions  the degraded conditions of the alert rules, evaluated on the latest samples
book        since when each condition and each failure holds (a result-store listener)
board       the board's content: summary counts, sites, active problems, maintenance
sitemap     the offline site map: coordinates projected into an SVG box, labels placed
feed        the live updates: server-sent events to a bounded set of screens
runbooks    alerts/runbooks/*.md served read-only as pages
"""

from monitor.duty.board import board
from monitor.duty.book import ActiveCondition, ConditionBook
from monitor.duty.conditions import CONDITIONS, THRESHOLDS, Finding, evaluate

__all__ = [
    "CONDITIONS",
    "THRESHOLDS",
    "ActiveCondition",
    "ConditionBook",
    "Finding",
    "board",
    "evaluate",
]

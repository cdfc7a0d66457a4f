"""Prometheus exposition of the latest results: which series a result and the inventory make
(``families``), the fast text path the daemon serves and ``trunkwatch probe`` prints
(``text``), and the prometheus-client collector that serves OpenMetrics and is the reference
the fast path is tested against (``collector``).

Every job has ``trunkwatch_probe_success`` and ``trunkwatch_probe_duration_seconds``; while
it fails, ``trunkwatch_probe_failure_info{reason=…} 1`` says why.

No two samples of one scrape share a name and labels: Prometheus would keep one of them at
random and drop the other without a word. A result that repeats a series, or a job that emits
a series another job of the same asset already holds, has the repeat refused: the first holder
keeps the series, the refusal is counted per family and logged once.
"""

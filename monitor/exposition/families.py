"""The standard metric families, and every series a result or the inventory makes.

Both renderings read this one description: the fast text path (``monitor.exposition.text``)
and the prometheus-client collector (``monitor.exposition.collector``), so they cannot
disagree on what a result exports.
"""

from __future__ import annotations

from collections.abc import Iterator

from monitor import __version__
from monitor.inventory import Inventory
from monitor.results import Result
from probes.base import Family

__all__ = [
    "ASSET_INFO",
    "BUILD_INFO",
    "PROBE_DURATION",
    "PROBE_FAILURE",
    "PROBE_LAST_RUN",
    "PROBE_PARTIAL",
    "PROBE_SUCCESS",
    "SITE_INFO",
    "STANDARD_FAMILIES",
    "Series",
    "inventory_series",
    "result_series",
    "standard_series",
]

PROBE_SUCCESS = Family(
    "trunkwatch_probe_success", "gauge", "1 if the last run of the probe succeeded, else 0."
)
PROBE_DURATION = Family(
    "trunkwatch_probe_duration_seconds", "gauge", "How long the last run of the probe took."
)
PROBE_FAILURE = Family(
    "trunkwatch_probe_failure_info",
    "gauge",
    "Present with value 1 while the probe fails; reason is one of a small fixed set.",
)
PROBE_PARTIAL = Family(
    "trunkwatch_probe_partial_failure_info",
    "gauge",
    "Present with value 1 for each part of a run that failed while the rest succeeded.",
)
PROBE_LAST_RUN = Family(
    "trunkwatch_probe_last_run_timestamp_seconds",
    "gauge",
    "Unix time at which the last run of the probe finished.",
)
ASSET_INFO = Family(
    "trunkwatch_asset_info", "gauge", "One series per configured asset, with its name and parent."
)
SITE_INFO = Family(
    "trunkwatch_site_info",
    "gauge",
    "One series per configured site, with its names, district, coordinates and parent site.",
)
BUILD_INFO = Family("trunkwatch_build_info", "gauge", "trunkwatch build information.")

STANDARD_FAMILIES = (PROBE_SUCCESS, PROBE_DURATION, PROBE_FAILURE, PROBE_PARTIAL, PROBE_LAST_RUN)

#: (family, sample name, labels, value)
Series = tuple[Family, str, tuple[tuple[str, str], ...], float]


def result_series(result: Result) -> Iterator[Series]:
    """Every series of one result: (family, sample name, labels beyond the asset's, value).

    The asset's own labels are added by the caller: the fast path splices its pre-rendered
    text, the collector its label pairs.
    """
    yield from standard_series(result)
    job = result.job
    probe = (("probe", job.name),)
    for sample in result.samples:
        labels = (*probe, *sample.labels) if sample.family.per_probe else sample.labels
        yield sample.family, sample.family.name + sample.suffix, labels, sample.value


def standard_series(result: Result) -> Iterator[Series]:
    """The series every run exports about itself (``STANDARD_FAMILIES``): the first of
    ``result_series``, before the samples'."""
    job = result.job
    probe = (("probe", job.name),)
    yield PROBE_SUCCESS, PROBE_SUCCESS.name, probe, 1 if result.success else 0
    yield PROBE_DURATION, PROBE_DURATION.name, probe, result.duration
    yield PROBE_LAST_RUN, PROBE_LAST_RUN.name, probe, result.finished_at
    if not result.success:
        yield PROBE_FAILURE, PROBE_FAILURE.name, (*probe, ("reason", result.reason or "error")), 1
    for part, reason in result.partial:
        yield PROBE_PARTIAL, PROBE_PARTIAL.name, (*probe, ("part", part), ("reason", reason)), 1


def inventory_series(inventory: Inventory) -> Iterator[Series]:
    """The info series of the configuration: one per asset, one per site, and the build's."""
    for a in inventory.assets.values():
        labels = (*a.label_pairs, ("name", a.name), ("parent", a.parent or ""))
        yield ASSET_INFO, ASSET_INFO.name, labels, 1
    process = inventory.process_labels
    for s in inventory.sites.values():
        lat, lon = s.coordinates if s.coordinates else (None, None)
        labels = (
            ("site", s.id),
            ("name", s.name),
            ("name_en", s.name_en or ""),
            ("district", s.district or ""),
            ("latitude", "" if lat is None else f"{lat:.5f}"),
            ("longitude", "" if lon is None else f"{lon:.5f}"),
            ("parent", s.parent or ""),
            *process,
        )
        yield SITE_INFO, SITE_INFO.name, labels, 1
    yield BUILD_INFO, BUILD_INFO.name, (("version", __version__), *process), 1

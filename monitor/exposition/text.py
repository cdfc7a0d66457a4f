"""Turn the latest results into Prometheus exposition.

Two paths produce the same series:

* ``Exposition`` — the scrape path. It keeps, per metric family, the text lines of every job,
  re-rendered only when that job's result changes; a scrape joins prepared strings. Rendering
  through prometheus-client costs ~20 µs per sample at every scrape, which at 10,000 assets ×
  50 samples every 15 s would take most of a core; this costs a string join.
* ``ResultsCollector`` — a prometheus-client Collector over the same store, yielding fresh
  metric families at scrape time. It serves OpenMetrics when a scraper asks for it and is the
  reference the fast path is tested against.

Every job has ``trunkwatch_probe_success`` and ``trunkwatch_probe_duration_seconds``; while
it fails, ``trunkwatch_probe_failure_info{reason=…} 1`` says why.

No two samples of one scrape share a name and labels: Prometheus would keep one of them at
random and drop the other without a word. A result that repeats a series, or a job that emits
a series another job of the same asset already holds, has the repeat refused: the first holder
keeps the series, the refusal is counted per family (``duplicates``) and logged once.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Iterator

from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor import __version__
from monitor.inventory import Inventory, render_labels
from monitor.results import JobKey, Result, ResultStore
from probes.base import Family, Sample

__all__ = [
    "STANDARD_FAMILIES",
    "Exposition",
    "ExpositionHealth",
    "ResultsCollector",
    "format_value",
]

log = logging.getLogger(__name__)

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


def format_value(value: float) -> str:
    if isinstance(value, int) and abs(value) < 2**53:
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


Series = tuple[Family, str, tuple[tuple[str, str], ...], float]


def _line(name: str, labels: str, value: float) -> str:
    return f"{name}{{{labels}}} {format_value(value)}\n"


def result_series(result: Result) -> Iterator[Series]:
    """Every series of one result: (family, sample name, labels beyond the asset's, value).

    The asset's own labels are added by the caller: the fast path splices its pre-rendered
    text, the collector its label pairs.
    """
    job = result.job
    probe = (("probe", job.name),)
    yield PROBE_SUCCESS, PROBE_SUCCESS.name, probe, 1 if result.success else 0
    yield PROBE_DURATION, PROBE_DURATION.name, probe, result.duration
    yield PROBE_LAST_RUN, PROBE_LAST_RUN.name, probe, result.finished_at
    if not result.success:
        yield PROBE_FAILURE, PROBE_FAILURE.name, (*probe, ("reason", result.reason or "error")), 1
    for part, reason in result.partial:
        yield PROBE_PARTIAL, PROBE_PARTIAL.name, (*probe, ("part", part), ("reason", reason)), 1
    for sample in result.samples:
        labels = (*probe, *sample.labels) if sample.family.per_probe else sample.labels
        yield sample.family, sample.family.name + sample.suffix, labels, sample.value


def _series_key(line: str) -> str:
    """``name{labels}`` of an exposition line: what identifies its series."""
    return line[: line.rindex(" ")]


def result_lines(result: Result, refused: Counter[str] | None = None) -> dict[Family, list[str]]:
    """The exposition lines of one result, by family, each series once.

    A repeated series (a table whose rows decode to the same labels, a profile included twice)
    keeps its first value; the repeats are counted in ``refused`` by family name.
    """
    asset_labels = result.job.asset.label_text
    out: dict[Family, list[str]] = {}
    seen: set[str] = set()
    for family, name, labels, value in result_series(result):
        text = f"{asset_labels},{render_labels(labels)}" if labels else asset_labels
        key = f"{name}{{{text}}}"
        if key in seen:
            if refused is not None:
                refused[family.name] += 1
            continue
        seen.add(key)
        out.setdefault(family, []).append(f"{key} {format_value(value)}\n")
    return out


def inventory_series(inventory: Inventory) -> Iterator[Series]:
    for a in inventory.assets.values():
        labels = (*a.label_pairs, ("name", a.name), ("parent", a.parent or ""))
        yield ASSET_INFO, ASSET_INFO.name, labels, 1
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
        )
        yield SITE_INFO, SITE_INFO.name, labels, 1
    yield BUILD_INFO, BUILD_INFO.name, (("version", __version__),), 1


def _inventory_lines(inventory: Inventory) -> dict[Family, list[str]]:
    out: dict[Family, list[str]] = {}
    for family, name, labels, value in inventory_series(inventory):
        out.setdefault(family, []).append(_line(name, render_labels(labels), value))
    return out


def _header(family: Family) -> str:
    help_text = family.help.replace("\\", "\\\\").replace("\n", "\\n")
    return f"# HELP {family.name} {help_text}\n# TYPE {family.name} {family.type}\n"


class Exposition:
    """Prometheus text exposition of every result, kept current as results arrive."""

    def __init__(self, store: ResultStore) -> None:
        self._families: dict[str, tuple[Family, dict[JobKey | str, str]]] = {}
        self._of_job: dict[JobKey, list[str]] = {}
        #: (family name, asset id) → the jobs of that asset holding lines of that family; only
        #: a family held by two jobs of one asset needs its series compared.
        self._holders: dict[tuple[str, str], list[JobKey]] = {}
        self._static_names: list[str] = []
        self._conflicts: set[str] = set()
        #: Series refused as duplicates, by family name, since start.
        self.duplicates: Counter[str] = Counter()
        self._warned: set[tuple[JobKey, str]] = set()
        store.subscribe(self._on_result)

    def set_inventory(self, inventory: Inventory) -> None:
        for name in self._static_names:
            self._drop(name, "inventory")
        self._static_names = []
        for family, lines in _inventory_lines(inventory).items():
            self._add(family, "inventory", "".join(lines))
            self._static_names.append(family.name)

    def _drop(self, name: str, owner: JobKey | str) -> None:
        entry = self._families.get(name)
        if entry is not None:
            entry[1].pop(owner, None)
            if not entry[1]:
                del self._families[name]
        if not isinstance(owner, str):
            holders = self._holders.get((name, owner[0]))
            if holders is not None and owner in holders:
                holders.remove(owner)
                if not holders:
                    del self._holders[(name, owner[0])]

    def _unique(self, key: JobKey, name: str, lines: list[str]) -> list[str]:
        """``lines`` less the series another job of the same asset already holds."""
        holders = self._holders.setdefault((name, key[0]), [])
        others = [h for h in holders if h != key]
        if key not in holders:
            holders.append(key)
        if not others:
            return lines
        kept = self._refuse_held(key, name, lines, others)
        if not kept:
            holders.remove(key)
        return kept

    def _refuse_held(
        self, key: JobKey, name: str, lines: list[str], others: list[JobKey]
    ) -> list[str]:
        texts = self._families[name][1] if name in self._families else {}
        held = {
            _series_key(line)
            for other in others
            for line in texts.get(other, "").splitlines(keepends=True)
        }
        kept = [line for line in lines if _series_key(line) not in held]
        if len(kept) < len(lines):
            self.duplicates[name] += len(lines) - len(kept)
            if (key, name) not in self._warned:
                self._warned.add((key, name))
                log.warning(
                    "duplicate series refused asset=%s probe=%s family=%s held_by=%s",
                    key[0],
                    key[1],
                    name,
                    ",".join(o[1] for o in others),
                )
        return kept

    def _add(self, family: Family, owner: JobKey | str, text: str) -> None:
        entry = self._families.get(family.name)
        if entry is None:
            self._families[family.name] = (family, {owner: text})
        else:
            if entry[0].type != family.type:
                # Two probes disagree on a family's type; keep the first, count the clash.
                self._conflicts.add(family.name)
                return
            entry[1][owner] = text

    def _on_result(self, key: JobKey, result: Result | None) -> None:
        old = self._of_job.pop(key, [])
        names: list[str] = []
        if result is not None:
            # Replacing in place keeps each job's series where they were in their family.
            for family, lines in result_lines(result, self.duplicates).items():
                kept = self._unique(key, family.name, lines)
                if not kept:
                    continue
                self._add(family, key, "".join(kept))
                names.append(family.name)
            self._of_job[key] = names
        for name in set(old).difference(names):
            self._drop(name, key)

    def render(self) -> str:
        parts: list[str] = []
        for name in sorted(self._families):
            family, texts = self._families[name]
            parts.append(_header(family))
            parts.extend(texts.values())
        return "".join(parts)

    @property
    def conflicts(self) -> set[str]:
        return set(self._conflicts)


class ExpositionHealth(Collector):
    """The exposition's own counters for the daemon's registry: the series it refused."""

    def __init__(self, exposition: Exposition) -> None:
        self._exposition = exposition

    def collect(self) -> Iterator[Metric]:
        metric = CounterMetricFamily(
            "trunkwatch_exposition_duplicate_series",
            "Samples refused because another sample of the same scrape had their name and labels.",
            labels=["family"],
        )
        for family, count in sorted(self._exposition.duplicates.items()):
            metric.add_metric([family], count)
        yield metric


class ResultsCollector(Collector):
    """prometheus-client view of the same results, for OpenMetrics and as the reference."""

    def __init__(self, store: ResultStore, inventory: Inventory | None = None) -> None:
        self._store = store
        self.inventory = inventory

    def collect(self) -> Iterator[Metric]:
        families: dict[str, tuple[Family, list[tuple[str, dict[str, str], float]]]] = {}
        seen: set[tuple[str, frozenset[tuple[str, str]]]] = set()
        for result in self._store:
            asset = result.job.asset.label_pairs
            for family, name, labels, value in result_series(result):
                pairs = (*asset, *labels)
                identity = (name, frozenset(pairs))
                if identity in seen:
                    continue  # the first holder keeps a series, as on the fast path
                seen.add(identity)
                entry = families.setdefault(family.name, (family, []))
                entry[1].append((name, dict(pairs), value))
        if self.inventory is not None:
            for family, name, labels, value in inventory_series(self.inventory):
                entry = families.setdefault(family.name, (family, []))
                entry[1].append((name, dict(labels), value))
        for family, collected in families.values():
            base = family.name.removesuffix("_total") if family.type == "counter" else family.name
            metric = Metric(base, family.help, family.type)
            for sample_name, sample_labels, sample_value in collected:
                metric.add_sample(sample_name, sample_labels, sample_value)
            yield metric


def samples_text(samples: Iterable[Sample], labels: str = "") -> str:
    """Exposition of loose samples (``trunkwatch probe`` output), grouped by family."""
    grouped: dict[str, tuple[Family, list[str]]] = {}
    for sample in samples:
        text = labels
        if sample.labels:
            extra = render_labels(sample.labels)
            text = f"{labels},{extra}" if labels else extra
        grouped.setdefault(sample.family.name, (sample.family, []))[1].append(
            _line(sample.family.name + sample.suffix, text, sample.value)
        )
    return "".join(_header(f) + "".join(lines) for f, lines in grouped.values())

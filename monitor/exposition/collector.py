"""prometheus-client collectors over the results: ``ResultsCollector`` yields fresh metric
families at scrape time (OpenMetrics when a scraper asks for it, and the reference the fast
text path is tested against); ``ExpositionHealth`` counts the series the fast path refused."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.exposition.families import inventory_series, result_series
from monitor.exposition.text import Exposition
from monitor.inventory import Inventory
from monitor.results import ResultStore
from probes.base import Family

__all__ = ["ExpositionHealth", "ResultsCollector"]


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

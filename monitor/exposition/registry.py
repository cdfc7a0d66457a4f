"""The process's own metrics (its prometheus-client registry) as Prometheus text, for /metrics.

prometheus-client writes a sample in ~20 µs, checking every label name of every sample against
a pattern. Most of the registry is a few series, but the inspection metrics are a dozen series
per asset and plan: at 2,000 assets a scrape spent four seconds on them. Gauge families of
plain samples (no timestamp, valid names) are written here instead, with their names checked
once per family; every other family still goes through prometheus-client's ``generate_latest``,
so counters, histograms and anything unusual are written exactly as before.

A collector that serves the same families until its data changes (the inspection metrics
do) marks them with ``kept``: their text is written at the first scrape that takes them and
kept with them (packed, ``monitor.exposition.packed``), so later scrapes copy it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TypeVar

from prometheus_client import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from monitor.exposition.packed import Part, pack_lines, unpack
from monitor.inventory import escape_label_value

__all__ = ["KeptGauge", "kept", "render_registry", "render_registry_openmetrics"]

M = TypeVar("M", bound=Metric)
#: Where a kept family holds its text (None until its first scrape).
_KEPT = "_trunkwatch_text"

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class _One:
    """One family as a collector, for ``generate_latest``."""

    def __init__(self, metric: Metric) -> None:
        self.metric = metric

    def collect(self) -> Iterable[Metric]:
        return [self.metric]


class KeptGauge(Metric):
    """A gauge family served as it is until it is replaced (it is ``kept``), its series held
    as rows of label values until its text is written, and then only as that text (the
    OpenMetrics path serves its lines too: ``render_registry_openmetrics``).
    prometheus-client's samples, a dict of labels each (some 250 bytes a series), are made
    only when something reads ``samples`` (a test, OpenMetrics before the text is written):
    from the rows, or once they are released, read back from the text by prometheus-client's
    own parser."""

    def __init__(self, name: str, documentation: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, documentation, "gauge")
        # Checked once here, so that its text is always written from its rows, and read
        # back (or served as OpenMetrics) as it was written.
        if not _METRIC_NAME.fullmatch(name):
            raise ValueError(f"{name!r}: not a metric name of the text format")
        if bad := [label for label in labels if not _LABEL_NAME.fullmatch(label)]:
            raise ValueError(f"{name}: {', '.join(map(repr, bad))}: not label names")
        self.labelnames = tuple(labels)
        #: None once the text is written: the rows are not kept twice.
        self.rows: list[tuple[tuple[str, ...], float]] | None = []
        kept(self)

    def add_metric(self, labels: Sequence[str], value: float) -> None:
        """One series: its label values in the order of ``labelnames``, and its value."""
        if self.rows is None:
            raise TypeError(f"{self.name}: its text is written; it takes no more series")
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name}: {len(labels)} label values for {self.labelnames}")
        self.rows.append((labels if labels.__class__ is tuple else tuple(labels), value))

    @property
    def samples(self) -> list[Sample]:
        rows = self.rows
        if rows is None:
            text = _kept_text(self)
            return [s for f in text_string_to_metric_families(text) for s in f.samples]
        names, name = self.labelnames, self.name
        return [
            Sample(name, dict(zip(names, values, strict=True)), value) for values, value in rows
        ]

    @samples.setter
    def samples(self, value: list[Sample]) -> None:
        if value:  # Metric.__init__ sets it empty; series come in through add_metric
            raise TypeError("KeptGauge takes its series through add_metric")


def _plain_gauge(metric: Metric) -> bool:
    if metric.type != "gauge" or not _METRIC_NAME.fullmatch(metric.name):
        return False
    samples = metric.samples
    if any(s.timestamp is not None or s.name != metric.name for s in samples):
        return False
    names: set[str] = set().union(*(s.labels for s in samples))
    return all(_LABEL_NAME.fullmatch(name) for name in names)


def _gauge_text(metric: Metric) -> str:
    name = metric.name
    help_text = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
    lines = [f"# HELP {name} {help_text}\n# TYPE {name} gauge\n"]
    append = lines.append
    for sample in metric.samples:
        labels = sample.labels
        value = floatToGoString(sample.value)  # type: ignore[no-untyped-call]
        if labels:
            text = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels.items())
            append(f"{name}{{{text}}} {value}\n")
        else:
            append(f"{name} {value}\n")
    return "".join(lines)


def kept(metric: M, *, written: bool = False) -> M:
    """Mark ``metric`` as final, never added to again: ``render_registry`` writes its text
    once and keeps it with the family; ``written`` writes it now (in a worker thread, say,
    so that the scrape that first serves the family does not)."""
    if written:
        _write(metric)
    else:
        metric.__dict__[_KEPT] = None
    return metric


def _rows_text(metric: KeptGauge, rows: list[tuple[tuple[str, ...], float]]) -> str:
    name = metric.name
    help_text = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
    lines = [f"# HELP {name} {help_text}\n# TYPE {name} gauge\n"]
    append = lines.append
    heads = [f'{label}="' for label in metric.labelnames]
    for values, value in rows:
        number = floatToGoString(value)  # type: ignore[no-untyped-call]
        if heads:
            text = '",'.join(h + escape_label_value(v) for h, v in zip(heads, values, strict=True))
            append(f'{name}{{{text}"}} {number}\n')
        else:
            append(f"{name} {number}\n")
    return "".join(lines)


def _text(metric: Metric) -> str:
    if _plain_gauge(metric):
        return _gauge_text(metric)
    return generate_latest(_One(metric)).decode()


def _write(metric: Metric) -> list[Part]:
    """Write a kept family's text and keep it with the family, packed in pieces
    (``pack_lines``: the inspection families of 10,000 devices are some 130 MB of text); a
    ``KeptGauge`` lets its rows go only then, so that whoever finds them gone finds the
    text."""
    if not isinstance(metric, KeptGauge):
        pieces = metric.__dict__[_KEPT] = pack_lines(_text(metric))
        return pieces
    rows = metric.rows
    if rows is None:  # written already
        written: list[Part] = metric.__dict__[_KEPT]
        return written
    pieces = metric.__dict__[_KEPT] = pack_lines(_rows_text(metric, rows))
    metric.rows = None
    return pieces


def _kept_text(metric: Metric) -> str:
    """The text a kept family was written as."""
    return "".join(map(unpack, metric.__dict__[_KEPT]))


def render_registry(registry: Collector) -> list[Part]:
    """The registry's families as Prometheus text: one part per family, or the pieces of a
    kept family's, packed when long (``unpack`` reads them)."""
    parts: list[Part] = []
    for metric in registry.collect():
        state = metric.__dict__
        if _KEPT not in state:
            parts.append(_text(metric))
            continue
        pieces = state[_KEPT]
        parts.extend(_write(metric) if pieces is None else pieces)
    return parts


def render_registry_openmetrics(registry: Collector) -> str:
    """The registry's families in OpenMetrics, without the closing ``# EOF``.

    A gauge's sample lines are the same in both formats (syntax, escaping and numbers; only
    the order of the labels differs, which carries no meaning), so a written ``KeptGauge``
    serves its kept lines after a header prometheus-client writes, and its series are never
    read back through the parser (some 40 µs a series). Every other family goes through
    prometheus-client.
    """
    out: list[str] = []
    for metric in registry.collect():
        if isinstance(metric, KeptGauge) and metric.rows is None:
            text = _kept_text(metric)
            out.append(_openmetrics(Metric(metric.name, metric.documentation, metric.type)))
            out.append(text.split("\n", 2)[2])  # after the kept text's HELP and TYPE lines
        else:
            out.append(_openmetrics(metric))
    return "".join(out)


def _openmetrics(metric: Metric) -> str:
    written: bytes = openmetrics.generate_latest(_One(metric))  # type: ignore[no-untyped-call]
    return written.decode().removesuffix("# EOF\n")

"""The process's own metrics written by ``render_registry`` are the samples prometheus-client
writes: the same families, types, help texts, labels and values, for every kind of family."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from monitor.exposition import packed
from monitor.exposition.packed import unpack
from monitor.exposition.registry import (
    KeptGauge,
    kept,
    render_registry,
    render_registry_openmetrics,
)

Parsed = tuple[str, str, str, frozenset[tuple[str, frozenset[tuple[str, str]], float | str]]]


def parsed(text: str, *, openmetrics: bool = False) -> set[Parsed]:
    """The families of ``text`` as sets, read by prometheus-client's parser of the text
    format, or of OpenMetrics (which refuses anything the format does not allow)."""
    read = openmetrics_families if openmetrics else text_string_to_metric_families
    out = set()
    for family in read(text):
        samples = frozenset(
            (s.name, frozenset(s.labels.items()), "NaN" if s.value != s.value else s.value)
            for s in family.samples
        )
        out.add((family.name, family.type, family.documentation, samples))
    return out


def readings(family: Metric) -> list[tuple[str, dict[str, str], float | str]]:
    return [
        (s.name, s.labels, "NaN" if s.value != s.value else float(s.value)) for s in family.samples
    ]


class Families:
    """A collector of gauge families built by the test, as the inspection metrics are."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


label_values = st.text(
    alphabet=st.sampled_from(["a", "z", "0", " ", '"', "\\", "\n", "南", "宁", "{", "}", ","]),
    max_size=6,
)
numbers = st.one_of(st.integers(-(2**60), 2**60), st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(label_values, label_values, numbers), max_size=20),
    numbers,
    st.text(alphabet=st.sampled_from(["a", " ", "\\", "\n", "宁"]), max_size=8),
)
def test_the_registry_text_has_the_samples_prometheus_client_writes(
    rows: list[tuple[str, str, float]], scalar: float, help_text: str
) -> None:
    registry = CollectorRegistry()
    family = GaugeMetricFamily(
        "trunkwatch_inspection_overdue", help_text or "h", labels=["plan", "asset"]
    )
    # The same series as rows (the inspection metrics' way): written from the rows here,
    # and by prometheus-client from the samples it makes when read.
    rows_family = KeptGauge("trunkwatch_inspection_state", help_text or "h", ["plan", "asset"])
    seen = set()
    for plan, asset, value in rows:
        if (plan, asset) not in seen:
            seen.add((plan, asset))
            family.add_metric([plan, asset], value)
            rows_family.add_metric((plan, asset), value)
    bare = KeptGauge("trunkwatch_store_up", "no labels")
    bare.add_metric((), scalar)
    stamped = GaugeMetricFamily("trunkwatch_stamped", "with a timestamp", labels=["a"])
    stamped.add_metric(["x"], 1.5, timestamp=1_780_000_000.25)
    registry.register(Families([family, rows_family, bare, stamped]))
    Gauge("trunkwatch_plain", "no labels", registry=registry).set(scalar)
    Gauge("trunkwatch_sites", "by site", ["site"], registry=registry).labels("南宁").set(2)
    Counter("trunkwatch_runs", "runs", ["outcome"], registry=registry).labels("ok").inc(3)
    Histogram("trunkwatch_lag_seconds", "lag", registry=registry).observe(0.2)
    Info("trunkwatch_build", "build", registry=registry).info({"version": "1.0"})
    before = readings(rows_family)
    openmetrics_before = generate_openmetrics(registry).decode()  # type: ignore[no-untyped-call]
    parts = render_registry(registry)
    # Once written, a KeptGauge keeps its series only as text, and reads them back from it.
    assert rows_family.rows is None
    assert readings(rows_family) == before
    assert parsed("".join(map(unpack, parts))) == parsed(generate_latest(registry).decode())
    # OpenMetrics takes a written family's kept lines, as prometheus-client wrote its rows.
    openmetrics_after = render_registry_openmetrics(registry) + "# EOF\n"
    assert parsed(openmetrics_after, openmetrics=True) == parsed(
        openmetrics_before, openmetrics=True
    )
    # A kept family's text is written once: the next scrape hands out the same string.
    assert render_registry(registry)[1] is parts[1]


def test_plain_gauges_are_written_here_and_keep_their_label_order() -> None:
    # prometheus-client sorts label names; the fast path writes them as the family has them.
    registry = CollectorRegistry()
    family = GaugeMetricFamily("trunkwatch_x", "x", labels=["zone", "asset"])
    family.add_metric(["z1", "a1"], 1)
    registry.register(Families([family]))
    assert 'trunkwatch_x{zone="z1",asset="a1"} 1.0\n' in "".join(
        map(unpack, render_registry(registry))
    )
    assert 'trunkwatch_x{asset="a1",zone="z1"} 1.0\n' in generate_latest(registry).decode()


def test_a_written_kept_gauge_takes_no_more_series() -> None:
    family = KeptGauge("trunkwatch_y", "y", ["site"])
    family.add_metric(("南宁",), 2)
    pieces = kept(family, written=True).__dict__["_trunkwatch_text"]
    assert "".join(map(unpack, pieces)).endswith('trunkwatch_y{site="南宁"} 2.0\n')
    assert kept(family, written=True).__dict__["_trunkwatch_text"] is pieces  # written once
    with pytest.raises(TypeError, match="trunkwatch_y: its text is written"):
        family.add_metric(("邕宁",), 1)
    assert [(s.labels, s.value) for s in family.samples] == [({"site": "南宁"}, 2.0)]


def test_a_kept_gauge_takes_only_names_of_the_text_format() -> None:
    with pytest.raises(ValueError, match=re.escape("'trunkwatch.y': not a metric name")):
        KeptGauge("trunkwatch.y", "y")
    with pytest.raises(
        ValueError, match=re.escape("trunkwatch_y: 'site.id', '1st': not label names")
    ):
        KeptGauge("trunkwatch_y", "y", ["plan", "site.id", "1st"])


def test_openmetrics_takes_written_and_unwritten_kept_gauges_alike() -> None:
    written = KeptGauge("trunkwatch_written", 'a "quoted" help', ["site"])
    written.add_metric(("南宁",), 1.5)
    kept(written, written=True)
    fresh = KeptGauge("trunkwatch_fresh", "not written yet", ["site"])
    fresh.add_metric(('a "b"\\',), float("inf"))
    registry = CollectorRegistry()
    registry.register(Families([written, fresh]))
    text = render_registry_openmetrics(registry) + "# EOF\n"
    assert fresh.rows is not None  # OpenMetrics does not write the Prometheus text
    assert parsed(text, openmetrics=True) == {
        (
            "trunkwatch_written",
            "gauge",
            'a "quoted" help',
            frozenset({("trunkwatch_written", frozenset({("site", "南宁")}), 1.5)}),
        ),
        (
            "trunkwatch_fresh",
            "gauge",
            "not written yet",
            frozenset({("trunkwatch_fresh", frozenset({("site", 'a "b"\\')}), float("inf"))}),
        ),
    }


@pytest.mark.parametrize("piece", [packed.PIECE, 1000], ids=["one piece", "pieces"])
def test_a_long_kept_family_is_kept_packed_and_read_back_in_both_formats(
    piece: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The inspection families of a city are thousands of series each: their text is kept
    # packed, in pieces when longer than a chunk of a body, and whatever reads them (a
    # test's samples, OpenMetrics) reads them back.
    monkeypatch.setattr(packed, "PIECE", piece)
    family = KeptGauge("trunkwatch_z", "z", ["site", "plan"])
    rows = [((f"南宁-{i}", f"plan-{i % 7}"), float(i)) for i in range(100)]
    for labels, value in rows:
        family.add_metric(labels, value)
    before = readings(family)
    registry = CollectorRegistry()
    registry.register(Families([family]))
    openmetrics_before = render_registry_openmetrics(registry)
    pieces = render_registry(registry)
    assert len(pieces) == (5 if piece == 1000 else 1)
    assert all(isinstance(part, bytes) for part in pieces)
    text = "".join(map(unpack, pieces))
    assert all(unpack(part).endswith("\n") for part in pieces)
    assert sum(map(len, pieces)) * 3 < len(text.encode())
    assert family.rows is None
    assert readings(family) == before
    after = render_registry_openmetrics(registry) + "# EOF\n"
    assert parsed(after, openmetrics=True) == parsed(
        openmetrics_before + "# EOF\n", openmetrics=True
    )
    assert parsed(text) == parsed(generate_latest(registry).decode())

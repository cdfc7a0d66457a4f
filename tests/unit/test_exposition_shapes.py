"""A job's kept shape renders exactly what the general path renders, whatever changes between
its results: values (equal, of another type, changed), samples (the same objects, new ones,
kept by column or not), label tuples (the same objects, equal copies, different ones), series
appearing, disappearing or repeating, per-probe families, histogram suffixes, a reload."""

from __future__ import annotations

from collections import Counter
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.exposition import packed
from monitor.exposition.families import PROBE_SUCCESS
from monitor.exposition.text import Exposition, result_lines
from monitor.results import Result, ResultStore
from probes.base import Family, Sample, Samples
from tests.unit.fleet import ScriptedProbe, asset, job

NOOP = ScriptedProbe(lambda t: None)
OCTETS = Family("trunkwatch_if_in_octets_total", "counter", "Octets received.")
STATE = Family("trunkwatch_if_oper_status", "gauge", "Operational state.")
VARBINDS = Family("trunkwatch_snmp_varbinds", "gauge", "Varbinds fetched.", per_probe=True)
LATENCY = Family("trunkwatch_x_seconds", "histogram", "A histogram.")
FAMILIES = (OCTETS, STATE, VARBINDS, LATENCY)

#: Label tuples made once, handed out again and again, as a device's mappers do.
KEPT = (
    (),
    (("index", "1"), ("name", "eth0")),
    (("index", "2"), ("name", "eth1"), ("alias", 'uplink "A"\\')),
    (("index", "1"), ("name", "eth0"), ("state", "up")),
)

values = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 2**53 - 1, 2**53, -(2**53), 0.5, 3.0]),
)


@st.composite
def sample(draw: st.DrawFn) -> Sample:
    family = draw(st.sampled_from(FAMILIES))
    pairs = draw(st.sampled_from(KEPT))
    if draw(st.booleans()):
        pairs = tuple((k, v) for k, v in pairs)  # equal, not the same object
    suffix = draw(st.sampled_from(["_bucket", "_sum"])) if family is LATENCY else ""
    return Sample(family, draw(values), pairs, suffix)


#: Samples handed out again, values and all: an unchanged line is copied from the last
#: rendering, runs of them at once.
POOL = tuple(
    Sample(family, value, pairs, "_sum" if family is LATENCY else "")
    for family in FAMILIES
    for pairs in KEPT
    for value in (0, 1, 2.5)
)


@st.composite
def result(draw: st.DrawFn) -> Result:
    which = draw(st.integers(0, 1))
    the_job = JOBS[which]
    samples = tuple(draw(st.lists(st.one_of(sample(), st.sampled_from(POOL)), max_size=12)))
    if draw(st.booleans()) and samples:
        samples = samples + samples[:2]  # series repeated within the result
    success = draw(st.booleans())
    return Result(
        the_job,
        success=success,
        duration=draw(st.floats(0, 10)),
        finished_at=1_780_000_000.0,
        # As the scheduler keeps them (by column), or as any sequence.
        samples=Samples(samples) if draw(st.booleans()) else samples,
        reason=None if success else "timeout",
        partial=(("rows", "no_such_object"),) if draw(st.booleans()) else (),
    )


# The same job key before and after a reload that moved the asset to another site.
JOBS = (
    job(asset("core-sw-1"), NOOP, name="snmp:if_mib"),
    job(asset("core-sw-1", site="s2"), NOOP, name="snmp:if_mib"),
)


def general(r: Result) -> tuple[str, Counter[str]]:
    refused: Counter[str] = Counter()
    lines = result_lines(r, refused)
    return "".join("".join(v) for v in lines.values()), refused


#: Where a family's text is kept packed: as the daemon has it (short texts stay text), and
#: from the first character, so that every text these small results make is packed.
PACKED_FROM = pytest.mark.parametrize("pack_at", [packed.PACK_AT, 1], ids=["daemon", "all"])


@PACKED_FROM
@settings(max_examples=300, deadline=None)
@given(st.lists(result(), min_size=1, max_size=8))
def test_a_kept_shape_renders_what_the_general_path_renders(
    pack_at: int, results: list[Result]
) -> None:
    with mock.patch.object(packed, "PACK_AT", pack_at):
        check_shapes(results)


def check_shapes(results: list[Result]) -> None:
    store = ResultStore()
    exposition = Exposition(store)
    expected_refused: Counter[str] = Counter()
    for r in results:
        store.put(r)
        text, refused = general(r)
        expected_refused.update(refused)
        body = exposition.render()
        assert sorted(x for x in body.splitlines() if not x.startswith("#")) == sorted(
            text.splitlines()
        )
    assert exposition.duplicates == expected_refused


def test_a_new_value_in_the_same_shape_is_rendered() -> None:
    store = ResultStore()
    exposition = Exposition(store)
    pairs = KEPT[1]
    for value in (5, 7, 2.5):
        store.put(Result(JOBS[0], True, 0.1, 1.0, (Sample(OCTETS, value, pairs),)))
        assert f'name="eth0"}} {value}\n' in exposition.render()


def test_an_equal_value_of_another_type_is_rendered_anew() -> None:
    # 10**15 == 1e15, yet an integer prints as itself and a float of that size as its repr.
    store = ResultStore()
    exposition = Exposition(store)
    for value, text in ((10**15, "1000000000000000"), (1e15, "1000000000000000.0")):
        store.put(Result(JOBS[0], True, 0.1, 1.0, Samples([Sample(OCTETS, value, KEPT[1])])))
        assert f'name="eth0"}} {text}\n' in exposition.render()


def test_a_sample_of_a_run_family_takes_the_general_path() -> None:
    # A probe exporting trunkwatch_probe_success itself: the run's own series is kept, the
    # sample's repeat of it refused, shape or not.
    store = ResultStore()
    exposition = Exposition(store)
    r = Result(JOBS[0], True, 0.1, 1.0, (Sample(PROBE_SUCCESS, 0, (("probe", "snmp:if_mib"),)),))
    for _ in range(2):
        store.put(r)
    assert exposition.duplicates == {PROBE_SUCCESS.name: 2}
    assert 'probe="snmp:if_mib"} 1\n' in exposition.render()


#: Three probes of one base station and one of another: only jobs of one asset can repeat a
#: series, and a per-probe family never does.
SIBLINGS = (
    job(asset("bs-1"), NOOP, name="snmp:trunked_bs"),
    job(asset("bs-1"), NOOP, name="snmp:if_mib"),
    job(asset("bs-1"), NOOP, name="snmp:ups_mib"),
    job(asset("bs-2"), NOOP, name="snmp:if_mib"),
)


@st.composite
def sibling_step(draw: st.DrawFn) -> tuple[int, Result | None]:
    which = draw(st.integers(0, len(SIBLINGS) - 1))
    if draw(st.integers(0, 5)) == 0:
        return which, None  # the job is removed (a reload without it)
    samples = tuple(draw(st.lists(st.sampled_from(POOL), max_size=8)))
    return which, Result(SIBLINGS[which], True, 0.1, 1_780_000_000.0, samples)


def series(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            found.setdefault(key, []).append(value)
    return found


@PACKED_FROM
@settings(max_examples=200, deadline=None)
@given(st.lists(sibling_step(), min_size=1, max_size=14))
def test_the_probes_of_one_asset_never_export_a_series_twice(
    pack_at: int, steps: list[tuple[int, Result | None]]
) -> None:
    with mock.patch.object(packed, "PACK_AT", pack_at):
        check_siblings(steps)


def check_siblings(steps: list[tuple[int, Result | None]]) -> None:
    store = ResultStore()
    exposition = Exposition(store)
    for which, r in steps:
        if r is None:
            store.remove(SIBLINGS[which].key)
        else:
            store.put(r)
        body = series(exposition.render())
        assert all(len(values) == 1 for values in body.values()), body
        if r is not None:
            # Every series of the result just put is exported: its own line, or the line of
            # the sibling that held it first; a per-probe family's always its own.
            mine = series(general(r)[0])
            assert mine.keys() <= body.keys()
            for key, values in mine.items():
                if key.startswith(VARBINDS.name):
                    assert body[key] == values[:1]
        # Whatever is exported is some current result's.
        current = {k for result in store for k in series(general(result)[0])}
        assert body.keys() <= current


def test_a_result_that_differs_only_in_its_suffixes_is_rendered_anew() -> None:
    # The same family and labels, sample by sample; only _sum and _count trade places.
    store = ResultStore()
    exposition = Exposition(store)
    first = (Sample(LATENCY, 1, KEPT[1], "_sum"), Sample(LATENCY, 2, KEPT[1], "_count"))
    second = (Sample(LATENCY, 1, KEPT[1], "_count"), Sample(LATENCY, 2, KEPT[1], "_sum"))
    for samples in (first, second):
        r = Result(JOBS[0], True, 0.1, 1.0, samples)
        store.put(r)
        body = exposition.render()
        assert sorted(x for x in body.splitlines() if not x.startswith("#")) == sorted(
            general(r)[0].splitlines()
        )
    assert 'trunkwatch_x_seconds_sum{site="s1",asset="core-sw-1"' in body
    assert body.split("trunkwatch_x_seconds_sum{", 1)[1].split("\n", 1)[0].endswith("} 2")


def test_a_long_family_is_kept_packed_and_kept_as_it_is_while_none_of_its_samples_changes() -> None:
    store = ResultStore()
    exposition = Exposition(store)
    rows = [(("index", str(i)), ("name", f"ge0/{i}")) for i in range(40)]
    states = tuple(Sample(STATE, 1, pairs) for pairs in rows)

    def put(octets: int) -> list[bytes]:
        counters = tuple(Sample(OCTETS, octets + i, pairs) for i, pairs in enumerate(rows))
        store.put(Result(JOBS[0], True, 0.1, 1.0, states + counters))
        return [part for part in exposition.render_parts() if isinstance(part, bytes)]

    first = put(1000)
    assert len(first) == 2  # both families' texts, each some 3,000 characters
    second = put(2000)
    # The state set's samples are the very objects of the last result: its part is the same
    # object, not read or packed again. Every counter moved: its part is new.
    assert [a is b for a, b in zip(first, second, strict=True)] == [False, True]
    text = exposition.render()
    assert 'name="ge0/39"} 2039\n' in text
    assert 'name="ge0/39"} 1039\n' not in text
    assert text.count("trunkwatch_if_oper_status{") == 40

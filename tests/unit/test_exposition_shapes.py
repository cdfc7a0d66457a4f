"""A job's kept shape renders exactly what the general path renders, whatever changes between
its results: values, samples (the same objects, new ones), label tuples (the same objects,
equal copies, different ones), series appearing, disappearing or repeating, per-probe
families, histogram suffixes, a reload."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.exposition.families import PROBE_SUCCESS
from monitor.exposition.text import Exposition, result_lines
from monitor.results import Result, ResultStore
from probes.base import Family, Sample
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


#: Samples handed out again as the very same objects, as a state set's row does: an unchanged
#: line is copied from the last rendering, runs of them at once.
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
        samples=samples,
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


@settings(max_examples=400, deadline=None)
@given(st.lists(result(), min_size=1, max_size=8))
def test_a_kept_shape_renders_what_the_general_path_renders(results: list[Result]) -> None:
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

"""A result's samples kept by column read back as the samples they were made of, and a job's
next result with the same series keeps the very keys of the last one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.exposition.text import Exposition
from monitor.results import Result, ResultStore
from probes.base import Family, Sample, Samples
from tests.unit.fleet import ScriptedProbe, asset, job

OCTETS = Family("trunkwatch_if_in_octets_total", "counter", "Octets received.")
LATENCY = Family("trunkwatch_x_seconds", "histogram", "A histogram.")
ETH0 = (("index", "1"), ("name", "eth0"))
JOB = job(asset("core-sw-1"), ScriptedProbe(lambda t: None), name="snmp:if_mib")

samples = st.lists(
    st.builds(
        Sample,
        st.sampled_from([OCTETS, LATENCY]),
        st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=False)),
        st.sampled_from([(), ETH0, (("index", "2"),)]),
        st.sampled_from(["", "", "_sum", "_bucket"]),
    ),
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(samples)
def test_samples_by_column_read_back_as_they_were_given(given_samples: list[Sample]) -> None:
    kept = Samples(given_samples)
    assert list(kept) == given_samples
    assert len(kept) == len(given_samples)
    assert [kept[i] for i in range(len(kept))] == given_samples
    assert kept[1:3] == tuple(given_samples[1:3])
    assert kept == tuple(given_samples)
    assert kept == Samples(iter(given_samples))
    assert hash(kept) == hash(tuple(given_samples))
    assert bool(kept) is bool(given_samples)
    for sample in kept:
        assert type(sample) is Sample


def test_suffixes_are_kept_only_when_a_sample_has_one() -> None:
    plain = Samples([Sample(OCTETS, 1, ETH0), Sample(OCTETS, 2, ())])
    assert plain.keys.suffixes is None
    assert [s.suffix for s in plain] == ["", ""]
    histogram = Samples([Sample(LATENCY, 3, (), "_sum"), Sample(LATENCY, 1, (), "_count")])
    assert histogram.keys.suffixes == ("_sum", "_count")
    assert histogram[1] == Sample(LATENCY, 1, (), "_count")


def test_different_series_are_told_apart() -> None:
    base = Samples([Sample(OCTETS, 1, ETH0)])
    for other in (
        [Sample(LATENCY, 1, ETH0)],
        [Sample(OCTETS, 1, (("index", "2"),))],
        [Sample(OCTETS, 1, ETH0, "_total")],
        [Sample(OCTETS, 1, ETH0), Sample(OCTETS, 1, ETH0)],
    ):
        assert not Samples(other).share(base.keys)
        assert Samples(other) != base
    assert Samples([Sample(OCTETS, 2, ETH0)]) != base  # same series, another value


def test_a_result_with_the_same_series_keeps_the_last_ones_keys() -> None:
    store = ResultStore()
    first = Samples([Sample(OCTETS, 1, ETH0), Sample(LATENCY, 0.5, (), "_sum")])
    store.put(Result(JOB, True, 0.1, 1.0, first))
    # The very label tuples again, as a device's mappers hand them out poll after poll.
    again = Samples([Sample(OCTETS, 7, ETH0), Sample(LATENCY, 0.7, (), "_sum")])
    store.put(Result(JOB, True, 0.1, 2.0, again))
    assert again.keys is first.keys
    assert list(again) == [Sample(OCTETS, 7, ETH0), Sample(LATENCY, 0.7, (), "_sum")]
    changed = Samples([Sample(OCTETS, 8, (("index", "2"),)), Sample(LATENCY, 0.7, (), "_sum")])
    store.put(Result(JOB, True, 0.1, 3.0, changed))
    assert changed.keys is not first.keys
    assert changed[0].labels == (("index", "2"),)


def test_after_a_label_refresh_the_new_label_tuples_are_kept_not_the_old() -> None:
    # A label refresh makes every row's tuples again, equal to the old ones: the series are
    # the same (the exposition keeps its lines), but what is kept from then on is the new
    # tuples, which the mappers hold, so that the old ones can go.
    store = ResultStore()
    exposition = Exposition(store)
    old = Samples([Sample(OCTETS, 1, ETH0)])
    store.put(Result(JOB, True, 0.1, 1.0, old))
    refreshed = tuple(list(ETH0))
    new = Samples([Sample(OCTETS, 2, refreshed)])
    store.put(Result(JOB, True, 0.1, 2.0, new))
    assert new.keys is not old.keys
    assert new.keys == old.keys
    assert new.keys.labels[0] is refreshed
    # The poll after: the new tuples again, shared from the last result, the old ones gone.
    later = Samples([Sample(OCTETS, 3, refreshed)])
    store.put(Result(JOB, True, 0.1, 3.0, later))
    assert later.keys is new.keys
    assert 'name="eth0"} 3\n' in exposition.render()
    shape = exposition._shapes[JOB.key]
    assert shape.keys is new.keys

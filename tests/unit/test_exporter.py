"""The fast exposition path renders exactly what prometheus-client renders for the same results."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.exposition.collector import ExpositionHealth, ResultsCollector
from monitor.exposition.text import Exposition, format_value
from monitor.results import Result, ResultStore
from probes.base import Family, Sample
from tests.unit.fleet import ScriptedProbe, asset, inventory, job

OCTETS = Family("trunkwatch_if_in_octets_total", "counter", "Octets received.")
VSWR = Family("trunkwatch_bs_vswr_ratio", "gauge", "Voltage standing wave ratio.")
NOOP = ScriptedProbe(lambda t: None)


def samples_of(text: str) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    out = set()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.endswith("_created"):
                continue
            out.add((s.name, tuple(sorted(s.labels.items())), s.value))
    return out


def results() -> list[Result]:
    odd = asset('bs-"north"\\\nside', site="江北")
    ok_job = job(asset("bs-1"), NOOP, name="snmp:trunked_bs")
    bad_job = job(odd, NOOP, name="snmp:trunked_bs")
    return [
        Result(
            ok_job,
            success=True,
            duration=0.0123,
            finished_at=1_780_000_000.5,
            samples=(
                Sample(VSWR, 1.33, (("carrier", "1"),)),
                Sample(VSWR, 2.9, (("carrier", "2"),)),
                Sample(OCTETS, 2**64 - 1, (("ifName", "eth0"),)),
            ),
            partial=(("rx_paths", "no_such_object"),),
        ),
        Result(bad_job, success=False, duration=5.0, finished_at=1_780_000_001.0, reason="timeout"),
    ]


def test_fast_path_equals_prometheus_client_rendering() -> None:
    store = ResultStore()
    exposition = Exposition(store)
    for r in results():
        store.put(r)
    inv = inventory([r.job for r in results()])
    exposition.set_inventory(inv)
    registry = CollectorRegistry()
    registry.register(ResultsCollector(store, inv))
    reference = generate_latest(registry).decode()
    fast = exposition.render()
    assert samples_of(fast) == samples_of(reference)
    # Spot-check values that would change if labels or escaping were wrong.
    parsed = samples_of(fast)
    assert (
        "trunkwatch_probe_failure_info",
        tuple(
            sorted(
                {
                    "site": "江北",
                    "asset": 'bs-"north"\\\nside',
                    "system": "radio",
                    "kind": "tetra_bs",
                    "probe": "snmp:trunked_bs",
                    "reason": "timeout",
                }.items()
            )
        ),
        1.0,
    ) in parsed
    assert fast.count("# TYPE trunkwatch_bs_vswr_ratio gauge") == 1


def test_updates_replace_and_removals_delete_series() -> None:
    store = ResultStore()
    exposition = Exposition(store)
    first, second = results()
    store.put(first)
    assert "trunkwatch_bs_vswr_ratio" in exposition.render()
    store.put(Result(first.job, success=False, duration=1.0, finished_at=2.0, reason="auth"))
    text = exposition.render()
    assert "trunkwatch_bs_vswr_ratio" not in text
    assert 'reason="auth"' in text
    store.put(second)
    store.remove(first.job.key)
    text = exposition.render()
    assert 'asset="bs-1"' not in text
    assert 'reason="timeout"' in text


def test_value_formatting() -> None:
    assert format_value(1) == "1"
    assert format_value(2**64 - 1) == "1.8446744073709552e+19"
    assert format_value(0.5) == "0.5"
    assert format_value(float("nan")) == "NaN"
    assert format_value(float("-inf")) == "-Inf"
    assert format_value(3.0) == "3"


UPTIME = Family("trunkwatch_snmp_uptime_seconds", "gauge", "Agent uptime.")
VARBINDS = Family("trunkwatch_snmp_varbinds", "gauge", "Varbinds of the poll.", per_probe=True)


def series_keys(text: str) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    return [
        (s.name, tuple(sorted(s.labels.items())))
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def test_a_series_repeated_inside_one_result_is_emitted_once_and_counted() -> None:
    store = ResultStore()
    exposition = Exposition(store)
    bs = job(asset("bs-1"), NOOP, name="snmp:if_mib")
    rows = (
        Sample(OCTETS, 10, (("ifName", "eth0"),)),
        Sample(OCTETS, 99, (("ifName", "eth0"),)),  # a second row decoding to the same labels
        Sample(OCTETS, 20, (("ifName", "eth1"),)),
    )
    store.put(Result(bs, success=True, duration=0.1, finished_at=1.0, samples=rows))
    text = exposition.render()
    keys = series_keys(text)
    assert len(keys) == len(set(keys))
    assert 'ifName="eth0"} 10\n' in text  # the first value is kept
    assert "} 99\n" not in text
    assert exposition.duplicates == {"trunkwatch_if_in_octets_total": 1}


def test_a_series_held_by_another_probe_of_the_asset_is_refused_and_counted() -> None:
    store = ResultStore()
    exposition = Exposition(store)
    bs = asset("bs-1")
    first = job(bs, NOOP, name="snmp:trunked_bs")
    second = job(bs, NOOP, name="snmp:if_mib")
    other = job(asset("bs-2"), NOOP, name="snmp:if_mib")
    for j, uptime in ((first, 100.0), (second, 101.0), (other, 500.0)):
        store.put(
            Result(
                j,
                success=True,
                duration=0.1,
                finished_at=1.0,
                samples=(Sample(UPTIME, uptime), Sample(VARBINDS, 7)),
            )
        )
    text = exposition.render()
    keys = series_keys(text)
    assert len(keys) == len(set(keys)), text
    uptimes = [dict(labels)["asset"] for name, labels in keys if name == UPTIME.name]
    assert sorted(uptimes) == ["bs-1", "bs-2"]
    assert 'asset="bs-1",system="radio",kind="tetra_bs"} 100\n' in text
    assert "} 101\n" not in text
    # A family that describes the run carries the probe label, so both probes keep theirs.
    varbinds = [labels for name, labels in keys if name == "trunkwatch_snmp_varbinds"]
    assert {dict(v)["probe"] for v in varbinds} == {"snmp:trunked_bs", "snmp:if_mib"}
    assert len(varbinds) == 3
    assert exposition.duplicates == {"trunkwatch_snmp_uptime_seconds": 1}
    # The holder keeps the series while it emits it; a refused job does not take it over
    # by polling again.
    store.put(
        Result(second, success=True, duration=0.1, finished_at=2.0, samples=(Sample(UPTIME, 102),))
    )
    assert "} 100\n" in exposition.render()
    assert exposition.duplicates == {"trunkwatch_snmp_uptime_seconds": 2}
    # When the holder stops emitting it, the other probe's value is exported.
    store.put(Result(first, success=False, duration=1.0, finished_at=3.0, reason="timeout"))
    store.put(
        Result(second, success=True, duration=0.1, finished_at=3.0, samples=(Sample(UPTIME, 103),))
    )
    text = exposition.render()
    assert "} 103\n" in text
    assert len(series_keys(text)) == len(set(series_keys(text)))


def test_fast_path_and_collector_agree_when_duplicates_are_refused() -> None:
    store = ResultStore()
    exposition = Exposition(store)
    bs = asset("bs-1")
    for name, uptime in (("snmp:a", 1.0), ("snmp:b", 2.0)):
        store.put(
            Result(
                job(bs, NOOP, name=name),
                success=True,
                duration=0.1,
                finished_at=1.0,
                samples=(Sample(UPTIME, uptime), Sample(UPTIME, 3.0), Sample(VARBINDS, 5)),
            )
        )
    registry = CollectorRegistry()
    registry.register(ResultsCollector(store))
    reference = generate_latest(registry).decode()
    assert samples_of(exposition.render()) == samples_of(reference)
    assert exposition.duplicates["trunkwatch_snmp_uptime_seconds"] == 3
    health = CollectorRegistry()
    health.register(ExpositionHealth(exposition))
    refused = health.get_sample_value(
        "trunkwatch_exposition_duplicate_series_total", {"family": UPTIME.name}
    )
    assert refused == 3

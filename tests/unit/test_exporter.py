"""The fast exposition path renders exactly what prometheus-client renders for the same results."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.exporter import Exposition, ResultsCollector, format_value
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

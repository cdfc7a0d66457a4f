"""The scale bench's arithmetic: quantiles from the daemon's lag histogram as Prometheus's
``histogram_quantile`` computes them, the counters read from a /metrics body and their growth
over a window, and how a figure grows with the fleet."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.scale import monitor_yaml
from bench.scale_metrics import DaemonCounters, growth, histogram_quantile, largest_bound
from bench.snmp_fleet import CENTRE, Shard, device_id
from monitor.config import load_config
from probes.snmp.probe import SnmpParams

BUCKETS = ((0.01, 50.0), (0.1, 90.0), (1.0, 99.0), (2.5, 100.0), (math.inf, 100.0))

BODY = b"""# HELP trunkwatch_scheduler_runs_total Probe runs finished, by module and outcome.
# TYPE trunkwatch_scheduler_runs_total counter
trunkwatch_scheduler_runs_total{module="snmp",outcome="success"} 290.0
trunkwatch_scheduler_runs_total{module="snmp",outcome="timeout"} 7.0
trunkwatch_scheduler_runs_total{module="icmp",outcome="success"} 3.0
trunkwatch_scheduler_skipped_runs_total{module="snmp"} 2.0
trunkwatch_scheduler_lag_seconds_bucket{le="0.01"} 250.0
trunkwatch_scheduler_lag_seconds_bucket{le="0.1"} 290.0
trunkwatch_scheduler_lag_seconds_bucket{le="+Inf"} 300.0
trunkwatch_scheduler_lag_seconds_count 300.0
trunkwatch_scheduler_jobs 100.0
trunkwatch_probe_success{site="s1",asset="bs-1",system="radio",kind="tetra_bs",probe="if_mib"} 1
trunkwatch_probe_success{site="s1",asset="bs-1",system="radio",kind="tetra_bs",probe="x{y}"} 0
trunkwatch_probe_successes_seen{asset="bs-1"} 0
trunkwatch_gc_pause_seconds_bucket{generation="2",le="+Inf"} 3.0
trunkwatch_gc_pause_seconds_count{generation="0"} 900.0
trunkwatch_gc_pause_seconds_sum{generation="0"} 0.9
trunkwatch_gc_pause_seconds_count{generation="2"} 3.0
trunkwatch_gc_pause_seconds_sum{generation="2"} 4.5
"""


def test_quantiles_interpolate_inside_their_bucket_from_zero() -> None:
    assert histogram_quantile(0.25, BUCKETS) == pytest.approx(0.005)  # half of the first bucket
    assert histogram_quantile(0.5, BUCKETS) == pytest.approx(0.01)
    assert histogram_quantile(0.7, BUCKETS) == pytest.approx(0.01 + 0.09 * 20 / 40)
    assert histogram_quantile(0.99, BUCKETS) == pytest.approx(1.0)
    assert histogram_quantile(0.995, BUCKETS) == pytest.approx(1.0 + 1.5 * 0.5)


def test_a_quantile_beyond_every_finite_bound_is_the_largest_bound() -> None:
    buckets = ((1.0, 10.0), (2.0, 10.0), (math.inf, 20.0))
    assert histogram_quantile(0.99, buckets) == 2.0
    assert largest_bound(buckets) == math.inf
    assert largest_bound(BUCKETS) == 2.5
    assert math.isnan(histogram_quantile(0.5, ((1.0, 0.0), (math.inf, 0.0))))
    assert math.isnan(largest_bound(()))


def test_counters_are_read_from_the_body_and_differenced_over_the_window() -> None:
    end = DaemonCounters.parse(BODY)
    assert end.runs == {"success": 293.0, "timeout": 7.0}
    assert (end.skipped, end.jobs, end.results, end.failing) == (2.0, 100.0, 2, 1)
    assert end.lag_buckets == ((0.01, 250.0), (0.1, 290.0), (math.inf, 300.0))
    # Only the full collections: the young ones stop the loop for moments, not seconds.
    assert (end.full_collections, end.full_collection_s) == (3.0, 4.5)
    start = DaemonCounters.parse(
        BODY.replace(b"} 290.0", b"} 190.0")
        .replace(b"} 300.0", b"} 200.0")
        .replace(b'"2"} 3.0', b'"2"} 1.0')
        .replace(b'"2"} 4.5', b'"2"} 1.5')
    )
    window = end.minus(start)
    assert window.runs == {"success": 100.0, "timeout": 0.0}
    assert window.lag_buckets == ((0.01, 0.0), (0.1, 100.0), (math.inf, 100.0))
    assert window.skipped == 0.0
    assert (window.full_collections, window.full_collection_s) == (2.0, 3.0)


def test_growth_is_the_value_ratio_against_the_size_ratio() -> None:
    steps = growth([1000, 5000, 10000, 20000], [0.1, 0.5, 2.0, math.nan])
    first, second, third = steps
    assert first == pytest.approx((5.0, 5.0, 1.0))  # linear
    assert second is not None
    assert second[:2] == pytest.approx((2.0, 4.0)) and second[2] == pytest.approx(2.0)  # quadratic
    assert third is None  # nothing measured to compare


@pytest.mark.parametrize(("label_refresh", "expected"), [(None, 900.0), (120.0, 120.0)])
def test_the_generated_configuration_loads_with_the_label_refresh_asked_for(
    tmp_path: Path, label_refresh: float | None, expected: float
) -> None:
    devices = [device_id(i) for i in range(2)]
    ids = [asset_id for _, asset_id, *_ in CENTRE] + devices
    shard = Shard(0, "127.0.0.1", {a: ("127.0.0.1", 20000 + i) for i, a in enumerate(ids)}, 0.0)
    path = tmp_path / "monitor.yaml"
    path.write_text(monitor_yaml([shard], 60.0, tmp_path / "var", label_refresh), "utf-8")
    config = load_config(path)
    refreshes = [
        SnmpParams.model_validate(probe.params).label_refresh
        for asset in config.assets
        for probe in asset.probes
        if probe.module == "snmp"
    ]
    # Per device a base station (trunked_bs, if_mib) and its UPS (ups_mib), and the centre's.
    assert len(refreshes) == 3 * len(devices) + sum(len(profiles) for *_, profiles in CENTRE)
    assert set(refreshes) == {expected}

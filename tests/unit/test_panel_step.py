"""The step Grafana asks Prometheus for, computed as Grafana 10/11 does (monitor.dashboards.panel_step),
checked against the numbers a Grafana shows for the same panel settings."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from monitor.dashboards.panel_step import align, duration_ms, max_data_points_for, panel_step

HOUR = 3_600_000
DAY = 24 * HOUR


@pytest.mark.parametrize(
    ("range_ms", "step"),
    [(6 * HOUR, 10 * 60_000), (7 * DAY, 4 * HOUR), (30 * DAY, 12 * HOUR)],
    ids=["6h", "7d", "30d"],
)
def test_grafanalibs_old_defaults_step_far_past_the_scrape_interval(
    range_ms: int, step: int
) -> None:
    # maxDataPoints 100 and intervalFactor 2, as every panel had: the numbers.
    got = panel_step(range_ms, max_data_points=100, interval_factor=2)
    assert got.step_ms == step


def test_a_state_timeline_reads_every_scrape_over_six_hours() -> None:
    got = panel_step(6 * HOUR, max_data_points=11_000, panel_interval="15s")
    assert got.step_ms == 15_000
    assert got.interval_ms == 15_000
    # Longer ranges coarsen only as far as Prometheus's 11,000 points force them.
    assert panel_step(7 * DAY, max_data_points=11_000, panel_interval="15s").step_ms == 60_000


def test_the_panel_interval_takes_precedence_over_the_datasources() -> None:
    got = panel_step(HOUR, max_data_points=11_000, panel_interval="1m", datasource_interval="5s")
    assert got.step_ms == 60_000
    assert panel_step(HOUR, max_data_points=11_000, datasource_interval="5s").step_ms == 5_000


def test_a_target_interval_is_the_backends_minimum() -> None:
    got = panel_step(HOUR, max_data_points=11_000, target_interval="30s")
    assert got.step_ms == 30_000
    assert got.interval_ms == 15_000  # $__interval is still the browser's


def test_without_max_data_points_the_panel_width_decides() -> None:
    assert panel_step(6 * HOUR, max_data_points=None, width_px=900).step_ms == 20_000
    assert panel_step(6 * HOUR, max_data_points=None, width_px=1_800).step_ms == 15_000


@pytest.mark.parametrize(
    ("range_", "step", "points"), [("7d", "1h", 169), ("30d", "1d", 31), ("6h", "15s", 1_441)]
)
def test_max_data_points_for_pins_the_step(range_: str, step: str, points: int) -> None:
    assert max_data_points_for(duration_ms(range_), step) == points
    got = panel_step(duration_ms(range_), max_data_points=points, panel_interval=step)
    assert got.step_ms == duration_ms(step)


def test_a_day_over_thirty_days_rounds_down_to_twelve_hours_without_the_extra_point() -> None:
    # 30 days over 30 points is exactly a day, which the backend's ladder turns into 12 h.
    assert panel_step(30 * DAY, max_data_points=30, panel_interval="1d").step_ms == 12 * HOUR


def test_align_counts_steps_from_local_midnight() -> None:
    shanghai = timezone(timedelta(hours=8))
    t = datetime(2026, 3, 5, 14, 37, 12, tzinfo=shanghai)
    t_ms = int(t.timestamp() * 1000)
    day = align(t_ms, DAY, 8 * 3600)
    assert datetime.fromtimestamp(day / 1000, shanghai) == datetime(2026, 3, 5, tzinfo=shanghai)
    assert align(t_ms, 15_000) % 15_000 == 0
    assert 0 <= t_ms - align(t_ms, 15_000) < 15_000


@pytest.mark.parametrize("text", ["", "15", "1x", "s", "1.5h"])
def test_duration_ms_reads_grafana_durations_only(text: str) -> None:
    if text == "15":
        assert duration_ms(text) == 15_000
        return
    with pytest.raises(ValueError, match="not a Grafana duration"):
        duration_ms(text)


def test_a_range_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        panel_step(0, max_data_points=100)

"""The capacity report on synthetic histories: growth recovered, incident days kept out of the
plan, breach dates against the analytic crossing of the configured growth, recommendations
that just meet the target, the rolling window of counter readings, the metrics, the HTML, and
the Prometheus client's error handling against a fake API on loopback.

Synthetic traffic follows a single-peak daily profile (busy hour 10:00–11:00 local) and grows
by a constant ratio a week from the first hour, so the busy hour of day k (counted from the
start) carries exactly ``A0 · (1 + g) ** ((24k + 10) / 168)`` Erlangs.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from monitor.capacity import (
    DEFAULT_LINE_GOS,
    DEFAULT_RADIO_GOS,
    CapacityCollector,
    ChannelPlan,
    GroupSystem,
    HistoryError,
    HistoryQueryError,
    HistoryUnavailable,
    HourlyTraffic,
    MeasuredGroup,
    PlanningOptions,
    PrometheusHistory,
    SampleHistory,
    SiteTraffic,
    analyse,
    analyse_group,
    erlang_b,
    erlang_c,
    keep_current,
    measured_gos,
    render_html,
    write_textfile,
)
from monitor.cli.capacity import parse_duration
from monitor.core.clock import ManualClock
from monitor.inventory import Asset, Job
from monitor.results import Result
from probes.base import Family, ProbeResult, Sample, Target

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2016, 7, 4, tzinfo=SHANGHAI)  # a Monday
PEAK_HOUR = 10
#: Busy hour 10:00 at 1.0; every other hour at most 0.7, so the daily busy hour is always 10:00.
PROFILE = (
    [0.3] * 7 + [0.5, 0.6, 0.7, 1.0, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.5] + [0.4] * 3
)
assert len(PROFILE) == 24 and max(PROFILE[:PEAK_HOUR] + PROFILE[PEAK_HOUR + 1 :]) <= 0.7


def offered(a0: float, growth: float, day: int, hour: int = PEAK_HOUR) -> float:
    """The configured offered traffic at ``hour`` of day ``day`` (from START)."""
    return float(a0 * PROFILE[hour] * (1.0 + growth) ** ((24 * day + hour) / 168))


def synthetic(
    name: str,
    *,
    erlangs: float,
    growth: float = 0.0,
    units: int = 2,
    days: int = 84,
    system: GroupSystem = "radio",
    surges: Mapping[date, float] | None = None,
    noise: float = 0.0,
    seed: int = 1,
    hold_s: float = 20.0,
) -> MeasuredGroup:
    """Hourly traffic with the calls, queued / blocked calls and waits that Erlang C (radio) or
    Erlang B (lines) give for it, optionally with log-normal noise on each hour."""
    rng = random.Random(seed)
    if system == "radio":
        plan, gos = ChannelPlan.tetra(units), DEFAULT_RADIO_GOS
    else:
        plan, gos = ChannelPlan.e1(units), DEFAULT_LINE_GOS
    n = plan.traffic_channels
    hours = []
    waits = {}
    for h in range(days * 24):
        start = START + timedelta(hours=h)
        a = offered(erlangs, growth, h // 24, start.hour)
        a *= (surges or {}).get(start.date(), 1.0)
        if noise:
            a *= math.exp(rng.gauss(0.0, noise))
        attempts = round(a * 3600 / hold_s)
        if system == "radio":
            c = erlang_c(a, n)
            queued = round(attempts * c)
            hours.append(HourlyTraffic(start, min(a, n), attempts, queued, 0))
            waits[start] = queued * hold_s / (n - a) if a < n else queued * 600.0
        else:
            b = erlang_b(a, n)
            hours.append(HourlyTraffic(start, a * (1 - b), attempts, 0, round(attempts * b)))
    traffic = SiteTraffic(name, plan, gos, tuple(hours))
    return MeasuredGroup(system, name, (f"bs-{name}",), name.title(), traffic, waits)


def analytic_breach(a0: float, growth: float, capacity: float) -> date:
    """The first day whose busy hour reaches ``capacity``: solve a0·(1+g)^((24k+10)/168) = cap."""
    k = math.ceil((168 * math.log(capacity / a0) / math.log1p(growth) - PEAK_HOUR) / 24)
    return START.date() + timedelta(days=max(0, k))


# --- the analysis ---------------------------------------------------------------------------


def test_growth_rate_is_recovered_exactly_without_noise() -> None:
    report = analyse_group(synthetic("gaoxin", erlangs=2.0, growth=0.04))
    assert report.forecast is not None
    assert report.forecast.trend.growth_per_week == pytest.approx(0.04, rel=1e-9)
    assert report.busy_day_factor == pytest.approx(1.0, abs=1e-3)
    assert report.days[0].start.hour == PEAK_HOUR


def test_growth_rate_is_recovered_within_its_standard_error_with_noise() -> None:
    sigma, days = 0.06, 84
    for seed in (1, 2, 3):
        group = synthetic("gaoxin", erlangs=2.0, growth=0.04, noise=sigma, days=days, seed=seed)
        report = analyse_group(group)
        assert report.forecast is not None
        # Slope of a least-squares line through N daily points: sd = σ·sqrt(12 / N³) per day;
        # Theil–Sen is ~91 % efficient (×1.05). Four standard errors, in growth per week.
        sd_week = 7 * 1.05 * sigma * math.sqrt(12 / days**3)
        measured = math.log1p(report.forecast.trend.growth_per_week)
        assert abs(measured - math.log1p(0.04)) <= 4 * sd_week, (seed, measured)


def test_breach_date_is_the_analytic_crossing_within_a_day() -> None:
    for a0, growth, units in ((2.0, 0.04, 2), (5.0, 0.03, 3), (0.5, 0.08, 1)):
        group = synthetic("s", erlangs=a0, growth=growth, units=units, days=56)
        report = analyse_group(group)
        capacity = DEFAULT_RADIO_GOS.traffic_capacity(ChannelPlan.tetra(units).traffic_channels)
        assert report.forecast is not None and report.forecast.breach is not None
        expected = analytic_breach(a0, growth, capacity)
        assert abs((report.forecast.breach - expected).days) <= 1, (a0, expected)
        # Noise-free: the trend fits exactly and the stated uncertainty is nil.
        assert report.breach_sd_days == pytest.approx(0.0, abs=0.05)


def test_a_flat_site_never_breaches_and_needs_nothing() -> None:
    report = analyse_group(synthetic("xixiangtang", erlangs=2.0, growth=0.0))
    assert report.forecast is not None
    assert report.forecast.breach is None
    assert report.units_to_add == 0
    assert not report.needs_expansion


def test_incident_day_is_flagged_shown_apart_and_kept_out_of_the_plan() -> None:
    surge_day = START.date() + timedelta(days=30)  # a Wednesday
    plain = analyse_group(synthetic("qingxiu", erlangs=2.0, growth=0.04))
    surged = analyse_group(synthetic("qingxiu", erlangs=2.0, growth=0.04, surges={surge_day: 3.0}))
    assert [d.day for d in surged.incidents] == [surge_day]
    week = next(p for p in surged.periods if p.start <= surge_day <= p.end)
    assert [d.day for d in week.incidents] == [surge_day]
    assert surge_day not in {d.day for d in week.worst}
    assert surged.forecast is not None and plain.forecast is not None
    assert surged.forecast.trend.slope == pytest.approx(plain.forecast.trend.slope, rel=1e-9)
    assert surged.forecast.breach == plain.forecast.breach
    assert surged.units_to_add == plain.units_to_add
    # Without the flag the surge would be among the week's worst days and lift its load.
    blind = analyse_group(
        synthetic("qingxiu", erlangs=2.0, growth=0.04, surges={surge_day: 3.0}),
        PlanningOptions(detect_incidents=False),
    )
    blind_week = next(p for p in blind.periods if p.start == week.start)
    assert blind_week.erlangs is not None and week.erlangs is not None
    assert blind_week.erlangs > 1.2 * week.erlangs


def test_incident_log_days_are_excluded_even_when_unremarkable() -> None:
    quiet_day = START.date() + timedelta(days=12)
    report = analyse_group(
        synthetic("liangqing", erlangs=1.0, growth=0.02),
        PlanningOptions(incident_days=frozenset({quiet_day})),
    )
    assert [d.day for d in report.incidents] == [quiet_day]


def test_noise_alone_flags_no_incident_day() -> None:
    for seed in range(1, 6):
        report = analyse_group(synthetic("x", erlangs=3.0, growth=0.02, noise=0.06, seed=seed))
        assert report.incidents == (), seed


def test_recommendation_meets_the_target_and_one_carrier_fewer_does_not() -> None:
    options = PlanningOptions(horizon=timedelta(weeks=26))
    for a0, growth, units in ((2.0, 0.04, 2), (5.0, 0.03, 3), (0.8, 0.05, 1)):
        report = analyse_group(synthetic("s", erlangs=a0, growth=growth, units=units), options)
        r, f = report.recommendation, report.forecast
        assert r is not None and f is not None
        assert r.units_to_add >= 1
        assert r.design_erlangs >= f.horizon_erlangs
        gos = DEFAULT_RADIO_GOS
        assert gos.of(r.design_erlangs, r.proposed.traffic_channels) <= gos.target
        fewer = r.proposed.with_units(r.proposed.units - 1)
        assert gos.of(r.design_erlangs, fewer.traffic_channels) > gos.target
        # The horizon's traffic is the configured growth's, times the busy-day factor (1 here).
        horizon_day = (f.horizon - START.date()).days
        assert f.horizon_erlangs == pytest.approx(offered(a0, growth, horizon_day), rel=0.01)


def test_trunk_group_gets_e1_spans_for_p01_and_one_fewer_does_not() -> None:
    report = analyse_group(
        synthetic("e1-gw-110", erlangs=16.0, growth=0.03, units=1, system="line", hold_s=95.0)
    )
    r = report.recommendation
    assert r is not None and report.system == "line"
    assert r.proposed.system == "e1" and r.units_to_add >= 1
    assert erlang_b(r.design_erlangs, r.proposed.traffic_channels) <= 0.01
    assert erlang_b(r.design_erlangs, r.proposed.traffic_channels - 30) > 0.01


def test_infeasible_when_beyond_the_most_carriers_a_site_takes() -> None:
    report = analyse_group(
        synthetic("s", erlangs=5.0, growth=0.05, units=3), PlanningOptions(max_carriers=4)
    )
    assert report.recommendation is not None
    assert report.recommendation.proposed.units > 4
    assert not report.recommendation.feasible


def test_too_short_a_history_is_reported_not_raised() -> None:
    group = synthetic("new", erlangs=1.0, days=1)
    report = analyse_group(group)
    assert report.forecast is None and report.recommendation is None
    assert report.problem is not None and "trend" in report.problem


def test_measured_gos_estimates_wait_over_t_from_the_counters() -> None:
    hold, n, a = 20.0, 7, 3.5
    start = START
    attempts = 1000
    queued = round(attempts * erlang_c(a, n))
    wait = queued * hold / (n - a)  # Erlang C: the mean wait of a queued call is T / (N - A)
    hour = HourlyTraffic(start, a, attempts, queued, 0)
    group = MeasuredGroup(
        "radio",
        "x",
        ("bs-x",),
        "x",
        SiteTraffic("x", ChannelPlan.tetra(2), DEFAULT_RADIO_GOS, (hour,)),
        {start: wait},
    )
    m = measured_gos(group, [hour])
    assert m is not None
    expected = queued / attempts * math.exp(-5.0 * (n - a) / hold)
    assert m.value == pytest.approx(expected, rel=1e-9)
    assert m.value == pytest.approx(DEFAULT_RADIO_GOS.of(a, n), rel=0.01)
    # Calls that never got a channel count as failures whatever the wait.
    given_up = replace(hour, blocked=20)
    m2 = measured_gos(group, [given_up])
    assert m2 is not None
    late = (queued - 20) * math.exp(-5.0 / (wait / (queued - 20)))
    assert m2.value == pytest.approx((late + 20) / attempts, rel=1e-9)


# --- the rolling window ----------------------------------------------------------------------

BS = {
    name: Family(name, "counter", "")
    for name in (
        "trunkwatch_bs_channel_seconds_total",
        "trunkwatch_bs_calls_total",
        "trunkwatch_bs_calls_queued_total",
        "trunkwatch_bs_calls_blocked_total",
        "trunkwatch_bs_queue_wait_seconds_total",
    )
}
CARRIERS = Family("trunkwatch_bs_carriers", "gauge", "")
TCH = Family("trunkwatch_bs_traffic_channels", "gauge", "")
E1 = Family("trunkwatch_e1_channels", "gauge", "")
TRUNK = {
    name: Family(name, "counter", "")
    for name in (
        "trunkwatch_trunk_channel_seconds_total",
        "trunkwatch_trunk_calls_total",
        "trunkwatch_trunk_calls_blocked_total",
    )
}


def bs_samples(seconds: float, calls: float, carriers: int = 2) -> list[Sample]:
    return [
        Sample(BS["trunkwatch_bs_channel_seconds_total"], seconds),
        Sample(BS["trunkwatch_bs_calls_total"], calls),
        Sample(BS["trunkwatch_bs_calls_queued_total"], calls / 10),
        Sample(BS["trunkwatch_bs_calls_blocked_total"], 0.0),
        Sample(BS["trunkwatch_bs_queue_wait_seconds_total"], calls / 10 * 3),
        Sample(CARRIERS, carriers),
        Sample(TCH, 4 * carriers - 1),
    ]


def test_window_turns_readings_between_boundaries_into_exact_hours() -> None:
    history = SampleHistory(timezone="Asia/Shanghai")
    t0 = START.timestamp() + 17.0  # readings never fall on a boundary
    rate = 2.5  # Erlangs: busy channel-seconds per second
    for i in range(3 * 60 + 1):
        t = t0 + 60.0 * i
        history.observe_samples(
            site="xingning",
            asset="bs-xingning",
            t=t,
            samples=bs_samples(rate * (t - t0), (t - t0) / 8),
        )
    [group] = history.groups()
    assert group.system == "radio" and group.site == "xingning"
    assert group.traffic.plan == ChannelPlan.tetra(2)
    # Hours 01:00 and 02:00 are whole; 00:00 started before the first reading.
    assert [h.start.hour for h in group.traffic.hours] == [1, 2]
    for h in group.traffic.hours:
        assert h.carried_erlangs == pytest.approx(rate, rel=1e-9)
        assert h.attempts == 450
        assert h.queued == 45
        assert group.queue_wait_s[h.start] == pytest.approx(135.0)


def test_window_unwraps_a_counter_reset_like_increase() -> None:
    history = SampleHistory(timezone="Asia/Shanghai")
    t0 = START.timestamp()
    for i in range(0, 121):
        t = t0 + 60.0 * i
        # The device reboots half a minute before the reading at minute 90: its counters
        # restart from zero there.
        since = 60.0 * i if i < 90 else 60.0 * (i - 90) + 30.0
        history.observe_samples(site="s", asset="bs-s", t=t, samples=bs_samples(3.0 * since, 0))
    [group] = history.groups()
    first, second = group.traffic.hours
    assert first.carried_erlangs == pytest.approx(3.0)
    # As with increase(), only what was counted before the reboot but after the last reading
    # (half a minute of it) is lost.
    assert second.carried_erlangs == pytest.approx(3.0 * (3600 - 30) / 3600)


def test_window_takes_readings_on_boundaries_whatever_the_gap_and_skips_long_gaps() -> None:
    history = SampleHistory(timezone="Asia/Shanghai", max_gap_s=600)
    t0 = START.timestamp()
    # On boundaries 00:00, 01:00, 02:00 (an hour apart), then off-boundary with a gap.
    for t, seconds in ((t0, 0.0), (t0 + 3600, 3600.0), (t0 + 7200, 9000.0), (t0 + 9000, 9000.0)):
        history.observe_samples(site="s", asset="bs-s", t=t, samples=bs_samples(seconds, 0.0))
    history.observe_samples(site="s", asset="bs-s", t=t0 + 11100, samples=bs_samples(9000.0, 0.0))
    [group] = history.groups()
    assert [(h.start.hour, h.carried_erlangs) for h in group.traffic.hours] == [(0, 1.0), (1, 1.5)]


def test_window_keeps_only_the_retention() -> None:
    history = SampleHistory(timezone="Asia/Shanghai", retention=timedelta(days=2))
    t0 = START.timestamp()
    for i in range(24 * 5 + 1):
        t = t0 + 3600.0 * i
        history.observe_samples(site="s", asset="bs-s", t=t, samples=bs_samples(t - t0, 0.0))
    [group] = history.groups()
    assert len(group.traffic.hours) == 48


def test_window_sums_a_sites_base_stations_and_reads_trunk_groups() -> None:
    history = SampleHistory(timezone="Asia/Shanghai", titles={"hq": "市应急联动中心"})
    t0 = START.timestamp()
    for i in range(3):
        t = t0 + 3600.0 * i
        for asset in ("bs-a", "bs-b"):
            history.observe_samples(site="hq", asset=asset, t=t, samples=bs_samples(t - t0, 0))
        history.observe_samples(
            site="hq",
            asset="e1-gw-110",
            t=t,
            title="110 中继网关",
            samples=[
                Sample(TRUNK["trunkwatch_trunk_channel_seconds_total"], 10.0 * (t - t0)),
                Sample(TRUNK["trunkwatch_trunk_calls_total"], (t - t0) / 10),
                Sample(TRUNK["trunkwatch_trunk_calls_blocked_total"], 1.0 * i),
                Sample(E1, 30, (("span", "1"),)),
                Sample(E1, 30, (("span", "2"),)),
            ],
        )
    radio, line = history.groups()
    assert radio.title == "市应急联动中心" and radio.assets == ("bs-a", "bs-b")
    assert radio.traffic.plan == ChannelPlan("tetra", 4, 4 * 4 - 14)
    assert [h.carried_erlangs for h in radio.traffic.hours] == [2.0, 2.0]
    assert line.system == "line" and line.name == "e1-gw-110" and line.title == "110 中继网关"
    assert line.traffic.plan == ChannelPlan.e1(2)
    assert [(h.carried_erlangs, h.attempts, h.blocked) for h in line.traffic.hours] == [
        (10.0, 360, 1),
        (10.0, 360, 1),
    ]


def test_window_is_a_result_store_listener_and_ignores_failures() -> None:
    history = SampleHistory(timezone="Asia/Shanghai")
    target = Target("bs-x", "127.0.0.1", 161)
    asset = Asset("bs-x", "xsite", "radio", "tetra_bs", "X 基站", target, None)

    class NoProbe:
        async def run(self, target: Target) -> ProbeResult:
            raise AssertionError("not run")

    job = Job(asset, "snmp:trunked_bs", "snmp", 15.0, 5.0, NoProbe())
    t0 = START.timestamp()
    for i in range(3):
        t = t0 + 3600.0 * i
        history.on_result(job.key, Result(job, True, 0.1, t, tuple(bs_samples(t - t0, 0.0))))
    history.on_result(job.key, Result(job, False, 0.1, t0 + 3600 * 3, (), reason="timeout"))
    history.on_result(job.key, None)
    [group] = history.groups()
    assert group.site == "xsite" and len(group.traffic.hours) == 2


# --- report, metrics and HTML ----------------------------------------------------------------


def city() -> list[MeasuredGroup]:
    surge_day = START.date() + timedelta(days=40)
    return [
        synthetic("xingning", erlangs=2.6, growth=0.04, units=2, noise=0.05, seed=4),
        synthetic("xixiangtang", erlangs=1.5, growth=0.0, units=2),  # no noise: flat for ever
        synthetic("longan", erlangs=1.8, units=2, noise=0.05, seed=6, surges={surge_day: 2.5}),
        synthetic("e1-gw-110", erlangs=10.2, units=2, system="line", hold_s=95.0, noise=0.05),
    ]


def test_report_names_the_groups_that_need_expansion() -> None:
    report = analyse(city(), PlanningOptions(horizon=timedelta(weeks=26)))
    assert [g.name for g in report.expansions] == ["xingning"]
    assert [g.name for g in report.radio] == ["longan", "xingning", "xixiangtang"]
    assert [g.name for g in report.lines] == ["e1-gw-110"]
    assert [(g.name, len(g.incidents)) for g in report.groups if g.incidents] == [("longan", 1)]


def test_collector_exports_the_report_per_group() -> None:
    report = analyse(city(), PlanningOptions(horizon=timedelta(weeks=26)))
    registry = CollectorRegistry()
    registry.register(CapacityCollector(report))
    by_name = {g.name: g for g in report.groups}

    def value(metric: str, group: str, **extra: str) -> float | None:
        g = by_name[group]
        labels = {
            "site": g.group.site,
            "asset": "+".join(g.group.assets),
            "system": g.system,
            "group": g.name,
            **extra,
        }
        return registry.get_sample_value(metric, labels)

    xingning = by_name["xingning"]
    assert xingning.forecast is not None and xingning.forecast.breach is not None
    assert value("trunkwatch_capacity_carriers_to_add", "xingning") == xingning.units_to_add
    assert value("trunkwatch_capacity_busy_hour_erlangs", "xingning") == pytest.approx(
        xingning.forecast.busy_hour_erlangs
    )
    assert value("trunkwatch_capacity_at_target_erlangs", "xingning") == pytest.approx(3.8155, 1e-3)
    breach = datetime.combine(xingning.forecast.breach, datetime.min.time(), SHANGHAI)
    assert value("trunkwatch_capacity_breach_timestamp_seconds", "xingning") == breach.timestamp()
    assert value("trunkwatch_capacity_breach_timestamp_seconds", "xixiangtang") == math.inf
    assert value("trunkwatch_capacity_predicted_gos_ratio", "xingning", at="horizon") == (
        pytest.approx(xingning.horizon_gos)
    )
    assert value("trunkwatch_capacity_e1_spans_to_add", "e1-gw-110") == 0
    assert value("trunkwatch_capacity_carriers_to_add", "e1-gw-110") is None
    assert value("trunkwatch_capacity_incident_days", "longan") == 1
    assert registry.get_sample_value("trunkwatch_capacity_report_timestamp_seconds") == (
        report.generated.timestamp()
    )


def test_collector_without_a_report_exports_nothing_but_registers() -> None:
    registry = CollectorRegistry(auto_describe=True)
    collector = CapacityCollector()
    registry.register(collector)
    assert registry.get_sample_value("trunkwatch_capacity_report_timestamp_seconds") is None


def test_textfile_holds_the_same_numbers(tmp_path: Path) -> None:
    report = analyse(city())
    path = tmp_path / "capacity.prom"
    write_textfile(report, path)
    values = {
        (s.name, s.labels.get("group")): s.value
        for family in text_string_to_metric_families(path.read_text())
        for s in family.samples
    }
    for g in report.groups:
        assert g.forecast is not None
        assert values[("trunkwatch_capacity_busy_hour_erlangs", g.name)] == pytest.approx(
            g.forecast.busy_hour_erlangs
        )


SVG = "{http://www.w3.org/2000/svg}"


def test_html_is_self_contained_with_every_group_and_valid_inline_svg() -> None:
    report = analyse(city())
    text = render_html(report, centre="南宁市城市应急联动中心")
    for g in report.groups:
        assert f'id="{g.system}-{g.name}"' in text
        assert g.group.title in text
    for term in ("话务量", "忙时", "呼损率", "扩容", "等待概率", "重大事件日", "容量规划"):
        assert term in text
    assert "<script" not in text.lower()
    assert re.findall(r"(?:src|href)=\"(?:https?:)?//", text) == []
    svgs = re.findall(r"<svg.*?</svg>", text, flags=re.S)
    assert len(svgs) == len(report.groups)
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG}svg"
        assert root.findall(f".//{SVG}circle"), "daily busy hours drawn"
        assert root.findall(f".//{SVG}polyline"), "hourly traffic and trend drawn"
    longan = next(s for s in svgs if "Longan" in s)
    assert len(ET.fromstring(longan).findall(f".//{SVG}rect")) >= 1, "incident day marked"


def test_html_escapes_names() -> None:
    group = synthetic("evil", erlangs=1.0)
    group = replace(group, title='<b>"站"</b>&')
    text = render_html(analyse([group]))
    assert '<b>"站"</b>' not in text
    assert "&lt;b&gt;&quot;站&quot;&lt;/b&gt;&amp;" in text


@pytest.mark.parametrize(
    ("text", "days"), [("26w", 182), ("180d", 180), ("6m", 180), ("1y", 365), ("1.5w", 10)]
)
def test_horizon_durations(text: str, days: int) -> None:
    assert parse_duration(text) == timedelta(days=days)


# --- keeping the metrics current -------------------------------------------------------------


class ScriptedHistory:
    """A history whose answers are given in advance: groups, or an error to raise."""

    def __init__(self, answers: list[list[MeasuredGroup] | HistoryError]) -> None:
        self.answers = answers
        self.calls: list[tuple[datetime, datetime]] = []

    async def fetch(
        self, start: datetime, end: datetime, *, progress: Any = None
    ) -> list[MeasuredGroup]:
        self.calls.append((start, end))
        answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        if isinstance(answer, HistoryError):
            raise answer
        return answer


async def test_keep_current_refreshes_hourly_and_keeps_the_last_report_on_failure() -> None:
    clock = ManualClock()
    groups = city()
    history = ScriptedHistory([groups, HistoryUnavailable("down"), groups[:1]])
    collector = CapacityCollector()
    task = asyncio.create_task(
        keep_current(history, collector, clock=clock, window=timedelta(weeks=4))
    )
    try:
        await clock.advance(0)
        assert collector.report is not None and len(collector.report.groups) == 4
        first = collector.report
        await clock.advance(3600)
        assert len(history.calls) == 2 and collector.report is first
        await clock.advance(3600)
        latest = collector.report
        assert len(history.calls) == 3 and latest is not None and len(latest.groups) == 1
        start, end = history.calls[0]
        assert end - start == timedelta(weeks=4)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


# --- Prometheus client against a fake API -----------------------------------------------------


@pytest.fixture
async def fake_prometheus() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """An HTTP server on loopback answering like Prometheus, scripted through ``state``."""
    state: dict[str, Any] = {"status": 200, "requests": []}

    async def query_range(request: web.Request) -> web.Response:
        state["requests"].append(dict(request.query))
        if state["status"] != 200:
            return web.json_response(
                {"status": "error", "errorType": "bad_data", "error": "parse error"},
                status=state["status"],
            )
        start, end = int(request.query["start"]), int(request.query["end"])
        query = request.query["query"]
        result = []
        if query.startswith("site:trunkwatch_bs_traffic_erlangs"):
            values = [[t, str((t - START.timestamp()) / 3600)] for t in range(start, end + 1, 3600)]
            result = [{"metric": {"site": "xingning"}, "values": values}]
        elif "trunkwatch_bs_calls_total" in query:
            values = [[t, "360"] for t in range(start, end + 1, 3600)]
            result = [{"metric": {"site": "xingning"}, "values": values}]
        return web.json_response(
            {"status": "success", "data": {"resultType": "matrix", "result": result}}
        )

    async def query(request: web.Request) -> web.Response:
        q = request.query["query"]
        result = []
        if "trunkwatch_bs_carriers" in q:
            result = [{"metric": {"site": "xingning", "asset": "bs-xingning"}, "value": [0, "3"]}]
        elif "trunkwatch_bs_traffic_channels" in q:
            result = [{"metric": {"site": "xingning", "asset": "bs-xingning"}, "value": [0, "11"]}]
        elif "trunkwatch_site_info" in q:
            result = [{"metric": {"site": "xingning", "name": "兴宁区基站"}, "value": [0, "1"]}]
        return web.json_response(
            {"status": "success", "data": {"resultType": "vector", "result": result}}
        )

    app = web.Application()
    app.router.add_get("/api/v1/query_range", query_range)
    app.router.add_get("/api/v1/query", query)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", state
    finally:
        await runner.cleanup()


async def test_prometheus_history_maps_each_evaluation_to_the_hour_before_it(
    fake_prometheus: tuple[str, dict[str, Any]],
) -> None:
    url, state = fake_prometheus
    seen: list[tuple[int, int]] = []
    history = PrometheusHistory(url, chunk=timedelta(days=1))
    groups = await history.fetch(
        START, START + timedelta(days=3), progress=lambda d, t, _: seen.append((d, t))
    )
    [group] = groups
    assert group.title == "兴宁区基站" and group.assets == ("bs-xingning",)
    assert group.traffic.plan == ChannelPlan.tetra(3)
    hours = group.traffic.hours
    assert len(hours) == 72
    assert hours[0].start == START and hours[-1].start == START + timedelta(hours=71)
    # The fake's value at T is (T - START) in hours: the hour starting at T - 1h.
    assert [h.carried_erlangs for h in hours[:3]] == [1.0, 2.0, 3.0]
    assert {h.attempts for h in hours} == {360}
    ranged = [r for r in state["requests"] if "step" in r]
    assert {r["step"] for r in ranged} == {"3600"}
    # 8 range queries × 3 one-day chunks, then 6 instant queries; progress counts them all.
    assert len(ranged) == 8 * 3
    assert seen[-1] == (30, 30) and len(seen) == 30


async def test_prometheus_rejection_is_a_query_error(
    fake_prometheus: tuple[str, dict[str, Any]],
) -> None:
    url, state = fake_prometheus
    state["status"] = 400
    with pytest.raises(HistoryQueryError, match="bad_data: parse error"):
        await PrometheusHistory(url).fetch(START, START + timedelta(days=1))


async def test_prometheus_down_is_unavailable(fake_prometheus: tuple[str, dict[str, Any]]) -> None:
    url, state = fake_prometheus
    state["status"] = 503
    with pytest.raises(HistoryUnavailable, match="HTTP 503"):
        await PrometheusHistory(url).fetch(START, START + timedelta(days=1))
    with pytest.raises(HistoryUnavailable):
        await PrometheusHistory("http://127.0.0.1:9", timeout=2).fetch(
            START, START + timedelta(days=1)
        )


# --- the command ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--prometheus", "http://127.0.0.1:9", "--target", "2"], "--target must be between"),
        (["--prometheus", "http://127.0.0.1:9", "--worst", "0"], "--worst must be >= 1"),
        (["--prometheus", "http://127.0.0.1:9", "--surge", "bs-a:2016-07-04"], "--surge applies"),
        (["--prometheus", "ftp://example"], "must be http"),
    ],
)
def test_report_command_rejects_bad_usage_with_one_line(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.cli import main

    code = main(["capacity", "report", "--out", str(tmp_path / "r.html"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert not (tmp_path / "r.html").exists()


def test_report_command_fails_cleanly_when_prometheus_is_unreachable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.cli import main

    out = tmp_path / "r.html"
    code = main(
        ["capacity", "report", "--prometheus", "http://127.0.0.1:9", "--out", str(out), "-q"]
    )
    assert code == 1
    assert "history unavailable" in capsys.readouterr().err
    assert not out.exists()


def test_erlang_command_is_still_there(capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.cli import main

    assert main(["capacity", "erlang", "--traffic", "10.2", "--target", "0.01"]) == 0
    assert re.search(r"^channels needed +18$", capsys.readouterr().out, flags=re.M)

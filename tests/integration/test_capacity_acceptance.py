"""Acceptance of the capacity report: a simulated fleet with growing traffic, read hour by hour
through the simulator's real SNMP agent for eight simulated weeks, must name exactly the sites
(and the trunk group) configured to overload within the horizon, with breach dates where the
configured growth puts them, and its recommendation, applied to the simulation, must bring
the measured grade of service back under target. Then: Prometheus' history (backfilled with
promtool) gives the same analysis as the monitor's own rolling window, and the report renders
in headless Chromium.

Why the breach-date tolerance is what it is. The configured offered busy-hour traffic of a site
is ``A0 · (1 + g) ** (t / week)``; it reaches the traffic the site's channels carry at the GoS
target on the *analytic* day. The report's date differs from it for three reasons, each
computed below rather than allowed for by a guessed slack:

1. The plan rests on the worst 5 of 7 days a week, which stand above the trend of all days by
   about ``k·σ`` in log terms, σ the relative scatter of one busy hour's carried traffic and
   ``k`` the expected mean of the top 5 of 7 standard normal order statistics (≈ 0.42): the
   report's trend reaches capacity ``k·σ / r`` days earlier, ``r`` the growth rate a day.
   σ is that of the time average of an M/M/∞ occupancy over an hour:
   ``σ² = 2·h / (A·3600)`` (h the mean holding time), well below saturation here.
2. A trunk group (a loss system) carries ``A·(1 − B)``; near the crossing B ≈ the 1 % target,
   so its measured trend crosses ``−ln(1 − 0.01) / r`` days later.
3. Statistical error of a line fitted to N daily points and read at the crossing: the fitted
   value there has standard deviation ``σ·√(1/N + (x_b − x̄)² / Sxx)`` (×1.05 for Theil–Sen's
   efficiency), i.e. that divided by ``r`` in days, plus the error of the busy-day factor (a
   median of 8 weekly means of 5 days).

The test asserts ``|report − (analytic − shift₁ + shift₂)| ≤ 4 sd + 1 day`` (one day for
rounding to whole days) and that this tolerance is tight enough to matter (under two weeks).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor.app.capacity_recording import Surge, record_simulation
from monitor.capacity import (
    DEFAULT_LINE_GOS,
    DEFAULT_RADIO_GOS,
    CapacityReport,
    ChannelPlan,
    GradeOfService,
    GroupReport,
    MeasuredGroup,
    PlanningOptions,
    PrometheusHistory,
    SampleHistory,
    analyse,
    erlang_b,
    erlang_c,
    render_html,
)
from monitor.core.clock import ManualClock
from monitor.simulator.fleet import Fleet
from probes.base import Family, Sample
from tests.helpers import free_tcp_port, http_get, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2016, 7, 4, tzinfo=SHANGHAI)  # a Monday
HISTORY_WEEKS = 8
HORIZON = timedelta(weeks=8)
PEAK_HOUR = 10
#: One busy hour (10:00) and every other hour at most 0.7 of it, so the daily busy hour is the
#: same hour every day and its statistics are those of one hour (point 1 of the docstring).
PROFILE = [0.3] * 7 + [0.5, 0.6, 0.7, 1.0, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.5]
PROFILE += [0.4] * 3
WORST = 5


@dataclass(frozen=True)
class Configured:
    """One simulated group as configured: units (carriers / spans), A0 and weekly growth."""

    asset: str
    system: str
    units: int
    erlangs: float
    growth: float
    hold_s: float

    @property
    def plan(self) -> ChannelPlan:
        return (
            ChannelPlan.tetra(self.units) if self.system == "radio" else ChannelPlan.e1(self.units)
        )

    @property
    def gos(self) -> GradeOfService:
        return DEFAULT_RADIO_GOS if self.system == "radio" else DEFAULT_LINE_GOS

    @property
    def capacity(self) -> float:
        return self.gos.traffic_capacity(self.plan.traffic_channels)

    def offered(self, day: date) -> float:
        """Configured offered traffic in the busy hour of ``day``."""
        hours = (day - START.date()).days * 24 + PEAK_HOUR
        factor: float = (1.0 + self.growth) ** (hours / 168)
        return self.erlangs * factor

    def analytic_breach(self) -> date | None:
        if self.growth <= 0:
            return None
        weeks = math.log(self.capacity / self.erlangs) / math.log1p(self.growth)
        days = math.ceil((weeks * 168 - PEAK_HOUR) / 24)
        return START.date() + timedelta(days=days)


#: Growth such that the overloaded groups cross their capacity around the end of the history
#: (where a trend is known best), and the horizon's traffic still fits the simulator's most of
#: 4 carriers a site once expanded.
CONFIGURED = [
    Configured("bs-gaoxin", "radio", 2, 2.32, 0.06, 20.0),  # 高新区: 6 %/week on 2 carriers
    Configured("bs-xinqu", "radio", 3, 4.4, 0.05, 20.0),  # 新区: 5 %/week on 3 carriers
    Configured("bs-laocheng", "radio", 2, 2.0, 0.0, 20.0),  # 老城区: flat, one surge day
    Configured("e1-gw-110", "line", 1, 13.9, 0.05, 95.0),  # 110: 5 %/week on one E1
]
SURGE_DAY = START.date() + timedelta(days=23)  # a Wednesday
COORDINATES = {
    "bs-gaoxin": (22.86, 108.29),
    "bs-xinqu": (22.90, 108.44),
    "bs-laocheng": (22.82, 108.37),
}


def fleet_config(groups: list[Configured], start: datetime) -> dict[str, Any]:
    sites, lines = [], []
    for c in groups:
        if c.system == "radio":
            lat, lon = COORDINATES[c.asset.removesuffix("-now")]
            sites.append(
                {
                    "id": c.asset,
                    "name": c.asset,
                    "lat": lat,
                    "lon": lon,
                    "carriers": c.units,
                    "busy_hour_erlangs": c.erlangs,
                    "growth_per_week": c.growth,
                    "mean_hold_s": c.hold_s,
                }
            )
        else:
            lines.append(
                {
                    "id": c.asset,
                    "name": c.asset,
                    "spans": c.units,
                    "busy_hour_erlangs": c.erlangs,
                    "growth_per_week": c.growth,
                    "mean_hold_s": c.hold_s,
                }
            )
    return {
        "seed": 2016,
        "start": start.timestamp(),
        "timezone": "Asia/Shanghai",
        "profile": PROFILE,
        # No queue time-out: a pure delay system, so Erlang C is the exact model.
        "defaults": {"queue_timeout_s": None},
        "sites": sites,
        "lines": lines,
    }


async def run_fleet(
    groups: list[Configured], start: datetime, hours: int, surges: list[Surge]
) -> list[MeasuredGroup]:
    source = ManualClock()
    fleet = Fleet(fleet_config(groups, start), source=source)
    history = SampleHistory(timezone="Asia/Shanghai")
    await record_simulation(fleet, source, history, hours=hours, surges=surges)
    return history.groups()


@pytest.fixture(scope="module")
def simulated() -> CapacityReport:
    """Eight simulated weeks of the fleet, analysed with an 8-week horizon."""
    started = time.monotonic()
    surge = Surge(
        "bs-laocheng",
        datetime.combine(SURGE_DAY, datetime.min.time(), SHANGHAI).timestamp(),
        hours=24,
        multiplier=2.5,
    )
    groups = asyncio.run(run_fleet(CONFIGURED, START, HISTORY_WEEKS * 7 * 24, [surge]))
    report = analyse(groups, PlanningOptions(horizon=HORIZON, worst=WORST), source="acceptance")
    print(f"\nsimulated {HISTORY_WEEKS} weeks in {time.monotonic() - started:.1f} s wall time")
    return report


def configured_to_overload(as_of: date) -> set[str]:
    """Groups whose configured traffic exceeds their capacity at target within the horizon."""
    return {c.asset for c in CONFIGURED if c.offered(as_of + HORIZON) > c.capacity}


def test_report_names_exactly_the_groups_configured_to_overload(
    simulated: CapacityReport,
) -> None:
    names = {g.name for g in simulated.groups}
    assert names == {c.asset for c in CONFIGURED}
    as_of = simulated.last_day
    assert as_of == START.date() + timedelta(weeks=HISTORY_WEEKS, days=-1)
    expected = configured_to_overload(as_of)
    assert expected == {"bs-gaoxin", "bs-xinqu", "e1-gw-110"}  # the scenario is what it says
    assert {g.name for g in simulated.expansions} == expected
    for g in simulated.groups:
        print(
            f"{g.name:12} add {g.units_to_add}  busy {g.forecast.busy_hour_erlangs:6.2f} E"
            if g.forecast
            else g.name
        )


def top_of_seven_mean(n: int = 7, top: int = WORST) -> float:
    """E[mean of the ``top`` largest of ``n`` standard normal draws], by integrating the order
    statistics' densities (Simpson's rule on [-8, 8])."""

    def phi(x: float) -> float:
        return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)

    def cdf(x: float) -> float:
        return 0.5 * (1 + math.erf(x / math.sqrt(2)))

    steps, lo, hi = 4000, -8.0, 8.0
    width = (hi - lo) / steps
    total = 0.0
    for i in range(n - top + 1, n + 1):  # the i-th smallest, for the `top` largest
        coef = math.factorial(n) / (math.factorial(i - 1) * math.factorial(n - i))
        acc = 0.0
        for s in range(steps + 1):
            x = lo + s * width
            w = 1 if s in (0, steps) else (4 if s % 2 else 2)
            acc += w * x * coef * cdf(x) ** (i - 1) * (1 - cdf(x)) ** (n - i) * phi(x)
        total += acc * width / 3
    return total / top


def expected_breach(c: Configured, g: GroupReport) -> tuple[float, float, float]:
    """(expected breach as days from START, tolerance in days, σ) for the report's method."""
    analytic = c.analytic_breach()
    assert analytic is not None
    rate = math.log1p(c.growth) / 7  # log growth a day
    # The scatter of the busy hours fitted: at the traffic of the middle of the history.
    middle = c.offered(START.date() + timedelta(weeks=HISTORY_WEEKS) / 2)
    sigma = math.sqrt(2 * c.hold_s / (middle * 3600))
    k = top_of_seven_mean()
    shift = -k * sigma / rate
    if c.system == "line":
        shift += -math.log1p(-c.gos.target) / rate
    days = [d for d in g.days if not d.incident]
    xs = [(d.day - START.date()).days for d in days]
    mean_x = sum(xs) / len(xs)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    x_b = (analytic - START.date()).days + shift
    weeks = HISTORY_WEEKS
    var = (1.05 * sigma) ** 2 * (1 / len(xs) + (x_b - mean_x) ** 2 / sxx)
    var += (1.2533 * sigma) ** 2 / WORST / weeks
    sd = math.sqrt(var) / rate
    return x_b, 4 * sd + 1, sigma


def test_breach_dates_agree_with_the_configured_growth(simulated: CapacityReport) -> None:
    by_name = {g.name: g for g in simulated.groups}
    for c in CONFIGURED:
        g = by_name[c.asset]
        assert g.forecast is not None
        if c.growth == 0:
            continue
        analytic = c.analytic_breach()
        assert analytic is not None and g.forecast.breach is not None
        expected, tolerance, sigma = expected_breach(c, g)
        got = (g.forecast.breach - START.date()).days
        growth = g.forecast.trend.growth_per_week
        print(
            f"{c.asset:12} growth {growth * 100:5.2f} %/wk (configured {c.growth * 100:g}), "
            f"breach {g.forecast.breach} (day {got}); analytic {analytic} "
            f"(day {(analytic - START.date()).days}), expected day {expected:.1f} ± "
            f"{tolerance:.1f}; σ {sigma:.3f}; report's own ± {2 * (g.breach_sd_days or 0):.1f} d"
        )
        assert tolerance < 14, "the tolerance would not tell a right date from a wrong one"
        assert abs(got - expected) <= tolerance, c.asset
        # The stated uncertainty is of the same size as the computed one.
        assert g.breach_sd_days is not None
        assert 0.5 < g.breach_sd_days / ((tolerance - 1) / 4) < 2.0


def test_surge_day_is_shown_apart_and_moves_no_plan(simulated: CapacityReport) -> None:
    by_name = {g.name: g for g in simulated.groups}
    laocheng = by_name["bs-laocheng"]
    assert [d.day for d in laocheng.incidents] == [SURGE_DAY]
    assert all(not by_name[n].incidents for n in by_name if n != "bs-laocheng")
    week = next(p for p in laocheng.periods if p.start <= SURGE_DAY <= p.end)
    assert SURGE_DAY not in {d.day for d in week.worst}
    assert laocheng.units_to_add == 0
    assert laocheng.forecast is not None
    assert abs(laocheng.forecast.trend.growth_per_week) < 0.01
    html = render_html(simulated)
    assert re.search(rf"<td class=\"name\">{SURGE_DAY}</td><td class=\"name\">bs-laocheng", html)


def test_recommendation_applied_brings_measured_gos_under_target(
    simulated: CapacityReport,
) -> None:
    """Rebuild the overloaded groups at the horizon's configured traffic, once with the carriers
    (spans) recommended and once as they are, and measure a simulated week."""
    by_name = {g.name: g for g in simulated.groups}
    horizon = simulated.last_day + HORIZON if simulated.last_day else None
    assert horizon is not None
    rebuilt: list[Configured] = []
    for c in CONFIGURED:
        g = by_name[c.asset]
        if not g.needs_expansion:
            continue
        assert g.recommendation is not None
        at_horizon = c.offered(horizon)
        proposed = g.recommendation.proposed.units
        rebuilt.append(Configured(c.asset, c.system, proposed, at_horizon, 0.0, c.hold_s))
        rebuilt.append(Configured(c.asset + "-now", c.system, c.units, at_horizon, 0.0, c.hold_s))
    start = datetime.combine(horizon, datetime.min.time(), SHANGHAI)
    groups = asyncio.run(run_fleet(rebuilt, start, 7 * 24, []))
    after = analyse(groups, PlanningOptions(horizon=HORIZON))
    measured = {g.name: g for g in after.groups}
    for c in rebuilt:
        g = measured[c.asset]
        assert g.measured is not None and g.measured.hours == 7
        predicted = c.gos.of(c.erlangs, c.plan.traffic_channels)
        print(
            f"{c.asset:16} {c.units} units at {c.erlangs:5.2f} E: measured GoS "
            f"{g.measured.value * 100:6.2f} % (predicted {predicted * 100:6.2f} %, "
            f"target {c.gos.target * 100:g} %, {g.measured.attempts} calls)"
        )
        if c.asset.endswith("-now"):
            assert g.measured.value > c.gos.target, "without expansion the target is missed"
        else:
            assert g.measured.value < c.gos.target, "with the recommendation it is met"


def test_report_renders_in_headless_chromium(simulated: CapacityReport, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("chromium is not installed: .ci/run installs it")
    page_path = tmp_path / "report.html"
    page_path.write_text(render_html(simulated, centre="验收 acceptance"), encoding="utf-8")
    shot = tmp_path / "report.png"
    errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri(), wait_until="load")
            page.screenshot(path=str(shot), full_page=True)
            boxes = page.eval_on_selector_all(
                "figure svg", "els => els.map(e => e.getBoundingClientRect().height)"
            )
            title = page.title()
        finally:
            browser.close()
    print(f"screenshot {shot} ({shot.stat().st_size} bytes)")
    assert errors == []
    assert requests == [page_path.as_uri()], "the page loads nothing else"
    assert len(boxes) == len(simulated.groups) and min(boxes) > 100
    assert "容量规划报告" in title
    assert shot.stat().st_size > 20_000


# --- Prometheus -----------------------------------------------------------------------------

STEP = 300  # a reading every five minutes, as a scrape every 5 min would store them
PROM_DAYS = 35


@dataclass(frozen=True)
class SyntheticAsset:
    site: str
    asset: str
    system: str
    units: int
    erlangs: float
    growth: float
    raw_carried: bool = True  # False: only the recording rule's series reaches Prometheus


SYNTHETIC = [
    SyntheticAsset("xingning", "bs-xingning", "radio", 3, 5.0, 0.04),
    SyntheticAsset("longan", "bs-longan", "radio", 2, 3.0, 0.03, raw_carried=False),
    SyntheticAsset("hq", "e1-gw-110", "line", 1, 14.0, 0.05),
]
BS_FAMILIES = {
    "channel_seconds": "trunkwatch_bs_channel_seconds",
    "calls": "trunkwatch_bs_calls",
    "queued": "trunkwatch_bs_calls_queued",
    "blocked": "trunkwatch_bs_calls_blocked",
    "queue_wait": "trunkwatch_bs_queue_wait_seconds",
}
TRUNK_FAMILIES = {
    "channel_seconds": "trunkwatch_trunk_channel_seconds",
    "calls": "trunkwatch_trunk_calls",
    "blocked": "trunkwatch_trunk_calls_blocked",
}


def synthetic_readings(a: SyntheticAsset) -> Iterator[tuple[int, dict[str, float]]]:
    """Counter readings every STEP seconds: hourly traffic along the profile and growth with a
    deterministic ±5 % wobble per hour, calls and queued / blocked calls from Erlang C / B."""
    totals = dict.fromkeys(BS_FAMILIES, 0.0)
    t0 = int(START.timestamp())
    hold = 20.0 if a.system == "radio" else 95.0
    channels = (
        ChannelPlan.tetra(a.units) if a.system == "radio" else ChannelPlan.e1(a.units)
    ).traffic_channels
    for i in range(PROM_DAYS * 86400 // STEP + 1):
        t = t0 + i * STEP
        yield t, {k: math.floor(v) if k != "channel_seconds" else v for k, v in totals.items()}
        hour = datetime.fromtimestamp(t, SHANGHAI).hour
        wobble = 1.0 + 0.05 * math.sin(1.7 * (t // 3600) + len(a.asset))
        erl = a.erlangs * PROFILE[hour] * (1 + a.growth) ** ((t - t0) / 604800) * wobble
        calls = erl * STEP / hold
        totals["channel_seconds"] += erl * STEP
        totals["calls"] += calls
        if a.system == "radio":
            queued = calls * erlang_c(erl, channels)
            totals["queued"] += queued
            totals["queue_wait"] += queued * hold / max(channels - erl, 0.5)
        else:
            totals["blocked"] += calls * erlang_b(erl, channels)


def openmetrics(tmp: Path) -> tuple[Path, SampleHistory]:
    """The readings as OpenMetrics text for promtool, and the same readings in a window."""
    history = SampleHistory(timezone="Asia/Shanghai")
    families: dict[str, tuple[str, list[str]]] = {}

    def add(family: str, kind: str, line: str) -> None:
        families.setdefault(family, (kind, []))[1].append(line)

    for a in SYNTHETIC:
        labels = (
            f'site="{a.site}",asset="{a.asset}",system="{a.system}",'
            f'kind="{"tetra_bs" if a.system == "radio" else "e1_gateway"}"'
        )
        names = BS_FAMILIES if a.system == "radio" else TRUNK_FAMILIES
        readings = list(synthetic_readings(a))
        for t, totals in readings:
            samples = [
                Sample(Family(f"{family}_total", "counter", ""), totals[key])
                for key, family in names.items()
            ]
            if a.system == "radio":
                samples += [
                    Sample(Family("trunkwatch_bs_carriers", "gauge", ""), a.units),
                    Sample(Family("trunkwatch_bs_traffic_channels", "gauge", ""), 4 * a.units - 1),
                ]
            else:
                for span in range(1, a.units + 1):
                    samples.append(
                        Sample(
                            Family("trunkwatch_e1_channels", "gauge", ""),
                            30,
                            (("span", str(span)),),
                        )
                    )
            history.observe_samples(site=a.site, asset=a.asset, t=t, samples=samples)
            for key, family in names.items():
                if key == "channel_seconds" and not a.raw_carried:
                    continue
                add(family, "counter", f"{family}_total{{{labels}}} {totals[key]!r} {t}")
            if a.system == "radio":
                add(
                    "trunkwatch_bs_carriers",
                    "gauge",
                    f"trunkwatch_bs_carriers{{{labels}}} {a.units} {t}",
                )
                add(
                    "trunkwatch_bs_traffic_channels",
                    "gauge",
                    f"trunkwatch_bs_traffic_channels{{{labels}}} {4 * a.units - 1} {t}",
                )
            else:
                for span in range(1, a.units + 1):
                    add(
                        "trunkwatch_e1_channels",
                        "gauge",
                        f'trunkwatch_e1_channels{{{labels},span="{span}"}} 30 {t}',
                    )
        if not a.raw_carried:
            # What the recording rule would have stored: the hour's increase over 3600 s.
            by_time = {t: totals["channel_seconds"] for t, totals in readings}
            rule = "site:trunkwatch_bs_traffic_erlangs:rate1h"
            for t in by_time:
                if (t - int(START.timestamp())) % 3600 == 0 and t - 3600 in by_time:
                    value = (by_time[t] - by_time[t - 3600]) / 3600
                    add(rule, "gauge", f'{rule}{{site="{a.site}"}} {value!r} {t}')
    add(
        "trunkwatch_site_info",
        "gauge",
        f'trunkwatch_site_info{{site="xingning",name="兴宁区基站"}} 1 {int(START.timestamp()) + PROM_DAYS * 86400}',
    )
    lines = []
    for family, (kind, family_lines) in families.items():
        lines.append(f"# TYPE {family} {kind}")
        lines += family_lines
    lines.append("# EOF")
    path = tmp / "history.om"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, history


@contextlib.contextmanager
def prometheus_with(data_dir: Path, tmp: Path) -> Iterator[str]:
    config = tmp / "prometheus.yml"
    config.write_text("global: {}\n")
    port = free_tcp_port()
    log = (tmp / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data_dir}",
            # Retention counts back from the newest sample: keep the 2016 history.
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_get(url + "/-/ready")[0] == 200, 30, "prometheus ready")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_prometheus_history_matches_the_rolling_window(tmp_path: Path) -> None:
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.fail("prometheus / promtool not installed: .ci/run installs them")
    om, window = openmetrics(tmp_path)
    data = tmp_path / "data"
    # Default 2-hour blocks would be 420 of them and take half a minute to write; long blocks
    # hold the same samples.
    command = ["promtool", "tsdb", "create-blocks-from", "openmetrics"]
    command += ["--max-block-duration=840h", "-q", str(om), str(data)]
    subprocess.run(command, check=True, capture_output=True)
    end = START + timedelta(days=PROM_DAYS)
    with prometheus_with(data, tmp_path) as url:
        progress: list[tuple[int, int, str]] = []
        fetched = asyncio.run(
            PrometheusHistory(url).fetch(START, end, progress=lambda *a: progress.append(a))
        )
    assert progress and progress[-1][0] == progress[-1][1]
    local = window.groups(START, end)
    assert [(g.system, g.name) for g in fetched] == [(g.system, g.name) for g in local]
    assert [g.name for g in fetched] == ["longan", "xingning", "e1-gw-110"]
    for remote, mine in zip(fetched, local, strict=True):
        assert remote.traffic.plan == mine.traffic.plan
        assert len(remote.traffic.hours) == len(mine.traffic.hours) == PROM_DAYS * 24
        for r, m in zip(remote.traffic.hours, mine.traffic.hours, strict=True):
            assert r.start == m.start
            assert r.carried_erlangs == pytest.approx(m.carried_erlangs, rel=1e-9)
            assert (r.attempts, r.queued, r.blocked) == (m.attempts, m.queued, m.blocked)
        for start, wait in mine.queue_wait_s.items():
            assert remote.queue_wait_s[start] == pytest.approx(wait, rel=1e-9)
    assert fetched[1].title == "兴宁区基站"
    with prometheus_with(data, tmp_path) as url:
        # The command against the same Prometheus: progress on stderr, the page, the gauges.
        page, metrics = tmp_path / "report.html", tmp_path / "capacity.prom"
        code, out, err = run_command(
            ["--prometheus", url, "--end", str(end.date() - timedelta(days=1))],
            ["--days", str(PROM_DAYS), "--out", str(page), "--metrics-out", str(metrics)],
        )
    assert code == 0, err
    assert "fetching history:" in err and "(100 %)" in err
    assert "expansion needed: longan +" in out
    assert all(f'id="radio-{a.site}"' in page.read_text() for a in SYNTHETIC[:2])
    assert 'group="e1-gw-110"' in metrics.read_text()
    options = PlanningOptions(horizon=timedelta(weeks=26))
    a, b = analyse(fetched, options), analyse(local, options)
    for x, y in zip(a.groups, b.groups, strict=True):
        assert x.forecast is not None and y.forecast is not None
        assert x.forecast.breach == y.forecast.breach
        assert x.forecast.busy_hour_erlangs == pytest.approx(y.forecast.busy_hour_erlangs, 1e-9)
        assert x.units_to_add == y.units_to_add
        assert x.measured is not None and y.measured is not None
        assert x.measured.value == pytest.approx(y.measured.value, rel=1e-9)
    assert {g.name for g in a.expansions} == {"xingning", "longan", "e1-gw-110"}


def run_command(*parts: list[str]) -> tuple[int, str, str]:
    """``trunkwatch capacity report …`` in this process: (exit status, stdout, stderr)."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from monitor.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["capacity", "report", *(arg for part in parts for arg in part)])
    return code, out.getvalue(), err.getvalue()


def test_report_command_from_simulation(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        """
centre: {name: 验收中心, timezone: Asia/Shanghai}
sites:
  - {id: gaoxin, name: 高新区基站, name_en: Gaoxin}
assets:
  - {id: bs-gaoxin, site: gaoxin, system: radio, kind: tetra_bs, address: 127.0.0.1:1}
simulator:
  seed: 11
  start: "2016-07-04T00:00:00+08:00"
  defaults: {queue_timeout_s: null}
  sites:
    - {id: bs-gaoxin, name: 高新区, lat: 22.86, lon: 108.29, carriers: 1,
       busy_hour_erlangs: 1.2, growth_per_week: 0.05}
  lines:
    - {id: e1-gw-110, name: 110 中继网关, spans: 1, busy_hour_erlangs: 8.0, mean_hold_s: 95}
""",
        encoding="utf-8",
    )
    page = tmp_path / "report.html"
    code, out, err = run_command(
        ["-c", str(config), "--from-simulation", "--weeks", "2", "--out", str(page)],
        ["--surge", "bs-gaoxin:2016-07-12:2"],
    )
    assert code == 0, err
    assert "simulating:" in err and "(100 %)" in err
    html = page.read_text(encoding="utf-8")
    # Assets are reported under their configured site, named from the configuration.
    assert 'id="radio-gaoxin"' in html and "高新区基站 Gaoxin" in html
    assert 'id="line-e1-gw-110"' in html and "验收中心" in html
    assert "expansion needed: gaoxin +" in out  # 1.2 E on one carrier's 3 TCH is over target
    # The surge day, listed apart among the major-incident days.
    assert '<td class="name">2016-07-12</td><td class="name">高新区基站 Gaoxin</td>' in html

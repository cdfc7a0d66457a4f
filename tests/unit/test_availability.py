"""The availability calculator against figures worked out by hand, to the second: periods, time
lines from raw samples, replicas, planned maintenance, gaps without data, the topology's root
asset, site and system rows, MTTR and MTBF, and the E1 lines' G.826 seconds."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.availability import (
    AssetInfo,
    AvailabilityReport,
    AvailabilityRow,
    Cause,
    E1Counts,
    MaintenanceWindow,
    Period,
    PeriodError,
    ProbeSeries,
    State,
    compute,
    month,
    quarter,
)
from monitor.availability.timeline import Span, compress, merge_runs, spans_of
from tests.unit import availability_month as m

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 1, tzinfo=TZ)
HOUR = Period("test", T0, T0 + timedelta(hours=1))


def t(seconds: float) -> float:
    """Seconds into the test hour, as a timestamp."""
    return T0.timestamp() + seconds


def series(
    asset: str,
    probe: str,
    values: list[tuple[float, float]],
    *,
    source: str = "",
    site: str = "",
    system: str = "",
) -> ProbeSeries:
    """A series of ``(seconds into the test hour, value)`` samples."""
    return ProbeSeries.from_samples(
        asset, probe, [(t(s), v) for s, v in values], source=source, site=site, system=system
    )


def every(
    step: float, until: float, value: float = 1.0, since: float = 0.0
) -> list[tuple[float, float]]:
    out = []
    s = since
    while s < until:
        out.append((s, value))
        s += step
    return out


def row(report: AvailabilityReport, level: str, ident: str) -> AvailabilityRow:
    return next(r for r in report.rows if r.level == level and r.id == ident)


# --- periods --------------------------------------------------------------------------------


def test_a_month_runs_between_local_midnights_of_the_centres_zone() -> None:
    november = month("2026-11", "Asia/Shanghai")
    assert november.start.isoformat() == "2026-11-01T00:00:00+08:00"
    assert november.end.isoformat() == "2026-12-01T00:00:00+08:00"
    assert november.seconds == 30 * 86_400
    # Summer time ends on 25 October 2026 in Berlin: that month has an hour more.
    assert month("2026-10", "Europe/Berlin").seconds == 31 * 86_400 + 3_600
    assert month("2026-12", "Asia/Shanghai").end.isoformat() == "2027-01-01T00:00:00+08:00"


def test_a_quarter_is_three_calendar_months() -> None:
    q4 = quarter("2026-Q4", "Asia/Shanghai")
    assert (q4.start.isoformat(), q4.end.isoformat()) == (
        "2026-10-01T00:00:00+08:00",
        "2027-01-01T00:00:00+08:00",
    )
    assert q4.seconds == 92 * 86_400 and q4.label == "2026-Q4"
    assert quarter("2026-q1", "Asia/Shanghai").end.isoformat() == "2026-04-01T00:00:00+08:00"


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-11", "2026-11-01", "november"])
def test_a_month_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(PeriodError, match="YYYY-MM"):
        month(text, "Asia/Shanghai")


@pytest.mark.parametrize("text", ["2026-Q5", "2026-Q0", "2026Q1", "2026-11"])
def test_a_quarter_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(PeriodError, match="YYYY-Qn"):
        quarter(text, "Asia/Shanghai")


def test_a_running_period_is_cut_at_the_moment_of_the_report() -> None:
    november = month("2026-11", "Asia/Shanghai")
    now = datetime(2026, 11, 10, 12, 0, tzinfo=TZ)
    cut = november.until(now)
    assert cut.partial and cut.end == now and cut.seconds == 9.5 * 86_400
    assert november.until(datetime(2027, 1, 1, tzinfo=TZ)) == november
    with pytest.raises(PeriodError, match="not begun"):
        november.until(datetime(2026, 10, 31, tzinfo=TZ))


# --- time lines -----------------------------------------------------------------------------


def test_a_sample_holds_until_the_next_one_but_never_past_the_staleness_limit() -> None:
    runs = compress([(0, 1), (30_000, 1), (60_000, 0), (90_000, 1), (1_000_000, 1)], 300_000)
    assert spans_of(runs, 0, 1_500_000, 300_000) == [
        Span(0, 60_000, State.UP),
        Span(60_000, 90_000, State.DOWN),
        Span(90_000, 390_000, State.UP),  # 90 s + 300 s, then nothing for 610 s
        Span(390_000, 1_000_000, State.UNKNOWN),
        Span(1_000_000, 1_300_000, State.UP),
        Span(1_300_000, 1_500_000, State.UNKNOWN),
    ]


def test_a_series_read_in_overlapping_chunks_in_any_order_is_the_same_series() -> None:
    samples = [(s * 1000, 0.0 if 100 <= s < 160 else 1.0) for s in range(0, 600, 15)]
    whole = compress(samples, 300_000)
    # Range selectors include both ends: the sample at each chunk's edge is read twice.
    chunks = [samples[0:10], samples[9:25], samples[24:]]
    assert merge_runs([compress(c, 300_000) for c in reversed(chunks)], 300_000) == whole
    assert len(whole) == 3


def test_time_without_data_is_unknown_and_never_counted_as_up() -> None:
    # Polls every 30 s, none from 600 s to 1,800 s: the last one (570 s) holds 300 s.
    samples = every(30, 600) + every(30, 3_600, since=1_800)
    report = compute(HOUR, [series("srv-1", "tcp", samples, site="hq", system="platform")])
    r = row(report, "asset", "srv-1")
    assert r.unknown_seconds == 1_800 - 870
    assert r.up_seconds == 3_600 - 930
    assert r.down_seconds == 0 and r.availability == 1.0
    assert r.outages == () and r.mttr_seconds is None and r.mtbf_seconds is None


def test_a_row_without_any_known_time_has_no_availability() -> None:
    assets = [AssetInfo("srv-2", "hq", "platform")]
    r = row(compute(HOUR, [], assets=assets), "asset", "srv-2")
    assert (r.unknown_seconds, r.up_seconds, r.availability) == (3_600, 0, None)


# --- assets: probes and replicas ------------------------------------------------------------


def test_an_asset_is_down_while_any_of_its_probes_fails() -> None:
    snmp = every(60, 3_600)
    http = [(s, 0.0 if 600 <= s < 900 else 1.0) for s, _ in every(60, 3_600, since=20)]
    report = compute(
        HOUR,
        [
            series("srv-1", "snmp", snmp, site="hq", system="platform"),
            series("srv-1", "http", http, site="hq", system="platform"),
        ],
    )
    r = row(report, "asset", "srv-1")
    # http fails at its polls 620 … 860 s and succeeds again at 920 s.
    assert r.down_seconds == 920 - 620 and len(r.outages) == 1
    # The host answered SNMP all along: its own fault.
    assert r.outages[0].cause == Cause("down", "srv-1")
    # Before the first http poll (20 s) only snmp has data: a probe without data does not count.
    assert r.unknown_seconds == 0 and r.up_seconds == 3_600 - 300


def test_an_asset_is_up_while_any_replica_sees_every_probe_up() -> None:
    # Replica a loses its path to the device from 600 s to 1,200 s; b keeps it. Both lose it
    # from 2,400 s to 2,700 s. a polls at 0, 60 …; b half a minute later.
    def polls(offset: int, *faults: tuple[int, int]) -> list[tuple[float, float]]:
        return [
            (s, 0.0 if any(a <= s < b for a, b in faults) else 1.0)
            for s, _ in every(60, 3_600, since=offset)
        ]

    report = compute(
        HOUR,
        [
            series("gw", "sip", polls(0, (600, 1_200), (2_400, 2_700)), source="a"),
            series("gw", "sip", polls(30, (2_400, 2_700)), source="b"),
        ],
        assets=[AssetInfo("gw", "hq", "line")],
    )
    r = row(report, "asset", "gw")
    # Down only while neither sees it up: a fails 2,400 … 2,640 (up at 2,700), b 2,430 …
    # 2,670 (up at 2,730): from 2,430 to 2,700.
    assert [(o.start, o.end) for o in r.outages] == [
        (round(t(2_430) * 1000), round(t(2_700) * 1000))
    ]
    assert r.down_seconds == 270 and r.up_seconds == 3_600 - 270


# --- maintenance ----------------------------------------------------------------------------


def test_planned_maintenance_is_left_out_and_cuts_an_outage_at_its_end() -> None:
    # Down from 600 s to 2,400 s; the window is 300 s to 1,800 s, at the site.
    samples = [(s, 0.0 if 600 <= s < 2_400 else 1.0) for s, _ in every(60, 3_600)]
    window = MaintenanceWindow(
        "site", "hq", HOUR.start + timedelta(seconds=300), HOUR.start + timedelta(seconds=1_800)
    )
    report = compute(
        HOUR,
        [series("srv-1", "tcp", samples, site="hq", system="platform")],
        maintenance=[window],
    )
    r = row(report, "asset", "srv-1")
    assert r.maintenance_seconds == 1_500
    assert r.down_seconds == 600 and len(r.outages) == 1  # 1,800 … 2,400 s
    assert r.up_seconds == 3_600 - 1_500 - 600
    assert r.availability == pytest.approx(1_500 / 2_100)
    assert row(report, "site", "hq").maintenance_seconds == 1_500


def test_a_window_on_one_asset_leaves_its_site_up_on_the_others() -> None:
    down = [(s, 0.0 if s < 1_200 else 1.0) for s, _ in every(60, 3_600)]
    window = MaintenanceWindow("asset", "bs-1", HOUR.start, HOUR.start + timedelta(seconds=1_200))
    report = compute(
        HOUR,
        [
            series("bs-1", "snmp", down, site="s1", system="radio"),
            series("ups-1", "snmp", every(60, 3_600), site="s1", system="power"),
        ],
        maintenance=[window],
    )
    site = row(report, "site", "s1")
    assert (site.up_seconds, site.down_seconds, site.maintenance_seconds) == (3_600, 0, 0)
    assert row(report, "asset", "bs-1").maintenance_seconds == 1_200
    assert row(report, "system", "radio").maintenance_seconds == 1_200


# --- the topology ---------------------------------------------------------------------------

CHAIN = [
    AssetInfo("rtr", "hq", "network"),
    AssetInfo("bs-a", "a", "radio", parent="rtr"),
    AssetInfo("bs-b", "b", "radio", parent="bs-a"),
]


def test_an_outage_behind_a_failed_asset_is_unreachable_and_rooted_at_the_top() -> None:
    # The router fails from 600 s to 1,200 s. bs-b, two hops behind, is polled first (at
    # 590 s it still answered; at 650 s it does not), 50 s before the router's own poll.
    def polls(offset: int, fault: tuple[int, int]) -> list[tuple[float, float]]:
        return [
            (s, 0.0 if fault[0] <= s < fault[1] else 1.0) for s, _ in every(60, 3_600, since=offset)
        ]

    report = compute(
        HOUR,
        [
            series("rtr", "snmp", polls(0, (610, 1_200))),
            series("bs-a", "snmp", polls(20, (610, 1_200))),
            series("bs-b", "snmp", polls(50, (600, 1_200))),
        ],
        assets=CHAIN,
    )
    causes = {a: row(report, "asset", a).outages[0].cause for a in ("rtr", "bs-a", "bs-b")}
    assert causes == {
        "rtr": Cause("down", "rtr"),
        "bs-a": Cause("unreachable", "rtr"),
        "bs-b": Cause("unreachable", "rtr"),
    }
    # The radio system's outage began with bs-b's, which the router caused.
    radio = row(report, "system", "radio").outages
    assert len(radio) == 1 and radio[0].cause == Cause("unreachable", "rtr")
    assert radio[0].assets == ("bs-a", "bs-b")


def test_a_child_that_fails_well_after_its_parent_answered_again_is_its_own_fault() -> None:
    rtr = [(s, 0.0 if 600 <= s < 900 else 1.0) for s, _ in every(60, 3_600)]
    bs = [(s, 0.0 if 1_800 <= s < 2_100 else 1.0) for s, _ in every(60, 3_600)]
    report = compute(
        HOUR,
        [series("rtr", "snmp", rtr), series("bs-a", "snmp", bs)],
        assets=CHAIN[:2],
    )
    assert row(report, "asset", "bs-a").outages[0].cause == Cause("down", "bs-a")


def test_a_child_failing_beyond_the_grace_after_its_parent_is_its_own_fault() -> None:
    # The parent has been down since 600 s; the child only from 1,500 s: not caused by it…
    rtr = [(s, 0.0 if 600 <= s < 3_000 else 1.0) for s, _ in every(60, 3_600)]
    bs = [(s, 0.0 if 1_500 <= s < 3_000 else 1.0) for s, _ in every(60, 3_600)]
    args = ([series("rtr", "snmp", rtr), series("bs-a", "snmp", bs)],)
    report = compute(HOUR, *args, assets=CHAIN[:2])
    assert row(report, "asset", "bs-a").outages[0].cause == Cause("down", "bs-a")
    # … unless the grace is longer than the 900 s between them.
    report = compute(HOUR, *args, assets=CHAIN[:2], grace=900)
    assert row(report, "asset", "bs-a").outages[0].cause == Cause("unreachable", "rtr")


def test_the_monitors_own_unreachable_verdict_counts_where_the_parent_is_not_monitored() -> None:
    fault = [(s, 0.0 if 600 <= s < 1_200 else 1.0) for s, _ in every(60, 3_600)]
    verdict = [(s, 1.0) for s, v in fault if v == 0]
    assets = [AssetInfo("ups-1", "s1", "power", parent="sw-1")]  # sw-1 sends nothing
    success = [series("ups-1", "snmp", fault)]
    report = compute(HOUR, success, assets=assets, unreachable=[series("ups-1", "snmp", verdict)])
    assert row(report, "asset", "ups-1").outages[0].cause == Cause("unreachable", "sw-1")
    report = compute(HOUR, success, assets=assets)
    assert row(report, "asset", "ups-1").outages[0].cause == Cause("down", "ups-1")


# --- sites and systems ----------------------------------------------------------------------


def test_a_site_is_down_while_any_asset_is_and_unknown_while_any_is_without_data() -> None:
    bs = [(s, 0.0 if 600 <= s < 900 else 1.0) for s, _ in every(60, 3_600)]
    ups = [(s, 0.0 if 800 <= s < 1_000 else 1.0) for s, _ in every(60, 1_800)]
    report = compute(
        HOUR,
        [
            series("bs-1", "snmp", bs, site="s1", system="radio"),
            series("ups-1", "snmp", ups, site="s1", system="power"),
        ],
    )
    site = row(report, "site", "s1")
    # Down 600 … 900 (bs) and 840 … 1,020 (ups, polled at 840 and 960, up at 1,020): one
    # interruption of 420 s. The ups sends nothing after 1,740 s (+300 s): unknown from 2,040.
    assert [o.duration for o in site.outages] == [420_000]
    assert site.outages[0].assets == ("bs-1", "ups-1")
    assert site.down_seconds == 420 and site.unknown_seconds == 3_600 - 2_040
    assert site.up_seconds == 3_600 - 420 - (3_600 - 2_040)
    assert site.assets == ("bs-1", "ups-1")


# --- the simulated month --------------------------------------------------------------------


@pytest.fixture(scope="module")
def november() -> AvailabilityReport:
    return compute(
        month("2026-11", "Asia/Shanghai"),
        m.success_series(),
        assets=m.ASSETS,
        maintenance=m.MAINTENANCE,
        unreachable=m.unreachable_series(),
        site_names={"xingning": "兴宁区基站"},
    )


def test_the_simulated_month_gives_the_hand_computed_figures_to_the_second(
    november: AvailabilityReport,
) -> None:
    expected = m.expected_rows()
    assert {(r.level, r.id) for r in november.rows} == set(expected)
    for (level, ident), (up, down, maintenance, unknown, outages) in expected.items():
        r = row(november, level, ident)
        assert (r.up_ms, r.down_ms, r.maintenance_ms, r.unknown_ms) == (
            up * 1000,
            down * 1000,
            maintenance * 1000,
            unknown * 1000,
        ), (level, ident)
        assert [o.duration for o in r.outages] == [d * 1000 for d in outages], (level, ident)
        assert r.availability == up / (m.PERIOD_S - maintenance - unknown)
        assert r.mttr_seconds == down / len(outages)
        assert r.mtbf_seconds == up / len(outages)
    # Two figures written out: bs-xingning 2,580,428 s up of 2,584,800 known, unplanned;
    # MTTR 4,372 / 3 s, MTBF 2,580,428 / 3 s.
    xingning = row(november, "asset", "bs-xingning")
    assert xingning.availability == pytest.approx(0.998308573, abs=1e-9)
    assert xingning.mttr_seconds == pytest.approx(1_457.333333, abs=1e-6)
    assert row(november, "asset", "core-rtr-1").mtbf_seconds == 2_591_400


def test_the_simulated_months_outages_name_their_root_asset(november: AvailabilityReport) -> None:
    def causes(level: str, ident: str) -> list[tuple[str, str | None]]:
        return [(o.cause.kind, o.cause.root) for o in row(november, level, ident).outages]

    assert causes("asset", "bs-xingning") == [
        ("down", "bs-xingning"),
        ("unreachable", "core-rtr-1"),
        ("down", "bs-xingning"),  # the part of the planned work that overran the window
    ]
    # bs-shanglin fell silent 39 s before bs-xingning on the 3rd (polled earlier in the minute).
    assert causes("asset", "bs-shanglin") == [
        ("unreachable", "bs-xingning"),
        ("unreachable", "core-rtr-1"),
        ("unreachable", "bs-xingning"),
    ]
    assert causes("asset", "ups-xingning") == [
        ("unreachable", "sw-xingning"),
        ("down", "ups-xingning"),
    ]
    assert causes("asset", "e1-gw-110") == [("unreachable", "core-rtr-1"), ("down", "e1-gw-110")]
    hq = row(november, "site", "hq").outages[0]
    assert (hq.cause, hq.assets) == (Cause("down", "core-rtr-1"), ("core-rtr-1", "e1-gw-110"))
    assert row(november, "site", "xingning").name == "兴宁区基站"
    assert [(r.id, o.start) for r, o in november.outages][:2] == [
        ("bs-shanglin", int(m.at(3, 10, 0, 43).timestamp()) * 1000),
        ("bs-xingning", int(m.at(3, 10, 1, 7).timestamp()) * 1000),
    ]


# --- E1 (G.826) ---------------------------------------------------------------------------

LINE = {
    "site": "hq",
    "asset": "e1-gw-110",
    "system": "line",
    "kind": "e1_gateway",
    "probe": "snmp:ds1_mib",
    "line": "1",
    "circuit": "e1-gw-110/E1-1",
}


def e1_chunks(
    replica: str, offset: int, *, elapsed: bool = True, chunk: int = 86_400
) -> list[list[tuple[dict[str, str], list[tuple[int, float]]]]]:
    """The month's readings of line 1 by one replica, in chunks of ``chunk`` seconds."""
    readings = list(m.e1_readings(offset))
    times = [r[0] for r in readings]
    labels = LINE | {"replica": replica}
    chunks = []
    for first in range(times[0], times[-1] + 1, chunk):
        # Both ends, as a range selector reads them.
        part = readings[bisect_left(times, first) : bisect_right(times, first + chunk)]
        found: list[tuple[dict[str, str], list[tuple[int, float]]]] = []
        if elapsed:
            name = "trunkwatch_ds1_interval_elapsed_seconds"
            found.append(
                (labels | {"__name__": name}, [(ts * 1000, float(e)) for ts, e, _ in part])
            )
        for counter in ("errored", "severely_errored", "unavailable"):
            name = f"trunkwatch_ds1_current_{counter}_seconds"
            values = [(ts * 1000, float(v[counter])) for ts, _, v in part]
            found.append((labels | {"__name__": name}, values))
        chunks.append(found)
    return chunks


def e1_totals(counts: E1Counts) -> dict[str, float]:
    start, end = (int(x.timestamp()) * 1000 for x in (m.START, m.END))
    (line,) = counts.lines(start, end)
    assert (line.asset, line.line, line.circuit) == ("e1-gw-110", "1", "e1-gw-110/E1-1")
    return {
        "errored": line.errored_seconds,
        "severely_errored": line.severely_errored_seconds,
        "unavailable": line.unavailable_seconds,
    }


def test_e1_seconds_are_the_sum_of_each_intervals_last_reading() -> None:
    counts = E1Counts()
    for chunk in reversed(e1_chunks("a", 19)):
        counts.add(chunk)
    assert e1_totals(counts) == m.E1_TOTALS
    start, end = (int(x.timestamp()) * 1000 for x in (m.START, m.END))
    (line,) = counts.lines(start, end)
    # 30 days of quarter hours, less the 24 of the six hours without data.
    assert line.intervals == 30 * 96 - 24
    assert line.errored_ratio == pytest.approx(527 / (line.observed_seconds - 310))


def test_e1_seconds_of_two_replicas_are_the_larger_not_the_sum() -> None:
    counts = E1Counts()
    for chunk in e1_chunks("a", 19) + e1_chunks("b", 49, chunk=3_600):
        counts.add(chunk)
    assert e1_totals(counts) == m.E1_TOTALS


def test_without_the_elapsed_gauge_a_new_interval_opening_higher_is_missed() -> None:
    counts = E1Counts()
    for chunk in e1_chunks("a", 19, elapsed=False):
        counts.add(chunk)
    # The interval of 08:15 on the 5th opens above the last one's 12 and is taken for it.
    assert e1_totals(counts)["errored"] == m.E1_TOTALS["errored"] - 12

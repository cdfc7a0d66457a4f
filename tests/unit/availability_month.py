"""A simulated November 2026 of raw probe samples with faults of known length, for the
availability tests: the same samples go to the calculator directly (unit tests) and to a real
Prometheus through ``promtool tsdb create-blocks-from openmetrics`` (integration test).

Every probe is polled once a minute at its own second (``offset``), as the scheduler spreads
them. A fault is physical time ``[a, b)``: a poll at ``t`` fails when ``a <= t < b``, so the
outage a probe shows runs from its first poll at or after ``a`` to its first poll at or after
``b``. The tests work the expected figures out by hand from that, to the second.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.availability import AssetInfo, E1Counts, E1Line, MaintenanceWindow, ProbeSeries

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 1, tzinfo=TZ)
END = datetime(2026, 12, 1, tzinfo=TZ)
PERIOD_S = 30 * 86_400
POLL_S = 60
#: Samples begin and end this long outside the month.
MARGIN_S = 1_200


def at(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, ss, tzinfo=TZ)


Window = tuple[datetime, datetime]


@dataclass(frozen=True)
class Probe:
    """One (asset, probe, replica) series and the faults it sees."""

    asset: str
    probe: str
    offset: int
    replica: str = ""
    fails: tuple[Window, ...] = ()
    #: Faults the monitor reported with reason="unreachable" (else "timeout").
    unreachable: tuple[Window, ...] = ()
    #: No sample at all.
    gaps: tuple[Window, ...] = ()

    def polls(self) -> Iterator[tuple[int, bool, str]]:
        """``(seconds, success, reason)`` of every poll, in time order."""

        def seconds(windows: tuple[Window, ...]) -> list[tuple[float, float]]:
            return [(a.timestamp(), b.timestamp()) for a, b in windows]

        gaps, fails, cut_off = seconds(self.gaps), seconds(self.fails), seconds(self.unreachable)
        for t in range(
            int(START.timestamp()) - MARGIN_S + self.offset, int(END.timestamp()) + MARGIN_S, POLL_S
        ):
            if any(a <= t < b for a, b in gaps):
                continue
            if any(a <= t < b for a, b in cut_off):
                yield t, False, "unreachable"
            elif any(a <= t < b for a, b in fails):
                yield t, False, "timeout"
            else:
                yield t, True, ""


ASSETS = (
    AssetInfo("core-rtr-1", "hq", "network", "核心路由器", None),
    AssetInfo("e1-gw-110", "hq", "line", "110 中继网关", "core-rtr-1"),
    AssetInfo("bs-xingning", "xingning", "radio", "兴宁基站", "core-rtr-1"),
    # Its parent is a switch the centre does not monitor.
    AssetInfo("ups-xingning", "xingning", "power", "兴宁 UPS", "sw-xingning"),
    AssetInfo("bs-shanglin", "shanglin", "radio", "上林基站", "bs-xingning"),
)
KINDS = {
    "core-rtr-1": "router",
    "e1-gw-110": "e1_gateway",
    "bs-xingning": "tetra_bs",
    "ups-xingning": "ups",
    "bs-shanglin": "tetra_bs",
}

# The faults, physical time.
CORE_DOWN = (at(10, 2, 0), at(10, 2, 10))  # the core router: everything behind it is cut off
XINGNING_FAULT = (at(3, 10, 0, 30), at(3, 10, 48))  # bs-xingning fails; bs-shanglin behind it
PLANNED_WORK = (at(15, 9, 0), at(15, 11, 0))  # maintenance window of site xingning
XINGNING_WORK = (at(15, 9, 30), at(15, 11, 15))  # bs-xingning off, overrunning the window
UPS_IN_WINDOW = (at(15, 10, 0), at(15, 10, 30))
UPS_CUT_OFF = (at(20, 3, 0), at(20, 3, 20))  # reported unreachable (the switch above it)
UPS_OWN = (at(22, 12, 0), at(22, 12, 5))
E1_NO_DATA = (at(20, 0, 0), at(20, 6, 0))  # no sample from either replica
E1_REPLICA_A_SIP = (at(25, 12, 0), at(25, 12, 30))  # only replica a sees it
E1_SPLIT = (at(27, 14, 0), at(27, 14, 3))  # a sees sip fail, b sees snmp fail

MAINTENANCE = (MaintenanceWindow("site", "xingning", *PLANNED_WORK, "battery replacement"),)


def _e1(probe: str, offset: int, replica: str, *faults: Window) -> Probe:
    return Probe("e1-gw-110", probe, offset, replica, (CORE_DOWN, *faults), gaps=(E1_NO_DATA,))


PROBES = (
    Probe("core-rtr-1", "snmp:if_mib", 0, fails=(CORE_DOWN,)),
    Probe("bs-xingning", "snmp:tetra_bs", 7, fails=(CORE_DOWN, XINGNING_FAULT, XINGNING_WORK)),
    Probe("bs-xingning", "icmp", 22, fails=(CORE_DOWN, XINGNING_FAULT, XINGNING_WORK)),
    Probe("bs-shanglin", "snmp:tetra_bs", 43, fails=(CORE_DOWN, XINGNING_FAULT, XINGNING_WORK)),
    Probe(
        "ups-xingning",
        "snmp:ups_mib",
        50,
        fails=(UPS_IN_WINDOW, UPS_OWN),
        unreachable=(UPS_CUT_OFF,),
    ),
    # The HA pair polls in anti-phase: replica b half a minute after replica a.
    _e1("snmp:ds1_mib", 19, "a"),
    _e1("sip", 24, "a", E1_REPLICA_A_SIP, E1_SPLIT),
    _e1("snmp:ds1_mib", 49, "b", E1_SPLIT),
    _e1("sip", 54, "b"),
)


def _labels(p: Probe) -> dict[str, str]:
    info = next(a for a in ASSETS if a.id == p.asset)
    labels = {
        "site": info.site,
        "asset": p.asset,
        "system": info.system,
        "kind": KINDS[p.asset],
        "probe": p.probe,
    }
    if p.replica:
        labels["replica"] = p.replica
    return labels


def success_series() -> list[ProbeSeries]:
    out = []
    for p in PROBES:
        info = next(a for a in ASSETS if a.id == p.asset)
        samples = [(float(t), 1.0 if ok else 0.0) for t, ok, _ in p.polls()]
        source = f"replica={p.replica}" if p.replica else ""
        out.append(
            ProbeSeries.from_samples(
                p.asset, p.probe, samples, source=source, site=info.site, system=info.system
            )
        )
    return out


def unreachable_series() -> list[ProbeSeries]:
    out = []
    for p in PROBES:
        samples = [(float(t), 1.0) for t, _, reason in p.polls() if reason == "unreachable"]
        if samples:
            out.append(ProbeSeries.from_samples(p.asset, p.probe, samples))
    return out


# --- the figures, by hand -------------------------------------------------------------------

Expected = dict[tuple[str, str], tuple[int, int, int, int, list[int]]]


def expected_rows() -> Expected:
    """(level, id) → (up, down, maintenance, unknown, outage durations) in seconds, worked
    out by hand from the faults above (polls once a minute at the probe's second; a fault
    [a, b) shows from the first poll at or after a to the first at or after b)."""
    # core-rtr-1 (polled at :00): 02:00:00 … 02:10:00 on the 10th.
    core = [600]
    # bs-xingning, snmp at :07 and icmp at :22; down while either fails.
    #   3rd, 10:00:30 … 10:48: 10:01:07 … 10:48:22 = 2,835 s (its own)
    #   10th, core down: 02:00:07 … 02:10:22 = 615 s (unreachable, root core-rtr-1)
    #   15th, 09:30 … 11:15, window 09:00 … 11:00: 11:00:00 … 11:15:22 = 922 s after it
    xingning = [2_835, 615, 922]
    # bs-shanglin (:43), behind bs-xingning: 10:00:43 … 10:48:43 = 2,880; 02:00:43 … 02:10:43 =
    # 600; 09:30:43 … 11:15:43 = 6,300 (its site had no window).
    shanglin = [2_880, 600, 6_300]
    # ups-xingning (:50): 20th 03:00:50 … 03:20:50 = 1,200 (reported unreachable); 22nd
    # 12:00:50 … 12:05:50 = 300; its fault of the 15th is inside its site's window.
    ups = [1_200, 300]
    # e1-gw-110: replica a polls snmp :19, sip :24; b snmp :49, sip :54. Down while neither
    # replica sees every probe up.
    #   10th, core down: a down 02:00:19 … 02:10:24, b 02:00:49 … 02:10:54 → 02:00:49 … 02:10:24
    #   25th: only a sees sip fail — up.
    #   27th 14:00 … 14:03: a's sip 14:00:24 … 14:03:24, b's snmp 14:00:49 … 14:03:49 → 155 s
    e1 = [575, 155]
    # No sample 00:00 … 06:00 on the 20th: b's sip (23:59:54) holds until 00:04:54; a's snmp
    # is back at 06:00:19.
    e1_unknown = 21_325
    window = 7_200

    def asset(
        outages: list[int], maintenance: int = 0, unknown: int = 0
    ) -> tuple[int, int, int, int, list[int]]:
        down = sum(outages)
        return (PERIOD_S - down - maintenance - unknown, down, maintenance, unknown, outages)

    return {
        ("asset", "core-rtr-1"): asset(core),
        ("asset", "bs-xingning"): asset(xingning, window),
        ("asset", "bs-shanglin"): asset(shanglin),
        ("asset", "ups-xingning"): asset(ups, window),
        ("asset", "e1-gw-110"): asset(e1, unknown=e1_unknown),
        # hq: core 02:00:00 … 02:10:00 and e1 02:00:49 … 02:10:24 are one interruption of 624 s.
        ("site", "hq"): asset([624, 155], unknown=e1_unknown),
        # xingning: both assets in the window; five separate outages.
        ("site", "xingning"): asset([2_835, 615, 922, 1_200, 300], window),
        ("site", "shanglin"): asset(shanglin),
        # radio: bs-xingning and bs-shanglin together. 3rd: 10:00:43 … 10:48:43 = 2,880; 10th:
        # 02:00:07 … 02:10:43 = 636; 15th: shanglin down 09:30:43 … 11:15:43 covers xingning's
        # 11:00:00 … 11:15:22 = 6,300; no maintenance, shanglin was never in a window.
        ("system", "radio"): asset([2_880, 636, 6_300]),
        ("system", "network"): asset(core),
        ("system", "line"): asset(e1, unknown=e1_unknown),
        ("system", "power"): asset(ups, window),
    }


# --- E1 line 1 of e1-gw-110: 15-minute interval gauges -------------------------------------


@dataclass(frozen=True)
class E1Interval:
    """One 15-minute interval's final counts (reached 10 minutes into it)."""

    start: datetime
    errored: int
    severely_errored: int = 0
    unavailable: int = 0


E1_INTERVALS = (
    E1Interval(at(1, 0, 0) - timedelta(minutes=15), 7, 2, 0),  # began in October: not counted
    E1Interval(at(5, 8, 0), 12, 3, 0),
    # Its first reading (19 s in) is already above the last interval's final count: only
    # dsx1TimeElapsed shows it is a new interval.
    E1Interval(at(5, 8, 15), 450, 40, 0),
    E1Interval(at(12, 3, 0), 60, 60, 310),
    E1Interval(at(30, 23, 45), 5, 0, 0),  # ends in December: counted in November
)
E1_TOTALS = {"errored": 12 + 450 + 60 + 5, "severely_errored": 3 + 40 + 60, "unavailable": 310}


def e1_readings(offset: int) -> Iterator[tuple[int, int, dict[str, int]]]:
    """``(seconds, elapsed, {counter: value})`` of every poll of line 1 at ``offset``."""
    finals = {int(i.start.timestamp()): i for i in E1_INTERVALS}
    t = int(START.timestamp()) - MARGIN_S + offset
    stop = int(END.timestamp()) + MARGIN_S
    while t < stop:
        if not E1_NO_DATA[0].timestamp() <= t < E1_NO_DATA[1].timestamp():
            elapsed = t % 900
            interval = finals.get(t - elapsed)
            values = {"errored": 0, "severely_errored": 0, "unavailable": 0}
            if interval is not None:
                share = min(1.0, elapsed / 600)
                values = {
                    "errored": int(interval.errored * share),
                    "severely_errored": int(interval.severely_errored * share),
                    "unavailable": int(interval.unavailable * share),
                }
            yield t, elapsed, values
        t += POLL_S


def e1_lines() -> list[E1Line]:
    """The month's E1 line as ``E1Counts`` sums replica a's readings."""
    labels = {"asset": "e1-gw-110", "line": "1", "circuit": "e1-gw-110/E1-1"}
    readings = list(e1_readings(19))
    series: list[tuple[dict[str, str], list[tuple[int, float]]]] = [
        (
            labels | {"__name__": "trunkwatch_ds1_interval_elapsed_seconds"},
            [(t * 1000, float(e)) for t, e, _ in readings],
        )
    ]
    for counter in ("errored", "severely_errored", "unavailable"):
        values = [(t * 1000, float(v[counter])) for t, _, v in readings]
        series.append((labels | {"__name__": f"trunkwatch_ds1_current_{counter}_seconds"}, values))
    counts = E1Counts()
    counts.add(series)
    return counts.lines(int(START.timestamp()) * 1000, int(END.timestamp()) * 1000)


# --- the same as OpenMetrics text for promtool ----------------------------------------------


def _text(labels: dict[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


@dataclass
class _Families:
    lines: dict[str, list[str]] = field(default_factory=dict)

    def add(self, family: str, line: str) -> None:
        self.lines.setdefault(family, []).append(line)


def openmetrics() -> str:
    """Every series of the month, as ``promtool tsdb create-blocks-from openmetrics`` reads it:
    grouped by family, each series in time order, ``# EOF`` at the end."""
    families = _Families()
    for p in PROBES:
        labels = _text(_labels(p))
        polls = list(p.polls())
        for t, ok, _ in polls:
            families.add(
                "trunkwatch_probe_success",
                f"trunkwatch_probe_success{{{labels}}} {1 if ok else 0} {t}",
            )
        for t, ok, reason in polls:
            if not ok:
                families.add(
                    "trunkwatch_probe_failure_info",
                    f'trunkwatch_probe_failure_info{{{labels},reason="{reason}"}} 1 {t}',
                )
    # The inventory's info series, one sample an hour.
    for a in ASSETS:
        info = {"site": a.site, "asset": a.id, "system": a.system, "kind": KINDS[a.id]}
        labels = _text(info | {"name": a.name, "parent": a.parent or ""})
        first = int(START.timestamp()) - MARGIN_S
        for t in range(first, int(END.timestamp()) + MARGIN_S, 3600):
            families.add("trunkwatch_asset_info", f"trunkwatch_asset_info{{{labels}}} 1 {t}")
    for replica, offset in (("a", 19), ("b", 49)):
        labels = _text(
            {
                "site": "hq",
                "asset": "e1-gw-110",
                "system": "line",
                "kind": "e1_gateway",
                "probe": "snmp:ds1_mib",
                "line": "1",
                "circuit": "e1-gw-110/E1-1",
                "replica": replica,
            }
        )
        for t, elapsed, values in e1_readings(offset):
            name = "trunkwatch_ds1_interval_elapsed_seconds"
            families.add(name, f"{name}{{{labels}}} {elapsed} {t}")
            for counter, value in values.items():
                name = f"trunkwatch_ds1_current_{counter}_seconds"
                families.add(name, f"{name}{{{labels}}} {value} {t}")
    out = []
    for family, lines in families.lines.items():
        out.append(f"# TYPE {family} gauge")
        out.extend(lines)
    out.append("# EOF")
    return "\n".join(out) + "\n"

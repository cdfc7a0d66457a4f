"""Scheduler bench: how many assets one core carries with the real scheduler and exporter.

For each fleet size N, a fresh process pinned to one CPU builds N assets with one cheap probe
each, runs the real ``Scheduler`` on the system clock with the real ``Exposition`` subscribed
to its store and a scrape every 15 s, and reports scheduler lag (p50 / p99 / max), the
skipped-run ratio, CPU per probe run (scheduler and probe apart from scrape rendering) and
peak memory. The TCP targets are listeners on 127.0.0.0/8 in a separate process that accept
and close, so their CPU is not counted against the monitor.

    python -m bench.scheduler                        # 1k, 5k, 10k assets, 60 s interval
    python -m bench.scheduler --assets 1000,5000 --duration 70
    python -m bench.scheduler --probe null           # scheduler overhead without sockets
    python -m bench.scheduler --quick                # smoke check: 200 assets, 2 s, 5 s

Goal, reported and never asserted: 10,000 assets at a 60 s interval with p99 lag < 1 s and
no skipped runs. The exit status is non-zero only when a run did not measure what it should
(no runs, probe failures, lags that disagree with the scheduler's own histogram).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import logging
import math
import os
import platform
import resource
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from prometheus_client import CollectorRegistry, generate_latest

from bench.tcp_fleet import fleet, host_address
from monitor.config import DefaultsConfig, LimitsConfig
from monitor.core.clock import SystemClock
from monitor.exposition.text import Exposition
from monitor.inventory import Asset, Inventory, Job, Site
from monitor.results import ResultStore
from monitor.scheduler import OUTCOMES, Scheduler
from probes import load_factory
from probes.base import Family, Probe, ProbeResult, Sample, Target

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ASSETS_PER_SITE = 50
GOAL_ASSETS = 10_000
GOAL_INTERVAL = 60.0
GOAL_P99_LAG = 1.0
#: Longest the dispatcher may take to stop once cancelled before the run counts as broken.
STOP_GRACE_SECONDS = 10.0
SETTLE_SECONDS = 1.0
CALIBRATION_SECONDS = 5.0
CALIBRATION_MAX_WAKES = 5_000

ProbeKind = Literal["tcp", "null"]

NULL_VALUE = Family(
    "trunkwatch_bench_null_seconds", "gauge", "A fixed value from the bench's no-op probe."
)


# -- the fleet: loopback listeners in their own process ---------------------------------------


# -- the monitored estate -----------------------------------------------------------------------


class NullProbe:
    """Answers at once without I/O, with one sample shaped like the TCP probe's, so a run
    costs the scheduler, the store and the exposition and nothing else."""

    async def run(self, target: Target) -> ProbeResult:
        return ProbeResult([Sample(NULL_VALUE, 0.000123)])


def build_bench_inventory(
    n: int,
    probe: ProbeKind,
    addresses: Sequence[tuple[str, int | None]],
    interval: float,
    timeout: float,
) -> Inventory:
    """N assets in sites of 50, one probe each, spread round-robin over ``addresses``."""
    tcp = load_factory("tcp")
    sites: dict[str, Site] = {}
    assets: dict[str, Asset] = {}
    jobs: list[Job] = []
    for i in range(n):
        site_id = f"bench-site-{i // ASSETS_PER_SITE:04d}"
        if site_id not in sites:
            sites[site_id] = Site(
                site_id, f"Bench site {i // ASSETS_PER_SITE}", None, None, None, None, None
            )
        host, port = addresses[i % len(addresses)]
        asset_id = f"bench-{i:05d}"
        asset = Asset(
            id=asset_id,
            site=site_id,
            system="network",
            kind="switch",
            name=asset_id,
            target=Target(asset_id, host, port),
            parent=None,
        )
        assets[asset_id] = asset
        instance: Probe = tcp({}, timeout=timeout) if probe == "tcp" else NullProbe()
        jobs.append(
            Job(
                asset,
                probe,
                probe,
                interval,
                timeout,
                instance,
                fingerprint=f"{host}:{port}/{probe}",
            )
        )
    return Inventory(MappingProxyType(sites), MappingProxyType(assets), tuple(jobs))


# -- one measurement ------------------------------------------------------------------------------


class MeasuredScheduler(Scheduler):
    """The real scheduler, keeping every lag it observes so that percentiles are exact rather
    than bucket bounds. The count is checked against the scheduler's own histogram."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lags: list[float] = []
        self.dues: list[float] = []

    async def _execute(self, job: Job, due: float) -> None:
        self.lags.append(max(0.0, self.clock.monotonic() - due))
        self.dues.append(due)
        await super()._execute(job, due)


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One fleet size to measure, and how; sent to the measuring process."""

    assets: int
    probe: ProbeKind
    interval: float
    timeout: float
    duration: float
    scrape_every: float
    concurrency: int
    per_device: int
    addresses: tuple[tuple[str, int | None], ...]
    cpu: int | None
    profile_to: str | None = None


@dataclass(frozen=True, slots=True)
class ScrapeCost:
    """One /metrics body: when it started, its CPU (the results part and the whole body),
    wall time, samples and size."""

    started: float
    render_cpu: float
    body_cpu: float
    wall: float
    samples: int
    body_bytes: int


@dataclass(slots=True)
class Measurement:
    """What one fleet size measured; times in seconds unless the name says otherwise."""

    assets: int
    probe: str
    interval: float
    duration: float
    pid: int
    due: int
    runs: int
    failures: int
    skipped: int
    not_started: int
    skipped_ratio: float
    lag_p50: float
    lag_p99: float
    lag_max: float
    lag_observations: int
    #: Seconds into the window at which the most delayed run was due, and what ran meanwhile.
    worst_lag_at: float
    worst_lag_during: list[str]
    #: Garbage collections in the window and their longest pause, by generation 0, 1, 2.
    gc_collections: list[int]
    gc_max_pause_ms: list[float]
    #: Installing the inventory in the exposition and the scheduler (as a reload does).
    install_cpu: float
    install_wall: float
    cpu_total: float
    #: The kernel's part of cpu_total (sockets, epoll, timers).
    cpu_system: float
    #: Involuntary context switches in the window: well above zero, something else wanted
    #: the pinned CPU and the lags include waiting for it.
    preempted: int
    #: Seconds of the pinned CPU used by other processes, and stolen by the hypervisor, in
    #: the window (from /proc/stat, 10 ms ticks): the noise under the lag maxima.
    others_on_cpu: float
    stolen: float
    cpu_scrape: float
    cpu_per_run_us: float
    #: CPU of one timer wake of an idle loop at the same rate as the runs (platform floor).
    idle_wake_us: float
    core_share: float
    scrapes: int
    scrape_samples: int
    scrape_bytes: int
    render_us_per_sample: float
    scrape_us_per_sample: float
    scrape_wall_max_ms: float
    rss_before_mib: float
    peak_rss_mib: float
    problems: list[str] = field(default_factory=list)


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence; NaN when it is empty."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def due_between(jobs: Sequence[Job], start: float, end: float) -> int:
    """How many runs fall due in (start, end]: each job is due at offset + k·interval."""
    total = 0
    for job in jobs:
        phase = job.offset
        total += math.floor((end - phase) / job.interval) - math.floor(
            (start - phase) / job.interval
        )
    return total


def scrape(registry: CollectorRegistry, exposition: Exposition) -> ScrapeCost:
    """Build a /metrics body in text (no gzip) the way the HTTP handler does, packed parts
    inflated, timing the results part apart."""
    wall0 = time.monotonic()
    cpu0 = time.process_time()
    text = exposition.render()
    cpu1 = time.process_time()
    body = generate_latest(registry) + text.encode()
    cpu2 = time.process_time()
    wall = time.monotonic() - wall0
    samples = body.count(b"\n") - body.count(b"\n#") - body.startswith(b"#")
    return ScrapeCost(wall0, cpu1 - cpu0, cpu2 - cpu0, wall, samples, len(body))


async def idle_wake_cost(rate: float, seconds: float) -> float:
    """CPU µs that one timer wake of an otherwise idle event loop costs here, at ``rate``
    wakes per second: the floor under every dispatch, which virtual machines raise a lot."""
    loop = asyncio.get_running_loop()
    wakes = max(1, min(CALIBRATION_MAX_WAKES, int(seconds * rate)))
    period = 1 / rate
    cpu0 = time.process_time()
    start = loop.time()
    for i in range(1, wakes + 1):
        await asyncio.sleep(max(0.0, start + i * period - loop.time()))
    return (time.process_time() - cpu0) / wakes * 1e6


class CollectorPauses:
    """The garbage collector's pauses, by generation: they stop the event loop like any other
    synchronous work, and a full collection grows with the number of live objects."""

    def __init__(self) -> None:
        #: (generation, monotonic start, seconds)
        self.pauses: list[tuple[int, float, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        now = time.monotonic()
        if phase == "start":
            self._started = now
        else:
            self.pauses.append((info["generation"], self._started, now - self._started))

    def watch(self) -> None:
        gc.callbacks.append(self)

    def unwatch(self) -> None:
        gc.callbacks.remove(self)


def blocked_by(
    start: float, end: float, scrapes: Sequence[ScrapeCost], pauses: CollectorPauses
) -> list[str]:
    """What synchronous work overlapped [start, end]: scrapes and garbage collections."""
    causes = [
        f"scrape {s.wall * 1e3:.1f} ms"
        for s in scrapes
        if s.started <= end and start <= s.started + s.wall
    ]
    causes += [
        f"gc gen {g} {p * 1e3:.1f} ms" for g, t, p in pauses.pauses if t <= end and start <= t + p
    ]
    return causes


def cpu_seconds(cpu: int | None) -> tuple[float, float]:
    """(busy, stolen) seconds of one CPU since boot, from /proc/stat; NaN where unknown.

    Busy minus this process's own CPU is what other processes took from the pinned CPU;
    stolen is what the hypervisor gave to other guests."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return math.nan, math.nan
    for line in lines:
        name, *fields = line.split()
        if cpu is not None and name == f"cpu{cpu}":
            ticks = [int(f) for f in fields]
            hz = os.sysconf("SC_CLK_TCK")
            # user, nice, system, idle, iowait, irq, softirq, steal
            busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]
            return busy / hz, ticks[7] / hz
    return math.nan, math.nan


def _rss_peak_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True, slots=True)
class SchedulerCounters:
    """What the scheduler says about itself, from its own metrics."""

    runs: int
    successes: int
    skipped: int
    lag_observations: int

    @classmethod
    def read(cls, registry: CollectorRegistry, module: str) -> SchedulerCounters:
        def value(name: str, **labels: str) -> int:
            return int(registry.get_sample_value(name, labels) or 0)

        runs = "trunkwatch_scheduler_runs_total"
        return cls(
            runs=sum(value(runs, module=module, outcome=o) for o in OUTCOMES),
            successes=value(runs, module=module, outcome="success"),
            skipped=value("trunkwatch_scheduler_skipped_runs_total", module=module),
            lag_observations=value("trunkwatch_scheduler_lag_seconds_count"),
        )


async def _measure(spec: RunSpec, calibration: float, rss_before: float) -> Measurement:
    idle_wake_us = await idle_wake_cost(spec.assets / spec.interval, calibration)
    clock = SystemClock()
    registry = CollectorRegistry()
    store = ResultStore()
    exposition = Exposition(store)
    scheduler = MeasuredScheduler(
        store, registry, concurrency=spec.concurrency, per_device=spec.per_device, clock=clock
    )
    inventory = build_bench_inventory(
        spec.assets, spec.probe, spec.addresses, spec.interval, spec.timeout
    )
    install0 = time.process_time()
    install_wall0 = clock.monotonic()
    exposition.set_inventory(inventory)
    scheduler.set_inventory(inventory)
    # After, not before: the scheduler reads its clock partway through set_inventory.
    window_start = clock.monotonic()
    install_cpu = time.process_time() - install0
    install_wall = window_start - install_wall0

    scrapes: list[ScrapeCost] = []
    collector = CollectorPauses()
    profiler = cProfile.Profile() if spec.profile_to else None
    async with (
        asyncio.timeout(spec.duration + STOP_GRACE_SECONDS),
        asyncio.TaskGroup() as tg,
    ):
        collector.watch()
        if profiler is not None:
            profiler.enable()
        cpu_start = time.process_time()
        times_start = os.times()
        preempted_start = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw
        busy_start, stolen_start = cpu_seconds(spec.cpu)
        dispatcher = tg.create_task(scheduler.run(), name="scheduler")
        deadline = window_start + spec.duration
        next_scrape = window_start + spec.scrape_every
        # Scrapes strictly inside the window, so that none sits on its closing edge.
        for _ in range(math.ceil(spec.duration / spec.scrape_every) - 1):
            await clock.sleep_until(next_scrape)
            scrapes.append(scrape(registry, exposition))
            next_scrape += spec.scrape_every
        await clock.sleep_until(deadline)
        cpu_total = time.process_time() - cpu_start
        times_end = os.times()
        preempted = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw - preempted_start
        busy_end, stolen_end = cpu_seconds(spec.cpu)
        window_end = clock.monotonic()
        if profiler is not None:
            profiler.disable()
        counters = SchedulerCounters.read(registry, spec.probe)
        collector.unwatch()
        dispatcher.cancel()
    if profiler is not None and spec.profile_to:
        profiler.dump_stats(spec.profile_to)

    # Runs due in the window's last moments may still be queued when it closes; count runs
    # due up to SETTLE_SECONDS before the end, which every healthy run has started by then.
    cutoff = window_end - min(SETTLE_SECONDS, spec.duration / 2)
    due = due_between(inventory.jobs, window_start, window_end)
    settled_due = due_between(inventory.jobs, window_start, cutoff)
    started = len(scheduler.lags)
    # Runs due while the inventory was being installed waited for that, not for the
    # scheduler at work: install_wall says how long.
    lags = sorted(
        lag for lag, d in zip(scheduler.lags, scheduler.dues, strict=True) if d > window_start
    )
    started_in_window = sum(1 for d in scheduler.dues if window_start < d <= cutoff)
    worst = max(
        (i for i in range(started) if scheduler.dues[i] > window_start),
        key=scheduler.lags.__getitem__,
        default=None,
    )
    if worst is None:
        worst_at, worst_during = math.nan, []
    else:
        worst_due = scheduler.dues[worst]
        worst_at = worst_due - window_start
        worst_during = blocked_by(worst_due, worst_due + scheduler.lags[worst], scrapes, collector)
    in_window = [(g, p) for g, t, p in collector.pauses if window_start <= t <= window_end]
    cpu_scrape = sum(s.body_cpu for s in scrapes)
    scrape_samples = sum(s.samples for s in scrapes)
    problems: list[str] = []
    runs, skipped = counters.runs, counters.skipped
    failures = runs - counters.successes
    if runs == 0:
        problems.append("no run finished")
    if failures:
        problems.append(f"{failures} runs failed: the targets are not what we measure")
    if started != counters.lag_observations:
        problems.append(
            f"{started} lags collected but the scheduler observed {counters.lag_observations}: "
            "the lag hook no longer matches the scheduler"
        )
    return Measurement(
        assets=spec.assets,
        probe=spec.probe,
        interval=spec.interval,
        duration=window_end - window_start,
        pid=os.getpid(),
        due=due,
        runs=runs,
        failures=failures,
        skipped=skipped,
        not_started=max(0, settled_due - started_in_window - skipped),
        skipped_ratio=skipped / due if due else 0.0,
        lag_p50=percentile(lags, 50),
        lag_p99=percentile(lags, 99),
        lag_max=lags[-1] if lags else math.nan,
        lag_observations=len(lags),
        worst_lag_at=worst_at,
        worst_lag_during=worst_during,
        gc_collections=[sum(1 for g, _ in in_window if g == gen) for gen in range(3)],
        gc_max_pause_ms=[
            max((p for g, p in in_window if g == gen), default=0.0) * 1e3 for gen in range(3)
        ],
        install_cpu=install_cpu,
        install_wall=install_wall,
        cpu_total=cpu_total,
        cpu_system=times_end.system - times_start.system,
        preempted=preempted,
        others_on_cpu=max(0.0, busy_end - busy_start - cpu_total),
        stolen=stolen_end - stolen_start,
        idle_wake_us=idle_wake_us,
        cpu_scrape=cpu_scrape,
        cpu_per_run_us=(cpu_total - cpu_scrape) / runs * 1e6 if runs else math.nan,
        core_share=(cpu_total - cpu_scrape) / (window_end - window_start),
        scrapes=len(scrapes),
        scrape_samples=scrapes[-1].samples if scrapes else 0,
        scrape_bytes=scrapes[-1].body_bytes if scrapes else 0,
        render_us_per_sample=(
            sum(s.render_cpu for s in scrapes) / scrape_samples * 1e6
            if scrape_samples
            else math.nan
        ),
        scrape_us_per_sample=cpu_scrape / scrape_samples * 1e6 if scrape_samples else math.nan,
        scrape_wall_max_ms=max((s.wall for s in scrapes), default=math.nan) * 1e3,
        rss_before_mib=rss_before,
        peak_rss_mib=_rss_peak_mib(),
        problems=problems,
    )


def measure(spec: RunSpec) -> Measurement:
    """Process entry: one fleet size, measured in a fresh process so that peak memory and
    collector state belong to this N alone."""
    if spec.cpu is not None:
        os.sched_setaffinity(0, {spec.cpu})
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    calibration = min(CALIBRATION_SECONDS, spec.duration / 2)
    print(
        f"  {spec.assets} assets: pid {os.getpid()}, calibrating for {calibration:g} s, "
        f"then measuring for {spec.duration:g} s",
        flush=True,
    )
    return asyncio.run(_measure(spec, calibration, _rss_peak_mib()))


# -- orchestration and report ---------------------------------------------------------------------


def _cpus() -> tuple[int | None, int | None]:
    """(CPU for the monitor, CPU for the fleet); None where affinity is not available."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[0], allowed[1] if len(allowed) > 1 else allowed[0]


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1e3:.2f}"


def _us(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


COLUMNS = (
    ("assets", "{m.assets}"),
    ("due", "{m.due}"),
    ("runs", "{m.runs}"),
    ("fail", "{m.failures}"),
    ("skipped", "{m.skipped} ({pct_skipped})"),
    ("not started", "{m.not_started}"),
    ("lag p50 ms", "{p50}"),
    ("lag p99 ms", "{p99}"),
    ("lag max ms", "{lmax}"),
    ("gc2 max ms", "{gc2}"),
    ("CPU µs/run", "{per_run}"),
    ("idle wake µs", "{wake}"),
    ("core %", "{core:.1f}"),
    ("render µs/sample", "{render}"),
    ("scrape ms", "{scrape_ms}"),
    ("series", "{m.scrape_samples}"),
    ("peak RSS MiB", "{m.peak_rss_mib:.0f}"),
    ("preempted", "{m.preempted}"),
    ("others s", "{m.others_on_cpu:.1f}"),
    ("stolen s", "{m.stolen:.1f}"),
)


def table(results: Sequence[Measurement]) -> str:
    rows = [[title for title, _ in COLUMNS]]
    for m in results:
        values = {
            "m": m,
            "pct_skipped": f"{m.skipped_ratio:.2%}",
            "p50": _ms(m.lag_p50),
            "p99": _ms(m.lag_p99),
            "lmax": _ms(m.lag_max),
            "gc2": f"{m.gc_max_pause_ms[2]:.1f}" if m.gc_collections[2] else "-",
            "per_run": _us(m.cpu_per_run_us),
            "core": m.core_share * 100,
            "wake": _us(m.idle_wake_us),
            "render": _us(m.render_us_per_sample),
            "scrape_ms": _ms(m.cpu_scrape / m.scrapes if m.scrapes else math.nan),
        }
        rows.append([fmt.format(**values) for _, fmt in COLUMNS])
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )


def goal_verdict(results: Sequence[Measurement]) -> dict[str, Any]:
    """The goal as a measured statement; None for 'met' when no run matched its conditions."""
    at_goal = [m for m in results if m.assets >= GOAL_ASSETS and m.interval == GOAL_INTERVAL]
    if not at_goal:
        return {"met": None, "why": f"no run with {GOAL_ASSETS} assets at {GOAL_INTERVAL:g} s"}
    m = at_goal[0]
    met = m.lag_p99 < GOAL_P99_LAG and m.skipped == 0 and m.not_started == 0
    return {
        "met": met,
        "why": (
            f"{m.assets} assets at {m.interval:g} s: p99 lag {m.lag_p99 * 1e3:.2f} ms "
            f"(goal < {GOAL_P99_LAG * 1e3:.0f} ms), {m.skipped} skipped, "
            f"{m.not_started} not started"
        ),
    }


def _json_safe(record: dict[str, Any]) -> dict[str, Any]:
    """NaN (a quantity with nothing to measure) becomes null: JSON has no NaN."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in record.items()}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    limits, defaults = LimitsConfig(), DefaultsConfig()
    parser = argparse.ArgumentParser(
        prog="python -m bench.scheduler", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--assets",
        default="1000,5000,10000",
        help="comma-separated fleet sizes, each measured in a fresh process (default: %(default)s)",
    )
    parser.add_argument("--probe", choices=("tcp", "null"), default="tcp")
    parser.add_argument("--interval", type=float, default=defaults.interval, help="seconds")
    parser.add_argument(
        "--duration", type=float, default=90.0, help="seconds per fleet size (default: %(default)s)"
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="probe timeout (default: min(10, interval))"
    )
    parser.add_argument("--scrape-every", type=float, default=15.0, help="seconds")
    parser.add_argument(
        "--hosts",
        type=int,
        default=64,
        help="distinct loopback devices the assets are spread over (default: %(default)s)",
    )
    parser.add_argument("--concurrency", type=int, default=limits.concurrency)
    parser.add_argument("--per-device", type=int, default=limits.per_device)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile each run into bench/results/*.pstats"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke check: 200 assets, 2 s interval, 5 s, scrape every 2 s",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.assets, args.interval, args.duration, args.scrape_every = "200", 2.0, 5.0, 2.0
    try:
        args.sizes = [int(part) for part in args.assets.split(",") if part.strip()]
    except ValueError:
        parser.error(f"--assets: expected comma-separated integers, got {args.assets!r}")
    if not args.sizes or min(args.sizes) < 1:
        parser.error("--assets: at least one fleet size, each at least 1")
    if args.interval <= 0 or args.duration <= 0 or args.scrape_every <= 0:
        parser.error("--interval, --duration and --scrape-every must be positive")
    if not 1 <= args.hosts <= 254 * 254:
        parser.error("--hosts: between 1 and 64516")
    if args.timeout is None:
        args.timeout = min(defaults.timeout, args.interval)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    monitor_cpu, fleet_cpu = _cpus()
    # Anything else busy on the machine skews every number; record how busy it was.
    load_before = os.getloadavg()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    print(
        f"scheduler bench: probe={args.probe} interval={args.interval:g}s "
        f"duration={args.duration:g}s scrape every {args.scrape_every:g}s hosts={args.hosts} "
        f"concurrency={args.concurrency} per_device={args.per_device} "
        f"monitor cpu={monitor_cpu} fleet cpu={fleet_cpu if args.probe == 'tcp' else '-'}",
        flush=True,
    )
    lifetime = len(args.sizes) * (args.duration + 60.0) + 60.0
    with contextlib.ExitStack() as stack:
        if args.probe == "tcp":
            listening = stack.enter_context(fleet(args.hosts, fleet_cpu, lifetime))
            addresses: list[tuple[str, int | None]] = list(listening)
        else:
            addresses = [(host_address(i), None) for i in range(args.hosts)]
        results: list[Measurement] = []
        for n in args.sizes:
            spec = RunSpec(
                assets=n,
                probe=args.probe,
                interval=args.interval,
                timeout=args.timeout,
                duration=args.duration,
                scrape_every=args.scrape_every,
                concurrency=args.concurrency,
                per_device=args.per_device,
                addresses=tuple(addresses),
                cpu=monitor_cpu,
                profile_to=(
                    str(RESULTS_DIR / f"scheduler-{stamp}-{n}.pstats") if args.profile else None
                ),
            )
            # A fresh process per fleet size: peak RSS and collector state are this N's alone.
            with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
                results.append(pool.submit(measure, spec).result())

    print()
    print(table(results))
    verdict = goal_verdict(results)
    state = {True: "met", False: "NOT met", None: "not measured"}[verdict["met"]]
    print(
        f"\ngoal ({GOAL_ASSETS} assets at {GOAL_INTERVAL:g} s, p99 lag < 1 s, no skipped "
        f"runs): {state} — {verdict['why']}"
    )
    report = {
        "bench": "scheduler",
        "started": stamp,
        "host": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "monitor_cpu": monitor_cpu,
            "fleet_cpu": fleet_cpu if args.probe == "tcp" else None,
            "load_average_before": load_before,
        },
        "settings": {
            "probe": args.probe,
            "interval": args.interval,
            "timeout": args.timeout,
            "duration": args.duration,
            "scrape_every": args.scrape_every,
            "hosts": args.hosts,
            "concurrency": args.concurrency,
            "per_device": args.per_device,
        },
        "results": [_json_safe(asdict(m)) for m in results],
        "goal": verdict,
    }
    out = RESULTS_DIR / f"scheduler-{stamp}.json"
    out.write_text(json.dumps(report, indent=2, allow_nan=False, default=str) + "\n")
    print(f"written {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    if args.profile:
        print("profiled: the CPU columns include the profiler's own overhead")
        print(f"profiles: {RESULTS_DIR}/scheduler-{stamp}-*.pstats (python -m pstats FILE)")
    problems = [f"{m.assets} assets: {p}" for m in results for p in m.problems]
    for problem in problems:
        print(f"not a valid measurement: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Scale bench: the whole daemon polling N simulated SNMP devices at a 60 s interval on one core.

For each fleet size N (default 1,000, 5,000, 10,000 and 20,000 devices):

- the devices: N simulated TETRA base stations (``trunked_bs``, IF-MIB with ``--interfaces``
  rows, UPS-MIB), served by the simulator's own SNMP agent (``bench/snmp_fleet.py``) in shard
  processes of at most ``--shard-size`` devices, each on a loopback address of its own
  (127.77.0.1, 127.77.1.1 …) with one ephemeral UDP port per device, all pinned to CPU 1;
- the configuration: a ``monitor.yaml`` shaped like the shipped one (its centre, limits and
  ``inspections:`` sections, the shift log included, copied as written) with one site per
  device and two assets per site at the device's address, the base station (``trunked_bs``,
  ``if_mib``) and its power plant (``ups_mib``): 3 N jobs every ``--interval`` seconds;
- the daemon: ``trunkwatch run`` as a real process pinned to CPU 0, after ``trunkwatch
  check-config`` of the same file (wall time, peak RSS from ``wait4``);
- a warm-up until every job has a result and one interval has passed since the daemon
  listened (the first polls also walk the label columns), then ``--settle`` seconds (one
  interval) for the start's backlog to be worked off, then a window of ``--window``
  seconds in which ``/metrics`` is scraped every ``--scrape-every`` seconds with the headers
  Prometheus 2.x sends: its Accept header, which asks for OpenMetrics first and takes the
  text format the daemon then answers in (its fast path), and ``Accept-Encoding: gzip``
  (wall time read by curl, as fast a reader as Prometheus, without decompressing; the sizes
  of the text and of its gzip body after the window). After the window one scrape does not
  ask for gzip (its wall time), as the bench scraped before the daemon compressed. Then
  the daemon gets SIGTERM, as a service manager stops it: the time to its exit.

What is reported per N, from outside the daemon: its CPU (``/proc/PID/stat``) over the window
as a share of its core and per finished poll; scheduler lag p50 / p99, interpolated inside the
buckets of the daemon's ``trunkwatch_scheduler_lag_seconds`` histogram (the difference between
its values at the start and the end of the window, as ``histogram_quantile`` would), and the
bucket bound that holds the largest lag; polls due (jobs × window / interval), finished,
failed (``trunkwatch_scheduler_runs_total`` by outcome) and skipped
(``trunkwatch_scheduler_skipped_runs_total``), and jobs whose ``trunkwatch_probe_success`` is 0
at the end; peak RSS (``VmHWM``); scrape time and size; config load time; the simulator's share
of its core and how busy CPU 1 was as a whole (when it is saturated, failed polls are the
simulator's doing, not the daemon's), and what else ran on CPU 0.

    python -m bench.scale --quick                  # smoke check: 200 devices, 5 s interval (<1 min)
    python -m bench.scale                          # 1k, 5k, 10k, 20k at 60 s, 120 s windows
    python -m bench.scale --devices 10000 --cprofile   # where the daemon's time goes

Goal, reported and never asserted: 10,000 devices on one core at 60 s with p99 lag < 1 s, no
failed or skipped polls, RSS < 1 GiB and a scrape < 1 s. The JSON goes to
``bench/results/scale-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.config_load import SHIPPED, check_config_process, shipped_sections
from bench.e2e_snmp import print_cprofile
from bench.processes import (
    REPO,
    STOP_GRACE_SECONDS,
    fetch,
    fetch_gzip,
    free_tcp_port,
    pin,
    proc_cpu,
    proc_status,
    process,
    status_count,
    stop,
    timed_fetch,
    wait_for,
)
from bench.scale_metrics import (
    DaemonCounters,
    bound_cell,
    growth,
    histogram_quantile,
    largest_bound,
    ms_cell,
    py_spy_summary,
    track_cell,
)
from bench.scheduler import cpu_seconds as cpu_busy_seconds
from bench.snmp_fleet import CENTRE, COMMUNITY, Shard, device_id, simulated_fleet

RESULTS = REPO / "bench" / "results"
DAEMON_CPU, FLEET_CPU = 0, 1
DEFAULT_DEVICES = "1000,5000,10000,20000"
GOAL_DEVICES = 10_000
GOAL_INTERVAL = 60.0
GOAL_P99_LAG = 1.0
GOAL_RSS_MIB = 1024.0
GOAL_SCRAPE_S = 1.0
#: A daemon using this share of its core or more is saturated: it leaves work undone.
SATURATED = 0.95
#: Jobs per device: the base station's trunked_bs and if_mib, its power plant's ups_mib.
JOBS_PER_DEVICE = 3
#: What Prometheus 2.x sends: OpenMetrics first, and a gzip body asked for.
PROMETHEUS_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "Accept-Encoding": "gzip",
}
#: Bounds on each wait, whatever the fleet size.
LISTEN_LIMIT_S = 300.0
#: The sampling profiler (``pip install py-spy``) beside this interpreter, and its rate.
PY_SPY = Path(sys.executable).with_name("py-spy")
PY_SPY_RATE = 50
SCRAPE_TIMEOUT_S = 120.0
#: The section copied from the shipped file as written (plans select by system and site).
COPIED = ("centre", "limits", "inspections")


# -- the configuration ----------------------------------------------------------------------


def monitor_yaml(
    shards: Sequence[Shard], interval: float, data_dir: Path, label_refresh: float | None = None
) -> str:
    """A monitor.yaml for the devices the shards serve: per device a site, its base station
    and its power plant at the device's address, and the shipped file's inspections.
    ``label_refresh`` (s): how often every SNMP probe walks its label columns again, when not
    the probe's default (15 minutes)."""
    extra = "" if label_refresh is None else f", label_refresh: {label_refresh:g}s"
    sections = shipped_sections(SHIPPED.read_text(encoding="utf-8"))
    endpoints = {d: ep for shard in shards for d, ep in shard.endpoints.items()}
    out = ["# generated by bench/scale.py", sections["centre"]]
    out.append(f"server:\n  data_dir: {json.dumps(str(data_dir))}\n")
    out.append(f"defaults:\n  interval: {interval:g}s\n  timeout: {min(5.0, interval):g}s\n")
    out += [sections["limits"], f"credentials:\n  sim:\n    community: {COMMUNITY}\n"]
    sites = ["sites:", "  - id: hq", "    name: 市应急联动中心"]
    assets = ["assets:"]
    for _, asset_id, system, kind, profiles in CENTRE:
        host, port = endpoints.pop(asset_id)
        assets += [f"  - id: {asset_id}", "    site: hq", f"    address: {host}:{port}",
                   "    credentials: sim", f"    system: {system}", f"    kind: {kind}",
                   "    probes:"]  # fmt: skip
        assets += [f"      - {{module: snmp, profile: {profile}{extra}}}" for profile in profiles]
    for index in range(len(endpoints)):
        bs = device_id(index)
        host, port = endpoints[bs]
        site = f"s{index:05d}"
        sites += [f"  - id: {site}", f"    name: 第{index + 1}号基站", "    parent: hq"]
        common = [f"    site: {site}", f"    address: {host}:{port}", "    credentials: sim"]
        assets += [
            f"  - id: {bs}",
            f"    name: 第{index + 1}号基站 base station",
            *common,
            "    system: radio",
            "    kind: tetra_bs",
            "    probes:",
            f"      - {{module: snmp, profile: trunked_bs{extra}}}",
            f"      - {{module: snmp, profile: if_mib{extra}}}",
        ]
        assets += [
            f"  - id: ups-{site}",
            f"    name: 第{index + 1}号基站电源 power",
            *common,
            "    system: power",
            "    kind: ups",
            "    parent: " + bs,
            "    probes:",
            f"      - {{module: snmp, profile: ups_mib{extra}}}",
        ]
    out += ["\n".join(sites) + "\n", "\n".join(assets) + "\n", sections["inspections"]]
    return "\n".join(out)


# -- one fleet size -------------------------------------------------------------------------


@dataclass(slots=True)
class Measurement:
    devices: int
    assets: int
    jobs: int
    shards: int
    interval_s: float
    window_s: float
    config_bytes: int
    check_config: dict[str, Any]
    #: From the daemon's start to its first answer on /-/healthy, and its RSS then.
    start_to_listen_s: float
    rss_at_listen_mib: float
    warmup_s: float
    daemon_cpu_s: float
    daemon_core: float
    cpu_ms_per_poll: float
    #: The daemon's threads' involuntary context switches in the window, summed over them
    #: (results before 2026-12-07T16:53Z counted its first thread only).
    preempted: int
    #: CPU 0's busy seconds in the window that were not the daemon's.
    others_on_daemon_cpu_s: float
    due: float
    finished: float
    failed: float
    outcomes: dict[str, float]
    skipped: float
    failing_at_end: int
    results_at_end: int
    lag_p50_s: float
    lag_p99_s: float
    #: The bucket bound that holds the largest lag of the window (+inf: above every bound).
    lag_max_bound_s: float
    lag_buckets: list[tuple[float, float]]
    peak_rss_mib: float
    rss_mib: float
    #: The daemon's RSS (MiB) after each of the window's scrapes: (seconds into it, RSS).
    rss_track: list[tuple[float, float]]
    scrape_s: list[float]
    #: The window's full garbage collections (the event loop stopped) and their pauses' sum.
    full_collections: int
    full_collection_s: float
    scrape_bytes: int
    scrape_samples: int
    #: The size of a scrape's gzip body, as Prometheus asks for it (``scrape_bytes``: the text).
    #: The bench's own reads of the daemon's counters ask for gzip too, as Prometheus does.
    scrape_gzip_bytes: float
    #: One scrape after the window that does not ask for gzip: its wall time.
    text_scrape_s: float | None
    #: The daemon's peak RSS during that scrape (its high-water mark reset before it).
    text_peak_rss_mib: float
    #: From SIGTERM to the daemon's exit, s; None when it did not stop within the grace.
    stop_s: float | None
    simulator_core: float
    simulator_build_cpu_s: float
    simulator_rss_mib: float
    fleet_cpu_busy: float
    load_average: tuple[float, float, float]
    cprofile: str | None = None
    #: py-spy's samples of the daemon over the window (collapsed stacks).
    py_spy: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def scrape_s_max(self) -> float:
        return max(self.scrape_s, default=math.nan)


def _samples(body: bytes) -> int:
    return body.count(b"\n") - body.count(b"\n#") - body.startswith(b"#")


def _daemon_argv(config: Path, port: int, profile_out: Path | None) -> list[str]:
    args = ["run", "-c", str(config), "--listen", f"127.0.0.1:{port}"]
    if profile_out is not None:
        # e2e_snmp's runner: cProfile switched on by SIGUSR1 and dumped by SIGUSR2.
        return [sys.executable, "-m", "bench.e2e_snmp", "--profiled", str(profile_out), "--", *args]
    return [sys.executable, "-m", "monitor.cli", *args]


def _log_tail(log: Path, lines: int = 5) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def measure(n: int, args: argparse.Namespace, workdir: Path) -> Measurement:
    """One fleet size; raises RuntimeError, with the end of the daemon's log, when the daemon
    does not start or warm up."""
    log = workdir / f"daemon-{n}.log"
    try:
        return _measure(n, args, workdir, log)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n{_log_tail(log)}") from exc


def _measure(n: int, args: argparse.Namespace, workdir: Path, log: Path) -> Measurement:
    lifetime = args.warmup_limit + args.window + 900.0
    with simulated_fleet(n, args.shard_size, args.interfaces, FLEET_CPU, lifetime) as shards:
        sim_build = sum(s.build_cpu for s in shards)
        print(
            f"  {n:,} devices: {len(shards)} simulator shard(s) ready "
            f"(built in {sim_build:.1f} CPU s)",
            flush=True,
        )
        config = workdir / f"monitor-{n}.yaml"
        config.write_text(
            monitor_yaml(shards, args.interval, workdir / f"var-{n}", args.label_refresh),
            encoding="utf-8",
        )
        check = check_config_process(config, DAEMON_CPU)
        problems = [] if check["exit"] == 0 else [f"check-config: {check['output']}"]
        port = free_tcp_port()
        base = f"http://127.0.0.1:{port}"
        profile_out = RESULTS / f"scale-{args.stamp}-{n}.prof" if args.cprofile else None
        spy_out = RESULTS / f"scale-{args.stamp}-{n}.pyspy.txt" if args.py_spy else None
        spy: subprocess.Popen[bytes] | None = None
        env = {**os.environ, "TRUNKWATCH_LOG_LEVEL": "warning", "HOME": str(workdir)}
        jobs = JOBS_PER_DEVICE * n + sum(len(profiles) for *_, profiles in CENTRE)
        started = time.monotonic()
        with (
            contextlib.ExitStack() as stack,
            process(_daemon_argv(config, port, profile_out), log, DAEMON_CPU, env) as daemon,
        ):
            healthy = f"{base}/-/healthy"
            wait_for("trunkwatch run", lambda: bool(fetch(healthy, 5)), daemon, log, LISTEN_LIMIT_S)
            listening = time.monotonic()
            start_to_listen = listening - started
            rss_at_listen = proc_status(daemon.pid, "VmRSS")

            def guard() -> None:
                rss = proc_status(daemon.pid, "VmRSS")
                if rss > args.rss_limit:
                    raise RuntimeError(f"daemon RSS {rss:.0f} MiB over --rss-limit; stopped")

            def warmed_up() -> bool:
                guard()
                if time.monotonic() < listening + args.interval + 2:
                    return False
                return DaemonCounters.parse(scraped(f"{base}/metrics")[0]).results >= jobs

            # Looked at as often as the window scrapes: more often, the bench's own scrapes
            # (hundreds of MB each at 10,000 devices) would hold back the first rounds.
            wait_for(
                "its first polls", warmed_up, daemon, log, args.warmup_limit, args.scrape_every
            )
            warmup = time.monotonic() - listening
            print(
                f"  {n:,} devices: listening after {start_to_listen:.1f} s, warm after "
                f"{warmup:.0f} s more; settling {args.settle:g} s, measuring {args.window:g} s",
                flush=True,
            )

            rss_track: list[tuple[float, float]] = []

            def scrape_for(start: float, seconds: float) -> list[float]:
                """Scrape every ``--scrape-every`` s, half a period in, from ``start`` to
                ``seconds`` after it, as Prometheus would; how long each scrape took. The
                daemon's RSS after each goes to ``rss_track``."""
                took: list[float] = []
                for k in range(math.ceil(seconds / args.scrape_every)):
                    time.sleep(max(0.0, start + (k + 0.5) * args.scrape_every - time.monotonic()))
                    took.append(
                        timed_fetch(f"{base}/metrics", SCRAPE_TIMEOUT_S, PROMETHEUS_HEADERS)
                    )
                    rss_track.append(
                        (round(time.monotonic() - start, 1), proc_status(daemon.pid, "VmRSS"))
                    )
                    guard()
                time.sleep(max(0.0, start + seconds - time.monotonic()))
                return took

            # The start's backlog (every job's first poll walks its label columns too) is
            # worked off under the window's own scrapes before the steady state is measured.
            scrape_for(time.monotonic(), args.settle)
            rss_track.clear()
            pids = [s.pid for s in shards]
            before = DaemonCounters.parse(scraped(f"{base}/metrics")[0])
            if profile_out is not None:
                daemon.send_signal(signal.SIGUSR1)
            if spy_out is not None:
                spy = stack.enter_context(
                    process(
                        [str(PY_SPY), "record", "-p", str(daemon.pid), "-d", f"{args.window:.0f}",
                         "-r", str(PY_SPY_RATE), "-f", "raw", "--nonblocking", "-o", str(spy_out)],
                        workdir / f"py-spy-{n}.log",
                        FLEET_CPU,
                    )
                )  # fmt: skip
            t0 = time.monotonic()
            cpu0, sim0 = proc_cpu(daemon.pid), sum(proc_cpu(p) for p in pids)
            busy0, _ = cpu_busy_seconds(DAEMON_CPU)
            fleet0, _ = cpu_busy_seconds(FLEET_CPU)
            preempted0 = status_count(daemon.pid, "nonvoluntary_ctxt_switches")
            scrape_s = scrape_for(t0, args.window)  # the window is positive: one scrape or more
            elapsed = time.monotonic() - t0
            cpu = proc_cpu(daemon.pid) - cpu0
            sim_cpu = sum(proc_cpu(p) for p in pids) - sim0
            busy1, _ = cpu_busy_seconds(DAEMON_CPU)
            fleet1, _ = cpu_busy_seconds(FLEET_CPU)
            preempted = status_count(daemon.pid, "nonvoluntary_ctxt_switches") - preempted0
            if profile_out is not None:
                daemon.send_signal(signal.SIGUSR2)
            if spy is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    spy.wait(60)
            # Read after the CPU: this scrape is not part of the window.
            body, gzip_bytes = scraped(f"{base}/metrics")
            after = DaemonCounters.parse(body)
            delta = after.minus(before)
            peak, rss = proc_status(daemon.pid, "VmHWM"), proc_status(daemon.pid, "VmRSS")
            sim_rss = sum(proc_status(p, "VmRSS") for p in pids)
            text_s: float | None = None
            text_peak = math.nan
            if args.text_scrape:
                # The text scrape's own peak: the daemon's high-water mark starts again here.
                with contextlib.suppress(OSError):
                    Path(f"/proc/{daemon.pid}/clear_refs").write_text("5")
                try:
                    text_s = timed_fetch(f"{base}/metrics", SCRAPE_TIMEOUT_S)
                except OSError as exc:
                    problems.append(f"text scrape: {exc}")
                text_peak = proc_status(daemon.pid, "VmHWM")
            stop_s = stop(daemon)
        if daemon.returncode == -signal.SIGKILL:
            problems.append(
                f"the daemon did not stop within {STOP_GRACE_SECONDS:.0f} s of SIGTERM; see {log}"
            )
        elif daemon.returncode not in (0, None, -signal.SIGTERM):
            problems.append(f"the daemon exited {daemon.returncode}; see {log}")
    finished = sum(delta.runs.values())
    failed = finished - delta.runs.get("success", 0.0)
    return Measurement(
        devices=n,
        assets=2 * n + len(CENTRE),
        jobs=int(after.jobs),
        shards=len(shards),
        interval_s=args.interval,
        window_s=round(elapsed, 2),
        config_bytes=config.stat().st_size,
        check_config={k: check[k] for k in ("wall_s", "cpu_s", "peak_rss_mib", "exit")},
        start_to_listen_s=round(start_to_listen, 2),
        rss_at_listen_mib=rss_at_listen,
        warmup_s=round(warmup, 1),
        daemon_cpu_s=cpu,
        daemon_core=cpu / elapsed,
        cpu_ms_per_poll=cpu / finished * 1e3 if finished else math.nan,
        preempted=preempted,
        others_on_daemon_cpu_s=max(0.0, busy1 - busy0 - cpu),
        due=after.jobs * elapsed / args.interval,
        finished=finished,
        failed=failed,
        outcomes=delta.runs,
        skipped=delta.skipped,
        failing_at_end=after.failing,
        results_at_end=after.results,
        lag_p50_s=histogram_quantile(0.50, delta.lag_buckets),
        lag_p99_s=histogram_quantile(0.99, delta.lag_buckets),
        lag_max_bound_s=largest_bound(delta.lag_buckets),
        lag_buckets=list(delta.lag_buckets),
        peak_rss_mib=peak,
        rss_mib=rss,
        rss_track=rss_track,
        scrape_s=scrape_s,
        full_collections=round(delta.full_collections),
        full_collection_s=delta.full_collection_s,
        scrape_bytes=len(body),
        scrape_samples=_samples(body),
        scrape_gzip_bytes=gzip_bytes,
        text_scrape_s=text_s,
        text_peak_rss_mib=text_peak,
        stop_s=stop_s,
        simulator_core=sim_cpu / elapsed,
        simulator_build_cpu_s=sim_build,
        simulator_rss_mib=sim_rss,
        fleet_cpu_busy=(fleet1 - fleet0) / elapsed,
        load_average=os.getloadavg(),
        cprofile=str(profile_out) if profile_out is not None else None,
        py_spy=str(spy_out) if spy_out is not None else None,
        problems=problems,
    )


# -- report ---------------------------------------------------------------------------------


def scraped(url: str) -> tuple[bytes, int]:
    """The text of a scrape asked for as Prometheus asks (gzip), and the size of the body
    that came over the wire."""
    wire, compressed = fetch_gzip(url, SCRAPE_TIMEOUT_S)
    return (gzip.decompress(wire) if compressed else wire), len(wire)


#: (title, cell) of each column of the table.
COLUMNS: tuple[tuple[str, Callable[[Measurement], str]], ...] = (
    ("devices", lambda m: f"{m.devices:,}"),
    ("jobs", lambda m: f"{m.jobs:,}"),
    ("core %", lambda m: f"{m.daemon_core * 100:.1f}"),
    ("CPU ms/poll", lambda m: f"{m.cpu_ms_per_poll:.2f}"),
    ("lag p50 ms", lambda m: ms_cell(m.lag_p50_s)),
    ("lag p99 ms", lambda m: ms_cell(m.lag_p99_s)),
    ("lag max ms", lambda m: bound_cell(m.lag_max_bound_s)),
    ("due", lambda m: f"{m.due:,.0f}"),
    ("finished", lambda m: f"{m.finished:,.0f}"),
    ("failed", lambda m: f"{m.failed:,.0f}"),
    ("skipped", lambda m: f"{m.skipped:,.0f}"),
    ("failing", lambda m: f"{m.failing_at_end:,}"),
    ("peak RSS MiB", lambda m: f"{m.peak_rss_mib:.0f}"),
    ("RSS first→last MiB", lambda m: track_cell(m.rss_track)),
    ("scrape s", lambda m: f"{m.scrape_s_max:.2f}"),
    ("scrape p50 s", lambda m: f"{statistics.median(m.scrape_s):.2f}" if m.scrape_s else "-"),
    ("full GCs", lambda m: f"{m.full_collections}"),
    (
        "full GC ms",
        lambda m: ms_cell(m.full_collection_s / m.full_collections) if m.full_collections else "-",
    ),
    ("scrape MB", lambda m: f"{m.scrape_bytes / 1e6:.1f}"),
    ("series", lambda m: f"{m.scrape_samples:,}"),
    ("gzip MB", lambda m: f"{m.scrape_gzip_bytes / 1e6:.1f}"),
    ("text s", lambda m: "-" if m.text_scrape_s is None else f"{m.text_scrape_s:.2f}"),
    (
        "text peak MiB",
        lambda m: "-" if math.isnan(m.text_peak_rss_mib) else f"{m.text_peak_rss_mib:.0f}",
    ),
    ("stop s", lambda m: "-" if m.stop_s is None else f"{m.stop_s:.1f}"),
    ("check-config s", lambda m: f"{m.check_config['wall_s']:.2f}"),
    ("check-config MiB", lambda m: f"{m.check_config['peak_rss_mib']:.0f}"),
    ("listen s", lambda m: f"{m.start_to_listen_s:.1f}"),
    ("sim core %", lambda m: f"{m.simulator_core * 100:.0f}"),
    ("CPU1 busy %", lambda m: f"{m.fleet_cpu_busy * 100:.0f}"),
    ("others s", lambda m: f"{m.others_on_daemon_cpu_s:.1f}"),
)

#: The figures whose growth with N the report shows: (name, value).
GROWTH: tuple[tuple[str, Callable[[Measurement], float]], ...] = (
    ("core", lambda m: m.daemon_core),
    ("CPU/poll", lambda m: m.cpu_ms_per_poll),
    ("lag p99", lambda m: m.lag_p99_s),
    ("peak RSS", lambda m: m.peak_rss_mib),
    ("scrape s", lambda m: m.scrape_s_max),
    ("scrape MB", lambda m: float(m.scrape_bytes)),
    ("check-config s", lambda m: float(m.check_config["wall_s"])),
    ("listen s", lambda m: m.start_to_listen_s),
    ("sim core", lambda m: m.simulator_core),
)


def table(results: Sequence[Measurement]) -> str:
    rows = [[title for title, _ in COLUMNS]]
    rows += [[cell(m) for _, cell in COLUMNS] for m in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )


def growth_report(results: Sequence[Measurement]) -> tuple[list[str], list[dict[str, Any]]]:
    """One line per step between successive fleet sizes, and the same as JSON."""
    sizes = [float(m.devices) for m in results]
    by_figure = {name: growth(sizes, [get(m) for m in results]) for name, get in GROWTH}
    lines, records = [], []
    for i in range(1, len(results)):
        n = sizes[i] / sizes[i - 1]
        parts: list[str] = []
        record: dict[str, Any] = {"from": results[i - 1].devices, "to": results[i].devices}
        for name, steps in by_figure.items():
            step = steps[i - 1]
            if step is None:
                continue
            _, ratio, exponent = step
            word = (
                "flat"
                if exponent < 0.5
                else "sub-linear"
                if exponent < 0.9
                else ("linear" if exponent <= 1.1 else "worse than linear")
            )
            parts.append(f"{name} ×{ratio:.2f} ({word})")
            record[name] = {"ratio": round(ratio, 3), "exponent": round(exponent, 2)}
        line = f"{results[i - 1].devices:,} → {results[i].devices:,} (×{n:g}): " + ", ".join(parts)
        if max(results[i - 1].daemon_core, results[i].daemon_core) >= SATURATED:
            # A saturated daemon's figures stop growing with N: the work is left undone.
            line += " [daemon saturated: CPU and lag are capped, not flat]"
            record["saturated"] = True
        lines.append(line)
        records.append(record)
    return lines, records


def goal_verdict(results: Sequence[Measurement]) -> dict[str, Any]:
    at_goal = [m for m in results if m.devices >= GOAL_DEVICES and m.interval_s == GOAL_INTERVAL]
    if not at_goal:
        return {"met": None, "why": f"no run with {GOAL_DEVICES:,} devices at {GOAL_INTERVAL:g} s"}
    m = at_goal[0]
    misses = []
    if not m.lag_p99_s < GOAL_P99_LAG:
        misses.append(f"p99 lag {m.lag_p99_s:.2f} s")
    if m.failed or m.skipped or m.failing_at_end:
        misses.append(f"{m.failed:.0f} failed, {m.skipped:.0f} skipped, {m.failing_at_end} failing")
    if not m.peak_rss_mib < GOAL_RSS_MIB:
        misses.append(f"peak RSS {m.peak_rss_mib:.0f} MiB")
    if not m.scrape_s_max < GOAL_SCRAPE_S:
        misses.append(f"scrape {m.scrape_s_max:.2f} s")
    why = (
        f"{m.devices:,} devices at {m.interval_s:g} s: core {m.daemon_core:.0%}, p99 lag "
        f"{ms_cell(m.lag_p99_s)} ms, {m.failed:.0f} failed, {m.skipped:.0f} skipped, peak RSS "
        f"{m.peak_rss_mib:.0f} MiB, scrape {m.scrape_s_max:.2f} s"
    )
    if m.simulator_core > 0.9 or m.fleet_cpu_busy > 0.95:
        why += " (the simulator's CPU was saturated: failures may be its own)"
    return {"met": not misses and m.daemon_core < 1.0, "misses": misses, "why": why}


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else ("+Inf" if math.isinf(value) else value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


# -- driver ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "--devices",
        default=DEFAULT_DEVICES,
        help="comma-separated fleet sizes (default: %(default)s)",
    )
    parser.add_argument("--interval", type=float, default=GOAL_INTERVAL, help="poll interval, s")
    parser.add_argument("--window", type=float, default=120.0, help="measured window per N, s")
    parser.add_argument("--scrape-every", type=float, default=15.0, help="seconds")
    parser.add_argument("--interfaces", type=int, default=8, help="IF-MIB rows per device")
    parser.add_argument(
        "--shard-size",
        type=int,
        default=5000,
        help="devices per simulator process (default: %(default)s)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=None,
        help="seconds between warm-up and window, scraped as in the window (default: one interval)",
    )
    parser.add_argument(
        "--warmup-limit",
        type=float,
        default=None,
        help="longest wait for every job's first result, s",
    )
    parser.add_argument(
        "--rss-limit",
        type=float,
        default=12288.0,
        help="stop a fleet size when the daemon's RSS passes this many MiB (default: %(default)s)",
    )
    parser.add_argument(
        "--label-refresh",
        type=float,
        default=None,
        help="every SNMP probe's label_refresh, s (default: the probe's, 15 minutes)",
    )
    parser.add_argument(
        "--no-text-scrape",
        dest="text_scrape",
        action="store_false",
        help="skip the scrape that does not ask for gzip after the window",
    )
    parser.add_argument(
        "--py-spy",
        action="store_true",
        help="sample the daemon with py-spy over the window (pip install py-spy)",
    )
    parser.add_argument(
        "--cprofile",
        action="store_true",
        help="cProfile the daemon over the window; prints its top functions",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke check: 200 devices, 5 s interval, 15 s window (< 1 min)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.devices, args.interval, args.window, args.scrape_every = "200", 5.0, 15.0, 5.0
    try:
        args.sizes = [int(part) for part in args.devices.split(",") if part.strip()]
    except ValueError:
        parser.error(f"--devices: expected comma-separated integers, got {args.devices!r}")
    if not args.sizes or min(args.sizes) < 1 or max(args.sizes) > 50_000:
        parser.error("--devices: each between 1 and 50,000")
    if not (0 < args.interval <= 600 and 0 < args.window <= 1800 and args.scrape_every > 0):
        parser.error("--interval (≤ 600 s), --window (≤ 1800 s), --scrape-every: positive")
    if not 1 <= args.interfaces <= 64 or not 1 <= args.shard_size <= 20_000:
        parser.error("--interfaces: 1–64; --shard-size: 1–20,000")
    if args.py_spy and not PY_SPY.exists():
        parser.error(f"--py-spy: no {PY_SPY} (pip install py-spy)")
    if args.warmup_limit is None:
        args.warmup_limit = 2 * args.interval + 240.0
    if args.settle is None:
        args.settle = args.interval
    if not 0 <= args.settle <= 1800:
        parser.error("--settle: 0–1800 s")
    if args.label_refresh is not None and not 10 <= args.label_refresh <= 86_400:
        parser.error("--label-refresh: 10–86,400 s")
    args.stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if (os.cpu_count() or 1) < 2:
        print("the scale bench needs two CPUs (daemon on one, devices on the other)")
        return 2
    # The driver's own work (scrapes, counting) goes with the devices, not with the daemon.
    pin(os.getpid(), FLEET_CPU)
    # Stopped from outside, still stop every child on the way out (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    RESULTS.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    print(
        f"scale bench: devices {args.devices}, interval {args.interval:g} s, window "
        f"{args.window:g} s, scrape every {args.scrape_every:g} s, {args.interfaces} interfaces, "
        f"≤ {args.shard_size:,} devices per simulator; daemon on CPU {DAEMON_CPU}, devices on "
        f"CPU {FLEET_CPU}; load average {load_before[0]:.2f}",
        flush=True,
    )
    results: list[Measurement] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="tw-scale-") as tmp:
        for n in args.sizes:
            try:
                results.append(measure(n, args, Path(tmp)))
                print(textwrap.indent(table(results[-1:]), "    "), flush=True)
            except RuntimeError as exc:
                failures.append(f"{n:,} devices: {exc}")
                print(f"  {n:,} devices: not measured: {exc}", file=sys.stderr, flush=True)
    print()
    print(table(results))
    lines, records = growth_report(results)
    if lines:
        print("\ngrowth from one fleet size to the next (ratio of each figure):")
        for line in lines:
            print(f"  {line}")
    verdict = goal_verdict(results)
    state = {True: "met", False: "NOT met", None: "not measured"}[verdict["met"]]
    print(
        f"\ngoal ({GOAL_DEVICES:,} devices at {GOAL_INTERVAL:g} s on one core: p99 lag < 1 s, "
        f"0 failed or skipped, RSS < 1 GiB, scrape < 1 s): {state} — {verdict['why']}"
    )
    for m in results:
        if m.py_spy and Path(m.py_spy).exists():
            summary = py_spy_summary(Path(m.py_spy))
            print(f"\npy-spy, the daemon over the window, {m.devices:,} devices "
                  f"({summary['busy_samples']:,} busy samples at {PY_SPY_RATE}/s):")  # fmt: skip
            for title in ("own", "inclusive"):
                print(f"  {title} time:")
                for share, frame in summary[title]:
                    print(f"    {share:6.1%}  {frame}")
        if m.cprofile:
            print(f"\ncProfile of the daemon over the window, {m.devices:,} devices:")
            print_cprofile(Path(m.cprofile))
    report = {
        "bench": "scale",
        "started": args.stamp,
        "host": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "daemon_cpu": DAEMON_CPU,
            "fleet_cpu": FLEET_CPU,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "settings": {
            k: getattr(args, k)
            for k in (
                "interval",
                "window",
                "scrape_every",
                "interfaces",
                "shard_size",
                "warmup_limit",
                "settle",
                "label_refresh",
                "rss_limit",
                "text_scrape",
                "cprofile",
                "py_spy",
            )
        },
        "lag_source": "trunkwatch_scheduler_lag_seconds histogram buckets, window delta",
        "results": [_json_safe(asdict(m)) for m in results],
        "growth": records,
        "goal": verdict,
        "not_measured": failures,
    }
    out = RESULTS / f"scale-{args.stamp}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"written {out}")
    problems = failures + [f"{m.devices:,} devices: {p}" for m in results for p in m.problems]
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems or not results else 0


if __name__ == "__main__":
    sys.exit(main())

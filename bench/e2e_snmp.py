"""End-to-end SNMP bench: the whole daemon against Debian's snmp_exporter, both real processes
polling the same real net-snmp agents, CPU per varbind and per exported sample of each.

Everything runs in a private network namespace (root and iproute2 needed; ``--no-netns`` keeps
to the host's loopback, with whatever interfaces the host has) holding about ``--interfaces``
extra interfaces (veth pairs) besides ``lo``. In it ``--devices`` real ``snmpd`` agents (the
test fixture's, ``tests/integration/snmpd.py``) listen on 127.0.0.2, 127.0.0.3 …: each answers
for the namespace's whole interface table, so each is a device of ~200 ports.

- trunkwatch: ``trunkwatch run`` with a generated configuration (one asset per agent, one SNMP
  probe of the chosen profile, every ``--interval`` seconds), pinned to a core; its ``/metrics``
  is scraped once per interval, as Prometheus would (asking for gzip, as Prometheus does; both
  processes then answer in gzip, each at its own cost).
- snmp_exporter: ``prometheus-snmp-exporter`` with a module generated from the same profile
  (``exporter_module``: every column, scalar and label the profile reads, walked on every
  scrape, the labels as lookups), pinned to the other core; ``/snmp?target=…`` is scraped once
  per agent per interval, as Prometheus scrapes one target per device. Runs alternate the two
  cores (``CORES``).

After a warm-up (trunkwatch's first polls walk the label columns too) the bench reads each
process's CPU (``/proc/PID/stat``, user + system) at the start and the end of a fixed window
of whole intervals, and scrapes both at the start of every interval inside it. Per process:

- varbinds: trunkwatch's polls in the window (``trunkwatch_scheduler_runs_total``) times its
  varbinds per poll (``trunkwatch_snmp_varbinds``); the exporter's ``snmp_scrape_pdus_returned``
  summed over its scrapes (it walks its lookup columns on every scrape, trunkwatch every
  ``label_refresh``, 15 minutes);
- exported samples: device series in the scrape bodies, summed over the scrapes; not the
  exporters' own bookkeeping (``snmp_scrape_*``; trunkwatch's ``trunkwatch_probe_*``, its
  varbind, invalid value and reboot counts, and every series without an ``asset`` label);
- CPU per varbind and per sample, the ratio trunkwatch / exporter (goal: ≤ 0.5 per varbind,
  ≤ 0.4 per sample) and peak RSS (``VmHWM``) of both (goal: ≤ 3× the exporter's).

The agents' CPU is counted for neither side. Profiles: ``if_mib`` and ``host_resources`` over
SNMPv2c, and ``v3``: ``if_mib`` over SNMPv3 authPriv (SHA/AES), trunkwatch's USM codec.
``--repeat N`` runs the whole measurement N times with fresh processes and reports the median
run (by the per-varbind ratio). ``--cprofile`` runs the daemon under cProfile for the window
only (started and dumped by signals) and prints its top functions.

    python -m bench.e2e_snmp --quick                      # smoke check: 4 devices, 20 s
    python -m bench.e2e_snmp --profile if_mib --repeat 3  # 20 devices, 60 s windows, as root
    python -m bench.e2e_snmp --profile all
    python -m bench.e2e_snmp --profile if_mib --cprofile  # where the daemon's time goes
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bench.processes import (
    REPO,
    fetch_gzip,
    free_tcp_port,
    get,
    proc_cpu,
    proc_status,
    process,
    run_in_namespace,
    status_count,
    text_of,
    wait_for,
)
from tests.integration.snmpd import COMMUNITY, SnmpdInstance, V3User, start_snmpd

RESULTS = REPO / "bench" / "results"
EXPORTER = "prometheus-snmp-exporter"
PROFILES = ("if_mib", "host_resources", "v3")
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
#: Which core each side is pinned to, by run of a profile: the runs alternate them (with an
#: odd ``--repeat`` the first layout has one run more; with one run, each side keeps its
#: first core). The two cores of a host need not be alike (the kernel may count the softirq
#: work of packets handled on a core in the process running there): on this bench's host the
#: same side's CPU per varbind differed by up to a quarter between them within an hour, not
#: always the same way round. Alternating puts both sides on both cores.
CORES = ((0, 1), (1, 0))
#: Times a process was switched out while it still wanted its core, over the window: on a
#: core it shares with the agents, each is a cache it finds cold again, CPU it is charged for.
PREEMPTED = "nonvoluntary_ctxt_switches"
#: trunkwatch's series about its polls rather than the device, like snmp_exporter's snmp_scrape_*.
BOOKKEEPING = (
    "trunkwatch_probe_",
    "trunkwatch_snmp_varbinds",
    "trunkwatch_snmp_invalid_values_total",
    "trunkwatch_snmp_device_reboots_total",
)


# --- the exporter's module for a profile ------------------------------------------------------


def _profile_spec(name: str) -> dict[str, Any]:
    path = REPO / "probes" / "snmp" / "profiles" / f"{name}.yaml"
    spec: dict[str, Any] = yaml.safe_load(path.read_text())
    return spec


def _oid_of(label: str | dict[str, Any]) -> str:
    return label if isinstance(label, str) else str(label["oid"])


def exporter_module(profile: str, auth: dict[str, Any], version: int) -> dict[str, Any]:
    """snmp_exporter 0.21's module reading what ``profile`` (and what it includes) reads.

    Every object trunkwatch polls becomes one metric (a stateset as ``EnumAsStateSet``, a
    counter as ``counter``, anything else as ``gauge``); the columns a metric is computed from
    (``multiply_by``, ``high_capacity``) are metrics of their own, since the exporter has no
    arithmetic; a table's labels are lookups on its index; scalars are fetched with GET, as
    trunkwatch does, and so is sysUpTime.0, which trunkwatch reads on every poll. Fallback
    columns, walked by trunkwatch only when the primary one is missing, are left out.
    """
    metrics: list[dict[str, Any]] = []
    walk: list[str] = []
    get: list[str] = [SYS_UPTIME]
    names: set[str] = set()

    def add(name: str, oid: str, kind: str, **extra: Any) -> None:
        base = name
        n = 2
        while name in names:  # the exporter wants unique metric names per module
            name, n = f"{base}_{n}", n + 1
        names.add(name)
        metrics.append({"name": name, "oid": oid, "type": kind, "help": name, **extra})

    add("sysUpTime", SYS_UPTIME.removesuffix(".0"), "gauge")
    pending, seen = [profile], set()
    while pending:
        spec = _profile_spec(pending.pop())
        for include in spec.get("include", []):
            if include not in seen:
                seen.add(include)
                pending.append(include)
        for scalar in spec.get("scalars", []):
            if scalar.get("type") == "info":
                for label, oid in scalar.get("labels", {}).items():
                    get.append(_oid_of(oid))
                    add(
                        f"{scalar['name']}_{label}",
                        _oid_of(oid).removesuffix(".0"),
                        "DisplayString",
                    )
                continue
            get.append(scalar["oid"])
            add(scalar["name"], scalar["oid"].removesuffix(".0"), "gauge")
        for table in spec.get("tables", []):
            indexes = [{"labelname": i["label"], "type": "gauge"} for i in table["index"]]
            lookups = [
                {"labels": [i["label"] for i in table["index"]], "labelname": label,
                 "oid": _oid_of(item), "type": "DisplayString"}
                for label, item in table.get("labels", {}).items()
            ]  # fmt: skip
            walk.extend(lookup["oid"] for lookup in lookups)
            common = {"indexes": indexes, "lookups": lookups}
            for metric in table["metrics"]:
                walk.append(metric["oid"])
                if metric.get("type") == "stateset":
                    enum = {int(k): str(v) for k, v in metric["enum"].items()}
                    add(metric["name"], metric["oid"], "EnumAsStateSet", enum_values=enum, **common)
                else:
                    kind = "counter" if metric.get("type") == "counter" else "gauge"
                    add(metric["name"], metric["oid"], kind, **common)
                for extra in (
                    metric.get("multiply_by"),
                    (metric.get("high_capacity") or {}).get("oid"),
                ):
                    if extra and extra not in walk:
                        walk.append(extra)
                        add(f"{metric['name']}_source", extra, "gauge", **common)
    return {
        "walk": list(dict.fromkeys(walk)),
        "get": list(dict.fromkeys(get)),
        "metrics": metrics,
        "version": version,
        "max_repetitions": 25,  # trunkwatch's default
        "retries": 1,
        "timeout": "5s",
        "auth": auth,
    }


# --- configurations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """What one profile argument means: the SNMP profile, the version and its credentials."""

    name: str
    profile: str
    v3: bool


def case(name: str) -> Case:
    return Case(name, "if_mib" if name == "v3" else name, name == "v3")


def v3_user(agent: SnmpdInstance) -> V3User:
    return agent.v3_user("SHA")  # SHA-1/AES-128: what both sides support


def trunkwatch_config(c: Case, agents: list[SnmpdInstance], interval: int) -> dict[str, Any]:
    if c.v3:
        user = v3_user(agents[0])
        credentials = {"user": user.name, "auth_key": user.auth_key, "priv_key": user.priv_key}
        probe = {"module": "snmp", "profile": c.profile, "version": 3, "auth_protocol": "sha",
                 "priv_protocol": "aes"}  # fmt: skip
    else:
        credentials = {"community": agents[0].community}
        probe = {"module": "snmp", "profile": c.profile}
    return {
        "defaults": {"interval": f"{interval}s", "timeout": "5s"},
        "limits": {"concurrency": 256, "per_device": 4},
        "credentials": {"agents": credentials},
        "sites": [{"id": "lab", "name": "lab"}],
        "assets": [
            {
                "id": f"dev{i:03d}",
                "site": "lab",
                "system": "network",
                "kind": "switch",
                "address": f"{agent.host}:{agent.port}",
                "credentials": "agents",
                "probes": [probe],
            }
            for i, agent in enumerate(agents)
        ],
    }


def exporter_config(c: Case, agents: list[SnmpdInstance]) -> str:
    if c.v3:
        user = v3_user(agents[0])
        auth: dict[str, Any] = {"username": user.name, "security_level": "authPriv",
                                "password": user.auth_key, "auth_protocol": "SHA",
                                "priv_protocol": "AES", "priv_password": user.priv_key}  # fmt: skip
        module = exporter_module(c.profile, auth, 3)
    else:
        module = exporter_module(c.profile, {"community": agents[0].community}, 2)
    # 0.21 keeps modules at the top level (later versions nest them under "modules").
    return yaml.safe_dump({c.name: module}, sort_keys=False)


# --- counting ---------------------------------------------------------------------------------


def _series(body: str) -> Iterator[tuple[str, str, float]]:
    """(metric name, labels text, value) of every sample line."""
    for line in body.splitlines():
        if not line or line[0] == "#":
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        yield name, labels, float(value)


def trunkwatch_counts(body: str) -> dict[str, float]:
    samples = lines = runs = varbinds = devices = 0.0
    for name, labels, value in _series(body):
        lines += 1
        if name == "trunkwatch_scheduler_runs_total":
            runs += value
        elif name == "trunkwatch_snmp_varbinds":
            varbinds += value
            devices += 1
        if 'asset="' in labels and not name.startswith(BOOKKEEPING):
            samples += 1
    return {"samples": samples, "lines": lines, "runs": runs,
            "varbinds_per_poll": varbinds / devices if devices else 0.0}  # fmt: skip


def exporter_counts(body: str) -> dict[str, float]:
    samples = varbinds = 0.0
    for name, _, value in _series(body):
        if name == "snmp_scrape_pdus_returned":
            varbinds += value
        elif not name.startswith("snmp_scrape_"):
            samples += 1
    return {"samples": samples, "varbinds": varbinds}


# --- one measurement --------------------------------------------------------------------------


@dataclass
class Side:
    name: str
    cpu_s: float
    varbinds: float
    samples: float
    peak_rss_mib: float
    rss_mib: float
    scrapes: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def us_per_varbind(self) -> float:
        return self.cpu_s / self.varbinds * 1e6 if self.varbinds else float("nan")

    @property
    def us_per_sample(self) -> float:
        return self.cpu_s / self.samples * 1e6 if self.samples else float("nan")

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "us_per_varbind": self.us_per_varbind,
                "us_per_sample": self.us_per_sample}  # fmt: skip


def measure(
    c: Case, agents: list[SnmpdInstance], args: argparse.Namespace, workdir: Path, run: int
) -> dict[str, Any]:
    cfg = workdir / f"monitor-{c.name}-{run}.yaml"
    cfg.write_text(yaml.safe_dump(trunkwatch_config(c, agents, args.interval), sort_keys=False))
    snmp_yml = workdir / f"snmp-{c.name}-{run}.yml"
    snmp_yml.write_text(exporter_config(c, agents))
    tw_port, ex_port = free_tcp_port(), free_tcp_port()
    tw_log, ex_log = workdir / f"trunkwatch-{run}.log", workdir / f"exporter-{run}.log"
    profile_out = RESULTS / f"e2e_snmp-{c.name}-{args.stamp}-{run}.prof"
    tw_argv = [sys.executable, "-m", "monitor.cli", "run", "-c", str(cfg),
               "--listen", f"127.0.0.1:{tw_port}"]  # fmt: skip
    if args.cprofile:
        tw_argv = [sys.executable, "-m", "bench.e2e_snmp", "--profiled", str(profile_out),
                   "--", *tw_argv[3:]]  # fmt: skip
    tw_cpu, ex_cpu = CORES[run % len(CORES)]
    ex_argv = [shutil.which(EXPORTER) or EXPORTER, f"--config.file={snmp_yml}",
               f"--web.listen-address=127.0.0.1:{ex_port}", "--log.level=warn"]  # fmt: skip
    env = {**os.environ, "TRUNKWATCH_LOG_LEVEL": "warning", "HOME": str(workdir)}
    tw_url = f"http://127.0.0.1:{tw_port}/metrics"
    ex_urls = [
        f"http://127.0.0.1:{ex_port}/snmp?module={c.name}&target={a.host}:{a.port}" for a in agents
    ]
    with (
        process(tw_argv, tw_log, tw_cpu, env) as tw,
        process(ex_argv, ex_log, ex_cpu) as ex,
    ):

        def all_polled() -> bool:
            body = get(tw_url)
            ok = body.count("trunkwatch_probe_success{")
            return ok >= len(agents) and "trunkwatch_snmp_varbinds{" in body

        wait_for("trunkwatch", all_polled, tw, tw_log, 60 + 2 * args.interval)
        wait_for("snmp_exporter", lambda: bool(get(ex_urls[0])), ex, ex_log, 30)
        for url in ex_urls:  # the exporter's first scrapes (its v3 engine discovery) go first
            get(url)
        time.sleep(args.interval)  # every device polled once more after its label walk
        idle_rss = {
            "trunkwatch": proc_status(tw.pid, "VmRSS"),
            "exporter": proc_status(ex.pid, "VmRSS"),
        }
        rounds = max(1, round(args.window / args.interval))
        tw_body0 = get(tw_url)
        start = trunkwatch_counts(tw_body0)
        if args.cprofile:
            tw.send_signal(signal.SIGUSR1)
        t0 = time.monotonic()
        cpu0 = {"tw": proc_cpu(tw.pid), "ex": proc_cpu(ex.pid)}
        preempted0 = {"tw": status_count(tw.pid, PREEMPTED), "ex": status_count(ex.pid, PREEMPTED)}
        tw_samples = ex_samples = ex_varbinds = 0.0
        scrape_s: dict[str, list[float]] = {"trunkwatch": [], "exporter": []}
        bytes_tw = wire_tw = 0
        for k in range(rounds):
            time.sleep(max(0.0, t0 + k * args.interval - time.monotonic()))
            # Timed to the last byte read, as Prometheus reads it; decompressed after.
            s0 = time.perf_counter()
            wire, compressed = fetch_gzip(tw_url)
            scrape_s["trunkwatch"].append(time.perf_counter() - s0)
            body = text_of(wire, compressed)
            bytes_tw, wire_tw = len(body), len(wire)
            tw_samples += trunkwatch_counts(body)["samples"]
            bodies: list[tuple[bytes, bool]] = []
            s0 = time.perf_counter()
            for url in ex_urls:
                bodies.append(fetch_gzip(url))
            scrape_s["exporter"].append(time.perf_counter() - s0)
            for wire, compressed in bodies:
                counts = exporter_counts(text_of(wire, compressed))
                ex_samples += counts["samples"]
                ex_varbinds += counts["varbinds"]
        time.sleep(max(0.0, t0 + rounds * args.interval - time.monotonic()))
        cpu = {"tw": proc_cpu(tw.pid) - cpu0["tw"], "ex": proc_cpu(ex.pid) - cpu0["ex"]}
        preempted = {
            "tw": status_count(tw.pid, PREEMPTED) - preempted0["tw"],
            "ex": status_count(ex.pid, PREEMPTED) - preempted0["ex"],
        }
        elapsed = time.monotonic() - t0
        if args.cprofile:
            tw.send_signal(signal.SIGUSR2)
            time.sleep(2.0)
        end = trunkwatch_counts(get(tw_url))
        polls = end["runs"] - start["runs"]
        # The last scrape above is inside the window; the one just made, after it, only
        # reads the counters, so its cost is not in the window's CPU.
        sides = [
            Side("trunkwatch", cpu["tw"], polls * end["varbinds_per_poll"], tw_samples,
                 proc_status(tw.pid, "VmHWM"), proc_status(tw.pid, "VmRSS"), rounds,
                 {"polls": polls, "varbinds_per_poll": end["varbinds_per_poll"],
                  "samples_per_scrape": tw_samples / rounds, "lines_per_scrape": end["lines"],
                  "scrape_bytes": bytes_tw, "scrape_gzip_bytes": wire_tw,
                  "scrape_s_max": max(scrape_s["trunkwatch"]),
                  "idle_rss_mib": idle_rss["trunkwatch"], "preempted": preempted["tw"]}),
            Side("snmp_exporter", cpu["ex"], ex_varbinds, ex_samples,
                 proc_status(ex.pid, "VmHWM"), proc_status(ex.pid, "VmRSS"), rounds * len(agents),
                 {"varbinds_per_scrape": ex_varbinds / (rounds * len(agents)),
                  "samples_per_scrape": ex_samples / (rounds * len(agents)),
                  "round_s_max": max(scrape_s["exporter"]),
                  "idle_rss_mib": idle_rss["exporter"], "preempted": preempted["ex"]}),
        ]  # fmt: skip
        expected = rounds * len(agents)
        if abs(polls - expected) > len(agents):
            print(f"warning: trunkwatch polled {polls:.0f} times, {expected} due", file=sys.stderr)
    ours, theirs = sides
    result: dict[str, Any] = {
        "case": c.name,
        "run": run,
        "window_s": round(elapsed, 1),
        "cores": {"trunkwatch": tw_cpu, "exporter": ex_cpu},
        "sides": [s.as_json() for s in sides],
        "ratio_per_varbind": ours.us_per_varbind / theirs.us_per_varbind,
        "ratio_per_sample": ours.us_per_sample / theirs.us_per_sample,
        "ratio_peak_rss": ours.peak_rss_mib / theirs.peak_rss_mib,
        "loadavg": os.getloadavg(),
    }
    if args.cprofile:
        result["cprofile"] = str(profile_out)
    return result


def print_run(result: dict[str, Any]) -> None:
    cores = result["cores"]
    print(f"{result['case']} run {result['run']}: window {result['window_s']} s, trunkwatch on "
          f"core {cores['trunkwatch']}, the exporter on core {cores['exporter']}")  # fmt: skip
    print(f"  {'side':<14} {'CPU s':>7} {'varbinds':>9} {'samples':>8} {'µs/varbind':>11} "
          f"{'µs/sample':>10} {'peak MiB':>9} {'idle MiB':>9} {'preempted':>9}")  # fmt: skip
    for s in result["sides"]:
        print(
            f"  {s['name']:<14} {s['cpu_s']:>7.2f} {s['varbinds']:>9.0f} {s['samples']:>8.0f} "
            f"{s['us_per_varbind']:>11.2f} {s['us_per_sample']:>10.2f} "
            f"{s['peak_rss_mib']:>9.1f} {s['extra']['idle_rss_mib']:>9.1f} "
            f"{s['extra']['preempted']:>9,}"
        )
    print(
        f"  trunkwatch / exporter: {result['ratio_per_varbind']:.2f} per varbind (goal ≤ 0.5), "
        f"{result['ratio_per_sample']:.2f} per sample (goal ≤ 0.4), "
        f"{result['ratio_peak_rss']:.1f}× peak RSS (goal ≤ 3)"
    )


def print_cprofile(path: Path, top: int = 25) -> None:
    import pstats

    if not path.exists():
        print(f"no profile written at {path}")
        return
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    # Own time by where the code lives; the event loop's wait in epoll is idle, not work.
    areas: dict[str, float] = {}
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, tottime, _, _) in raw.items():
        if "epoll" in function:
            area = "idle (epoll wait)"
        elif str(REPO) in filename:
            area = str(Path(filename).relative_to(REPO).with_suffix(""))
        elif filename == "~":
            owner = function.partition(" of '")[2].partition("'")[0]
            area = f"built-in methods of {owner}" if owner else "built-in functions"
        else:
            area = next(
                (lib for lib in ("asyncio", "aiohttp", "prometheus_client", "multidict", "yarl",
                                 "logging", "selectors", "socket")
                 if f"/{lib}/" in filename or f"/{lib}.py" in filename),
                "other library",
            )  # fmt: skip
        areas[area] = areas.get(area, 0.0) + tottime
    busy = sum(v for k, v in areas.items() if not k.startswith("idle"))
    print(f"own time by area, share of {busy:.2f} s busy:")
    for area, seconds in sorted(areas.items(), key=lambda kv: -kv[1])[:30]:
        if not area.startswith("idle"):
            print(f"  {seconds / busy:>6.1%}  {seconds:>7.3f} s  {area}")


# --- driver -----------------------------------------------------------------------------------


def run_inside(args: argparse.Namespace) -> int:
    if shutil.which(EXPORTER) is None:
        print(f"{EXPORTER} not installed (apt-get install {EXPORTER})", file=sys.stderr)
        return 2
    RESULTS.mkdir(exist_ok=True)
    cases = [case(n) for n in (PROFILES if args.profile == "all" else (args.profile,))]
    summary: dict[str, Any] = {
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "netns": args.inside,
        "devices": args.devices,
        "interval_s": args.interval,
        "window_s": args.window,
        "cases": {},
    }
    with tempfile.TemporaryDirectory(prefix="tw-e2e-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        agents = [
            stack.enter_context(
                start_snmpd(
                    workdir,
                    # Requests to 127.0.0.N leave from 127.0.0.1: the whole loopback net asks.
                    extra_config=f"rocommunity {COMMUNITY} 127.0.0.0/8",
                    host=f"127.0.0.{2 + i}",
                    name=f"agent{i}",
                    sys_name=f"dev{i:03d}",
                )
            )
            for i in range(args.devices)
        ]
        rows = agents[0].run_tool("snmpbulkwalk", "-On", "-Oq", "1.3.6.1.2.1.2.2.1.1").count("\n")
        summary["interfaces_per_device"] = rows
        print(f"{args.devices} agents, {rows} interfaces each"
              f"{' (network namespace)' if args.inside else ' (host loopback)'}")  # fmt: skip
        for c in cases:
            runs = []
            for run in range(args.repeat):
                result = measure(c, agents, args, workdir, run)
                print_run(result)
                runs.append(result)
                if args.cprofile and "cprofile" in result:
                    print_cprofile(Path(result["cprofile"]))
            # The median run by CPU per varbind (of an even count, the lower middle one): the
            # summary prints that run's own figures, so a row is one run's.
            ordered = sorted(runs, key=lambda r: r["ratio_per_varbind"])
            median = ordered[(len(ordered) - 1) // 2]
            summary["cases"][c.name] = {
                "runs": runs,
                "median_run": median["run"],
                "median_ratio_per_varbind": statistics.median(r["ratio_per_varbind"] for r in runs),
                "median_ratio_per_sample": statistics.median(r["ratio_per_sample"] for r in runs),
                "median_ratio_peak_rss": statistics.median(r["ratio_peak_rss"] for r in runs),
            }
    print()
    print(
        f"{'profile':<16} {'runs':>4} {'tw µs/vb':>9} {'ex µs/vb':>9} {'ratio/vb':>9} "
        f"{'tw µs/sa':>9} {'ex µs/sa':>9} {'ratio/sa':>9} {'tw MiB':>7} {'ex MiB':>7} "
        f"{'×RSS':>5} {'tw core':>7}"
    )
    for name, entry in summary["cases"].items():
        run = entry["runs"][entry["median_run"]]
        tw, ex = run["sides"]
        print(
            f"{name:<16} {len(entry['runs']):>4} {tw['us_per_varbind']:>9.2f} "
            f"{ex['us_per_varbind']:>9.2f} {run['ratio_per_varbind']:>9.2f} "
            f"{tw['us_per_sample']:>9.2f} {ex['us_per_sample']:>9.2f} "
            f"{run['ratio_per_sample']:>9.2f} {tw['peak_rss_mib']:>7.1f} "
            f"{ex['peak_rss_mib']:>7.1f} {run['ratio_peak_rss']:>5.1f} "
            f"{run['cores']['trunkwatch']:>7}"
        )
    out = RESULTS / f"e2e_snmp-{args.profile}-{args.stamp}.json"
    out.write_text(json.dumps(summary, indent=2))
    print(f"written {out}")
    return 0


def run_profiled(out: str, argv: list[str]) -> int:
    """Run ``trunkwatch`` with cProfile switched on by SIGUSR1 and dumped to ``out`` by SIGUSR2."""
    import cProfile

    from monitor.cli import main as trunkwatch

    profiler = cProfile.Profile()

    def start(*_: object) -> None:
        profiler.enable()

    def stop(*_: object) -> None:
        profiler.disable()
        profiler.dump_stats(out)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    # As the program runs it (``main`` reading ``sys.argv``), so it ends its process as the
    # program does once stopped: the scale bench times that stop.
    sys.argv = ["trunkwatch", *argv]
    return trunkwatch()


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--profiled":
        return run_profiled(sys.argv[2], sys.argv[4:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=[*PROFILES, "all"], default="if_mib")
    parser.add_argument("--devices", type=int, default=20, help="snmpd agents (default 20)")
    parser.add_argument("--interfaces", type=int, default=200, help="interfaces in the namespace")
    parser.add_argument("--interval", type=int, default=10, help="poll and scrape interval, s")
    parser.add_argument("--window", type=float, default=60.0, help="measured window, s")
    parser.add_argument("--repeat", type=int, default=1, help="runs per profile; median reported")
    parser.add_argument("--quick", action="store_true", help="smoke check: 4 devices, 20 s")
    parser.add_argument("--no-netns", action="store_true", help="host loopback, no namespace")
    parser.add_argument("--cprofile", action="store_true", help="cProfile the daemon's window")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stamp", default=datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args()
    if args.quick:
        args.devices, args.window = min(args.devices, 4), 20.0
    if not args.inside and not args.no_netns:
        if os.geteuid() != 0 or shutil.which("ip") is None:
            print("a network namespace needs root and iproute2; --no-netns runs on the host's "
                  "loopback", file=sys.stderr)  # fmt: skip
            return 2
        command = [sys.executable, "-m", "bench.e2e_snmp", "--inside", *sys.argv[1:]]
        return run_in_namespace(args.interfaces, command, prefix="twe2e")
    return run_inside(args)


if __name__ == "__main__":
    sys.exit(main())

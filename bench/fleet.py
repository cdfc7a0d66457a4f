"""A large simulated fleet and the monitor polling it, each on its own core.

Builds an N-site city (the demo city's sites repeated, each base station with its power plant
on the same agent), runs ``trunkwatch simulate`` pinned to one CPU and ``trunkwatch run``
pinned to the other, both as real processes over loopback SNMP, for a bounded time, and
reports the CPU each used, the share of polls that succeeded and the scrape size.

    python -m bench.fleet --sites 200 --interval 15 --duration 60
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from monitor.simulator.fleet import DEFAULT_FLEET

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_config(sites: int, interval: int, base_port: int) -> dict[str, Any]:
    template = DEFAULT_FLEET["sites"]
    sim_sites = []
    monitor_sites: list[dict[str, Any]] = [{"id": "hq", "name": "中心"}]
    assets: list[dict[str, Any]] = []
    for n in range(sites):
        site = copy.deepcopy(template[n % len(template)])
        site_id = f"s{n:04d}"
        site.update(id=f"bs-{site_id}", parent=None, port=base_port + n)
        site.pop("parent_port", None)
        sim_sites.append(site)
        monitor_sites.append({"id": site_id, "name": f"{site['name']} {n}", "parent": "hq"})
        address = f"127.0.0.1:{base_port + n}"
        common = {"site": site_id, "address": address, "credentials": "sim"}
        assets.append(
            {"id": f"bs-{site_id}", "system": "radio", "kind": "tetra_bs", **common,
             "probes": [{"module": "snmp", "profile": "trunked_bs"},
                        {"module": "snmp", "profile": "if_mib"}]}
        )  # fmt: skip
        assets.append(
            {"id": f"ups-{site_id}", "system": "power", "kind": "ups", **common,
             "probes": [{"module": "snmp", "profile": "ups_mib"}]}
        )  # fmt: skip
    return {
        "defaults": {"interval": f"{interval}s", "timeout": "5s"},
        "limits": {"concurrency": 256, "per_device": 4},
        "credentials": {"sim": {"community": "public"}},
        "sites": monitor_sites,
        "assets": assets,
        "simulator": {
            "seed": 2016,
            "agent": {"host": "127.0.0.1", "base_port": base_port, "community": "public"},
            "defaults": DEFAULT_FLEET["defaults"],
            "sites": sim_sites,
        },
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def start(args: list[str], cpu: int, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", *args],
        cwd=REPO,
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "TRUNKWATCH_LOG_LEVEL": "warning"},
    )
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(process.pid, {cpu})
    return process


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
        body: bytes = response.read()
    return body.decode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--interval", type=int, default=15)
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    config_path = RESULTS / f"fleet-{stamp}.yaml"
    base_port = 21000
    config = build_config(args.sites, args.interval, base_port)
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    listen, control = free_port(), free_port()
    sim = start(
        ["simulate", "-c", str(config_path), "--control", f"127.0.0.1:{control}"],
        1,
        RESULTS / f"fleet-{stamp}-sim.log",
    )
    time.sleep(2.0)  # the agents bind before the first poll
    mon = start(
        ["run", "-c", str(config_path), "--listen", f"127.0.0.1:{listen}"],
        0,
        RESULTS / f"fleet-{stamp}-monitor.log",
    )
    url = f"http://127.0.0.1:{listen}/metrics"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                scrape(url)
                break
            except OSError:
                time.sleep(0.2)
        # Skip start-up (imports, first load) and measure a steady window.
        time.sleep(args.interval)
        sim0, mon0, t0 = cpu_seconds(sim.pid), cpu_seconds(mon.pid), time.monotonic()
        scrapes = []
        end = t0 + args.duration
        while time.monotonic() < end:
            s0 = time.perf_counter()
            body = scrape(url)
            scrapes.append((time.perf_counter() - s0, len(body)))
            time.sleep(min(15.0, max(0.0, end - time.monotonic())))
        elapsed = time.monotonic() - t0
        sim_cpu, mon_cpu = cpu_seconds(sim.pid) - sim0, cpu_seconds(mon.pid) - mon0
        body = scrape(url)
    finally:
        for process in (mon, sim):
            process.send_signal(signal.SIGTERM)
        for process in (mon, sim):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
    success = [line for line in body.splitlines() if line.startswith("trunkwatch_probe_success{")]
    ok = sum(1 for line in success if line.endswith(" 1"))
    samples = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
    runs_per_s = len(success) / args.interval
    result = {
        "sites": args.sites,
        "jobs": len(success),
        "interval_s": args.interval,
        "window_s": round(elapsed, 1),
        "simulator_core_ratio": round(sim_cpu / elapsed, 3),
        "monitor_core_ratio": round(mon_cpu / elapsed, 3),
        "monitor_cpu_ms_per_poll": round(1000 * mon_cpu / (runs_per_s * elapsed), 3),
        "polls_succeeding": f"{ok}/{len(success)}",
        "samples_per_scrape": samples,
        "scrape_seconds_max": round(max(s for s, _ in scrapes), 3) if scrapes else None,
        "scrape_bytes": scrapes[-1][1] if scrapes else None,
    }
    print(json.dumps(result, indent=2))
    (RESULTS / f"fleet-{stamp}.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Shards: assets and CPU per member for 1, 2 and 4 members over the same simulated fleet.

The fleet is bench/fleet.py's N-site city (a base station and its UPS per site, one agent
each), with each site's base station as its backhaul, so a member owning a UPS also polls the
base station behind it (a topology parent). ``trunkwatch simulate`` runs pinned to CPU 1;
for each member count K the members ``trunkwatch run --member mI`` (``cluster: {members:
[m1 … mK], replication: 1}``) run as real processes pinned to CPU 0, and after a warm-up
interval the bench measures each member's CPU over ``--duration`` seconds and reads what it
owns and polls from its /metrics. Loopback only; every wait bounded.

    python -m bench.cluster --sites 100 --interval 5 --duration 20
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import time
from typing import Any

import yaml

from bench.fleet import RESULTS, build_config, cpu_seconds, free_port, scrape, start

START_TIMEOUT_S = 60.0


def sharded(config: dict[str, Any], members: list[str]) -> dict[str, Any]:
    """``config`` with each site's base station as its backhaul and a ``cluster:`` section."""
    out = dict(config)
    out["sites"] = [
        {**site, "backhaul": f"bs-{site['id']}"} if site["id"] != "hq" else site
        for site in config["sites"]
    ]
    out["cluster"] = {"members": members, "replication": 1}
    return out


def metric_sum(body: str, name: str) -> float:
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def polled_assets(body: str) -> int:
    assets = set()
    for line in body.splitlines():
        if line.startswith("trunkwatch_probe_success{"):
            start_at = line.index('asset="') + len('asset="')
            assets.add(line[start_at : line.index('"', start_at)])
    return len(assets)


def wait_scrape(url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            scrape(url)
        except OSError:
            time.sleep(0.5)
        else:
            return
    raise SystemExit(f"no answer from {url} within {START_TIMEOUT_S:.0f} s")


def measure(
    config: dict[str, Any], count: int, args: argparse.Namespace, stamp: str
) -> dict[str, Any]:
    members = [f"m{i + 1}" for i in range(count)]
    document = sharded(config, members)
    urls: dict[str, str] = {}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in members:
            port = free_port()
            urls[name] = f"http://127.0.0.1:{port}/metrics"
            # One configuration, each member with a state folder of its own.
            state = RESULTS / f"cluster-{stamp}-{count}-{name}"
            path = RESULTS / f"cluster-{stamp}-{count}-{name}.yaml"
            own = {**document, "server": {"data_dir": str(state)}}
            path.write_text(yaml.safe_dump(own, allow_unicode=True))
            processes[name] = start(
                ["run", "-c", str(path), "--member", name, "--listen", f"127.0.0.1:{port}"],
                0,
                RESULTS / f"cluster-{stamp}-{count}-{name}.log",
            )
        for url in urls.values():
            wait_scrape(url)
        time.sleep(args.interval + 2)  # past start-up and the first (label-walking) polls
        cpu0 = {name: cpu_seconds(p.pid) for name, p in processes.items()}
        t0 = time.monotonic()
        time.sleep(args.duration)
        elapsed = time.monotonic() - t0
        cpu = {name: cpu_seconds(p.pid) - cpu0[name] for name, p in processes.items()}
        bodies = {name: scrape(url) for name, url in urls.items()}
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
    rows = []
    for name in members:
        body = bodies[name]
        rows.append(
            {
                "member": name,
                "owned": int(metric_sum(body, "trunkwatch_cluster_owned_assets")),
                "polled": polled_assets(body),
                "core_ratio": round(cpu[name] / elapsed, 4),
            }
        )
    return {"members": count, "window_s": round(elapsed, 1), "per_member": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--interval", type=int, default=5)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--members", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    if args.sites > 2000 or args.duration > 600 or max(args.members) > 16:
        parser.error("bounded: at most 2000 sites, 600 s and 16 members")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base_port = 21000
    config = build_config(args.sites, args.interval, base_port)
    sim_path = RESULTS / f"cluster-{stamp}-sim.yaml"
    sim_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    control = free_port()
    sim = start(
        ["simulate", "-c", str(sim_path), "--control", f"127.0.0.1:{control}"],
        1,
        RESULTS / f"cluster-{stamp}-sim.log",
    )
    time.sleep(2.0)  # the agents bind before the first poll
    results = []
    try:
        for count in args.members:
            results.append(measure(config, count, args, stamp))
    finally:
        sim.send_signal(signal.SIGTERM)
        try:
            sim.wait(15)
        except subprocess.TimeoutExpired:
            sim.kill()
    assets = len(config["assets"])
    print(f"{args.sites} sites, {assets} assets, interval {args.interval} s")
    header = (
        f"{'members':>7} {'owned/member':>12} {'polled/member':>13} {'core %/member':>13}"
        f" {'core % total':>12} {'total vs 1':>10} {'assets/core/member':>18}"
    )
    print(header)
    base_total: float | None = None
    for result in results:
        rows = result["per_member"]
        owned = sum(r["owned"] for r in rows) / len(rows)
        polled = sum(r["polled"] for r in rows) / len(rows)
        per_member = sum(r["core_ratio"] for r in rows) / len(rows)
        total = sum(r["core_ratio"] for r in rows)
        base_total = base_total or total
        result["summary"] = {
            "owned_per_member": owned,
            "polled_per_member": polled,
            "core_ratio_per_member": round(per_member, 4),
            "core_ratio_total": round(total, 4),
            "total_vs_one_member": round(total / base_total, 2),
            "assets_per_core_per_member": round(owned / per_member) if per_member else None,
        }
        s = result["summary"]
        print(
            f"{result['members']:>7} {owned:>12.0f} {polled:>13.0f} {100 * per_member:>13.1f}"
            f" {100 * total:>12.1f} {s['total_vs_one_member']:>10.2f}"
            f" {s['assets_per_core_per_member'] or 0:>18}"
        )
    out = {"sites": args.sites, "assets": assets, "interval_s": args.interval, "runs": results}
    (RESULTS / f"cluster-{stamp}.json").write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

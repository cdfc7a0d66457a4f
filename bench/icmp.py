"""ICMP bench: CPU per echo of the ``icmp`` probe next to fping, same work, one run.

Both ping the same loopback targets (``127.0.0.1`` … ``127.0.0.K``) with the same number of
echoes per target and the same per-target spacing, each in a fresh process pinned to CPU 0.
fping's CPU is its whole process (getrusage of the child); the probe's is reported twice:
the probing alone (measured inside the worker around the runs) and the whole worker process,
interpreter start and imports included. Rounds alternate the two so that a noisy neighbour
hurts both alike; the table shows the median round.

    python -m bench.icmp                       # 50 targets × 20 echoes, 3 rounds
    python -m bench.icmp --targets 100 --count 50 --rounds 5
    python -m bench.icmp --quick               # smoke check: 10 × 5, 1 round

Reported, never asserted: the goal is the probe at or below fping per echo. The exit status
is non-zero only when a side lost echoes on loopback (then the numbers mean nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: Upper bound on one side's run, whatever the arguments say.
RUN_LIMIT_SECONDS = 120.0


def _targets(count: int) -> list[str]:
    return [f"127.0.0.{i}" for i in range(1, count + 1)]


def _pin() -> None:
    os.sched_setaffinity(0, {0})


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_fping(targets: list[str], count: int, spacing: float) -> dict[str, Any]:
    fping = shutil.which("fping")
    if fping is None:
        raise SystemExit("fping is not installed (Debian: apt-get install fping)")
    argv = [
        fping, "-q", "-C", str(count), "-p", str(max(1, round(spacing * 1000))),
        "-i", "1", "-t", "1000", *targets,
    ]  # fmt: skip
    before = _child_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=RUN_LIMIT_SECONDS, preexec_fn=_pin,
        check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    cpu = _child_cpu() - before
    replies = sum(
        len([v for v in line.split(":", 1)[1].split() if v != "-"])
        for line in done.stderr.splitlines()
        if ":" in line
    )
    return {"cpu_s": cpu, "wall_s": wall, "replies": replies, "sent": len(targets) * count}


def run_probe(targets: list[str], count: int, spacing: float) -> dict[str, Any]:
    argv = [
        sys.executable, "-m", "bench.icmp", "--worker", "--targets", str(len(targets)),
        "--count", str(count), "--spacing", str(spacing),
    ]  # fmt: skip
    before = _child_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=RUN_LIMIT_SECONDS, preexec_fn=_pin,
        check=False, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    wall = time.perf_counter() - started
    cpu = _child_cpu() - before
    if done.returncode != 0:
        raise SystemExit(f"worker failed: {done.stderr.strip()[-500:]}")
    inner = json.loads(done.stdout)
    return {
        "cpu_s": cpu,
        "wall_s": wall,
        "probing_cpu_s": inner["cpu_s"],
        "probing_wall_s": inner["wall_s"],
        "replies": inner["replies"],
        "sent": len(targets) * count,
    }


def worker(targets: list[str], count: int, spacing: float) -> None:
    """Inside the pinned child: run one probe per target concurrently, print CPU and replies."""
    from probes.base import Target
    from probes.icmp import create

    timeout = count * spacing + 2.0
    probes = [create({"count": count, "spacing": spacing}, timeout=timeout) for _ in targets]

    async def everything() -> int:
        results = await asyncio.gather(
            *(probe.run(Target(host, host)) for probe, host in zip(probes, targets, strict=True))
        )
        replies = 0
        for result in results:
            loss = next(s.value for s in result.samples if s.family.name.endswith("loss_ratio"))
            replies += round(count * (1 - loss))
        return replies

    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, wall0 = usage.ru_utime + usage.ru_stime, time.perf_counter()
    replies = asyncio.run(everything())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    print(json.dumps({"cpu_s": cpu, "wall_s": time.perf_counter() - wall0, "replies": replies}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=50, help="loopback targets (≤ 254)")
    parser.add_argument("--count", type=int, default=20, help="echoes per target")
    parser.add_argument("--spacing", type=float, default=0.01, help="seconds between echoes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.targets, args.count, args.rounds = 10, 5, 1
    if not 1 <= args.targets <= 254 or not 1 <= args.count <= 1000 or args.rounds > 20:
        parser.error("targets 1–254, count 1–1000, rounds ≤ 20")
    targets = _targets(args.targets)
    if args.worker:
        worker(targets, args.count, args.spacing)
        return 0

    rounds: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        rounds.append({"fping": run_fping(targets, args.count, args.spacing),
                       "probe": run_probe(targets, args.count, args.spacing)})  # fmt: skip
    echoes: int = args.targets * args.count

    def per_echo(side: str, key: str) -> float:
        return float(statistics.median(r[side][key] for r in rounds)) / echoes * 1e6

    fping_us = per_echo("fping", "cpu_s")
    probe_us = per_echo("probe", "probing_cpu_s")
    probe_process_us = per_echo("probe", "cpu_s")
    lost = [
        (side, r[side]["sent"] - r[side]["replies"])
        for r in rounds
        for side in ("fping", "probe")
        if r[side]["replies"] < r[side]["sent"]
    ]
    print(f"ICMP echo, {args.targets} loopback targets × {args.count} echoes, "
          f"{args.spacing * 1000:g} ms apart, {args.rounds} round(s), pinned to CPU 0")  # fmt: skip
    print(f"{'':32} {'CPU µs/echo':>12} {'vs fping':>9}")
    print(f"{'fping ' + _fping_version():32} {fping_us:12.1f} {1.0:9.2f}")
    print(f"{'trunkwatch icmp (probing)':32} {probe_us:12.1f} {probe_us / fping_us:9.2f}")
    print(f"{'trunkwatch icmp (whole process)':32} {probe_process_us:12.1f} "
          f"{probe_process_us / fping_us:9.2f}")  # fmt: skip
    if lost:
        print(f"LOST ECHOES on loopback: {lost}", file=sys.stderr)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_DIR / f"icmp-{stamp}.json"
    out.write_text(json.dumps({
        "bench": "icmp", "when": stamp, "python": platform.python_version(),
        "targets": args.targets, "count": args.count, "spacing": args.spacing,
        "fping_us_per_echo": fping_us, "probe_us_per_echo": probe_us,
        "probe_process_us_per_echo": probe_process_us, "rounds": rounds,
    }, indent=2))  # fmt: skip
    print(f"results: {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    return 1 if lost else 0


def _fping_version() -> str:
    fping = shutil.which("fping")
    if fping is None:
        return ""
    done = subprocess.run([fping, "-v"], capture_output=True, text=True, check=False)
    match = re.search(r"Version (\S+)", done.stdout + done.stderr)
    return match.group(1) if match else ""


if __name__ == "__main__":
    raise SystemExit(main())

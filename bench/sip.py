"""SIP bench: OPTIONS pings per second that the ``sip`` probe sustains on one core.

A Kamailio from Debian (the 12-line OPTIONS responder) runs on loopback pinned to CPU 1; a
worker process pinned to CPU 0 keeps ``--concurrency`` probe runs in flight for
``--duration`` seconds (and at most ``--max-runs`` runs), each run a complete probe: its own
socket or connection, one OPTIONS transaction, parse, samples. Reported: runs per second
achieved, the worker's CPU per run, and the rate that CPU cost allows on one full core
(1 / CPU per run) — the achieved rate is lower when Kamailio, not the probe, is the limit.

    python -m bench.sip                      # UDP and TCP, 5 s each
    python -m bench.sip --transport udp --duration 10 --concurrency 128
    python -m bench.sip --quick              # smoke check: UDP, 1 s

Reported, never asserted. The exit status is non-zero when a run failed (the numbers would
then measure error paths).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
KAMAILIO_CONFIG = """#!KAMAILIO
debug=0
log_stderror=yes
children=2
tcp_children=2
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
mpath="{modules}/"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "siputils.so"
request_route {{
    if (is_method("OPTIONS")) {{ sl_send_reply("200", "OK"); exit; }}
    sl_send_reply("405", "Method Not Allowed");
}}
"""


def _free_port() -> int:
    for _ in range(50):
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise SystemExit("no free port")


def start_kamailio(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("kamailio") or "/usr/sbin/kamailio"
    if not os.path.exists(binary):
        raise SystemExit("kamailio is not installed (Debian: apt-get install kamailio)")
    port = _free_port()
    config = work / "kamailio.cfg"
    config.write_text(KAMAILIO_CONFIG.format(port=port, modules=MODULES))
    proc = subprocess.Popen(
        [binary, "-f", str(config), "-DD", "-E", "-m", "64", "-M", "8"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {1 % os.cpu_count()}),  # type: ignore[operator]
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            time.sleep(0.1)
        else:
            return proc, port
    stop(proc)
    raise SystemExit("kamailio did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def worker(port: int, transport: str, concurrency: int, duration: float, max_runs: int) -> None:
    """Inside the pinned child: keep ``concurrency`` runs in flight; print counts and CPU."""
    from probes.base import ProbeError, Target
    from probes.sip import create

    probe = create({"transport": transport}, timeout=3)
    target = Target("bench", "127.0.0.1", port)
    done = failed = 0
    errors: dict[str, int] = {}

    async def lane(stop_at: float) -> None:
        nonlocal done, failed
        loop = asyncio.get_running_loop()
        while loop.time() < stop_at and done + failed < max_runs:
            try:
                await probe.run(target)
                done += 1
            except ProbeError as exc:
                failed += 1
                errors[exc.reason] = errors.get(exc.reason, 0) + 1

    async def everything() -> None:
        stop_at = asyncio.get_running_loop().time() + duration
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(lane(stop_at))

    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, wall0 = usage.ru_utime + usage.ru_stime, time.perf_counter()
    asyncio.run(everything())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "runs": done, "failed": failed, "errors": errors,
        "cpu_s": usage.ru_utime + usage.ru_stime - cpu0, "wall_s": time.perf_counter() - wall0,
    }))  # fmt: skip


def run_side(port: int, transport: str, args: argparse.Namespace) -> dict[str, Any]:
    argv = [
        sys.executable, "-m", "bench.sip", "--worker", "--port", str(port),
        "--transport", transport, "--concurrency", str(args.concurrency),
        "--duration", str(args.duration), "--max-runs", str(args.max_runs),
    ]  # fmt: skip
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=args.duration + 60, check=False,
        preexec_fn=lambda: os.sched_setaffinity(0, {0}),
        cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"worker failed: {done.stderr.strip()[-500:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transport", choices=["udp", "tcp", "both"], default="both")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--max-runs", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.transport, args.duration = "udp", 1.0
    if not 0 < args.duration <= 120 or not 1 <= args.concurrency <= 1024:
        parser.error("duration 0–120 s, concurrency 1–1024")
    if args.worker:
        worker(args.port, args.transport, args.concurrency, args.duration, args.max_runs)
        return 0

    transports = ["udp", "tcp"] if args.transport == "both" else [args.transport]
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sip-") as tmp:
        proc, port = start_kamailio(Path(tmp))
        try:
            for transport in transports:
                rows[transport] = run_side(port, transport, args)
        finally:
            stop(proc)
    print(f"SIP OPTIONS against Kamailio on loopback, probe pinned to CPU 0, "
          f"{args.concurrency} in flight, {args.duration:g} s per transport")  # fmt: skip
    print(
        f"{'transport':<10} {'runs/s':>9} {'CPU µs/run':>11} {'runs/s per core':>16} {'failed':>7}"
    )
    failed = False
    for transport, row in rows.items():
        per_run = row["cpu_s"] / max(1, row["runs"])
        row["runs_per_s"] = row["runs"] / row["wall_s"]
        row["cpu_us_per_run"] = per_run * 1e6
        row["runs_per_core_s"] = 1 / per_run if per_run else 0.0
        failed = failed or row["failed"] > 0
        print(f"{transport:<10} {row['runs_per_s']:9.0f} {row['cpu_us_per_run']:11.1f} "
              f"{row['runs_per_core_s']:16.0f} {row['failed']:7d}")  # fmt: skip
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_DIR / f"sip-{stamp}.json"
    out.write_text(json.dumps({
        "bench": "sip", "when": stamp, "python": platform.python_version(),
        "concurrency": args.concurrency, "duration": args.duration, "results": rows,
    }, indent=2))  # fmt: skip
    print(f"results: {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

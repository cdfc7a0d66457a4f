"""SNMP walk bench: manager-side CPU per varbind of our client, pysnmp and net-snmp's C tool.

One real snmpd on loopback; the same subtree (default 1.3.6.1.2.1) is bulk-walked over v2c
with the same max-repetitions by

  (a) ``probes.snmp.client.SnmpClient.walk`` (our codec, one asyncio UDP socket),
  (b) pysnmp 7 ``bulk_walk_cmd`` (lookupMib=False, lexicographicMode=False, one engine),
  (c) net-snmp's ``snmpbulkwalk -On`` writing to /dev/null (CPU read from RUSAGE_CHILDREN,
      so it includes starting the process: one per walk, as a script would run it).

The agent serves the bench community through a view without the TCP/UDP connection tables
and the running-process tables: those change with whatever else runs on the machine (a
scheduler bench leaves thousands of TIME_WAIT sockets), which would change the varbinds per
walk between the three runs and make snmpd, not the manager, the slow part. What is left is
~5,000 varbinds of MIB-2 (interfaces, IP, host storage/devices/installed software …).

(a) and (b) run in this process and are timed with ``time.process_time``; only the walks are
timed, after one warm-up walk each. Each side walks at least twice, then until it has seen
``--varbinds`` varbinds or spent ``--budget`` seconds. The agent's own CPU is not counted.

    python -m bench.snmp_walk                 # ~30 s on 2 cores
    python -m bench.snmp_walk --quick         # smoke check, a few seconds

The table gives varbinds per CPU-second and CPU seconds per 1,000 varbinds; the ratios say
how many times the CPU per varbind of our client pysnmp and snmpbulkwalk need. A JSON copy
goes to bench/results/. pysnmp is imported here only as a yardstick; the product uses it
solely in probes/snmp/v3.py (for SNMPv3).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from probes.snmp.client import SnmpClient, SnmpEndpoint
from probes.snmp.codec import format_oid, parse_oid
from tests.integration.snmpd import SnmpdInstance, start_snmpd

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        bulk_walk_cmd,
    )
    from pysnmp.hlapi.varbinds import CommandGeneratorVarBinds

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BENCH_COMMUNITY = "tw-bench"
# Tables whose size follows the machine's sockets and processes (see the module docstring).
VOLATILE = ("1.3.6.1.2.1.6", "1.3.6.1.2.1.7", "1.3.6.1.2.1.25.4", "1.3.6.1.2.1.25.5")
BENCH_VIEW = "\n".join(
    [
        "view twbench included .1.3.6.1.2.1",
        *(f"view twbench excluded .{oid}" for oid in VOLATILE),
        f"rocommunity {BENCH_COMMUNITY} 127.0.0.1 -V twbench",
    ]
)


@dataclass
class Measurement:
    tool: str
    walks: int
    varbinds: int
    cpu_s: float
    wall_s: float

    @property
    def per_cpu_s(self) -> float:
        return self.varbinds / self.cpu_s if self.cpu_s else float("inf")

    @property
    def cpu_per_1000(self) -> float:
        return 1000 * self.cpu_s / self.varbinds if self.varbinds else float("nan")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _repeat(
    tool: str,
    walk: Callable[[], Awaitable[int]],
    target: int,
    budget: float,
    cpu_clock: Callable[[], float] = time.process_time,
) -> Measurement:
    """Walk at least twice, then until ``target`` varbinds or ``budget`` wall seconds.

    Only the walks are timed, with ``cpu_clock``.
    """
    await walk()  # warm-up: engine set-up, caches, agent's first-walk costs
    walks = varbinds = 0
    cpu = 0.0
    wall_start = time.monotonic()
    while walks < 2 or (varbinds < target and time.monotonic() - wall_start < budget):
        started = cpu_clock()
        count = await walk()
        cpu += cpu_clock() - started
        if count == 0:
            raise RuntimeError(f"{tool}: the walk returned nothing")
        walks += 1
        varbinds += count
    return Measurement(tool, walks, varbinds, cpu, time.monotonic() - wall_start)


async def bench_ours(agent: SnmpdInstance, root: tuple[int, ...], reps: int, target: int,
                     budget: float) -> Measurement:  # fmt: skip
    ep = SnmpEndpoint(agent.host, agent.port, community=agent.community, timeout=5.0, retries=1)
    async with SnmpClient() as client:

        async def walk() -> int:
            return len(await client.walk(ep, root, max_repetitions=reps))

        return await _repeat("SnmpClient (ours)", walk, target, budget)


async def bench_pysnmp(agent: SnmpdInstance, root: tuple[int, ...], reps: int, target: int,
                       budget: float) -> Measurement:  # fmt: skip
    engine = SnmpEngine()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        CommandGeneratorVarBinds().make_varbinds(
            engine.cache, (ObjectType(ObjectIdentity((1, 3, 6, 1))),)
        )
    auth = CommunityData(agent.community, mpModel=1)
    target_addr = await UdpTransportTarget.create((agent.host, agent.port), timeout=5, retries=1)

    async def walk() -> int:
        count = 0
        replies = bulk_walk_cmd(
            engine,
            auth,
            target_addr,
            ContextData(),
            0,
            reps,
            ObjectType(ObjectIdentity(root)),
            lexicographicMode=False,
            lookupMib=False,
        )
        async for indication, status, _, varbinds in replies:
            if indication or status:
                await replies.aclose()
                raise RuntimeError(f"pysnmp walk failed: {indication or status}")
            count += len(varbinds)
        return count

    try:
        return await _repeat("pysnmp bulk_walk_cmd", walk, target, budget)
    finally:
        engine.close_dispatcher()


async def bench_netsnmp(agent: SnmpdInstance, root: tuple[int, ...], reps: int, target: int,
                        budget: float) -> Measurement:  # fmt: skip
    cmd = ["snmpbulkwalk", "-v2c", "-c", agent.community, "-On", f"-Cr{reps}",
           agent.address, format_oid(root)]  # fmt: skip
    env = agent.tool_env()
    # Count the varbinds once (lines starting with a numeric OID); the timed runs discard output.
    lister = await asyncio.create_subprocess_exec(
        *cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    listing, _ = await lister.communicate()
    if lister.returncode != 0:
        raise RuntimeError("snmpbulkwalk failed")
    per_walk = sum(
        1
        for line in listing.splitlines()
        if line.startswith(b".1") and b"No more variables" not in line
    )

    async def walk() -> int:
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        if await proc.wait() != 0:
            raise RuntimeError("snmpbulkwalk failed")
        return per_walk

    # The child's CPU reaches RUSAGE_CHILDREN once it has been waited for, inside walk().
    return await _repeat("snmpbulkwalk (C)", walk, target, budget, cpu_clock=_children_cpu)


def render(results: list[Measurement]) -> str:
    head = (
        f"{'tool':<24}{'walks':>7}{'varbinds':>10}{'CPU s':>9}{'vb/CPU-s':>11}{'CPU s/1k vb':>13}"
    )
    lines = [head, "-" * len(head)]
    for m in results:
        lines.append(
            f"{m.tool:<24}{m.walks:>7}{m.varbinds:>10}{m.cpu_s:>9.3f}"
            f"{m.per_cpu_s:>11,.0f}{m.cpu_per_1000:>13.4f}"
        )
    ours = results[0]
    for other in results[1:]:
        lines.append(
            f"{other.tool} needs {other.cpu_per_1000 / ours.cpu_per_1000:.1f}x the CPU per "
            f"varbind of {ours.tool}"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> list[Measurement]:
    root = parse_oid(args.root)
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="tw-bench-snmp-") as tmp,
        start_snmpd(Path(tmp), extra_config=BENCH_VIEW) as full_view,
    ):
        agent = dataclasses.replace(full_view, community=BENCH_COMMUNITY)
        for bench in (bench_ours, bench_pysnmp, bench_netsnmp):
            results.append(
                await bench(agent, root, args.max_repetitions, args.varbinds, args.budget)
            )
            print(f"  measured: {results[-1].tool}", file=sys.stderr, flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--root", default="1.3.6.1.2.1", help="subtree to walk")
    parser.add_argument("--max-repetitions", type=int, default=25)
    parser.add_argument("--varbinds", type=int, default=50_000, help="varbinds per tool")
    parser.add_argument("--budget", type=float, default=8.0, help="wall seconds per tool")
    parser.add_argument("--quick", action="store_true", help="smoke check: tiny budget")
    args = parser.parse_args(argv)
    if args.quick:
        args.varbinds, args.budget = 2_000, 0.5
    started = time.monotonic()
    results = asyncio.run(run(args))
    print(render(results))
    print(f"(root {args.root}, max-repetitions {args.max_repetitions}, "
          f"{time.monotonic() - started:.0f} s in all)")  # fmt: skip
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_DIR / f"snmp_walk-{stamp}.json"
    record: dict[str, Any] = {
        "bench": "snmp_walk",
        "when": stamp,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "root": args.root,
        "max_repetitions": args.max_repetitions,
        "results": [
            asdict(m) | {"varbinds_per_cpu_s": m.per_cpu_s, "cpu_s_per_1000": m.cpu_per_1000}
            for m in results
        ],
    }
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

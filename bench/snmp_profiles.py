"""SNMP profile bench: CPU per varbind and per exported sample of SnmpProbe polling ``if_mib``,
beside prometheus snmp_exporter scraping an equivalent module from the same snmpd.

One real snmpd on loopback. With ``--interfaces N`` (needs root and iproute2) everything runs
in a private network namespace holding about N interfaces (veth pairs) besides ``lo``, so the
interface table is as long as a switch's; the namespace is deleted afterwards. Both sides fetch the
same columns: ifAdminStatus, ifOperStatus, ifInDiscards, ifInErrors, ifOutDiscards,
ifOutErrors, ifHCInOctets, ifHCOutOctets and ifHighSpeed, labelled with ifName, ifDescr and
ifAlias.

- SnmpProbe: ``probe.run`` then rendering the samples as exposition text (what the daemon does
  when a result arrives), timed with ``time.process_time`` in this process after two warm-up
  polls; "poll only" leaves the rendering out. Label columns are walked only every
  ``label_refresh`` (15 min), so a steady-state poll does not fetch them; the first poll,
  which does, is reported on its own.
- snmp_exporter (Debian's ``prometheus-snmp-exporter``, if installed): ``/snmp`` scrapes over
  HTTP, its CPU read from ``/proc/PID/stat`` (user + system) around the scrapes. It walks its
  lookup columns (ifName …) on every scrape.

Varbinds are the objects inside the walked subtrees (``trunkwatch_snmp_varbinds``, and
snmp_exporter's ``snmp_scrape_pdus_returned``); samples are exported series without the
exporters' own bookkeeping. The agent's CPU is counted for neither side.

    python -m bench.snmp_profiles --quick               # smoke check, a few seconds
    python -m bench.snmp_profiles --interfaces 200      # ~30 s, as root
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bench.processes import run_in_namespace
from monitor.exposition.text import Exposition
from monitor.inventory import Asset, Job
from monitor.results import Result, ResultStore
from probes.base import ProbeResult, Sample, Samples, Target
from probes.snmp import close_shared_sessions, create
from tests.integration.snmpd import SnmpdInstance, free_udp_port, start_snmpd

RESULTS = Path(__file__).with_name("results")
EXPORTER = "prometheus-snmp-exporter"
IF_ENTRY = "1.3.6.1.2.1.2.2.1"
IFX_ENTRY = "1.3.6.1.2.1.31.1.1.1"


@dataclass
class Side:
    name: str
    polls: int
    cpu_s: float
    varbinds_per_poll: float
    samples_per_poll: float

    @property
    def us_per_varbind(self) -> float:
        return self.cpu_s / (self.polls * self.varbinds_per_poll) * 1e6

    @property
    def us_per_sample(self) -> float:
        return self.cpu_s / (self.polls * self.samples_per_poll) * 1e6


def exporter_config(community: str) -> str:
    """snmp_exporter 0.21's module equivalent to the if_mib profile."""
    lookups = [
        {"labels": ["ifIndex"], "labelname": name, "oid": oid, "type": "DisplayString"}
        for name, oid in (
            ("ifName", f"{IFX_ENTRY}.1"),
            ("ifDescr", f"{IF_ENTRY}.2"),
            ("ifAlias", f"{IFX_ENTRY}.18"),
        )
    ]
    index = [{"labelname": "ifIndex", "type": "gauge"}]
    status = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent",
              7: "lowerLayerDown"}  # fmt: skip

    def metric(name: str, oid: str, kind: str, **extra: object) -> dict[str, object]:
        return {"name": name, "oid": oid, "type": kind, "help": name, "indexes": index,
                "lookups": lookups, **extra}  # fmt: skip

    columns = [
        metric("ifAdminStatus", f"{IF_ENTRY}.7", "EnumAsStateSet", enum_values=status),
        metric("ifOperStatus", f"{IF_ENTRY}.8", "EnumAsStateSet", enum_values=status),
        metric("ifInDiscards", f"{IF_ENTRY}.13", "counter"),
        metric("ifInErrors", f"{IF_ENTRY}.14", "counter"),
        metric("ifOutDiscards", f"{IF_ENTRY}.19", "counter"),
        metric("ifOutErrors", f"{IF_ENTRY}.20", "counter"),
        metric("ifHCInOctets", f"{IFX_ENTRY}.6", "counter"),
        metric("ifHCOutOctets", f"{IFX_ENTRY}.10", "counter"),
        metric("ifHighSpeed", f"{IFX_ENTRY}.15", "gauge"),
    ]
    walk = [c["oid"] for c in columns] + [x["oid"] for x in lookups]
    module = {"walk": walk, "metrics": columns, "version": 2, "max_repetitions": 25,
              "retries": 1, "timeout": "5s", "auth": {"community": community}}  # fmt: skip
    # 0.21 keeps modules at the top level (later versions nest them under "modules").
    return yaml.safe_dump({"if_mib": module})


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_exporter(agent: SnmpdInstance, workdir: Path, polls: int, budget: float) -> Side | None:
    binary = shutil.which(EXPORTER)
    if binary is None:
        print(f"{EXPORTER} not installed: skipping it (apt-get install {EXPORTER})")
        return None
    config = workdir / "snmp.yml"
    config.write_text(exporter_config(agent.community))
    port = free_udp_port()  # a free TCP port is as likely free
    log = (workdir / "exporter.log").open("wb")
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/snmp?module=if_mib&target={agent.host}:{agent.port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                body = urllib.request.urlopen(url, timeout=10).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{EXPORTER} did not answer; see {workdir}") from None
                time.sleep(0.1)
        samples = sum(
            1 for line in body.splitlines() if line and not line.startswith(("#", "snmp_scrape_"))
        )
        varbinds = next(
            float(line.split()[-1])
            for line in body.splitlines()
            if line.startswith("snmp_scrape_pdus_returned")
        )
        cpu0, started, n = _proc_cpu(proc.pid), time.monotonic(), 0
        while n < polls or (n < polls * 20 and time.monotonic() - started < budget):
            urllib.request.urlopen(url, timeout=10).read()
            n += 1
            if time.monotonic() - started > budget and n >= 2:
                break
        return Side("snmp_exporter", n, _proc_cpu(proc.pid) - cpu0, varbinds, samples)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


async def bench_probe(agent: SnmpdInstance, polls: int, budget: float) -> tuple[Side, Side, Side]:
    """(first poll, steady polls without rendering, steady polls rendered as exposition)."""
    probe = create({"profile": "if_mib"}, timeout=5)
    target = Target("core-sw-1", agent.host, agent.port, {"community": agent.community})
    asset = Asset("core-sw-1", "hq", "network", "switch", "core-sw-1", target, None)
    job = Job(asset, "if_mib", "snmp", 15.0, 5.0, probe)
    # The daemon's path: a result put in the store is rendered into the exposition at once.
    store = ResultStore()
    Exposition(store)

    def render(result: ProbeResult) -> None:
        store.put(Result(job, True, 0.0, 0.0, Samples.of(result.samples)))

    t0 = time.process_time()
    first = await probe.run(target)
    render(first)
    first_cpu = time.process_time() - t0

    def count(samples: Sequence[Sample]) -> tuple[float, float]:
        varbinds = next(s.value for s in samples if s.family.name == "trunkwatch_snmp_varbinds")
        return varbinds, len(samples)

    first_vb, first_samples = count(first.samples)
    await probe.run(target)
    cpu = rendering = 0.0
    n, started = 0, time.monotonic()
    varbinds = samples = 0.0
    while n < polls or (time.monotonic() - started < budget and n < polls * 20):
        t0 = time.process_time()
        result = await probe.run(target)
        t1 = time.process_time()
        render(result)
        rendering += time.process_time() - t1
        cpu += t1 - t0
        vb, ns = count(result.samples)
        varbinds += vb
        samples += ns
        n += 1
    await close_shared_sessions()
    return (
        Side("SnmpProbe first poll", 1, first_cpu, first_vb, first_samples),
        Side("SnmpProbe poll only", n, cpu, varbinds / n, samples / n),
        Side("SnmpProbe", n, cpu + rendering, varbinds / n, samples / n),
    )


def run_inside(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="tw-bench-") as tmp, start_snmpd(Path(tmp)) as agent:
        rows = agent.run_tool("snmpbulkwalk", "-On", "-Oq", f"{IF_ENTRY}.8").count("\n")
        first, bare, ours = asyncio.run(bench_probe(agent, args.polls, args.budget))
        theirs = bench_exporter(agent, Path(tmp), args.polls, args.budget)
    sides = [ours, bare, first, *([theirs] if theirs else [])]
    print(f"interfaces: {rows}  (ifTable rows on the agent)")
    print(f"{'side':<22} {'polls':>6} {'varbinds':>9} {'samples':>8} {'µs/varbind':>11} "
          f"{'µs/sample':>10} {'ms/poll':>8}")  # fmt: skip
    for side in sides:
        print(
            f"{side.name:<22} {side.polls:>6} {side.varbinds_per_poll:>9.0f} "
            f"{side.samples_per_poll:>8.0f} {side.us_per_varbind:>11.2f} "
            f"{side.us_per_sample:>10.2f} {side.cpu_s / side.polls * 1000:>8.2f}"
        )
    if theirs:
        print(
            f"snmp_exporter needs {theirs.us_per_sample / ours.us_per_sample:.1f}× the CPU per "
            f"sample and {theirs.us_per_varbind / ours.us_per_varbind:.1f}× per varbind"
        )
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"snmp_profiles-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "interfaces": rows,
                "machine": platform.platform(),
                "sides": [
                    {
                        **asdict(s),
                        "us_per_varbind": s.us_per_varbind,
                        "us_per_sample": s.us_per_sample,
                    }
                    for s in sides
                ],
            },
            indent=2,
        )
    )
    print(f"written {out}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--interfaces", type=int, default=0, help="extra interfaces, in a network namespace (root)"
    )
    parser.add_argument("--polls", type=int, default=30, help="polls at least, per side")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per side at most")
    parser.add_argument("--quick", action="store_true", help="a few polls, for a smoke check")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.polls, args.budget = 5, 2.0
    if args.interfaces and not args.inside:
        if os.geteuid() != 0 or shutil.which("ip") is None:
            print("--interfaces needs root and iproute2", file=sys.stderr)
            return 2
        command = [sys.executable, "-m", "bench.snmp_profiles", "--inside",
                   "--polls", str(args.polls), "--budget", str(args.budget)]  # fmt: skip
        return run_in_namespace(args.interfaces, command)
    return run_inside(args)


if __name__ == "__main__":
    sys.exit(main())

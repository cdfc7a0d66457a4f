"""Config-load bench: time and peak memory of loading a city- or region-sized ``monitor.yaml``.

For each fleet size N (default 1,000, 5,000, 10,000, 20,000 and 28,650 assets) the bench writes
a file shaped like the shipped ``monitor.yaml``: the centre, server, defaults, limits, traps and
``inspections:`` sections copied as they are written there (comments, flow style and all; the
plans select by system and site, so they follow the fleet), then generated sites with
coordinates, districts, parents and backhauls, and assets with SNMP probes (``trunked_bs``,
``if_mib``, ``ups_mib``), labels and credentials given as ``${ENV:-default}`` and ``file:``
references. Each N is then measured three ways, each in a fresh process pinned to one CPU so
that peak memory belongs to that N alone:

- ``load_config``: the file read, parsed, validated and cross-checked into a ``Config``;
- ``daemon load``: what ``trunkwatch run`` does at start and on every reload (``Daemon._load``:
  ``load_config``, the inspection setup, the cluster role and ``build_inventory``);
- ``check-config``: ``trunkwatch check-config`` as a whole process, interpreter start and
  imports included, its peak RSS from the kernel (``wait4``); and again on a copy of the file
  whose last asset has one problem, so that its line has to be found.

It prints one row per N with wall and CPU time, peak RSS, the peak above the process's
footprint before loading as a multiple of the file size, and how each grows from one N to the
next (an exponent of 1 is linear, 2 quadratic). ``--profile`` writes a cProfile of the load of
each N to ``bench/results/`` and ``--tracemalloc`` prints where the memory of the largest N is
held once it is loaded.

    python -m bench.config_load                     # 1k … 28,650 assets (~1 min when fast)
    python -m bench.config_load --assets 10000 --repeat 3
    python -m bench.config_load --quick             # smoke check: 1,000 assets, once

Goal, reported and never asserted: 10,000 assets load and validate (``check-config``) in < 3 s
and < 300 MB peak RSS. The exit status is non-zero only when a load did not do what it claims
(a problem reported for a generated file, or a different number of assets loaded).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import math
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"
SHIPPED = REPO / "monitor.yaml"
DEFAULT_SIZES = "1000,5000,10000,20000,28650"
GOAL_ASSETS = 10_000
GOAL_SECONDS = 3.0
GOAL_MIB = 300.0
#: Upper bound on one measuring process, whatever the file size.
RUN_LIMIT_SECONDS = 600.0
#: Sites per district (each district has its aggregation router and its own community).
SITES_PER_DISTRICT = 40
#: The sections copied from the shipped file as written; ``simulator:`` is left out.
COPIED_SECTIONS = ("centre", "server", "defaults", "limits", "traps", "inspections")
PHASES = ("load", "daemon")

_TOP_KEY = re.compile(r"^([a-z_]+):", re.MULTILINE)


# -- the generated file ----------------------------------------------------------------------


def shipped_sections(text: str) -> dict[str, str]:
    """Each top-level section of the shipped file as written, with the comment lines right
    above its key (a comment at column 0 just before a key is that key's)."""
    lines = text.splitlines()
    keys = [(i, m.group(1)) for i, line in enumerate(lines) if (m := _TOP_KEY.match(line))]
    out: dict[str, str] = {}
    for n, (start, key) in enumerate(keys):
        end = keys[n + 1][0] if n + 1 < len(keys) else len(lines)
        while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
            end -= 1
        begin = start
        while begin > 0 and lines[begin - 1].startswith("#"):
            begin -= 1
        out[key] = "\n".join(lines[begin:end]) + "\n"
    return out


def _site_lines(
    site_id: str,
    name: str,
    name_en: str,
    district: str,
    position: tuple[float, float],
    parent: str | None,
    backhaul: str,
) -> list[str]:
    lines = [
        f"  - id: {site_id}",
        f"    name: {name}",
        f"    name_en: {name_en}",
        f"    district: {district}",
        f"    coordinates: [{position[0]:.4f}, {position[1]:.4f}]",
    ]
    if parent is not None:
        lines.append(f"    parent: {parent}")
    return [*lines, f"    backhaul: {backhaul}"]


class AssetSpec(NamedTuple):
    id: str
    name: str
    site: str
    system: str
    kind: str
    parent: str | None
    address: str
    credentials: str
    labels: dict[str, str]
    #: (profile, interval or None) per SNMP probe.
    probes: Sequence[tuple[str, str | None]]
    version: str | None = None


def _asset_lines(asset: AssetSpec) -> list[str]:
    lines = [
        f"  - id: {asset.id}",
        f"    name: {asset.name}",
        f"    site: {asset.site}",
        f"    system: {asset.system}",
        f"    kind: {asset.kind}",
    ]
    if asset.parent is not None:
        lines.append(f"    parent: {asset.parent}")
    lines += [
        f"    address: {asset.address}",
        f"    credentials: {asset.credentials}",
        "    labels:",
        *(f"      {key}: {value}" for key, value in asset.labels.items()),
        "    probes:",
    ]
    for profile, interval in asset.probes:
        lines += ["      - module: snmp", f"        profile: {profile}"]
        if asset.version is not None:
            lines.append(f"        version: {asset.version}")
        if interval is not None:
            lines.append(f"        interval: {interval}")
    return lines


def generate(assets: int, folder: Path) -> Path:
    """Write ``folder/monitor.yaml`` with exactly ``assets`` SNMP assets, and the secret files
    it refers to; returns the file's path."""
    sections = shipped_sections(SHIPPED.read_text(encoding="utf-8"))
    secrets = folder / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    (secrets / "v3-radio.priv").write_text("bench-priv-key-0123456789\n", encoding="utf-8")

    # Three assets per radio site (base station, UPS, site switch), one aggregation router per
    # district and three at the centre; the last site may be cut short to hit N exactly.
    sites_needed = max(1, math.ceil(assets / 3))
    districts = max(1, math.ceil(sites_needed / SITES_PER_DISTRICT))
    out: list[str] = ["# generated by bench/config_load.py from the shipped monitor.yaml", ""]
    out += [sections[key] for key in ("centre", "server", "defaults", "limits")]
    credentials = [
        "credentials:",
        "  simulator:",
        "    community: ${TRUNKWATCH_SIM_COMMUNITY:-public}",
        "  v3-radio:",
        "    user: ${TRUNKWATCH_V3_USER:-monitor}",
        "    auth_key: ${TRUNKWATCH_V3_AUTH:-bench-auth-key-0123456789}",
        "    priv_key: file:secrets/v3-radio.priv",
    ]
    for d in range(districts):
        community = secrets / f"d{d:03d}.community"
        community.write_text(f"district-{d:03d}-community\n", encoding="utf-8")
        credentials += [f"  d{d:03d}:", f"    community: file:secrets/{community.name}"]
    out += ["\n".join(credentials) + "\n", sections["traps"]]

    sites = ["sites:"]
    sites += _site_lines(
        "hq",
        "市应急联动中心",
        "Emergency Linkage Centre",
        "兴宁区",
        (22.817, 108.3665),
        None,
        "core-rtr-1",
    )
    # The centre's own equipment: every system the shipped plans inspect has an asset.
    core = "core-rtr-1"
    centre = [
        AssetSpec(
            core,
            "核心路由器 core router",
            "hq",
            "network",
            "router",
            None,
            "127.0.0.1:16113",
            "simulator",
            {"rack": "A01", "maintainer": "network"},
            [("if_mib", None)],
        ),
        AssetSpec(
            "e1-gw-110",
            "110 中继网关 110 E1 trunk gateway",
            "hq",
            "line",
            "e1_gateway",
            core,
            "127.0.0.1:16112",
            "simulator",
            {"rack": "A02", "maintainer": "line"},
            [("ds1_mib", None), ("trunk_gateway", None)],
        ),
        AssetSpec(
            "srv-cad-1",
            "接处警服务器",
            "hq",
            "platform",
            "server",
            core,
            "127.0.0.1:16116",
            "simulator",
            {"rack": "A03", "maintainer": "network"},
            [("host_resources", None)],
        ),
    ]
    asset_lines = ["assets:"]
    for spec in centre[:assets]:
        asset_lines += _asset_lines(spec)
    count = len(centre[:assets])
    for d in range(districts):
        hub, router, cred = f"dist-{d:03d}", f"agg-rtr-{d:03d}", f"d{d:03d}"
        sites += _site_lines(
            hub,
            f"第{d + 1}区汇聚机房",
            f"District {d + 1} hub",
            f"第{d + 1}区",
            (22.5 + d * 0.01, 108.0 + d * 0.01),
            "hq",
            router,
        )
        if count < assets:
            asset_lines += _asset_lines(
                AssetSpec(
                    router,
                    f"第{d + 1}区汇聚路由器 aggregation router",
                    hub,
                    "network",
                    "router",
                    core,
                    f"127.0.{d % 250}.{1 + d // 250}:161",
                    cred,
                    {"rack": "B02", "maintainer": "network"},
                    [("if_mib", None)],
                )
            )
            count += 1
    for s in range(sites_needed):
        if count >= assets:
            break
        d = s // SITES_PER_DISTRICT
        site, cred, bs = f"s{s:05d}", f"d{d:03d}", f"bs-s{s:05d}"
        host = f"127.{1 + s // 62500}.{(s // 250) % 250}.{1 + s % 250}"
        sites += _site_lines(
            site,
            f"第{s + 1}号基站",
            f"Site {s + 1}",
            f"第{d + 1}区",
            (22.5 + (s % 97) * 0.007, 108.0 + (s % 89) * 0.009),
            f"dist-{d:03d}",
            bs,
        )
        v3 = s % 10 == 0  # every tenth power plant speaks SNMPv3
        site_assets = [
            AssetSpec(
                bs,
                f"第{s + 1}号基站 base station",
                site,
                "radio",
                "tetra_bs",
                f"agg-rtr-{d:03d}",
                f"{host}:16100",
                cred,
                {"vendor": "hytera", "carriers": f'"{2 + s % 3}"', "maintainer": "radio"},
                [("trunked_bs", "15s"), ("if_mib", "15s")],
            ),
            AssetSpec(
                f"ups-{site}",
                f"第{s + 1}号基站电源 power",
                site,
                "power",
                "ups",
                None,
                f"{host}:16101",
                "v3-radio" if v3 else cred,
                {"vendor": "santak", "maintainer": "facilities"},
                [("ups_mib", None)],
                "3" if v3 else None,
            ),
            AssetSpec(
                f"sw-{site}",
                f"第{s + 1}号基站交换机 site switch",
                site,
                "network",
                "switch",
                bs,
                f"{host}:16102",
                cred,
                {"vendor": "h3c", "maintainer": "network"},
                [("if_mib", None)],
            ),
        ]
        for spec in site_assets[: assets - count]:
            asset_lines += _asset_lines(spec)
            count += 1
    out += ["\n".join(sites) + "\n", "\n".join(asset_lines) + "\n", sections["inspections"]]
    path = folder / "monitor.yaml"
    path.write_text("\n".join(out), encoding="utf-8")
    return path


# -- measuring, in a fresh process per phase -------------------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _pin(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def worker(phase: str, path: Path, profile_to: str | None, trace: bool) -> dict[str, Any]:
    """One phase on one file, in this (fresh) process; returns its measurement."""
    from monitor.app.daemon import Daemon
    from monitor.config import load_config

    if trace:
        tracemalloc.start(1)
    rss_before = _status_kib("VmRSS")
    profiler = cProfile.Profile() if profile_to else None
    cpu0, t0 = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    if phase == "load":
        config = load_config(path)
        held: object = config
        assets = len(config.assets)
        jobs = sum(len(a.probes) for a in config.assets)
    else:
        loaded = Daemon(path)._load()
        held = loaded
        assets = len(loaded.inventory.assets)
        jobs = len(loaded.inventory.jobs)
    if profiler is not None and profile_to:
        profiler.disable()
        profiler.dump_stats(profile_to)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    result: dict[str, Any] = {
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_before_mib": rss_before / 1024,
        "peak_rss_mib": _status_kib("VmHWM") / 1024,
        "held_rss_mib": _status_kib("VmRSS") / 1024,
        "assets": assets,
        "jobs": jobs,
        "preempted": resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw,
    }
    if trace:
        snapshot = tracemalloc.take_snapshot()
        result["tracemalloc_top"] = [
            f"{stat.size / 2**20:7.1f} MiB {stat.count:9,d} blocks  {stat.traceback[0]}"
            for stat in snapshot.statistics("lineno")[:25]
        ]
    del held
    return result


def _run_worker(
    phase: str, path: Path, cpu: int | None, profile_to: str | None, trace: bool
) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.config_load", "--worker", phase, str(path)]
    if profile_to:
        argv += ["--profile-to", profile_to]
    if trace:
        argv.append("--tracemalloc")
    done = subprocess.run(
        argv, cwd=REPO, capture_output=True, text=True, timeout=RUN_LIMIT_SECONDS, check=False,
        preexec_fn=(lambda: _pin(cpu)) if cpu is not None else None,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{phase} of {path} failed:\n{done.stdout}{done.stderr}")
    record: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return record


def check_config_process(path: Path, cpu: int | None) -> dict[str, Any]:
    """``trunkwatch check-config`` as a whole process: wall time, CPU and peak RSS (wait4)."""
    argv = [sys.executable, "-m", "monitor.cli", "check-config", "-c", str(path)]
    t0 = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        preexec_fn=(lambda: _pin(cpu)) if cpu is not None else None,
    )  # fmt: skip
    deadline = t0 + RUN_LIMIT_SECONDS
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.01)
    wall = time.perf_counter() - t0
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stdout is not None
    output = process.stdout.read().decode(errors="replace")
    process.stdout.close()
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "exit": process.returncode,
        "output": output.strip().splitlines()[-1] if output.strip() else "",
        "preempted": usage.ru_nivcsw,
    }


@dataclass(slots=True)
class SizeResult:
    assets: int
    file_bytes: int
    file_lines: int
    jobs: int
    load: dict[str, Any]
    daemon: dict[str, Any]
    check_config: dict[str, Any]
    #: check-config of the same file with one problem in its last asset (the lines are found).
    one_problem: dict[str, Any]
    problems: list[str]


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time, with the spread of the others."""
    ordered = sorted(runs, key=lambda r: r["wall_s"])
    best = dict(ordered[len(ordered) // 2])
    best["wall_s_all"] = [round(r["wall_s"], 3) for r in runs]
    best["peak_rss_mib_max"] = max(r["peak_rss_mib"] for r in runs)
    return best


def with_one_problem(path: Path) -> Path:
    """A copy of the file beside it whose last asset has a port out of range."""
    lines = path.read_text(encoding="utf-8").splitlines()
    last = max(i for i, line in enumerate(lines) if line.startswith("    address: "))
    lines[last] = "    address: 127.0.0.1:99999"
    broken = path.with_name("one-problem.yaml")
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return broken


def measure_size(
    n: int, folder: Path, cpu: int | None, repeat: int, profile_stem: str | None, trace: bool
) -> SizeResult:
    path = generate(n, folder)
    data = path.read_bytes()
    problems: list[str] = []
    by_phase: dict[str, dict[str, Any]] = {}
    check = _best([check_config_process(path, cpu) for _ in range(repeat)])
    if check["exit"] != 0:
        problems.append(f"check-config exited {check['exit']}: {check['output']}")
    broken = with_one_problem(path)
    one_problem = _best([check_config_process(broken, cpu) for _ in range(repeat)])
    if one_problem["output"] != f"1 problem(s) in {broken}":
        problems.append(f"check-config of {broken.name}: {one_problem['output']}")
    for phase in PHASES:
        if problems:
            by_phase[phase] = {}
            continue
        runs = [
            _run_worker(
                phase,
                path,
                cpu,
                f"{profile_stem}-{phase}.pstats" if profile_stem and i == 0 else None,
                trace and phase == "load" and i == 0,
            )
            for i in range(repeat)
        ]
        by_phase[phase] = _best(runs)
        if by_phase[phase]["assets"] != n:
            problems.append(f"{phase}: {by_phase[phase]['assets']} assets loaded, not {n}")
    return SizeResult(
        assets=n,
        file_bytes=len(data),
        file_lines=data.count(b"\n"),
        jobs=by_phase["load"].get("jobs", 0),
        load=by_phase["load"],
        daemon=by_phase["daemon"],
        check_config=check,
        one_problem=one_problem,
        problems=problems,
    )


# -- report ----------------------------------------------------------------------------------


def _growth(results: Sequence[SizeResult], i: int, get: Callable[[SizeResult], float]) -> str:
    """log(value / previous) / log(N / previous N): 1 is linear, 2 quadratic."""
    if i == 0:
        return "-"
    before, now = get(results[i - 1]), get(results[i])
    if before <= 0 or now <= 0 or results[i - 1].assets == results[i].assets:
        return "-"
    return f"{math.log(now / before) / math.log(results[i].assets / results[i - 1].assets):.2f}"


def _per_file_byte(phase: dict[str, Any], file_bytes: int) -> float:
    """How many times the file's size the load's peak grew above the process before it."""
    return _held(phase) * 2**20 / file_bytes


def _held(phase: dict[str, Any]) -> float:
    return float(phase["peak_rss_mib"]) - float(phase["rss_before_mib"])


#: (title, cell) of each column; growths compare a row with the one above it.
COLUMNS: tuple[tuple[str, Callable[[Sequence[SizeResult], int], str]], ...] = (
    ("assets", lambda rs, i: f"{rs[i].assets:,}"),
    ("file MiB", lambda rs, i: f"{rs[i].file_bytes / 2**20:.1f}"),
    ("lines", lambda rs, i: f"{rs[i].file_lines:,}"),
    ("load s", lambda rs, i: f"{rs[i].load['wall_s']:.2f}"),
    ("load CPU s", lambda rs, i: f"{rs[i].load['cpu_s']:.2f}"),
    ("CPU µs/asset", lambda rs, i: f"{rs[i].load['cpu_s'] / rs[i].assets * 1e6:.0f}"),
    ("load peak MiB", lambda rs, i: f"{rs[i].load['peak_rss_mib']:.0f}"),
    ("growth ×file", lambda rs, i: f"{_per_file_byte(rs[i].load, rs[i].file_bytes):.0f}"),
    ("daemon s", lambda rs, i: f"{rs[i].daemon['wall_s']:.2f}"),
    ("daemon CPU s", lambda rs, i: f"{rs[i].daemon['cpu_s']:.2f}"),
    ("daemon peak MiB", lambda rs, i: f"{rs[i].daemon['peak_rss_mib']:.0f}"),
    ("check-config s", lambda rs, i: f"{rs[i].check_config['wall_s']:.2f}"),
    ("check-config CPU s", lambda rs, i: f"{rs[i].check_config['cpu_s']:.2f}"),
    ("check-config MiB", lambda rs, i: f"{rs[i].check_config['peak_rss_mib']:.0f}"),
    ("1 problem s", lambda rs, i: f"{rs[i].one_problem['wall_s']:.2f}"),
    ("1 problem MiB", lambda rs, i: f"{rs[i].one_problem['peak_rss_mib']:.0f}"),
    ("CPU growth", lambda rs, i: _growth(rs, i, lambda r: float(r.load["cpu_s"]))),
    ("memory growth", lambda rs, i: _growth(rs, i, lambda r: _held(r.load))),
    ("preempted", lambda rs, i: f"{rs[i].check_config['preempted']}"),
)


def table(results: Sequence[SizeResult]) -> str:
    measured = [r for r in results if not r.problems]
    rows = [[title for title, _ in COLUMNS]]
    rows += [[cell(measured, i) for _, cell in COLUMNS] for i in range(len(measured))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )


def goal_verdict(results: Sequence[SizeResult]) -> dict[str, Any]:
    at_goal = [r for r in results if r.assets == GOAL_ASSETS and not r.problems]
    if not at_goal:
        return {"met": None, "why": f"no run with {GOAL_ASSETS:,} assets"}
    check = at_goal[0].check_config
    met = check["wall_s"] < GOAL_SECONDS and check["peak_rss_mib"] < GOAL_MIB
    return {
        "met": met,
        "why": (
            f"check-config of {GOAL_ASSETS:,} assets: {check['wall_s']:.2f} s "
            f"(goal < {GOAL_SECONDS:g} s), peak RSS {check['peak_rss_mib']:.0f} MiB "
            f"(goal < {GOAL_MIB:g} MB)"
        ),
    }


def _cpu() -> int | None:
    """The CPU every measuring process is pinned to: the last one this process may use."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return max(os.sched_getaffinity(0))


@contextlib.contextmanager
def _folder(keep: bool) -> Iterator[Path]:
    if keep:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        yield Path(tempfile.mkdtemp(prefix="config-load-", dir=RESULTS_DIR))
    else:
        with tempfile.TemporaryDirectory(prefix="trunkwatch-config-load-") as name:
            yield Path(name)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.config_load",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument(
        "--assets",
        default=DEFAULT_SIZES,
        help="comma-separated fleet sizes, each measured in fresh processes (default: %(default)s)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each measurement; the median is shown"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile each load into bench/results/*.pstats"
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="print the 25 largest allocation sites held after loading the largest N",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the generated files under bench/results/"
    )
    parser.add_argument("--quick", action="store_true", help="smoke check: 1,000 assets, once")
    parser.add_argument("--worker", nargs=2, metavar=("PHASE", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.assets, args.repeat = "1000", 1
    try:
        args.sizes = [int(part) for part in args.assets.split(",") if part.strip()]
    except ValueError:
        parser.error(f"--assets: expected comma-separated integers, got {args.assets!r}")
    if not args.sizes or min(args.sizes) < 1 or max(args.sizes) > 200_000:
        parser.error("--assets: at least one fleet size, each between 1 and 200,000")
    if not 1 <= args.repeat <= 10:
        parser.error("--repeat: between 1 and 10")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        phase, file = args.worker
        if phase not in PHASES:
            raise SystemExit(f"unknown phase {phase!r}")
        record = worker(phase, Path(file), args.profile_to, args.tracemalloc)
        print(json.dumps(record))
        return 0
    cpu = _cpu()
    load_before = os.getloadavg()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    print(
        f"config-load bench: sizes {', '.join(f'{n:,}' for n in args.sizes)}, repeat "
        f"{args.repeat}, pinned to cpu {cpu}, load average {load_before[0]:.2f}",
        flush=True,
    )
    results: list[SizeResult] = []
    largest = max(args.sizes)
    for n in args.sizes:
        with _folder(args.keep) as folder:
            stem = str(RESULTS_DIR / f"config_load-{stamp}-{n}") if args.profile else None
            result = measure_size(
                n, folder, cpu, args.repeat, stem, args.tracemalloc and n == largest
            )
        results.append(result)
        if result.problems:
            print(f"  {n:,} assets: {'; '.join(result.problems)}", flush=True)
            continue
        print(
            f"  {n:,} assets ({result.file_bytes / 2**20:.1f} MiB): load "
            f"{result.load['wall_s']:.2f} s / {result.load['peak_rss_mib']:.0f} MiB, daemon "
            f"{result.daemon['wall_s']:.2f} s / {result.daemon['peak_rss_mib']:.0f} MiB, "
            f"check-config {result.check_config['wall_s']:.2f} s / "
            f"{result.check_config['peak_rss_mib']:.0f} MiB",
            flush=True,
        )
        for line in result.load.pop("tracemalloc_top", []):
            print(f"    {line}")
    load_after = os.getloadavg()
    print()
    print(table(results))
    verdict = goal_verdict(results)
    state = {True: "met", False: "NOT met", None: "not measured"}[verdict["met"]]
    print(f"\ngoal: {state} — {verdict['why']}")
    print(
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
        f"({os.cpu_count()} CPUs): anything above ~1 means the times include waiting for a CPU"
    )
    report = {
        "bench": "config_load",
        "started": stamp,
        "host": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "pinned_cpu": cpu,
            "load_average_before": load_before,
            "load_average_after": load_after,
        },
        "settings": {"sizes": args.sizes, "repeat": args.repeat},
        "results": [asdict(r) for r in results],
        "goal": verdict,
    }
    out = RESULTS_DIR / f"config_load-{stamp}.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"written {out.relative_to(REPO)}")
    if args.profile:
        print(f"profiles: {RESULTS_DIR.relative_to(REPO)}/config_load-{stamp}-*.pstats")
    problems = [f"{r.assets} assets: {p}" for r in results for p in r.problems]
    for problem in problems:
        print(f"not a valid measurement: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

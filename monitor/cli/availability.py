"""``trunkwatch availability report``: the supervisor's monthly or quarterly availability
account (可用率报告) per system, site and asset, with the outages and their root asset, MTTR,
MTBF and the E1 lines' G.826 seconds, as HTML, CSV or JSON.

The samples come from Prometheus (``--prometheus``), raw; the configuration, when there is one,
gives the time zone, the names and the topology, and, when it has an ``inspections:`` section,
the planned maintenance windows recorded in its store (``trunkwatch maintenance``), whose time
is left out of the availability.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from math import floor
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.availability import (
    AssetInfo,
    AvailabilityReport,
    MaintenanceWindow,
    Period,
    PeriodError,
    PrometheusSamples,
    SourceError,
    compute,
    month,
    quarter,
    render_csv,
    render_html,
    render_json,
)
from monitor.cli.args import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    AddConfig,
    Subparsers,
    positive_number,
)
from monitor.cli.problems import print_problems
from monitor.config import Config, load_config
from monitor.core.sources import ConfigError
from monitor.inspections.errors import StoreError
from monitor.inspections.maintenance.service import MAX_OVERLAPPING
from monitor.inspections.plans import build_setup
from monitor.inspections.section import INSPECTIONS
from monitor.inspections.store import open_store
from monitor.inventory import build_inventory

__all__ = ["cmd_report", "register"]

_FORMATS = ("html", "csv", "json")

_EPILOG = """\
examples:
  trunkwatch availability report --month 2026-11 --prometheus http://127.0.0.1:9090 \\
      --out availability-2026-11.html
  trunkwatch availability report --quarter 2026-Q4 --prometheus http://prom:9090 --format csv
  trunkwatch availability report --month 2026-11 --prometheus http://vm:8428 --centre nanning \\
      --format json --out 2026-11.json

Availability = up / (period - planned maintenance - time without data). A period that has not
ended is reported up to now. Exit 1 when Prometheus cannot be read, 2 on bad usage.
"""


class UsageError(Exception):
    """Bad arguments: one line on stderr, exit status 2."""


def register(subparsers: Subparsers, add_config: AddConfig) -> None:
    """Add ``availability`` and its ``report`` command to the ``trunkwatch`` parser."""
    group = subparsers.add_parser(
        "availability",
        help="availability report: per system, site and asset, outages, MTTR/MTBF",
        description="Availability and SLA reports for a calendar month or quarter.",
    )
    group.set_defaults(func=lambda _args: _print_help(group))
    commands = group.add_subparsers(dest="availability_command", metavar="COMMAND")
    p = commands.add_parser(
        "report",
        help="a month's or quarter's availability (HTML, CSV or JSON)",
        description="Availability per system, site and asset over a calendar month or quarter "
        "in the centre's time zone, from the raw probe samples in Prometheus: up, down, "
        "planned maintenance and time without data, the outages with their root asset, MTTR, "
        "MTBF and the E1 lines' errored, severely errored and unavailable seconds.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config(p)
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--month", metavar="YYYY-MM", help="a calendar month")
    when.add_argument("--quarter", metavar="YYYY-Qn", help="a calendar quarter")
    p.add_argument("--prometheus", metavar="URL", help="Prometheus base URL (required)")
    p.add_argument(
        "--centre",
        metavar="ID",
        help="one centre of a region's store (its `centre` label); needed there, or the "
        "centres' assets of the same id would be taken for replicas of one",
    )
    p.add_argument(
        "--format",
        choices=_FORMATS,
        help="html, csv or json (default: from the --out suffix, else html)",
    )
    p.add_argument("--out", type=Path, metavar="FILE", help="file to write (default: stdout)")
    p.add_argument("--title", default="", help="report title (可用率报告)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--timeout", type=positive_number, default=30.0, help=argparse.SUPPRESS)
    p.add_argument("--chunk-hours", type=positive_number, default=12.0, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_report)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


@dataclass(slots=True)
class _Setting:
    """What the configuration contributes: time zone, names, the topology."""

    timezone: str = "Asia/Shanghai"
    centre: str = ""
    assets: dict[str, AssetInfo] = field(default_factory=dict)
    site_names: dict[str, str] = field(default_factory=dict)
    config: Config | None = None


def _setting(path: str) -> _Setting:
    """The configuration's contribution; the defaults when the default file is absent (a
    report against a remote Prometheus needs no local configuration)."""
    if path == "monitor.yaml" and not Path(path).exists():
        return _Setting()
    config = load_config(path)
    inventory = build_inventory(config)
    return _Setting(
        timezone=config.model.centre.timezone,
        centre=config.model.centre.name,
        assets={
            a.id: AssetInfo(a.id, a.site, a.system, a.name, a.parent)
            for a in inventory.assets.values()
        },
        site_names={
            s.id: " ".join(filter(None, (s.name, s.name_en))) for s in inventory.sites.values()
        },
        config=config,
    )


def _maintenance(setting: _Setting, period: Period) -> list[MaintenanceWindow]:
    """The planned maintenance windows of the period, from the inspection store of the
    configuration (none without an ``inspections:`` section). Raises StoreError."""
    config = setting.config
    if config is None or INSPECTIONS.of(config) is None:
        return []
    setup = build_setup(config, sign_in=False)
    store = open_store(setup.store_url, setup.data_dir)
    try:
        found = store.windows(
            ending_after=period.start.timestamp(),
            starting_before=period.end.timestamp(),
            limit=MAX_OVERLAPPING,
        )
    finally:
        store.close()
    return [
        MaintenanceWindow(
            w.scope.value,
            w.target,
            datetime.fromtimestamp(w.starts_at, UTC),
            datetime.fromtimestamp(w.end, UTC),
            w.reason,
        )
        for w in found
    ]


def _period(args: argparse.Namespace, timezone: str) -> Period:
    try:
        wanted = month(args.month, timezone) if args.month else quarter(args.quarter, timezone)
        return wanted.until(datetime.now(ZoneInfo(timezone)))
    except PeriodError as exc:
        raise UsageError(f"--{'month' if args.month else 'quarter'}: {exc}") from exc


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = args.out.suffix.lower().lstrip(".") if args.out else ""
    return suffix if suffix in _FORMATS else "html"


async def _report(
    args: argparse.Namespace,
    setting: _Setting,
    period: Period,
    maintenance: list[MaintenanceWindow],
) -> AvailabilityReport:
    try:
        source = PrometheusSamples(
            args.prometheus,
            timeout=args.timeout,
            chunk=timedelta(hours=args.chunk_hours),
            centre=args.centre,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    tty = sys.stderr.isatty() and not args.quiet

    def progress(done: int, total: int, _what: str) -> None:
        if tty:
            end = "\n" if done >= total else ""
            print(f"\r\x1b[Kreading samples: {done}/{total}", end=end, file=sys.stderr)

    samples = await source.fetch(period, progress=progress)
    # The assets are those the monitor reported in the period; the configuration names them
    # and gives their place in the topology (an asset configured since has no history here).
    seen = {s.asset for s in samples.success} | {a.id for a in samples.assets}
    known = {a.id: a for a in samples.assets} | {
        a: info for a, info in setting.assets.items() if a in seen
    }
    where = f" centre={args.centre}" if args.centre else ""
    return compute(
        period,
        samples.success,
        assets=known.values(),
        site_names=samples.site_names | setting.site_names,
        maintenance=maintenance,
        unreachable=samples.unreachable,
        e1=samples.e1,
        source=f"Prometheus {args.prometheus}{where}",
    )


def cmd_report(args: argparse.Namespace) -> int:
    name = "trunkwatch availability report"
    try:
        if not args.prometheus:
            raise UsageError("--prometheus URL is required (the configuration names none)")
        setting = _setting(args.config)
        period = _period(args, setting.timezone)
        maintenance = _maintenance(setting, period)
        report = asyncio.run(_report(args, setting, period, maintenance))
    except UsageError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print_problems(exc)
        return EXIT_USAGE
    except SourceError as exc:
        print(f"{name}: Prometheus unavailable: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except StoreError as exc:
        print(f"{name}: maintenance windows unavailable: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if not report.rows:
        print(f"{name}: no probe samples in {period.label}", file=sys.stderr)
        return EXIT_FAILED
    kind = _format(args)
    if kind == "json":
        text = render_json(report)
    elif kind == "csv":
        text = render_csv(report)
    else:
        text = render_html(report, title=args.title, centre=setting.centre)
    if args.out is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        # A BOM, so a spreadsheet opening the CSV reads the Chinese names as UTF-8.
        args.out.write_text(text, encoding="utf-8-sig" if kind == "csv" else "utf-8")
    except OSError as exc:
        print(f"{name}: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    sys.stdout.write(_summary(report))
    return EXIT_OK


def _summary(report: AvailabilityReport) -> str:
    """The systems' lines as plain text: the supervisor's first look."""
    lines = [f"{report.period.label}{' (so far)' if report.period.partial else ''}"]
    for r in report.level("system"):
        # Rounded down: an interruption never shows as 100 %.
        ratio = "-" if r.availability is None else f"{floor(r.availability * 1e5) / 1e3:.3f} %"
        unknown = f", no data {r.unknown_seconds:g} s" if r.unknown_ms else ""
        lines.append(f"{r.id:<10} {ratio:>10}  outages {len(r.outages)}{unknown}")
    return "\n".join(lines) + "\n"

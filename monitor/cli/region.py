"""``trunkwatch region report``: the regional availability and capacity account over a
region's store (VictoriaMetrics fed by every centre's Prometheus pair, each with its
``centre`` external label), one section per centre, as HTML (``--out``) and JSON (``--json``).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.capacity import PlanningOptions
from monitor.capacity.errors import HistoryError
from monitor.capacity.history import Objectives
from monitor.capacity.region import dumps, region_report, render_region_html
from monitor.cli.args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, AddConfig, Subparsers, day

__all__ = ["cmd_report", "register"]


def _problem(args: argparse.Namespace) -> str | None:
    if args.days < 1:
        return f"--days must be >= 1, got {args.days}"
    if not (math.isfinite(args.target) and 0.0 < args.target < 1.0):
        return f"--target must be between 0 and 1, got {args.target:g}"
    if not args.prometheus.startswith(("http://", "https://")):
        return f"--prometheus must be an http:// or https:// URL, got {args.prometheus!r}"
    try:
        ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"--timezone: unknown time zone {args.timezone!r}"
    return None


def cmd_report(args: argparse.Namespace) -> int:
    problem = _problem(args)
    if problem is not None:
        print(f"trunkwatch region report: {problem}", file=sys.stderr)
        return EXIT_USAGE
    tz = ZoneInfo(args.timezone)
    last = args.end or (datetime.now(tz).date() - timedelta(days=1))
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tz)
    start = end - timedelta(days=args.days)

    def progress(centre: str) -> None:
        if not args.quiet:
            print(f"reading centre {centre}", file=sys.stderr)

    try:
        report = asyncio.run(
            region_report(
                args.prometheus,
                start,
                end,
                options=PlanningOptions(),
                objectives=Objectives(),
                timezone=args.timezone,
                target=args.target,
                request_timeout=args.timeout,
                progress=progress,
            )
        )
    except HistoryError as exc:
        print(f"trunkwatch region report: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        if args.out is not None:
            args.out.write_text(render_region_html(report, title=args.title), encoding="utf-8")
    except OSError as exc:
        print(f"trunkwatch region report: cannot write: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(dumps(report))
    else:
        for a in report.centres:
            shown = ", ".join(f"{s} {v * 100:.3f} %" for s, v in sorted(a.availability.items()))
            print(
                f"{a.centre}: {shown or 'no availability recorded'}; "
                f"{len(a.below_target)}/{a.sites} sites below target; "
                f"{a.expansions} groups to expand" + (f" ({a.problem})" if a.problem else "")
            )
    return EXIT_OK


def register(sub: Subparsers, add_config: AddConfig) -> None:
    """Add ``region report``."""
    group = sub.add_parser("region", help="the regional account over a region's store")
    commands = group.add_subparsers(dest="region_command", metavar="COMMAND", required=True)
    p = commands.add_parser(
        "report",
        help="availability and capacity of every centre (HTML and JSON)",
        description="Per centre of the store (the values of its `centre` label): each system's "
        "availability, the sites below target and the capacity plan, over --days up to --end.",
    )
    p.add_argument(
        "--prometheus", required=True, metavar="URL", help="the region's store (VictoriaMetrics)"
    )
    p.add_argument("--out", type=Path, metavar="FILE", help="HTML file to write")
    p.add_argument("--json", action="store_true", help="print the account as JSON")
    p.add_argument("--days", type=int, default=30, metavar="N", help="days covered (30)")
    p.add_argument("--end", type=day, metavar="DATE", help="last day covered (yesterday)")
    p.add_argument(
        "--target", type=float, default=0.999, metavar="R", help="availability target (0.999)"
    )
    p.add_argument("--timezone", default="Asia/Shanghai", help="the region's time zone")
    p.add_argument("--title", default="", help="report title (区域可用率与容量报告)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S", help=argparse.SUPPRESS)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_report)

"""``trunkwatch maintenance start|end|list``: planned maintenance (计划检修) from a terminal.

    trunkwatch maintenance start --site xixiangtang --for 2h \\
        --reason "更换电源模块 rectifier swap"
    trunkwatch maintenance start --asset bs-xixiangtang --for 30m \\
        --reason "天馈线扫频 antenna sweep"
    trunkwatch maintenance end WINDOW-ID
    trunkwatch maintenance list [--all] [--json]

The owner of a window (and whoever ends one) is the person whose personal token is presented,
read from ``$TRUNKWATCH_TOKEN`` or ``--token-file`` as for ``inspections record``. By default
the window is written to the inspection store of the configuration and its Alertmanager
silence made at once (``alerting.alertmanager_url``); when Alertmanager cannot be reached the
window stands all the same and the running daemon makes the silence on its next pass. With
``--api URL`` the command asks the running daemon instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.cli.args import EXIT_OK, AddConfig, Subparsers, identifier
from monitor.cli.daemonapi import call, guarded
from monitor.cli.inspections import TOKEN_ENV, UsageError, read_token
from monitor.config import load_config
from monitor.core.clock import SystemClock
from monitor.core.durations import parse_duration
from monitor.inspections.maintenance.api import PREFIX, window_json
from monitor.inspections.maintenance.service import MaintenanceService
from monitor.inspections.plans import InspectionSetup, build_setup
from monitor.inspections.section import INSPECTIONS
from monitor.inspections.store import open_store

__all__ = ["register"]


class _Local:
    """The configuration's maintenance service, on its store."""

    def __init__(self, args: argparse.Namespace, *, sign_in: bool) -> None:
        config = load_config(args.config)
        if INSPECTIONS.of(config) is None:
            raise UsageError(
                f"{config.path} has no inspections: section; planned maintenance needs its "
                "roster and store"
            )
        self.setup: InspectionSetup = build_setup(config, sign_in=sign_in)
        store = open_store(self.setup.store_url, self.setup.data_dir)
        self.service = MaintenanceService(self.setup.maintenance, store, SystemClock())
        self.zone = self.setup.zone

    def person(self, token: str) -> str:
        person = self.setup.roster.authenticate(token)
        if person is None:
            raise UsageError("the token matches no one on the roster")
        return person.id


def _time(t: float | None, zone: ZoneInfo) -> str:
    return "" if t is None else f"{datetime.fromtimestamp(t, zone):%Y-%m-%d %H:%M}"


def _print_window(w: dict[str, Any], zone: ZoneInfo) -> None:
    end = w["ended_at"] if w["ended_at"] is not None else w["ends_at"]
    print(
        f"{w['id']}  {w['state']:<8} {w['scope']}:{w['target']:<16} {w['name']}  "
        f"{_time(w['starts_at'], zone)} → {_time(end, zone)[-5:]}  owner {w['owner']}  "
        f"{w['reason']}"
    )
    if w["silence"]:
        expired = " (expired)" if w["silence_expired_at"] else ""
        print(f"    silence {w['silence']}{expired}")
    elif w["silence_pending"]:
        print(f"    silence pending: {w['silence_pending']}; the daemon retries", file=sys.stderr)


def _zone(args: argparse.Namespace) -> ZoneInfo:
    return ZoneInfo(load_config(args.config).model.centre.timezone)


def cmd_start(args: argparse.Namespace) -> int:
    scope, target = ("asset", args.asset) if args.asset else ("site", args.site)
    try:
        seconds = parse_duration(args.duration)
    except ValueError as exc:
        raise UsageError(f"--for: {exc}") from None
    if args.api:
        body = {scope: target, "for": seconds, "reason": args.reason}
        _print_window(call(args, "POST", PREFIX, body), _zone(args))
        return EXIT_OK
    local = _Local(args, sign_in=True)
    owner = local.person(read_token(args))
    window = local.service.start(owner, scope, target, seconds, args.reason)
    _print_window(window_json(local.service, window), local.zone)
    return EXIT_OK


def cmd_end(args: argparse.Namespace) -> int:
    if args.api:
        _print_window(call(args, "POST", f"{PREFIX}/{args.window}/end"), _zone(args))
        return EXIT_OK
    local = _Local(args, sign_in=True)
    person = local.person(read_token(args))
    window = local.service.end(person, args.window)
    _print_window(window_json(local.service, window), local.zone)
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    if args.api:
        rows = call(args, "GET", PREFIX + ("?all=1" if args.all else ""))["windows"]
        zone = _zone(args)
    else:
        local = _Local(args, sign_in=False)
        rows = [window_json(local.service, w) for w in local.service.windows(past=args.all)]
        zone = local.zone
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    for row in rows:
        _print_window(row, zone)
    if not rows:
        print("no maintenance in force" if not args.all else "no maintenance recorded")
    return EXIT_OK


def _duration(text: str) -> str:
    """argparse type: a duration such as 2h (checked again against the window's bounds)."""
    try:
        parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, got {text!r}") from None
    return text


def register(subparsers: Subparsers, add_config: AddConfig) -> None:
    """Add ``maintenance`` and its sub-commands."""
    parser = subparsers.add_parser(
        "maintenance",
        help="planned maintenance windows: board state, Alertmanager silence, availability",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="maintenance_command", metavar="COMMAND", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        add_config(p)
        p.add_argument("--token-file", help=f"file holding your token (else ${TOKEN_ENV})")
        p.add_argument("--api", metavar="URL", help="ask a running daemon instead of the store")

    p = sub.add_parser("start", help="take an asset or a site out of service from now")
    common(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--asset", type=identifier, metavar="ID")
    what.add_argument("--site", type=identifier, metavar="ID")
    p.add_argument(
        "--for", dest="duration", type=_duration, required=True, metavar="DURATION",
        help="how long: 30m, 2h, 1d (1 minute to 7 days)",
    )  # fmt: skip
    p.add_argument("--reason", required=True, help="what the work is (shown to the on-call)")
    p.set_defaults(func=guarded("maintenance", cmd_start))

    p = sub.add_parser("end", help="end a window now, before its planned end")
    common(p)
    p.add_argument("window", metavar="ID", help="the window's id (maintenance list)")
    p.set_defaults(func=guarded("maintenance", cmd_end))

    p = sub.add_parser("list", help="the windows in force and to come")
    common(p)
    p.add_argument("--all", action="store_true", help="every window recorded (the latest 500)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=guarded("maintenance", cmd_list))

"""``trunkwatch duty log|handover``: the shift log and the handover (交接班) from a terminal.

    trunkwatch duty log [--shift current|previous|2026-12-06T08:00] [--json]
    trunkwatch duty handover --notes "E1 至 110 中继仍中断，已报运营商"
    trunkwatch duty handover --acknowledge [--notes "已知悉"]

``handover`` signs as the person whose personal token is presented (``$TRUNKWATCH_TOKEN`` or
``--token-file``): without ``--acknowledge`` as the outgoing technician, the shift being the
one that is ending (from ``inspections.duty.sign_from`` before the change-over) or the one
before it while that is not yet signed over; with ``--acknowledge`` as the incoming one,
taking over the latest handover waiting. By default the store of the configuration is used;
``--api URL`` asks a running daemon instead.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.cli.args import EXIT_OK, AddConfig, Subparsers
from monitor.cli.daemonapi import call, guarded
from monitor.cli.inspections import TOKEN_ENV, UsageError, read_token
from monitor.config import load_config
from monitor.core.clock import SystemClock
from monitor.inspections.handover.api import PREFIX, handover_json, shift_json
from monitor.inspections.handover.shiftlog import KINDS
from monitor.inspections.plans import build_setup
from monitor.inspections.section import INSPECTIONS
from monitor.inspections.service import InspectionService
from monitor.inspections.store import open_store

__all__ = ["register"]


def _service(args: argparse.Namespace, *, sign_in: bool) -> InspectionService:
    config = load_config(args.config)
    if INSPECTIONS.of(config) is None:
        raise UsageError(
            f"{config.path} has no inspections: section; the shift log needs its roster, "
            "shifts (inspections.duty) and store"
        )
    setup = build_setup(config, sign_in=sign_in)
    if setup.duty is None:
        raise UsageError(f"{config.path}: no duty shifts are configured (inspections.duty)")
    return InspectionService(setup, open_store(setup.store_url, setup.data_dir), SystemClock())


def _person(service: InspectionService, args: argparse.Namespace) -> Any:
    person = service.authenticate(read_token(args))
    if person is None:
        raise UsageError("the token matches no one on the roster")
    return person


def _zone(args: argparse.Namespace) -> ZoneInfo:
    return ZoneInfo(load_config(args.config).model.centre.timezone)


def _time(t: float | None, zone: ZoneInfo) -> str:
    return "" if t is None else f"{datetime.fromtimestamp(t, zone):%m-%d %H:%M}"


def _print_handover(shift: dict[str, Any], zone: ZoneInfo) -> None:
    h = shift["handover"]
    print(f"{shift['name']} {shift['label']}  ({shift['shift']})")
    if h is None:
        print(f"  未交班 not signed over (due by {_time(shift['due_at'], zone)})")
        return
    print(f"  交班 signed over by {h['outgoing']} at {_time(h['signed_at'], zone)}")
    print(f"    {h['outgoing_notes']}")
    if h["complete"]:
        print(f"  接班 taken over by {h['incoming']} at {_time(h['acknowledged_at'], zone)}")
        if h["incoming_notes"]:
            print(f"    {h['incoming_notes']}")
    else:
        print("  待接班 awaiting take-over")
    print(f"  log SHA-256 {h['log_digest']}")


def _print_log(shift: dict[str, Any], zone: ZoneInfo) -> None:
    _print_handover(shift, zone)
    log = shift["log"]
    counts = ", ".join(f"{KINDS[k][1]} {n}" for k, n in log["counts"].items())
    print(f"as of {_time(log['as_of'], zone)}: {counts or 'nothing recorded'}")
    for e in log["entries"]:
        lasted = f"  [{round(e['duration'])} s]" if e["duration"] is not None else ""
        print(f"{_time(e['at'], zone)}  {KINDS[e['kind']][1]:<28} {e['en']}{lasted}")
    if log["open_faults"]:
        print(f"still open ({len(log['open_faults'])}):")
        for f in log["open_faults"]:
            print(f"  since {_time(f['since'], zone)}  {f['asset']}: {f['en']}")


def cmd_log(args: argparse.Namespace) -> int:
    if args.api:
        query = f"?shift={args.shift}" if args.shift else ""
        shift = call(args, "GET", f"{PREFIX}/shift{query}")
    else:
        service = _service(args, sign_in=False)
        handover = service.handover
        shift = shift_json(handover, handover.shift(args.shift))
    if args.json:
        print(json.dumps(shift, ensure_ascii=False, indent=2))
        return EXIT_OK
    _print_log(shift, _zone(args))
    return EXIT_OK


def cmd_handover(args: argparse.Namespace) -> int:
    if not args.acknowledge and not (args.notes or "").strip():
        raise UsageError("--notes: say what the next shift must know ('none' if nothing)")
    body: dict[str, Any] = {"notes": args.notes or ""}
    if args.shift:
        body["shift"] = args.shift
    if args.api:
        path = f"{PREFIX}/handover" + ("/acknowledge" if args.acknowledge else "")
        shift = call(args, "POST", path, body)
    else:
        read_token(args)  # without one, say so before anything is loaded
        service = _service(args, sign_in=True)
        person = _person(service, args)
        handover = service.handover
        if args.acknowledge:
            done = handover.acknowledge(person, args.notes or "", args.shift)
        else:
            done = handover.sign(person, args.notes, args.shift)
        shift = handover_json(handover, done)
    _print_handover(shift, _zone(args))
    return EXIT_OK


def register(subparsers: Subparsers, add_config: AddConfig) -> None:
    """Add ``duty`` and its sub-commands."""
    parser = subparsers.add_parser(
        "duty",
        help="the shift log and the shift handover (交接班)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="duty_command", metavar="COMMAND", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        add_config(p)
        p.add_argument("--token-file", help=f"file holding your token (else ${TOKEN_ENV})")
        p.add_argument("--api", metavar="URL", help="ask a running daemon instead of the store")
        p.add_argument(
            "--shift", metavar="SHIFT",
            help="current, previous, or a shift's start as YYYY-MM-DDTHH:MM",
        )  # fmt: skip

    p = sub.add_parser("log", help="what happened in a shift, and its handover")
    common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=guarded("duty", cmd_log))

    p = sub.add_parser("handover", help="sign the shift over, or (--acknowledge) take it over")
    common(p)
    p.add_argument("--notes", help="what the next shift must know (required to sign over)")
    p.add_argument(
        "--acknowledge", action="store_true", help="take over as the incoming technician"
    )
    p.set_defaults(func=guarded("duty", cmd_handover))

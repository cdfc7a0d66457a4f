"""``trunkwatch inspections list|due|record|report|token|audit|labels``.

Who signs from the command line: the person whose token is presented, read from
``$TRUNKWATCH_TOKEN`` or ``--token-file`` (never from an argument, which other users of the
machine can see). ``--as PERSON`` names who you mean to sign as; it is accepted only when the
token is that person's, so a shared terminal cannot sign for someone else.

By default ``record`` writes to the store directly (SQLite file or PostgreSQL of the
configuration) and reads automated items from the running daemon's /metrics; with
``--api URL`` it posts to the daemon instead, which then decides the signer from the token
alone and ``--as`` is refused.

``labels`` writes the sheet of QR labels for the equipment (PDF or HTML, by the name of
``--out``); each opens ``BASE_URL/inspections/asset/ID``, with the base URL from
``inspections.labels.base_url`` or ``--base-url``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.cli.args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, AddConfig, Subparsers
from monitor.cli.problems import print_problems
from monitor.config import load_config
from monitor.core.clock import SystemClock
from monitor.core.sources import ConfigError
from monitor.inspections.config import check_base_url
from monitor.inspections.errors import InspectionError, InvalidEntry, StoreError
from monitor.inspections.labels.pdf import render_pdf
from monitor.inspections.labels.sheet import build_labels, render_sheet
from monitor.inspections.plans import build_setup, hash_token
from monitor.inspections.report import monthly_report, render_csv, render_html
from monitor.inspections.service import ExpositionLive, InspectionService
from monitor.inspections.store import open_store

__all__ = ["TOKEN_ENV", "UsageError", "read_token", "register"]
TOKEN_ENV = "TRUNKWATCH_TOKEN"  # noqa: S105 - the variable's name, not a token


class UsageError(Exception):
    pass


def _service(
    args: argparse.Namespace, *, live_url: str | None = None, sign_in: bool = False
) -> InspectionService:
    """The inspection service of the configuration; ``sign_in`` for the commands that
    authenticate someone (the others neither read nor miss anyone's token)."""
    config = load_config(args.config)
    setup = build_setup(config, sign_in=sign_in)
    store = open_store(setup.store_url, setup.data_dir)
    live = None
    if live_url:
        text = _fetch_metrics(live_url)
        live = ExpositionLive(text) if text is not None else None
    return InspectionService(setup, store, SystemClock(), live)


def _fetch_metrics(url: str) -> str | None:
    if not url.startswith(("http://", "https://")):
        raise UsageError("--metrics-url takes an http:// or https:// URL")
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - operator's URL
            return str(response.read().decode())
    except (OSError, ValueError) as exc:
        print(
            f"trunkwatch: no live values from {url} ({exc}); automated items will read no data",
            file=sys.stderr,
        )
        return None


def read_token(args: argparse.Namespace) -> str:
    """The personal token: from --token-file, else $TRUNKWATCH_TOKEN (never an argument)."""
    if args.token_file:
        try:
            return Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"cannot read {args.token_file}: {exc.strerror}") from exc
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(f"set {TOKEN_ENV} or give --token-file with your personal token")
    return token


def _fmt(service: InspectionService, t: float | None) -> str:
    return "" if t is None else f"{service.local(t):%Y-%m-%d %H:%M}"


def cmd_list(args: argparse.Namespace) -> int:
    service = _service(args)
    rows: list[dict[str, Any]] = []
    for plan in service.setup.plans.values():
        rows.append(
            {
                "plan": plan.id,
                "title": plan.title,
                "frequency": plan.schedule.frequency.value,
                "targets": len(plan.targets),
                "owner": plan.plan.owner,
                "deputy": plan.plan.deputy or "",
                "items": len(plan.plan.checklist),
                # From when its rounds are owed: the configured start, else when the store
                # first saw the plan.
                "start": plan.start,
            }
        )
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    for r in rows:
        print(
            f"{r['plan']:<24} {r['frequency']:<9} targets={r['targets']:<3} "
            f"items={r['items']:<2} owner={r['owner']:<12} from={_fmt(service, r['start']):<16} "
            f"{r['title']}"
        )
    return EXIT_OK


def cmd_due(args: argparse.Namespace) -> int:
    service = _service(args)
    entries = service.calendar(person=args.person)
    if args.state:
        entries = [e for e in entries if e.state.value in args.state]
    if args.json:
        print(json.dumps([e.as_json() for e in entries], ensure_ascii=False, indent=2))
    else:
        for e in entries:
            print(
                f"{e.state.value:<9} {e.plan.id:<24} {e.target.key:<28} {e.period.key:<10} "
                f"due {service.due_text(e.due_at)}  owner {e.owner}"
                + (
                    f"  signed {_fmt(service, e.completed_at)} by {e.completed_by}"
                    if e.completed_at
                    else ""
                )
            )
    overdue = sum(1 for e in entries if e.state.value == "overdue")
    return EXIT_FAILED if args.fail_on_overdue and overdue else EXIT_OK


def _pairs(values: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for text in values:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise UsageError(f"{what} takes ITEM=VALUE, got {text!r}")
        out[key.strip()] = value
    return out


def _entries(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    for item, value in _pairs(args.set, "--set").items():
        entries.setdefault(item, {})["value"] = value
    for item, note in _pairs(args.note, "--note").items():
        entries.setdefault(item, {})["note"] = note
    return entries


def _print_record(record: dict[str, Any]) -> None:
    print(
        f"{record['id']} {record['plan']} {record['target']} {record['period']} "
        f"signed_by={record['signed_by'] or '-'} failed={record['failed_items']} "
        f"discrepancies={record['discrepancies']}"
    )
    for item in record["items"]:
        extra = f" ({item['detail']})" if item["detail"] else ""
        print(f"  {item['item']:<20} {item['outcome']:<8} {item['value'] or ''}{extra}")


def cmd_record(args: argparse.Namespace) -> int:
    token = read_token(args)
    entries = _entries(args)
    if args.api:
        if args.as_person:
            raise UsageError("--as is for local recording; the daemon signs as the token's person")
        return _record_via_api(args, token, entries)
    live_url = args.metrics_url
    if live_url is None:
        listen = load_config(args.config).model.server.listen
        live_url = f"http://{listen}/metrics"
    service = _service(args, live_url=live_url, sign_in=True)
    person = service.authenticate(token)
    if person is None:
        print("trunkwatch: the token matches no one on the roster", file=sys.stderr)
        return EXIT_USAGE
    if args.as_person and args.as_person != person.id:
        print(
            f"trunkwatch: the token is not {args.as_person}'s; refusing to sign as them",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        record = service.record(person, args.plan, args.target, entries, sign=not args.draft)
    except InvalidEntry as exc:
        print(f"trunkwatch: {exc}", file=sys.stderr)
        for item, reason in exc.problems.items():
            print(f"  {item}: {reason}", file=sys.stderr)
        return EXIT_FAILED
    except InspectionError as exc:
        print(f"trunkwatch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    _print_record(record.as_json())
    return EXIT_OK


def _record_via_api(args: argparse.Namespace, token: str, entries: dict[str, Any]) -> int:
    body = json.dumps(
        {"plan": args.plan, "target": args.target, "items": entries, "sign": not args.draft}
    ).encode()
    if not args.api.startswith(("http://", "https://")):
        raise UsageError("--api takes an http:// or https:// URL")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        args.api.rstrip("/") + "/api/v1/inspections/records",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            _print_record(json.loads(response.read()))
            return EXIT_OK
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read())
        except ValueError:
            detail = {"error": exc.reason}
        print(f"trunkwatch: {exc.code}: {detail.get('error')}", file=sys.stderr)
        for item, reason in (detail.get("problems") or {}).items():
            print(f"  {item}: {reason}", file=sys.stderr)
        return EXIT_USAGE if exc.code in (401, 403) else EXIT_FAILED
    except OSError as exc:
        print(f"trunkwatch: cannot reach {args.api}: {exc}", file=sys.stderr)
        return EXIT_FAILED


def cmd_report(args: argparse.Namespace) -> int:
    service = _service(args)
    report = monthly_report(service, args.month)
    if args.format == "csv":
        text = render_csv(
            report, detail=args.detail, zone_fmt=lambda t: f"{service.local(t):%Y-%m-%d %H:%M}"
        )
    else:
        text = render_html(report)
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        try:
            Path(args.output).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            print(
                f"trunkwatch inspections: cannot write {args.output}: {exc.strerror}",
                file=sys.stderr,
            )
            return EXIT_FAILED
        print(f"{args.output}: {report.month}, {len(report.entries)} rounds")
    return EXIT_OK


def cmd_token(args: argparse.Namespace) -> int:
    token = secrets.token_urlsafe(32)
    print(f"token (give it to {args.person} only; it is shown once): {token}")
    print(
        f"for monitor.yaml, inspections.roster[{args.person}]:  token_sha256: {hash_token(token)}"
    )
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    service = _service(args)
    lines = service.store.verify_audit_chain()
    for entry in service.store.audit_log(after_seq=max(0, lines - args.last), limit=args.last):
        when = datetime.fromtimestamp(entry.at, service.setup.zone)
        print(
            f"{entry.seq:>6} {when:%Y-%m-%d %H:%M:%S} {entry.actor:<12} {entry.action:<16} "
            f"{entry.round_id or ''} {json.dumps(entry.detail, ensure_ascii=False)}"
        )
    print(f"audit log intact: {lines} lines")
    return EXIT_OK


def cmd_labels(args: argparse.Namespace) -> int:
    setup = build_setup(load_config(args.config), sign_in=False)
    base_url = args.base_url or setup.labels.base_url
    if not base_url:
        raise UsageError(
            "labels need the URL the tablets reach this server at: "
            "set inspections.labels.base_url or give --base-url"
        )
    out = Path(args.out)
    kind = out.suffix.lower()
    if kind not in (".pdf", ".html", ".htm"):
        raise UsageError(f"--out names a .pdf or .html file, not {out.name!r}")
    labels = build_labels(setup, base_url, args.site)
    if kind == ".pdf":
        body = render_pdf(labels, setup.labels, centre=setup.centre)
    else:
        body = render_sheet(labels, centre=setup.centre, base_url=base_url).encode()
    try:
        out.write_bytes(body)
    except OSError as exc:
        print(f"trunkwatch inspections: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILED
    sites = len({label.site for label in labels})
    print(f"{out}: {len(labels)} labels, {sites} sites, opening {base_url}/inspections/asset/…")
    return EXIT_OK


def _base_url(text: str) -> str:
    """argparse type: the base URL the labels open, checked as in the configuration."""
    try:
        return check_base_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _guard(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except ConfigError as exc:
            print_problems(exc)
            return EXIT_USAGE
        except (UsageError, InvalidEntry) as exc:
            print(f"trunkwatch inspections: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except StoreError as exc:
            print(f"trunkwatch inspections: {exc}", file=sys.stderr)
            return EXIT_FAILED
        except InspectionError as exc:
            print(f"trunkwatch inspections: {exc}", file=sys.stderr)
            return EXIT_FAILED

    return run


def _month(text: str) -> str:
    """argparse type: YYYY-MM."""
    year, sep, month = text.strip().partition("-")
    if not (sep and len(year) == 4 and year.isdigit() and month.isdigit() and len(month) == 2):
        raise argparse.ArgumentTypeError(f"expected YYYY-MM such as 2017-03, got {text!r}")
    if not 1 <= int(month) <= 12:
        raise argparse.ArgumentTypeError(f"there is no month {month} (in {text!r})")
    return text.strip()


def _count(text: str) -> int:
    """argparse type: a whole number, 1 or more."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def register(subparsers: Subparsers, add_config: AddConfig) -> None:
    """Add ``inspections`` and its sub-commands."""
    parser = subparsers.add_parser(
        "inspections",
        help="inspection rounds: plans, what is due, record a round, compliance report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="inspections_command", metavar="COMMAND", required=True)

    p = sub.add_parser("list", help="the configured inspection plans")
    add_config(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_guard(cmd_list))

    p = sub.add_parser("due", help="the current round of every plan, overdue first")
    add_config(p)
    p.add_argument("--person", help="only rounds this person owns or deputises")
    p.add_argument(
        "--state",
        action="append",
        choices=["upcoming", "open", "done", "done_late", "overdue", "missed"],
        help="only rounds in this state",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument("--fail-on-overdue", action="store_true", help="exit 1 if any is overdue")
    p.set_defaults(func=_guard(cmd_due))

    p = sub.add_parser(
        "record",
        help="fill in and sign the current round of a plan",
        description="Fill in and sign the current round. Your token comes from "
        f"${TOKEN_ENV} or --token-file. Example: trunkwatch inspections record "
        "yearly-earthing site:hq --set earthing=2.8 --set spd=yes",
    )
    add_config(p)
    p.add_argument("plan")
    p.add_argument("target", help="asset:ID, site:ID, system:ID or a bare id")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="ITEM=VALUE",
        help="a reading (number) or a confirmation (yes/no)",
    )
    p.add_argument("--note", action="append", default=[], metavar="ITEM=TEXT")
    p.add_argument("--draft", action="store_true", help="save without signing")
    p.add_argument(
        "--as",
        dest="as_person",
        metavar="PERSON",
        help="local only: refuse unless the token is this person's",
    )
    p.add_argument("--token-file", help=f"file holding your token (else ${TOKEN_ENV})")
    p.add_argument("--api", metavar="URL", help="post to a running daemon instead of the store")
    p.add_argument(
        "--metrics-url",
        help="live values for automated items (default: the daemon's /metrics at server.listen)",
    )
    p.set_defaults(func=_guard(cmd_record))

    p = sub.add_parser("report", help="monthly compliance report (HTML or CSV)")
    add_config(p)
    p.add_argument("--month", type=_month, help="YYYY-MM (default: this month)")
    p.add_argument("--format", choices=["html", "csv"], default="html")
    p.add_argument("--detail", action="store_true", help="CSV: one row per round")
    p.add_argument("-o", "--output", help="file (default: standard output)")
    p.set_defaults(func=_guard(cmd_report))

    p = sub.add_parser("token", help="make a new personal token and its hash for the roster")
    p.add_argument("person")
    p.set_defaults(func=_guard(cmd_token))

    p = sub.add_parser(
        "labels",
        help="print a sheet of QR labels for the equipment (PDF or HTML)",
        description="A QR label per inspected asset (name, id, site, in Chinese and English); "
        "scanning one on a tablet opens that asset's current rounds. Example: trunkwatch "
        "inspections labels --site xingning --out labels.pdf",
    )
    add_config(p)
    p.add_argument("--site", action="append", default=[], help="only this site (repeatable)")
    p.add_argument(
        "--base-url",
        type=_base_url,
        help="the URL the tablets reach this server at (default: inspections.labels.base_url)",
    )
    p.add_argument("--out", required=True, help="labels.pdf or labels.html")
    p.set_defaults(func=_guard(cmd_labels))

    p = sub.add_parser("audit", help="verify the audit log's chain and show its last lines")
    add_config(p)
    p.add_argument("--last", type=_count, default=20, help="how many lines (default 20)")
    p.set_defaults(func=_guard(cmd_audit))

"""Asking the running daemon from the command line (``--api URL``) with the personal token, and
the refusals of the inspection family of commands as one-line errors: what ``maintenance``
and ``duty`` share."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from monitor.cli.args import EXIT_FAILED, EXIT_USAGE
from monitor.cli.inspections import UsageError, read_token
from monitor.cli.problems import print_problems
from monitor.core.sources import ConfigError
from monitor.inspections.errors import InspectionError, InvalidEntry, NotFound

__all__ = ["call", "guarded"]


def call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    """The daemon's answer; UsageError for a refusal of the request itself (400, 401, 403,
    404, 422), else InspectionError (a conflict with the records, a failing daemon)."""
    base = args.api.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise UsageError("--api takes an http:// or https:// URL")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {read_token(args)}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read())
        except ValueError:
            detail = {"error": exc.reason}
        problems = "; ".join(f"{k}: {v}" for k, v in (detail.get("problems") or {}).items())
        message = f"{exc.code}: {detail.get('error')}" + (f" ({problems})" if problems else "")
        if exc.code in (400, 401, 403, 404, 422):
            raise UsageError(message) from None
        raise InspectionError(message) from None
    except OSError as exc:
        raise InspectionError(f"cannot reach {args.api}: {exc}") from None


def guarded(
    name: str, command: Callable[[argparse.Namespace], int]
) -> Callable[[argparse.Namespace], int]:
    """``command`` with its refusals printed as ``trunkwatch NAME: reason``: bad input exits
    2; a refusal by the records (already signed, not allowed) or a failing store or daemon
    exits 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except ConfigError as exc:
            print_problems(exc)
            return EXIT_USAGE
        except InvalidEntry as exc:
            problems = "; ".join(f"{k}: {v}" for k, v in exc.problems.items())
            print(f"trunkwatch {name}: {exc} ({problems})", file=sys.stderr)
            return EXIT_USAGE
        except (UsageError, NotFound) as exc:
            print(f"trunkwatch {name}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except InspectionError as exc:
            # Refused by the records (already signed, not allowed) or a failing store.
            print(f"trunkwatch {name}: {exc}", file=sys.stderr)
            return EXIT_FAILED

    return run

"""``trunkwatch run``: the daemon (``check-config`` is in ``monitor.cli.check``)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from monitor.app.daemon import Daemon, DaemonFailure
from monitor.cli.args import (
    EXIT_FAILED,
    EXIT_OK,
    AddConfig,
    Subparsers,
    add_web_config_option,
    identifier,
    listen_address,
)
from monitor.cli.problems import print_problems
from monitor.core.addresses import parse_listen
from monitor.core.listen import ListenError
from monitor.core.sources import ConfigError
from monitor.inspections.errors import StoreError

__all__ = ["cmd_run", "register"]


def cmd_run(args: argparse.Namespace) -> int:
    daemon = Daemon(
        args.config,
        args.listen,
        web_config_file=args.web_config_file,
        replica=args.replica,
        member=args.member,
    )
    try:
        asyncio.run(daemon.run())
    except ConfigError as exc:
        print_problems(exc)
        return EXIT_FAILED
    except StoreError as exc:
        print(f"trunkwatch: inspection store: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except DaemonFailure as exc:  # a bug: the daemon has stopped, the log has the traceback
        print(f"trunkwatch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:  # the HTTP server's bind: the only socket the daemon opens itself
        if not isinstance(exc, ListenError):
            exc = ListenError("tcp", *parse_listen(args.listen), exc)
        print(f"trunkwatch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def register(sub: Subparsers, add_config: AddConfig) -> None:
    """Add ``run``."""
    p = sub.add_parser("run", help="run the monitoring daemon")
    add_config(p)
    p.add_argument(
        "--listen",
        type=listen_address,
        default="127.0.0.1:9750",
        help="HOST:PORT for HTTP (/metrics)",
    )
    add_web_config_option(p)
    p.add_argument(
        "--replica",
        type=identifier,
        default=None,
        help="this instance's replica name in an HA pair (wins over cluster.replica)",
    )
    p.add_argument(
        "--member",
        type=identifier,
        default=None,
        help="this instance's member name, one of cluster.members",
    )
    p.set_defaults(func=cmd_run, ends_process=True)

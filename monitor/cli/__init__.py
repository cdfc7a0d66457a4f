"""``trunkwatch …``: the command line.

Every command takes ``-c/--config`` (default ``monitor.yaml``) and exits non-zero with a
one-line reason on bad input; ``check-config`` prints every problem as
``file:line: field: reason``. Each command group is one module of this package, with a
``register(subparsers, add_config)`` that adds its commands; ``COMMAND_GROUPS`` lists them in
the order ``trunkwatch --help`` shows them.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence

from monitor import __version__
from monitor.cli import (
    availability,
    capacity,
    cluster,
    dashboards,
    demo,
    duty,
    inspections,
    maintenance,
    mibs,
    probe,
    region,
    rtp,
    run,
)
from monitor.cli.args import EXIT_USAGE, CommandParser, add_config

__all__ = ["COMMAND_GROUPS", "build_parser", "main"]

COMMAND_GROUPS = (
    run,
    probe,
    demo,
    inspections,
    maintenance,
    duty,
    capacity,
    availability,
    rtp,
    mibs,
    dashboards,
    cluster,
    region,
)


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )


def build_parser() -> argparse.ArgumentParser:
    # Typed as the base class the command modules register on; sub-parsers are made of
    # type(parser), so every one reports a bad argument in one line.
    parser: argparse.ArgumentParser = CommandParser(
        prog="trunkwatch",
        description="Monitor for trunked radio base stations, phone lines, network and "
        "inspection rounds, exported to Prometheus.",
    )
    parser.add_argument("--version", action="version", version=f"trunkwatch {__version__}")
    parser.add_argument("--log-level", default=os.environ.get("TRUNKWATCH_LOG_LEVEL", "info"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub, add_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    _setup_logging(args.log_level)
    started = time.monotonic()
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`trunkwatch cluster plan | head`): stop quietly, and keep
        # the interpreter's final flush of stdout from raising again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a command killed by it
    finally:
        logging.getLogger("trunkwatch").debug("command took %.3fs", time.monotonic() - started)

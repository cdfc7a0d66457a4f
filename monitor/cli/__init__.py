"""``trunkwatch …``: the command line.

Every command takes ``-c/--config`` (default ``monitor.yaml``) and exits non-zero with a
one-line reason on bad input; ``check-config`` prints every problem as
``file:line: field: reason``. Each command group is one module of this package, with a
``register(subparsers, add_config)`` that adds its commands; ``COMMAND_GROUPS`` lists them,
with their commands, in the order ``trunkwatch --help`` shows them, and a run imports only the
group of the command it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import time
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from monitor import __version__
from monitor.cli.args import EXIT_USAGE, CommandParser, add_config

__all__ = ["COMMAND_GROUPS", "build_parser", "main"]

#: Each command group, a module of this package, with the commands it adds, in the order
#: ``trunkwatch --help`` shows them. A run imports only the group of the command it runs:
#: together they import the web server, the dashboards' library, the capacity plots and
#: more, most of a second that ``check-config`` of a large file, say, has no use for.
#: ``--help`` and a command not listed here build the whole parser. A test holds this table
#: to what the modules register.
COMMAND_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("run", ("run",)),
    ("check", ("check-config",)),
    ("probe", ("probe",)),
    ("demo", ("simulate", "demo", "drill")),
    ("inspections", ("inspections",)),
    ("maintenance", ("maintenance",)),
    ("duty", ("duty",)),
    ("capacity", ("capacity",)),
    ("availability", ("availability",)),
    ("rtp", ("rtp",)),
    ("mibs", ("mibs",)),
    ("dashboards", ("dashboards",)),
    ("cluster", ("cluster",)),
    ("region", ("region",)),
)

#: The options before the command that take a value (``--log-level debug run``).
_VALUED_OPTIONS = frozenset({"--log-level"})


def group_module(name: str) -> ModuleType:
    """The module of a command group of COMMAND_GROUPS."""
    return importlib.import_module(f"{__name__}.{name}")


def _command_group(argv: Sequence[str]) -> str | None:
    """The group of the command ``argv`` names (its first word that is not an option or an
    option's value); None when it names none this table knows."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in _VALUED_OPTIONS:
            skip = True
        elif not word.startswith("-"):
            return next((g for g, commands in COMMAND_GROUPS if word in commands), None)
    return None


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )


def build_parser(groups: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line with the commands of ``groups`` (default: every group)."""
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
    for name, _ in COMMAND_GROUPS:
        if groups is None or name in groups:
            group_module(name).register(sub, add_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` names (default: the program's arguments, ``sys.argv``, which
    is how the ``trunkwatch`` program calls it) and return its exit status."""
    words = sys.argv[1:] if argv is None else list(argv)
    group = _command_group(words)
    parser = build_parser(None if group is None else [group])
    args = parser.parse_args(words)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    _setup_logging(args.log_level)
    code = _dispatch(args)
    # A command that holds a whole estate in memory until it stops (``run``, ``demo``,
    # ``simulate``) says so where it is registered (``ends_process``); run as the program, it
    # ends the process as soon as it has stopped.
    if argv is None and getattr(args, "ends_process", False):
        _leave(code)
    return code


def _dispatch(args: argparse.Namespace) -> int:
    """Run the parsed command; its exit status, or that of the interruption that ended it."""
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


def _leave(code: int) -> NoReturn:
    """End the process once a daemon command has stopped, without the interpreter's teardown.

    By then the daemon has stopped its work and closed its stores, and ``asyncio.run`` has
    waited for the default executor's jobs. What the teardown would add is freeing the whole
    heap object by object: 6 s of a 7.9 s stop at 10,000 devices; at 20,000 the whole stop ran
    past the scale bench's 30 s (``bench/scale.py`` times the stop). A service manager counts
    that against its stop timeout, and a restart waits for it. The log and the standard
    streams are flushed first: a redirected stdout is block-buffered.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)

"""What every ``trunkwatch`` command shares on its command line: a parser that reports a bad
argument in one line and exits 2, the exit statuses, the options several commands take
(``-c/--config``, ``--web.config.file``), and the types of the arguments people mistype —
listen addresses, speeds and timeouts, SNMPv3 protocol names. Each type says what was wrong
and what would be right, never with a traceback."""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Callable
from datetime import date
from typing import NoReturn, TypeAlias

from monitor.core.addresses import parse_listen
from probes.snmp.usm import usm_protocol

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "AddConfig",
    "CommandParser",
    "Subparsers",
    "add_config",
    "add_web_config_option",
    "auth_protocol",
    "day",
    "identifier",
    "listen_address",
    "non_negative_number",
    "positive_number",
    "priv_protocol",
]

#: Done; failed (a probe, a check, a write); bad usage or input.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: What a command module's ``register(subparsers, add_config)`` is given.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
AddConfig = Callable[[argparse.ArgumentParser], None]


class CommandParser(argparse.ArgumentParser):
    """argparse with a one-line error: ``trunkwatch demo: argument --speed: … (see
    trunkwatch demo --help)``, exit 2. Sub-command parsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def add_config(parser: argparse.ArgumentParser) -> None:
    """``-c/--config``, which every command takes."""
    parser.add_argument(
        "-c",
        "--config",
        default=os.environ.get("TRUNKWATCH_CONFIG", "monitor.yaml"),
        help="configuration file (default: monitor.yaml, or $TRUNKWATCH_CONFIG)",
    )


def add_web_config_option(parser: argparse.ArgumentParser) -> None:
    """``--web.config.file``, named as every Prometheus exporter names it."""
    parser.add_argument(
        "--web.config.file",
        dest="web_config_file",
        metavar="FILE",
        help="TLS and basic authentication for the HTTP server (exporter-toolkit format)",
    )


def listen_address(text: str) -> str:
    """argparse type: a ``HOST:PORT`` to listen on, returned as given."""
    try:
        parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def identifier(text: str) -> str:
    """argparse type: a name as monitor.yaml's identifiers are spelled (a replica, a member)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a name: letters, digits, '_', '.', '-', at most 63"
        )
    return text


def day(text: str) -> date:
    """A calendar date argument, YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def positive_number(text: str) -> float:
    """argparse type: a finite number above zero (a speed, a timeout)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text!r}")
    return value


def non_negative_number(text: str) -> float:
    """argparse type: a finite number, zero or above (an interval where 0 means never)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of at least 0, got {text!r}")
    return value


def auth_protocol(text: str) -> str:
    """argparse type: an SNMPv3 authentication protocol as net-snmp spells it (``SHA-256``)."""
    try:
        return usm_protocol("auth", text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def priv_protocol(text: str) -> str:
    """argparse type: an SNMPv3 privacy protocol as net-snmp spells it (``AES-256``)."""
    try:
        return usm_protocol("priv", text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None

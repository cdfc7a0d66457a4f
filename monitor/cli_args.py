"""What every ``trunkwatch`` command shares on its command line: a parser that reports a bad
argument in one line and exits 2, and the types of the arguments people mistype — listen
addresses, speeds and timeouts, SNMPv3 protocol names. Each type says what was wrong and what
would be right, never with a traceback."""

from __future__ import annotations

import argparse
import math
from typing import NoReturn

from monitor.core.addresses import parse_listen
from probes.snmp_usm import usm_protocol

__all__ = [
    "EXIT_USAGE",
    "CommandParser",
    "auth_protocol",
    "listen_address",
    "non_negative_number",
    "positive_number",
    "priv_protocol",
]

EXIT_USAGE = 2


class CommandParser(argparse.ArgumentParser):
    """argparse with a one-line error: ``trunkwatch demo: argument --speed: … (see
    trunkwatch demo --help)``, exit 2. Sub-command parsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def listen_address(text: str) -> str:
    """argparse type: a ``HOST:PORT`` to listen on, returned as given."""
    try:
        parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


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

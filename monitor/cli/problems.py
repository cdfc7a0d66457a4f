"""How a command prints the problems of a configuration it could not load: every one on
standard error as ``file:line: field: reason``, one a line, whatever the command."""

from __future__ import annotations

import sys

from monitor.core.sources import ConfigError

__all__ = ["print_problems"]


def print_problems(exc: ConfigError) -> None:
    """Every problem of ``exc`` on standard error, one ``file:line: field: reason`` a line."""
    for problem in exc.problems:
        print(problem, file=sys.stderr)

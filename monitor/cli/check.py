"""``trunkwatch check-config``: validate the configuration and exit, printing every problem.

Apart from ``run`` so that checking a file loads the configuration's own modules only, not
the daemon's web server and everything it serves.
"""

from __future__ import annotations

import argparse
import sys

from monitor.cli.args import EXIT_FAILED, EXIT_OK, AddConfig, Subparsers
from monitor.cli.problems import print_problems
from monitor.config import load_config
from monitor.core.sources import ConfigError

__all__ = ["cmd_check_config", "register"]


def cmd_check_config(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print_problems(exc)
        print(f"{len(exc.problems)} problem(s) in {args.config}", file=sys.stderr)
        return EXIT_FAILED
    jobs = sum(len(a.probes) for a in config.assets)
    print(
        f"{args.config}: OK ({len(config.sites)} sites, {len(config.assets)} assets, {jobs} probes)"
    )
    return EXIT_OK


def register(sub: Subparsers, add_config: AddConfig) -> None:
    """Add ``check-config``."""
    p = sub.add_parser("check-config", help="validate the configuration and exit")
    add_config(p)
    p.set_defaults(func=cmd_check_config)

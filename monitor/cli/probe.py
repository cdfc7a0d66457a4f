"""``trunkwatch probe``: run one asset's probes (or an ad-hoc probe) once and print the samples
in Prometheus text format, the failures' reasons on standard error."""

from __future__ import annotations

import argparse
import asyncio
import sys

from monitor.app.probe_once import ProbeUsageError, failure_lines, probe_adhoc, probe_asset
from monitor.cli.args import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    AddConfig,
    Subparsers,
    auth_protocol,
    positive_number,
    priv_protocol,
)
from monitor.cli.problems import print_problems
from monitor.core.sources import ConfigError
from monitor.exposition.text import render_results

__all__ = ["cmd_probe", "register"]


def cmd_probe(args: argparse.Namespace) -> int:
    try:
        if args.asset and args.target:
            raise ProbeUsageError("give either an ASSET or --target, not both")
        if args.asset:
            results = asyncio.run(probe_asset(args.config, args.asset, args.probe))
        elif args.target:
            if not args.module:
                raise ProbeUsageError("--target needs --module (a probe module or an SNMP profile)")
            results = asyncio.run(probe_adhoc(args))
        else:
            raise ProbeUsageError("give an ASSET from the configuration or --target HOST")
    except ProbeUsageError as exc:
        print(f"trunkwatch probe: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print_problems(exc)
        return EXIT_USAGE
    sys.stdout.write(render_results(results))
    sys.stdout.flush()
    for line in failure_lines(results):
        print(line, file=sys.stderr)
    return EXIT_OK if all(r.success for r in results) else EXIT_FAILED


def register(sub: Subparsers, add_config: AddConfig) -> None:
    """Add ``probe``."""
    p = sub.add_parser(
        "probe",
        help="run probes once and print the samples",
        description="Run one asset's probes (or an ad-hoc probe) once and print the samples in "
        "Prometheus text format. Exit 0 if every probe succeeded, 1 if one failed, 2 on bad "
        "usage. Secrets are read from the environment variables named, never from arguments.",
    )
    add_config(p)
    p.add_argument("asset", nargs="?", help="an asset id from the configuration")
    p.add_argument("--probe", help="only this probe of the asset")
    p.add_argument("--target", help="ad hoc: HOST[:PORT] or a URL")
    p.add_argument("--module", help="ad hoc: a probe module (tcp, snmp …) or an SNMP profile")
    p.add_argument(
        "--timeout", type=positive_number, default=5.0, help="ad hoc: seconds (default 5)"
    )
    p.add_argument("--snmp-version", choices=["1", "2c", "3"], default="2c")
    p.add_argument("--community-env", metavar="VAR", help="env var holding the community")
    p.add_argument("--v3-user")
    p.add_argument(
        "--v3-auth-proto",
        type=auth_protocol,
        default="sha",
        metavar="PROTO",
        help="MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512 or none, as net-snmp's -a (default SHA)",
    )
    p.add_argument("--v3-auth-key-env", metavar="VAR")
    p.add_argument(
        "--v3-priv-proto",
        type=priv_protocol,
        default="aes",
        metavar="PROTO",
        help="DES, AES, AES-192, AES-256 or none, as net-snmp's -x (default AES)",
    )
    p.add_argument("--v3-priv-key-env", metavar="VAR")
    p.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="ad hoc probe parameter"
    )
    p.add_argument(
        "--secret-env",
        action="append",
        default=[],
        metavar="KEY=VAR",
        help="ad hoc secret KEY (e.g. password for SIP REGISTER) read from environment VAR",
    )
    p.set_defaults(func=cmd_probe)

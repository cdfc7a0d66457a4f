"""``trunkwatch …``: the command line.

Every command takes ``-c/--config`` (default ``monitor.yaml``) and exits non-zero with a
one-line reason on bad input; ``check-config`` prints every problem as
``file:line: field: reason``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence

from monitor import __version__
from monitor.cli_args import (
    CommandParser,
    auth_protocol,
    listen_address,
    positive_number,
    priv_protocol,
)
from monitor.config import load_config
from monitor.core.addresses import parse_listen
from monitor.core.listen import ListenError
from monitor.core.sources import ConfigError
from monitor.webconfig import add_web_config_option

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

Command = Callable[[argparse.Namespace], int]


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )


def _print_config_errors(exc: ConfigError) -> None:
    for problem in exc.problems:
        print(problem, file=sys.stderr)


def cmd_check_config(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        _print_config_errors(exc)
        print(f"{len(exc.problems)} problem(s) in {args.config}", file=sys.stderr)
        return EXIT_FAILED
    jobs = sum(len(a.probes) for a in config.assets)
    print(
        f"{args.config}: OK ({len(config.sites)} sites, {len(config.assets)} assets, {jobs} probes)"
    )
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from monitor.daemon import Daemon
    from monitor.inspections.errors import StoreError

    daemon = Daemon(args.config, args.listen, web_config_file=args.web_config_file)
    try:
        asyncio.run(daemon.run())
    except ConfigError as exc:
        _print_config_errors(exc)
        return EXIT_FAILED
    except StoreError as exc:
        print(f"trunkwatch: inspection store: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:  # the HTTP server's bind: the only socket the daemon opens itself
        if not isinstance(exc, ListenError):
            exc = ListenError("tcp", *parse_listen(args.listen), exc)
        print(f"trunkwatch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_probe(args: argparse.Namespace) -> int:
    from monitor.probe_once import (
        ProbeUsageError,
        failure_lines,
        probe_adhoc,
        probe_asset,
        render_results,
    )

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
        _print_config_errors(exc)
        return EXIT_USAGE
    sys.stdout.write(render_results(results))
    sys.stdout.flush()
    for line in failure_lines(results):
        print(line, file=sys.stderr)
    return EXIT_OK if all(r.success for r in results) else EXIT_FAILED


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        default=os.environ.get("TRUNKWATCH_CONFIG", "monitor.yaml"),
        help="configuration file (default: monitor.yaml, or $TRUNKWATCH_CONFIG)",
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

    p = sub.add_parser("run", help="run the monitoring daemon")
    _add_config(p)
    p.add_argument(
        "--listen",
        type=listen_address,
        default="127.0.0.1:9750",
        help="HOST:PORT for HTTP (/metrics)",
    )
    add_web_config_option(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check-config", help="validate the configuration and exit")
    _add_config(p)
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser(
        "probe",
        help="run probes once and print the samples",
        description="Run one asset's probes (or an ad-hoc probe) once and print the samples in "
        "Prometheus text format. Exit 0 if every probe succeeded, 1 if one failed, 2 on bad "
        "usage. Secrets are read from the environment variables named, never from arguments.",
    )
    _add_config(p)
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

    _register_commands(sub)
    return parser


#: Modules contributing sub-commands, each with ``register(subparsers, add_config)``.
COMMAND_MODULES = (
    "monitor.simulator.cli",
    "monitor.inspections.cli",
    "monitor.capacity_cli",
    "monitor.rtp_cli",
    "monitor.mibs_cli",
    "monitor.dashboards_cli",
)


def _register_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    import importlib

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub, _add_config)


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
    finally:
        logging.getLogger("trunkwatch").debug("command took %.3fs", time.monotonic() - started)


if __name__ == "__main__":
    raise SystemExit(main())

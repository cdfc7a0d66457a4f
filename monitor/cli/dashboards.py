"""``trunkwatch dashboards build``: regenerate the Grafana dashboard JSON and provisioning files
from the grafanalib sources in ``dashboards/`` (see ``monitor.dashboards``), and the alert
catalogue the boards' alert tables read (``alerts/catalogue.rules.yml``, see
``monitor.dashboards.catalogue``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from monitor.cli.args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, AddConfig, Subparsers
from monitor.dashboards import DEFAULT_OUT, DEFAULT_SOURCES, build
from monitor.dashboards import catalogue as alert_catalogue
from monitor.dashboards.map import tile_server

DEFAULT_ALERTS = DEFAULT_SOURCES.parent / "alerts"

__all__ = ["register"]


def cmd_build(args: argparse.Namespace) -> int:
    out: Path = args.out
    try:
        with tile_server(args.tiles):
            written = build(out, sources=args.sources, provisioning=args.provisioning)
        if args.alerts is not None:
            written.append(alert_catalogue.write(args.alerts))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        # A broken source is the user's to fix: say which, without a traceback.
        print(f"trunkwatch dashboards build: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for path in written:
        print(path)
    return EXIT_OK


def register(subparsers: Subparsers, add_config: AddConfig) -> None:
    """Add ``dashboards`` and its ``build`` sub-command to the ``trunkwatch`` parser."""
    dashboards = subparsers.add_parser(
        "dashboards",
        help="Grafana dashboards: build the JSON from the grafanalib sources",
        description="Grafana dashboards generated from the grafanalib sources in dashboards/.",
    )
    dashboards.set_defaults(func=lambda _args: _help(dashboards))
    commands = dashboards.add_subparsers(dest="dashboards_command", metavar="COMMAND")
    p = commands.add_parser(
        "build",
        help="write dashboards/json/*.json and the Grafana provisioning files",
        description="Run every dashboards/*.dashboard.py and write its JSON to --out, and the "
        "datasource and dashboard provisioning files to --provisioning. The output is "
        "deterministic: commit it, and the tests rebuild it to check it has not drifted.",
    )
    add_config(p)  # every command takes -c; building does not read the configuration
    p.add_argument("--sources", type=Path, default=DEFAULT_SOURCES, help="folder of *.dashboard.py")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the JSON")
    p.add_argument(
        "--provisioning",
        type=Path,
        default=None,
        help="folder for Grafana provisioning (default: beside --out)",
    )
    p.add_argument(
        "--alerts",
        type=Path,
        default=DEFAULT_ALERTS,
        help="folder of the alert rules, where the alert catalogue is written",
    )
    p.add_argument(
        "--tiles",
        default=None,
        metavar="URL",
        help="the centre's own map tile server, an XYZ URL template such as "
        "http://tiles.local/{z}/{x}/{y}.png (default: the offline outline Grafana serves)",
    )
    p.set_defaults(func=cmd_build)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_USAGE

"""``trunkwatch simulate``, ``trunkwatch demo`` and ``trunkwatch drill``: the simulated fleet
alone, the fleet with the monitor watching it, and a fault drill against a running demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.app.daemon import DaemonFailure
from monitor.app.demo import (
    DRILL_MONITOR,
    NoSimulation,
    describe_fleet,
    run_demo,
    simulator_section,
)
from monitor.cli.args import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    AddConfig,
    Subparsers,
    add_web_config_option,
    listen_address,
    non_negative_number,
    positive_number,
)
from monitor.cli.problems import print_problems
from monitor.config import load_config
from monitor.core.addresses import parse_listen
from monitor.core.listen import ListenError
from monitor.core.sources import ConfigError
from monitor.inspections.errors import StoreError
from monitor.simulator.drill import DrillError, run_drill
from monitor.simulator.fleet import Fault
from monitor.simulator.runtime import DEFAULT_CONTROL, Simulation

__all__ = ["cmd_demo", "cmd_drill", "cmd_simulate", "register"]

STATUS_EVERY_SECONDS = 15.0


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _simulate(args: argparse.Namespace) -> int:
    section = simulator_section(load_config(args.config))
    control = parse_listen(args.control)
    async with Simulation(section, control=control, speed=args.speed) as sim:
        print(f"simulated fleet: {describe_fleet(sim)}")
        for asset_id, services in sorted(sim.endpoints().items()):
            print(f"  {asset_id:<18} " + "  ".join(f"{k} {v}" for k, v in services.items()))
        print(f"control API: http://{control[0]}:{sim.control_port}/api/v1/faults")
        sys.stdout.flush()
        await _wait_for_signal()
    return EXIT_OK


def _guarded(command: str, run: Callable[[], int]) -> int:
    """Run a simulation command, turning what can go wrong at start into one line each."""
    try:
        return run()
    except ConfigError as exc:
        print_problems(exc)
    except (DaemonFailure, ListenError, NoSimulation) as exc:
        print(f"trunkwatch {command}: {exc}", file=sys.stderr)
    except StoreError as exc:
        print(f"trunkwatch {command}: inspection store: {exc}", file=sys.stderr)
    return EXIT_FAILED


def cmd_simulate(args: argparse.Namespace) -> int:
    return _guarded("simulate", lambda: asyncio.run(_simulate(args)))


def cmd_demo(args: argparse.Namespace) -> int:
    return _guarded(
        "demo",
        lambda: asyncio.run(
            run_demo(
                args.config,
                control=args.control,
                speed=args.speed,
                listen=args.listen,
                web_config_file=args.web_config_file,
                status_every=args.status_every,
            )
        ),
    )


def _report_problem(path: str) -> str | None:
    """Why the drill report could not be written to ``path``, or None if it can."""
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        return f"{path} is a folder"
    if not folder.is_dir():
        return f"no folder {str(folder)!r} for {path}"
    if target.exists() and not os.access(target, os.W_OK):
        return f"{path} is not writable"
    if not target.exists() and not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot create files in {folder}"
    return None


def cmd_drill(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"trunkwatch drill: --param {item!r}: expected KEY=VALUE", file=sys.stderr)
            return EXIT_USAGE
        params[key] = _number(value)
    # Checked before the fault is injected: a drill whose report is lost has to be run again.
    problem = _report_problem(args.report) if args.report else None
    if problem is not None:
        print(f"trunkwatch drill: --report: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = asyncio.run(
            run_drill(
                Fault(args.fault),
                args.site,
                params,
                control=args.control_url,
                monitor=args.monitor,
                alertmanager=args.alertmanager,
                wait_seconds=args.timeout,
                keep=args.keep,
            )
        )
    except DrillError as exc:
        print(f"trunkwatch drill: {exc}", file=sys.stderr)
        return EXIT_FAILED
    text = report.markdown()
    print(text)
    if args.report:
        try:
            Path(args.report).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"trunkwatch drill: cannot write {args.report}: {exc.strerror}", file=sys.stderr)
            return EXIT_FAILED
        print(f"report written to {args.report}")
    return EXIT_OK if report.detected else EXIT_FAILED


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def register(sub: Subparsers, add_config: AddConfig) -> None:
    """Add ``simulate``, ``demo`` and ``drill``."""
    p = sub.add_parser("simulate", help="run the simulated fleet alone")
    add_config(p)
    p.add_argument(
        "--control",
        type=listen_address,
        default=DEFAULT_CONTROL,
        help=f"HOST:PORT of the control API (default {DEFAULT_CONTROL})",
    )
    p.add_argument("--speed", type=positive_number, help="simulated seconds per real second")
    p.set_defaults(func=cmd_simulate, ends_process=True)

    p = sub.add_parser(
        "demo",
        help="run the simulated fleet and the monitor against it",
        description="Run the simulated city and the monitor watching it. A port that is "
        "already taken (another demo, a test run) is replaced by a free one and the banner "
        "says where everything is; the monitor is pointed there in memory, monitor.yaml is "
        "not changed.",
    )
    add_config(p)
    p.add_argument(
        "--listen",
        type=listen_address,
        help="HOST:PORT for HTTP (/metrics; default: server.listen of the configuration)",
    )
    add_web_config_option(p)
    p.add_argument(
        "--control",
        type=listen_address,
        default=DEFAULT_CONTROL,
        help=f"HOST:PORT of the control API (default {DEFAULT_CONTROL})",
    )
    p.add_argument("--speed", type=positive_number, help="simulated seconds per real second")
    p.add_argument(
        "--status-every",
        type=non_negative_number,
        default=STATUS_EVERY_SECONDS,
        help="seconds between status lines (0: none)",
    )
    p.set_defaults(func=cmd_demo, ends_process=True)

    p = sub.add_parser(
        "drill",
        help="inject a fault into a running simulation and time its detection",
        description="Inject FAULT at --site through the simulator's control API, watch the "
        "monitor's /metrics (and Alertmanager, if given) until the fault is seen, report how "
        "long detection and alerting took, then clear the fault.",
    )
    p.add_argument("fault", choices=[f.value for f in Fault])
    p.add_argument("--site", required=True, help="the target asset id (e.g. bs-xingning)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--control-url", default=f"http://{DEFAULT_CONTROL}", help="simulator API")
    p.add_argument("--monitor", default=DRILL_MONITOR, help="trunkwatch base URL")
    p.add_argument("--alertmanager", help="Alertmanager base URL, to time alert delivery")
    p.add_argument(
        "--timeout", type=positive_number, default=300.0, help="seconds to wait for detection"
    )
    p.add_argument("--keep", action="store_true", help="leave the fault in place afterwards")
    p.add_argument("--report", help="write the drill report (Markdown) to this file")
    p.set_defaults(func=cmd_drill)

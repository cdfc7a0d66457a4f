"""``trunkwatch simulate``, ``trunkwatch demo`` and ``trunkwatch drill``: the simulated fleet
alone, the fleet with the monitor watching it, and a fault drill against a running demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.cli_args import (
    listen_address,
    non_negative_number,
    positive_number,
)
from monitor.config import Config, load_config
from monitor.core.addresses import parse_listen
from monitor.core.listen import ListenError
from monitor.core.sources import ConfigError
from monitor.simulator.fleet import Fault
from monitor.simulator.runtime import DEFAULT_CONTROL, Simulation
from monitor.simulator.section import SIMULATOR
from monitor.traps import TRAPS
from monitor.webconfig import add_web_config_option

__all__ = ["register"]

AddConfig = Callable[[argparse.ArgumentParser], None]
STATUS_EVERY_SECONDS = 15.0
#: Where ``trunkwatch drill`` looks for the monitor unless told.
DRILL_MONITOR = "http://127.0.0.1:9750"


class NoSimulation(Exception):
    """The configuration has no ``simulator:`` section to run."""


def _simulator_section(config: Config) -> dict[str, Any]:
    section = SIMULATOR.of(config)
    if section is None:
        raise NoSimulation(
            f"{config.path} has no simulator: section (the shipped monitor.yaml has one)"
        )
    return section


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _describe(sim: Simulation) -> str:
    kinds: dict[str, int] = {}
    for device in sim.fleet:
        kinds[device.kind] = kinds.get(device.kind, 0) + 1
    return ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))


async def _simulate(args: argparse.Namespace) -> int:
    section = _simulator_section(load_config(args.config))
    control = parse_listen(args.control)
    async with Simulation(section, control=control, speed=args.speed) as sim:
        print(f"simulated fleet: {_describe(sim)}")
        for asset_id, services in sorted(sim.endpoints().items()):
            print(f"  {asset_id:<18} " + "  ".join(f"{k} {v}" for k, v in services.items()))
        print(f"control API: http://{control[0]}:{sim.control_port}/api/v1/faults")
        sys.stdout.flush()
        await _wait_for_signal()
    return 0


def _guarded(command: str, run: Callable[[], int]) -> int:
    """Run a simulation command, turning what can go wrong at start into one line each."""
    from monitor.inspections.errors import StoreError

    try:
        return run()
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
    except (ListenError, NoSimulation) as exc:
        print(f"trunkwatch {command}: {exc}", file=sys.stderr)
    except StoreError as exc:
        print(f"trunkwatch {command}: inspection store: {exc}", file=sys.stderr)
    return 1


def cmd_simulate(args: argparse.Namespace) -> int:
    return _guarded("simulate", lambda: asyncio.run(_simulate(args)))


def _status_line(daemon: Any, sim: Simulation) -> str:
    from monitor.http import asset_states

    counts: dict[str, int] = {}
    down: list[str] = []
    for asset_id, state in asset_states(daemon).items():
        counts[state] = counts.get(state, 0) + 1
        if state in ("down", "degraded"):
            down.append(asset_id)
    busy = available = 0.0
    for result in daemon.store:
        for sample in result.samples:
            if sample.family.name == "trunkwatch_bs_traffic_channels_busy":
                busy += sample.value
            elif sample.family.name == "trunkwatch_bs_traffic_channels":
                available += sample.value
    faults = ", ".join(f"{f.fault}@{f.target}" for f in sim.fleet.active_faults()) or "none"
    local = sim.fleet.clock.local().strftime("%H:%M")
    parts = [
        f"{state} {counts[state]}"
        for state in ("up", "down", "unreachable", "degraded", "pending")
        if counts.get(state)
    ]
    line = (
        f"{time.strftime('%H:%M:%S')} [sim {local}] "
        + " · ".join(parts)
        + f" | busy TCH {busy:.0f}/{available:.0f} | faults: {faults}"
    )
    if down:
        line += f" | down: {', '.join(sorted(down)[:6])}"
    return line


async def _demo(args: argparse.Namespace) -> int:
    from monitor.core.listen import port_or_any
    from monitor.daemon import Daemon
    from monitor.demo import Banner, Moved, demo_tokens, format_banner, relocate

    config = load_config(args.config)
    sim = Simulation(
        _simulator_section(config),
        control=parse_listen(args.control),
        speed=args.speed,
        fallback=True,
    )
    # No notification leaves before the trap receiver this demo's monitor runs is known: the
    # configured sink may well be another demo's.
    sim.agent.traps.sink = None
    tokens = demo_tokens(config)
    async with sim:
        listen = parse_listen(args.listen or config.model.server.listen)
        bind_listen = (listen[0], port_or_any("tcp", *listen))
        traps = TRAPS.of(config)
        traps_wanted = parse_listen(traps.listen) if traps else None
        traps_listen = None
        if traps_wanted is not None:
            traps_listen = f"{traps_wanted[0]}:{port_or_any('udp', *traps_wanted)}"
        moved = sim.relocated()
        daemon = Daemon(
            args.config,
            f"{bind_listen[0]}:{bind_listen[1]}",
            web_config_file=args.web_config_file,
        )
        daemon.rewrite = lambda loaded: relocate(loaded, moved, traps_listen=traps_listen)
        started = asyncio.Event()
        run = asyncio.create_task(daemon.run(started))
        waiter = asyncio.create_task(started.wait())
        await asyncio.wait({run, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if run.done():
            waiter.cancel()
            try:
                await run  # raises what stopped it
            except ListenError:
                raise
            except OSError as exc:  # before it served: its HTTP socket could not be bound
                raise ListenError("tcp", *bind_listen, exc) from exc
            return 1
        receiver = daemon.traps.receiver
        traps_bound = receiver.address if receiver is not None else None
        sim.agent.traps.sink = traps_bound
        http_bound = (bind_listen[0], daemon.bound_port or bind_listen[1])
        control_bound = (parse_listen(args.control)[0], sim.control_port or 0)
        wanted_and_bound = [
            ("monitor HTTP tcp", listen, http_bound),
            ("simulator control tcp", parse_listen(args.control), control_bound),
            ("trap receiver udp", traps_wanted, traps_bound),
        ]
        changes = [Moved("device", wanted, at) for wanted, at in moved.items()]
        changes += [
            Moved(what, wanted, at)
            for what, wanted, at in wanted_and_bound
            if wanted is not None and at is not None and wanted[1] != 0 and wanted != at
        ]
        scheme = daemon.web_config.scheme if daemon.web_config else "http"
        base = f"{scheme}://{http_bound[0]}:{http_bound[1]}"
        banner = Banner(
            fleet=_describe(sim),
            base=base,
            control=f"http://{control_bound[0]}:{control_bound[1]}",
            traps=traps_bound,
            devices=sim.endpoints(),
            moved=changes,
            default_monitor=DRILL_MONITOR,
            default_control=f"http://{DEFAULT_CONTROL}",
        )
        print(format_banner(banner), flush=True)
        if tokens:
            print(
                "demo sign-in tokens for /inspections (set the TRUNKWATCH_TOKEN_* variables to "
                "use your own): " + ", ".join(f"{p}={t}" for p, t in tokens.items()),
                flush=True,
            )
        try:
            while not run.done():
                done, _ = await asyncio.wait({run}, timeout=args.status_every or None)
                if not done and args.status_every > 0:
                    print(_status_line(daemon, sim), flush=True)
            await run
        finally:
            if not run.done():
                daemon.stop()
                await run
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    return _guarded("demo", lambda: asyncio.run(_demo(args)))


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
    from monitor.simulator.drill import DrillError, run_drill

    params: dict[str, Any] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"trunkwatch drill: --param {item!r}: expected KEY=VALUE", file=sys.stderr)
            return 2
        params[key] = _number(value)
    # Checked before the fault is injected: a drill whose report is lost has to be run again.
    problem = _report_problem(args.report) if args.report else None
    if problem is not None:
        print(f"trunkwatch drill: --report: {problem}", file=sys.stderr)
        return 2
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
        return 1
    text = report.markdown()
    print(text)
    if args.report:
        try:
            Path(args.report).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"trunkwatch drill: cannot write {args.report}: {exc.strerror}", file=sys.stderr)
            return 1
        print(f"report written to {args.report}")
    return 0 if report.detected else 1


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], add_config: AddConfig
) -> None:
    p = sub.add_parser("simulate", help="run the simulated fleet alone")
    add_config(p)
    p.add_argument(
        "--control",
        type=listen_address,
        default=DEFAULT_CONTROL,
        help=f"HOST:PORT of the control API (default {DEFAULT_CONTROL})",
    )
    p.add_argument("--speed", type=positive_number, help="simulated seconds per real second")
    p.set_defaults(func=cmd_simulate)

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
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "drill",
        help="inject a fault into a running simulation and time its detection",
        description="Inject FAULT at --site through the simulator's control API, watch the "
        "monitor's /metrics (and Alertmanager, if given) until the fault is seen, report how "
        "long detection and alerting took, then clear the fault.",
    )
    p.add_argument("fault", choices=[f.value for f in Fault])
    p.add_argument("--site", required=True, help="the target asset id (e.g. bs-yunyan)")
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

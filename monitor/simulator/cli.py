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
from typing import Any

from monitor.config import ConfigError, load_config
from monitor.daemon import parse_listen
from monitor.simulator.fleet import Fault
from monitor.simulator.runtime import DEFAULT_CONTROL, Simulation
from monitor.webconfig import add_web_config_option

__all__ = ["register"]

AddConfig = Callable[[argparse.ArgumentParser], None]
STATUS_EVERY_SECONDS = 15.0


def _demo_tokens(config_path: str) -> dict[str, str]:
    """Give every person of the roster whose token variable is unset a well-known demo token,
    so the duty page can be tried at once. Only ``trunkwatch demo`` does this."""
    raw = load_config(config_path).model.inspections or {}
    tokens: dict[str, str] = {}
    for person in raw.get("roster", []):
        variable = person.get("token_env") if isinstance(person, dict) else None
        if variable and variable not in os.environ:
            os.environ[variable] = tokens[person["id"]] = f"demo-token-{person['id']}"
    return tokens


def _simulator_section(config_path: str) -> dict[str, Any] | None:
    config = load_config(config_path)
    return config.model.simulator


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
    section = _simulator_section(args.config)
    control = parse_listen(args.control)
    async with Simulation(section, control=control, speed=args.speed) as sim:
        print(f"simulated fleet: {_describe(sim)}")
        for asset_id, services in sorted(sim.endpoints().items()):
            print(f"  {asset_id:<18} " + "  ".join(f"{k} {v}" for k, v in services.items()))
        print(f"control API: http://{control[0]}:{sim.control_port}/api/v1/faults")
        sys.stdout.flush()
        await _wait_for_signal()
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_simulate(args))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"trunkwatch simulate: cannot bind: {exc.strerror}", file=sys.stderr)
        return 1


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
    from monitor.daemon import Daemon

    section = _simulator_section(args.config)
    tokens = _demo_tokens(args.config)
    control = parse_listen(args.control)
    listen_host, listen_port = parse_listen(args.listen)
    async with Simulation(section, control=control, speed=args.speed) as sim:
        daemon = Daemon(args.config, args.listen, web_config_file=args.web_config_file)
        started = asyncio.Event()
        run = asyncio.create_task(daemon.run(started))
        waiter = asyncio.create_task(started.wait())
        await asyncio.wait({run, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if run.done():
            waiter.cancel()
            await run  # raises what stopped it
            return 1
        scheme = daemon.web_config.scheme if daemon.web_config else "http"
        base = f"{scheme}://{listen_host}:{daemon.bound_port or listen_port}"
        print(
            f"""
trunkwatch demo — simulated fleet: {_describe(sim)}
  duty board    {base}/
  metrics       {base}/metrics
  inspections   {base}/inspections   (巡检: sign in with a token, see README)
  status API    {base}/api/v1/status
  simulator     http://{control[0]}:{sim.control_port}/api/v1/faults
  a drill       trunkwatch drill mains_failure --site bs-yunyan --monitor {base}
  Prometheus    scrape {listen_host}:{daemon.bound_port} (job trunkwatch); rules: alerts/*.rules.yml
  Grafana       dashboards/provisioning/ (dashboards and the Prometheus datasource)
Ctrl-C stops both.
""",
            flush=True,
        )
        if tokens:
            print(
                "demo sign-in tokens for /inspections (set the TRUNKWATCH_TOKEN_* variables to "
                "use your own): " + ", ".join(f"{p}={t}" for p, t in tokens.items()),
                flush=True,
            )
        try:
            while not run.done():
                done, _ = await asyncio.wait({run}, timeout=args.status_every)
                if not done and args.status_every > 0:
                    print(_status_line(daemon, sim), flush=True)
            await run
        finally:
            if not run.done():
                daemon.stop()
                await run
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from monitor.inspections.errors import StoreError

    try:
        return asyncio.run(_demo(args))
    except StoreError as exc:
        print(f"trunkwatch demo: inspection store: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"trunkwatch demo: cannot bind: {exc.strerror} ({exc})", file=sys.stderr)
        return 1


def cmd_drill(args: argparse.Namespace) -> int:
    from monitor.simulator.drill import DrillError, run_drill

    params: dict[str, Any] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"trunkwatch drill: --param {item!r}: expected KEY=VALUE", file=sys.stderr)
            return 2
        params[key] = _number(value)
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
        with open(args.report, "w", encoding="utf-8") as out:
            out.write(text)
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
    p.add_argument("--control", default=DEFAULT_CONTROL, help="HOST:PORT of the control API")
    p.add_argument("--speed", type=float, help="simulated seconds per real second")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("demo", help="run the simulated fleet and the monitor against it")
    add_config(p)
    p.add_argument("--listen", default="127.0.0.1:9750", help="HOST:PORT for HTTP (/metrics)")
    add_web_config_option(p)
    p.add_argument("--control", default=DEFAULT_CONTROL, help="HOST:PORT of the control API")
    p.add_argument("--speed", type=float, help="simulated seconds per real second")
    p.add_argument(
        "--status-every",
        type=float,
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
    p.add_argument("--monitor", default="http://127.0.0.1:9750", help="trunkwatch base URL")
    p.add_argument("--alertmanager", help="Alertmanager base URL, to time alert delivery")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for detection")
    p.add_argument("--keep", action="store_true", help="leave the fault in place afterwards")
    p.add_argument("--report", help="write the drill report (Markdown) to this file")
    p.set_defaults(func=cmd_drill)

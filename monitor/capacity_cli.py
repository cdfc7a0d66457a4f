"""``trunkwatch capacity …``: the traffic engineer's commands.

``capacity erlang`` is an Erlang B/C calculator: give two of traffic, channels and a GoS target
and it works out the third (or, given traffic and channels, every measure of the grade of
service), as plain text or ``--json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from typing import Any

from monitor.capacity import (
    ChannelPlan,
    GradeOfService,
    Model,
    System,
    erlang_b,
    erlang_c,
    mean_wait,
    offered_traffic,
    p_wait_longer,
    units_needed,
)

__all__ = ["register"]

EXIT_OK, EXIT_USAGE = 0, 2

#: Message trunking: a call keeps its traffic channel through the hang time after each
#: over, so a TETRA call holds the channel ~15–30 s; the simulated sites use 20 s as well.
DEFAULT_HOLD_S = 20.0
#: The usual queueing objective is P(wait > 5 s) <= 5 %.
DEFAULT_WAIT_S = 5.0

_EPILOG = """\
examples:
  trunkwatch capacity erlang --traffic 10.2 --channels 18
  trunkwatch capacity erlang --calls-per-hour 390 --hold 95 --target 0.01
  trunkwatch capacity erlang --traffic 6 --target 0.05 --model c --system tetra
  trunkwatch capacity erlang --carriers 2 --target 0.05 --model c --json

With --model c the grade of service is P(wait > --wait); --wait 0 makes it P(wait), Erlang C.
"""


class UsageError(Exception):
    """Bad arguments: reported as one line on stderr, exit status 2."""


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    add_config: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add ``capacity`` and its sub-commands to the ``trunkwatch`` parser."""
    capacity = subparsers.add_parser(
        "capacity",
        help="traffic engineering: Erlang B/C calculator",
        description="Traffic engineering for the radio sites and trunk groups.",
    )
    capacity.set_defaults(func=lambda _args: _print_help(capacity))
    commands = capacity.add_subparsers(dest="capacity_command", metavar="COMMAND")

    p = commands.add_parser(
        "erlang",
        help="blocking, waiting, channels needed or traffic carried",
        description="Erlang B (blocking) and Erlang C (queueing) calculator. Give --traffic "
        "and --channels for the grade of service, --traffic and --target for the channels "
        "needed, or --channels and --target for the traffic they carry. Exit 2 on bad usage.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config(p)
    p.add_argument("--traffic", type=float, metavar="E", help="offered traffic in Erlangs")
    p.add_argument(
        "--calls-per-hour",
        type=float,
        metavar="N",
        help="busy-hour calls instead of --traffic (traffic = calls × --hold / 3600)",
    )
    p.add_argument("--channels", type=int, metavar="N", help="traffic channels (or trunks)")
    p.add_argument(
        "--carriers",
        type=int,
        metavar="N",
        help="carriers (E1 spans with --system e1) instead of --channels",
    )
    p.add_argument(
        "--system",
        choices=["tetra", "pdt", "e1"],
        help="channel plan of --carriers (default tetra); with --target, also give the "
        "carriers needed",
    )
    p.add_argument(
        "--secondary-control",
        type=int,
        default=0,
        metavar="N",
        help="radio: control timeslots besides the main control channel (default 0)",
    )
    p.add_argument(
        "--packet-data",
        type=int,
        default=0,
        metavar="N",
        help="radio: timeslots dedicated to packet data (default 0)",
    )
    p.add_argument("--target", type=float, metavar="P", help="GoS target, e.g. 0.02")
    p.add_argument(
        "--model",
        choices=["b", "c"],
        default="b",
        help="b: loss system, GoS = P(blocked); c: queueing, GoS = P(wait > --wait) (default b)",
    )
    p.add_argument(
        "--hold",
        type=float,
        default=DEFAULT_HOLD_S,
        metavar="S",
        help="mean holding time in seconds (default 20: TETRA message trunking; "
        "transmission trunking ~5, the 110 hotline ~95)",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT_S,
        metavar="S",
        help="waiting time in seconds for P(wait > S) (default 5)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_erlang)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def cmd_erlang(args: argparse.Namespace) -> int:
    try:
        result = _calculate(args)
    except UsageError as exc:
        print(f"trunkwatch capacity erlang: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(_render(result))
    return EXIT_OK


# --- argument checks ------------------------------------------------------------------------


def _traffic(args: argparse.Namespace, hold: float) -> float | None:
    if args.traffic is not None and args.calls_per_hour is not None:
        raise UsageError("give --traffic or --calls-per-hour, not both")
    if args.calls_per_hour is not None:
        if not math.isfinite(args.calls_per_hour) or args.calls_per_hour <= 0:
            raise UsageError(f"--calls-per-hour must be > 0, got {args.calls_per_hour:g}")
        return offered_traffic(args.calls_per_hour, hold)
    if args.traffic is not None and (not math.isfinite(args.traffic) or args.traffic <= 0):
        raise UsageError(f"--traffic must be > 0 Erlangs, got {args.traffic:g}")
    return float(args.traffic) if args.traffic is not None else None


def _reserved(args: argparse.Namespace, system: System) -> int:
    """Slots that carry no calls: the main control channel plus those named, on radio."""
    secondary, packet = int(args.secondary_control), int(args.packet_data)
    if secondary < 0 or packet < 0:
        raise UsageError("--secondary-control and --packet-data must be >= 0")
    if system == "e1":
        if secondary or packet:
            raise UsageError("--secondary-control and --packet-data apply to radio, not E1")
        return 0
    return 1 + secondary + packet


def _plan(args: argparse.Namespace, carriers: int) -> ChannelPlan:
    system: System = args.system or "tetra"
    try:
        return ChannelPlan(system, carriers, _reserved(args, system))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _channels(args: argparse.Namespace) -> tuple[int | None, ChannelPlan | None]:
    if args.channels is not None and args.carriers is not None:
        raise UsageError("give --channels or --carriers, not both")
    if args.carriers is not None:
        if args.carriers < 1:
            raise UsageError(f"--carriers must be >= 1, got {args.carriers}")
        plan = _plan(args, args.carriers)
        if plan.traffic_channels < 1:
            raise UsageError(f"{args.carriers} carrier(s) leave no traffic channel")
        return plan.traffic_channels, plan
    if args.channels is not None and args.channels < 1:
        raise UsageError(f"--channels must be >= 1, got {args.channels}")
    return args.channels, None


def _gos(args: argparse.Namespace, hold: float, wait: float) -> GradeOfService | None:
    if args.target is None:
        return None
    if not 0.0 < args.target < 1.0:
        raise UsageError(f"--target must be a probability between 0 and 1, got {args.target:g}")
    model: Model = "c" if args.model == "c" else "b"
    return GradeOfService(args.target, model, wait_s=wait, hold_s=hold)


# --- the calculation ------------------------------------------------------------------------


def _calculate(args: argparse.Namespace) -> dict[str, Any]:
    hold, wait = float(args.hold), float(args.wait)
    if not math.isfinite(hold) or hold <= 0:
        raise UsageError(f"--hold must be > 0 seconds, got {args.hold:g}")
    if not math.isfinite(wait) or wait < 0:
        raise UsageError(f"--wait must be >= 0 seconds, got {args.wait:g}")
    traffic = _traffic(args, hold)
    channels, plan = _channels(args)
    gos = _gos(args, hold, wait)

    result: dict[str, Any] = {}
    if args.calls_per_hour is not None:
        result.update(calls_per_hour=args.calls_per_hour, hold_s=hold)
    if plan is not None:
        result.update(system=plan.system, carriers=plan.units, reserved_slots=plan.reserved)
    if traffic is not None and channels is not None:
        result.update(mode="grade_of_service", **_evaluate(traffic, channels, hold, wait))
        if gos is not None:
            achieved = gos.of(traffic, channels)
            result.update(_objective(gos), gos=achieved, meets_target=achieved <= gos.target)
    elif traffic is not None and gos is not None:
        needed = gos.channels_needed(traffic)
        result.update(
            mode="channels_needed",
            traffic_erlangs=traffic,
            **_objective(gos),
            channels_needed=needed,
            gos=gos.of(traffic, needed),
        )
        if args.system is not None:
            reserved = _reserved(args, args.system)
            result.update(
                system=args.system,
                reserved_slots=reserved,
                carriers_needed=units_needed(args.system, needed, reserved),
            )
    elif channels is not None and gos is not None:
        capacity = gos.traffic_capacity(channels)
        result.update(
            mode="traffic_capacity",
            channels=channels,
            **_objective(gos),
            traffic_erlangs=capacity,
            gos=gos.of(capacity, channels),
        )
    else:
        raise UsageError("give two of --traffic, --channels (or --carriers) and --target")
    return result


def _evaluate(traffic: float, channels: int, hold: float, wait: float) -> dict[str, Any]:
    waiting = mean_wait(traffic, channels, hold)
    return {
        "traffic_erlangs": traffic,
        "channels": channels,
        "blocking": erlang_b(traffic, channels),
        "p_wait": erlang_c(traffic, channels),
        "p_wait_longer": p_wait_longer(traffic, channels, wait, hold),
        "wait_s": wait,
        "hold_s": hold,
        # JSON has no infinity: an overloaded queue has no mean wait.
        "mean_wait_s": waiting if math.isfinite(waiting) else None,
        "load_per_channel": traffic / channels,
    }


def _objective(gos: GradeOfService) -> dict[str, Any]:
    objective: dict[str, Any] = {"model": gos.model, "target": gos.target}
    if gos.model == "c":
        objective.update(wait_s=gos.wait_s, hold_s=gos.hold_s)
    objective["objective"] = gos.describe()
    return objective


# --- plain text -----------------------------------------------------------------------------


def _probability(p: float) -> str:
    return f"{p:.6g}  ({p * 100:.4g} %)"


def _render(result: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    mode = result["mode"]
    if "calls_per_hour" in result:
        rows.append(("busy-hour calls", f"{result['calls_per_hour']:g}"))
    carriers = result.get("carriers")
    if carriers is not None and "reserved_slots" in result:
        unit = (
            "E1 span(s)" if result["system"] == "e1" else f"{result['system'].upper()} carrier(s)"
        )
        rows.append(("carriers", f"{carriers} {unit}, {result['reserved_slots']} slot(s) reserved"))
    if mode == "grade_of_service":
        rows += [
            ("offered traffic", f"{result['traffic_erlangs']:.4f} E"),
            ("traffic channels", str(result["channels"])),
            ("load per channel", f"{result['load_per_channel']:.4f} E"),
            ("blocking (Erlang B)", _probability(result["blocking"])),
            ("P(wait) (Erlang C)", _probability(result["p_wait"])),
            (f"P(wait > {result['wait_s']:g} s)", _probability(result["p_wait_longer"])),
            ("mean wait", _seconds(result["mean_wait_s"])),
            ("mean holding time", f"{result['hold_s']:g} s"),
        ]
        if "target" in result:
            verdict = "met" if result["meets_target"] else "NOT met"
            rows.append(("objective", f"{result['objective']}: {verdict}"))
    elif mode == "channels_needed":
        rows += [
            ("offered traffic", f"{result['traffic_erlangs']:.4f} E"),
            ("objective", result["objective"]),
            ("channels needed", str(result["channels_needed"])),
            ("grade of service", _probability(result["gos"])),
        ]
        if "carriers_needed" in result:
            unit = (
                "E1 spans" if result["system"] == "e1" else f"{result['system'].upper()} carriers"
            )
            rows.append((f"{unit} needed", str(result["carriers_needed"])))
    else:
        rows += [
            ("traffic channels", str(result["channels"])),
            ("objective", result["objective"]),
            ("traffic carried", f"{result['traffic_erlangs']:.4f} E offered at most"),
            ("grade of service", _probability(result["gos"])),
        ]
    if "hold_s" in result and mode != "grade_of_service":
        rows.append(("mean holding time", f"{result['hold_s']:g} s"))
    width = max(len(label) for label, _ in rows)
    return "".join(f"{label:<{width}}  {value}\n" for label, value in rows)


def _seconds(value: float | None) -> str:
    return "unbounded (traffic >= channels)" if value is None else f"{value:.4g} s"

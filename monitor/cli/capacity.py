"""``trunkwatch capacity …``: the traffic engineer's commands.

``capacity erlang`` is an Erlang B/C calculator: give two of traffic, channels and a GoS target
and it works out the third (or, given traffic and channels, every measure of the grade of
service), as plain text or ``--json``.

``capacity report`` reads the measured traffic of every radio site and 110 trunk group from
Prometheus (or from a run of the simulated fleet) and writes the expansion report as one HTML
file, with a plain-text summary on stdout and progress on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from monitor.capacity import (
    CapacityReport,
    ChannelPlan,
    GradeOfService,
    HistoryError,
    MeasuredGroup,
    Model,
    Objectives,
    PlanningOptions,
    PrometheusHistory,
    SampleHistory,
    System,
    analyse,
    erlang_b,
    erlang_c,
    mean_wait,
    offered_traffic,
    p_wait_longer,
    render_html,
    units_needed,
    write_textfile,
)
from monitor.cli.args import day
from monitor.cli.problems import print_problems
from monitor.config import load_config
from monitor.core.sources import ConfigError

__all__ = ["register"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

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
        help="traffic engineering: Erlang B/C calculator, expansion report",
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
    _register_report(commands, add_config)


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


# --- capacity report ------------------------------------------------------------------------

_REPORT_EPILOG = """\
examples:
  trunkwatch capacity report --prometheus http://127.0.0.1:9090 --out report.html
  trunkwatch capacity report --prometheus http://prom:9090 --days 182 --horizon 52w \\
      --incident 2016-07-15 --metrics-out /var/lib/node_exporter/capacity.prom --out r.html
  trunkwatch capacity report --from-simulation --weeks 8 --out demo.html
  trunkwatch capacity report --from-simulation --weeks 6 --surge bs-longan:2016-07-20:3 \\
      --out demo.html

The history comes from Prometheus (the recording rules of alerts/recording.rules.yml where they
were recorded, the raw counters elsewhere) or, with --from-simulation, from the simulated fleet
of the configuration's `simulator:` section run hour by hour through its SNMP agent. Radio
sites are planned for P(wait > --wait) <= --target (Erlang C), trunk groups for
P(blocked) <= --trunk-target (Erlang B). Exit 1 when the history cannot be read.
"""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dwmy])\s*$")
_DURATION_DAYS = {"d": 1.0, "w": 7.0, "m": 30.0, "y": 365.0}


def parse_duration(text: str) -> timedelta:
    """``26w``, ``180d``, ``6m`` (30-day months), ``1y`` (365 days)."""
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"expected a duration like 26w, 180d or 6m, got {text!r}")
    return timedelta(days=round(float(match.group(1)) * _DURATION_DAYS[match.group(2)]))


@dataclass(frozen=True, slots=True)
class SurgeSpec:
    asset: str
    day: date
    multiplier: float = 3.0


def _surge(text: str) -> SurgeSpec:
    parts = text.split(":")
    try:
        if len(parts) not in (2, 3) or not parts[0]:
            raise ValueError
        multiplier = float(parts[2]) if len(parts) == 3 else 3.0
        if not multiplier > 0:
            raise ValueError
        return SurgeSpec(parts[0], date.fromisoformat(parts[1]), multiplier)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected ASSET:YYYY-MM-DD[:MULTIPLIER], got {text!r}"
        ) from None


def _register_report(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add_config: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = commands.add_parser(
        "report",
        help="expansion report (HTML) from the measured traffic",
        description="Busy-hour traffic, growth, breach dates and the carriers (E1 spans) to add, "
        "per radio site and 110 trunk group, as one self-contained HTML file.",
        epilog=_REPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config(p)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--prometheus", metavar="URL", help="Prometheus base URL")
    source.add_argument(
        "--from-simulation",
        action="store_true",
        help="run the configuration's simulated fleet and report on it",
    )
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="HTML file to write")
    p.add_argument(
        "--metrics-out",
        type=Path,
        metavar="FILE",
        help="also write the trunkwatch_capacity_* gauges in the text format",
    )
    history = p.add_argument_group("history")
    history.add_argument(
        "--days", type=int, default=91, metavar="N", help="Prometheus: days of history (91)"
    )
    history.add_argument(
        "--end", type=day, metavar="DATE", help="Prometheus: last day of history (yesterday)"
    )
    history.add_argument(
        "--centre", metavar="ID", help="Prometheus: one centre of a region's store (its label)"
    )
    history.add_argument("--timeout", type=float, default=30.0, metavar="S", help=argparse.SUPPRESS)
    history.add_argument(
        "--weeks", type=int, default=8, metavar="N", help="simulation: weeks to run (8)"
    )
    history.add_argument(
        "--surge",
        type=_surge,
        action="append",
        default=[],
        metavar="ASSET:DATE[:X]",
        help="simulation: a major incident multiplying ASSET's traffic by X (3) that day",
    )
    plan = p.add_argument_group("planning")
    plan.add_argument(
        "--horizon", type=parse_duration, default=timedelta(weeks=26), help="planning horizon (26w)"
    )
    plan.add_argument(
        "--worst", type=int, default=5, metavar="N", help="busiest days per period planned for (5)"
    )
    plan.add_argument("--period", choices=["week", "month"], default="week", help="(week)")
    plan.add_argument(
        "--growth",
        choices=["compound", "linear"],
        default="compound",
        help="trend model (compound: a constant rate)",
    )
    plan.add_argument(
        "--margin", type=float, default=1.0, help="design traffic multiplier, >= 1 (1.0)"
    )
    plan.add_argument(
        "--target",
        type=float,
        default=0.05,
        metavar="P",
        help="radio: target of P(wait > --wait) (0.05)",
    )
    plan.add_argument(
        "--wait", type=float, default=DEFAULT_WAIT_S, metavar="S", help="radio: wait (5 s)"
    )
    plan.add_argument(
        "--hold",
        type=float,
        default=DEFAULT_HOLD_S,
        metavar="S",
        help="radio: mean holding time (20 s, message trunking)",
    )
    plan.add_argument(
        "--trunk-target", type=float, default=0.01, metavar="P", help="trunks: P(blocked) (0.01)"
    )
    plan.add_argument("--max-carriers", type=int, metavar="N", help="most carriers a site takes")
    plan.add_argument("--max-e1", type=int, metavar="N", help="most E1 spans a gateway takes")
    plan.add_argument(
        "--incident",
        type=day,
        action="append",
        default=[],
        metavar="DATE",
        help="a major-incident day from the incident log (repeat)",
    )
    plan.add_argument(
        "--no-detect-incidents",
        action="store_true",
        help="flag only the --incident days, not surges found in the data",
    )
    p.add_argument("--title", default="", help="report title (容量规划报告)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_report)


@dataclass(slots=True)
class _Setting:
    """What the configuration file contributes: time zone, names, the simulated fleet."""

    timezone: str = "Asia/Shanghai"
    centre: str = ""
    titles: dict[str, str] = field(default_factory=dict)
    asset_sites: dict[str, str] = field(default_factory=dict)
    simulator: dict[str, Any] | None = None


def _setting(path: str) -> _Setting:
    """The configuration's contribution; the defaults when the default file is absent (a
    report against a remote Prometheus needs no local configuration)."""
    from monitor.simulator.section import SIMULATOR  # the simulator only when asked for

    if path == "monitor.yaml" and not Path(path).exists():
        return _Setting()
    config = load_config(path)
    model = config.model
    titles = {s.id: f"{s.name} {s.name_en}" if s.name_en else s.name for s in model.sites}
    for a in model.assets:
        if a.system == "line":
            titles[a.id] = a.name or a.id
    return _Setting(
        timezone=model.centre.timezone,
        centre=model.centre.name,
        titles=titles,
        asset_sites={a.id: a.site for a in model.assets},
        simulator=SIMULATOR.of(config),
    )


class _ProgressLine:
    """Progress on stderr: one rewritten line on a terminal, a line every few seconds else."""

    def __init__(self, what: str, stream: TextIO, *, quiet: bool) -> None:
        self.what = what
        self.stream = stream
        self.quiet = quiet
        self.tty = stream.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int, detail: str) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        last = done >= total
        if not self.tty and not last and now - self._last < 2.0:
            return
        self._last = now
        pct = 100.0 * done / total if total else 100.0
        text = f"{self.what}: {done}/{total} ({pct:.0f} %) {detail}"
        if self.tty:
            self.stream.write(f"\r\x1b[K{text}" + ("\n" if last else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _check_report_args(args: argparse.Namespace) -> None:
    if args.worst < 1:
        raise UsageError(f"--worst must be >= 1, got {args.worst}")
    if not math.isfinite(args.margin) or args.margin < 1:
        raise UsageError(f"--margin must be >= 1, got {args.margin:g}")
    for name in ("target", "trunk_target"):
        value = getattr(args, name)
        if not 0.0 < value < 1.0:
            raise UsageError(f"--{name.replace('_', '-')} must be between 0 and 1, got {value:g}")
    if not math.isfinite(args.hold) or args.hold <= 0:
        raise UsageError(f"--hold must be > 0 seconds, got {args.hold:g}")
    if not math.isfinite(args.wait) or args.wait < 0:
        raise UsageError(f"--wait must be >= 0 seconds, got {args.wait:g}")
    if args.days < 1 or args.weeks < 1:
        raise UsageError("--days and --weeks must be >= 1")
    for name in ("max_carriers", "max_e1"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.centre is not None and not args.prometheus:
        raise UsageError("--centre applies to --prometheus only")
    if args.surge and not args.from_simulation:
        raise UsageError("--surge applies to --from-simulation only")


def _options(args: argparse.Namespace) -> tuple[PlanningOptions, Objectives]:
    objectives = Objectives(
        radio=GradeOfService(args.target, "c", wait_s=args.wait, hold_s=args.hold),
        line=GradeOfService(args.trunk_target, "b"),
    )
    options = PlanningOptions(
        horizon=args.horizon,
        worst=args.worst,
        period=args.period,
        growth=args.growth,
        margin=args.margin,
        max_carriers=args.max_carriers,
        max_e1=args.max_e1,
        incident_days=frozenset(args.incident),
        detect_incidents=not args.no_detect_incidents,
    )
    return options, objectives


def cmd_report(args: argparse.Namespace) -> int:
    try:
        _check_report_args(args)
        options, objectives = _options(args)
        setting = _setting(args.config)
    except UsageError as exc:
        print(f"trunkwatch capacity report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print_problems(exc)
        return EXIT_USAGE
    try:
        if args.from_simulation:
            groups, source = asyncio.run(_simulated_groups(args, setting, objectives))
        else:
            groups, source = asyncio.run(_prometheus_groups(args, setting, objectives))
    except UsageError as exc:
        print(f"trunkwatch capacity report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except HistoryError as exc:
        print(f"trunkwatch capacity report: history unavailable: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if not groups:
        print("trunkwatch capacity report: no radio site or trunk group measured", file=sys.stderr)
        return EXIT_FAILED
    tz = ZoneInfo(setting.timezone)
    report = analyse(groups, options, generated=datetime.now(tz), source=source)
    try:
        args.out.write_text(
            render_html(report, title=args.title, centre=setting.centre), encoding="utf-8"
        )
        if args.metrics_out is not None:
            write_textfile(report, args.metrics_out)
    except OSError as exc:
        print(f"trunkwatch capacity report: cannot write: {exc}", file=sys.stderr)
        return EXIT_FAILED
    sys.stdout.write(_summary(report))
    return EXIT_OK


async def _prometheus_groups(
    args: argparse.Namespace, setting: _Setting, objectives: Objectives
) -> tuple[list[MeasuredGroup], str]:
    tz = ZoneInfo(setting.timezone)
    last = args.end or (datetime.now(tz).date() - timedelta(days=1))
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tz)
    start = end - timedelta(days=args.days)
    try:
        history = PrometheusHistory(
            args.prometheus,
            timezone=setting.timezone,
            objectives=objectives,
            timeout=args.timeout,
            titles=setting.titles,
            centre=args.centre,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    progress = _ProgressLine("fetching history", sys.stderr, quiet=args.quiet)
    groups = await history.fetch(start, end, progress=progress)
    where = f" centre={args.centre}" if args.centre else ""
    return groups, f"Prometheus {args.prometheus}{where}"


async def _simulated_groups(
    args: argparse.Namespace, setting: _Setting, objectives: Objectives
) -> tuple[list[MeasuredGroup], str]:
    from monitor.app.capacity_recording import Surge, record_simulation
    from monitor.core.clock import ManualClock
    from monitor.simulator.fleet import DEFAULT_FLEET, Fleet, SimulatorConfigError

    section = dict(setting.simulator or DEFAULT_FLEET)
    tz = ZoneInfo(str(section.get("timezone", setting.timezone)))
    if section.get("start") is None:
        # The run ends at today's midnight, so the report's dates read as recent ones.
        today = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
        section["start"] = (today - timedelta(weeks=args.weeks)).timestamp()
    source = ManualClock(0.0)
    try:
        fleet = Fleet(section, source=source)
    except SimulatorConfigError as exc:
        raise UsageError(f"simulator: {exc}") from exc
    surges = []
    for spec in args.surge:
        try:
            fleet.site(spec.asset)
        except (KeyError, ValueError) as exc:
            raise UsageError(f"--surge: {spec.asset} is not a simulated base station") from exc
        start = datetime.combine(spec.day, datetime.min.time(), tz).timestamp()
        surges.append(Surge(spec.asset, start, 24.0, spec.multiplier))
    history = SampleHistory(timezone=str(tz), objectives=objectives, titles=setting.titles)
    progress = _ProgressLine("simulating", sys.stderr, quiet=args.quiet)
    await record_simulation(
        fleet,
        source,
        history,
        hours=args.weeks * 7 * 24,
        sites=setting.asset_sites,
        surges=surges,
        progress=progress,
    )
    return history.groups(), f"simulation, {args.weeks} weeks, seed {fleet.seed}"


def _summary(report: CapacityReport) -> str:
    """The report's table as plain text: the engineer's first look."""
    lines = [
        f"{'group':<22} {'units':>5} {'ch':>4} {'busy E':>7} {'cap E':>7} {'GoS now':>8} "
        f"{'horizon':>8} {'breach':>11} {'add':>4}"
    ]
    for g in report.groups:
        f = g.forecast
        breach = str(f.breach) if f is not None and f.breach is not None else "-"
        busy = f"{f.busy_hour_erlangs:7.2f}" if f else "      -"
        gos_now = f"{f.predicted_gos * 100:7.2f}%" if f else "       -"
        horizon = f"{g.horizon_gos * 100:7.2f}%" if g.horizon_gos is not None else "       -"
        lines.append(
            f"{g.name:<22} {g.plan.units:>5} {g.plan.traffic_channels:>4} {busy} "
            f"{g.capacity_erlangs:7.2f} {gos_now} {horizon} {breach:>11} "
            f"{('+' + str(g.units_to_add)) if g.units_to_add else '0':>4}"
        )
    if report.expansions:
        lines.append(
            "expansion needed: "
            + ", ".join(
                f"{g.name} +{g.units_to_add} {'carrier(s)' if g.system == 'radio' else 'E1'}"
                for g in report.expansions
            )
        )
    else:
        lines.append("expansion needed: none")
    return "\n".join(lines) + "\n"

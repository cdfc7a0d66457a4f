"""The demo's wiring (``trunkwatch demo``): the simulated city and the daemon watching it in one
process, monitor.yaml pointed, in memory, at where the simulation really listens, the banner
that tells the person who started it where everything is, and a status line every few seconds.

``trunkwatch demo`` may run beside another demo (or a test run) with the same file: a device,
trap or control port that is taken is served on a free port instead, and ``relocate`` rewrites
the addresses the monitor is given — asset addresses, probe ``port`` parameters and the trap
receiver's ``traps.listen`` — so it polls its own simulation. The file itself is never written.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from monitor.app.daemon import Daemon
from monitor.app.status import asset_states
from monitor.config import AssetConfig, Config, ProbeConfig, load_config
from monitor.core.addresses import parse_listen, split_address
from monitor.core.listen import ListenError, port_or_any
from monitor.inspections.section import INSPECTIONS
from monitor.simulator.runtime import DEFAULT_CONTROL, Simulation
from monitor.simulator.section import SIMULATOR
from monitor.traps import TRAPS

__all__ = [
    "DRILL_MONITOR",
    "Banner",
    "Moved",
    "NoSimulation",
    "demo_tokens",
    "describe_fleet",
    "format_banner",
    "relocate",
    "run_demo",
    "simulator_section",
    "status_line",
]

Address = tuple[str, int]

#: Where ``trunkwatch drill`` looks for the monitor unless told.
DRILL_MONITOR = "http://127.0.0.1:9750"

#: How the demo names its well-known sign-in tokens; with the shortest possible person id
#: (one character) this is 16 characters, the least a token may have.
DEMO_TOKEN = "demo-token-for-{person}"  # noqa: S105 - well known on purpose: a demo


def _text(address: Address) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _relocated_probe(
    probe: ProbeConfig, host: str, moved: Mapping[Address, Address]
) -> ProbeConfig:
    port = probe.params.get("port")
    if isinstance(port, int) and not isinstance(port, bool) and (host, port) in moved:
        return probe.model_copy(update={"port": moved[host, port][1]})
    return probe


def _relocated_asset(asset: AssetConfig, moved: Mapping[Address, Address]) -> AssetConfig:
    try:
        host, port = split_address(asset.address)
    except ValueError:
        return asset  # load_config has refused such a file already
    probes = [_relocated_probe(p, host, moved) for p in asset.probes]
    update: dict[str, Any] = {}
    if port is not None and (host, port) in moved:
        update["address"] = _text(moved[host, port])
    if any(new is not old for new, old in zip(probes, asset.probes, strict=True)):
        update["probes"] = probes
    return asset.model_copy(update=update) if update else asset


def relocate(
    config: Config, moved: Mapping[Address, Address], *, traps_listen: str | None = None
) -> Config:
    """``config`` with every address in ``moved`` (configured → where it is served) replaced,
    and the trap receiver on ``traps_listen`` when given. Nothing else changes."""
    model = config.model
    update: dict[str, Any] = {"assets": [_relocated_asset(a, moved) for a in model.assets]}
    relocated = replace(config, model=model.model_copy(update=update))
    traps = TRAPS.of(config)
    if traps_listen is not None and traps is not None:
        relocated = TRAPS.replaced(relocated, traps.model_copy(update={"listen": traps_listen}))
    return relocated


def demo_tokens(config: Config) -> dict[str, str]:
    """Give every person of the roster whose token variable is unset a well-known demo token
    (set in this process's environment), so the duty page can be tried at once; person id →
    token. Only ``trunkwatch demo`` does this."""
    raw = INSPECTIONS.of(config) or {}
    tokens: dict[str, str] = {}
    for person in raw.get("roster", []):
        if not isinstance(person, dict):
            continue
        variable, person_id = person.get("token_env"), person.get("id")
        if variable and person_id and variable not in os.environ:
            tokens[str(person_id)] = os.environ[variable] = DEMO_TOKEN.format(person=person_id)
    return tokens


@dataclass(frozen=True, slots=True)
class Moved:
    """One socket of the demo that is not where the configuration (or the command line) put
    it, because that port was taken."""

    what: str
    wanted: Address
    bound: Address


@dataclass(slots=True)
class Banner:
    fleet: str
    base: str
    control: str
    traps: Address | None
    devices: Mapping[str, Mapping[str, str]]
    moved: list[Moved] = field(default_factory=list)
    #: The drill's defaults: the banner's drill command names only what differs.
    default_monitor: str = DRILL_MONITOR
    default_control: str = f"http://{DEFAULT_CONTROL}"


def _wrap(items: Iterable[str], indent: str, width: int = 96) -> list[str]:
    lines: list[str] = []
    line = ""
    for item in items:
        if line and len(indent) + len(line) + 2 + len(item) > width:
            lines.append(indent + line + ",")
            line = item
        else:
            line = f"{line}, {item}" if line else item
    if line:
        lines.append(indent + line)
    return lines


def format_banner(banner: Banner) -> str:
    """The lines ``trunkwatch demo`` prints once everything is up."""
    base, control = banner.base, banner.control
    drill = "trunkwatch drill mains_failure --site bs-xingning"
    if base != banner.default_monitor:
        drill += f" --monitor {base}"
    if control != banner.default_control:
        drill += f" --control-url {control}"
    services: dict[str, int] = {}
    for offered in banner.devices.values():
        for service in offered:
            services[service] = services.get(service, 0) + 1
    devices = ", ".join(f"{n} {s.upper()}" for s, n in sorted(services.items()))
    traps = f"udp {_text(banner.traps)}" if banner.traps else "off (no traps: section)"
    lines = [
        "",
        f"trunkwatch demo — simulated fleet: {banner.fleet}",
        f"  duty board    {base}/",
        f"  metrics       {base}/metrics",
        f"  inspections   {base}/inspections   (巡检: sign in with a token, see below)",
        f"  handover      {base}/duty   (交接班: the shift log, sign over and take over)",
        f"  status API    {base}/api/v1/status",
        f"  simulator     {control}/api/v1/faults",
        f"  devices       {devices} services; where: {control}/api/v1/devices",
        f"  trap receiver {traps}",
        f"  a drill       {drill}",
        f"  Prometheus    scrape {base.removeprefix('http://')} (job trunkwatch); "
        "rules: alerts/*.rules.yml",
        "  Grafana       dashboards/provisioning/ (dashboards and the Prometheus datasource)",
    ]
    if banner.moved:
        lines.append(
            "  ports taken   already in use, so served elsewhere (this demo's monitor is "
            "pointed there):"
        )
        singles = [m for m in banner.moved if m.what != "device"]
        for m in singles:
            lines.append(f"                {m.what} {_text(m.wanted)} → {_text(m.bound)}")
        devices_moved = sorted(
            (m for m in banner.moved if m.what == "device"), key=lambda m: m.wanted
        )
        if devices_moved:
            pairs = [f"{_text(m.wanted)} → {m.bound[1]}" for m in devices_moved]
            lines.append(f"                {len(pairs)} device ports:")
            lines += _wrap(pairs, " " * 18)
    lines += ["Ctrl-C stops both.", ""]
    return "\n".join(lines)


class NoSimulation(Exception):
    """The configuration has no ``simulator:`` section to run."""


def simulator_section(config: Config) -> dict[str, Any]:
    """The configuration's ``simulator:`` section; NoSimulation when it has none."""
    section = SIMULATOR.of(config)
    if section is None:
        raise NoSimulation(
            f"{config.path} has no simulator: section (the shipped monitor.yaml has one)"
        )
    return section


def describe_fleet(sim: Simulation) -> str:
    """``3 bs, 2 e1 …``: how many devices of each kind the simulation runs."""
    kinds: dict[str, int] = {}
    for device in sim.fleet:
        kinds[device.kind] = kinds.get(device.kind, 0) + 1
    return ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))


def status_line(daemon: Daemon, sim: Simulation) -> str:
    """One line of how the monitored city looks now: assets by state, busy traffic channels,
    the faults injected and which assets are down."""
    counts: dict[str, int] = {}
    down: list[str] = []
    for asset_id, state in asset_states(daemon.inventory, daemon.store).items():
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


async def run_demo(
    config_path: str,
    *,
    control: str,
    speed: float | None,
    listen: str | None,
    web_config_file: str | None,
    status_every: float,
) -> int:
    """Run the simulated city of ``config_path`` and the daemon watching it until stopped.

    Raises ConfigError, ListenError, NoSimulation or the inspection store's StoreError when
    something cannot start."""
    config = load_config(config_path)
    sim = Simulation(
        simulator_section(config),
        control=parse_listen(control),
        speed=speed,
        fallback=True,
    )
    # No notification leaves before the trap receiver this demo's monitor runs is known: the
    # configured sink may well be another demo's.
    sim.agent.traps.sink = None
    tokens = demo_tokens(config)
    async with sim:
        wanted = parse_listen(listen or config.model.server.listen)
        bind_listen = (wanted[0], port_or_any("tcp", *wanted))
        traps = TRAPS.of(config)
        traps_wanted = parse_listen(traps.listen) if traps else None
        traps_listen = None
        if traps_wanted is not None:
            traps_listen = f"{traps_wanted[0]}:{port_or_any('udp', *traps_wanted)}"
        moved = sim.relocated()
        daemon = Daemon(
            config_path,
            f"{bind_listen[0]}:{bind_listen[1]}",
            web_config_file=web_config_file,
        )
        daemon.rewrite = lambda loaded: relocate(loaded, moved, traps_listen=traps_listen)
        started = asyncio.Event()
        failure: Exception | None = None
        try:
            # The daemon serves first ("started"), then what depends on it: the simulation's
            # trap sink, the banner and the status lines. One group owns the daemon's task:
            # when the daemon fails, the wait below is cancelled; when it stops, the loop ends.
            async with asyncio.TaskGroup() as tasks:
                running = tasks.create_task(daemon.run(started), name="daemon")
                await started.wait()
                _announce(daemon, sim, tokens, wanted, bind_listen, control, traps_wanted, moved)
                while not running.done():
                    await asyncio.wait({running}, timeout=status_every or None)
                    if not running.done() and status_every > 0:
                        print(status_line(daemon, sim), flush=True)
        except ExceptionGroup as group:
            failure = group.exceptions[0]  # what stopped the daemon, as a rule
        if failure is None:
            return 0
        served = started.is_set()
        if isinstance(failure, OSError) and not isinstance(failure, ListenError) and not served:
            # Before it served, the daemon's only socket of its own: the HTTP listener.
            raise ListenError("tcp", *bind_listen, failure) from failure
        raise failure


def _announce(
    daemon: Daemon,
    sim: Simulation,
    tokens: Mapping[str, str],
    wanted: Address,
    bind_listen: Address,
    control: str,
    traps_wanted: Address | None,
    moved: Mapping[Address, Address],
) -> None:
    """Point the simulation's notifications at the daemon's trap receiver, and print the
    banner (and the demo sign-in tokens)."""
    receiver = daemon.traps.receiver
    traps_bound = receiver.address if receiver is not None else None
    sim.agent.traps.sink = traps_bound
    http_bound = (bind_listen[0], daemon.bound_port or bind_listen[1])
    control_bound = (parse_listen(control)[0], sim.control_port or 0)
    wanted_and_bound = [
        ("monitor HTTP tcp", wanted, http_bound),
        ("simulator control tcp", parse_listen(control), control_bound),
        ("trap receiver udp", traps_wanted, traps_bound),
    ]
    changes = [Moved("device", configured, at) for configured, at in moved.items()]
    changes += [
        Moved(what, configured, at)
        for what, configured, at in wanted_and_bound
        if configured is not None and at is not None and configured[1] != 0 and configured != at
    ]
    scheme = daemon.web_config.scheme if daemon.web_config else "http"
    base = f"{scheme}://{http_bound[0]}:{http_bound[1]}"
    banner = Banner(
        fleet=describe_fleet(sim),
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

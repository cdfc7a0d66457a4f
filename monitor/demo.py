"""The demo's wiring: monitor.yaml pointed, in memory, at where the simulation really listens,
and the banner that tells the person who started it where everything is.

``trunkwatch demo`` may run beside another demo (or a test run) with the same file: a device,
trap or control port that is taken is served on a free port instead, and ``relocate`` rewrites
the addresses the monitor is given — asset addresses, probe ``port`` parameters and the trap
receiver's ``traps.listen`` — so it polls its own simulation. The file itself is never written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from monitor.config import AssetConfig, Config, ProbeConfig
from monitor.core.addresses import split_address
from monitor.inspections.section import INSPECTIONS
from monitor.traps import TRAPS

__all__ = ["Banner", "Moved", "demo_tokens", "format_banner", "relocate"]

Address = tuple[str, int]

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
    default_monitor: str = "http://127.0.0.1:9750"
    default_control: str = "http://127.0.0.1:9751"


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
    drill = "trunkwatch drill mains_failure --site bs-yunyan"
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

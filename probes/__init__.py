"""Probes: one module per protocol, each turning a device's answer into samples.

Probe kinds are found in an explicit table of the built-in modules, extended by the
``trunkwatch.probes`` entry-point group for third-party probes. Modules are imported only when
a configuration uses them, so the daemon never pays for scapy unless it captures packets.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import cast

from probes.base import ProbeFactory

__all__ = ["UnknownProbeModule", "available_modules", "load_factory"]

#: module name → "python.module:factory". The factory validates parameters and builds a Probe.
BUILTIN: dict[str, str] = {
    "tcp": "probes.tcp:create",
    "snmp": "probes.snmp:create",
    "icmp": "probes.icmp:create",
    "sip": "probes.sip:create",
    "http": "probes.http:create",
    "rtp": "probes.rtp:create",
}


class UnknownProbeModule(LookupError):
    """The configuration names a probe module nobody provides."""


def _entry_point_table() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group="trunkwatch.probes")}


def available_modules() -> list[str]:
    return sorted({*BUILTIN, *_entry_point_table()})


def load_factory(name: str) -> ProbeFactory:
    target = BUILTIN.get(name) or _entry_point_table().get(name)
    if target is None:
        raise UnknownProbeModule(
            f"unknown probe module {name!r} (available: {', '.join(available_modules())})"
        )
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return cast(ProbeFactory, getattr(module, attr))

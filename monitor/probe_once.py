"""Run probes once, outside the daemon, and render what they saw (``trunkwatch probe``).

The output is the same exposition the daemon serves for those jobs, so a technician sees at the
desk exactly what Prometheus would scrape, failure reason included.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from monitor.clock import SystemClock
from monitor.config import load_config, split_address
from monitor.daemon import close_probe_sessions
from monitor.exporter import Exposition
from monitor.inventory import Asset, Job, build_inventory
from monitor.results import Result, ResultStore
from monitor.scheduler import run_once
from probes import UnknownProbeModule, available_modules, load_factory
from probes.base import ProbeParamsError, Target

__all__ = ["ProbeUsageError", "probe_adhoc", "probe_asset", "render_results"]


class ProbeUsageError(ValueError):
    """The command line does not describe a probe that can run."""


def render_results(results: list[Result]) -> str:
    """The exposition the daemon would serve for these results, through the same path."""
    store = ResultStore()
    exposition = Exposition(store)
    for result in results:
        store.put(result)
    return exposition.render()


async def probe_asset(config_path: str, asset_id: str, probe: str | None) -> tuple[bool, str]:
    config = load_config(config_path)
    inventory = build_inventory(config)
    if asset_id not in inventory.assets:
        raise ProbeUsageError(f"no asset {asset_id!r} in {config_path}")
    jobs = [j for j in inventory.jobs if j.asset.id == asset_id and probe in (None, j.name)]
    if not jobs:
        raise ProbeUsageError(f"asset {asset_id!r} has no probe {probe!r}")
    clock = SystemClock()
    try:
        results = [r for r, _ in await asyncio.gather(*(run_once(j, clock) for j in jobs))]
    finally:
        await close_probe_sessions()
    return all(r.success for r in results), render_results(list(results))


def _env_secret(var: str | None, what: str) -> str | None:
    if var is None:
        return None
    value = os.environ.get(var)
    if value is None:
        raise ProbeUsageError(f"{what}: environment variable {var} is not set")
    return value


async def probe_adhoc(args: argparse.Namespace) -> tuple[bool, str]:
    module: str = args.module
    params: dict[str, Any] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            raise ProbeUsageError(f"--param {item!r}: expected KEY=VALUE")
        params[key] = value
    secrets: dict[str, str] = {}
    for item in args.secret_env:
        key, sep, var = item.partition("=")
        if not sep or not key or not var:
            raise ProbeUsageError(f"--secret-env {item!r}: expected KEY=VAR")
        value = _env_secret(var, f"--secret-env {key}")
        if value is not None:
            secrets[key] = value
    if module not in available_modules():
        # Not a probe module: an SNMP profile name (``--module if_mib``).
        params.setdefault("profile", module)
        module = "snmp"
    if module == "snmp":
        params.setdefault("version", args.snmp_version)
        for key, var, what in (
            ("community", args.community_env, "--community-env"),
            ("auth_key", args.v3_auth_key_env, "--v3-auth-key-env"),
            ("priv_key", args.v3_priv_key_env, "--v3-priv-key-env"),
        ):
            value = _env_secret(var, what)
            if value is not None:
                secrets[key] = value
        if args.snmp_version == "3":
            if not args.v3_user:
                raise ProbeUsageError("--snmp-version 3 needs --v3-user")
            secrets["user"] = args.v3_user
            params.setdefault("auth_protocol", args.v3_auth_proto)
            params.setdefault("priv_protocol", args.v3_priv_proto)
        elif "community" not in secrets:
            secrets["community"] = "public"
    try:
        factory = load_factory(module)
        probe = factory(params, timeout=args.timeout)
    except UnknownProbeModule as exc:
        raise ProbeUsageError(str(exc)) from exc
    except ProbeParamsError as exc:
        raise ProbeUsageError(f"--module {args.module}: {exc}") from exc
    target_text: str = args.target
    host, port = _target_host_port(target_text)
    asset = Asset(
        id=host,
        site="adhoc",
        system="network",
        kind="adhoc",
        name=host,
        target=Target(target_text, host, port, secrets),
        parent=None,
    )
    job = Job(asset, args.module, module, args.timeout, args.timeout, probe)
    try:
        result, _ = await run_once(job, SystemClock())
    finally:
        await close_probe_sessions()
    return result.success, render_results([result])


def _target_host_port(text: str) -> tuple[str, int | None]:
    if "://" in text or text.startswith("sip:") or text.startswith("sips:"):
        return text, None  # URL-shaped targets are interpreted by their probe module
    try:
        return split_address(text)
    except ValueError as exc:
        raise ProbeUsageError(f"--target: {exc}") from exc

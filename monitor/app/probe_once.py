"""Run probes once, outside the daemon (``trunkwatch probe``).

The results are printed through ``monitor.exposition.text.render_results``, the exposition the
daemon serves for those jobs, so a technician sees at the desk exactly what Prometheus would
scrape, failure reason included; ``failure_lines`` adds the why of each failure (the probe's
message, for standard error), with the target's secrets blanked out should one ever appear
in it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Mapping
from typing import Any

from monitor.app.daemon import close_probe_sessions
from monitor.config import load_config
from monitor.core.addresses import split_address
from monitor.core.clock import SystemClock
from monitor.inventory import Asset, Job, build_inventory
from monitor.results import Result
from monitor.scheduler import run_once
from probes import UnknownProbeModule, available_modules, load_factory
from probes.base import ProbeConfigError, ProbeParamsError, Target
from probes.snmp.profiles import library

__all__ = ["ProbeUsageError", "failure_lines", "probe_adhoc", "probe_asset"]


class ProbeUsageError(ValueError):
    """The command line does not describe a probe that can run."""


def _blank_secrets(text: str, secrets: Mapping[str, str]) -> str:
    for value in secrets.values():
        if value:
            text = text.replace(value, "***")
    return text


def failure_lines(results: list[Result]) -> list[str]:
    """One comment line per failure, for standard error: ``# ASSET/PROBE: REASON: MESSAGE``,
    and one per failed part of a run that otherwise worked."""
    lines: list[str] = []
    for result in results:
        where = f"# {result.job.asset.id}/{result.job.name}"
        secrets = result.job.asset.target.secrets
        if not result.success:
            message = _blank_secrets(result.message, secrets)
            lines.append(
                f"{where}: {result.reason}: {message}" if message else f"{where}: {result.reason}"
            )
        for part, reason in result.partial:
            lines.append(f"{where}: partly failed: {_blank_secrets(part, secrets)}: {reason}")
    return lines


async def probe_asset(config_path: str, asset_id: str, probe: str | None) -> list[Result]:
    config = load_config(config_path)
    inventory = build_inventory(config)
    if asset_id not in inventory.assets:
        raise ProbeUsageError(f"no asset {asset_id!r} in {config_path}")
    of_asset = [j for j in inventory.jobs if j.asset.id == asset_id]
    jobs = [j for j in of_asset if probe in (None, j.name)]
    if not jobs:
        names = ", ".join(j.name for j in of_asset) or "none"
        raise ProbeUsageError(f"asset {asset_id!r} has no probe {probe!r} (its probes: {names})")
    clock = SystemClock()
    try:
        return [r for r, _ in await asyncio.gather(*(run_once(j, clock) for j in jobs))]
    finally:
        await close_probe_sessions()


def _env_secret(var: str | None, what: str) -> str | None:
    if var is None:
        return None
    value = os.environ.get(var)
    if value is None:
        raise ProbeUsageError(f"{what}: environment variable {var} is not set")
    return value


def _unknown_module(name: str) -> ProbeUsageError:
    return ProbeUsageError(
        f"--module {name}: neither a probe module ({', '.join(available_modules())}) "
        f"nor an SNMP profile ({', '.join(library().available())})"
    )


async def probe_adhoc(args: argparse.Namespace) -> list[Result]:
    """Run the probe the command line describes against ``--target``. ProbeUsageError when the
    line does not describe one that can run, including a probe that finds at run time that it
    lacks something (a TCP port, say)."""
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
        if module not in library().available():
            raise _unknown_module(module)
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
            if args.v3_auth_proto != "none" and "auth_key" not in secrets:
                raise ProbeUsageError(
                    f"--v3-auth-proto {args.v3_auth_proto} needs --v3-auth-key-env VAR "
                    "(or --v3-auth-proto none)"
                )
            if args.v3_priv_proto != "none" and "priv_key" not in secrets:
                raise ProbeUsageError(
                    f"--v3-priv-proto {args.v3_priv_proto} needs --v3-priv-key-env VAR "
                    "(or --v3-priv-proto none)"
                )
            secrets["user"] = args.v3_user
            params.setdefault("auth_protocol", args.v3_auth_proto)
            params.setdefault("priv_protocol", args.v3_priv_proto)
        elif "community" not in secrets:
            secrets["community"] = "public"
    try:
        factory = load_factory(module)
        probe = factory(params, timeout=args.timeout)
    except UnknownProbeModule:
        raise _unknown_module(module) from None
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
    if result.reason == ProbeConfigError.reason:
        # Something the probe needs and the command line did not give: a usage error.
        raise ProbeUsageError(
            f"--module {args.module}: {_blank_secrets(result.message, secrets)} "
            "(here the address is --target HOST:PORT and probe settings are --param KEY=VALUE)"
        )
    return [result]


def _target_host_port(text: str) -> tuple[str, int | None]:
    if "://" in text or text.startswith("sip:") or text.startswith("sips:"):
        return text, None  # URL-shaped targets are interpreted by their probe module
    try:
        return split_address(text)
    except ValueError as exc:
        raise ProbeUsageError(f"--target: {exc}") from exc

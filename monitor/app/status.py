"""The state of every asset as the duty board shows it: up, down, unreachable (behind a failed
parent), degraded (some probes fail) or pending (no result yet), read from the latest results;
or maintenance, while a planned maintenance window has it out of service (what the probes
measure is kept beside it as ``measured``)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from monitor.inventory import Inventory
from monitor.results import Result, ResultStore

__all__ = ["asset_state", "asset_states", "estate_status"]


def asset_state(results: list[Result]) -> str:
    """up, down, unreachable (behind a failed parent), degraded (some probes fail) or
    pending (no result yet)."""
    if not results:
        return "pending"
    if all(r.success for r in results):
        return "up"
    if any(r.reason == "unreachable" for r in results if not r.success):
        return "unreachable"
    if any(r.success for r in results):
        return "degraded"
    return "down"


def asset_states(inventory: Inventory | None, store: ResultStore) -> dict[str, str]:
    """Asset id → its state, for every configured asset (none before a configuration)."""
    if inventory is None:
        return {}
    return {asset_id: asset_state(store.asset_results(asset_id)) for asset_id in inventory.assets}


def estate_status(
    inventory: Inventory | None,
    store: ResultStore,
    maintenance: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every site and every asset with its state and the last run of each of its probes, as
    ``/api/v1/status`` answers it and the duty board draws it. ``maintenance`` maps the assets
    in a maintenance window now to what the board says of it (window, until, owner, reason)."""
    maintenance = maintenance or {}
    if inventory is None:
        return {"sites": [], "assets": []}
    assets = []
    for asset in inventory.assets.values():
        results = store.asset_results(asset.id)
        probes = [
            {
                "probe": r.job.name,
                "success": r.success,
                "reason": r.reason,
                "detail": r.message,
                "duration_seconds": r.duration,
                "finished_at": r.finished_at,
            }
            for r in results
        ]
        measured = asset_state(results)
        window = maintenance.get(asset.id)
        assets.append(
            {
                "id": asset.id,
                "name": asset.name,
                "site": asset.site,
                "system": asset.system,
                "kind": asset.kind,
                "state": "maintenance" if window is not None else measured,
                "measured": measured,
                "maintenance": dict(window) if window is not None else None,
                "probes": probes,
            }
        )
    sites = [
        {"id": s.id, "name": s.name, "name_en": s.name_en, "parent": s.parent}
        for s in inventory.sites.values()
    ]
    return {"generated_at": time.time(), "sites": sites, "assets": assets}

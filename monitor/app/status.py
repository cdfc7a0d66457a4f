"""The state of every asset as the duty board shows it: up, down (nothing answers),
unreachable (behind a failed parent), degraded (some probes fail, a peer answers but will not
serve, or a condition of the alert rules holds: on battery, a carrier down …) or pending (no
result yet), read from the latest results; or maintenance, while a planned maintenance window
has it out of service (what the probes measure is kept beside it as ``measured``).

The conditions and since when they hold come from ``monitor.duty.ConditionBook``, which the
daemon subscribes to its result store.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from monitor.duty import ConditionBook
from monitor.inventory import Inventory
from monitor.results import Result, ResultStore

__all__ = ["asset_state", "asset_states", "estate_status"]


def asset_state(results: list[Result], degraded: bool = False) -> str:
    """up, down, unreachable (behind a failed parent), degraded (some probes fail, a peer
    answers "unavailable", or ``degraded``: a condition holds) or pending (no result yet)."""
    if not results:
        return "pending"
    failed = [r for r in results if not r.success]
    if not failed:
        return "degraded" if degraded else "up"
    if any(r.reason == "unreachable" for r in failed):
        return "unreachable"
    # Something answers: a probe that works, or a peer that says it cannot serve (SIP 503).
    if len(failed) < len(results) or any(r.reason == "unavailable" for r in failed):
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
    book: ConditionBook | None = None,
    follow_ups: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Every site and every asset with its state and the last run of each of its probes, as
    ``/api/v1/status`` answers it and the duty board draws it. ``maintenance`` maps the assets
    in a maintenance window now to what the board says of it (window, until, owner, reason);
    ``book`` adds each asset's degraded conditions and since when they and its failures
    hold; ``follow_ups`` are the inspection follow-ups (整改) open past their due date, as
    ``monitor.inspections.followups`` names them."""
    maintenance = maintenance or {}
    overdue = [dict(f) for f in follow_ups]
    if inventory is None:
        return {"sites": [], "assets": [], "follow_ups": overdue}
    assets = []
    for asset in inventory.assets.values():
        results = store.asset_results(asset.id)
        probes = [
            {
                "probe": r.job.name,
                "module": r.job.module,
                "success": r.success,
                "reason": r.reason,
                "detail": r.message,
                "duration_seconds": r.duration,
                "finished_at": r.finished_at,
                "failing_since": book.failing_since(r.job.key) if book else None,
            }
            for r in results
        ]
        conditions = [
            {
                "probe": c.probe,
                "condition": c.finding.key,
                "alert": c.finding.alert,
                "severity": c.finding.severity,
                "zh": c.finding.zh,
                "en": c.finding.en,
                "since": c.since,
                "explains_failure": c.finding.explains_failure,
            }
            for c in (book.conditions(asset.id) if book else ())
        ]
        measured = asset_state(results, degraded=bool(conditions))
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
                "parent": asset.parent,
                "behind": _failed_upstream(inventory, store, asset.id)
                if measured == "unreachable"
                else None,
                "conditions": conditions,
                "probes": probes,
            }
        )
    sites = [
        {
            "id": s.id,
            "name": s.name,
            "name_en": s.name_en,
            "district": s.district,
            "coordinates": list(s.coordinates) if s.coordinates else None,
            "parent": s.parent,
        }
        for s in inventory.sites.values()
    ]
    return {"generated_at": time.time(), "sites": sites, "assets": assets, "follow_ups": overdue}


def _failed_upstream(inventory: Inventory, store: ResultStore, asset_id: str) -> str | None:
    """The asset above this one whose own failure makes it unreachable: the nearest that is
    down for itself, not merely unreachable in turn (else the nearest that is down)."""
    nearest = None
    for upstream in inventory.upstream(asset_id):
        if not store.asset_down(upstream):
            break
        nearest = nearest or upstream
        if any(r.reason != "unreachable" for r in store.asset_results(upstream)):
            return upstream
    return nearest

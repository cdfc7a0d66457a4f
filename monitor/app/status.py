"""The state of every asset as the duty board shows it: up, down (nothing answers),
unreachable (behind a failed parent), degraded (some probes fail, a peer answers but will not
serve, or a condition of the alert rules holds: on battery, a carrier down …) or pending (no
result yet), read from the latest results; or maintenance, while a planned maintenance window
has it out of service (what the probes measure is kept beside it as ``measured``).

The conditions and since when they hold come from ``monitor.duty.ConditionBook``, which the
daemon subscribes to its result store. ``troubled_status`` is the same narrowed to the assets
that can raise a problem, for what asks for the problems often (the shift log's faults).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from monitor.duty import ConditionBook
from monitor.inventory import Asset, Inventory, Site
from monitor.results import Result, ResultStore

__all__ = [
    "asset_state",
    "asset_states",
    "estate_status",
    "troubled_status",
]


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
    assets = [
        _asset_status(inventory, store, asset, maintenance, book)
        for asset in inventory.assets.values()
    ]
    sites = [_site_status(s) for s in inventory.sites.values()]
    return {"generated_at": time.time(), "sites": sites, "assets": assets, "follow_ups": overdue}


def troubled_status(
    inventory: Inventory | None,
    store: ResultStore,
    maintenance: Mapping[str, Mapping[str, Any]],
    book: ConditionBook,
    follow_ups: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """``estate_status`` narrowed to the assets whose measured state is neither up nor pending
    (those with a failing probe or a condition, as ``book`` knows them) and to their sites.

    Only such assets raise problems, and any asset a problem names as the cause is one of
    them (it is down), so ``duty.board.active_problems`` of this equals that of the whole
    status, at a cost that follows the troubled assets rather than the estate: what the shift
    log compares with its open faults every few seconds."""
    overdue = [dict(f) for f in follow_ups]
    if inventory is None:
        return {"sites": [], "assets": [], "follow_ups": overdue}
    troubled = book.troubled()
    entries = [
        _asset_status(inventory, store, asset, maintenance, book)
        for asset in inventory.assets.values()
        if asset.id in troubled
    ]
    assets = [a for a in entries if a["measured"] not in ("up", "pending")]
    used = {a["site"] for a in assets}
    sites = [_site_status(s) for s in inventory.sites.values() if s.id in used]
    return {"generated_at": time.time(), "sites": sites, "assets": assets, "follow_ups": overdue}


def _asset_status(
    inventory: Inventory,
    store: ResultStore,
    asset: Asset,
    maintenance: Mapping[str, Mapping[str, Any]],
    book: ConditionBook | None,
) -> dict[str, Any]:
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
    return {
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


def _site_status(site: Site) -> dict[str, Any]:
    return {
        "id": site.id,
        "name": site.name,
        "name_en": site.name_en,
        "district": site.district,
        "coordinates": list(site.coordinates) if site.coordinates else None,
        "parent": site.parent,
    }


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

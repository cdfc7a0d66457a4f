"""The open follow-ups (整改) as the duty board shows them: a snapshot of the open ones, read
again every few seconds by the service's background task, and those past their due date
named as people read them (the item, its plan and target, the owner, since when overdue).

The board is drawn on the event loop, so it reads the snapshot and never the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from monitor.core.clock import Clock
from monitor.inspections.errors import StoreError
from monitor.inspections.records import FollowUp, RoundTarget

if TYPE_CHECKING:
    from monitor.inspections.plans import InspectionSetup
    from monitor.inspections.store import InspectionStore

__all__ = ["REFRESH_SECONDS", "FollowUpBook", "follow_up_owner", "follow_up_place"]

log = logging.getLogger("trunkwatch.inspections")

#: How often the open follow-ups are read again: how long a closed one may linger on the board.
REFRESH_SECONDS = 5.0


def follow_up_owner(setup: InspectionSetup, follow_up: FollowUp) -> str:
    """Who acts on a follow-up: its round's owner as configured now (a person or a team); for
    a plan or target removed since, whoever opened it."""
    plan = setup.plans.get(follow_up.plan_id)
    target = plan.target(follow_up.target) if plan else None
    if plan is None or target is None:
        return follow_up.opened_by
    return plan.owner_of(target)


def follow_up_place(setup: InspectionSetup, follow_up: FollowUp) -> RoundTarget:
    """The target a follow-up is about; for a plan removed since, what its key says."""
    plan = setup.plans.get(follow_up.plan_id)
    target = plan.target(follow_up.target) if plan else None
    if target is not None:
        return target
    per, _, ident = follow_up.target.partition(":")
    return RoundTarget(
        per,
        ident,
        ident,
        site=ident if per == "site" else "",
        asset=ident if per == "asset" else "",
        system=ident if per == "system" else "",
    )


class FollowUpBook:
    """The open follow-ups as last read, for the running setup (``setup`` is asked each time:
    a reload replaces it)."""

    def __init__(
        self, setup: Callable[[], InspectionSetup], store: InspectionStore, clock: Clock
    ) -> None:
        self._setup = setup
        self._store = store
        self._clock = clock
        self._open: tuple[FollowUp, ...] = ()

    def refresh(self) -> None:
        """Read the open follow-ups again. Raises StoreError."""
        self._open = tuple(self._store.follow_ups(open_only=True))

    async def watch(self, interval: float = REFRESH_SECONDS) -> None:
        """Forever: keep the snapshot fresh; while the store cannot be read, the last one
        stands (logged once)."""
        failing = False
        while True:
            try:
                await asyncio.to_thread(self.refresh)
            except StoreError as exc:
                if not failing:
                    log.error("open follow-ups unreadable, the board keeps the last: %s", exc)
                failing = True
            else:
                if failing:
                    log.info("open follow-ups readable again")
                failing = False
            await self._clock.sleep(interval)

    def overdue(self, now: float | None = None) -> list[dict[str, Any]]:
        """The open follow-ups past their due date at ``now``, longest overdue first, named
        for the board."""
        now = self._clock.time() if now is None else now
        setup = self._setup()
        out: list[dict[str, Any]] = []
        for f in sorted(self._open, key=lambda f: (f.due_at or 0.0, f.id)):
            if not f.overdue(now):
                continue
            plan = setup.plans.get(f.plan_id)
            item = (
                next((i for i in plan.plan.checklist if i.id == f.item_id), None) if plan else None
            )
            place = follow_up_place(setup, f)
            owner = follow_up_owner(setup, f)
            out.append(
                {
                    "id": f.id,
                    "plan": f.plan_id,
                    "plan_title": plan.plan.title if plan else f.plan_id,
                    "plan_title_en": (plan.plan.title_en if plan else None) or "",
                    "target": f.target,
                    "target_name": place.name,
                    "site": place.site,
                    "asset": place.asset,
                    "system": place.system,
                    "item": f.item_id,
                    "item_title": item.title if item else f.item_id,
                    "item_title_en": (item.title_en if item else None) or "",
                    "owner": owner,
                    "owner_name": setup.roster.label(owner) or owner,
                    "opened_at": f.opened_at,
                    "due_at": f.due_at,
                    "note": f.note,
                }
            )
        return out

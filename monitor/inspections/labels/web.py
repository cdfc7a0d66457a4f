"""The page a QR label opens: ``/inspections/asset/ID``, the asset's current rounds — those of
plans per asset on it, then those of plans per site at its site — each with its state and a
button to start, continue or view it. When exactly one of them is under way (a draft), the
label leads straight to it: the technician scans the equipment again to go on where they
were. Opening a round stays a button (a POST): a scan never starts one by itself, nor the
maintenance window a round may open. Signed out, the label leads through sign-in and back
(``monitor.inspections.web.safe_next``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from aiohttp import web

from monitor.inspections.calendar import RoundState
from monitor.inspections.errors import Conflict, NotFound
from monitor.inspections.templates import render
from monitor.inspections.web import DutyPages, html_page, see_other

if TYPE_CHECKING:
    from monitor.inspections.ledger import CalendarEntry
    from monitor.inspections.service import InspectionService

__all__ = ["asset_entries", "routes"]

_UNDER_WAY = (RoundState.OPEN, RoundState.OVERDUE)


def asset_entries(service: InspectionService, asset_id: str) -> list[CalendarEntry]:
    """The current round of each plan that inspects the asset (per asset on it, per site at
    its site): the asset's own first, overdue first within each. Raises NotFound."""
    asset = service.setup.maintenance.assets.get(asset_id)
    if asset is None:
        raise NotFound(f"没有此设备 / no asset {asset_id!r}")
    now = service.now()
    found: list[tuple[int, CalendarEntry]] = []
    for plan in service.setup.plans.values():
        for target in plan.targets:
            if (target.per, target.id) not in (("asset", asset.id), ("site", asset.site)):
                continue
            try:
                entry = service.entry_for(plan, target, now)
            except Conflict:  # the plan has not started yet
                continue
            found.append((0 if target.per == "asset" else 1, entry))
    found.sort(key=lambda pair: (pair[0], pair[1].sort_key))
    return [entry for _, entry in found]


class AssetPage:
    def __init__(self, duty: DutyPages) -> None:
        self.duty = duty
        self.service = duty.service

    async def show(self, request: web.Request) -> web.Response:
        person, session = await self.duty.require(request)
        service = self.service
        asset_id = request.match_info["asset_id"]
        try:
            entries = await service.run(asset_entries, service, asset_id)
        except NotFound as exc:
            page = render("message.html", person=person, csrf=session.csrf, error=str(exc))
            return html_page(page, status=exc.status)
        drafts = [e.draft for e in entries if e.draft is not None and e.state in _UNDER_WAY]
        if len(drafts) == 1:
            return see_other(f"/inspections/rounds/{quote(drafts[0].id)}")
        asset = service.setup.maintenance.assets[asset_id]
        return html_page(
            render(
                "asset.html",
                person=person,
                csrf=session.csrf,
                asset=asset,
                site_name=service.setup.maintenance.sites.get(asset.site, asset.site),
                entries=[self.duty._entry_view(e, person, service.now()) for e in entries],
            )
        )


def routes(duty: DutyPages) -> list[web.RouteDef]:
    return [web.get("/inspections/asset/{asset_id}", AssetPage(duty).show)]

"""The duty board and /api/v1/status with planned maintenance: an asset in a window shows
"maintenance" (what its probes measure kept beside it), and a tile takes the worst state of
its assets, a fault elsewhere on the site outranking the maintenance."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import test_utils

from monitor.app.server import ServerViews, build_app
from monitor.app.status import estate_status
from monitor.exposition.collector import ResultsCollector
from monitor.results import Result
from tests.unit.fleet import asset, inventory, job
from tests.unit.test_server import NOOP, Process

WINDOW = {"window": "w-1", "until": 2.0, "owner": "lina", "reason": "更换整流模块", "target": "x"}


def views(process: Process, maintenance: dict[str, dict[str, Any]]) -> ServerViews:
    return ServerViews(
        registry=process.registry,
        exposition=process.exposition.render_parts,
        results=ResultsCollector(process.store, process.inventory),
        status=lambda: estate_status(process.inventory, process.store, maintenance),
        ready=lambda: True,
        reload=process.reload,
    )


def tile_classes(page: str) -> dict[str, str]:
    return dict(
        (site, cls)
        for cls, site in re.findall(r'<section class="tile (\w+)" id="site-([\w-]+)"', page)
    )


def test_an_asset_in_maintenance_shows_it_with_its_measured_state_beside() -> None:
    process = Process()  # bs-1 up, bs-2 down (timeout), both at site s1
    status = estate_status(process.inventory, process.store, {"bs-2": WINDOW})
    by_id = {a["id"]: a for a in status["assets"]}
    assert (by_id["bs-2"]["state"], by_id["bs-2"]["measured"]) == ("maintenance", "down")
    assert by_id["bs-2"]["maintenance"] == WINDOW
    assert (by_id["bs-1"]["state"], by_id["bs-1"]["maintenance"]) == ("up", None)


async def test_the_board_draws_maintenance_blue_and_a_fault_elsewhere_still_wins() -> None:
    process = Process()
    other = job(asset("bs-3", site="s2"), NOOP)
    process.inventory = inventory([*process.inventory.jobs, other])
    process.store.put(Result(other, success=False, duration=5.0, finished_at=1.0, reason="timeout"))
    in_maintenance = {"bs-1": WINDOW, "bs-2": WINDOW}  # all of s1; s2's bs-3 is down
    app = build_app(views(process, in_maintenance))
    async with test_utils.TestClient(test_utils.TestServer(app)) as client:
        page = await (await client.get("/")).text()
        status = await (await client.get("/api/v1/status")).json()
        in_maintenance.pop("bs-2")  # its window ends: bs-2 is down, bs-1 still in one
        after = await (await client.get("/")).text()
    assert tile_classes(page) == {"s1": "maintenance", "s2": "down"}
    assert '<li class="maintenance" data-measured="down" data-window="w-1"' in page
    assert "维护 maintenance</em> <small>故障 down</small>" in page
    assert 'title="更换整流模块 — lina"' in page
    assert {a["id"]: a["state"] for a in status["assets"]} == {
        "bs-1": "maintenance", "bs-2": "maintenance", "bs-3": "down",
    }  # fmt: skip
    assert tile_classes(after) == {"s1": "down", "s2": "down"}
    assert '<li class="maintenance" data-measured="up" data-window="w-1"' in after
    assert '<li class="down"><b>bs-2</b>' in after

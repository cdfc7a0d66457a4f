"""The daemon's HTTP face: /metrics, health and readiness, reload, the duty board and the API.

``POST /-/reload`` is refused (403) to a page of another origin (``monitor.webguard``);
TLS and basic authentication come from the web configuration file (``monitor.webconfig``).
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics

from monitor.webguard import add_security_headers, require_same_origin

if TYPE_CHECKING:
    from monitor.daemon import Daemon
    from monitor.results import Result

__all__ = ["asset_state", "asset_states", "build_app"]

DAEMON: web.AppKey[Daemon] = web.AppKey("daemon")


async def metrics(request: web.Request) -> web.Response:
    daemon = request.app[DAEMON]
    accept = request.headers.get("Accept", "")
    if "application/openmetrics-text" in accept:
        # Both parts end with "# EOF" in OpenMetrics; keep exactly one, at the very end.
        own = openmetrics.generate_latest(daemon.registry).removesuffix(b"# EOF\n")  # type: ignore[no-untyped-call]
        body = own + openmetrics.generate_latest(_CollectorRegistryView(daemon))  # type: ignore[no-untyped-call]
        return web.Response(body=body, headers={"Content-Type": openmetrics.CONTENT_TYPE_LATEST})
    body = generate_latest(daemon.registry) + daemon.exposition.render().encode()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


class _CollectorRegistryView:
    """Just enough of a registry for openmetrics.generate_latest over the results."""

    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon

    def collect(self) -> Any:
        return self._daemon.collector.collect()


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="OK\n")


async def ready(request: web.Request) -> web.Response:
    if request.app[DAEMON].ready:
        return web.Response(text="ready\n")
    return web.Response(status=503, text="not ready\n")


async def reload(request: web.Request) -> web.Response:
    require_same_origin(request)
    problems = await request.app[DAEMON].reload()
    if problems:
        return web.json_response({"status": "rejected", "problems": problems}, status=400)
    return web.json_response({"status": "reloaded"})


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


def asset_states(daemon: Daemon) -> dict[str, str]:
    if daemon.loaded is None:
        return {}
    return {
        asset_id: asset_state(daemon.store.asset_results(asset_id))
        for asset_id in daemon.loaded.inventory.assets
    }


def _status(daemon: Daemon) -> dict[str, Any]:
    loaded = daemon.loaded
    if loaded is None:
        return {"sites": [], "assets": []}
    assets = []
    for asset in loaded.inventory.assets.values():
        results = daemon.store.asset_results(asset.id)
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
        state = asset_state(results)
        assets.append(
            {
                "id": asset.id,
                "name": asset.name,
                "site": asset.site,
                "system": asset.system,
                "kind": asset.kind,
                "state": state,
                "probes": probes,
            }
        )
    sites = [
        {"id": s.id, "name": s.name, "name_en": s.name_en, "parent": s.parent}
        for s in loaded.inventory.sites.values()
    ]
    return {"generated_at": time.time(), "sites": sites, "assets": assets}


async def api_status(request: web.Request) -> web.Response:
    return web.json_response(_status(request.app[DAEMON]))


_STATE_ZH = {
    "up": "正常 up",
    "down": "故障 down",
    "unreachable": "不可达 unreachable",
    "degraded": "部分故障 degraded",
    "pending": "等待 pending",
}


async def board(request: web.Request) -> web.Response:
    status = _status(request.app[DAEMON])
    by_site: dict[str, list[dict[str, Any]]] = {}
    for asset in status["assets"]:
        by_site.setdefault(asset["site"], []).append(asset)
    tiles = []
    for site in status["sites"]:
        rows = "".join(
            f'<li class="{a["state"]}"><b>{html.escape(a["name"])}</b> '
            f"<span>{html.escape(a['system'])}/{html.escape(a['kind'])}</span> "
            f"<em>{_STATE_ZH[a['state']]}</em></li>"
            for a in by_site.get(site["id"], [])
        )
        worst = min(
            (a["state"] for a in by_site.get(site["id"], [])),
            key=["down", "unreachable", "degraded", "pending", "up"].index,
            default="pending",
        )
        title = html.escape(site["name"])
        if site["name_en"]:
            title += f" <small>{html.escape(site['name_en'])}</small>"
        site_id = html.escape(site["id"])
        tiles.append(
            f'<section class="tile {worst}" id="site-{site_id}" data-site="{site_id}">'
            f"<h2>{title}</h2><ul>{rows}</ul></section>"
        )
    page = _BOARD.replace("{{tiles}}", "".join(tiles))
    return web.Response(text=page, content_type="text/html", charset="utf-8")


_BOARD = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="15">
<link rel="icon" href="data:,">
<title>值班总览 Duty board — trunkwatch</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:1rem;background:#111;color:#eee}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(18rem,1fr));gap:.8rem}
.tile{border-radius:.5rem;padding:.6rem;background:#1d2a1d;border-left:.5rem solid #2e7d32}
.tile.down{background:#3a1515;border-color:#c62828}.tile.unreachable{background:#332b12;border-color:#f9a825}
.tile.degraded{background:#33240f;border-color:#ef6c00}.tile.pending{border-color:#757575}
h2{font-size:1.05rem;margin:.1rem 0 .4rem}ul{list-style:none;padding:0;margin:0}
li{display:flex;gap:.4rem;font-size:.9rem;padding:.1rem 0}li span{color:#aaa}li em{margin-left:auto}
li.down em{color:#ef5350}li.unreachable em{color:#ffca28}li.degraded em{color:#ffa726}
li.up em{color:#81c784}small{color:#aaa;font-weight:normal}a{color:#90caf9}
</style></head><body>
<h1>值班总览 Duty board</h1>
<p><a href="/inspections">巡检 Inspections</a> · <a href="/metrics">/metrics</a> ·
<a href="/api/v1/status">/api/v1/status</a></p>
<main>{{tiles}}</main>
</body></html>
"""


def build_app(daemon: Daemon) -> web.Application:
    """The daemon's application: security headers on every response, and basic
    authentication in front of every route when the web configuration lists users."""
    web_config = daemon.web_config
    app = web.Application(middlewares=web_config.middlewares() if web_config else ())
    app.on_response_prepare.append(add_security_headers)
    app[DAEMON] = daemon
    app.add_routes(
        [
            web.get("/metrics", metrics),
            web.get("/-/healthy", healthy),
            web.get("/-/ready", ready),
            web.post("/-/reload", reload),
            web.get("/", board),
            web.get("/api/v1/status", api_status),
            *daemon.extra_routes,
        ]
    )
    return app

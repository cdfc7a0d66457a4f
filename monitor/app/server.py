"""The daemon's HTTP face: /metrics, health and readiness, reload, the duty board and the API.

The handlers read the process through ``ServerViews`` — the rendered metrics, the status rows,
readiness and a reload callable — never through the daemon itself, so what a request can
reach is what this module names. ``POST /-/reload`` is refused (403) to a page of another
origin (``monitor.web.guard``); TLS and basic authentication come from the web configuration
file (``monitor.app.webconfig``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.registry import Collector

from monitor.app.webconfig import WebConfig
from monitor.web.guard import add_security_headers, require_same_origin
from monitor.web.pages import environment

__all__ = ["ServerViews", "build_app"]


@dataclass(frozen=True, slots=True)
class ServerViews:
    """What the handlers may read, and the one thing they may ask for (a reload)."""

    #: The process's own metrics: scheduler, traps, capacity, configuration reloads.
    registry: CollectorRegistry
    #: The results as Prometheus text, from the fast path.
    exposition: Callable[[], str]
    #: The same results for a scraper that asks for OpenMetrics.
    results: Collector
    #: Every site and asset with its state (``monitor.app.status.estate_status``).
    status: Callable[[], dict[str, Any]]
    ready: Callable[[], bool]
    #: Load the configuration again; the problems that kept it from being installed.
    reload: Callable[[], Awaitable[list[str]]]


VIEWS: web.AppKey[ServerViews] = web.AppKey("views", ServerViews)


async def metrics(request: web.Request) -> web.Response:
    views = request.app[VIEWS]
    accept = request.headers.get("Accept", "")
    if "application/openmetrics-text" in accept:
        # Both parts end with "# EOF" in OpenMetrics; keep exactly one, at the very end.
        own = openmetrics.generate_latest(views.registry).removesuffix(b"# EOF\n")  # type: ignore[no-untyped-call]
        body = own + openmetrics.generate_latest(views.results)  # type: ignore[no-untyped-call]
        return web.Response(body=body, headers={"Content-Type": openmetrics.CONTENT_TYPE_LATEST})
    body = generate_latest(views.registry) + views.exposition().encode()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="OK\n")


async def ready(request: web.Request) -> web.Response:
    if request.app[VIEWS].ready():
        return web.Response(text="ready\n")
    return web.Response(status=503, text="not ready\n")


async def reload(request: web.Request) -> web.Response:
    require_same_origin(request)
    problems = await request.app[VIEWS].reload()
    if problems:
        return web.json_response({"status": "rejected", "problems": problems}, status=400)
    return web.json_response({"status": "reloaded"})


async def api_status(request: web.Request) -> web.Response:
    return web.json_response(request.app[VIEWS].status())


_STATE_ZH = {
    "up": "正常 up",
    "down": "故障 down",
    "unreachable": "不可达 unreachable",
    "degraded": "部分故障 degraded",
    "pending": "等待 pending",
    "maintenance": "维护 maintenance",
}


#: A tile takes its worst asset's state; planned maintenance is milder than any fault, so a
#: site in maintenance with one fault elsewhere still shows the fault.
_WORST_FIRST = ["down", "unreachable", "degraded", "pending", "maintenance", "up"]
_PAGES = environment(globals={"state_zh": _STATE_ZH})


async def board(request: web.Request) -> web.Response:
    """The duty board (monitor/templates/board.html): one tile per site, its worst state."""
    status = request.app[VIEWS].status()
    by_site: dict[str, list[dict[str, Any]]] = {}
    for asset in status["assets"]:
        by_site.setdefault(asset["site"], []).append(asset)
    tiles = [
        {
            "site": site,
            "assets": by_site.get(site["id"], []),
            "worst": min(
                (a["state"] for a in by_site.get(site["id"], [])),
                key=_WORST_FIRST.index,
                default="pending",
            ),
        }
        for site in status["sites"]
    ]
    page = _PAGES.get_template("board.html").render(tiles=tiles)
    return web.Response(text=page, content_type="text/html", charset="utf-8")


def build_app(
    views: ServerViews,
    web_config: WebConfig | None = None,
    routes: Iterable[web.RouteDef] = (),
) -> web.Application:
    """The daemon's application, with the feature packages' ``routes`` beside its own:
    security headers on every response, and basic authentication in front of every route when
    the web configuration lists users."""
    app = web.Application(middlewares=web_config.middlewares() if web_config else ())
    app.on_response_prepare.append(add_security_headers)
    app[VIEWS] = views
    app.add_routes(
        [
            web.get("/metrics", metrics),
            web.get("/-/healthy", healthy),
            web.get("/-/ready", ready),
            web.post("/-/reload", reload),
            web.get("/", board),
            web.get("/api/v1/status", api_status),
            *routes,
        ]
    )
    return app

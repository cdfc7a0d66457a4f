"""The daemon's HTTP face: /metrics, health and readiness, reload, the duty board (its page,
script, JSON and live event stream), the runbooks and the API.

The handlers read the process through ``ServerViews`` — the rendered metrics, the status rows,
readiness and a reload callable — never through the daemon itself, so what a request can
reach is what this module names. ``POST /-/reload`` is refused (403) to a page of another
origin (``monitor.web.guard``); TLS and basic authentication come from the web configuration
file (``monitor.app.webconfig``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from array import array
from bisect import bisect_right
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from itertools import accumulate
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.registry import Collector

from monitor.app.webconfig import WebConfig
from monitor.core.clock import SystemClock
from monitor.duty import board as duty_board
from monitor.duty.feed import BoardFeed
from monitor.duty.page import board_event, render_page
from monitor.duty.runbooks import Runbooks
from monitor.exposition.packed import GzipMember, Part, gzipped, text_bytes, text_size
from monitor.exposition.registry import render_registry, render_registry_openmetrics
from monitor.web.guard import SECURITY_HEADERS, add_security_headers, require_same_origin

__all__ = ["ServerViews", "build_app"]


@dataclass(frozen=True, slots=True)
class ServerViews:
    """What the handlers may read, and the one thing they may ask for (a reload)."""

    #: The process's own metrics: scheduler, traps, capacity, configuration reloads.
    registry: CollectorRegistry
    #: The results as Prometheus text, from the fast path, in parts, the long ones packed
    #: (``Exposition.render_parts``): a new list at each call, the caller's to change.
    exposition: Callable[[], list[Part]]
    #: The same results for a scraper that asks for OpenMetrics.
    results: Collector
    #: Every site and asset with its state (``monitor.app.status.estate_status``).
    status: Callable[[], dict[str, Any]]
    ready: Callable[[], bool]
    #: Load the configuration again; the problems that kept it from being installed.
    reload: Callable[[], Awaitable[list[str]]]
    #: A number that moves whenever a result arrives (the board's feed renders only then);
    #: without it, the feed renders at every step.
    version: Callable[[], int] | None = None


VIEWS: web.AppKey[ServerViews] = web.AppKey("views", ServerViews)


def _qualities(header: str) -> dict[str, float]:
    """The media types (Accept) or codings (Accept-Encoding) of a request header, each with
    its quality: the highest given to it, 0 for one that is not a number."""
    out: dict[str, float] = {}
    for part in header.split(","):
        name, *params = (p.strip().lower() for p in part.split(";"))
        if not name:
            continue
        quality = next((p[2:] for p in params if p.startswith("q=")), "1")
        try:
            value = float(quality)
        except ValueError:
            value = 0.0
        out[name] = max(out.get(name, 0.0), value if value > 0 else 0.0)
    return out


def _openmetrics_only(accept: str) -> bool:
    """Whether the client takes OpenMetrics and not the text format.

    Prometheus asks for OpenMetrics first and takes the text format too; it gets the text
    format, which is written from the exposition's prepared lines, where OpenMetrics goes
    through prometheus-client at ~40 µs a sample (15 s for the 330,000 series of 1,000 base
    stations). A client that takes only OpenMetrics still gets it.
    """
    taken = _qualities(accept)
    text = any(taken.get(media, 0.0) > 0 for media in ("text/plain", "text/*", "*/*"))
    return taken.get("application/openmetrics-text", 0.0) > 0 and not text


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether the client takes a gzip body (Prometheus asks for one at every scrape): gzip
    (or x-gzip) named with a quality above 0, or else ``*`` so (RFC 9110 §12.5.3)."""
    taken = _qualities(accept_encoding)
    for coding in ("gzip", "x-gzip"):
        if coding in taken:
            return taken[coding] > 0
    return taken.get("*", 0.0) > 0


#: What a chunk of the body takes in, at most (``_chunk``): the scrape lets the polls in
#: between chunks, so fewer chunks end it sooner on a busy loop.
_SCRAPE_CHUNK = 1 << 20
#: The nice value of the threads that make bodies (the event loop's is the process's, 0 as a
#: rule).
_BODY_NICE = 10


def _below_the_loop() -> None:
    """Run this worker thread at a lower priority than the event loop (on Linux a thread has
    a nice value of its own): the body of 10,000 devices takes some tenths of a CPU second
    to make, and on a core the polls fill it takes what they leave instead of delaying them."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _BODY_NICE)


#: Where bodies are made: threads of their own, since ISA-L lets go of the interpreter while
#: it deflates and inflates, and apart from the default pool, which blocking work (RTP
#: captures of up to ten minutes, password checks, inspection records) may fill.
_BODIES = ThreadPoolExecutor(
    max_workers=2, thread_name_prefix="trunkwatch-body", initializer=_below_the_loop
)


def _chunk_ends(parts: list[Part], gzip: bool) -> list[int]:
    """Where each chunk of the body ends: ``parts`` in order, each chunk taking them while
    what goes in stays within ``_SCRAPE_CHUNK`` (gzip: text and packed bytes as they are;
    text: the text, a packed part's as it unpacks), and one at least (a part larger than that
    is a chunk on its own, not copied again with others). Found by bisection in the running
    totals, not a step of Python per part."""
    totals = array("q", accumulate(map(len if gzip else text_size, parts)))
    ends: list[int] = []
    start, before, stop = 0, 0, len(totals)
    while start < stop:
        end = max(start + 1, bisect_right(totals, before + _SCRAPE_CHUNK, start))
        ends.append(end)
        before, start = totals[end - 1], end
    return ends


def _chunk(parts: list[Part], start: int, end: int, member: GzipMember | None) -> bytes:
    """The body's bytes for ``parts[start:end]``: deflated into ``member`` (gzip) or as text."""
    chunk = parts[start:end]
    return member.add(chunk) if member is not None else text_bytes(chunk)


#: How many chunks of a body may be made and not yet written.
_AHEAD = 2
#: How many of a body's parts are let go of at a time (``_Body._release``): some
#: milliseconds' work, after which the loop may take the interpreter back.
_RELEASE = 1 << 15


class _Body:
    """A body made in a worker thread (``_BODIES``) chunk after chunk and handed to the
    event loop as each is done, for ``chunks`` to yield in order.

    The worker does not wait for a turn of the loop after each chunk (there are some hundred
    a scrape at 10,000 devices): it goes on while the loop writes, beside the polls on one
    core, in parallel with them where there is a core to spare. It makes up to ``_AHEAD``
    chunks ahead of the writer and then stops rather than wait, so that a client reading
    slowly holds no worker (two such would hold every scrape); the loop starts it again as
    chunks are written.

    The parts list is the body's to empty: once the body is made, given up (``close``) or
    failed, the worker lets go of its parts a slice at a time. Let go of at once, the
    references of some 770,000 parts (at 10,000 devices) held the interpreter, and so the
    loop, for some 30 ms, in whichever thread.

    Only ``_make`` touches the parts and the member, one run at a time: while ``_waiting`` is
    set, no ``_make`` runs or is queued, and whoever clears it under the lock (the reader
    making room, or ``close``) starts the next."""

    def __init__(self, parts: list[Part], member: GzipMember | None) -> None:
        self._parts, self._member = parts, member
        self._loop = asyncio.get_running_loop()
        self._made: asyncio.Queue[bytes | Exception | None] = asyncio.Queue()
        #: Where each chunk ends (found by the worker), and how many are made.
        self._ends: list[int] | None = None
        self._next = 0
        # Shared by the worker and the loop, under the lock: the room left for chunks made
        # and not yet written, whether the worker stopped for want of it, and whether the
        # body is given up.
        self._lock = threading.Lock()
        self._room = _AHEAD
        self._waiting = False
        self._closed = False

    def _hand(self, item: bytes | Exception | None) -> None:
        """From the worker: ``item`` to the loop's queue (the loop runs them in order)."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: the scrape went with it
            self._loop.call_soon_threadsafe(self._made.put_nowait, item)

    def _make(self) -> None:
        """In a worker: chunks while there is room for them; after the last, the end; once
        the body is made, given up or failed, its parts let go of."""
        try:
            if self._ends is None:
                self._ends = _chunk_ends(self._parts, self._member is not None)
            while self._next < len(self._ends):
                with self._lock:
                    if self._closed:
                        break
                    if not self._room:
                        self._waiting = True
                        return
                    self._room -= 1
                start = self._ends[self._next - 1] if self._next else 0
                data = _chunk(self._parts, start, self._ends[self._next], self._member)
                self._next += 1
                self._hand(data)
            else:  # made to the end, not given up
                if self._member is not None:
                    self._hand(self._member.end())
                self._hand(None)
        except Exception as exc:  # raised in the handler
            self._hand(exc)
        self._release()

    def _release(self) -> None:
        """Let go of the parts, a slice at a time (the loop may run between slices)."""
        parts, self._parts = self._parts, []
        while parts:
            del parts[-_RELEASE:]

    def close(self) -> None:
        """Once reading has stopped (the body written, or the client gone): a worker stopped
        for room is started again to let go of the parts; one still making chunks makes no
        more and does the same."""
        with self._lock:
            self._closed = True
            stopped, self._waiting = self._waiting, False
        if stopped:
            self._loop.run_in_executor(_BODIES, self._make)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's chunks in order."""
        self._loop.run_in_executor(_BODIES, self._make)
        while (item := await self._made.get()) is not None:
            if isinstance(item, Exception):
                raise item
            yield item
            # Written: room for another chunk, and the worker goes on if it stopped for it.
            with self._lock:
                self._room += 1
                resume, self._waiting = self._waiting, False
            if resume:
                self._loop.run_in_executor(_BODIES, self._make)


def _headers(content_type: str, gzip: bool) -> dict[str, str]:
    # What is sent depends on both: the format (Accept) and the coding (Accept-Encoding).
    headers = {"Content-Type": content_type, "Vary": "Accept, Accept-Encoding"}
    if gzip:
        headers["Content-Encoding"] = "gzip"
    return headers


async def metrics(request: web.Request) -> web.StreamResponse:
    views = request.app[VIEWS]
    gzip = _accepts_gzip(request.headers.get("Accept-Encoding", ""))
    if _openmetrics_only(request.headers.get("Accept", "")):
        # Both parts end with "# EOF" in OpenMetrics; keep exactly one, at the very end.
        own = render_registry_openmetrics(views.registry).encode()
        body = own + openmetrics.generate_latest(views.results)  # type: ignore[no-untyped-call]
        if gzip:
            body = await asyncio.get_running_loop().run_in_executor(_BODIES, gzipped, body)
        headers = _headers(openmetrics.CONTENT_TYPE_LATEST, gzip)
        return web.Response(body=body, headers=headers)
    response = web.StreamResponse(headers=_headers(CONTENT_TYPE_LATEST, gzip))
    await response.prepare(request)
    if request.method == "HEAD":
        await response.write_eof()
        return response
    # The exposition's list, not a copy: at 10,000 devices it holds some 770,000 parts, and a
    # copy (a reference count raised on each, scattered in memory) held the loop for some
    # 30 ms a scrape. For the same reason the handler keeps no name for it: the body empties
    # it in its worker (``_Body``).
    parts = views.exposition()
    parts[:0] = render_registry(views.registry)
    # Written out in chunks: the body of a large estate (hundreds of MB) is never held whole,
    # once as text and again as bytes. The chunks are made in a worker thread (``_Body``),
    # one after another in order: in gzip, what the exposition keeps packed goes as it is and
    # only the text between is deflated (``GzipMember``); in text, the packed parts inflate.
    body = _Body(parts, GzipMember() if gzip else None)
    del parts
    try:
        async for data in body.chunks():
            await response.write(data)
            # A fast reader never makes write() wait: let replies in between chunks, or a
            # scrape of hundreds of MB would hold every poll for a second or more.
            await asyncio.sleep(0)
    finally:
        body.close()  # written, or the client went away: the body is made no further
    await response.write_eof()
    return response


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


#: The duty board's live updates: how often the feed looks for new results, and the longest
#: a screen goes without an event (a screen that hears nothing for two ticks says so).
BOARD_STEP = 0.5
BOARD_TICK = 5.0
BOARD_EVENTS = "/api/v1/board/events"
#: The board runs its own script (board.js, from this server) and opens its event stream;
#: every other rule of the pages stays.
BOARD_CSP = SECURITY_HEADERS["Content-Security-Policy"] + "; script-src 'self'; connect-src 'self'"
_BOARD_SCRIPT = (resources.files("monitor") / "templates" / "board.js").read_bytes()
FEED: web.AppKey[BoardFeed] = web.AppKey("board feed", BoardFeed)


async def board(request: web.Request) -> web.Response:
    """The duty board (monitor/templates/board.html): summary, problems, map and sites."""
    content = duty_board(request.app[VIEWS].status())
    page = render_page(content, tick=request.app[FEED].tick, events=BOARD_EVENTS)
    response = web.Response(text=page, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = BOARD_CSP
    response.headers["Cache-Control"] = "no-store"
    return response


async def board_script(request: web.Request) -> web.Response:
    return web.Response(
        body=_BOARD_SCRIPT,
        content_type="text/javascript",
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


async def api_board(request: web.Request) -> web.Response:
    """What the board shows, as JSON."""
    return web.json_response(duty_board(request.app[VIEWS].status()))


async def board_events(request: web.Request) -> web.StreamResponse:
    """The board's live updates (server-sent events, ``monitor.duty.feed``)."""
    return await request.app[FEED].stream(request)


async def _run_feed(app: web.Application) -> AsyncIterator[None]:
    """The feed's producer, for as long as the application runs: started with it, cancelled
    and awaited when it is cleaned up (the producer logs what goes wrong in it and carries
    on, so it only ever ends by cancellation)."""
    producer = asyncio.create_task(app[FEED].run(), name="duty board feed")
    try:
        yield
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer


async def _close_feed(app: web.Application) -> None:
    """On shutdown, before the server waits for open requests: end every event stream."""
    app[FEED].close()


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
    app[FEED] = BoardFeed(
        lambda: board_event(views.status()),
        SystemClock(),
        version=views.version,
        step=BOARD_STEP,
        tick=BOARD_TICK,
    )
    app.cleanup_ctx.append(_run_feed)
    app.on_shutdown.append(_close_feed)
    app.add_routes(
        [
            web.get("/metrics", metrics),
            web.get("/-/healthy", healthy),
            web.get("/-/ready", ready),
            web.post("/-/reload", reload),
            web.get("/", board),
            web.get("/board.js", board_script),
            web.get("/api/v1/status", api_status),
            web.get("/api/v1/board", api_board),
            web.get(BOARD_EVENTS, board_events),
            *Runbooks().routes(),
            *routes,
        ]
    )
    return app

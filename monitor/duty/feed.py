"""Live updates of the duty board to the screens that show it: server-sent events.

One producer, many screens. The feed renders the board at most once per ``step`` and only
while a screen is connected and something may have changed (``version`` moved: a new result
arrived), and sends it to every screen as a ``board`` event when its content differs from the
last one sent; otherwise it sends a ``tick`` at least every ``tick`` seconds, so a screen
that hears nothing for two ticks knows its data is stale. A screen gets the board as soon as
it connects.

Bounded against slow and hostile clients: at most ``max_screens`` at once (the next is
refused with 503), each with a queue of ``backlog`` events of which the oldest is dropped
when a newer one arrives (only the latest board matters), and a write that does not complete
within ``write_timeout`` ends that screen's stream. ``close`` (the server's shutdown) ends
every stream at once, so stopping the daemon never waits for a screen.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from monitor.core.clock import Clock

__all__ = ["BoardEvent", "BoardFeed", "Screen"]

log = logging.getLogger("trunkwatch.duty.feed")


@dataclass(frozen=True, slots=True)
class BoardEvent:
    """What the feed renders: ``content`` is compared with the last one sent (it excludes the
    time of rendering, which ``payload`` carries)."""

    content: str
    payload: str
    generated_at: float


@dataclass(slots=True, eq=False)
class Screen:
    """One connected screen: the events waiting to be written to it (kept in a set, by
    identity)."""

    backlog: int
    queue: deque[bytes] = field(init=False)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    #: Events dropped because the screen did not keep up.
    dropped: int = 0

    def __post_init__(self) -> None:
        self.queue = deque(maxlen=self.backlog)

    def push(self, event: bytes) -> None:
        if len(self.queue) == self.backlog:
            self.dropped += 1
        self.queue.append(event)
        self.wake.set()

    def close(self) -> None:
        self.closed = True
        self.wake.set()

    async def next(self) -> bytes | None:
        """The oldest waiting event; None once the screen is closed."""
        while not self.queue and not self.closed:
            self.wake.clear()
            await self.wake.wait()
        if self.closed:
            return None
        return self.queue.popleft()


def sse(event: str, data: str) -> bytes:
    """One server-sent event; ``data`` is JSON, which holds no line breaks."""
    return f"event: {event}\ndata: {data}\n\n".encode()


class BoardFeed:
    def __init__(
        self,
        render: Callable[[], BoardEvent],
        clock: Clock,
        *,
        version: Callable[[], int] | None = None,
        step: float = 0.5,
        tick: float = 5.0,
        max_screens: int = 32,
        backlog: int = 4,
        write_timeout: float = 10.0,
    ) -> None:
        self.render = render
        self.clock = clock
        self.version = version
        self.step = step
        self.tick = tick
        self.max_screens = max_screens
        self.backlog = backlog
        self.write_timeout = write_timeout
        self.screens: set[Screen] = set()
        self.closed = False
        self._last: BoardEvent | None = None
        self._last_version: int | None = None
        self._last_sent = float("-inf")

    # -- the producer -----------------------------------------------------------------------

    async def run(self) -> None:
        """Publish until cancelled."""
        while True:
            await self.clock.sleep(self.step)
            try:
                self.publish()
            except Exception:
                # A bug in rendering must not end the feed: the screens go stale and say so.
                log.exception("rendering the duty board failed")

    def publish(self, *, force: bool = False) -> None:
        """Send the board to every screen if it changed, else a tick when one is due."""
        if not self.screens:
            return
        version = self.version() if self.version is not None else None
        due = self.clock.monotonic() - self._last_sent >= self.tick
        if not force and not due and version is not None and version == self._last_version:
            return
        self._last_version = version
        event = self.render()
        if self._last is None or event.content != self._last.content:
            message = sse("board", event.payload)
            self._last = event
        elif force or due:
            message = sse("tick", json.dumps({"generated_at": event.generated_at}))
        else:
            return
        self._last_sent = self.clock.monotonic()
        for screen in self.screens:
            screen.push(message)

    # -- the screens ------------------------------------------------------------------------

    def subscribe(self) -> Screen | None:
        """A new screen with the current board waiting for it; None when the feed is full or
        closed."""
        if self.closed or len(self.screens) >= self.max_screens:
            return None
        screen = Screen(self.backlog)
        event = self.render()
        screen.push(sse("board", event.payload))
        self.screens.add(screen)
        return screen

    def unsubscribe(self, screen: Screen) -> None:
        self.screens.discard(screen)
        if screen.dropped:
            log.info("a duty board screen fell behind: %d updates dropped", screen.dropped)

    def close(self) -> None:
        """End every stream now; refuse new ones."""
        self.closed = True
        for screen in self.screens:
            screen.close()

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """The handler of the events endpoint."""
        screen = self.subscribe()
        if screen is None:
            raise web.HTTPServiceUnavailable(
                text="too many duty board screens\n", headers={"Retry-After": "10"}
            )
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        try:
            await response.prepare(request)
            # The browser reconnects this long after losing the stream.
            await response.write(f"retry: {int(self.step * 4000)}\n\n".encode())
            while (message := await screen.next()) is not None:
                async with self.clock.timeout(self.write_timeout):
                    await response.write(message)
        except ConnectionError:
            pass  # the screen went away
        except TimeoutError:
            # The screen stopped reading: let the connection go rather than wait on it.
            if request.transport is not None:
                request.transport.abort()
        finally:
            self.unsubscribe(screen)
        return response

"""The duty board's event stream, on a manual clock: a screen gets the board when it connects
and again when it changes, a tick when nothing did; the number of screens and each screen's
queue are bounded, a screen that stops reading is dropped, and closing ends every stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import psutil
import pytest
from aiohttp import ClientResponse, test_utils, web

from monitor.core.clock import ManualClock
from monitor.duty.feed import BoardEvent, BoardFeed, Screen

pytestmark = pytest.mark.timeout(30)


class Board:
    """What the feed renders: a test changes ``content`` and counts the renders."""

    def __init__(self) -> None:
        self.content = "all up"
        self.renders = 0
        self.version = 0
        self.padding = ""

    def render(self) -> BoardEvent:
        self.renders += 1
        payload = json.dumps({"content": self.content, "padding": self.padding})
        return BoardEvent(self.content, payload, 1_780_000_000.0 + self.renders)


def feed_of(board: Board, clock: ManualClock, **options: Any) -> BoardFeed:
    return BoardFeed(board.render, clock, version=lambda: board.version, **options)


async def read_event(response: ClientResponse) -> tuple[str, dict[str, object]]:
    """The next event of the stream, skipping the ``retry`` field."""
    fields: dict[str, str] = {}
    while True:
        line = (await asyncio.wait_for(response.content.readline(), 5)).decode()
        if line == "":
            raise EOFError
        if line == "\n":
            if "event" in fields:
                return fields["event"], json.loads(fields["data"])
            fields = {}
            continue
        name, _, value = line.rstrip("\n").partition(": ")
        fields[name] = value


@contextlib.asynccontextmanager
async def serve(
    feed: BoardFeed,
) -> AsyncIterator[test_utils.TestClient[web.Request, web.Application]]:
    app = web.Application()
    app.add_routes([web.get("/events", feed.stream)])
    app.on_shutdown.append(lambda app: _close(feed))
    async with test_utils.TestClient(test_utils.TestServer(app)) as client:
        yield client


async def _close(feed: BoardFeed) -> None:
    feed.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


async def until(check: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_screen_gets_the_board_then_changes_then_ticks(clock: ManualClock) -> None:
    board = Board()
    feed = feed_of(board, clock, tick=5.0)
    async with serve(feed) as client:
        response = await client.get("/events")
        assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        assert await read_event(response) == ("board", {"content": "all up", "padding": ""})
        board.content, board.version = "bs-a degraded", 1
        feed.publish()
        assert await read_event(response) == ("board", {"content": "bs-a degraded", "padding": ""})
        renders = board.renders
        feed.publish()  # nothing new arrived and no tick is due: not even rendered
        assert board.renders == renders
        await clock.advance(5.0)
        feed.publish()  # due: the same board again is a tick, not a board
        event, data = await read_event(response)
        assert (event, set(data)) == ("tick", {"generated_at"})
        response.close()


async def test_the_producer_publishes_every_step_once_started(clock: ManualClock) -> None:
    board = Board()
    feed = feed_of(board, clock, step=0.5, tick=5.0)
    screen = feed.subscribe()
    assert screen is not None
    assert await screen.next() is not None  # the board on connecting
    async with asyncio.TaskGroup() as tasks:
        producer = tasks.create_task(feed.run())
        board.content, board.version = "changed", 1
        await clock.advance(0.5)
        assert (
            json.loads((await screen.next() or b"").decode().split("data: ")[1])["content"]
            == "changed"
        )
        producer.cancel()


async def test_no_more_screens_than_the_limit(clock: ManualClock) -> None:
    feed = feed_of(Board(), clock, max_screens=2)
    async with serve(feed) as client:
        first, second = await client.get("/events"), await client.get("/events")
        await read_event(first), await read_event(second)
        refused = await client.get("/events")
        assert (refused.status, refused.headers["Retry-After"]) == (503, "10")
        first.close()
        await until(lambda: len(feed.screens) == 1, "the first screen to leave")
        third = await client.get("/events")
        assert (await read_event(third))[0] == "board"
        second.close()
        third.close()


def test_a_screen_that_does_not_keep_up_keeps_only_the_latest_events() -> None:
    screen = Screen(backlog=3)
    for n in range(1000):
        screen.push(f"event {n}".encode())
    assert list(screen.queue) == [b"event 997", b"event 998", b"event 999"]
    assert screen.dropped == 997


async def test_closing_the_feed_ends_every_stream(clock: ManualClock) -> None:
    feed = feed_of(Board(), clock)
    async with serve(feed) as client:
        streams = [await client.get("/events") for _ in range(3)]
        for stream in streams:
            await read_event(stream)
        feed.close()
        for stream in streams:
            with pytest.raises(EOFError):
                await read_event(stream)
        assert (await client.get("/events")).status == 503
        await until(lambda: not feed.screens, "every screen to be let go")


async def test_a_screen_that_stops_reading_is_dropped_after_the_write_timeout(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    board = Board()
    board.padding = "x" * 1_000_000  # a megabyte per event: the socket buffers fill at once
    feed = feed_of(board, clock, backlog=2, write_timeout=10.0)
    async with serve(feed) as client:
        host, port = client.server.host, client.server.port
        assert port is not None
        with socket.create_connection((host, port)) as reader:
            reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            reader.sendall(f"GET /events HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            await until(lambda: len(feed.screens) == 1, "the screen to connect")
            [screen] = feed.screens
            for n in range(50):
                board.content, board.version = f"change {n}", n + 1
                feed.publish()
                await asyncio.sleep(0)
                assert len(screen.queue) <= 2  # however far behind, never more than that
            assert screen.dropped > 0
            await clock.advance(10.0)
            await until(lambda: not feed.screens, "the stuck screen to be dropped")
            # The server let the connection go: no socket of this process serves it any more
            # (the kernel may still hold what it had sent, up to its own limits).
            reader_port = reader.getsockname()[1]
            await until(
                lambda: (
                    not any(
                        c.raddr and c.raddr.port == reader_port
                        for c in psutil.Process().net_connections("tcp")
                    )
                ),
                "the server's end of the connection to close",
            )
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []

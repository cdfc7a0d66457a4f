"""The HTTP handlers served from read-only views alone: no daemon behind them."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import os
import threading
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import test_utils
from prometheus_client import CollectorRegistry, Gauge

from monitor.app import server
from monitor.app.server import ServerViews, build_app
from monitor.app.status import estate_status
from monitor.exposition.collector import ResultsCollector
from monitor.exposition.packed import GzipMember, Part, pack, text_size, unpack
from monitor.exposition.registry import render_registry
from monitor.exposition.text import Exposition
from monitor.results import Result, ResultStore
from tests.unit.fleet import ScriptedProbe, asset, inventory, job

NOOP = ScriptedProbe(lambda t: None)


class Process:
    """What a daemon would hold, as plain values a test sets."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        Gauge("trunkwatch_config_last_reload_successful", "Last load.", registry=self.registry)
        self.store = ResultStore()
        self.exposition = Exposition(self.store)
        up, down = job(asset("bs-1"), NOOP), job(asset("bs-2"), NOOP)
        self.inventory = inventory([up, down])
        self.store.put(Result(up, success=True, duration=0.1, finished_at=1.0))
        self.store.put(Result(down, success=False, duration=5.0, finished_at=1.0, reason="timeout"))
        self.ready = False
        self.problems: list[str] = []
        self.reloads = 0

    async def reload(self) -> list[str]:
        self.reloads += 1
        return self.problems

    def views(self) -> ServerViews:
        return ServerViews(
            registry=self.registry,
            exposition=self.exposition.render_parts,
            results=ResultsCollector(self.store, self.inventory),
            status=lambda: estate_status(self.inventory, self.store),
            ready=lambda: self.ready,
            reload=self.reload,
        )


async def test_handlers_answer_from_the_views() -> None:
    process = Process()
    async with test_utils.TestClient(test_utils.TestServer(build_app(process.views()))) as client:
        answers: dict[str, Any] = {}
        response = await client.get("/-/ready")
        answers["not ready"] = response.status
        process.ready = True
        response = await client.get("/-/ready")
        answers["ready"] = response.status
        metrics = await (await client.get("/metrics")).text()
        openmetrics = await (
            await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
        ).text()
        status = await (await client.get("/api/v1/status")).json()
        process.problems = ["monitor.yaml:3: assets: expected a list"]
        response = await client.post("/-/reload")
        answers["rejected"] = (response.status, await response.json())
        response = await client.post("/-/reload", headers={"Origin": "https://evil.example"})
        answers["cross-site"] = response.status
    assert answers == {
        "not ready": 503,
        "ready": 200,
        "rejected": (
            400,
            {"status": "rejected", "problems": ["monitor.yaml:3: assets: expected a list"]},
        ),
        "cross-site": 403,
    }
    assert process.reloads == 1  # the cross-site POST never reached the reload
    assert "trunkwatch_config_last_reload_successful 0.0" in metrics
    assert 'trunkwatch_probe_success{site="s1",asset="bs-2"' in metrics
    assert openmetrics.count("# EOF") == 1
    assert openmetrics.endswith("# EOF\n")
    assert 'trunkwatch_asset_info{asset="bs-1"' in openmetrics
    assert {a["id"]: a["state"] for a in status["assets"]} == {"bs-1": "up", "bs-2": "down"}


#: What Prometheus 2.x sends when it scrapes (scrape.go's default acceptHeader).
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


async def test_prometheus_gets_the_text_format_and_an_openmetrics_only_client_openmetrics() -> None:
    process = Process()
    app = build_app(process.views())
    types = {}
    async with test_utils.TestClient(test_utils.TestServer(app)) as client:
        for name, accept in (
            ("prometheus", PROMETHEUS_ACCEPT),
            ("none", ""),
            ("openmetrics only", "application/openmetrics-text;version=1.0.0"),
            ("text refused", "application/openmetrics-text, text/plain;q=0"),
            ("bad quality", "application/openmetrics-text, text/plain;q=high"),
        ):
            response = await client.get("/metrics", headers={"Accept": accept})
            body = await response.text()
            types[name] = (response.content_type, body.endswith("# EOF\n"))
    assert types == {
        "prometheus": ("text/plain", False),
        "none": ("text/plain", False),
        "openmetrics only": ("application/openmetrics-text", True),
        "text refused": ("application/openmetrics-text", True),
        "bad quality": ("application/openmetrics-text", True),
    }


def large_parts() -> list[Part]:
    """40,000 series as the exposition holds them: runs of lines kept as text, packed runs
    between them (the body's chunks hold both kinds)."""
    lines = [f'trunkwatch_x{{site="南宁{i}",asset="bs-{i}"}} {i}\n' for i in range(40_000)]
    parts: list[Part] = ["# HELP trunkwatch_x x\n# TYPE trunkwatch_x gauge\n"]
    for n, start in enumerate(range(0, len(lines), 100)):
        run = lines[start : start + 100]
        parts.extend([pack("".join(run))] if n % 3 else run)
    assert sum(isinstance(part, bytes) for part in parts) > 200
    return parts


#: Chunks smaller than the daemon's, so that these bodies take many of them.
SMALL_CHUNK = 1 << 14


async def test_a_large_body_arrives_whole_and_a_head_request_gets_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("monitor.app.server._SCRAPE_CHUNK", SMALL_CHUNK)
    process = Process()
    parts = large_parts()
    views = dataclasses.replace(process.views(), exposition=lambda: list(parts))
    async with test_utils.TestClient(test_utils.TestServer(build_app(views))) as client:
        response = await client.get("/metrics")
        body = await response.read()
        head = await client.head("/metrics")
    expected = "".join(map(unpack, [*render_registry(process.registry), *parts])).encode()
    assert len(expected) > 50 * SMALL_CHUNK  # many chunks
    assert body == expected
    assert (head.status, await head.read()) == (200, b"")


async def test_a_client_that_takes_gzip_gets_the_same_body_compressed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("monitor.app.server._SCRAPE_CHUNK", SMALL_CHUNK)
    # Prometheus asks for gzip at every scrape; the text of a large estate is some ten times
    # smaller so (hundreds of MB a scrape at 10,000 devices). The body is made in chunks as
    # it is written, packed parts as they are kept: many chunks here.
    process = Process()
    parts = large_parts()
    views = dataclasses.replace(process.views(), exposition=lambda: list(parts))
    server = test_utils.TestServer(build_app(views))
    answers: dict[str, tuple[str | None, bytes]] = {}
    async with test_utils.TestClient(server, auto_decompress=False) as client:
        for name, encoding in (
            ("gzip", "gzip"),
            ("prometheus", "gzip"),
            ("listed", "deflate, br;q=0.9, x-gzip;q=0.5"),
            ("refused", "gzip;q=0, identity"),
            ("bad quality", "gzip;q=high"),
            ("identity", "identity"),
        ):
            headers = {"Accept-Encoding": encoding}
            if name == "prometheus":
                headers["Accept"] = PROMETHEUS_ACCEPT
            response = await client.get("/metrics", headers=headers)
            assert "Accept-Encoding" in response.headers.get("Vary", "")
            answers[name] = (response.headers.get("Content-Encoding"), await response.read())
        openmetrics = await client.get(
            "/metrics",
            headers={"Accept": "application/openmetrics-text", "Accept-Encoding": "gzip"},
        )
        om = (openmetrics.headers.get("Content-Encoding"), await openmetrics.read())
    expected = "".join(map(unpack, [*render_registry(process.registry), *parts])).encode()
    assert len(expected) > 50 * SMALL_CHUNK  # many chunks
    assert {name: coding for name, (coding, _) in answers.items()} == {
        "gzip": "gzip",
        "prometheus": "gzip",
        "listed": "gzip",
        "refused": None,
        "bad quality": None,
        "identity": None,
    }
    for coding, body in answers.values():
        assert (gzip.decompress(body) if coding else body) == expected
    assert len(answers["gzip"][1]) * 5 < len(expected)
    assert om[0] == "gzip"
    assert gzip.decompress(om[1]).decode().endswith("# EOF\n")


@pytest.mark.parametrize(
    ("encoding", "gzip"),
    [
        ("gzip", True),
        ("x-gzip;q=0, gzip", True),
        ("gzip;q=0, *", False),
        ("*", True),
        ("*;q=0", False),
        ("br, *;q=0.1", True),
        ("identity", False),
        ("", False),
        ("gzip;q=nan", False),
    ],
)
def test_gzip_is_sent_when_the_client_takes_it(encoding: str, gzip: bool) -> None:
    assert server._accepts_gzip(encoding) is gzip


def test_bodies_are_compressed_below_the_event_loop_s_priority() -> None:
    # On a core the polls fill, compressing a scrape takes what they leave.
    def nice() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    worker = server._BODIES.submit(nice).result(timeout=10)
    assert worker == min(19, nice() + server._BODY_NICE)


def test_chunks_take_every_part_once_in_order_and_a_large_part_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server, "_SCRAPE_CHUNK", 1000)
    large = "".join(f'trunkwatch_x{{asset="bs-{i}"}} {i}\n' for i in range(400))
    parts: list[Part] = ["a" * 300, "b" * 300, pack(large), "", "c" * 600, "d" * 600, large]
    cut_text: list[tuple[int, int]] = []
    for member in (None, GzipMember()):
        cut: list[tuple[int, int]] = cut_text if member is None else []
        start, made = 0, b""
        for end in server._chunk_ends(parts, member is not None):
            cut.append((start, end))
            made += server._chunk(parts, start, end, member)
            start = end
        assert start == len(parts)
        body = gzip.decompress(made + member.end()) if member else made
        assert body == "".join(map(unpack, parts)).encode()
        # Each chunk takes parts while they fit, or one part that does not fit alone.
        weigh = len if member else text_size
        for start, end in cut:
            weights = [weigh(part) for part in parts[start:end]]
            assert end - start == 1 or sum(weights) <= 1000
            assert end == len(parts) or sum(weights) + weigh(parts[end]) > 1000
    # In text, the packed part weighs what it unpacks to, more than a chunk takes: alone.
    assert cut_text == [(0, 2), (2, 3), (3, 5), (5, 6), (6, 7)]


async def test_an_empty_exposition_is_an_empty_gzip_body_and_head_gets_none() -> None:
    process = Process()
    views = dataclasses.replace(process.views(), exposition=list)
    async with test_utils.TestClient(
        test_utils.TestServer(build_app(views)), auto_decompress=False
    ) as client:
        got = await client.get("/metrics", headers={"Accept-Encoding": "gzip"})
        head = await client.head("/metrics", headers={"Accept-Encoding": "gzip"})
        body = gzip.decompress(await got.read()).decode()
        assert (head.status, head.headers.get("Content-Encoding"), await head.read()) == (
            200,
            "gzip",
            b"",
        )
    assert body == "".join(map(unpack, render_registry(process.registry)))


class CountedChunks:
    """``server._chunk`` as it is, counting its calls and failing a test that makes two at
    once (a body is made by one worker at a time) or from parts let go of; ``fail_at`` makes
    that call raise, ``hold`` keeps the first call waiting until it is set."""

    def __init__(self, fail_at: int = 0, hold: threading.Event | None = None) -> None:
        self.calls = 0
        self.fail_at = fail_at
        self.hold = hold
        self.busy = threading.Lock()

    def __call__(self, parts: list[Part], start: int, end: int, member: Any) -> bytes:
        assert self.busy.acquire(blocking=False), "two chunks made at once"
        try:
            self.calls += 1
            if self.hold is not None and self.calls == 1:
                assert self.hold.wait(timeout=10)
            assert len(parts[start:end]) == end - start, "parts let go of while in use"
            if self.calls == self.fail_at:
                raise ValueError("a chunk that cannot be made")
            return real_chunk(parts, start, end, member)
        finally:
            self.busy.release()


real_chunk = server._chunk


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> CountedChunks:
    """Small chunks, each made through ``CountedChunks``."""
    monkeypatch.setattr(server, "_SCRAPE_CHUNK", SMALL_CHUNK)
    chunks = CountedChunks()
    monkeypatch.setattr(server, "_chunk", chunks)
    return chunks


async def until(condition: Callable[[], bool]) -> bool:
    """Whether ``condition`` comes true within 5 s."""
    for _ in range(100):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return False


def pool_is_free() -> bool:
    """Whether both of the body pool's threads are free at once."""
    both = threading.Barrier(2, timeout=5)
    waits = [server._BODIES.submit(both.wait) for _ in range(2)]
    return sorted(w.result(timeout=10) for w in waits) == [0, 1]


async def test_a_body_is_made_a_few_chunks_ahead_of_its_reader_and_holds_no_worker_meanwhile(
    counted: CountedChunks,
) -> None:
    parts = large_parts()
    given = list(parts)  # the body's to empty
    body = server._Body(given, GzipMember())
    async with asyncio.timeout(30):
        chunks = body.chunks()
        made = [await anext(chunks)]
        # The reader holds the first chunk: the worker made the next one too, and stopped
        # (not waiting in a thread: both of the pool's are free).
        assert await until(lambda: body._waiting)
        assert counted.calls == server._AHEAD
        assert pool_is_free()
        made += [data async for data in chunks]
    assert counted.calls == len(server._chunk_ends(parts, gzip=True)) > 50
    expected = "".join(map(unpack, parts)).encode()
    assert gzip.decompress(b"".join(made)) == expected
    # Made: the worker let go of the parts.
    assert await until(lambda: not given)


async def test_a_body_given_up_is_made_no_further_and_its_parts_let_go_of(
    counted: CountedChunks,
) -> None:
    given = large_parts()
    body = server._Body(given, None)
    async with asyncio.timeout(30):
        chunks = body.chunks()
        await anext(chunks)
        assert await until(lambda: body._waiting)
        body.close()  # the client went away
        assert await until(lambda: not given)
        assert counted.calls == server._AHEAD
        assert pool_is_free()


async def test_a_chunk_that_cannot_be_made_fails_the_scrape_with_its_error(
    counted: CountedChunks,
) -> None:
    counted.fail_at = 3
    given = large_parts()
    body = server._Body(given, GzipMember())
    got: list[bytes] = []

    async def read() -> None:
        async for data in body.chunks():
            got.append(data)

    with pytest.raises(ValueError, match="cannot be made"):
        async with asyncio.timeout(30):
            await read()
    assert len(got) == 2  # the chunks made before it, then the error in its place
    assert await until(lambda: not given)


async def test_a_body_given_up_while_a_chunk_is_made_makes_no_other(counted: CountedChunks) -> None:
    hold = counted.hold = threading.Event()
    given = large_parts()
    body = server._Body(given, GzipMember())
    async with asyncio.timeout(30):
        chunks = body.chunks()
        first = asyncio.ensure_future(anext(chunks))
        assert await until(lambda: counted.calls == 1)  # the worker is making the first chunk
        body.close()
        hold.set()
        await first
        assert await until(lambda: not given)
    assert counted.calls == 1  # there was room for another: it stopped for the close


async def test_a_client_that_goes_away_mid_body_leaves_no_body_being_made(
    counted: CountedChunks,
) -> None:
    # Some 20 MB of text: more than the sockets hold, so the server's writes wait for a
    # reader that reads a little and goes.
    given = large_parts() * 10
    chunks = len(server._chunk_ends(given, gzip=False))
    views = dataclasses.replace(Process().views(), exposition=lambda: given)
    async with (
        asyncio.timeout(60),
        test_utils.TestClient(test_utils.TestServer(build_app(views))) as client,
    ):
        response = await client.get("/metrics")
        assert len(await response.content.readexactly(1000)) == 1000
        response.close()
        assert await until(lambda: not given)
    assert counted.calls < chunks
    assert pool_is_free()

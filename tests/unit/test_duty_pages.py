"""The duty board's HTTP side, served by the daemon's application from read-only views: the
page and its script under a policy that allows exactly them, the board as JSON, its live
stream (the same HTML the page has), and the runbooks, rendered and kept to their folder."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from aiohttp import test_utils, web

from monitor.app.server import BOARD_CSP, build_app
from monitor.duty.page import PARTS
from monitor.duty.runbooks import Runbooks
from monitor.web.guard import SECURITY_HEADERS, add_security_headers
from tests.unit.test_server import Process

pytestmark = pytest.mark.timeout(30)


async def test_the_page_runs_its_own_script_and_nothing_else() -> None:
    process = Process()  # bs-1 up, bs-2 down (timeout), both at site s1
    async with test_utils.TestClient(test_utils.TestServer(build_app(process.views()))) as client:
        page_response = await client.get("/")
        page = await page_response.text()
        script = await client.get("/board.js")
        script_text = await script.text()
        board = await (await client.get("/api/v1/board")).json()
    csp = page_response.headers["Content-Security-Policy"]
    assert csp == BOARD_CSP
    assert csp.startswith(SECURITY_HEADERS["Content-Security-Policy"])
    assert csp.endswith("; script-src 'self'; connect-src 'self'")
    assert page_response.headers["X-Frame-Options"] == "DENY"
    assert '<script src="/board.js" defer></script>' in page
    assert "<script>" not in page  # no inline script: the policy would refuse it anyway
    assert script.status == 200
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert "new EventSource(" in script_text
    assert re.findall(r'<section class="tile (\w+)" id="site-([\w-]+)"', page) == [("down", "s1")]
    assert (
        '<li class="down"><b>bs-2</b> <span>radio/tetra_bs</span> <em>故障 down</em></li>' in page
    )
    assert board["summary"]["total"]["counts"] == {
        "up": 1, "degraded": 0, "down": 1, "unreachable": 0, "maintenance": 0,
    }  # fmt: skip
    assert [(p["asset"], p["en"]) for p in board["problems"]] == [
        ("bs-2", "Not answering: no answer (timeout)")
    ]


async def test_the_stream_carries_the_same_parts_as_the_page() -> None:
    process = Process()
    async with test_utils.TestClient(test_utils.TestServer(build_app(process.views()))) as client:
        page = await (await client.get("/")).text()
        stream = await client.get("/api/v1/board/events")
        assert stream.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        lines: list[str] = []
        while not lines or lines[-1] != "\n" or not any(li.startswith("data: ") for li in lines):
            lines.append((await asyncio.wait_for(stream.content.readline(), 5)).decode())
        stream.close()
    assert lines[:2] == ["retry: 2000\n", "\n"]
    assert lines[2] == "event: board\n"
    update = json.loads(lines[3].removeprefix("data: "))
    assert set(update["parts"]) == set(PARTS)
    for part, html in update["parts"].items():
        start = re.search(rf'<section id="{part}"[^>]*>', page)
        assert start is not None, part
        assert page[start.end() :].startswith(html), part
    assert update["counts"]["sites"] == {"s1": "down"}


async def test_stopping_the_server_ends_an_open_stream() -> None:
    process = Process()
    server = test_utils.TestServer(build_app(process.views()))
    client = test_utils.TestClient(server)
    await client.start_server()
    stream = await client.get("/api/v1/board/events")
    await stream.content.readline()
    await asyncio.wait_for(server.close(), 10)  # without ending the stream: 60 s, then cut
    assert await asyncio.wait_for(stream.content.read(), 5) is not None
    await client.close()


RUNBOOK = """\
# TestAlert — 测试告警

Check **this** first, see [the other one](Other.md).

<script>alert("x")</script> <img src=x onerror=alert(1)>

[bad](javascript:alert(1))
"""


@pytest.fixture
def runbooks(tmp_path: Path) -> Runbooks:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    (folder / "TestAlert.md").write_text(RUNBOOK, encoding="utf-8")
    (folder / "README.md").write_text("# Runbooks\n\n- [TestAlert](TestAlert.md)\n")
    (tmp_path / "secret.md").write_text("# not a runbook\n")
    (folder / "notes.txt").write_text("not markdown\n")
    return Runbooks(folder)


async def test_a_runbook_is_a_page_with_its_html_escaped(runbooks: Runbooks) -> None:
    async with test_utils.TestClient(test_utils.TestServer(_with(runbooks))) as client:
        answers = {
            path: await client.get(path, allow_redirects=False)
            for path in ("/runbooks", "/runbooks/", "/runbooks/TestAlert.md", "/runbooks/TestAlert")
        }
        page = await answers["/runbooks/TestAlert.md"].text()
        index = await answers["/runbooks/"].text()
    assert answers["/runbooks"].status == 302
    assert answers["/runbooks"].headers["Location"] == "/runbooks/"
    assert answers["/runbooks/TestAlert"].status == 200
    assert "<title>TestAlert — 测试告警 — 处置手册 Runbook — trunkwatch</title>" in page
    assert "<h1>TestAlert — 测试告警</h1>" in page
    assert "<strong>this</strong>" in page
    assert '<a href="Other.md">the other one</a>' in page
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert 'href="javascript' not in page  # markdown-it keeps such a link as text
    assert '<a href="TestAlert.md">TestAlert</a>' in index
    assert (
        answers["/runbooks/TestAlert.md"].headers["Content-Security-Policy"]
        == (SECURITY_HEADERS["Content-Security-Policy"])
    )


@pytest.mark.parametrize(
    "path",
    [
        "/runbooks/secret.md",
        "/runbooks/..%2Fsecret.md",
        "/runbooks/%2E%2E%2Fsecret.md",
        "/runbooks/../secret.md",
        "/runbooks/notes.txt",
        "/runbooks/notes",
        "/runbooks/Nothing.md",
        "/runbooks/%00",
        "/runbooks/TestAlert.md%00",
    ],
)
async def test_nothing_outside_the_runbooks_is_served(runbooks: Runbooks, path: str) -> None:
    async with test_utils.TestClient(test_utils.TestServer(_with(runbooks))) as client:
        response = await client.get(path)
        body = await response.text()
    assert response.status == 404, path
    assert "not a runbook" not in body


def _with(runbooks: Runbooks) -> web.Application:
    """The runbook routes of ``runbooks`` (a test's own folder), with the pages' headers."""
    app = web.Application()
    app.on_response_prepare.append(add_security_headers)
    app.add_routes(runbooks.routes())
    return app


def test_the_repository_runbooks_are_the_ones_served() -> None:
    names = Runbooks().names()
    assert "SiteMainsFailure.md" in names
    assert "README.md" in names
    folder = Path(__file__).resolve().parents[2] / "alerts" / "runbooks"
    assert names == {p.name for p in folder.glob("*.md")}

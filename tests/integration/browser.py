"""Support for the web page tests: Debian's headless Chromium as a real peer, a tablet-sized
page per test driven by Playwright, and the daemon whose pages it opens.

Chromium (``/usr/bin/chromium``) is started once per test session on loopback, with a fresh
profile in a temporary folder and the networking features that would call out switched off,
and is always stopped at the end (the ``chromium`` fixture). Each test connects its own
Playwright client to it over the DevTools protocol and closes it again (the ``tablet``
fixture): Playwright's sync API marks its event loop as running on the thread between calls,
so a client kept open for the session would break every asyncio test that runs after it.

A missing browser or a missing Playwright fails the tests that need them with an install hint;
it never skips them. Playwright only drives the browser: its own browser downloads are never
used. A test module imports both fixtures (registered under the names ``chromium`` and
``tablet``)::

    from tests.integration.browser import fixture_chromium, fixture_tablet  # noqa: F401

    def test_page(tablet: TabletPage) -> None:
        tablet.page.goto(url)
        ...
        assert tablet.errors == []
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import http_get, wait_until
from tests.integration.daemons import start_daemon

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Response

__all__ = [
    "CHROMIUM",
    "CHROMIUM_FLAGS",
    "CJK_FONTS",
    "TABLET",
    "ChromiumProcess",
    "TabletPage",
    "fixture_chromium",
    "fixture_tablet",
    "listening_port",
    "png_size",
    "run_daemon",
    "start_chromium",
    "wait_for_probes",
]

CHROMIUM = Path("/usr/bin/chromium")
#: Without a CJK font the Chinese text renders as empty boxes in every screenshot.
CJK_FONTS = Path("/usr/share/fonts/opentype/noto")
INSTALL_HINT = (
    "install Debian's `chromium` and `fonts-noto-cjk` packages and the test extra "
    "(`pip install -e '.[test]'`, which brings Playwright); `bash .ci/run` does both"
)
#: Headless, no sandbox (CI runs as root), and nothing that reaches for the network: the
#: machine may have none, and Chromium would otherwise keep retrying refused connections.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: A 10-inch tablet in landscape, as the duty technicians carry on their rounds.
TABLET: dict[str, Any] = {
    "viewport": {"width": 1024, "height": 768},
    "device_scale_factor": 1,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
START_TIMEOUT_S = 15.0
#: Upper bound of every single wait for the page (Playwright counts in milliseconds).
PAGE_TIMEOUT_MS = 5_000
REPO = Path(__file__).resolve().parents[2]


# -- the browser -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChromiumProcess:
    """A running Chromium: the DevTools endpoint to connect to and its log."""

    process: subprocess.Popen[bytes]
    endpoint: str
    log: Path


@contextlib.contextmanager
def start_chromium(folder: Path) -> Iterator[ChromiumProcess]:
    """Start headless Chromium with a fresh profile under ``folder``; always stopped on exit.

    The DevTools port is chosen by Chromium (``--remote-debugging-port=0``, loopback only) and
    read from the ``DevToolsActivePort`` file it writes into the profile.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: {INSTALL_HINT}")
    if not any(CJK_FONTS.glob("NotoSansCJK-*")):
        pytest.fail(f"no Noto Sans CJK font in {CJK_FONTS}: {INSTALL_HINT}")
    profile = folder / "profile"
    profile.mkdir()
    log = folder / "chromium.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                str(CHROMIUM),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: its renderers are stopped with it
        )
    try:
        active = profile / "DevToolsActivePort"

        def endpoint() -> str | None:
            if process.poll() is not None:
                raise AssertionError(f"chromium exited {process.returncode}:\n{_tail(log)}")
            lines = active.read_text().splitlines() if active.exists() else []
            return f"http://127.0.0.1:{lines[0]}" if len(lines) >= 2 else None

        yield ChromiumProcess(
            process, wait_until(endpoint, START_TIMEOUT_S, "chromium's DevTools port"), log
        )
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session", name="chromium")
def fixture_chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromiumProcess]:
    """One headless Chromium for the test session."""
    with start_chromium(tmp_path_factory.mktemp("chromium")) as browser:
        yield browser


@dataclass
class TabletPage:
    """A page in a fresh tablet context, with every console error and uncaught exception it
    raised (``errors``) and every HTTP status of a document it loaded (``statuses``)."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)
    statuses: list[tuple[str, int]] = field(default_factory=list)

    def cookies(self) -> dict[str, str]:
        return {c["name"]: c["value"] for c in self.context.cookies()}


@pytest.fixture(name="tablet")
def fixture_tablet(chromium: ChromiumProcess) -> Iterator[TabletPage]:
    """A new tablet context (1024×768, touch, zh-CN) in the session's Chromium; closed after
    the test together with the Playwright client that drives it."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(f"Playwright is not installed: {INSTALL_HINT}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.connect_over_cdp(
            chromium.endpoint, timeout=START_TIMEOUT_S * 1000
        )
        try:
            context = browser.new_context(**TABLET)
            context.set_default_timeout(PAGE_TIMEOUT_MS)
            context.set_default_navigation_timeout(2 * PAGE_TIMEOUT_MS)
            page = context.new_page()
            found = TabletPage(context, page)

            def on_console(message: ConsoleMessage) -> None:
                if message.type == "error":
                    found.errors.append(f"console: {message.text} ({message.location['url']})")

            def on_response(response: Response) -> None:
                if response.request.resource_type == "document":
                    found.statuses.append((response.url, response.status))

            page.on("console", on_console)
            page.on("pageerror", lambda exc: found.errors.append(f"pageerror: {exc}"))
            page.on("response", on_response)
            yield found
            context.close()
        finally:
            browser.close()


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG image; fails unless ``data`` is one."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG image"
    assert data[12:16] == b"IHDR", "a PNG without its header chunk"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# -- the daemon and its probe targets ----------------------------------------------------------


@contextlib.contextmanager
def listening_port() -> Iterator[int]:
    """A loopback TCP port that completes handshakes (the kernel queues them; nothing reads),
    for the TCP probes of assets that are up."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(512)
        yield int(listener.getsockname()[1])


@contextlib.contextmanager
def run_daemon(config: Path, log: Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """``trunkwatch run`` as a real process on a free loopback port; yields its base URL and
    stops it on exit."""
    with start_daemon(config, log, env=env, timeout=START_TIMEOUT_S) as (_, base):
        yield base


def wait_for_probes(base: str, timeout: float = 10.0) -> dict[str, str]:
    """Wait until every asset has a probe result; returns asset id → state (up, down …)."""

    def states() -> dict[str, str] | None:
        status, body = http_get(f"{base}/api/v1/status", timeout=2)
        found = {a["id"]: a["state"] for a in json.loads(body)["assets"]} if status == 200 else {}
        return found if found and "pending" not in found.values() else None

    return wait_until(states, timeout, "a probe result for every asset")

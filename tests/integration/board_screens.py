"""Screens for the duty board tests: a wall screen (1920×1080), a desk (1280×800) and a tablet
(1024×768, touch) in the session's headless Chromium, and what a test asks of each page —
that nothing on it is cut off, what its summary counts, and what the daemon's own status API
counts beside it.

A test module imports the fixtures (``chromium`` from tests.integration.browser, ``screens``
from here)::

    from tests.integration.board_screens import fixture_screens  # noqa: F401
    from tests.integration.browser import fixture_chromium  # noqa: F401
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import http_get, wait_until
from tests.integration.browser import PAGE_TIMEOUT_MS, START_TIMEOUT_S, TABLET, ChromiumProcess

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Response

__all__ = [
    "CUT_OFF",
    "SIZES",
    "Screen",
    "fixture_screens",
    "page_counts",
    "status_counts",
    "wait_in_page",
]

#: The duty room's screens: the wall, the desk, and the tablet carried on rounds.
SIZES: dict[str, dict[str, Any]] = {
    "wall": {"viewport": {"width": 1920, "height": 1080}, "locale": "zh-CN"},
    "desk": {"viewport": {"width": 1280, "height": 800}, "locale": "zh-CN"},
    "tablet": TABLET,
}

#: Every visible element that is not wholly on the screen, every text clipped by its own box,
#: and every scrolling area that hides part of what it holds; the page itself must not scroll
#: (unless ``upright``: a narrow screen scrolls down one column, never sideways).
CUT_OFF = """upright => {
  const width = window.innerWidth, found = [];
  const height = upright ? document.documentElement.scrollHeight : window.innerHeight;
  const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
    (typeof e.className === "string" && e.className ? "." + e.className.split(" ").join(".") : "");
  const root = document.documentElement;
  if (root.scrollWidth > width || (!upright && root.scrollHeight > height))
    found.push(`page scrolls: ${root.scrollWidth}×${root.scrollHeight}`);
  for (const e of document.body.querySelectorAll("*")) {
    const style = getComputedStyle(e);
    const seen = e.getBoundingClientRect();
    const box = {left: seen.left, right: seen.right, width: seen.width, height: seen.height,
                 top: seen.top + window.scrollY, bottom: seen.bottom + window.scrollY};
    if (style.display === "none" || style.visibility === "hidden" || box.width * box.height === 0)
      continue;
    if (box.left < -0.5 || box.top < -0.5 || box.right > width + 0.5 || box.bottom > height + 0.5)
      found.push(`${name(e)} off the screen: ${JSON.stringify(box)}`);
    if (box.width > 2 && !(e instanceof SVGElement)) {
      if (e.scrollWidth > e.clientWidth + 1 && style.overflowX !== "visible")
        found.push(`${name(e)} clips its text: ${e.scrollWidth} > ${e.clientWidth}`);
      if (e.scrollHeight > e.clientHeight + 1 && style.overflowY !== "visible")
        found.push(`${name(e)} hides part of what it holds: ${e.scrollHeight} > ${e.clientHeight}`);
    }
  }
  // The board's parts never overlap, and what each holds stays inside it.
  const parts = [...document.querySelectorAll("main > section")];
  const inside = (a, b) => a.left >= b.left - 1 && a.right <= b.right + 1 &&
    a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
  parts.forEach((part, n) => {
    const box = part.getBoundingClientRect();
    for (const other of parts.slice(n + 1)) {
      const o = other.getBoundingClientRect();
      if (Math.min(box.right, o.right) - Math.max(box.left, o.left) > 1 &&
          Math.min(box.bottom, o.bottom) - Math.max(box.top, o.top) > 1)
        found.push(`${name(part)} overlaps ${name(other)}`);
    }
    for (const e of part.querySelectorAll("*")) {
      const b = e.getBoundingClientRect();
      if (b.width * b.height > 0 && getComputedStyle(e).position !== "fixed" && !inside(b, box))
        found.push(`${name(e)} spills out of ${name(part)}`);
    }
  });
  return found;
}"""

#: The summary table as the page shows it: system → state → count.
SUMMARY = """() => Object.fromEntries([...document.querySelectorAll(
  "#summary-table tbody tr")].map(row => [row.dataset.system, Object.fromEntries(
  [...row.querySelectorAll("td[data-state]")].map(td => [td.dataset.state, Number(td.textContent)])
)]))"""


@dataclass
class Screen:
    """One page on one screen size, with what went wrong on it."""

    size: str
    page: Page
    errors: list[str] = field(default_factory=list)
    documents: list[tuple[str, int]] = field(default_factory=list)

    @property
    def viewport(self) -> tuple[int, int]:
        view = SIZES[self.size]["viewport"]
        return int(view["width"]), int(view["height"])

    def cut_off(self, upright: bool = False) -> list[str]:
        return list(self.page.evaluate(CUT_OFF, upright))


def wait_in_page(page: Page, check: str, timeout: float, what: str, arg: object = None) -> Any:
    """Poll the JavaScript function ``check`` in the page until it returns something truthy.

    (Playwright's ``wait_for_function`` evaluates its predicate with ``eval``, which the
    board's Content-Security-Policy rightly refuses; ``evaluate`` goes through DevTools.)"""
    return wait_until(lambda: page.evaluate(check, arg), timeout, what, step=0.05)


def page_counts(page: Page) -> dict[str, dict[str, int]]:
    return dict(page.evaluate(SUMMARY))


def status_counts(base: str, columns: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """The same table, counted from the daemon's own ``/api/v1/status``."""
    status, body = http_get(f"{base}/api/v1/status")
    assert status == 200, body
    counts: dict[str, Counter[str]] = {}
    for asset in json.loads(body)["assets"]:
        counts.setdefault(asset["system"], Counter())[asset["state"]] += 1
    return {system: {s: found[s] for s in columns} for system, found in counts.items()}


@pytest.fixture(name="screens")
def fixture_screens(chromium: ChromiumProcess) -> Iterator[dict[str, Screen]]:
    """A page on each screen size (their contexts apart), closed after the test together with
    the Playwright client that drives them."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.connect_over_cdp(
            chromium.endpoint, timeout=START_TIMEOUT_S * 1000
        )
        try:
            screens = {}
            for size, options in SIZES.items():
                context = browser.new_context(**options)
                context.set_default_timeout(PAGE_TIMEOUT_MS)
                context.set_default_navigation_timeout(2 * PAGE_TIMEOUT_MS)
                screens[size] = _watched(Screen(size, context.new_page()))
            yield screens
            for screen in screens.values():
                screen.page.context.close()
        finally:
            browser.close()


def _watched(screen: Screen) -> Screen:
    """``screen`` with its console errors, uncaught exceptions and documents recorded."""

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            screen.errors.append(f"console: {message.text} ({message.location['url']})")

    def uncaught(error: Error) -> None:
        screen.errors.append(f"pageerror: {error}")

    def response(answer: Response) -> None:
        if answer.request.resource_type == "document":
            screen.documents.append((answer.url, answer.status))

    screen.page.on("console", console)
    screen.page.on("pageerror", uncaught)
    screen.page.on("response", response)
    return screen

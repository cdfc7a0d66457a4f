"""A mains failure drill (市电中断演练) on the demo city, watched on the duty board at the wall
(1920×1080), the desk (1280×800) and on a tablet (1024×768) at once.

The simulated Nanning fleet and the daemon polling it run as in ``trunkwatch demo`` (every
probe every 2 s); the board is open on the three screens before the fault is injected. Each
screen must show the site degraded within one poll (the base station's next poll, and the
board's own look for news, ``BOARD_STEP``), without reloading the page; its counts must be
those of the daemon's ``/api/v1/status``; the problem must say why, since when and link its
runbook; and nothing on any screen may be cut off. Screenshots of every screen, before and
during the drill, are kept in the test's folder.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from monitor.app.server import BOARD_STEP
from monitor.simulator.fleet import Fault
from tests.helpers import http_get, wait_until
from tests.integration.board_screens import (  # noqa: F401
    Screen,
    fixture_screens,
    page_counts,
    status_counts,
    wait_in_page,
)
from tests.integration.browser import fixture_chromium, png_size  # noqa: F401
from tests.integration.simcity import SimulatedCity

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

POLL_S = 2.0
SITE, STATION, UPS = "xixiangtang", "bs-xixiangtang", "ups-xixiangtang"
COLUMNS = ("up", "degraded", "down", "unreachable", "maintenance")
UPDATED = "() => Number(document.body.dataset.updates || 0) >= 1"
SITE_PROBLEMS = (
    "site => document.querySelectorAll(`#problem-list li[data-site=${site}]`).length >= 2"
)
#: Marks the moment the site's tile turns degraded, on the page's own clock (ms since epoch).
WATCH = """site => {
  window.degradedAt = null;
  const look = () => {
    if (window.degradedAt === null && document.querySelector(`#site-${site}.degraded`))
      window.degradedAt = performance.timeOrigin + performance.now();
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true});
  look();
}"""


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedCity]:
    with SimulatedCity(tmp_path_factory.mktemp("city"), interval=f"{POLL_S:g}s") as city:
        yield city


def board_url(city: SimulatedCity) -> str:
    return city.metrics_url.removesuffix("/metrics")


def all_up(base: str) -> dict[str, dict[str, int]] | None:
    counts = status_counts(base, COLUMNS)
    return counts if all(c["up"] and sum(c.values()) == c["up"] for c in counts.values()) else None


def consistent_counts(screen: Screen, base: str) -> tuple[dict[str, dict[str, int]], ...]:
    """The page's counts and the API's, read while neither changed (the board updates live)."""

    def read() -> tuple[dict[str, dict[str, int]], ...] | None:
        before = status_counts(base, COLUMNS)
        shown = page_counts(screen.page)
        after = status_counts(base, COLUMNS)
        return (shown, after) if before == after else None

    return wait_until(read, 10, "the status to hold still for one reading", step=0.3)


def test_a_mains_failure_turns_the_site_degraded_on_every_screen_within_one_poll(
    city: SimulatedCity, screens: dict[str, Screen], tmp_path: Path
) -> None:
    base = board_url(city)
    wait_until(lambda: all_up(base), 30, "every asset of the demo city up")
    #: A mark left on each page: it survives only as long as the page is never reloaded.
    markers = {size: secrets.token_hex(8) for size in screens}
    for size, screen in screens.items():
        screen.page.goto(f"{base}/")
        wait_in_page(screen.page, UPDATED, 10, "the board's first live update")
        # The page and the API read the board at different moments: wait for the page to
        # show what the API already said, as a screen on the wall would.
        expect(screen.page.locator(f"#site-{SITE}")).to_have_class("tile up", timeout=10_000)
        screen.page.evaluate("marker => { window.loadedAs = marker; }", markers[size])
        screen.page.evaluate(WATCH, SITE)
        screen.page.screenshot(path=tmp_path / f"before-{screen.size}.png")

    injected = time.time()
    city.inject(Fault.MAINS_FAILURE, STATION)
    try:
        for screen in screens.values():
            wait_in_page(screen.page, "() => window.degradedAt", 15, f"{SITE} degraded")
        seen_after = {
            s: screen.page.evaluate("window.degradedAt") / 1000 - injected
            for s, screen in screens.items()
        }
        # One poll of the base station after the fault, the board's next look, and the way
        # to the screen; never a reload.
        assert max(seen_after.values()) <= POLL_S + BOARD_STEP + 0.75, seen_after
        for size, screen in screens.items():
            page = screen.page
            assert page.evaluate("window.loadedAs") == markers[size]
            assert screen.documents == [(f"{base}/", 200)], size

        # The UPS of the site says the same a poll later; then the counts are the daemon's.
        page = screens["desk"].page
        wait_in_page(page, SITE_PROBLEMS, 10, f"both problems of {SITE}", SITE)
        for size, screen in screens.items():
            shown, counted = consistent_counts(screen, base)
            assert shown == counted, size
            assert shown["radio"]["degraded"] >= 1 and shown["power"]["degraded"] >= 1, size
            tile = screen.page.locator(f"#site-{SITE}")
            assert tile.get_attribute("class") == "tile degraded"
            assert tile.locator(".state em").inner_text() == "降级 degraded"
            pin = screen.page.locator(f"#site-map a[data-site={SITE}]")
            assert pin.get_attribute("class") == "marker degraded"

        # The problem: worst first, in words, since when, and its runbook.
        first = page.locator("#problem-list li").first
        assert first.get_attribute("data-asset") == STATION
        assert first.get_attribute("data-alert") == "SiteMainsFailure"
        assert first.locator(".sev").inner_text() == "严重 critical"
        reason = first.locator(".reason").inner_text()
        assert (
            reason.startswith("市电中断，蓄电池供电，剩余约 ")
            and "Mains failure: on battery, about " in reason
        )
        since = float(first.locator("time").get_attribute("data-t") or 0)
        assert injected - 0.5 <= since <= injected + POLL_S + 1.0
        runbook = first.locator("a.runbook").get_attribute("href")
        assert runbook == "/runbooks/SiteMainsFailure.md"
        status, text = http_get(base + runbook)
        assert status == 200 and "<h1>SiteMainsFailure — 市电中断</h1>" in text
        ups = page.locator(f"#problem-list li[data-asset={UPS}]")
        assert ups.locator(".reason").inner_text() == "UPS 电池供电 UPS on battery"

        for size, screen in screens.items():
            shot = tmp_path / f"drill-{size}.png"
            screen.page.screenshot(path=shot)
            assert png_size(shot.read_bytes()) == screen.viewport
            assert screen.cut_off() == [], size
            assert screen.errors == [], size
    finally:
        city.clear_all()

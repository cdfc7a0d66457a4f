"""The duty board at ``/`` in headless Chromium on a tablet: one tile per site, coloured by
its worst asset, each asset with its own state, Chinese and English side by side.

The daemon runs as a real process; its TCP probes reach loopback listeners (up) or closed
ports (down), and two sites hang behind a failed router (their failures are "unreachable",
not faults of their own), so every state a tile can take except "pending" is on the page.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import free_tcp_port, http_get
from tests.integration.browser import (  # noqa: F401
    TABLET,
    TabletPage,
    fixture_chromium,
    fixture_tablet,
    listening_port,
    png_size,
    run_daemon,
    wait_for_probes,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

CONFIG = """\
centre:
  timezone: Asia/Shanghai
server:
  data_dir: {data_dir}
defaults:
  interval: 1s
  timeout: 1s
sites:
  - {{id: hq, name: 市应急联动中心, name_en: Centre}}
  - {{id: yunyan, name: 云岩基站, name_en: Yunyan, parent: hq}}
  - {{id: huaxi, name: 花溪基站, name_en: Huaxi, parent: hq, backhaul: rtr-huaxi}}
  - {{id: kaiyang, name: 开阳基站, name_en: Kaiyang, parent: huaxi}}
  - {{id: wudang, name: 乌当基站, parent: hq}}
assets:
  - {{id: core-sw-1, name: 核心交换机, site: hq, system: network, kind: switch,
      address: "127.0.0.1:{open1}", probes: [{{module: tcp}}]}}
  - {{id: bs-yunyan, name: 云岩基站主机, site: yunyan, system: radio, kind: tetra_bs,
      address: "127.0.0.1:{open2}", probes: [{{module: tcp}}]}}
  - {{id: rtr-huaxi, name: 花溪路由器, site: huaxi, system: network, kind: router,
      address: "127.0.0.1:{closed1}", probes: [{{module: tcp}}]}}
  - {{id: bs-huaxi, name: 花溪基站主机, site: huaxi, system: radio, kind: tetra_bs,
      address: "127.0.0.1:{closed3}", probes: [{{module: tcp}}]}}
  - {{id: bs-kaiyang, name: 开阳基站主机, site: kaiyang, system: radio, kind: tetra_bs,
      address: "127.0.0.1:{closed4}", probes: [{{module: tcp}}]}}
  - {{id: bs-wudang, name: 乌当基站主机, site: wudang, system: radio, kind: tetra_bs,
      address: 127.0.0.1, probes: [{{module: tcp, name: ssh, port: {open3}}},
                                   {{module: tcp, name: om, port: {closed2}}}]}}
"""

#: What the board must show, from the configuration above: asset → state.
ASSET_STATES = {
    "core-sw-1": "up",
    "bs-yunyan": "up",
    "rtr-huaxi": "down",  # nothing listens on its port
    "bs-huaxi": "unreachable",  # fails behind rtr-huaxi, its site's backhaul, which is down
    "bs-kaiyang": "unreachable",  # fails, and its site hangs off huaxi
    "bs-wudang": "degraded",  # one probe up, one refused
}
#: Site (its name on the tile) → the tile's state, the worst of its assets'.
TILES = {
    "市应急联动中心 Centre": ("up", ["核心交换机"]),
    "云岩基站 Yunyan": ("up", ["云岩基站主机"]),
    "花溪基站 Huaxi": ("down", ["花溪路由器", "花溪基站主机"]),
    "开阳基站 Kaiyang": ("unreachable", ["开阳基站主机"]),
    "乌当基站": ("degraded", ["乌当基站主机"]),
}
STATE_TEXT = {
    "up": "正常 up",
    "down": "故障 down",
    "unreachable": "不可达 unreachable",
    "degraded": "部分故障 degraded",
}
#: The left border of a tile, per state, as the board's style sheet colours it.
BORDER = {
    "up": "rgb(46, 125, 50)",
    "down": "rgb(198, 40, 40)",
    "unreachable": "rgb(249, 168, 37)",
    "degraded": "rgb(239, 108, 0)",
}


@pytest.fixture
def board(tmp_path: Path) -> Iterator[str]:
    """The daemon on the fleet above, once every asset shows its expected state."""
    with contextlib.ExitStack() as stack:
        ports = {f"open{i}": stack.enter_context(listening_port()) for i in range(1, 4)}
        ports |= {f"closed{i}": free_tcp_port() for i in range(1, 5)}
        config = tmp_path / "monitor.yaml"
        config.write_text(CONFIG.format(data_dir=tmp_path / "data", **ports), encoding="utf-8")
        base = stack.enter_context(run_daemon(config, tmp_path / "daemon.log"))
        states = wait_for_probes(base)
        # A child probed before its parent's first failure is briefly "down", not unreachable.
        deadline = time.monotonic() + 10
        while states != ASSET_STATES and time.monotonic() < deadline:
            time.sleep(0.2)
            assets = json.loads(http_get(f"{base}/api/v1/status")[1])["assets"]
            states = {a["id"]: a["state"] for a in assets}
        assert states == ASSET_STATES
        yield base


def test_every_site_tile_shows_the_state_of_its_assets(
    tablet: TabletPage, board: str, tmp_path: Path
) -> None:
    page = tablet.page
    page.goto(f"{board}/")
    # Chromium asks for /favicon.ico after the load: let it, so its answer is judged too.
    page.wait_for_load_state("networkidle")
    assert tablet.statuses[0] == (f"{board}/", 200)
    assert page.locator("h1").inner_text() == "值班总览 Duty board"

    tiles = page.locator("main > section.tile")
    assert tiles.count() == len(TILES)
    seen = {}
    for i in range(tiles.count()):
        tile = tiles.nth(i)
        title = tile.locator("h2").inner_text()
        classes = set((tile.get_attribute("class") or "").split())
        rows = tile.locator("li")
        assets = [
            (
                rows.nth(j).locator("b").inner_text(),
                rows.nth(j).get_attribute("class"),
                rows.nth(j).locator("em").inner_text(),
            )
            for j in range(rows.count())
        ]
        seen[title] = (classes, assets)
        state, names = TILES[title]
        assert classes == {"tile", state}, title
        assert tile.evaluate("e => getComputedStyle(e).borderLeftColor") == BORDER[state], title
        assert [name for name, _, _ in assets] == names, title
    assert list(seen) == list(TILES), "one tile per site, in the configured order"

    by_name = {name: (cls, text) for _, assets in seen.values() for name, cls, text in assets}
    display_names = {
        "core-sw-1": "核心交换机",
        "bs-yunyan": "云岩基站主机",
        "rtr-huaxi": "花溪路由器",
        "bs-huaxi": "花溪基站主机",
        "bs-kaiyang": "开阳基站主机",
        "bs-wudang": "乌当基站主机",
    }
    assert {a: by_name[display_names[a]] for a in ASSET_STATES} == {
        a: (state, STATE_TEXT[state]) for a, state in ASSET_STATES.items()
    }
    row = page.locator("li", has=page.locator("b", has_text="花溪路由器"))
    assert row.locator("span").inner_text() == "network/router"

    # Nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["viewport"]["width"]

    shot = tmp_path / "duty-board.png"
    page.screenshot(path=shot, full_page=True)
    assert png_size(shot.read_bytes()) == (
        TABLET["viewport"]["width"],
        TABLET["viewport"]["height"],
    )
    assert tablet.errors == [], "the board logged errors"

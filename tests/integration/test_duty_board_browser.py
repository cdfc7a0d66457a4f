"""The duty board at ``/`` in headless Chromium: every state a site can take, a 20-site centre
on the wall, the desk and a tablet without scrolling, a site opened by a tap, and the warning
when the page stops hearing from the daemon.

The daemon runs as a real process; its TCP probes reach loopback listeners (up) or closed
ports (down), and two sites hang behind a failed router (their failures are "unreachable",
not faults of their own), so every state a tile can take except "pending" and "maintenance"
is on the page.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.app.server import BOARD_TICK
from tests.helpers import free_tcp_port, http_get
from tests.integration.board_screens import (  # noqa: F401
    Screen,
    fixture_screens,
    page_counts,
    status_counts,
    wait_in_page,
)
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

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CONFIG = """\
centre:
  timezone: Asia/Shanghai
server:
  data_dir: {data_dir}
defaults:
  interval: 1s
  timeout: 1s
sites:
  - {{id: hq, name: 市应急联动中心, name_en: Centre, coordinates: [22.817, 108.367]}}
  - {{id: xingning, name: 兴宁基站, name_en: Xingning, parent: hq, coordinates: [22.855, 108.369]}}
  - {{id: xixiangtang, name: 西乡塘基站, name_en: Xixiangtang, parent: hq, backhaul: rtr-xixiangtang,
      coordinates: [22.834, 108.307]}}
  - {{id: hengzhou, name: 横州基站, name_en: Hengzhou, parent: xixiangtang, coordinates: [22.684, 109.261]}}
  - {{id: yongning, name: 邕宁基站, parent: hq}}
assets:
  - {{id: core-sw-1, name: 核心交换机, site: hq, system: network, kind: switch,
      address: "127.0.0.1:{open1}", probes: [{{module: tcp}}]}}
  - {{id: bs-xingning, name: 兴宁基站主机, site: xingning, system: radio, kind: tetra_bs,
      address: "127.0.0.1:{open2}", probes: [{{module: tcp}}]}}
  - {{id: rtr-xixiangtang, name: 西乡塘路由器, site: xixiangtang, system: network, kind: router,
      address: "127.0.0.1:{closed1}", probes: [{{module: tcp}}]}}
  - {{id: bs-xixiangtang, name: 西乡塘基站主机, site: xixiangtang, system: radio, kind: tetra_bs,
      address: "127.0.0.1:{closed3}", probes: [{{module: tcp}}]}}
  - {{id: bs-hengzhou, name: 横州基站主机, site: hengzhou, system: radio, kind: tetra_bs,
      address: "127.0.0.1:{closed4}", probes: [{{module: tcp}}]}}
  - {{id: bs-yongning, name: 邕宁基站主机, site: yongning, system: radio, kind: tetra_bs,
      address: 127.0.0.1, probes: [{{module: tcp, name: ssh, port: {open3}}},
                                   {{module: tcp, name: om, port: {closed2}}}]}}
"""

#: What the board must show, from the configuration above: asset → state.
ASSET_STATES = {
    "core-sw-1": "up",
    "bs-xingning": "up",
    "rtr-xixiangtang": "down",  # nothing listens on its port
    "bs-xixiangtang": "unreachable",  # fails behind rtr-xixiangtang, its site's backhaul, which is down
    "bs-hengzhou": "unreachable",  # fails, and its site hangs off xixiangtang
    "bs-yongning": "degraded",  # one probe up, one refused
}
#: Site (its name on the tile) → the tile's state, the worst of its assets'.
TILES = {
    "市应急联动中心 Centre": ("up", ["核心交换机"]),
    "兴宁基站 Xingning": ("up", ["兴宁基站主机"]),
    "西乡塘基站 Xixiangtang": ("down", ["西乡塘路由器", "西乡塘基站主机"]),
    "横州基站 Hengzhou": ("unreachable", ["横州基站主机"]),
    "邕宁基站": ("degraded", ["邕宁基站主机"]),
}
STATE_TEXT = {
    "up": "正常 up",
    "down": "故障 down",
    "unreachable": "不可达 unreachable",
    "degraded": "降级 degraded",
}
#: The left border of a tile, per state: up green, degraded amber, unreachable orange, down red.
BORDER = {
    "up": "rgb(46, 125, 50)",
    "degraded": "rgb(249, 168, 37)",
    "unreachable": "rgb(239, 108, 0)",
    "down": "rgb(211, 47, 47)",
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

    tiles = page.locator("#sites > section.tile")
    assert tiles.count() == len(TILES)
    seen = {}
    for i in range(tiles.count()):
        tile = tiles.nth(i)
        title = tile.locator("h2").inner_text()
        classes = set((tile.get_attribute("class") or "").split())
        rows = tile.locator("ul li")
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
        assert tile.locator(".state em").inner_text() == STATE_TEXT[state], title
        assert [name for name, _, _ in assets] == names, title
    assert list(seen) == list(TILES), "one tile per site, in the configured order"

    by_name = {name: (cls, text) for _, assets in seen.values() for name, cls, text in assets}
    display_names = {
        "core-sw-1": "核心交换机",
        "bs-xingning": "兴宁基站主机",
        "rtr-xixiangtang": "西乡塘路由器",
        "bs-xixiangtang": "西乡塘基站主机",
        "bs-hengzhou": "横州基站主机",
        "bs-yongning": "邕宁基站主机",
    }
    assert {a: by_name[display_names[a]] for a in ASSET_STATES} == {
        a: (state, STATE_TEXT[state]) for a, state in ASSET_STATES.items()
    }

    # The problems, worst first, each in words; what is behind the router names it.
    problems = page.locator("#problem-list > li")
    listed = [
        (
            problems.nth(i).get_attribute("data-asset"),
            problems.nth(i).locator(".sev").inner_text(),
            problems.nth(i).locator(".reason").inner_text(),
        )
        for i in range(problems.count())
    ]
    assert listed[:2] == [
        (
            "rtr-xixiangtang",
            "严重 critical",
            "设备无响应：连接被拒绝 Not answering: connection refused",
        ),
        (
            "bs-yongning",
            "严重 critical",
            "探测 om 失败：连接被拒绝 Probe om failing: connection refused",
        ),
    ]
    assert sorted(listed[2:]) == [
        (
            a,
            "提示 info",
            "不可达：上级设备 西乡塘路由器 故障 Unreachable: behind 西乡塘路由器, down",
        )
        for a in ("bs-hengzhou", "bs-xixiangtang")
    ]
    assert page.locator("#problem-count").inner_text() == "4"

    # The map: the located sites, coloured by state; Yongning has no coordinates.
    markers = page.locator("#site-map a.marker")
    assert {
        markers.nth(i).get_attribute("data-site"): markers.nth(i).get_attribute("class")
        for i in range(markers.count())
    } == {
        "hq": "marker up",
        "xingning": "marker up",
        "xixiangtang": "marker down",
        "hengzhou": "marker unreachable",
    }
    assert page.locator("#map .unplaced").inner_text() == "无坐标 Not on the map: 邕宁基站"
    fill = page.locator("#site-map a[data-site=xixiangtang] circle").evaluate(
        "e => getComputedStyle(e).fill"
    )
    assert fill == BORDER["down"]

    # A tap on a marker opens its site over the board; 关闭 closes it again.
    page.locator("#site-map a[data-site=xixiangtang] circle").tap()
    opened = page.locator("#site-xixiangtang")
    assert page.evaluate("location.hash") == "#site-xixiangtang"
    assert opened.evaluate("e => getComputedStyle(e).position") == "fixed"
    assert opened.locator(".site-problems li").count() == 2
    assert opened.locator("ul li").nth(0).inner_text().split() == [
        "西乡塘路由器", "network/router", "故障", "down",
    ]  # fmt: skip
    shot = tmp_path / "duty-board-site.png"
    page.screenshot(path=shot)
    opened.locator("a.close").tap()
    assert opened.evaluate("e => getComputedStyle(e).position") == "relative"

    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["viewport"]["width"]
    shot = tmp_path / "duty-board.png"
    page.screenshot(path=shot, full_page=True)
    assert png_size(shot.read_bytes()) == (
        TABLET["viewport"]["width"],
        TABLET["viewport"]["height"],
    )
    assert tablet.errors == [], "the board logged errors"


# -- a 20-site centre ---------------------------------------------------------------------------

#: A city centre and 19 district and county sites around it, two assets each.
SITES_20 = [
    ("hq", "市应急联动中心", "Emergency Linkage Centre", 22.817, 108.367),
    ("xingning", "兴宁区基站", "Xingning", 22.855, 108.369),
    ("qingxiu", "青秀区基站", "Qingxiu", 22.816, 108.395),
    ("jiangnan", "江南区基站", "Jiangnan", 22.781, 108.273),
    ("xixiangtang", "西乡塘区基站", "Xixiangtang", 22.834, 108.307),
    ("yongning", "邕宁区基站", "Yongning", 22.759, 108.487),
    ("liangqing", "良庆区基站", "Liangqing", 22.752, 108.412),
    ("wuming", "武鸣区基站", "Wuming", 23.159, 108.275),
    ("binyang", "宾阳县基站", "Binyang", 23.217, 108.811),
    ("shanglin", "上林县基站", "Shanglin", 23.432, 108.605),
    ("hengzhou", "横州市基站", "Hengzhou", 22.684, 109.261),
    ("mashan", "马山县基站", "Mashan", 23.708, 108.177),
    ("longan", "隆安县基站", "Long'an", 23.166, 107.696),
    ("wuxu", "吴圩机场基站", "Wuxu Airport", 22.608, 108.172),
    ("dongzhan", "南宁东站基站", "Nanning East Station", 22.836, 108.436),
    ("nanhu", "南湖基站", "Nanhu", 22.807, 108.342),
    ("wuxiang", "五象新区基站", "Wuxiang New Area", 22.771, 108.388),
    ("xiangsihu", "相思湖基站", "Xiangsi Lake", 22.842, 108.245),
    ("qingxiushan", "青秀山基站", "Qingxiu Mountain", 22.785, 108.384),
    ("yangmei", "扬美古镇基站", "Yangmei Old Town", 22.872, 108.062),
]
#: These sites' base stations are down (nothing listens): problems and red tiles on the board.
DOWN_20 = ("xixiangtang", "shanglin", "yangmei")


def config_20(data_dir: Path, open_port: int, closed_port: int) -> str:
    sites = "\n".join(
        f"  - {{id: {i}, name: {zh}, name_en: {en}, coordinates: [{lat}, {lon}]"
        + (", parent: hq}" if i != "hq" else "}")
        for i, zh, en, lat, lon in SITES_20
    )
    assets = "\n".join(
        f"  - {{id: {kind}-{i}, name: {zh}{label}, site: {i}, system: {system}, kind: {kind},"
        f" address: '127.0.0.1:{closed_port if (i in DOWN_20 and kind == 'bs') else open_port}',"
        f" probes: [{{module: tcp}}]}}"
        for i, zh, _, _, _ in SITES_20
        for kind, label, system in (("bs", "主机", "radio"), ("ups", "电源", "power"))
    )
    return (
        f"server:\n  data_dir: {data_dir}\ndefaults:\n  interval: 1s\n  timeout: 1s\n"
        f"sites:\n{sites}\nassets:\n{assets}\n"
    )


def test_a_twenty_site_centre_fits_every_screen_without_scrolling(
    screens: dict[str, Screen], tmp_path: Path
) -> None:
    with listening_port() as open_port:
        config = tmp_path / "monitor.yaml"
        config.write_text(config_20(tmp_path / "data", open_port, free_tcp_port()), "utf-8")
        with run_daemon(config, tmp_path / "daemon.log") as base:
            wait_for_probes(base)
            for size, screen in screens.items():
                screen.page.goto(f"{base}/")
                wait_in_page(screen.page, UPDATED, 10, "the board's first live update")
                assert screen.page.locator("#sites > section.tile").count() == 20
                assert screen.page.locator("#site-map a.marker").count() == 20
                assert screen.page.locator("#problem-list > li").count() == len(DOWN_20)
                columns = ("up", "degraded", "down", "unreachable", "maintenance")
                assert page_counts(screen.page) == status_counts(base, columns)
                assert page_counts(screen.page)["radio"]["down"] == len(DOWN_20)
                screen.page.screenshot(path=tmp_path / f"twenty-sites-{size}.png")
                assert screen.cut_off() == [], size
                assert screen.errors == [], size
            # The tablet held upright: one column that scrolls down, nothing cut at the sides.
            tablet = screens["tablet"]
            tablet.page.set_viewport_size({"width": 768, "height": 1024})
            tablet.page.screenshot(path=tmp_path / "twenty-sites-upright.png", full_page=True)
            assert tablet.cut_off(upright=True) == []
            assert tablet.page.evaluate("document.documentElement.scrollHeight") > 1024


UPDATED = "() => Number(document.body.dataset.updates || 0) >= 1"


def test_the_page_says_its_data_is_stale_when_the_daemon_stops_answering(
    screens: dict[str, Screen], tmp_path: Path
) -> None:
    page = screens["desk"].page
    with listening_port() as open_port:
        config = tmp_path / "monitor.yaml"
        config.write_text(config_20(tmp_path / "data", open_port, free_tcp_port()), "utf-8")
        with run_daemon(config, tmp_path / "daemon.log") as base:
            wait_for_probes(base)
            page.goto(f"{base}/")
            wait_in_page(page, UPDATED, 10, "the board's first live update")
            assert page.locator("#stale").is_hidden()
            updated = page.locator("#updated-at").get_attribute("data-t")
        stopped = time.monotonic()  # the daemon is gone: no more events
        wait_in_page(
            page,
            "() => !document.getElementById('stale').hidden",
            2 * BOARD_TICK + 5,
            "the stale warning",
        )
    # The last event came at most one tick before the stop; the page looks every second.
    assert time.monotonic() - stopped <= 2 * BOARD_TICK + 2
    assert page.evaluate("document.body.classList.contains('stale')")
    text = page.locator("#stale").inner_text()
    assert text.startswith("数据已停止更新 Data stale: ")
    assert int(text.split("no update for ")[1].removesuffix(" s")) > 2 * BOARD_TICK
    assert page.locator("#updated-at").get_attribute("data-t") == updated  # the last one heard
    page.screenshot(path=tmp_path / "stale-desk.png")

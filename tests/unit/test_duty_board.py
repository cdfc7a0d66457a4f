"""What the duty board shows, from results put into a real ResultStore: since when each
condition and failure holds, the states and counts, the problems in order with their reasons,
and the site map of the shipped demo city (and of a crowded one)."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from monitor.app.status import estate_status, troubled_status
from monitor.config import load_config
from monitor.duty import ConditionBook, board
from monitor.duty.board import active_problems
from monitor.duty.sitemap import (
    FONT_EN,
    FONT_ZH,
    HEIGHT,
    RADIUS,
    WIDTH,
    MapSite,
    PlacedSite,
    site_map,
    text_width,
)
from monitor.inventory import Asset, Inventory, Job, Site, build_inventory
from monitor.results import Result, ResultStore
from probes.base import Family, Sample, Target
from tests.unit.fleet import ScriptedProbe

REPO = Path(__file__).resolve().parents[2]
NOOP = ScriptedProbe(lambda t: None)
MAINS = Family("trunkwatch_bs_mains_present", "gauge", "mains")
UPS_SOURCE = Family("trunkwatch_ups_output_source", "gauge", "source")


def make_asset(
    asset_id: str, site: str, system: str, kind: str, parent: str | None = None
) -> Asset:
    return Asset(
        asset_id, site, system, kind, f"{asset_id} name", Target(asset_id, "127.0.0.1", 1), parent
    )


def make_job(asset: Asset, name: str = "p", module: str = "snmp") -> Job:
    return Job(asset, name, module, 10.0, 5.0, NOOP, fingerprint=f"{asset.id}/{name}")


class City:
    """Three sites: a centre with a router and a SIP trunk, a radio site behind the router
    (base station and UPS), and a second radio site behind the first."""

    def __init__(self) -> None:
        rtr = make_asset("rtr", "hq", "network", "router")
        sip = make_asset("sip", "hq", "line", "sip_trunk", parent="rtr")
        bs_a = make_asset("bs-a", "a", "radio", "tetra_bs", parent="rtr")
        ups_a = make_asset("ups-a", "a", "power", "ups", parent="bs-a")
        bs_b = make_asset("bs-b", "b", "radio", "tetra_bs", parent="bs-a")
        self.jobs = {
            "rtr": make_job(rtr),
            "sip": make_job(sip, "sip", "sip"),
            "bs-a": make_job(bs_a),
            "bs-a/om": make_job(bs_a, "om", "tcp"),
            "ups-a": make_job(ups_a),
            "bs-b": make_job(bs_b),
        }
        sites = {
            "hq": Site("hq", "中心", "Centre", None, (22.82, 108.37), None, "rtr"),
            "a": Site("a", "甲站", "Site A", None, (22.84, 108.36), "hq", "bs-a"),
            "b": Site("b", "乙站", None, None, None, "a", "bs-b"),
        }
        assets = {j.asset.id: j.asset for j in self.jobs.values()}
        self.inventory = Inventory(
            MappingProxyType(sites), MappingProxyType(assets), tuple(self.jobs.values())
        )
        self.store = ResultStore()
        self.book = ConditionBook()
        self.store.subscribe(self.book.on_result)

    def put(self, key: str, at: float, ok: bool = True, *samples: Sample, **kw: object) -> None:
        self.store.put(Result(self.jobs[key], ok, 0.1, at, samples, **kw))  # type: ignore[arg-type]

    def all_up(self, at: float) -> None:
        for key in self.jobs:
            self.put(key, at)

    def status(self, maintenance: dict[str, dict[str, object]] | None = None) -> dict:  # type: ignore[type-arg]
        return estate_status(self.inventory, self.store, maintenance, book=self.book)


def test_a_condition_keeps_the_time_it_was_first_seen_until_it_clears() -> None:
    city = City()
    city.all_up(100.0)
    city.put("bs-a", 110.0, True, Sample(MAINS, 0))
    city.put("bs-a", 120.0, True, Sample(MAINS, 0))
    [seen] = city.book.conditions("bs-a")
    assert (seen.finding.key, seen.since) == ("mains_failure", 110.0)
    city.put("bs-a", 130.0, True, Sample(MAINS, 1))
    assert city.book.conditions("bs-a") == []
    city.put("bs-a", 140.0, True, Sample(MAINS, 0))
    assert [c.since for c in city.book.conditions("bs-a")] == [140.0]  # it came back: anew
    city.store.remove(city.jobs["bs-a"].key)
    assert city.book.conditions("bs-a") == []


def test_a_failure_is_dated_from_its_first_failed_poll() -> None:
    city = City()
    city.put("rtr", 100.0)
    city.put("rtr", 110.0, False, reason="timeout")
    city.put("rtr", 120.0, False, reason="timeout")
    assert city.book.failing_since(("rtr", "p")) == 110.0
    city.put("rtr", 130.0)
    assert city.book.failing_since(("rtr", "p")) is None


def test_a_mains_failure_makes_the_site_degraded_and_is_the_first_problem() -> None:
    city = City()
    city.all_up(100.0)
    city.put("bs-a", 110.0, True, Sample(MAINS, 0))
    city.put("ups-a", 112.0, True, Sample(UPS_SOURCE, 1, (("state", "battery"),)))
    shown = board(city.status())
    assert {s["id"]: s["state"] for s in shown["sites"]} == {"hq": "up", "a": "degraded", "b": "up"}
    rows = {r["system"]: r["counts"] for r in shown["summary"]["rows"]}
    assert rows["radio"] == {"up": 1, "degraded": 1, "down": 0, "unreachable": 0, "maintenance": 0}
    assert rows["power"]["degraded"] == 1
    assert shown["summary"]["total"] == {
        "counts": {"up": 3, "degraded": 2, "down": 0, "unreachable": 0, "maintenance": 0},
        "total": 5,
    }
    assert [
        (p["asset"], p["severity"], p["en"], p["since"], p["runbook"]) for p in shown["problems"]
    ] == [
        ("bs-a", "critical", "Mains failure: on battery", 110.0, "/runbooks/SiteMainsFailure.md"),
        ("ups-a", "warning", "UPS on battery", 112.0, "/runbooks/UpsOnBattery.md"),
    ]


def test_problems_are_worst_first_with_their_reasons_in_words() -> None:
    city = City()
    city.all_up(100.0)
    # The SIP trunk answers 503 (out of service: degraded), the base station's O&M port
    # refuses (one probe of two), the router times out (down) and what is behind it is
    # unreachable.
    code = Family("trunkwatch_sip_response_code", "gauge", "code")
    city.put("sip", 130.0, False, Sample(code, 503), reason="unavailable", message="503")
    city.put("bs-a/om", 120.0, False, reason="refused", message="connection refused")
    city.put("rtr", 140.0, False, reason="timeout", message="no reply")
    city.put("bs-b", 150.0, False, reason="unreachable", message="upstream asset bs-a is down")
    city.put("bs-b", 160.0, False, reason="unreachable", message="upstream asset bs-a is down")
    shown = board(city.status())
    states = {a["id"]: a["state"] for a in city.status()["assets"]}
    assert states == {
        "rtr": "down", "sip": "degraded", "bs-a": "degraded", "ups-a": "up", "bs-b": "unreachable",
    }  # fmt: skip
    assert [(p["asset"], p["state"], p["severity"], p["alert"]) for p in shown["problems"]] == [
        ("rtr", "down", "critical", "AssetDown"),
        ("sip", "degraded", "critical", "SipTrunkOutOfService"),  # newer than bs-a's
        ("bs-a", "degraded", "critical", "ServiceDown"),
        ("bs-b", "unreachable", "info", "SiteUnreachable"),
    ]
    by_asset = {p["asset"]: p for p in shown["problems"]}
    assert (by_asset["rtr"]["zh"], by_asset["rtr"]["en"]) == (
        "设备无响应：无应答（超时）", "Not answering: no answer (timeout)",
    )  # fmt: skip
    assert by_asset["rtr"]["detail"] == "p: no reply"
    assert by_asset["bs-a"]["en"] == "Probe om failing: connection refused"
    assert by_asset["bs-a"]["since"] == 120.0
    # bs-b's own parent bs-a answers (one probe of two): no asset above it is down to name.
    assert by_asset["bs-b"]["en"] == "Unreachable"
    assert by_asset["bs-b"]["since"] == 150.0


def test_an_unreachable_asset_names_the_failed_asset_above_it() -> None:
    city = City()
    city.all_up(100.0)
    city.put("rtr", 110.0, False, reason="timeout")
    for key in ("bs-a", "bs-a/om", "ups-a", "bs-b"):
        city.put(key, 111.0, False, reason="unreachable")
    problems = {p["asset"]: p for p in board(city.status())["problems"]}
    # bs-b's parent bs-a is down too, but only because the router is: the router is named.
    assert problems["bs-b"]["zh"] == "不可达：上级设备 rtr name 故障"
    assert problems["bs-b"]["en"] == "Unreachable: behind rtr name, down"
    assert problems["ups-a"]["en"] == "Unreachable: behind rtr name, down"


def test_maintenance_is_milder_than_a_fault_and_raises_no_problem() -> None:
    city = City()
    city.all_up(100.0)
    city.put("bs-a", 110.0, False, reason="timeout")
    city.put("bs-a/om", 110.0, False, reason="timeout")
    window = {"window": "w-1", "until": 200.0, "owner": "lina", "reason": "换整流模块"}
    shown = board(city.status({"bs-a": window, "ups-a": window}))
    assert {s["id"]: s["state"] for s in shown["sites"]}["a"] == "maintenance"
    assert shown["problems"] == []
    assert [(m["asset"], m["measured"], m["owner"]) for m in shown["maintenance"]] == [
        ("bs-a", "down", "lina"), ("ups-a", "up", "lina"),
    ]  # fmt: skip
    assert shown["summary"]["total"]["counts"]["maintenance"] == 2
    # A fault elsewhere on the site outranks the maintenance.
    city.put("bs-b", 120.0, False, reason="timeout")
    city.inventory = replace(
        city.inventory,
        assets=MappingProxyType(
            {**city.inventory.assets, "bs-b": replace(city.inventory.assets["bs-b"], site="a")}
        ),
    )
    assert {s["id"]: s["state"] for s in board(city.status({"bs-a": window}))["sites"]}[
        "a"
    ] == "down"


def test_the_troubled_assets_alone_give_the_same_problems_as_the_whole_estate() -> None:
    city = City()
    city.all_up(100.0)
    city.put("bs-a", 110.0, True, Sample(MAINS, 0))  # a condition, every probe answering
    city.put("rtr", 120.0, False, reason="timeout", message="no reply")
    city.put("sip", 121.0, False, reason="unreachable")  # behind the router, which is named
    city.put("ups-a", 122.0, False, reason="timeout")  # in maintenance: no problem
    window = {"window": "w-1", "until": 200.0, "owner": "lina", "reason": "换电池"}
    whole = estate_status(city.inventory, city.store, {"ups-a": window}, book=city.book)
    narrowed = troubled_status(city.inventory, city.store, {"ups-a": window}, city.book)
    assert active_problems(narrowed) == active_problems(whole)
    assert [p["asset"] for p in active_problems(narrowed)] == ["rtr", "bs-a", "sip"]
    assert active_problems(narrowed)[2]["en"] == "Unreachable: behind rtr name, down"
    assert [a["id"] for a in narrowed["assets"]] == ["rtr", "sip", "bs-a", "ups-a"]
    assert [s["id"] for s in narrowed["sites"]] == ["hq", "a"]
    city.all_up(130.0)
    city.put("bs-a", 140.0, True, Sample(MAINS, 0))
    assert city.book.troubled() == {"bs-a"}  # a condition alone
    city.put("bs-a", 150.0, True, Sample(MAINS, 1))
    narrowed = troubled_status(city.inventory, city.store, {}, city.book)
    assert (city.book.troubled(), narrowed["assets"], active_problems(narrowed)) == (set(), [], [])


def test_the_pending_column_shows_only_while_some_asset_has_no_result() -> None:
    city = City()
    city.put("rtr", 100.0)
    assert board(city.status())["summary"]["columns"][-1] == "pending"
    city.all_up(110.0)
    assert board(city.status())["summary"]["columns"] == [
        "up", "degraded", "down", "unreachable", "maintenance",
    ]  # fmt: skip


def test_the_map_draws_located_sites_their_links_and_lists_the_others() -> None:
    city = City()
    city.all_up(100.0)
    drawn = board(city.status())["map"]
    assert [s["id"] for s in drawn["sites"]] == ["hq", "a"]
    assert [(link["parent"], link["child"]) for link in drawn["links"]] == [("hq", "a")]
    assert [s["id"] for s in drawn["unplaced"]] == ["b"]


# -- the map ----------------------------------------------------------------------------------


def demo_sites() -> list[MapSite]:
    config = load_config(REPO / "monitor.yaml")
    inventory = build_inventory(config)
    return [
        MapSite(s.id, s.name, s.name_en, s.coordinates, s.parent) for s in inventory.sites.values()
    ]


def label_box(site: PlacedSite, name: str, name_en: str | None) -> tuple[float, ...]:
    top = site.label_zh_y - FONT_ZH * 0.88
    width = max(text_width(name, FONT_ZH), text_width(name_en or "", FONT_EN))
    return site.label_x, top, site.label_x + width, site.label_en_y


def overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def check_map(sites: list[MapSite]) -> None:
    drawn = site_map(sites)
    by_id = {s.id: s for s in sites}
    placed = {p.id: p for p in drawn.sites}
    assert set(placed) == {s.id for s in sites if s.coordinates}
    for one, other in itertools.combinations(drawn.sites, 2):
        assert math.hypot(one.x - other.x, one.y - other.y) >= 2 * RADIUS, (one.id, other.id)
    boxes = {i: label_box(p, by_id[i].name, by_id[i].name_en) for i, p in placed.items()}
    for (i, box_i), (j, box_j) in itertools.combinations(boxes.items(), 2):
        assert not overlaps(box_i, box_j), (i, j)
    for i, box in boxes.items():
        assert box[0] >= 0 and box[2] <= WIDTH and box[1] >= 0 and box[3] <= HEIGHT, i
        for j, p in placed.items():
            marker = (p.x - RADIUS, p.y - RADIUS, p.x + RADIUS, p.y + RADIUS)
            assert i == j or not overlaps(box, marker), (i, j)


def test_the_demo_city_is_drawn_with_north_up_and_no_label_over_another() -> None:
    sites = demo_sites()
    check_map(sites)
    at = {p.id: p for p in site_map(sites).sites}
    # Mashan and Shanglin are the northern counties, Hengzhou the south-east; Long'an lies
    # west.
    assert at["mashan"].y < at["hq"].y < at["hengzhou"].y
    assert at["longan"].x < at["hq"].x < at["hengzhou"].x
    # Bearings from the centre are kept (distances are compressed): Binyang lies north-east
    # of the centre, Jiangnan south-west.
    assert at["binyang"].x > at["hq"].x and at["binyang"].y < at["hq"].y
    assert at["jiangnan"].x < at["hq"].x and at["jiangnan"].y > at["hq"].y


def test_twenty_sites_in_one_district_still_get_a_label_each() -> None:
    sites = [MapSite("hq", "市应急联动中心", "Emergency Linkage Centre", (22.82, 108.37), None)]
    for n in range(19):
        angle = n * 2 * math.pi / 19
        lat, lon = 22.82 + 0.02 * math.sin(angle) * (1 + n % 3), 108.37 + 0.02 * math.cos(angle)
        sites.append(MapSite(f"s{n}", f"第{n}号基站", f"Site {n}", (lat, lon), "hq"))
    check_map(sites)

"""A small fleet with inspection plans for the inspection tests: configuration files, a
service over a real SQLite store, a settable clock and live probe results."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry

from monitor.config import load_config
from monitor.core.clock import ManualClock
from monitor.inspections.plans import build_setup, hash_token
from monitor.inspections.service import InspectionService
from monitor.inspections.store import open_store
from monitor.inventory import Asset, Job
from monitor.results import Result, ResultStore
from probes.base import Family, Sample, Target

SHANGHAI = ZoneInfo("Asia/Shanghai")

#: Personal tokens of the test roster (long enough to be accepted).
TOKENS = {
    "zhangwei": "token-zhangwei-0123456789abcdef",
    "lina": "token-lina-0123456789abcdef012345",
    "wangqiang": "token-wangqiang-0123456789abcdef",
    "zhaomin": "token-zhaomin-0123456789abcdef01",
}

FLEET = """\
centre:
  timezone: Asia/Shanghai
server:
  data_dir: {data_dir}
sites:
  - {{id: hq, name: 市应急联动中心, name_en: Centre}}
  - {{id: xingning, name: 兴宁基站, name_en: Xingning}}
  - {{id: xixiangtang, name: 西乡塘基站, name_en: Xixiangtang}}
assets:
  - {{id: bs-xingning, site: xingning, system: radio, kind: tetra_bs, address: 127.0.0.1}}
  - {{id: bs-xixiangtang, site: xixiangtang, system: radio, kind: tetra_bs, address: 127.0.0.1}}
  - {{id: e1-gw-110, site: hq, system: line, kind: e1_gateway, address: 127.0.0.1}}
  - {{id: core-sw-1, site: hq, system: network, kind: switch, address: 127.0.0.1}}
"""

ROSTER = f"""\
  roster:
    - {{id: zhangwei, name: 张伟, name_en: Zhang Wei, team: radio, token_sha256: {hash_token(TOKENS["zhangwei"])}}}
    - {{id: lina, name: 李娜, name_en: Li Na, team: radio, token_sha256: {hash_token(TOKENS["lina"])}}}
    - {{id: wangqiang, name: 王强, name_en: Wang Qiang, team: line, token_sha256: {hash_token(TOKENS["wangqiang"])}}}
    - {{id: zhaomin, name: 赵敏, name_en: Zhao Min, role: supervisor, token_sha256: {hash_token(TOKENS["zhaomin"])}}}
"""

#: A plan of each recurrence, on this fleet, each owed since 2020 (``start:``): the tests set
#: the clock to any instant, also before the store first saw the plans, or run on the real one.
PLANS = """\
  metrics:
    vswr: trunkwatch_bs_vswr_ratio
    battery_voltage: trunkwatch_ups_battery_voltage_volts
  plans:
    - id: daily-radio
      title: 无线集群系统日检
      title_en: Daily radio check
      scope: {per: system, system: radio}
      recurrence: daily
      start: 2020-01-01
      due: {time: "10:00"}
      grace: 2h
      owner: zhangwei
      deputy: lina
      checklist:
        - {id: reachable, kind: automated, title: 基站可达, check: "all trunkwatch_probe_success == 1"}
        - {id: test-call, kind: confirmation, title: 试呼正常, title_en: Test call}
    - id: monthly-power
      title: 蓄电池月检
      scope: {per: site, system: radio}
      recurrence: monthly
      start: 2020-01-01
      due: {day: 5}
      grace: 1d
      owner: radio
      deputy: zhaomin
      checklist:
        - id: battery-voltage
          kind: reading
          title: 蓄电池电压
          unit: V
          accept: {ge: 52.0, le: 56.5}
          live: {metric: $battery_voltage, tolerance: 0.5}
        - {id: condition, kind: confirmation, title: 无鼓胀漏液}
    - id: quarterly-vswr
      title: 天馈驻波比季检
      scope: {per: asset, system: radio}
      recurrence: quarterly
      start: 2020-01-01
      due: {month: 1, day: 20}
      grace: 2d
      owner: radio
      checklist:
        - {id: vswr, kind: automated, title: 驻波比 ≤ 1.5, check: "all $vswr <= 1.5"}
        - {id: feeder, kind: confirmation, title: 馈线无进水}
    - id: yearly-earthing
      title: 接地电阻年检
      scope: {per: site, site: [hq]}
      recurrence: yearly
      start: 2020-01-01
      due: {month: 4, day: 30}
      grace: 7d
      owner: wangqiang
      deputy: zhaomin
      checklist:
        - {id: earthing, kind: reading, title: 接地电阻, unit: Ω, accept: {lt: 4}}
"""


def write_config(
    folder: Path, *, inspections: str | None = None, data_dir: Path | None = None
) -> Path:
    """monitor.yaml for the small fleet, with ``inspections`` (default: ROSTER + PLANS)."""
    body = inspections if inspections is not None else ROSTER + PLANS
    text = FLEET.format(data_dir=data_dir or folder / "data") + "inspections:\n" + body
    path = folder / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def dedent(text: str) -> str:
    return textwrap.dedent(text)


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> float:
    """A Unix time from a local Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).timestamp()


class SetClock(ManualClock):
    """A clock a test sets to any wall-clock instant; the service reads ``time()`` only."""

    def __init__(self, t: float) -> None:
        super().__init__(wall=t)

    @property
    def t(self) -> float:
        return self.time()

    def set(self, *args: int) -> None:
        self.set_time(local(*args))


def make_service(
    config_path: Path,
    clock: SetClock,
    results: ResultStore | None = None,
    registry: CollectorRegistry | None = None,
    store_url: str | None = None,
) -> InspectionService:
    setup = build_setup(load_config(config_path))
    store = open_store(store_url or setup.store_url, setup.data_dir)
    return InspectionService(setup, store, clock, results, registry)


_FAMILIES: dict[str, Family] = {}


def family(name: str) -> Family:
    return _FAMILIES.setdefault(name, Family(name, "gauge", name))


class _NoProbe:
    async def run(self, target: Target) -> object:  # pragma: no cover - never scheduled
        raise AssertionError


def put_result(
    results: ResultStore,
    asset_id: str,
    *,
    site: str,
    system: str = "radio",
    kind: str = "tetra_bs",
    probe: str = "snmp",
    success: bool = True,
    at: float,
    samples: Iterable[tuple[str, dict[str, str], float]] = (),
) -> None:
    """Store a probe result for an asset as the scheduler would."""
    asset = Asset(asset_id, site, system, kind, asset_id, Target(asset_id, "127.0.0.1"), None)
    job = Job(asset, probe, probe, 60.0, 10.0, _NoProbe())  # type: ignore[arg-type]
    results.put(
        Result(
            job,
            success,
            0.01,
            at,
            tuple(Sample(family(n), v, tuple(sorted(labels.items()))) for n, labels, v in samples),
        )
    )


def radio_up(results: ResultStore, at: float) -> None:
    """Both base stations answering at ``at`` with the readings the radio round checks."""
    for asset, site in (("bs-xingning", "xingning"), ("bs-xixiangtang", "xixiangtang")):
        put_result(results, asset, site=site, at=at, samples=[
            ("trunkwatch_bs_vswr_ratio", {"carrier": "1"}, 1.2),
            ("trunkwatch_bs_vswr_ratio", {"carrier": "2"}, 1.3),
            ("trunkwatch_ups_battery_voltage_volts", {}, 54.0),
        ])  # fmt: skip

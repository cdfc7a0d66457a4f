"""``trunkwatch availability report`` reads the planned maintenance windows recorded by
``trunkwatch maintenance`` from the configuration's inspection store: a fault inside a window is
maintenance, not an outage, and the window's time is left out of the availability. Prometheus
is the loopback stand-in of test_availability_report.py."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from monitor.config import load_config
from monitor.inspections.maintenance.service import MaintenanceService
from monitor.inspections.plans import build_setup
from monitor.inspections.store import open_store
from tests.unit import availability_month as m
from tests.unit.inspections_fleet import ROSTER, SetClock
from tests.unit.test_availability_report import command
from tests.unit.test_availability_report import fake_prometheus as availability_prometheus

#: The availability tests' stand-in for Prometheus.
fake_prometheus = availability_prometheus

CONFIG = """\
centre: {{name: 测试中心, timezone: Asia/Shanghai}}
server: {{data_dir: {data_dir}}}
sites:
  - {{id: hq, name: 市应急联动中心, backhaul: core-rtr-1}}
  - {{id: xingning, name: 兴宁区基站, parent: hq, backhaul: bs-xingning}}
assets:
  - {{id: core-rtr-1, site: hq, system: network, kind: router, address: 127.0.0.1:1}}
  - {{id: bs-xingning, site: xingning, system: radio, kind: tetra_bs, address: 127.0.0.1:2}}
inspections:
"""


async def test_a_fault_inside_a_recorded_window_is_maintenance_not_an_outage(
    fake_prometheus: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    url, state = fake_prometheus
    config = tmp_path / "monitor.yaml"
    config.write_text(CONFIG.format(data_dir=tmp_path / "data") + ROSTER, encoding="utf-8")
    t0 = m.START.timestamp()
    # The router is worked on from 00:10 for 5 minutes, and fails all that time; the base
    # station fails on its own from 01:00 for 5 minutes.
    setup = build_setup(load_config(config))
    store = open_store(setup.store_url, setup.data_dir)
    MaintenanceService(setup.maintenance, store, SetClock(t0 + 600)).start(
        "zhangwei", "asset", "core-rtr-1", 300, "板卡更换 line card swap"
    )
    store.close()
    polls = [t0 - 60 + 60 * i for i in range(24 * 60 + 2)]
    base = {"__name__": "trunkwatch_probe_success", "probe": "snmp"}
    state["matrix"] = [
        {"metric": base | {"site": "hq", "asset": "core-rtr-1"},
         "values": [[t, "0" if 600 <= t - t0 < 900 else "1"] for t in polls]},
        {"metric": base | {"site": "xingning", "asset": "bs-xingning"},
         "values": [[t, "0" if 3600 <= t - t0 < 3900 else "1"] for t in polls]},
    ]  # fmt: skip
    out = tmp_path / "report.json"
    code, _, err = await asyncio.to_thread(
        command, "-c", str(config), "--month", "2026-11", "--prometheus", url, "--out", str(out)
    )
    assert code == 0, err
    rows = {(r["level"], r["id"]): r for r in json.loads(out.read_text(encoding="utf-8"))}
    router, station = rows[("asset", "core-rtr-1")], rows[("asset", "bs-xingning")]
    assert (router["maintenance_seconds"], router["outages"], router["down_seconds"]) == (
        300, [], 0,
    )  # fmt: skip
    assert station["maintenance_seconds"] == 0
    assert [(o["cause"], o["duration_seconds"]) for o in station["outages"]] == [("down", 300)]

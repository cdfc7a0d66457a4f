"""Planned maintenance windows over a real SQLite store, with a clock that is set rather than
waited for, and a fake Alertmanager (``FakeSilences``) standing in for the silence API — the
real one is in tests/integration/test_maintenance_alertmanager.py and
test_maintenance_e2e.py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from monitor.config import load_config
from monitor.core.sources import ConfigError
from monitor.inspections.errors import Conflict, InvalidEntry, NotFound
from monitor.inspections.maintenance.records import WindowState
from monitor.inspections.maintenance.service import MaintenanceService, marker
from monitor.inspections.maintenance.silences import Matcher, Silence, SilenceError, SilenceSpec
from monitor.inspections.plans import build_setup
from monitor.inspections.service import InspectionService
from monitor.inspections.store import open_store
from tests.unit.inspections_fleet import PLANS, ROSTER, SetClock, local, write_config

START = local(2028, 3, 1, 9)
SITE = [Matcher("site", "xixiangtang"), Matcher("alertname", "Inspection.*", True, False)]


@dataclass
class FakeSilences:
    """Alertmanager's silences as a list; ``down`` makes every call fail as unreachable."""

    silences: dict[str, Silence] = field(default_factory=dict)
    specs: list[SilenceSpec] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    down: bool = False
    #: Called inside ``create`` before it returns (to interleave a second process).
    during_create: Callable[[], object] | None = None

    def _reach(self) -> None:
        if self.down:
            raise SilenceError("cannot reach Alertmanager (127.0.0.1:9093: connection refused)")

    def create(self, spec: SilenceSpec) -> str:
        self._reach()
        if self.during_create is not None:
            hook, self.during_create = self.during_create, None
            hook()
        silence_id = f"s{len(self.silences) + 1}"
        self.specs.append(spec)
        self.silences[silence_id] = Silence(
            silence_id, "active", spec.starts_at, spec.ends_at, spec.created_by, spec.comment,
            spec.matchers,
        )  # fmt: skip
        return silence_id

    def expire(self, silence_id: str) -> None:
        self._reach()
        self.expired.append(silence_id)
        found = self.silences[silence_id]
        self.silences[silence_id] = Silence(
            found.id, "expired", found.starts_at, found.ends_at, found.created_by,
            found.comment, found.matchers,
        )  # fmt: skip

    def find(self, marker: str, matchers: object) -> Silence | None:
        self._reach()
        return next(
            (s for s in self.silences.values() if s.state != "expired" and marker in s.comment),
            None,
        )

    def standing(self) -> list[str]:
        return [s.id for s in self.silences.values() if s.state != "expired"]


@pytest.fixture
def clock() -> SetClock:
    return SetClock(START)


@pytest.fixture
def am() -> FakeSilences:
    return FakeSilences()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def inspections(
    tmp_path: Path, clock: SetClock, am: FakeSilences, registry: CollectorRegistry
) -> InspectionService:
    setup = build_setup(load_config(write_config(tmp_path)))
    store = open_store(setup.store_url, setup.data_dir)
    return InspectionService(setup, store, clock, None, registry, silences=am)


@pytest.fixture
def service(inspections: InspectionService) -> MaintenanceService:
    return inspections.maintenance


def active(registry: CollectorRegistry, asset: str, site: str, system: str, kind: str) -> float:
    value = registry.get_sample_value(
        "trunkwatch_maintenance_active",
        {"asset": asset, "site": site, "system": system, "kind": kind},
    )
    assert value is not None, asset
    return value


def test_a_site_window_takes_every_asset_of_the_site_out_of_service_for_its_duration(
    service: MaintenanceService, clock: SetClock, am: FakeSilences, registry: CollectorRegistry
) -> None:
    window = service.start(
        "zhangwei", "site", "xixiangtang", 7200, "  更换整流模块\n rectifier swap "
    )

    assert (window.starts_at, window.ends_at) == (START, START + 7200)
    assert (window.owner, window.reason, window.site) == (
        "zhangwei", "更换整流模块 rectifier swap", "xixiangtang",
    )  # fmt: skip
    assert set(service.in_force()) == {"bs-xixiangtang"}
    assert active(registry, "bs-xixiangtang", "xixiangtang", "radio", "tetra_bs") == 1
    assert active(registry, "bs-xingning", "xingning", "radio", "tetra_bs") == 0
    assert active(registry, "e1-gw-110", "hq", "line", "e1_gateway") == 0
    assert registry.get_sample_value("trunkwatch_maintenance_windows") == 1

    # The silence: the site, never the inspection alerts, exactly the window, the owner.
    assert len(am.specs) == 1
    spec = am.specs[0]
    assert list(spec.matchers) == SITE
    assert (spec.starts_at, spec.ends_at, spec.created_by) == (START, START + 7200, "zhangwei")
    assert spec.comment == f"更换整流模块 rectifier swap ({marker(window.id)})"
    assert window.silence_id == "s1"
    assert service.get(window.id).silence_id == "s1"

    clock.set_time(START + 7199)
    assert set(service.in_force()) == {"bs-xixiangtang"}
    clock.set_time(START + 7200)  # over as planned: nothing to expire, Alertmanager ends it
    assert service.in_force() == {}
    assert active(registry, "bs-xixiangtang", "xixiangtang", "radio", "tetra_bs") == 0
    assert service.get(window.id).state(clock.t) is WindowState.OVER
    assert service.reconcile() == 0
    assert am.expired == []


def test_an_asset_window_ended_early_expires_its_silence_once_and_cannot_end_again(
    inspections: InspectionService, service: MaintenanceService, clock: SetClock, am: FakeSilences
) -> None:
    window = service.start("lina", "asset", "bs-xingning", 1800, "天馈线扫频 antenna sweep")
    assert [m.name for m in am.specs[0].matchers] == ["asset", "alertname"]
    assert am.specs[0].matchers[0].value == "bs-xingning"

    clock.set_time(START + 600)
    ended = service.end("zhangwei", window.id)

    assert (ended.ended_at, ended.ended_by, ended.state(clock.t)) == (
        START + 600, "zhangwei", WindowState.ENDED,
    )  # fmt: skip
    assert am.expired == ["s1"]
    assert ended.silence_expired_at == START + 600
    assert service.in_force() == {}
    with pytest.raises(Conflict, match="already ended"):
        service.end("zhangwei", window.id)
    assert service.reconcile() == 0
    assert am.expired == ["s1"]
    actions = [(e.actor, e.action, e.detail.get("window")) for e in inspections.store.audit_log()]
    assert actions[-2:] == [
        ("lina", "maintenance_start", window.id),
        ("zhangwei", "maintenance_end", window.id),
    ]


def test_bad_windows_are_refused_with_every_reason(service: MaintenanceService) -> None:
    with pytest.raises(NotFound, match="no asset 'bs-nowhere'"):
        service.start("zhangwei", "asset", "bs-nowhere", 3600, "x")
    with pytest.raises(NotFound, match="no site 'moon'"):
        service.start("zhangwei", "site", "moon", 3600, "x")
    with pytest.raises(InvalidEntry) as caught:
        service.start("zhangwei", "site", "xixiangtang", 30, "   ")
    assert set(caught.value.problems) == {"for", "reason"}
    with pytest.raises(InvalidEntry) as caught:
        service.start("zhangwei", "site", "xixiangtang", 8 * 86400, "x" * 501)
    assert caught.value.problems == {"for": "between 1m and 7d", "reason": "at most 500 characters"}
    with pytest.raises(NotFound, match="no maintenance window nope"):
        service.end("zhangwei", "nope")
    assert service.windows(past=True) == []


def test_alertmanager_down_keeps_the_window_and_a_later_pass_makes_exactly_one_silence(
    service: MaintenanceService,
    clock: SetClock,
    am: FakeSilences,
    registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    am.down = True
    caplog.set_level(logging.INFO, logger="trunkwatch.maintenance")
    window = service.start("zhangwei", "site", "xixiangtang", 3600, "发电机试运行 generator run")

    assert window.silence_id is None
    assert service.get(window.id).silence_id is None  # stored, without a silence
    assert set(service.in_force()) == {"bs-xixiangtang"}  # the board shows it all the same
    for _ in range(3):
        clock.set_time(clock.t + 5)
        assert service.reconcile() == 1
    assert registry.get_sample_value("trunkwatch_maintenance_silences_pending") == 1
    errors = {"operation": "create"}
    assert registry.get_sample_value("trunkwatch_maintenance_silence_errors_total", errors) == 4
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1, "logged once when it starts failing, not on every pass"
    assert "connection refused" in failures[0].getMessage()

    am.down = False
    assert service.reconcile() == 0
    assert service.reconcile() == 0
    assert am.standing() == ["s1"]
    assert service.get(window.id).silence_id == "s1"
    assert am.specs[0].ends_at == window.ends_at  # still the planned end
    assert registry.get_sample_value("trunkwatch_maintenance_silences_pending") == 0
    assert "in step with Alertmanager again" in caplog.text


def test_a_window_ended_while_alertmanager_was_down_has_its_silence_expired_later(
    service: MaintenanceService, clock: SetClock, am: FakeSilences
) -> None:
    window = service.start("zhangwei", "asset", "core-sw-1", 3600, "板卡更换 line card swap")
    am.down = True
    clock.set_time(START + 60)
    service.end("zhangwei", window.id)
    assert am.standing() == ["s1"]
    assert service.reconcile() == 1

    am.down = False
    assert service.reconcile() == 0
    assert am.standing() == []
    assert service.get(window.id).silence_expired_at == START + 60


def test_a_silence_made_but_never_recorded_is_adopted_not_made_twice(
    service: MaintenanceService, am: FakeSilences
) -> None:
    # As if a process had made the silence and died before writing down its id.
    am.down = True
    window = service.start("zhangwei", "site", "xixiangtang", 3600, "割接 cut-over")
    am.down = False
    am.create(service.spec(window))

    assert service.reconcile() == 0
    assert am.standing() == ["s1"]
    assert len(am.specs) == 1
    assert service.get(window.id).silence_id == "s1"


def test_two_processes_making_one_windows_silence_at_once_leave_one_standing(
    tmp_path: Path, clock: SetClock, am: FakeSilences
) -> None:
    setup = build_setup(load_config(write_config(tmp_path)))
    one = MaintenanceService(
        setup.maintenance, open_store(None, setup.data_dir), clock, silences=am
    )
    two = MaintenanceService(
        setup.maintenance, open_store(None, setup.data_dir), clock, silences=am
    )
    # While the first is inside Alertmanager's create, the second runs its whole pass: it finds
    # no silence yet for the window, makes its own and records it first.
    am.during_create = two.reconcile
    window = one.start("zhangwei", "site", "xixiangtang", 3600, "割接 cut-over")

    assert len(am.specs) == 2
    assert am.standing() == ["s1"]  # the second's, recorded first; the first's own expired
    assert am.expired == ["s2"]
    assert window.silence_id == "s1"
    assert one.get(window.id).silence_id == "s1"


def test_no_alertmanager_configured_means_windows_without_silences(
    tmp_path: Path, clock: SetClock
) -> None:
    setup = build_setup(load_config(write_config(tmp_path)))
    service = MaintenanceService(setup.maintenance, open_store(None, setup.data_dir), clock)
    assert service.silences is None
    window = service.start("zhangwei", "site", "xixiangtang", 3600, "x")
    assert window.silence_id is None
    assert service.reconcile() == 0
    assert set(service.in_force()) == {"bs-xixiangtang"}


def test_another_instances_window_is_seen_after_a_refresh(
    tmp_path: Path, clock: SetClock, am: FakeSilences
) -> None:
    setup = build_setup(load_config(write_config(tmp_path)))
    here = MaintenanceService(setup.maintenance, open_store(None, setup.data_dir), clock)
    there = MaintenanceService(setup.maintenance, open_store(None, setup.data_dir), clock)
    there.start("zhangwei", "asset", "bs-xingning", 3600, "x")
    assert here.in_force() == {}
    here.refresh()
    assert set(here.in_force()) == {"bs-xingning"}


OFFLINE_PLAN = """\
    - id: quarterly-generator
      title: 油机季检
      scope: {per: site, site: [xixiangtang]}
      recurrence: quarterly
      start: 2020-01-01
      due: {month: 1, day: 20}
      grace: 2d
      owner: radio
      checklist:
        - {id: load-run, kind: confirmation, title: 油机带载试运行, offline: 2h}
        - {id: fuel, kind: reading, title: 燃油存量, unit: "%", accept: {ge: 80}}
"""


def test_an_offline_item_opens_the_rounds_window_at_opening_and_the_signature_ends_it(
    tmp_path: Path, clock: SetClock, am: FakeSilences
) -> None:
    path = write_config(tmp_path, inspections=ROSTER + PLANS + OFFLINE_PLAN)
    setup = build_setup(load_config(path))
    service = InspectionService(setup, open_store(None, setup.data_dir), clock, silences=am)
    lina = service.person("lina")
    clock.set(2028, 1, 10, 9)

    draft = service.open_round(lina, "quarterly-generator", "site:xixiangtang")
    window = service.store.window_of_round(draft.id)
    assert window is not None
    assert (window.key, window.owner, window.ends_at - window.starts_at) == (
        "site:xixiangtang", "lina", 7200,
    )  # fmt: skip
    assert window.reason == "油机季检: 油机带载试运行 (巡检 round 2028-Q1)"
    assert set(service.maintenance.in_force()) == {"bs-xixiangtang"}
    assert am.standing() == ["s1"]

    clock.set(2028, 1, 10, 9, 30)
    assert service.open_round(lina, "quarterly-generator", "site:xixiangtang").id == draft.id
    assert len(service.store.windows()) == 1  # resumed: the window it had, no second one

    clock.set(2028, 1, 10, 10, 15)
    service.save(lina, draft.id, {"load-run": {"value": "是"}, "fuel": {"value": "92"}}, sign=True)
    ended = service.store.window_of_round(draft.id)
    assert ended is not None
    assert (ended.ended_at, ended.ended_by) == (local(2028, 1, 10, 10, 15), "lina")
    assert am.standing() == []
    assert service.maintenance.in_force() == {}


def test_offline_on_a_round_per_system_is_a_configuration_problem(tmp_path: Path) -> None:
    plan = """\
    - id: daily-line
      title: 有线日检
      scope: {per: system, system: line}
      recurrence: daily
      due: {time: "10:00"}
      owner: wangqiang
      checklist:
        - {id: switchover, kind: confirmation, title: 主备倒换, offline: 10m}
"""
    path = write_config(tmp_path, inspections=ROSTER + "  plans:\n" + plan)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:{_line(path, 'switchover')}: inspections.plans[0].checklist[0].offline: "
        "a round per system takes no single asset or site off line: scope the plan per asset "
        "or per site"
    ]


def _line(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_the_alertmanager_url_is_checked_line_by_line_and_never_echoes_a_password(
    tmp_path: Path,
) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        "alerting:\n"
        "  alertmanager_url:\n"
        "    - http://alertmanager:s3cret@127.0.0.1:9093\n"
        "    - ftp://127.0.0.1\n"
        "assets: []\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:3: alerting.alertmanager_url[0]: credentials in the URL are not accepted",
        f"{path}:4: alerting.alertmanager_url[1]: expected an http:// or https:// URL such as "
        "http://127.0.0.1:9093",
    ]
    assert "s3cret" not in str(caught.value)

    path.write_text(
        "alerting: {alertmanager_url: 'http://127.0.0.1:9093/'}\nassets: []\n", encoding="utf-8"
    )
    assert load_config(path).model.alerting.alertmanager_url == ["http://127.0.0.1:9093"]

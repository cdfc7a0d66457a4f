"""The silence client and the maintenance service against a real Alertmanager (the Debian
package) on loopback, with ``amtool`` — Alertmanager's own client — as the oracle of what
silences exist and what they match."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_config
from monitor.core.clock import SystemClock
from monitor.inspections.maintenance.service import MaintenanceService, marker
from monitor.inspections.maintenance.silences import (
    AlertmanagerSilences,
    Matcher,
    SilenceError,
    SilenceSpec,
    parse_time,
)
from monitor.inspections.plans import build_setup
from monitor.inspections.store import open_store
from tests.helpers import free_tcp_port
from tests.integration.promstack import Alertmanager, find_binary, start_alertmanager
from tests.unit.inspections_fleet import write_config

pytestmark = pytest.mark.integration

QUIET = {"route": {"receiver": "nobody"}, "receivers": [{"name": "nobody"}]}
SITE = (Matcher("site", "xixiangtang"), Matcher("alertname", "Inspection.*", True, False))


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alertmanager]:
    with start_alertmanager(tmp_path_factory.mktemp("am"), QUIET) as am:
        yield am


def amtool(am: Alertmanager, *args: str) -> Any:
    """``amtool … -o json`` against the test's Alertmanager, decoded."""
    binary = find_binary("amtool", package="prometheus-alertmanager")
    done = subprocess.run(
        [binary, "-o", "json", f"--alertmanager.url={am.url}", *args],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def silences_by_id(am: Alertmanager) -> dict[str, dict[str, Any]]:
    """Every silence amtool lists (expired ones too), by id."""
    return {s["id"]: s for s in amtool(am, "silence", "query", "--expired")} | {
        s["id"]: s for s in amtool(am, "silence", "query")
    }


def test_a_silence_is_made_found_and_expired_idempotently(alertmanager: Alertmanager) -> None:
    client = AlertmanagerSilences([alertmanager.url])
    now = round(time.time(), 3)
    spec = SilenceSpec(
        SITE, now, now + 3600.25, "zhangwei", "更换整流模块 (trunkwatch maintenance w-1)"
    )

    silence_id = client.create(spec)

    seen = silences_by_id(alertmanager)[silence_id]
    assert seen["status"]["state"] == "active"
    assert parse_time(seen["endsAt"]) == now + 3600.25  # to the millisecond
    # Alertmanager starts a silence no earlier than when it is made.
    assert now <= parse_time(seen["startsAt"]) < now + 2
    assert {
        (m["name"], m["value"], m["isRegex"], m.get("isEqual", True)) for m in seen["matchers"]
    } == {
        ("site", "xixiangtang", False, True),
        ("alertname", "Inspection.*", True, False),
    }
    assert (seen["createdBy"], seen["comment"]) == ("zhangwei", spec.comment)

    found = client.find("trunkwatch maintenance w-1", SITE)
    assert found is not None
    assert (found.id, found.state, found.ends_at) == (silence_id, "active", now + 3600.25)
    assert client.find("trunkwatch maintenance w-2", SITE) is None
    assert client.find("trunkwatch maintenance w-1", (Matcher("site", "xingning"),)) is None

    client.expire(silence_id)
    assert silences_by_id(alertmanager)[silence_id]["status"]["state"] == "expired"
    client.expire(silence_id)  # already expired: what was wanted, not an error
    client.expire("00000000-0000-4000-8000-000000000000")  # unknown to it: silences nothing
    assert client.find("trunkwatch maintenance w-1", SITE) is None


def test_an_unreachable_alertmanager_is_named_by_host_and_port_only(
    alertmanager: Alertmanager,
) -> None:
    port = free_tcp_port()
    spec = SilenceSpec(SITE, time.time(), time.time() + 600, "lina", "x")
    with pytest.raises(SilenceError) as caught:
        AlertmanagerSilences([f"http://127.0.0.1:{port}/am"], timeout=2).create(spec)
    assert str(caught.value) == (
        f"cannot reach Alertmanager (127.0.0.1:{port}: connection refused)"
    )
    # A cluster's peers are tried in order: the first is down, the second takes it.
    pair = AlertmanagerSilences([f"http://127.0.0.1:{port}", alertmanager.url], timeout=2)
    made = pair.create(spec)
    assert silences_by_id(alertmanager)[made]["status"]["state"] == "active"
    pair.expire(made)


def test_a_refused_silence_says_why_in_one_line(alertmanager: Alertmanager) -> None:
    client = AlertmanagerSilences([alertmanager.url])
    now = time.time()
    backwards = SilenceSpec(SITE, now + 600, now, "lina", "x")
    with pytest.raises(SilenceError, match=r"refused: 400 .*") as caught:
        client.create(backwards)
    assert "\n" not in str(caught.value)


def test_a_window_started_and_ended_early_has_its_silence_for_exactly_that_time(
    alertmanager: Alertmanager, tmp_path: Path
) -> None:
    config = write_config(tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text(f"alerting:\n  alertmanager_url: {alertmanager.url}\n{text}", "utf-8")
    setup = build_setup(load_config(config))
    service = MaintenanceService(setup.maintenance, open_store(None, setup.data_dir), SystemClock())

    window = service.start("zhangwei", "asset", "bs-xingning", 7200, "天馈线扫频 antenna sweep")

    assert window.silence_id is not None
    seen = silences_by_id(alertmanager)[window.silence_id]
    assert parse_time(seen["endsAt"]) == window.ends_at
    assert window.starts_at <= parse_time(seen["startsAt"]) < window.starts_at + 2
    assert [(m["name"], m["value"], m.get("isEqual", True)) for m in seen["matchers"]] == [
        ("asset", "bs-xingning", True), ("alertname", "Inspection.*", False),
    ]  # fmt: skip
    assert seen["createdBy"] == "zhangwei"
    assert seen["comment"] == f"天馈线扫频 antenna sweep ({marker(window.id)})"

    ended = service.end("lina", window.id)
    assert ended.silence_expired_at is not None
    assert silences_by_id(alertmanager)[window.silence_id]["status"]["state"] == "expired"
    assert service.reconcile() == 0

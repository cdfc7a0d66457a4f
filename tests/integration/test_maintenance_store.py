"""Maintenance windows in the inspection store against real SQLite and a real PostgreSQL: the
window's life (start, early end, one silence, its expiry), and the database itself refusing
any other change, even from a connection that bypasses trunkwatch."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from monitor.inspections.errors import Conflict, NotFound
from monitor.inspections.maintenance.records import MaintenanceWindow, Scope, WindowState
from monitor.inspections.schema import SQLITE_MIGRATIONS
from monitor.inspections.store import SCHEMA_VERSION, SqliteStore, open_store
from tests.integration.inspections_pg import PostgresCluster, postgres  # noqa: F401
from tests.integration.test_inspections_store import Backend, draft
from tests.integration.test_inspections_store import backend as store_backend

pytestmark = pytest.mark.integration

#: The inspection store tests' fixture: each test runs on SQLite and on PostgreSQL.
backend = store_backend

T0 = 1_830_000_000.0


def window(window_id: str = "w-1", *, round_id: str | None = None) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=window_id,
        scope=Scope.SITE,
        target="xixiangtang",
        site="xixiangtang",
        starts_at=T0,
        ends_at=T0 + 7200,
        reason="更换整流模块 rectifier swap",
        owner="zhangwei",
        created_at=T0,
        round_id=round_id,
    )


def test_a_window_is_started_ended_early_once_and_silenced_once(backend: Backend) -> None:
    store = backend.store
    started = store.add_window(window())
    assert started == window()
    assert store.windows(ending_after=T0 + 7199) == [started]
    assert store.windows(ending_after=T0 + 7200) == []

    # Two processes record a silence each: the first one recorded is the one kept.
    assert store.record_silence("w-1", "silence-a", T0 + 1) == "silence-a"
    assert store.record_silence("w-1", "silence-b", T0 + 2) == "silence-a"

    ended = store.end_window("w-1", "lina", T0 + 600)
    assert (ended.ended_at, ended.ended_by, ended.silence_id) == (T0 + 600, "lina", "silence-a")
    assert ended.state(T0 + 601) is WindowState.ENDED
    with pytest.raises(Conflict, match="already ended"):
        store.end_window("w-1", "lina", T0 + 700)
    store.expire_silence("w-1", T0 + 601)
    store.expire_silence("w-1", T0 + 900)  # once: the first expiry stays
    assert store.window("w-1").silence_expired_at == T0 + 601
    # Ended early: no longer in force, still within its planned time for the reconcile pass.
    assert store.windows(ending_after=T0 + 700) == []
    assert [w.id for w in store.windows(planned_end_after=T0 + 700)] == ["w-1"]

    with pytest.raises(NotFound):
        store.end_window("nope", "lina", T0)
    store.add_window(window("w-2"))
    with pytest.raises(Conflict, match="already over"):
        store.end_window("w-2", "lina", T0 + 7200)
    actions = [(e.action, e.actor, e.detail.get("window")) for e in store.audit_log()][1:]
    assert actions == [
        ("maintenance_start", "zhangwei", "w-1"),
        ("maintenance_end", "lina", "w-1"),
        ("maintenance_start", "zhangwei", "w-2"),
    ]
    assert store.verify_audit_chain() == 4


def test_an_inspection_round_opens_one_window_at_most(backend: Backend) -> None:
    store = backend.store
    record = store.open_round(draft(), "wangqiang")
    store.add_window(window("w-1", round_id=record.id))
    with pytest.raises(Conflict, match="already opened its maintenance window"):
        store.add_window(window("w-2", round_id=record.id))
    assert store.window_of_round(record.id).id == "w-1"
    assert store.window_of_round("other") is None


def test_the_database_refuses_any_change_to_a_window_but_its_early_end(backend: Backend) -> None:
    store = backend.store
    store.add_window(window())
    store.record_silence("w-1", "silence-a", T0 + 1)
    ends = "a maintenance window only ever ends early, once"
    backend.refused("UPDATE maintenance_windows SET reason = 'other'", ends)
    backend.refused(f"UPDATE maintenance_windows SET ends_at = {T0 + 99999}", ends)
    backend.refused("UPDATE maintenance_windows SET owner = 'lina'", ends)
    backend.refused("DELETE FROM maintenance_windows", "never deleted")
    silence = "a maintenance silence is recorded once and only ever expires, once"
    backend.refused("UPDATE maintenance_silences SET silence_id = 'other'", silence)
    backend.refused("DELETE FROM maintenance_silences", "never deleted")
    if store.dialect == "postgresql":
        backend.refused("TRUNCATE maintenance_silences", "never deleted")
        backend.refused("TRUNCATE maintenance_windows CASCADE", "never deleted")

    # The one change allowed, once: an early end (with who), then nothing more.
    backend.sql(f"UPDATE maintenance_windows SET ended_at = {T0 + 60}, ended_by = 'lina'")
    backend.refused(f"UPDATE maintenance_windows SET ended_at = {T0 + 120}", ends)
    backend.sql(f"UPDATE maintenance_silences SET expired_at = {T0 + 60}")
    backend.refused(f"UPDATE maintenance_silences SET expired_at = {T0 + 90}", silence)
    assert store.window("w-1").ended_at == T0 + 60


def test_a_window_that_makes_no_sense_is_refused_by_the_database(backend: Backend) -> None:
    store = backend.store
    store.add_window(window())
    sqlite = store.dialect == "sqlite"
    refusal = sqlite3.IntegrityError if sqlite else psycopg.errors.CheckViolation
    words = "CHECK constraint failed" if sqlite else "violates check constraint"
    for statement in (
        # ends after its planned end: not early
        f"UPDATE maintenance_windows SET ended_at = {T0 + 9000}, ended_by = 'lina'",
        # ended by nobody
        f"UPDATE maintenance_windows SET ended_at = {T0 + 60}",
        "INSERT INTO maintenance_windows (id, scope, target, site, starts_at, ends_at, reason, "
        f"owner, created_at) VALUES ('w-9', 'system', 'radio', '', {T0}, {T0 + 60}, 'x', 'a', 0)",
        "INSERT INTO maintenance_windows (id, scope, target, site, starts_at, ends_at, reason, "
        f"owner, created_at) VALUES ('w-9', 'site', 'hq', 'hq', {T0}, {T0}, 'x', 'a', 0)",
    ):
        with pytest.raises(refusal, match=words):
            backend.sql(statement)
    assert store.window("w-1") == window()


def test_a_version_2_store_is_upgraded_in_place_and_keeps_its_records(tmp_path: Path) -> None:
    old = SqliteStore(tmp_path / "inspections.sqlite3")
    # As the trunkwatch before maintenance windows.
    old.migrations = SQLITE_MIGRATIONS[:2]  # type: ignore[assignment]
    assert old.migrate() == 2
    before = old.open_round(draft(), "wangqiang")
    old.close()

    store = open_store(None, tmp_path)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.get_round(before.id) == before
    assert store.add_window(window(round_id=before.id)).round_id == before.id
    assert [e.action for e in store.audit_log()] == [
        "migrate", "open", "migrate", "maintenance_start",
    ]  # fmt: skip
    assert store.verify_audit_chain() == 4
    store.close()

"""The shift log and handovers in the inspection store against real SQLite and a real
PostgreSQL: faults raised once per key and cleared once, log lines that never change, a
handover signed once and acknowledged once by someone else, and the database itself refusing
any other change, even from a connection that bypasses trunkwatch."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from monitor.inspections.errors import Conflict, NotFound
from monitor.inspections.handover.records import DutyEvent, EventKind, Fault, Handover
from monitor.inspections.schema import SQLITE_MIGRATIONS
from monitor.inspections.store import SCHEMA_VERSION, SqliteStore
from tests.integration.inspections_pg import PostgresCluster, postgres  # noqa: F401
from tests.integration.test_inspections_store import Backend
from tests.integration.test_inspections_store import backend as store_backend

pytestmark = pytest.mark.integration

backend = store_backend

T0 = 1_830_000_000.0
SHIFT = "2027-12-28T08:00"


def fault(fault_id: str, key: str = "bs-1 SiteMainsFailure", at: float = T0) -> Fault:
    return Fault(fault_id, key, "bs-1", "site-1", "SiteMainsFailure", "critical", "市电中断",
                 "Mains failure", at)  # fmt: skip


def handover() -> Handover:
    return Handover(SHIFT, T0, T0 + 43200, "zhangwei", "正常", T0 + 40000, '{"entries": []}',
                    "a" * 64)  # fmt: skip


def test_faults_open_once_per_key_and_clear_once(backend: Backend) -> None:
    store = backend.store
    assert store.raise_fault(fault("f-1"))
    # A second instance seeing the same problem writes nothing.
    assert not store.raise_fault(fault("f-2", at=T0 + 5))
    assert [f.id for f in store.open_faults()] == ["f-1"]
    store.clear_fault("f-1", T0 + 600)
    store.clear_fault("f-1", T0 + 900)  # already cleared: unchanged
    [cleared] = store.faults_between(T0 + 599, T0 + 601)
    assert (cleared.raised_at, cleared.cleared_at) == (T0, T0 + 600)
    assert store.faults_between(T0 + 600.5, T0 + 700) == []
    # The same problem coming back is a new fault.
    assert store.raise_fault(fault("f-3", at=T0 + 1000))
    assert [f.id for f in store.faults_between(T0, T0 + 2000)] == ["f-1", "f-3"]
    # A clear before the raise (clocks apart) is recorded at the raise.
    store.clear_fault("f-3", T0 + 900)
    assert store.faults_between(T0 + 999, T0 + 1001)[0].cleared_at == T0 + 1000


def test_a_handover_is_signed_once_and_acknowledged_once(backend: Backend) -> None:
    store = backend.store
    with pytest.raises(NotFound):
        store.acknowledge_handover(SHIFT, "lina", "", T0 + 43300)
    signed = store.sign_handover(handover())
    assert signed == handover()
    with pytest.raises(Conflict, match="handed over already"):
        store.sign_handover(handover())
    done = store.acknowledge_handover(SHIFT, "lina", "已知悉", T0 + 43300)
    assert (done.incoming, done.incoming_notes, done.complete) == ("lina", "已知悉", True)
    with pytest.raises(Conflict, match="acknowledged already"):
        store.acknowledge_handover(SHIFT, "wangqiang", "", T0 + 43400)
    assert [h.shift for h in store.handovers(ending_after=T0)] == [SHIFT]
    assert store.handovers(ending_after=T0 + 43200) == []
    actions = [(a.actor, a.action) for a in store.audit_log()][-2:]
    assert actions == [("zhangwei", "handover_sign"), ("lina", "handover_acknowledge")]
    assert store.verify_audit_chain() >= 2


def test_the_database_refuses_any_change_to_the_log_and_handovers(backend: Backend) -> None:
    store = backend.store
    store.raise_fault(fault("f-1"))
    store.add_event(DutyEvent("e-1", T0, EventKind.NOTE, "lina", "机房巡视正常"))
    store.sign_handover(handover())
    clears = "a duty fault only ever clears, once"
    backend.refused("UPDATE duty_faults SET zh = 'other'", clears)
    backend.refused(f"UPDATE duty_faults SET raised_at = {T0 - 1}", clears)
    backend.refused("DELETE FROM duty_faults", "the shift log is append-only")
    backend.refused("UPDATE duty_events SET text = 'other'", "the shift log is append-only")
    backend.refused("DELETE FROM duty_events", "the shift log is append-only")
    sealed = "a signed handover is only ever acknowledged, once"
    backend.refused("UPDATE handovers SET outgoing_notes = 'forged'", sealed)
    backend.refused("UPDATE handovers SET log = '{}'", sealed)
    backend.refused("UPDATE handovers SET log_digest = '" + "b" * 64 + "'", sealed)
    backend.refused("DELETE FROM handovers", sealed)
    if store.dialect == "postgresql":
        backend.refused("TRUNCATE handovers", sealed)
        backend.refused("TRUNCATE duty_events", "the shift log is append-only")
    # Taking over from oneself is refused by the database too.
    refusal = (sqlite3.IntegrityError, psycopg.errors.CheckViolation)
    with pytest.raises(refusal, match=r"CHECK constraint failed|violates check constraint"):
        backend.sql(f"UPDATE handovers SET incoming = 'zhangwei', acknowledged_at = {T0}")
    # The changes allowed, once: a fault's clear, a handover's acknowledgement.
    backend.sql(f"UPDATE duty_faults SET cleared_at = {T0 + 60}")
    backend.refused(f"UPDATE duty_faults SET cleared_at = {T0 + 90}", clears)
    backend.sql(f"UPDATE handovers SET incoming = 'lina', acknowledged_at = {T0 + 43300}")
    backend.refused("UPDATE handovers SET incoming = 'wangqiang'", sealed)
    assert store.handover(SHIFT).incoming == "lina"


def test_a_version_3_store_is_upgraded_in_place_and_keeps_its_records(tmp_path: Path) -> None:
    old = SqliteStore(tmp_path / "inspections.sqlite3")
    old.migrations = SQLITE_MIGRATIONS[:3]  # type: ignore[assignment]
    assert old.migrate() == 3
    old.close()
    store = SqliteStore(tmp_path / "inspections.sqlite3")
    assert store.migrate() == SCHEMA_VERSION
    assert store.sign_handover(handover()).shift == SHIFT

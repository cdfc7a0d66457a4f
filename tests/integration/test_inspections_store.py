"""The inspection store against real SQLite and a real PostgreSQL: schema migrations, the
round life cycle, and the database itself refusing any change to signed records, the audit
log and closed follow-ups, even from a connection that bypasses trunkwatch."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from monitor.inspections.errors import Conflict, NotFound, RecordImmutable, StoreError
from monitor.inspections.records import (
    FollowUp,
    ItemKind,
    ItemResult,
    Outcome,
    RoundRecord,
    WebSession,
)
from monitor.inspections.store import SCHEMA_VERSION, SqliteStore, open_store
from tests.helpers import free_tcp_port
from tests.integration.inspections_pg import PostgresCluster, postgres  # noqa: F401

pytestmark = pytest.mark.integration

Raw = Callable[[str], None]


class Backend:
    """A store plus a raw connection to the same database that goes around the store."""

    def __init__(self, store: Any, raw: Any, errors: tuple[type[BaseException], ...]) -> None:
        self.store = store
        self._raw = raw
        self.errors = errors

    def sql(self, statement: str) -> None:
        self._raw.execute(statement)

    def refused(self, statement: str, message: str) -> None:
        with pytest.raises(self.errors) as caught:
            self.sql(statement)
        assert message in str(caught.value)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    raw: sqlite3.Connection | psycopg.Connection[tuple[Any, ...]]
    if request.param == "sqlite":
        store = open_store(None, tmp_path)
        raw = sqlite3.connect(tmp_path / "inspections.sqlite3", isolation_level=None)
        yield Backend(store, raw, (sqlite3.IntegrityError,))
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        url = cluster.create_database()
        store = open_store(url, tmp_path)
        raw = psycopg.connect(url, autocommit=True)
        yield Backend(store, raw, (psycopg.errors.RaiseException,))
    raw.close()
    store.close()


def draft(round_id: str | None = None, *, period_start: float = 1_830_000_000.0,
          plan: str = "yearly-earthing", corrects: str | None = None) -> RoundRecord:  # fmt: skip
    return RoundRecord(
        id=round_id or str(uuid.uuid4()),
        plan_id=plan,
        target="site:hq",
        site="hq",
        period_key="2028",
        asset="",
        system="",
        period_start=period_start,
        period_end=period_start + 366 * 86400,
        due_at=period_start + 120 * 86400,
        deadline_at=period_start + 127 * 86400,
        opened_at=period_start + 100 * 86400,
        opened_by="wangqiang",
        corrects=corrects,
        items=(ItemResult("earthing", ItemKind.READING),),
    )


def reading(value: float, *, fail: bool = False, note: str = "") -> ItemResult:
    return ItemResult(
        "earthing", ItemKind.READING, Outcome.FAIL if fail else Outcome.PASS,
        value=f"{value:g}", number=value, note=note,
    )  # fmt: skip


def signed_round(backend: Backend, *, fail: bool = False) -> RoundRecord:
    record = backend.store.open_round(draft(), "wangqiang")
    follow_ups = []
    if fail:
        follow_ups = [FollowUp("f-1", record.id, record.plan_id, record.target, "earthing",
                               record.opened_at, "wangqiang", "接地极锈蚀")]  # fmt: skip
    return backend.store.sign(  # type: ignore[no-any-return]
        record.id, [reading(4.6 if fail else 3.1, fail=fail, note="接地极锈蚀" if fail else "")],
        "wangqiang", record.opened_at + 60, follow_ups,
    )  # fmt: skip


def test_migrations_are_recorded_and_idempotent(backend: Backend) -> None:
    store = backend.store
    assert store.schema_version() == SCHEMA_VERSION
    assert store.migrate() == SCHEMA_VERSION  # a second run applies nothing
    assert [e.action for e in store.audit_log()] == ["migrate"]


def test_a_round_is_opened_filled_and_signed_with_its_follow_ups(backend: Backend) -> None:
    store = backend.store
    record = store.open_round(draft(), "wangqiang")
    assert (record.signed, record.items[0].outcome) == (False, Outcome.PENDING)
    saved = store.save_items(record.id, [reading(4.6, fail=True)], "wangqiang", 5.0)
    assert saved.items[0].value == "4.6"
    signed = signed_round_from(backend, record)
    assert (signed.signed_by, signed.failed_items, signed.discrepancies) == ("wangqiang", 1, 0)
    assert signed.items[0].note == "接地极锈蚀"
    [follow_up] = store.follow_ups(open_only=True)
    assert (follow_up.round_id, follow_up.item_id) == (record.id, "earthing")
    closed = store.close_follow_up("f-1", "zhaomin", 99.0, "更换接地极")
    assert (closed.closed_by, closed.close_note, closed.open) == ("zhaomin", "更换接地极", False)
    with pytest.raises(Conflict):
        store.close_follow_up("f-1", "zhaomin", 100.0, "again")
    assert store.last_signed() == {("yearly-earthing", "site:hq"): signed.signed_at}
    assert [e.action for e in store.audit_log()] == [
        "migrate", "open", "save", "sign", "follow_up_open", "follow_up_close",
    ]  # fmt: skip
    assert store.verify_audit_chain() == 6


def signed_round_from(backend: Backend, record: RoundRecord) -> RoundRecord:
    follow_up = FollowUp("f-1", record.id, record.plan_id, record.target, "earthing",
                         record.opened_at, "wangqiang", "接地极锈蚀")  # fmt: skip
    return backend.store.sign(  # type: ignore[no-any-return]
        record.id, [reading(4.6, fail=True, note="接地极锈蚀")], "wangqiang",
        record.opened_at + 60, [follow_up],
    )  # fmt: skip


def test_the_store_refuses_to_touch_a_signed_record(backend: Backend) -> None:
    store = backend.store
    signed = signed_round(backend)
    with pytest.raises(RecordImmutable):
        store.save_items(signed.id, [reading(2.0)], "wangqiang", 1.0)
    with pytest.raises(RecordImmutable):
        store.sign(signed.id, [reading(2.0)], "zhaomin", 1.0)
    assert store.get_round(signed.id) == signed


def test_the_database_refuses_changes_to_signed_records_from_any_connection(
    backend: Backend,
) -> None:
    signed = signed_round(backend)
    other = backend.store.open_round(draft(period_start=1_900_000_000.0), "wangqiang")
    immutable = "signed record is immutable"
    backend.refused(f"UPDATE rounds SET signed_by = 'zhaomin' WHERE id = '{signed.id}'", immutable)
    backend.refused(f"UPDATE rounds SET signed_at = NULL WHERE id = '{signed.id}'", immutable)
    backend.refused(f"UPDATE round_items SET value = '2.0' WHERE round_id = '{signed.id}'",
                    immutable)  # fmt: skip
    backend.refused(f"DELETE FROM round_items WHERE round_id = '{signed.id}'", immutable)
    backend.refused(
        "INSERT INTO round_items (round_id, item_id, kind, outcome) "
        f"VALUES ('{signed.id}', 'extra', 'confirmation', 'pass')",
        immutable,
    )
    backend.refused(f"DELETE FROM rounds WHERE id = '{signed.id}'", "never deleted")
    backend.refused(f"DELETE FROM rounds WHERE id = '{other.id}'", "never deleted")
    # A draft is still a draft: its items may change.
    backend.sql(f"UPDATE round_items SET note = 'x' WHERE round_id = '{other.id}'")
    assert backend.store.get_round(signed.id) == signed


def test_the_audit_log_is_append_only(backend: Backend) -> None:
    signed_round(backend)
    backend.refused("UPDATE audit_log SET actor = 'nobody'", "append-only")
    backend.refused("DELETE FROM audit_log", "append-only")
    if backend.store.dialect == "postgresql":
        backend.refused("TRUNCATE audit_log", "append-only")
        backend.refused("TRUNCATE rounds CASCADE", "never deleted")
    assert backend.store.verify_audit_chain() == 3


def test_a_closed_follow_up_stays_closed(backend: Backend) -> None:
    signed_round(backend, fail=True)
    backend.refused("UPDATE follow_ups SET note = 'changed'", "only ever closed")
    backend.sql("UPDATE follow_ups SET closed_at = 1, closed_by = 'zhaomin', close_note = 'ok'")
    backend.refused("UPDATE follow_ups SET closed_by = 'someone'", "only ever closed")
    backend.refused("DELETE FROM follow_ups", "never deleted")


def test_one_original_per_period_and_one_correction_per_record(backend: Backend) -> None:
    store = backend.store
    signed = signed_round(backend)
    with pytest.raises(Conflict):
        store.open_round(draft(), "lina")
    correction = _as_signed(draft(corrects=signed.id))
    stored = store.record_correction(correction)
    assert (stored.corrects, stored.signed_by, stored.signed) == (signed.id, "zhaomin", True)
    with pytest.raises(Conflict):
        store.record_correction(_as_signed(draft(corrects=signed.id)))
    unsigned = store.open_round(draft(period_start=1_900_000_000.0), "wangqiang")
    with pytest.raises(Conflict, match="not signed"):
        store.record_correction(_as_signed(draft(corrects=unsigned.id)))
    with pytest.raises(NotFound):
        store.record_correction(_as_signed(draft(corrects="no-such-round")))
    # The trigger holds the same rule for anyone inserting directly.
    backend.refused(
        "INSERT INTO rounds (id, plan_id, target, period_key, period_start, period_end, due_at, "
        "deadline_at, opened_at, opened_by, corrects) VALUES ('x', 'p', 't', 'k', 1, 2, 1, 1, 1, "
        f"'a', '{unsigned.id}')",
        "only a signed record can be corrected",
    )


def _as_signed(record: RoundRecord) -> RoundRecord:
    return replace(record, signed_at=record.opened_at + 86400, signed_by="zhaomin",
                   reason="读数抄错", items=(reading(3.0),))  # fmt: skip


def test_rounds_query_filters_by_plan_period_and_state(backend: Backend) -> None:
    store = backend.store
    signed = signed_round(backend)
    open_ = store.open_round(draft(period_start=1_900_000_000.0), "wangqiang")
    store.open_round(draft(period_start=1_900_000_000.0, plan="monthly-room"), "wangqiang")
    assert [r.id for r in store.rounds(signed=True)] == [signed.id]
    assert [r.id for r in store.rounds(plan_id="yearly-earthing", signed=False)] == [open_.id]
    assert [r.id for r in store.rounds(period_from=1_850_000_000.0, plan_id="yearly-earthing")] == [
        open_.id
    ]
    with_items = store.rounds(signed=True, with_items=True)
    assert with_items[0].items == signed.items


def test_a_broken_audit_chain_is_detected(backend: Backend) -> None:
    signed_round(backend)
    # Only someone who disables the trigger can edit the log; the chain still shows it.
    if backend.store.dialect == "sqlite":
        backend.sql("DROP TRIGGER audit_log_no_update")
    else:
        backend.sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    backend.sql("UPDATE audit_log SET actor = 'mallory' WHERE action = 'sign'")
    with pytest.raises(StoreError, match="audit log broken at line 3"):
        backend.store.verify_audit_chain()


def test_sqlite_is_in_wal_mode_and_shared_by_two_processes_worth_of_stores(tmp_path: Path) -> None:
    first = open_store(None, tmp_path)
    second = SqliteStore(tmp_path / "inspections.sqlite3")
    second.migrate()
    a = first.open_round(draft(), "wangqiang")
    b = second.open_round(draft(period_start=1_900_000_000.0), "lina")
    assert {r.id for r in first.rounds()} == {a.id, b.id}
    assert first.verify_audit_chain() == 3
    raw = sqlite3.connect(tmp_path / "inspections.sqlite3")
    assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    raw.close()
    first.close()
    second.close()


def test_a_store_from_a_newer_trunkwatch_is_refused(tmp_path: Path) -> None:
    open_store(None, tmp_path).close()
    raw = sqlite3.connect(tmp_path / "inspections.sqlite3", isolation_level=None)
    raw.execute("INSERT INTO schema_migrations VALUES (99, 'future', 0)")
    raw.close()
    with pytest.raises(StoreError, match="schema v99 is newer"):
        open_store(None, tmp_path)


def test_an_unreachable_postgresql_is_reported_without_the_password(tmp_path: Path) -> None:
    port = free_tcp_port()
    url = f"postgresql://trunkwatch:s3cret-pw@127.0.0.1:{port}/inspections"
    with pytest.raises(StoreError) as caught:
        open_store(url, tmp_path)
    assert "s3cret-pw" not in str(caught.value)
    assert "cannot reach the PostgreSQL inspection store" in str(caught.value)


def test_sessions_are_kept_by_digest_fixed_once_written_and_purged_when_expired(
    backend: Backend,
) -> None:
    store = backend.store
    alive = WebSession("a" * 64, "lina", "c" * 24, 100.0, 100.0, 200.0)
    old = WebSession("b" * 64, "zhaomin", "d" * 24, 50.0, 50.0, 150.0)
    store.create_session(old, 10)
    store.create_session(alive, 10)
    assert store.find_session("a" * 64, 160.0) == alive
    assert store.find_session("b" * 64, 160.0) is None  # expired: not a session any more
    store.touch_session("a" * 64, 170.0)
    assert store.find_session("a" * 64, 171.0) == replace(alive, last_seen_at=170.0)
    fixed = "a session's person and tokens never change"
    backend.refused("UPDATE web_sessions SET person = 'zhaomin' WHERE person = 'lina'", fixed)
    backend.refused("UPDATE web_sessions SET expires_at = 999 WHERE person = 'lina'", fixed)
    backend.refused("UPDATE web_sessions SET last_seen_at = 120 WHERE person = 'lina'", fixed)
    assert store.purge_sessions(160.0) == 1
    store.drop_session("a" * 64)
    assert store.find_session("a" * 64, 171.0) is None
    if store.dialect == "sqlite":
        assert store.leader_lock().hold() is True  # one file, one daemon: it always leads

"""Schema version 5 against real SQLite and a real PostgreSQL: when each plan first appeared
in the store is written once (the first instance wins) and never changed, a follow-up's due
date is kept and fixed with the rest of it, and a version 4 store is upgraded in place, its
plans dated by their first recorded period and its follow-ups due a week after opening."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from monitor.inspections.records import FollowUp
from monitor.inspections.schema import POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS
from monitor.inspections.store import SCHEMA_VERSION, PostgresStore, SqliteStore, open_store
from tests.integration.inspections_pg import PostgresCluster, postgres  # noqa: F401
from tests.integration.test_inspections_store import Backend, draft, reading
from tests.integration.test_inspections_store import backend as store_backend

pytestmark = pytest.mark.integration

backend = store_backend

T0 = 1_830_000_000.0
WEEK = 7 * 86400.0
SEEN_ONCE = "when a plan first appeared is recorded once"


def test_a_plan_first_appears_once_whoever_sees_it_later(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    assert store.plan_starts(["daily-radio", "quarterly-vswr"], T0) == {
        "daily-radio": T0,
        "quarterly-vswr": T0,
    }
    # Seen again later, with a new plan beside them: only the new one appears now.
    assert store.plan_starts(["quarterly-vswr", "yearly-earthing"], T0 + 3600) == {
        "quarterly-vswr": T0,
        "yearly-earthing": T0 + 3600,
    }
    # A second instance on the same database finds what the first wrote.
    if store.dialect == "sqlite":
        other: Any = SqliteStore(tmp_path / "inspections.sqlite3")
    else:
        other = PostgresStore(backend.store._url)
    try:
        assert other.plan_starts(["daily-radio", "monthly-room"], T0 + 7200) == {
            "daily-radio": T0,
            "monthly-room": T0 + 7200,
        }
    finally:
        other.close()
    assert store.plan_starts(["monthly-room"], T0 + 9999) == {"monthly-room": T0 + 7200}

    backend.refused(f"UPDATE plan_starts SET first_seen = {T0 + 1}", SEEN_ONCE)
    backend.refused("DELETE FROM plan_starts WHERE plan_id = 'daily-radio'", SEEN_ONCE)
    if store.dialect == "postgresql":
        backend.refused("TRUNCATE plan_starts", SEEN_ONCE)
    assert store.plan_starts(["daily-radio"], T0 + 99999) == {"daily-radio": T0}


def test_a_follow_up_keeps_its_due_date_fixed(backend: Backend) -> None:
    store = backend.store
    record = store.open_round(draft(), "wangqiang")
    opened = record.opened_at + 60
    follow_up = FollowUp("f-1", record.id, record.plan_id, record.target, "earthing", opened,
                         "wangqiang", "接地极锈蚀", due_at=opened + 3 * 86400)  # fmt: skip
    store.sign(record.id, [reading(4.6, fail=True, note="接地极锈蚀")], "wangqiang", opened,
               [follow_up])  # fmt: skip
    assert store.follow_ups(open_only=True) == [follow_up]
    assert store.follow_ups(due_before=opened + 3 * 86400 - 1) == []
    assert store.follow_ups(due_before=opened + 3 * 86400) == [follow_up]
    assert store.audit_log()[-1].detail["due"] == opened + 3 * 86400

    fixed = "a follow-up is only ever closed, once"
    backend.refused("UPDATE follow_ups SET due_at = due_at + 86400", fixed)
    # Not even together with the one change allowed, its closing.
    backend.refused(
        "UPDATE follow_ups SET closed_at = 1, closed_by = 'zhaomin', close_note = 'ok', "
        "due_at = due_at + 86400",
        fixed,
    )
    closed = store.close_follow_up("f-1", "zhaomin", opened + 86400, "接地极已更换")
    assert (closed.due_at, closed.closed_by) == (opened + 3 * 86400, "zhaomin")
    assert store.follow_ups(due_before=opened + 10 * 86400) == []


def _version_4(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Any, Any]:
    """A store migrated only as far as version 4 (the trunkwatch before this one), and a raw
    connection to its database."""
    old: Any
    raw: Any
    if kind == "sqlite":
        old = SqliteStore(tmp_path / "inspections.sqlite3")
        old.migrations = SQLITE_MIGRATIONS[:4]
        raw = sqlite3.connect(tmp_path / "inspections.sqlite3", isolation_level=None)
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        url = cluster.create_database()
        old = PostgresStore(url)
        old.migrations = POSTGRES_MIGRATIONS[:4]
        raw = psycopg.connect(url, autocommit=True)
    assert old.migrate() == 4
    return old, raw


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_version_4_store_is_upgraded_in_place(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    old, raw = _version_4(kind, tmp_path, request)
    earlier = old.open_round(draft(period_start=T0), "wangqiang")
    later = old.open_round(draft(period_start=T0 + 400 * 86400), "wangqiang")
    room = old.open_round(draft(period_start=T0 + 50 * 86400, plan="monthly-room"), "wangqiang")
    # A follow-up as version 4 wrote it: no due date.
    raw.execute(
        "INSERT INTO follow_ups (id, round_id, plan_id, target, item_id, opened_at, opened_by, "
        f"note) VALUES ('f-old', '{earlier.id}', 'yearly-earthing', 'site:hq', 'earthing', "
        f"{T0 + 100}, 'wangqiang', '接地极锈蚀')"
    )
    old.close()

    store = open_store(None, tmp_path) if kind == "sqlite" else PostgresStore(old._url)
    try:
        assert store.migrate() == SCHEMA_VERSION
        assert store.get_round(later.id) == later
        assert store.get_round(room.id) == room
        # The plans with rounds appeared no later than their first recorded period.
        assert store.plan_starts(["yearly-earthing", "monthly-room", "daily-radio"], T0 + 1e7) == {
            "yearly-earthing": T0,
            "monthly-room": T0 + 50 * 86400,
            "daily-radio": T0 + 1e7,
        }
        [follow_up] = store.follow_ups(open_only=True)
        assert (follow_up.id, follow_up.due_at) == ("f-old", T0 + 100 + WEEK)
        # The triggers of version 5 stand on the upgraded store.
        with pytest.raises(
            (sqlite3.IntegrityError, psycopg.errors.RaiseException), match=SEEN_ONCE
        ):
            raw.execute("DELETE FROM plan_starts")
        with pytest.raises(
            (sqlite3.IntegrityError, psycopg.errors.RaiseException), match="only ever closed"
        ):
            raw.execute("UPDATE follow_ups SET due_at = 0")
        assert [e.action for e in store.audit_log()][-1] == "migrate"
        assert store.verify_audit_chain() == 5  # migrate, 3 opens, migrate
    finally:
        raw.close()
        store.close()

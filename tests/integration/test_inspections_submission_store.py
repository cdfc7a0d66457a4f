"""Rounds signed off line in the inspection store (schema v7), on SQLite and a real
PostgreSQL: the round keeps the tablet's signing time and the arrival time, a person's key
finds its submission again, and the database itself refuses a second submission of a round or
key, a submission whose signature is not its round's, and any change or removal of one, even
from a connection that goes around trunkwatch. A version 6 store is upgraded in place."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from monitor.inspections.errors import Conflict, RecordImmutable
from monitor.inspections.records import Submission
from monitor.inspections.schema import POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS
from monitor.inspections.store import SCHEMA_VERSION, PostgresStore, SqliteStore, open_store
from tests.integration.inspections_pg import PostgresCluster, postgres  # noqa: F401
from tests.integration.test_inspections_store import Backend, draft, reading
from tests.integration.test_inspections_store import backend as store_backend

pytestmark = pytest.mark.integration

ONCE = "an offline submission is recorded once, with the signature of its round"


#: On SQLite and on PostgreSQL, with a raw connection beside the store.
backend = store_backend


def sign_off_line(store: Any, round_id: str, *, person: str = "wangqiang",
                  key: str | None = None, signed: float, received: float) -> Any:  # fmt: skip
    submission = Submission(person, key or str(uuid.uuid4()), round_id, "d" * 64, signed, received)
    return store.sign(round_id, [reading(3.1)], person, signed, submission=submission)


def test_a_round_signed_off_line_keeps_both_times_and_its_key(backend: Backend) -> None:
    store = backend.store
    record = store.open_round(draft(), "wangqiang")
    signed, received = record.opened_at + 600, record.opened_at + 7200
    key = str(uuid.uuid4())
    stored = sign_off_line(store, record.id, key=key, signed=signed, received=received)
    assert (stored.signed_at, stored.received_at) == (signed, received)
    assert store.get_round(record.id).received_at == received
    [listed] = store.rounds(signed=True)
    assert listed.received_at == received
    assert store.submission("wangqiang", key) == Submission(
        "wangqiang", key, record.id, "d" * 64, signed, received
    )
    # Keys are a person's own.
    assert store.submission("zhaomin", key) is None
    [line] = [a for a in store.audit_log() if a.action == "sign"]
    assert (line.at, line.detail["signed_at"], line.detail["key"]) == (received, signed, key)
    assert store.verify_audit_chain() == len(store.audit_log())


def test_the_database_keeps_each_submission_once_and_unchanged(backend: Backend) -> None:
    store = backend.store
    record = store.open_round(draft(), "wangqiang")
    key = str(uuid.uuid4())
    sign_off_line(store, record.id, key=key, signed=record.opened_at + 60,
                  received=record.opened_at + 120)  # fmt: skip
    backend.refused("UPDATE round_submissions SET received_at = received_at + 1", ONCE)
    backend.refused("DELETE FROM round_submissions", ONCE)
    # A second submission of the signed round, or one that is not the round's signature.
    other = store.open_round(draft(period_start=1_900_000_000.0), "wangqiang")
    backend.refused(
        "INSERT INTO round_submissions (person, key, round_id, digest, signed_at, received_at) "
        f"VALUES ('wangqiang', '{uuid.uuid4()}', '{other.id}', '{'e' * 64}', 1, 2)",
        ONCE,
    )
    # The same person's key a second time: the first signature stands.
    with pytest.raises((Conflict, RecordImmutable)):
        sign_off_line(store, other.id, key=key, signed=other.opened_at + 60,
                      received=other.opened_at + 120)  # fmt: skip
    assert not store.get_round(other.id).signed
    assert store.submission("wangqiang", key).round_id == record.id


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_version_6_store_is_upgraded_in_place(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    old: Any
    if kind == "sqlite":
        old = SqliteStore(tmp_path / "inspections.sqlite3")
        old.migrations = SQLITE_MIGRATIONS[:6]
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        old = PostgresStore(cluster.create_database())
        old.migrations = POSTGRES_MIGRATIONS[:6]
    assert old.migrate() == 6
    before = old.open_round(draft(), "wangqiang")
    before = old.sign(before.id, [reading(3.1)], "wangqiang", before.opened_at + 60)
    assert old.submission("wangqiang", str(uuid.uuid4())) is None
    old.close()

    store = open_store(None, tmp_path) if kind == "sqlite" else PostgresStore(old._url)
    try:
        assert store.migrate() == SCHEMA_VERSION == 7
        assert store.get_round(before.id) == before
        assert before.received_at is None
        later = store.open_round(draft(period_start=1_900_000_000.0), "wangqiang")
        stored = sign_off_line(store, later.id, signed=later.opened_at + 60,
                               received=later.opened_at + 90)  # fmt: skip
        assert stored.received_at == later.opened_at + 90
        assert store.verify_audit_chain() == len(store.audit_log())
    finally:
        store.close()

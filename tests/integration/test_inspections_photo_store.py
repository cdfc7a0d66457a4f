"""The photo tables of the inspection store against real SQLite and a real PostgreSQL: a photo
kept once by its SHA-256 and linked to items of a draft; the signature's audit line naming the
hashes; and the database itself refusing any change to a stored photo, and any new, changed or
removed photo of a signed round, even from a connection that goes around trunkwatch. A
version 4 store (before photos) is upgraded in place."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.inspections.errors import InvalidEntry, RecordImmutable
from monitor.inspections.photos.image import StoredPhoto, prepare_photo
from monitor.inspections.records import ItemKind, ItemResult, Outcome
from monitor.inspections.schema import SQLITE_MIGRATIONS
from monitor.inspections.store import SCHEMA_VERSION, SqliteStore, open_store
from tests.integration.inspections_pg import PostgresCluster, postgres  # noqa: F401
from tests.integration.test_inspections_store import Backend, draft
from tests.integration.test_inspections_store import backend as store_backend
from tests.photos import camera_jpeg, exif_of

pytestmark = pytest.mark.integration

#: On SQLite and on PostgreSQL, with a raw connection beside the store.
backend = store_backend

KEPT = "a photo of a signed record is kept as it was"


def photo(width: int = 320) -> StoredPhoto:
    return prepare_photo(camera_jpeg(width, 240))


def sign(backend: Backend, round_id: str) -> None:
    done = ItemResult("earthing", ItemKind.READING, Outcome.PASS, value="3.1", number=3.1)
    backend.store.sign(round_id, [done], "wangqiang", 2_000_000_000.0)


def test_a_photo_is_kept_once_and_its_hash_signed_into_the_audit_line(backend: Backend) -> None:
    store = backend.store
    record = store.open_round(draft(), "wangqiang")
    first, second = photo(), photo(400)
    assert store.add_photo(record.id, "earthing", "reading", first, "wangqiang", 1.0, limit=4)
    assert not store.add_photo(record.id, "earthing", "reading", first, "wangqiang", 2.0, limit=4)
    assert store.add_photo(record.id, "earthing", "reading", second, "wangqiang", 3.0, limit=4)
    with pytest.raises(InvalidEntry, match="too many photos"):
        store.add_photo(record.id, "earthing", "reading", photo(500), "wangqiang", 4.0, limit=2)
    assert store.get_round(record.id).item("earthing").photos == (first.sha256, second.sha256)
    media_type, content = store.photo_bytes(first.sha256)
    assert (media_type, content) == ("image/jpeg", first.content)
    assert store.photo_bytes(first.sha256, thumbnail=True) == ("image/jpeg", first.thumbnail)
    assert exif_of(content) == {}

    sign(backend, record.id)
    signed = [e for e in store.audit_log() if e.action == "sign"]
    assert signed[0].detail["photos"] == {"earthing": [first.sha256, second.sha256]}
    assert [r.items[0].photos for r in store.rounds(signed=True, with_items=True)] == [
        (first.sha256, second.sha256)
    ]
    assert store.photos_of([record.id]) == {record.id: {"earthing": (first.sha256, second.sha256)}}
    assert store.verify_audit_chain() == 5  # migrate, open, two photos, sign


def test_the_database_keeps_a_signed_rounds_photos_from_any_connection(backend: Backend) -> None:
    store = backend.store
    signed = store.open_round(draft(), "wangqiang")
    other = store.open_round(draft(period_start=1_900_000_000.0), "wangqiang")
    kept, loose = photo(), photo(400)
    store.add_photo(signed.id, "earthing", "reading", kept, "wangqiang", 1.0, limit=4)
    store.add_photo(other.id, "earthing", "reading", loose, "wangqiang", 1.0, limit=4)
    sign(backend, signed.id)
    with pytest.raises(RecordImmutable):
        store.add_photo(signed.id, "earthing", "reading", photo(600), "wangqiang", 5.0, limit=4)
    with pytest.raises(RecordImmutable):
        store.remove_photo(signed.id, "earthing", kept.sha256, "wangqiang", 5.0)

    backend.refused(f"UPDATE photos SET content = content WHERE sha256 = '{kept.sha256}'",
                    "a stored photo never changes")  # fmt: skip
    backend.refused(f"UPDATE photos SET created_by = 'x' WHERE sha256 = '{loose.sha256}'",
                    "a stored photo never changes")  # fmt: skip
    backend.refused(f"DELETE FROM photos WHERE sha256 = '{kept.sha256}'", KEPT)
    backend.refused(f"DELETE FROM round_item_photos WHERE round_id = '{signed.id}'", KEPT)
    backend.refused(f"UPDATE round_item_photos SET sha256 = '{loose.sha256}' "
                    f"WHERE round_id = '{signed.id}'", KEPT)  # fmt: skip
    backend.refused(f"UPDATE round_item_photos SET round_id = '{signed.id}' "
                    f"WHERE round_id = '{other.id}'", KEPT)  # fmt: skip
    backend.refused(
        "INSERT INTO round_item_photos (round_id, item_id, sha256, position, added_at, added_by) "
        f"VALUES ('{signed.id}', 'earthing', '{loose.sha256}', 9, 1, 'mallory')",
        KEPT,
    )
    if store.dialect == "postgresql":
        backend.refused("TRUNCATE round_item_photos", KEPT)
        backend.refused("TRUNCATE photos CASCADE", KEPT)
    # A draft's photo may still go, link first.
    backend.sql(f"DELETE FROM round_item_photos WHERE round_id = '{other.id}'")
    backend.sql(f"DELETE FROM photos WHERE sha256 = '{loose.sha256}'")
    assert store.photo_bytes(loose.sha256) is None
    assert store.photo_bytes(kept.sha256) == ("image/jpeg", kept.content)
    assert store.get_round(signed.id).item("earthing").photos == (kept.sha256,)


def test_a_correction_shows_the_photos_of_the_record_it_corrects(backend: Backend) -> None:
    store = backend.store
    record = store.open_round(draft(), "wangqiang")
    kept = photo()
    store.add_photo(record.id, "earthing", "reading", kept, "wangqiang", 1.0, limit=4)
    sign(backend, record.id)
    original = store.get_round(record.id)
    correction = replace(
        draft(corrects=record.id), signed_at=2_000_000_100.0, signed_by="zhaomin",
        reason="读数抄错", items=original.items,
    )  # fmt: skip
    stored = store.record_correction(correction)
    assert stored.item("earthing").photos == (kept.sha256,)
    [line] = [e for e in store.audit_log() if e.action == "correct"]
    assert line.detail["photos"] == {"earthing": [kept.sha256]}


def test_a_version_4_store_is_upgraded_in_place_and_keeps_its_records(tmp_path: Path) -> None:
    old = SqliteStore(tmp_path / "inspections.sqlite3")
    # As the trunkwatch before photos (the shift log and handovers were version 4).
    old.migrations = tuple(m for m in SQLITE_MIGRATIONS if m.version <= 4)  # type: ignore[assignment]
    assert old.migrate() == 4
    before = old.open_round(draft(), "wangqiang")
    old.close()
    raw = sqlite3.connect(tmp_path / "inspections.sqlite3")
    assert raw.execute("SELECT name FROM sqlite_master WHERE name = 'photos'").fetchone() is None
    raw.close()

    store = open_store(None, tmp_path)
    assert store.schema_version() == SCHEMA_VERSION >= 6
    assert store.get_round(before.id) == before
    assert store.add_photo(before.id, "earthing", "reading", photo(), "wangqiang", 1.0, limit=4)
    assert [e.action for e in store.audit_log()] == ["migrate", "open", "migrate", "photo_add"]
    assert store.verify_audit_chain() == 4
    store.close()

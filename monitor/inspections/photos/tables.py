"""The photos in the inspection store (schema v6): a photo kept once under its SHA-256, linked
to an item of a draft round or unlinked again, and the reads the rounds and pages need. Both
store backends inherit these from ``PhotoTables``.

The database refuses everything else (``monitor.inspections.schema``): any change to a stored
photo, any new, changed or removed link of a signed round, and the deletion of a photo a
signed round shows. Adding and removing a photo are audit lines in the same transaction as
the change, naming the item and the photo's SHA-256.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from monitor.inspections.errors import InvalidEntry, NotFound, RecordImmutable
from monitor.inspections.photos.image import StoredPhoto
from monitor.inspections.sqlbase import SqlBase

__all__ = ["PHOTOS_SINCE", "PhotoLinks", "PhotoStore", "PhotoTables"]

#: The schema version that added the photo tables. A store built for an older schema (an
#: older trunkwatch, as the upgrade tests build one) reads no photos.
PHOTOS_SINCE = 6

#: Round id → item id → the SHA-256 of its photos, in the order they were added.
PhotoLinks = dict[str, dict[str, tuple[str, ...]]]


class PhotoStore(Protocol):
    """What the photo service and pages need from the store."""

    def add_photo(
        self,
        round_id: str,
        item_id: str,
        kind: str,
        photo: StoredPhoto,
        actor: str,
        at: float,
        *,
        limit: int,
    ) -> bool: ...
    def remove_photo(
        self, round_id: str, item_id: str, sha256: str, actor: str, at: float
    ) -> None: ...
    def photo_bytes(self, sha256: str, *, thumbnail: bool = False) -> tuple[str, bytes] | None: ...
    def photos_of(self, round_ids: Sequence[str]) -> PhotoLinks: ...


class PhotoTables(SqlBase):
    @property
    def _photos_kept(self) -> bool:
        return bool(self.migrations) and self.migrations[-1].version >= PHOTOS_SINCE

    # -- writes ----------------------------------------------------------------------------

    def _unsigned(self, round_id: str) -> None:
        row = self._execute("SELECT signed_at FROM rounds WHERE id = ?", (round_id,)).fetchone()
        if row is None:
            raise NotFound(f"no round {round_id}")
        if row[0] is not None:
            raise RecordImmutable(
                f"已签字的记录不能更改照片 / round {round_id} is signed; "
                "its photos stay as they were"
            )

    def add_photo(
        self,
        round_id: str,
        item_id: str,
        kind: str,
        photo: StoredPhoto,
        actor: str,
        at: float,
        *,
        limit: int,
    ) -> bool:
        """Keep ``photo`` (once, by its SHA-256) and show it on an item of a draft round, with
        its audit line. False when the item shows it already (nothing is written)."""
        with self._transaction():
            self._unsigned(round_id)
            linked = self._execute(
                "SELECT sha256, position FROM round_item_photos WHERE round_id = ? AND item_id = ?",
                (round_id, item_id),
            ).fetchall()
            if any(row[0] == photo.sha256 for row in linked):
                return False
            if len(linked) >= limit:
                raise InvalidEntry(
                    "照片过多 / too many photos",
                    {item_id: f"每项最多 {limit} 张照片 / at most {limit} photos per item"},
                )
            # An item added to the checklist after the round was opened has no row yet.
            self._execute(
                "INSERT INTO round_items (round_id, item_id, kind, outcome) "
                "VALUES (?, ?, ?, 'pending') ON CONFLICT (round_id, item_id) DO NOTHING",
                (round_id, item_id, kind),
            )
            self._execute(
                "INSERT INTO photos (sha256, media_type, size, width, height, content, "
                "thumbnail, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (sha256) DO NOTHING",
                (
                    photo.sha256,
                    photo.media_type,
                    photo.size,
                    photo.width,
                    photo.height,
                    photo.content,
                    photo.thumbnail,
                    at,
                    actor,
                ),
            )
            position = max((int(row[1]) for row in linked), default=0) + 1
            self._execute(
                "INSERT INTO round_item_photos "
                "(round_id, item_id, sha256, position, added_at, added_by) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (round_id, item_id, photo.sha256, position, at, actor),
            )
            self._audit(
                at, actor, "photo_add", round_id, item=item_id, sha256=photo.sha256, size=photo.size
            )
        return True

    def remove_photo(self, round_id: str, item_id: str, sha256: str, actor: str, at: float) -> None:
        """Take a photo off an item of a draft round, with its audit line; the photo itself
        goes too once no round shows it."""
        with self._transaction():
            self._unsigned(round_id)
            cursor = self._execute(
                "DELETE FROM round_item_photos WHERE round_id = ? AND item_id = ? AND sha256 = ?",
                (round_id, item_id, sha256),
            )
            if cursor.rowcount != 1:
                raise NotFound(f"item {item_id} of round {round_id} has no photo {sha256[:12]}")
            self._execute(
                "DELETE FROM photos WHERE sha256 = ? AND NOT EXISTS "
                "(SELECT 1 FROM round_item_photos WHERE sha256 = ?)",
                (sha256, sha256),
            )
            self._audit(at, actor, "photo_remove", round_id, item=item_id, sha256=sha256)

    def _copy_photos(self, from_round: str, to_round: str) -> None:
        """Show a record's photos on its correction too (inside the caller's transaction)."""
        if not self._photos_kept:
            return
        self._execute(
            "INSERT INTO round_item_photos "
            "(round_id, item_id, sha256, position, added_at, added_by) "
            "SELECT ?, l.item_id, l.sha256, l.position, l.added_at, l.added_by "
            "FROM round_item_photos l "
            "JOIN round_items i ON i.round_id = ? AND i.item_id = l.item_id "
            "WHERE l.round_id = ?",
            (to_round, to_round, from_round),
        )

    # -- reads -----------------------------------------------------------------------------

    def photo_bytes(self, sha256: str, *, thumbnail: bool = False) -> tuple[str, bytes] | None:
        """A stored photo (or its thumbnail, always a JPEG) and its media type."""
        column = "thumbnail, 'image/jpeg'" if thumbnail else "content, media_type"
        with self._guard():
            row = self._execute(
                f"SELECT {column} FROM photos WHERE sha256 = ?",  # noqa: S608 - fixed columns
                (sha256,),
            ).fetchone()
        return None if row is None else (str(row[1]), bytes(row[0]))

    def photos_of(self, round_ids: Sequence[str]) -> PhotoLinks:
        """The photos of these rounds: round id → item id → SHA-256 hashes."""
        if not round_ids:
            return {}
        marks = ", ".join("?" for _ in round_ids)
        with self._guard():
            return self._photo_links(f"round_id IN ({marks})", round_ids)

    def _photo_links(self, where: str, params: Sequence[Any]) -> PhotoLinks:
        """The photos of the rounds ``where`` selects (a fixed clause over round_id)."""
        links: PhotoLinks = {}
        if not self._photos_kept:
            return links
        rows = self._execute(
            "SELECT round_id, item_id, sha256 FROM round_item_photos "  # noqa: S608
            f"WHERE {where} ORDER BY round_id, item_id, position",
            params,
        ).fetchall()
        for round_id, item_id, sha256 in rows:
            items = links.setdefault(round_id, {})
            items[item_id] = (*items.get(item_id, ()), sha256)
        return links

    def _photo_log(self, round_id: str) -> Mapping[str, list[str]]:
        """Item id → its photos' SHA-256, for the audit line of a signature."""
        found = self._photo_links("round_id = ?", (round_id,)).get(round_id, {})
        return {item: list(hashes) for item, hashes in found.items()}

"""Who may add or remove which photo, and when: the owner or deputy of a round (or a
supervisor), on an item whose checklist entry takes photos, while the round is a draft in its
period. The picture is checked and stripped (``image``) before the store sees it; and a round
whose items require photos cannot be signed without them (``missing_photos``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from monitor.inspections.errors import Conflict, InvalidEntry, NotAllowed, NotFound
from monitor.inspections.photos.image import MAX_PHOTOS_PER_ITEM, StoredPhoto, prepare_photo
from monitor.inspections.records import ItemResult

if TYPE_CHECKING:
    from monitor.inspections.config import Person
    from monitor.inspections.plans import ScheduledPlan
    from monitor.inspections.service import InspectionService

__all__ = ["PhotoService", "missing_photos"]

log = logging.getLogger("trunkwatch.inspections")

REQUIRED = "须拍照 / a photo is required"


def missing_photos(plan: ScheduledPlan, items: Iterable[ItemResult]) -> dict[str, str]:
    """Item id → reason, for each item whose checklist entry requires a photo it lacks."""
    shown: Mapping[str, ItemResult] = {i.item_id: i for i in items}
    return {
        entry.id: REQUIRED
        for entry in plan.plan.checklist
        if entry.photo == "required" and not (entry.id in shown and shown[entry.id].photos)
    }


class PhotoService:
    """Photos of the items of one inspection service's rounds."""

    def __init__(self, service: InspectionService) -> None:
        self.service = service

    def _draft_item(self, person: Person, round_id: str, item_id: str) -> tuple[str, str]:
        """The plan id and the item's kind, once ``person`` may change its photos now."""
        service = self.service
        record = service.get_round(round_id)
        plan, target = service.plan_of(record)
        if not service.setup.may_sign(person, plan, target):
            raise NotAllowed(
                f"{person.id} is neither owner nor deputy of {plan.id} on {target.id} "
                "(责任人/代理人)"
            )
        if record.signed:
            raise Conflict(f"round {round_id} is signed; its photos stay as they were")
        if service.now() >= record.period_end:
            raise Conflict(
                f"已漏检 / the period {record.period_key} has ended: the round was missed"
            )
        entry = next((i for i in plan.plan.checklist if i.id == item_id), None)
        if entry is None:
            raise InvalidEntry(
                "非本计划检查项 / not an item of this checklist",
                {item_id: "非本计划检查项 / not an item of this checklist"},
            )
        if entry.photo is None:
            raise InvalidEntry(
                "此项不拍照 / this item takes no photos",
                {item_id: "此项不拍照 / this item takes no photos"},
            )
        return plan.id, entry.kind

    def add(
        self, person: Person, round_id: str, item_id: str, data: bytes
    ) -> tuple[StoredPhoto, bool]:
        """Check, strip and keep an uploaded photo on an item of a draft round; whether it was
        added (not when the item shows it already). Raises TooLarge, UnsupportedMedia,
        InvalidEntry (no photos here, too many), NotAllowed, Conflict."""
        service = self.service
        plan_id, kind = self._draft_item(person, round_id, item_id)
        photo = prepare_photo(data)
        added = service.store.add_photo(
            round_id, item_id, kind, photo, person.id, service.now(), limit=MAX_PHOTOS_PER_ITEM
        )
        if added:
            log.info(
                "photo added plan=%s round=%s item=%s sha256=%s bytes=%d by=%s",
                plan_id,
                round_id,
                item_id,
                photo.sha256,
                photo.size,
                person.id,
            )
        return photo, added

    def remove(self, person: Person, round_id: str, item_id: str, sha256: str) -> None:
        """Take a photo off an item of a draft round."""
        self._draft_item(person, round_id, item_id)
        self.service.store.remove_photo(round_id, item_id, sha256, person.id, self.service.now())
        log.info("photo removed round=%s item=%s sha256=%s by=%s", round_id, item_id, sha256,
                 person.id)  # fmt: skip

    def image(self, sha256: str, *, thumbnail: bool = False) -> tuple[str, bytes]:
        """A stored photo or its thumbnail: media type and bytes."""
        found = self.service.store.photo_bytes(sha256, thumbnail=thumbnail)
        if found is None:
            raise NotFound(f"no photo {sha256[:12]}")
        return found

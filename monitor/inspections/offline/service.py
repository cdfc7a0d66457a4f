"""What a round sent from the tablet's queue must be to be taken, and taking it once.

A queued round (``QueuedRound``) names its round, the person who filled it in, a key the page
made for it (a UUID), the entries, the SHA-256 of each photo per item (uploaded before it, by
the same queue) and, when it was signed on the tablet, that time. The sender is always the
signed-in person, and must be the one who filled it in. A signed one is stored with
``signed_at`` the tablet's time, within bounds: not ahead of the server by more than
``CLOCK_SKEW``, not before the round was opened, not older than ``MAX_AGE``, and not after its
period ended (a round signed in time and arriving later is taken, with both times); and with
the time it arrived. The same key sent again returns the stored round: a retry never signs
twice. A round someone signed meanwhile is a ``SignedMeanwhile`` conflict naming who and when;
nothing of either is overwritten. A queued round that was only saved is saved like the form's
save (no key is kept: saving twice is saving).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.inspections.errors import (
    Conflict,
    InvalidEntry,
    MalformedRequest,
    NotAllowed,
)
from monitor.inspections.records import RoundRecord, Submission

if TYPE_CHECKING:
    from monitor.inspections.config import Person
    from monitor.inspections.service import InspectionService, LiveSeries

__all__ = [
    "CLOCK_SKEW",
    "MAX_AGE",
    "OfflineRounds",
    "QueuedRound",
    "SignedMeanwhile",
    "as_json",
    "parse_queued",
]

log = logging.getLogger("trunkwatch.inspections")

#: How far ahead of the server a tablet's clock may be.
CLOCK_SKEW = 120.0
#: How old a signature may be when it arrives.
MAX_AGE = 7 * 86400.0
_MAX_ITEMS = 200
_MAX_TEXT = 4000
_SHA256_HEX = frozenset("0123456789abcdef")


class SignedMeanwhile(Conflict):
    """The round was signed (by someone else, or without this key) while the tablet was off
    line: 409, naming who signed it and when."""

    def __init__(self, message: str, record: RoundRecord) -> None:
        super().__init__(message)
        self.record = record


@dataclass(frozen=True, slots=True)
class QueuedRound:
    """A round as the page queued it."""

    key: str
    filled_by: str
    entries: Mapping[str, Mapping[str, str]]
    photos: Mapping[str, tuple[str, ...]]
    #: When it was signed on the tablet; None: saved, not signed.
    signed_at: float | None

    def digest(self, round_id: str) -> str:
        """The SHA-256 of what was sent, to tell a retry from other content under one key."""
        text = json.dumps(
            [round_id, self.filled_by, self.entries, self.photos, self.signed_at],
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(text.encode()).hexdigest()


def _text(value: object, name: str, limit: int = _MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise MalformedRequest(f"{name}: expected text of at most {limit} characters")
    return value


def parse_queued(body: object) -> QueuedRound:
    """A queued round from the JSON the page sent. Raises MalformedRequest saying which field
    is wrong."""
    if not isinstance(body, dict):
        raise MalformedRequest("expected a JSON object")
    key = _text(body.get("key"), "key", 36)
    try:
        if str(uuid.UUID(key)) != key:
            raise ValueError
    except ValueError:
        raise MalformedRequest("key: expected a UUID in its canonical form") from None
    filled_by = _text(body.get("filled_by"), "filled_by", 100)
    raw_entries = body.get("entries", {})
    if not isinstance(raw_entries, dict) or len(raw_entries) > _MAX_ITEMS:
        raise MalformedRequest(f"entries: expected an object of at most {_MAX_ITEMS} items")
    entries: dict[str, dict[str, str]] = {}
    for item, entry in raw_entries.items():
        if not isinstance(entry, dict) or set(entry) - {"value", "note"}:
            raise MalformedRequest(f"entries.{item[:40]}: expected {{value, note}}")
        entries[item] = {k: _text(v, f"entries.{item[:40]}.{k}") for k, v in entry.items()}
    raw_photos = body.get("photos", {})
    if not isinstance(raw_photos, dict) or len(raw_photos) > _MAX_ITEMS:
        raise MalformedRequest(f"photos: expected an object of at most {_MAX_ITEMS} items")
    photos: dict[str, tuple[str, ...]] = {}
    for item, hashes in raw_photos.items():
        if not isinstance(hashes, list) or len(hashes) > 20:
            raise MalformedRequest(f"photos.{item[:40]}: expected a list of SHA-256 hashes")
        for h in hashes:
            if not isinstance(h, str) or len(h) != 64 or set(h) - _SHA256_HEX:
                raise MalformedRequest(f"photos.{item[:40]}: expected a list of SHA-256 hashes")
        photos[item] = tuple(hashes)
    signed = body.get("signed_at_client")
    if signed is not None and (
        isinstance(signed, bool) or not isinstance(signed, int | float) or not math.isfinite(signed)
    ):
        raise MalformedRequest("signed_at_client: expected seconds since the epoch, or null")
    return QueuedRound(key, filled_by, entries, photos, None if signed is None else float(signed))


class OfflineRounds:
    """Takes the rounds the pages queued off line, for one inspection service."""

    def __init__(self, service: InspectionService) -> None:
        self.service = service

    def take(
        self,
        person: Person,
        round_id: str,
        queued: QueuedRound,
        live: Sequence[LiveSeries] | None = None,
    ) -> tuple[RoundRecord, bool]:
        """Save or sign the queued round as ``person``; the round, and whether it had been
        taken before (a retry of a signature)."""
        service = self.service
        if queued.filled_by != person.id:
            raise NotAllowed(
                f"此巡检由 {queued.filled_by} 填写，请以其身份登录后发送 / filled in by "
                f"{queued.filled_by}, signed in as {person.id}: sign in as "
                f"{queued.filled_by} to send it"
            )
        digest = queued.digest(round_id)
        if queued.signed_at is not None:
            before = self._taken(person, queued, round_id, digest)
            if before is not None:
                return before, True
        record = service.get_round(round_id)
        plan, target = service.plan_of(record)
        if record.signed:
            raise self._signed_meanwhile(record)
        self._check_photos(record, queued)
        if queued.signed_at is None:
            return service.save(person, round_id, queued.entries), False
        now = service.now()
        signed_at = self._check_time(record, queued.signed_at, now)
        series = service.live_series(target) if live is None else live
        items = service.fill(plan, record.items, queued.entries, series, now)
        service.check_complete(plan, items)
        follow_ups = service.new_follow_ups(round_id, plan, target, items, person, now)
        arrival = Submission(person.id, queued.key, round_id, digest, signed_at, now)
        try:
            signed = service.store.sign(
                round_id, items, person.id, signed_at, follow_ups, submission=arrival
            )
        except Conflict:
            # A retry of this very key racing its first attempt: the first one won.
            before = self._taken(person, queued, round_id, digest)
            if before is not None:
                return before, True
            raise self._signed_meanwhile(service.get_round(round_id)) from None
        log.info(
            "round signed off line plan=%s target=%s period=%s by=%s signed_at=%.0f "
            "received_at=%.0f",
            plan.id,
            target.key,
            record.period_key,
            person.id,
            signed_at,
            now,
        )
        service.signed(person, round_id)
        return signed, False

    def _taken(
        self, person: Person, queued: QueuedRound, round_id: str, digest: str
    ) -> RoundRecord | None:
        found = self.service.store.submission(person.id, queued.key)
        if found is None:
            return None
        if found.round_id != round_id or found.digest != digest:
            raise Conflict(
                f"key {queued.key} was sent before with other content; nothing was changed"
            )
        return self.service.get_round(round_id)

    def _signed_meanwhile(self, record: RoundRecord) -> SignedMeanwhile:
        service = self.service
        who = service.setup.roster.label(record.signed_by) if record.signed_by else "?"
        when = f"{service.local(record.signed_at):%Y-%m-%d %H:%M}" if record.signed_at else "?"
        return SignedMeanwhile(
            f"冲突：此巡检已由 {who} 于 {when} 签字，离线填写的内容未提交 / conflict: "
            f"{who} signed this round at {when}; what was filled in off line was not sent",
            record,
        )

    def _check_photos(self, record: RoundRecord, queued: QueuedRound) -> None:
        problems: dict[str, str] = {}
        for item_id, hashes in queued.photos.items():
            result = record.item(item_id)
            shown = set(result.photos) if result else set()
            missing = [h[:12] for h in hashes if h not in shown]
            if missing:
                problems[item_id] = f"照片尚未上传 / photo {', '.join(missing)} not uploaded yet"
        if problems:
            raise InvalidEntry("部分照片尚未上传 / some photos have not arrived", problems)

    def _check_time(self, record: RoundRecord, signed_at: float, now: float) -> float:
        """``signed_at`` if it can be when the round was signed; else InvalidEntry saying
        why (or Conflict when its period had ended)."""
        service = self.service
        reason = None
        if signed_at > now + CLOCK_SKEW:
            reason = (
                "签字时间晚于服务器时间，请校准平板时钟 / signed at "
                f"{service.local(signed_at):%Y-%m-%d %H:%M:%S}, ahead of the server's clock "
                f"by more than {CLOCK_SKEW:.0f} s: set the tablet's clock"
            )
        elif signed_at < record.opened_at:
            reason = (
                "签字时间早于巡检开始 / signed at "
                f"{service.local(signed_at):%Y-%m-%d %H:%M:%S}, before the round was opened "
                f"({service.local(record.opened_at):%Y-%m-%d %H:%M:%S}): check the tablet's clock"
            )
        elif signed_at < now - MAX_AGE:
            reason = (
                "离线签字超过 7 天，不再接受 / signed at "
                f"{service.local(signed_at):%Y-%m-%d %H:%M}, more than "
                f"{MAX_AGE / 86400:.0f} days ago: file the round again"
            )
        if reason is not None:
            raise InvalidEntry(reason, {"signed_at": reason})
        if signed_at >= record.period_end:
            raise Conflict(
                f"已漏检 / signed after the period {record.period_key} ended: the round was missed"
            )
        # A signature a little ahead of the server (a fast tablet clock) is recorded as
        # arriving when it was signed, never before.
        return min(signed_at, now)


def as_json(service: InspectionService, record: RoundRecord) -> dict[str, Any]:
    """The round with its two times as people read them."""
    body = record.as_json()
    for name in ("signed_at", "received_at"):
        t = body.get(name)
        body[f"{name}_text"] = f"{service.local(t):%Y-%m-%d %H:%M:%S}" if t is not None else None
    return body

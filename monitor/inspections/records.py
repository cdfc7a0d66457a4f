"""What the inspection store holds: rounds (drafts and signed records) with their checklist
results, follow-ups opened by failed items, audit log entries, and the duty page's sign-in
sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "AuditEntry",
    "FollowUp",
    "ItemKind",
    "ItemResult",
    "Outcome",
    "RoundRecord",
    "RoundTarget",
    "Submission",
    "WebSession",
]


class ItemKind(StrEnum):
    AUTOMATED = "automated"
    READING = "reading"
    CONFIRMATION = "confirmation"


class Outcome(StrEnum):
    """合格 / 不合格 / 无数据 / 待填: the result of one checklist item."""

    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    NO_DATA = "no_data"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class RoundTarget:
    """What one round inspects: an asset, a site, or a whole system (per the plan's scope)."""

    per: str  # "asset" | "site" | "system"
    id: str
    name: str
    site: str = ""
    asset: str = ""
    system: str = ""
    #: The assets whose live results automated items read.
    assets: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.per}:{self.id}"


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One checklist item of one round, as filled in or evaluated."""

    item_id: str
    kind: ItemKind
    outcome: Outcome = Outcome.PENDING
    value: str | None = None
    number: float | None = None
    live_value: float | None = None
    discrepancy: bool = False
    note: str = ""
    detail: str = ""
    evaluated_at: float | None = None
    #: The SHA-256 of each photo the item shows, in the order they were added (kept in the
    #: store's photo tables, not written with the item).
    photos: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """A failed item, or an automated one that could not be verified: both need a note
        and a follow-up."""
        return self.outcome in (Outcome.FAIL, Outcome.NO_DATA)

    def as_json(self) -> dict[str, Any]:
        return {
            "item": self.item_id,
            "kind": self.kind.value,
            "outcome": self.outcome.value,
            "value": self.value,
            "number": self.number,
            "live_value": self.live_value,
            "discrepancy": self.discrepancy,
            "note": self.note,
            "detail": self.detail,
            "evaluated_at": self.evaluated_at,
            "photos": list(self.photos),
        }


@dataclass(frozen=True, slots=True)
class RoundRecord:
    """A round of one plan on one target for one period: a draft until signed, immutable
    after. A correction is a new signed record whose ``corrects`` names the one it replaces."""

    id: str
    plan_id: str
    target: str
    site: str
    asset: str
    system: str
    period_key: str
    period_start: float
    period_end: float
    due_at: float
    deadline_at: float
    opened_at: float
    opened_by: str
    signed_at: float | None = None
    signed_by: str | None = None
    corrects: str | None = None
    reason: str = ""
    failed_items: int = 0
    discrepancies: int = 0
    items: tuple[ItemResult, ...] = field(default=())
    #: When a round signed off line reached the server (``signed_at`` is when it was signed
    #: on the tablet); None: it arrived as it was signed.
    received_at: float | None = None

    @property
    def signed(self) -> bool:
        return self.signed_at is not None

    def item(self, item_id: str) -> ItemResult | None:
        return next((i for i in self.items if i.item_id == item_id), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "plan": self.plan_id,
            "target": self.target,
            "site": self.site,
            "asset": self.asset,
            "system": self.system,
            "period": self.period_key,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "due_at": self.due_at,
            "deadline_at": self.deadline_at,
            "opened_at": self.opened_at,
            "opened_by": self.opened_by,
            "signed_at": self.signed_at,
            "signed_by": self.signed_by,
            "received_at": self.received_at if self.received_at is not None else self.signed_at,
            "signed_offline": self.received_at is not None,
            "corrects": self.corrects,
            "reason": self.reason,
            "failed_items": self.failed_items,
            "discrepancies": self.discrepancies,
            "items": [i.as_json() for i in self.items],
        }


@dataclass(frozen=True, slots=True)
class FollowUp:
    """整改: corrective action opened by a failed item, closed with a note."""

    id: str
    round_id: str
    plan_id: str
    target: str
    item_id: str
    opened_at: float
    opened_by: str
    note: str
    closed_at: float | None = None
    closed_by: str | None = None
    close_note: str = ""
    #: By when it should be closed (fixed when it is opened); None: no date.
    due_at: float | None = None

    @property
    def open(self) -> bool:
        return self.closed_at is None

    def overdue(self, now: float) -> bool:
        """Still open past its due date."""
        return self.closed_at is None and self.due_at is not None and now >= self.due_at

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "round": self.round_id,
            "plan": self.plan_id,
            "target": self.target,
            "item": self.item_id,
            "opened_at": self.opened_at,
            "opened_by": self.opened_by,
            "note": self.note,
            "closed_at": self.closed_at,
            "closed_by": self.closed_by,
            "close_note": self.close_note,
            "due_at": self.due_at,
        }


@dataclass(frozen=True, slots=True)
class Submission:
    """A round signed off line as it arrived: whose it was, under which key (the page's
    UUID), a digest of what was sent, and when it was signed and when it arrived."""

    person: str
    key: str
    round_id: str
    digest: str
    signed_at: float
    received_at: float


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the append-only audit log; ``digest`` chains it to the line before."""

    seq: int
    at: float
    actor: str
    action: str
    round_id: str | None
    detail: dict[str, Any]
    digest: str


@dataclass(frozen=True, slots=True)
class WebSession:
    """A duty page sign-in: the SHA-256 of its random id (the id itself is only in the
    person's cookie), who signed in, the form token, and when it was made, last used and
    ends."""

    token_hash: str
    person: str
    csrf: str
    created_at: float
    last_seen_at: float
    expires_at: float

"""What the shift log is made of, as the store keeps it: a fault the duty board showed (raised,
and cleared), an event people or the daemon wrote into the log (a drill, a note, a
configuration reload), and a handover with its two signatures."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["DutyEvent", "EventKind", "Fault", "Handover"]


class EventKind(StrEnum):
    """What can be written into the shift log directly (the rest is read from its source)."""

    DRILL = "drill"  # 演练
    NOTE = "note"  # 值班记录
    CONFIG_RELOAD = "config_reload"  # 配置重载
    CONFIG_REJECTED = "config_rejected"  # 配置重载被拒绝


#: The kinds a person may write (the daemon writes the reloads).
PERSON_KINDS = (EventKind.DRILL, EventKind.NOTE)


@dataclass(frozen=True, slots=True)
class Fault:
    """One problem of the duty board from when it appeared until it cleared: ``key`` is the
    board's (asset and alert), so a fault that clears and comes back is a new fault."""

    id: str
    key: str
    asset: str
    site: str
    alert: str
    severity: str
    zh: str
    en: str
    raised_at: float
    cleared_at: float | None = None

    def open_at(self, t: float) -> bool:
        return self.raised_at <= t and (self.cleared_at is None or self.cleared_at > t)


@dataclass(frozen=True, slots=True)
class DutyEvent:
    id: str
    at: float
    kind: EventKind
    actor: str
    text: str
    site: str = ""
    asset: str = ""


@dataclass(frozen=True, slots=True)
class Handover:
    """The handover of one shift: the outgoing technician's notes and signature over the shift
    log as it stood (kept whole, with its SHA-256), then the incoming one's acknowledgement."""

    shift: str
    shift_start: float
    shift_end: float
    outgoing: str
    outgoing_notes: str
    signed_at: float
    log: str
    log_digest: str
    incoming: str | None = None
    incoming_notes: str | None = None
    acknowledged_at: float | None = None

    @property
    def complete(self) -> bool:
        return self.acknowledged_at is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "shift": self.shift,
            "outgoing": self.outgoing,
            "outgoing_notes": self.outgoing_notes,
            "signed_at": self.signed_at,
            "log_digest": self.log_digest,
            "incoming": self.incoming,
            "incoming_notes": self.incoming_notes,
            "acknowledged_at": self.acknowledged_at,
            "complete": self.complete,
        }

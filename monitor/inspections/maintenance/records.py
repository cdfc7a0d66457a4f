"""A maintenance window as the store keeps it: what is taken out of service (an asset or a
site), from when until when it was planned, why, by whom, and whether it was ended early;
with the Alertmanager silence that goes with it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["MaintenanceWindow", "Scope", "WindowState"]


class Scope(StrEnum):
    ASSET = "asset"
    SITE = "site"


class WindowState(StrEnum):
    """未开始 / 维护中 / 提前结束 / 已结束."""

    UPCOMING = "upcoming"
    ACTIVE = "active"
    ENDED = "ended"  # ended early, by someone
    OVER = "over"  # ran until its planned end


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    id: str
    scope: Scope
    target: str
    #: The site of the asset, or the site itself.
    site: str
    starts_at: float
    #: The planned end; the window is over then unless ended earlier.
    ends_at: float
    reason: str
    owner: str
    created_at: float
    #: The inspection round that opened this window for an item that takes equipment off line.
    round_id: str | None = None
    ended_at: float | None = None
    ended_by: str | None = None
    silence_id: str | None = None
    silence_expired_at: float | None = None

    @property
    def key(self) -> str:
        return f"{self.scope.value}:{self.target}"

    @property
    def end(self) -> float:
        """When the window ends (or ended): early, else as planned."""
        return self.ended_at if self.ended_at is not None else self.ends_at

    def in_force(self, now: float) -> bool:
        return self.starts_at <= now < self.end

    def state(self, now: float) -> WindowState:
        if now < self.starts_at and self.ended_at is None:
            return WindowState.UPCOMING
        if self.ended_at is not None and self.ended_at <= now:
            return WindowState.ENDED
        if now >= self.ends_at:
            return WindowState.OVER
        return WindowState.ACTIVE

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "scope": self.scope.value,
            "target": self.target,
            "site": self.site,
            "asset": self.target if self.scope is Scope.ASSET else "",
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "ended_at": self.ended_at,
            "ended_by": self.ended_by,
            "reason": self.reason,
            "owner": self.owner,
            "created_at": self.created_at,
            "round": self.round_id,
            "state": self.state(now).value,
            "silence": self.silence_id,
            "silence_expired_at": self.silence_expired_at,
        }

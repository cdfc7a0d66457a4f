"""The maintenance windows and their silences in the inspection store (schema v3): writing a
window and ending it early, recording its Alertmanager silence once and its expiry once, and
the reads the service needs. Both store backends inherit these from ``MaintenanceTables``.

The database refuses everything else (``monitor.inspections.schema``): any other change to a
window, a second silence for one window, any deletion. Starting and ending a window are
audit lines in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from monitor.inspections.errors import Conflict, NotFound, StoreError
from monitor.inspections.maintenance.records import MaintenanceWindow, Scope
from monitor.inspections.sqlbase import SqlBase

__all__ = ["WINDOW_COLUMNS", "MaintenanceStore", "MaintenanceTables", "window_from_row"]

WINDOW_COLUMNS = (
    "w.id, w.scope, w.target, w.site, w.starts_at, w.ends_at, w.reason, w.owner, "
    "w.created_at, w.round_id, w.ended_at, w.ended_by, s.silence_id, s.expired_at"
)
_FROM = "maintenance_windows w LEFT JOIN maintenance_silences s ON s.window_id = w.id"


def window_from_row(row: Sequence[Any]) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=row[0],
        scope=Scope(row[1]),
        target=row[2],
        site=row[3],
        starts_at=row[4],
        ends_at=row[5],
        reason=row[6],
        owner=row[7],
        created_at=row[8],
        round_id=row[9],
        ended_at=row[10],
        ended_by=row[11],
        silence_id=row[12],
        silence_expired_at=row[13],
    )


class MaintenanceStore(Protocol):
    """What the maintenance service needs from the store."""

    def add_window(self, window: MaintenanceWindow) -> MaintenanceWindow: ...
    def end_window(self, window_id: str, by: str, at: float) -> MaintenanceWindow: ...
    def window(self, window_id: str) -> MaintenanceWindow | None: ...
    def window_of_round(self, round_id: str) -> MaintenanceWindow | None: ...
    def windows(
        self,
        *,
        ending_after: float | None = None,
        planned_end_after: float | None = None,
        starting_before: float | None = None,
        limit: int = 500,
    ) -> list[MaintenanceWindow]: ...
    def record_silence(self, window_id: str, silence_id: str, at: float) -> str: ...
    def expire_silence(self, window_id: str, at: float) -> None: ...


class MaintenanceTables(SqlBase):
    # -- writes ----------------------------------------------------------------------------

    def add_window(self, window: MaintenanceWindow) -> MaintenanceWindow:
        """Write a new window and its audit line; an inspection round has one at most."""
        w = window
        with self._transaction():
            if w.round_id is not None and self._window_of_round(w.round_id) is not None:
                raise Conflict(f"round {w.round_id} already opened its maintenance window")
            self._execute(
                "INSERT INTO maintenance_windows (id, scope, target, site, starts_at, ends_at, "
                "reason, owner, created_at, round_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    w.id,
                    w.scope.value,
                    w.target,
                    w.site,
                    w.starts_at,
                    w.ends_at,
                    w.reason,
                    w.owner,
                    w.created_at,
                    w.round_id,
                ),
            )
            self._audit(
                w.created_at,
                w.owner,
                "maintenance_start",
                w.round_id,
                window=w.id,
                target=w.key,
                starts_at=w.starts_at,
                ends_at=w.ends_at,
                reason=w.reason,
            )
        return self._must_window(w.id)

    def end_window(self, window_id: str, by: str, at: float) -> MaintenanceWindow:
        """End a window early. Conflict when it has ended already (early or as planned)."""
        with self._transaction():
            row = self._execute(
                "SELECT ended_at, ends_at, starts_at, round_id FROM maintenance_windows "
                "WHERE id = ?",
                (window_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"no maintenance window {window_id}")
            ended_at, ends_at, starts_at, round_id = row
            if ended_at is not None:
                raise Conflict(f"maintenance window {window_id} was already ended")
            if at >= ends_at:
                raise Conflict(f"maintenance window {window_id} is already over")
            # A window ended before it began is cancelled: it ends where it would have started.
            at = max(at, starts_at)
            self._execute(
                "UPDATE maintenance_windows SET ended_at = ?, ended_by = ? "
                "WHERE id = ? AND ended_at IS NULL",
                (at, by, window_id),
            )
            self._audit(at, by, "maintenance_end", round_id, window=window_id)
        return self._must_window(window_id)

    def record_silence(self, window_id: str, silence_id: str, at: float) -> str:
        """Record the window's Alertmanager silence; returns the one recorded, which is an
        earlier one when another process got there first."""
        with self._transaction():
            self._execute(
                "INSERT INTO maintenance_silences (window_id, silence_id, created_at) "
                "VALUES (?, ?, ?) ON CONFLICT (window_id) DO NOTHING",
                (window_id, silence_id, at),
            )
            row = self._execute(
                "SELECT silence_id FROM maintenance_silences WHERE window_id = ?", (window_id,)
            ).fetchone()
        if row is None:  # pragma: no cover - just written in a committed transaction
            raise StoreError(f"the silence of window {window_id} vanished")
        return str(row[0])

    def expire_silence(self, window_id: str, at: float) -> None:
        """Note that the window's silence no longer silences anything (once)."""
        with self._transaction():
            self._execute(
                "UPDATE maintenance_silences SET expired_at = ? "
                "WHERE window_id = ? AND expired_at IS NULL",
                (at, window_id),
            )

    # -- reads -----------------------------------------------------------------------------

    def _window_of_round(self, round_id: str) -> MaintenanceWindow | None:
        row = self._execute(
            f"SELECT {WINDOW_COLUMNS} FROM {_FROM} WHERE w.round_id = ?",  # noqa: S608
            (round_id,),
        ).fetchone()
        return None if row is None else window_from_row(row)

    def _must_window(self, window_id: str) -> MaintenanceWindow:
        found = self.window(window_id)
        if found is None:  # pragma: no cover - just written in a committed transaction
            raise StoreError(f"maintenance window {window_id} vanished")
        return found

    def window(self, window_id: str) -> MaintenanceWindow | None:
        with self._guard():
            row = self._execute(
                f"SELECT {WINDOW_COLUMNS} FROM {_FROM} WHERE w.id = ?",  # noqa: S608
                (window_id,),
            ).fetchone()
        return None if row is None else window_from_row(row)

    def window_of_round(self, round_id: str) -> MaintenanceWindow | None:
        with self._guard():
            return self._window_of_round(round_id)

    def windows(
        self,
        *,
        ending_after: float | None = None,
        planned_end_after: float | None = None,
        starting_before: float | None = None,
        limit: int = 500,
    ) -> list[MaintenanceWindow]:
        """The most recent ``limit`` windows, oldest first, of those whose end (early, else
        planned) is after ``ending_after``, whose planned end is after ``planned_end_after``
        (ended early or not) and that start before ``starting_before`` (each when given)."""
        clauses: list[str] = []
        params: list[Any] = []
        if ending_after is not None:
            clauses.append("COALESCE(w.ended_at, w.ends_at) > ?")
            params.append(ending_after)
        if planned_end_after is not None:
            clauses.append("w.ends_at > ?")
            params.append(planned_end_after)
        if starting_before is not None:
            clauses.append("w.starts_at < ?")
            params.append(starting_before)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        with self._guard():
            rows = self._execute(
                f"SELECT {WINDOW_COLUMNS} FROM {_FROM}{where} "  # noqa: S608
                "ORDER BY w.starts_at DESC, w.id LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [window_from_row(r) for r in reversed(rows)]

"""The shift log and the handovers in the inspection store (schema v4): the duty board's faults
as they are raised and cleared, the lines people and the daemon write into the log, the
handovers with their two signatures, and the reads the shift log needs (including the rounds
signed in a shift). Both store backends inherit these from ``HandoverTables``.

The database refuses everything else (``monitor.inspections.schema``): a fault only clears,
once; a log line never changes; a handover is only acknowledged, once; nothing is deleted.
Notes, drills, signatures and acknowledgements are audit lines in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from monitor.inspections.errors import Conflict, NotFound, StoreError
from monitor.inspections.handover.records import DutyEvent, EventKind, Fault, Handover
from monitor.inspections.records import RoundRecord
from monitor.inspections.rows import ROUND_COLUMNS, round_from_row
from monitor.inspections.sqlbase import SqlBase

__all__ = ["HandoverStore", "HandoverTables"]

_FAULT_COLUMNS = "id, key, asset, site, alert, severity, zh, en, raised_at, cleared_at"
_EVENT_COLUMNS = "id, at, kind, actor, text, site, asset"
_HANDOVER_COLUMNS = (
    "shift, shift_start, shift_end, outgoing, outgoing_notes, signed_at, log, log_digest, "
    "incoming, incoming_notes, acknowledged_at"
)
#: The most rows one read of a shift returns (a shift of a failing region may see thousands
#: of faults; the log says when it was cut).
MAX_ROWS = 5000


def _fault(row: Sequence[Any]) -> Fault:
    return Fault(*row)


def _event(row: Sequence[Any]) -> DutyEvent:
    return DutyEvent(row[0], row[1], EventKind(row[2]), row[3], row[4], row[5], row[6])


def _handover(row: Sequence[Any]) -> Handover:
    return Handover(*row)


class HandoverStore(Protocol):
    """What the handover service needs from the store."""

    def raise_fault(self, fault: Fault) -> bool: ...
    def clear_fault(self, fault_id: str, at: float) -> None: ...
    def open_faults(self) -> list[Fault]: ...
    def faults_between(self, start: float, end: float) -> list[Fault]: ...
    def add_event(self, event: DutyEvent) -> DutyEvent: ...
    def events_between(self, start: float, end: float) -> list[DutyEvent]: ...
    def sign_handover(self, handover: Handover) -> Handover: ...
    def acknowledge_handover(self, shift: str, person: str, notes: str, at: float) -> Handover: ...
    def handover(self, shift: str) -> Handover | None: ...
    def handovers(self, *, ending_after: float, limit: int = 100) -> list[Handover]: ...
    def rounds_signed_between(self, start: float, end: float) -> list[RoundRecord]: ...
    def record_rota(self, shifts: str, at: float) -> float: ...


class HandoverTables(SqlBase):
    # -- the duty board's faults -----------------------------------------------------------

    def raise_fault(self, fault: Fault) -> bool:
        """Record a fault as raised; False when that key is open already (another instance
        saw it first)."""
        with self._transaction():
            row = self._execute(
                "SELECT id FROM duty_faults WHERE key = ? AND cleared_at IS NULL", (fault.key,)
            ).fetchone()
            if row is not None:
                return False
            f = fault
            self._execute(
                f"INSERT INTO duty_faults ({_FAULT_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (f.id, f.key, f.asset, f.site, f.alert, f.severity, f.zh, f.en, f.raised_at),
            )
        return True

    def clear_fault(self, fault_id: str, at: float) -> None:
        """Record that a fault cleared at ``at`` (no earlier than it was raised); once."""
        with self._transaction():
            self._execute(
                "UPDATE duty_faults SET cleared_at = CASE WHEN raised_at > ? THEN raised_at "
                "ELSE ? END WHERE id = ? AND cleared_at IS NULL",
                (at, at, fault_id),
            )

    def open_faults(self) -> list[Fault]:
        with self._guard():
            rows = self._execute(
                f"SELECT {_FAULT_COLUMNS} FROM duty_faults "  # noqa: S608
                "WHERE cleared_at IS NULL ORDER BY raised_at, key LIMIT ?",
                (MAX_ROWS,),
            ).fetchall()
        return [_fault(r) for r in rows]

    def faults_between(self, start: float, end: float) -> list[Fault]:
        """The faults open at some time in [start, end): raised before its end, and not
        cleared before its start."""
        with self._guard():
            rows = self._execute(
                f"SELECT {_FAULT_COLUMNS} FROM duty_faults "  # noqa: S608
                "WHERE raised_at < ? AND (cleared_at IS NULL OR cleared_at >= ?) "
                "ORDER BY raised_at, key LIMIT ?",
                (end, start, MAX_ROWS),
            ).fetchall()
        return [_fault(r) for r in rows]

    # -- lines of the log ------------------------------------------------------------------

    def add_event(self, event: DutyEvent) -> DutyEvent:
        """Write a line into the log; what a person writes is also an audit line."""
        e = event
        with self._transaction():
            self._execute(
                f"INSERT INTO duty_events ({_EVENT_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (e.id, e.at, e.kind.value, e.actor, e.text, e.site, e.asset),
            )
            if e.kind in (EventKind.DRILL, EventKind.NOTE):
                self._audit(e.at, e.actor, f"duty_{e.kind.value}", None, event=e.id, text=e.text)
        return e

    def events_between(self, start: float, end: float) -> list[DutyEvent]:
        with self._guard():
            rows = self._execute(
                f"SELECT {_EVENT_COLUMNS} FROM duty_events "  # noqa: S608
                "WHERE at >= ? AND at < ? ORDER BY at, id LIMIT ?",
                (start, end, MAX_ROWS),
            ).fetchall()
        return [_event(r) for r in rows]

    # -- handovers -------------------------------------------------------------------------

    def sign_handover(self, handover: Handover) -> Handover:
        """Store the outgoing signature; Conflict when the shift was handed over already."""
        h = handover
        with self._transaction():
            if self._handover(h.shift) is not None:
                raise Conflict(f"the shift {h.shift} was handed over already")
            self._execute(
                f"INSERT INTO handovers ({_HANDOVER_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
                (
                    h.shift,
                    h.shift_start,
                    h.shift_end,
                    h.outgoing,
                    h.outgoing_notes,
                    h.signed_at,
                    h.log,
                    h.log_digest,
                ),
            )
            self._audit(
                h.signed_at,
                h.outgoing,
                "handover_sign",
                None,
                shift=h.shift,
                log_digest=h.log_digest,
                notes=h.outgoing_notes,
            )
        return self._must_handover(h.shift)

    def acknowledge_handover(self, shift: str, person: str, notes: str, at: float) -> Handover:
        """Store the incoming acknowledgement; NotFound before the outgoing signature,
        Conflict when acknowledged already."""
        with self._transaction():
            found = self._handover(shift)
            if found is None:
                raise NotFound(f"the shift {shift} has not been signed over yet")
            if found.acknowledged_at is not None:
                raise Conflict(f"the handover of {shift} was acknowledged already")
            self._execute(
                "UPDATE handovers SET incoming = ?, incoming_notes = ?, acknowledged_at = ? "
                "WHERE shift = ? AND acknowledged_at IS NULL",
                (person, notes, at, shift),
            )
            self._audit(
                at,
                person,
                "handover_acknowledge",
                None,
                shift=shift,
                log_digest=found.log_digest,
                notes=notes,
            )
        return self._must_handover(shift)

    def _handover(self, shift: str) -> Handover | None:
        row = self._execute(
            f"SELECT {_HANDOVER_COLUMNS} FROM handovers WHERE shift = ?",  # noqa: S608
            (shift,),
        ).fetchone()
        return None if row is None else _handover(row)

    def _must_handover(self, shift: str) -> Handover:
        found = self.handover(shift)
        if found is None:  # pragma: no cover - just written in a committed transaction
            raise StoreError(f"the handover of {shift} vanished")
        return found

    def handover(self, shift: str) -> Handover | None:
        with self._guard():
            return self._handover(shift)

    def handovers(self, *, ending_after: float, limit: int = 100) -> list[Handover]:
        """The handovers of shifts ending after ``ending_after``, the latest ``limit``,
        oldest first."""
        with self._guard():
            rows = self._execute(
                f"SELECT {_HANDOVER_COLUMNS} FROM handovers "  # noqa: S608
                "WHERE shift_end > ? ORDER BY shift_start DESC LIMIT ?",
                (ending_after, limit),
            ).fetchall()
        return [_handover(r) for r in reversed(rows)]

    # -- the rota --------------------------------------------------------------------------

    def record_rota(self, shifts: str, at: float) -> float:
        """Note that the rota ``shifts`` is in force from ``at`` unless it is the one noted
        last; returns when the first rota came into force (handovers are kept since)."""
        with self._transaction():
            last = self._execute(
                "SELECT shifts FROM duty_rotas ORDER BY since DESC LIMIT 1"
            ).fetchone()
            if last is None or last[0] != shifts:
                self._execute("INSERT INTO duty_rotas (since, shifts) VALUES (?, ?)", (at, shifts))
            row = self._execute("SELECT MIN(since) FROM duty_rotas").fetchone()
        return float(row[0])

    # -- inspection rounds signed in a shift ------------------------------------------------

    def rounds_signed_between(self, start: float, end: float) -> list[RoundRecord]:
        """The original records (not corrections) signed in [start, end), without items."""
        with self._guard():
            rows = self._execute(
                f"SELECT {ROUND_COLUMNS} FROM rounds "  # noqa: S608
                "WHERE corrects IS NULL AND signed_at >= ? AND signed_at < ? "
                "ORDER BY signed_at, id LIMIT ?",
                (start, end, MAX_ROWS),
            ).fetchall()
        return [round_from_row(r) for r in rows]

"""Where inspection records live: SQLite (one WAL file under the data directory) or PostgreSQL
(by URL, for shared and HA deployments), behind one interface and one versioned schema.

The database itself enforces what must never happen: triggers reject any change to a signed
record or its items, any deletion of a round, any change to the audit log, and any change to
a closed follow-up. Each audit line carries the SHA-256 of the line before, so a gap or an
edit made outside SQL shows in ``verify_audit_chain``. The duty page's sign-in sessions live
here too, so every instance on one database knows them, and the planned maintenance windows
(``monitor.inspections.maintenance.tables``), and the shift log and handovers
(``monitor.inspections.handover.tables``), when each plan first appeared in the store
(``plan_starts``: the calendar owes no round due before it), and the photos of checklist items
(``monitor.inspections.photos.tables``), whose SHA-256 hashes the audit line of a signature
names, and the rounds signed off line (``monitor.inspections.offline.tables``: who sent each under
which key, when it was signed and when it arrived). ``leader_lock`` elects the one instance
that does once-only work: a PostgreSQL session advisory lock on a connection of its own (with
SQLite, one file and one daemon, the lock is always held). Every write is one transaction,
committed (SQLite: ``synchronous=FULL``) before the call returns. sqlite3 and psycopg errors
are turned into ``monitor.inspections.errors`` here and nowhere else.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from monitor.inspections.errors import (
    Conflict,
    InspectionError,
    NotFound,
    RecordImmutable,
    StoreError,
    StoreUnavailable,
)
from monitor.inspections.handover.tables import HandoverStore, HandoverTables
from monitor.inspections.leadership import AdvisoryLeader, LeaderLock, SoleLeader
from monitor.inspections.maintenance.tables import MaintenanceStore, MaintenanceTables
from monitor.inspections.offline.tables import SubmissionStore, SubmissionTables
from monitor.inspections.photos.tables import PhotoStore, PhotoTables
from monitor.inspections.records import (
    AuditEntry,
    FollowUp,
    ItemResult,
    RoundRecord,
    Submission,
    WebSession,
)
from monitor.inspections.rows import (
    FOLLOW_UP_COLUMNS,
    ITEM_COLUMNS,
    ROUND_COLUMNS,
    SESSION_COLUMNS,
    follow_up_from_row,
    item_from_row,
    round_from_row,
)
from monitor.inspections.schema import (
    POSTGRES_MIGRATIONS,
    REFUSALS,
    SCHEMA_VERSION,
    SQLITE_MIGRATIONS,
)
from monitor.inspections.sqlbase import Cursor, chain

__all__ = [
    "SCHEMA_VERSION",
    "InspectionStore",
    "PostgresStore",
    "SqliteStore",
    "open_store",
]


class InspectionStore(MaintenanceStore, HandoverStore, PhotoStore, SubmissionStore, Protocol):
    """What the service needs from a store; both implementations below provide it."""

    dialect: str

    def migrate(self) -> int: ...
    def schema_version(self) -> int: ...
    def open_round(self, record: RoundRecord, actor: str) -> RoundRecord: ...
    def save_items(
        self, round_id: str, items: Sequence[ItemResult], actor: str, at: float
    ) -> RoundRecord: ...
    def sign(
        self,
        round_id: str,
        items: Sequence[ItemResult],
        signer: str,
        at: float,
        follow_ups: Sequence[FollowUp] = (),
        *,
        submission: Submission | None = None,
    ) -> RoundRecord: ...
    def record_correction(
        self, record: RoundRecord, follow_ups: Sequence[FollowUp] = ()
    ) -> RoundRecord: ...
    def get_round(self, round_id: str) -> RoundRecord | None: ...
    def rounds(
        self,
        *,
        plan_id: str | None = None,
        target: str | None = None,
        period_from: float | None = None,
        period_before: float | None = None,
        signed: bool | None = None,
        with_items: bool = False,
    ) -> list[RoundRecord]: ...
    def last_signed(self) -> dict[tuple[str, str], float]: ...
    def follow_ups(
        self,
        *,
        open_only: bool = False,
        round_id: str | None = None,
        due_before: float | None = None,
    ) -> list[FollowUp]: ...
    def follow_up(self, follow_up_id: str) -> FollowUp | None: ...
    def close_follow_up(self, follow_up_id: str, by: str, at: float, note: str) -> FollowUp: ...
    def plan_starts(self, plan_ids: Sequence[str], at: float) -> dict[str, float]: ...
    def audit_log(self, *, after_seq: int = 0, limit: int = 1000) -> list[AuditEntry]: ...
    def audit_head(self) -> int: ...
    def verify_audit_chain(self) -> int: ...
    def create_session(self, session: WebSession, limit: int) -> None: ...
    def find_session(self, token_hash: str, now: float) -> WebSession | None: ...
    def touch_session(self, token_hash: str, at: float) -> None: ...
    def drop_session(self, token_hash: str) -> None: ...
    def purge_sessions(self, now: float) -> int: ...
    def leader_lock(self) -> LeaderLock: ...
    def close(self) -> None: ...


class _SqlStore(MaintenanceTables, HandoverTables, PhotoTables, SubmissionTables):
    """The store's logic, written once; the subclasses bring the connection, the dialect's
    placeholders, transaction start and error mapping."""

    # -- writes ----------------------------------------------------------------------------

    def _insert_round(self, r: RoundRecord) -> None:
        self._execute(
            f"INSERT INTO rounds ({ROUND_COLUMNS}) VALUES "  # noqa: S608
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, 0, 0)",
            (
                r.id,
                r.plan_id,
                r.target,
                r.site,
                r.asset,
                r.system,
                r.period_key,
                r.period_start,
                r.period_end,
                r.due_at,
                r.deadline_at,
                r.opened_at,
                r.opened_by,
                r.corrects,
                r.reason,
            ),
        )

    def _put_items(self, round_id: str, items: Sequence[ItemResult]) -> None:
        for i in items:
            self._execute(
                f"INSERT INTO round_items ({ITEM_COLUMNS}) VALUES "  # noqa: S608
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (round_id, item_id) DO UPDATE SET kind = excluded.kind, "
                "outcome = excluded.outcome, value = excluded.value, number = excluded.number, "
                "live_value = excluded.live_value, discrepancy = excluded.discrepancy, "
                "note = excluded.note, detail = excluded.detail, "
                "evaluated_at = excluded.evaluated_at",
                (
                    round_id,
                    i.item_id,
                    i.kind.value,
                    i.outcome.value,
                    i.value,
                    i.number,
                    i.live_value,
                    int(i.discrepancy),
                    i.note,
                    i.detail,
                    i.evaluated_at,
                ),
            )

    def _draft(self, round_id: str) -> None:
        row = self._execute("SELECT signed_at FROM rounds WHERE id = ?", (round_id,)).fetchone()
        if row is None:
            raise NotFound(f"no round {round_id}")
        if row[0] is not None:
            raise RecordImmutable(f"round {round_id} is signed; file a correction instead")

    def _put_follow_ups(self, follow_ups: Sequence[FollowUp], at: float) -> None:
        for f in follow_ups:
            self._execute(
                f"INSERT INTO follow_ups ({FOLLOW_UP_COLUMNS}) VALUES "  # noqa: S608
                "(?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, '', ?)",
                (
                    f.id,
                    f.round_id,
                    f.plan_id,
                    f.target,
                    f.item_id,
                    f.opened_at,
                    f.opened_by,
                    f.note,
                    f.due_at,
                ),
            )
            self._audit(
                at,
                f.opened_by,
                "follow_up_open",
                f.round_id,
                follow_up=f.id,
                item=f.item_id,
                due=f.due_at,
            )

    def _mark_signed(
        self, round_id: str, items: Sequence[ItemResult], signer: str, at: float
    ) -> None:
        failed = sum(1 for i in items if i.failed)
        discrepancies = sum(1 for i in items if i.discrepancy)
        cursor = self._execute(
            "UPDATE rounds SET signed_at = ?, signed_by = ?, failed_items = ?, "
            "discrepancies = ? WHERE id = ? AND signed_at IS NULL",
            (at, signer, failed, discrepancies, round_id),
        )
        if cursor.rowcount != 1:
            raise Conflict(f"round {round_id} was signed meanwhile")

    def open_round(self, record: RoundRecord, actor: str) -> RoundRecord:
        with self._transaction():
            self._insert_round(record)
            self._put_items(record.id, record.items)
            self._audit(
                record.opened_at,
                actor,
                "open",
                record.id,
                plan=record.plan_id,
                target=record.target,
                period=record.period_key,
            )
        return self._must_get(record.id)

    def save_items(
        self, round_id: str, items: Sequence[ItemResult], actor: str, at: float
    ) -> RoundRecord:
        with self._transaction():
            self._draft(round_id)
            self._put_items(round_id, items)
            self._audit(at, actor, "save", round_id, items=_item_log(items))
        return self._must_get(round_id)

    def sign(
        self,
        round_id: str,
        items: Sequence[ItemResult],
        signer: str,
        at: float,
        follow_ups: Sequence[FollowUp] = (),
        *,
        submission: Submission | None = None,
    ) -> RoundRecord:
        """Sign a draft at ``at``. A round signed off line comes with its ``submission``
        (signed ``at`` on the tablet, arrived at its ``received_at``): its audit line is
        written when it arrived and names both times and the key."""
        with self._transaction():
            self._draft(round_id)
            self._put_items(round_id, items)
            self._mark_signed(round_id, self._items_of(round_id), signer, at)
            detail = self._signed_log(round_id, items)
            logged_at = at
            if submission is not None:
                assert submission.signed_at == at
                self._record_submission(submission)
                logged_at = submission.received_at
                detail |= {"signed_at": at, "received_at": logged_at, "key": submission.key}
            self._audit(logged_at, signer, "sign", round_id, **detail)
            self._put_follow_ups(follow_ups, logged_at)
        return self._must_get(round_id)

    def record_correction(
        self, record: RoundRecord, follow_ups: Sequence[FollowUp] = ()
    ) -> RoundRecord:
        assert record.corrects is not None
        assert record.signed_at is not None
        assert record.signed_by is not None
        with self._transaction():
            row = self._execute(
                "SELECT signed_at FROM rounds WHERE id = ?", (record.corrects,)
            ).fetchone()
            if row is None:
                raise NotFound(f"no round {record.corrects}")
            if row[0] is None:
                raise Conflict(f"round {record.corrects} is not signed; edit it instead")
            self._insert_round(record)
            self._put_items(record.id, record.items)
            self._copy_photos(record.corrects, record.id)
            self._mark_signed(record.id, record.items, record.signed_by, record.signed_at)
            self._audit(
                record.signed_at,
                record.signed_by,
                "correct",
                record.id,
                corrects=record.corrects,
                reason=record.reason,
                **self._signed_log(record.id, record.items),
            )
            self._put_follow_ups(follow_ups, record.signed_at)
        return self._must_get(record.id)

    def close_follow_up(self, follow_up_id: str, by: str, at: float, note: str) -> FollowUp:
        with self._transaction():
            row = self._execute(
                "SELECT closed_at, round_id FROM follow_ups WHERE id = ?", (follow_up_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"no follow-up {follow_up_id}")
            if row[0] is not None:
                raise Conflict(f"follow-up {follow_up_id} is already closed")
            self._execute(
                "UPDATE follow_ups SET closed_at = ?, closed_by = ?, close_note = ? "
                "WHERE id = ? AND closed_at IS NULL",
                (at, by, note, follow_up_id),
            )
            self._audit(at, by, "follow_up_close", row[1], follow_up=follow_up_id)
        found = self.follow_up(follow_up_id)
        assert found is not None
        return found

    def plan_starts(self, plan_ids: Sequence[str], at: float) -> dict[str, float]:
        """When each plan first appeared in the store: those not seen before appear ``at``
        (the first instance to write one wins, another's try changes nothing). Returns every
        plan id given with its first appearance."""
        wanted = sorted(set(plan_ids))
        with self._guard():
            known = self._plan_starts()
        missing = [p for p in wanted if p not in known]
        if missing:
            with self._transaction():
                for plan_id in missing:
                    self._execute(
                        "INSERT INTO plan_starts (plan_id, first_seen) VALUES (?, ?) "
                        "ON CONFLICT (plan_id) DO NOTHING",
                        (plan_id, at),
                    )
                known = self._plan_starts()
        return {p: known[p] for p in wanted}

    def _plan_starts(self) -> dict[str, float]:
        rows = self._execute("SELECT plan_id, first_seen FROM plan_starts").fetchall()
        return {r[0]: float(r[1]) for r in rows}

    # -- reads -----------------------------------------------------------------------------

    def _items_of(self, round_id: str) -> list[ItemResult]:
        rows = self._execute(
            f"SELECT {ITEM_COLUMNS} FROM round_items WHERE round_id = ? ORDER BY item_id",  # noqa: S608
            (round_id,),
        ).fetchall()
        photos = self._photo_links("round_id = ?", (round_id,)).get(round_id, {})
        return [_with_photos(item_from_row(r), photos) for r in rows]

    def _signed_log(self, round_id: str, items: Sequence[ItemResult]) -> dict[str, Any]:
        """What the audit line of a signature says of the record: each item's outcome, and
        the SHA-256 of each photo it shows (as linked in this transaction)."""
        photos = self._photo_log(round_id)
        return {"items": _item_log(items), **({"photos": photos} if photos else {})}

    def _must_get(self, round_id: str) -> RoundRecord:
        record = self.get_round(round_id)
        if record is None:  # pragma: no cover - just written in a committed transaction
            raise StoreError(f"round {round_id} vanished")
        return record

    def get_round(self, round_id: str) -> RoundRecord | None:
        with self._guard():
            row = self._execute(
                f"SELECT {ROUND_COLUMNS} FROM rounds WHERE id = ?",  # noqa: S608
                (round_id,),
            ).fetchone()
            if row is None:
                return None
            record = round_from_row(row, tuple(self._items_of(round_id)))
            arrived = self._arrivals("round_id = ?", (round_id,)).get(round_id)
        return record if arrived is None else replace(record, received_at=arrived)

    def rounds(
        self,
        *,
        plan_id: str | None = None,
        target: str | None = None,
        period_from: float | None = None,
        period_before: float | None = None,
        signed: bool | None = None,
        with_items: bool = False,
    ) -> list[RoundRecord]:
        where: list[str] = []
        params: list[Any] = []
        for clause, value in (
            ("plan_id = ?", plan_id),
            ("target = ?", target),
            ("period_start >= ?", period_from),
            ("period_start < ?", period_before),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        if signed is not None:
            where.append("signed_at IS NOT NULL" if signed else "signed_at IS NULL")
        condition = " WHERE " + " AND ".join(where) if where else ""
        with self._guard():
            rows = self._execute(
                f"SELECT {ROUND_COLUMNS} FROM rounds{condition} "  # noqa: S608
                "ORDER BY period_start, plan_id, target, opened_at",
                params,
            ).fetchall()
            items: dict[str, list[ItemResult]] = {}
            if with_items and rows:
                rounds = f"round_id IN (SELECT id FROM rounds{condition})"  # noqa: S608
                photos = self._photo_links(rounds, params)
                for item_row in self._execute(
                    f"SELECT {ITEM_COLUMNS} FROM round_items WHERE round_id IN "  # noqa: S608
                    f"(SELECT id FROM rounds{condition}) ORDER BY round_id, item_id",
                    params,
                ).fetchall():
                    item = _with_photos(item_from_row(item_row), photos.get(item_row[0], {}))
                    items.setdefault(item_row[0], []).append(item)
            arrived = (
                self._arrivals(f"round_id IN (SELECT id FROM rounds{condition})", params)  # noqa: S608
                if rows
                else {}
            )
        return [
            replace(round_from_row(r, tuple(items.get(r[0], ()))), received_at=arrived.get(r[0]))
            for r in rows
        ]

    def last_signed(self) -> dict[tuple[str, str], float]:
        """When each (plan, target) was last completed: the original records' signatures
        (a correction fixes data, it does not redo the round)."""
        with self._guard():
            rows = self._execute(
                "SELECT plan_id, target, MAX(signed_at) FROM rounds "
                "WHERE signed_at IS NOT NULL AND corrects IS NULL GROUP BY plan_id, target"
            ).fetchall()
        return {(r[0], r[1]): float(r[2]) for r in rows}

    def follow_ups(
        self,
        *,
        open_only: bool = False,
        round_id: str | None = None,
        due_before: float | None = None,
    ) -> list[FollowUp]:
        """Follow-ups, oldest first: only the open ones, those of one round, or those open
        and due by ``due_before``."""
        where: list[str] = []
        params: list[Any] = []
        if due_before is not None:
            where.append("closed_at IS NULL AND due_at <= ?")
            params.append(due_before)
        if open_only:
            where.append("closed_at IS NULL")
        if round_id is not None:
            where.append("round_id = ?")
            params.append(round_id)
        condition = " WHERE " + " AND ".join(where) if where else ""
        with self._guard():
            rows = self._execute(
                f"SELECT {FOLLOW_UP_COLUMNS} FROM follow_ups{condition} ORDER BY opened_at, id",  # noqa: S608
                params,
            ).fetchall()
        return [follow_up_from_row(r) for r in rows]

    def follow_up(self, follow_up_id: str) -> FollowUp | None:
        with self._guard():
            row = self._execute(
                f"SELECT {FOLLOW_UP_COLUMNS} FROM follow_ups WHERE id = ?",  # noqa: S608
                (follow_up_id,),
            ).fetchone()
        return None if row is None else follow_up_from_row(row)

    def audit_log(self, *, after_seq: int = 0, limit: int = 1000) -> list[AuditEntry]:
        with self._guard():
            rows = self._execute(
                "SELECT seq, at, actor, action, round_id, detail, digest FROM audit_log "
                "WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [AuditEntry(int(r[0]), r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows]

    def audit_head(self) -> int:
        """The sequence number of the audit log's last line (0 for none): every write of a
        round or follow-up moves it, whichever instance of a cluster made the write."""
        with self._guard():
            row = self._execute("SELECT COALESCE(MAX(seq), 0) FROM audit_log").fetchone()
        return int(row[0])

    def verify_audit_chain(self) -> int:
        """Recompute every line's digest; returns the number of lines. Raises StoreError at
        the first line that does not follow from the one before."""
        with self._guard():
            rows = self._execute(
                "SELECT seq, at, actor, action, round_id, detail, digest FROM audit_log "
                "ORDER BY seq"
            ).fetchall()
        previous = ""
        for seq, at, actor, action, round_id, detail, digest in rows:
            if chain(previous, at, actor, action, round_id, detail) != digest:
                raise StoreError(f"audit log broken at line {seq}")
            previous = digest
        return len(rows)

    # -- sign-in sessions ------------------------------------------------------------------

    def create_session(self, session: WebSession, limit: int) -> None:
        """Store a new session; expired ones go, and the oldest beyond ``limit``."""
        with self._transaction():
            self._execute("DELETE FROM web_sessions WHERE expires_at <= ?", (session.created_at,))
            row = self._execute("SELECT COUNT(*) FROM web_sessions").fetchone()
            excess = int(row[0]) - limit + 1
            if excess > 0:
                self._execute(
                    "DELETE FROM web_sessions WHERE token_hash IN (SELECT token_hash FROM "
                    "web_sessions ORDER BY expires_at, token_hash LIMIT ?)",
                    (excess,),
                )
            self._execute(
                f"INSERT INTO web_sessions ({SESSION_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    session.token_hash,
                    session.person,
                    session.csrf,
                    session.created_at,
                    session.last_seen_at,
                    session.expires_at,
                ),
            )

    def find_session(self, token_hash: str, now: float) -> WebSession | None:
        with self._guard():
            row = self._execute(
                f"SELECT {SESSION_COLUMNS} FROM web_sessions "  # noqa: S608
                "WHERE token_hash = ? AND expires_at > ?",
                (token_hash, now),
            ).fetchone()
        return None if row is None else WebSession(*row)

    def touch_session(self, token_hash: str, at: float) -> None:
        with self._transaction():
            self._execute(
                "UPDATE web_sessions SET last_seen_at = ? "
                "WHERE token_hash = ? AND last_seen_at < ?",
                (at, token_hash, at),
            )

    def drop_session(self, token_hash: str) -> None:
        with self._transaction():
            self._execute("DELETE FROM web_sessions WHERE token_hash = ?", (token_hash,))

    def purge_sessions(self, now: float) -> int:
        """Delete the sessions that have expired; returns how many."""
        with self._transaction():
            cursor = self._execute("DELETE FROM web_sessions WHERE expires_at <= ?", (now,))
            return max(cursor.rowcount, 0)


def _item_log(items: Sequence[ItemResult]) -> dict[str, str]:
    return {i.item_id: i.outcome.value for i in items}


def _with_photos(item: ItemResult, photos: Mapping[str, tuple[str, ...]]) -> ItemResult:
    found = photos.get(item.item_id, ())
    return replace(item, photos=found) if found else item


class SqliteStore(_SqlStore):
    """One SQLite file in WAL mode; writers from other processes (the CLI) wait their turn."""

    dialect = "sqlite"
    migrations = SQLITE_MIGRATIONS

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are begun explicitly, BEGIN IMMEDIATE, so a
            # writer takes the write lock before it reads what it is about to change.
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
            self._conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a commit is on disk (WAL fsynced) before the call returns.
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA busy_timeout = 10000")
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open the inspection store {self.path}: {exc}") from exc

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._conn.execute(sql, tuple(params))

    def _begin(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def _end(self, commit: bool) -> None:
        self._conn.execute("COMMIT" if commit else "ROLLBACK")

    def _convert(self, exc: Exception) -> InspectionError | None:
        if not isinstance(exc, sqlite3.Error):
            return None
        message = str(exc)
        if isinstance(exc, sqlite3.IntegrityError):
            if any(m in message for m in REFUSALS):
                return RecordImmutable(message)
            if "UNIQUE" in message:
                return Conflict("a record for this plan, target and period already exists")
            return StoreError(f"inspection store refused the change: {message}")
        if isinstance(exc, sqlite3.OperationalError) and "locked" in message:
            return StoreUnavailable("the inspection store is busy (locked); try again")
        return StoreError(f"inspection store error: {message}")

    def leader_lock(self) -> LeaderLock:
        return SoleLeader()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class PostgresStore(_SqlStore):
    """A PostgreSQL database shared by several trunkwatch processes. Writers serialise on an
    advisory lock, which keeps the audit chain linear across processes."""

    dialect = "postgresql"
    migrations = POSTGRES_MIGRATIONS
    _LOCK_KEY = 0x7477_6E73  # "twns"

    def __init__(self, url: str) -> None:
        super().__init__()
        try:
            import psycopg
        except ModuleNotFoundError as exc:  # pragma: no cover - a declared dependency
            raise StoreError(
                "PostgreSQL inspection store needs psycopg: pip install 'psycopg[binary]'"
            ) from exc
        self._psycopg = psycopg
        self._url = url
        self._conn: Any = None
        self._leader = AdvisoryLeader(psycopg, url)
        with self._guard():
            self._connect()

    def _connect(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self._psycopg.connect(self._url, autocommit=True, connect_timeout=10)
        return self._conn

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        cursor: Cursor = self._connect().execute(sql.replace("?", "%s"), tuple(params))
        return cursor

    def _begin(self) -> None:
        conn = self._connect()
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._LOCK_KEY,))

    def _end(self, commit: bool) -> None:
        self._connect().execute("COMMIT" if commit else "ROLLBACK")

    def _convert(self, exc: Exception) -> InspectionError | None:
        psycopg = self._psycopg
        if not isinstance(exc, psycopg.Error):
            return None
        errors = psycopg.errors
        diag = getattr(exc, "diag", None)
        message = (getattr(diag, "message_primary", None) or str(exc)).splitlines()[0]
        if isinstance(exc, errors.RaiseException):
            if any(m in message for m in REFUSALS):
                return RecordImmutable(message)
            return Conflict(message)
        if isinstance(exc, errors.UniqueViolation):
            return Conflict("a record for this plan, target and period already exists")
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            # The connection is gone or unusable: drop it, the next call reconnects.
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
            # The driver's text names host and user at most, never the password; keep it
            # short all the same.
            return StoreUnavailable(f"cannot reach the PostgreSQL inspection store: {message}")
        return StoreError(f"inspection store error: {message}")

    def leader_lock(self) -> LeaderLock:
        return self._leader

    def close(self) -> None:
        self._leader.release()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def open_store(url: str | None, data_dir: Path) -> _SqlStore:
    """Open (and migrate) the store a URL names: None/empty for SQLite in ``data_dir``,
    ``sqlite:///PATH`` (absolute) or ``sqlite:PATH`` (relative to ``data_dir``), or
    ``postgresql://…``."""
    store: _SqlStore
    if not url:
        store = SqliteStore(data_dir / "inspections.sqlite3")
    elif url.startswith("sqlite:"):
        rest = url.removeprefix("sqlite:")
        path = Path(rest[2:]) if rest.startswith("///") else Path(rest.removeprefix("//"))
        store = SqliteStore(path if path.is_absolute() else data_dir / path)
    elif url.startswith(("postgresql://", "postgres://")):
        store = PostgresStore(url)
    else:
        raise StoreError("inspection store URL: expected sqlite:///PATH or postgresql://…")
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store

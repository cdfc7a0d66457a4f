"""The plumbing every table of the inspection store shares, written once for SQLite and
PostgreSQL: one connection used by one thread at a time, transactions, the conversion of the
driver's errors into ``monitor.inspections.errors``, the hash-chained audit log, and the
versioned migrations.

The store's tables are written by classes built on ``SqlBase`` (the rounds and sessions in
``monitor.inspections.store``, the maintenance windows in
``monitor.inspections.maintenance.tables``); the backends there bring the connection, the
dialect's placeholders, transaction start and error mapping.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from monitor.inspections.errors import InspectionError, StoreError
from monitor.inspections.leadership import LeaderLock
from monitor.inspections.schema import MIGRATIONS_TABLE, Migration

__all__ = ["Cursor", "SqlBase", "chain"]


def chain(
    previous: str, at: float, actor: str, action: str, round_id: str | None, detail: str
) -> str:
    """The digest of one audit line, which includes the digest of the line before."""
    line = json.dumps([previous, at, actor, action, round_id, detail], ensure_ascii=False)
    return hashlib.sha256(line.encode()).hexdigest()


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class SqlBase:
    """Connection discipline, transactions, audit lines and migrations; the subclasses
    bring the tables' statements and the backend's hooks."""

    dialect = "sql"
    migrations: tuple[Migration, ...] = ()

    def __init__(self) -> None:
        self._lock = threading.RLock()

    # -- dialect hooks ---------------------------------------------------------------------

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        raise NotImplementedError

    def _begin(self) -> None:
        raise NotImplementedError

    def _end(self, commit: bool) -> None:
        raise NotImplementedError

    def _convert(self, exc: Exception) -> InspectionError | None:
        raise NotImplementedError

    def leader_lock(self) -> LeaderLock:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- plumbing --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Serialise use of the connection and convert the driver's errors."""
        with self._lock:
            try:
                yield
            except InspectionError:
                raise
            except Exception as exc:
                converted = self._convert(exc)
                if converted is None:
                    raise
                raise converted from exc

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._guard():
            self._begin()
            try:
                yield
            except BaseException:
                with contextlib.suppress(Exception):
                    self._end(commit=False)
                raise
            self._end(commit=True)

    def _audit(
        self, at: float, actor: str, action: str, round_id: str | None, **detail: Any
    ) -> None:
        text = json.dumps(detail, ensure_ascii=False, sort_keys=True)
        row = self._execute("SELECT digest FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        digest = chain(row[0] if row else "", at, actor, action, round_id, text)
        self._execute(
            "INSERT INTO audit_log (at, actor, action, round_id, detail, digest) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (at, actor, action, round_id, text, digest),
        )

    # -- schema ----------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self._guard():
            self._execute(MIGRATIONS_TABLE)
            row = self._execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            return int(row[0] or 0)

    def migrate(self) -> int:
        """Apply the migrations this database lacks; returns the schema version."""
        with self._transaction():
            self._execute(MIGRATIONS_TABLE)
            row = self._execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            current = int(row[0] or 0)
            latest = self.migrations[-1].version
            if current > latest:
                raise StoreError(
                    f"the inspection store's schema v{current} is newer than this "
                    f"trunkwatch understands (v{latest}); upgrade trunkwatch"
                )
            for migration in self.migrations:
                if migration.version <= current:
                    continue
                for statement in migration.statements:
                    self._execute(statement)
                self._execute(
                    "INSERT INTO schema_migrations (version, description, applied_at) "
                    "VALUES (?, ?, ?)",
                    (migration.version, migration.description, time.time()),
                )
            # One audit line per upgrade, naming the version it reached (schema_migrations
            # has each step).
            if current < latest:
                self._audit(time.time(), "trunkwatch", "migrate", None, version=latest)
            return latest

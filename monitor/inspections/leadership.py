"""Who of the instances sharing an inspection store does the once-only work.

With SQLite one daemon serves the file, so it always leads. With PostgreSQL the leader holds a
session-level advisory lock on a connection of its own: the lock lives exactly as long as
that connection, so a dead or cut-off holder frees it and the next instance to ask takes it.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Protocol

__all__ = ["AdvisoryLeader", "LeaderLock", "SoleLeader"]


class LeaderLock(Protocol):
    """Who of the instances sharing a store does the once-only work."""

    def hold(self) -> bool:
        """Take the lock if it is free, or check it is still ours; True while this process
        holds it. Never raises: a database that cannot be reached means not holding it."""
        ...

    def release(self) -> None: ...


class SoleLeader:
    """One SQLite file is served by one daemon: it always leads."""

    def hold(self) -> bool:
        return True

    def release(self) -> None:
        return None


class AdvisoryLeader:
    """A PostgreSQL session-level advisory lock held on a connection of its own: it is held
    exactly as long as that connection lives, so a dead or cut-off holder frees it and the
    next ``hold`` of another instance takes it."""

    KEY = 0x7477_6C64  # "twld"; the store's write lock is another key

    def __init__(self, psycopg: Any, url: str) -> None:
        self._psycopg = psycopg
        self._url = url
        self._conn: Any = None
        self._held = False
        self._lock = threading.Lock()

    def hold(self) -> bool:
        with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._held = False
                    self._conn = self._psycopg.connect(
                        self._url, autocommit=True, connect_timeout=5
                    )
                if self._held:
                    # The lock lives as long as this connection: a live connection is a held
                    # lock (asking pg_try_advisory_lock again would stack a second hold).
                    self._conn.execute("SELECT 1")
                    return True
                row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.KEY,)).fetchone()
                self._held = bool(row[0])
            except self._psycopg.Error:
                # The connection died, and the lock with it; try again next time.
                self._drop()
            return self._held

    def _drop(self) -> None:
        with contextlib.suppress(Exception):
            if self._conn is not None:
                self._conn.close()
        self._conn = None
        self._held = False

    def release(self) -> None:
        with self._lock:
            # Closing the connection releases a session lock; no unlock call can fail halfway.
            self._drop()

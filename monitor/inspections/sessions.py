"""Duty page sign-in sessions, kept in the inspection store: a person signed in on one
instance keeps working on any other instance sharing the database, and a restart signs no
one out.

The session id is a random token that only the person's cookie holds; the store keeps its
SHA-256. A session lasts one duty shift from sign-in (not extended by use) and ends at
sign-out. Sessions this instance has confirmed are remembered in memory for one purpose
only: to redraw a form with what was typed while the store cannot be read (nothing can be
written then); whenever the store answers, it alone decides.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from monitor.core.clock import Clock
from monitor.inspections.errors import StoreError
from monitor.inspections.records import WebSession
from monitor.inspections.store import InspectionStore

__all__ = ["MAX_SESSIONS", "SESSION_SECONDS", "TOUCH_SECONDS", "Session", "Sessions"]

#: One 24-hour duty shift.
SESSION_SECONDS = 24 * 3600.0
MAX_SESSIONS = 10_000
#: ``last_seen`` is written at most this often per session: a page view is not a write.
TOUCH_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Session:
    person: str
    csrf: str
    expires: float


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class Sessions:
    """Signed-in people by session id, in the inspection store."""

    def __init__(self, store: InspectionStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        # Handlers call in from worker threads (store calls run off the event loop).
        self._guard = threading.Lock()
        self._seen: OrderedDict[str, Session] = OrderedDict()

    def create(self, person: str) -> tuple[str, Session]:
        """A new session for ``person``; raises StoreError when it cannot be stored."""
        now = self._clock.time()
        sid = secrets.token_urlsafe(32)
        row = WebSession(
            token_hash=_digest(sid),
            person=person,
            csrf=secrets.token_urlsafe(24),
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_SECONDS,
        )
        self._store.create_session(row, MAX_SESSIONS)
        session = Session(row.person, row.csrf, row.expires_at)
        self._remember(row.token_hash, session)
        return sid, session

    def get(self, sid: str | None) -> Session | None:
        """The live session of ``sid``, or None; raises StoreError when the store cannot be
        read (the caller may then fall back to :meth:`remembered`)."""
        if not sid:
            return None
        key = _digest(sid)
        now = self._clock.time()
        row = self._store.find_session(key, now)
        if row is None:
            with self._guard:
                self._seen.pop(key, None)
            return None
        session = Session(row.person, row.csrf, row.expires_at)
        if now - row.last_seen_at >= TOUCH_SECONDS:
            # last_seen is informative; the sign-in itself was read fine.
            with contextlib.suppress(StoreError):
                self._store.touch_session(key, now)
            self._remember(key, session)
        elif self._lookup(key) is None:
            self._remember(key, session)
        return session

    def remembered(self, sid: str | None) -> Session | None:
        """A session this instance confirmed earlier and that has not expired: only for
        redrawing a form while the store is unavailable, never to authorise a write."""
        if not sid:
            return None
        found = self._lookup(_digest(sid))
        if found is None or found.expires <= self._clock.time():
            return None
        return found

    def drop(self, sid: str | None) -> None:
        """Sign out; raises StoreError when the store cannot be written."""
        if sid:
            key = _digest(sid)
            with self._guard:
                self._seen.pop(key, None)
            self._store.drop_session(key)

    def purge(self) -> int:
        """Delete expired sessions from the store (once-only work: any one instance)."""
        now = self._clock.time()
        with self._guard:
            for key in [k for k, s in self._seen.items() if s.expires <= now]:
                del self._seen[key]
        return self._store.purge_sessions(now)

    def _lookup(self, key: str) -> Session | None:
        with self._guard:
            return self._seen.get(key)

    def _remember(self, key: str, session: Session) -> None:
        with self._guard:
            self._seen[key] = session
            self._seen.move_to_end(key)
            while len(self._seen) > MAX_SESSIONS:
                self._seen.popitem(last=False)

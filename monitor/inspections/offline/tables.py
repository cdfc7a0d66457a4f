"""The rounds signed off line in the inspection store (schema v7): each submission recorded in
the transaction that signs its round, found again by its person and key, and the arrival time
of each such round for the reads. Both store backends inherit these from
``SubmissionTables``.

The database refuses everything else (``monitor.inspections.schema``): a submission whose
signature is not its round's, a second submission of a round or of a person's key, and any
change or removal of one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from monitor.inspections.records import Submission
from monitor.inspections.sqlbase import SqlBase

__all__ = ["SUBMISSIONS_SINCE", "SubmissionStore", "SubmissionTables"]

#: The schema version that added the submissions. A store built for an older schema (an older
#: trunkwatch, as the upgrade tests build one) reads none.
SUBMISSIONS_SINCE = 7

_COLUMNS = "person, key, round_id, digest, signed_at, received_at"


class SubmissionStore(Protocol):
    """What the offline service needs from the store beyond the rounds."""

    def submission(self, person: str, key: str) -> Submission | None: ...


class SubmissionTables(SqlBase):
    @property
    def _submissions_kept(self) -> bool:
        return bool(self.migrations) and self.migrations[-1].version >= SUBMISSIONS_SINCE

    def submission(self, person: str, key: str) -> Submission | None:
        """The submission ``person`` sent under ``key``, if it was taken."""
        if not self._submissions_kept:
            return None
        with self._guard():
            row = self._execute(
                f"SELECT {_COLUMNS} FROM round_submissions "  # noqa: S608 - constant text
                "WHERE person = ? AND key = ?",
                (person, key),
            ).fetchone()
        return None if row is None else Submission(*row)

    def _record_submission(self, submission: Submission) -> None:
        """Inside the transaction that signed ``submission.round_id``."""
        s = submission
        self._execute(
            f"INSERT INTO round_submissions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
            (s.person, s.key, s.round_id, s.digest, s.signed_at, s.received_at),
        )

    def _arrivals(self, where: str, params: Sequence[Any]) -> dict[str, float]:
        """Round id → when it arrived, for the rounds signed off line among those ``where``
        (a condition on ``round_id``) selects."""
        if not self._submissions_kept:
            return {}
        rows = self._execute(
            f"SELECT round_id, received_at FROM round_submissions WHERE {where}",  # noqa: S608
            params,
        ).fetchall()
        return {r[0]: float(r[1]) for r in rows}

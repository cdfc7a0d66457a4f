"""The inspection tables' columns and their rows as records, shared by both store backends.

Queries are assembled only from these constant column lists and fixed clauses (hence the
S608 waivers in the store); every value goes through a placeholder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.inspections.records import FollowUp, ItemKind, ItemResult, Outcome, RoundRecord

__all__ = [
    "FOLLOW_UP_COLUMNS",
    "ITEM_COLUMNS",
    "ROUND_COLUMNS",
    "SESSION_COLUMNS",
    "follow_up_from_row",
    "item_from_row",
    "round_from_row",
]

ROUND_COLUMNS = (
    "id, plan_id, target, site, asset, system, period_key, period_start, period_end, due_at, "
    "deadline_at, opened_at, opened_by, signed_at, signed_by, corrects, reason, failed_items, "
    "discrepancies"
)
ITEM_COLUMNS = (
    "round_id, item_id, kind, outcome, value, number, live_value, discrepancy, note, detail, "
    "evaluated_at"
)
SESSION_COLUMNS = "token_hash, person, csrf, created_at, last_seen_at, expires_at"
FOLLOW_UP_COLUMNS = (
    "id, round_id, plan_id, target, item_id, opened_at, opened_by, note, closed_at, closed_by, "
    "close_note, due_at"
)


def round_from_row(row: Sequence[Any], items: tuple[ItemResult, ...] = ()) -> RoundRecord:
    return RoundRecord(
        id=row[0],
        plan_id=row[1],
        target=row[2],
        site=row[3],
        asset=row[4],
        system=row[5],
        period_key=row[6],
        period_start=row[7],
        period_end=row[8],
        due_at=row[9],
        deadline_at=row[10],
        opened_at=row[11],
        opened_by=row[12],
        signed_at=row[13],
        signed_by=row[14],
        corrects=row[15],
        reason=row[16],
        failed_items=row[17],
        discrepancies=row[18],
        items=items,
    )


def item_from_row(row: Sequence[Any]) -> ItemResult:
    return ItemResult(
        item_id=row[1],
        kind=ItemKind(row[2]),
        outcome=Outcome(row[3]),
        value=row[4],
        number=row[5],
        live_value=row[6],
        discrepancy=bool(row[7]),
        note=row[8],
        detail=row[9],
        evaluated_at=row[10],
    )


def follow_up_from_row(row: Sequence[Any]) -> FollowUp:
    return FollowUp(*row)

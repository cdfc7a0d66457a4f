"""The poll plan: everything one probe fetches and maps, worked out once from its profiles.

``PollPlan`` merges the groups of the profiles one probe uses and works out every OID to GET,
every subtree to walk (and when: every poll, on label refreshes, or while a fallback column is
needed) and which mapper reads it; per poll it indexes what came back by column and row, and
maps it to samples. A plan is immutable and shared by every probe polling the same profiles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from probes.base import Family
from probes.snmp.codec import OID, VarBind
from probes.snmp.mappers import Columns, Group, HighCapacityGaugeMapper, MapContext, Mapper
from probes.snmp.rows import (
    MISSING_TAGS,
    ColumnValues,
    Index,
    LabelColumn,
    Labels,
    decode_index,
    label_text,
)
from probes.snmp.state import DeviceState

__all__ = ["INVALID_VALUES", "SYS_UPTIME", "PollPlan", "Walk"]

#: sysUpTime.0: read on every poll, whatever the profiles say, to notice restarts.
SYS_UPTIME: Final[OID] = (1, 3, 6, 1, 2, 1, 1, 3, 0)

INVALID_VALUES = Family(
    "trunkwatch_snmp_invalid_values_total",
    "counter",
    "Values outside the range the MIB allows (or meaning 'no reading'), dropped instead of "
    "exported, by the profile object that received them.",
)


@dataclass(frozen=True, slots=True)
class Walk:
    """One subtree walked every poll (``metric``), on label refreshes (``label``), or while the
    device lacks the primary column it stands in for (``fallback``). Walks of the same
    ``table`` share one multi-column GETBULK where the transport offers it."""

    root: OID
    part: str
    kind: Literal["metric", "label", "fallback"] = "metric"
    table: str = ""


def _under(oid: OID, roots: Iterable[OID]) -> OID | None:
    for root in roots:
        if oid[: len(root)] == root:
            return root
    return None


class PollPlan:
    """Everything one probe fetches and maps, worked out once from its profiles' groups.

    A plan is immutable and shared by every probe polling the same profiles; each probe keeps
    its device's memory in its own ``DeviceState``.
    """

    def __init__(self, groups: Sequence[Group]) -> None:
        self.groups = tuple(groups)
        self.slots: tuple[tuple[Group, Mapper], ...] = tuple(
            (g, m) for g in self.groups for m in g.mappers
        )
        #: OIDs fetched by GET on every poll, and on label refreshes only.
        gets: dict[OID, None] = {SYS_UPTIME: None}
        label_gets: dict[OID, None] = {}
        #: Which part of the profiles an OID serves, to name a failed GET in partial results.
        self.get_part: dict[OID, str] = {}
        #: Metric columns and objects the profiles need, by the name a missing one is reported.
        self.required: dict[OID, str] = {}
        self.fallback_of: dict[OID, OID] = {}
        #: Per profile, the objects and columns its metrics read: a profile none of which
        #: the agent has is absent from the device.
        self.profile_columns: dict[str, set[OID]] = {}
        #: Mapper slots whose values are range-checked, and the object each is counted as.
        self.checked: tuple[tuple[int, str], ...] = ()
        self.label_columns: dict[str, tuple[LabelColumn, ...]] = {}
        #: A table's metric columns: the rows present in them are the table's rows.
        self.metric_columns: dict[str, tuple[OID, ...]] = {}
        wanted: dict[OID, Walk] = {}
        needed: set[OID] = set()
        for group in self.groups:
            label_cols = group.label_columns()
            self.label_columns[group.name] = label_cols
            for mapper in group.mappers:
                if mapper.column is not None and not mapper.optional:
                    self.required.setdefault(mapper.column, mapper.part)
                if mapper.column is not None and mapper.fallback is not None:
                    self.fallback_of[mapper.column] = mapper.fallback
                if mapper.column is not None and isinstance(mapper, HighCapacityGaugeMapper):
                    self.fallback_of[mapper.column] = mapper.high_capacity
                own = (*mapper.columns()[:1], *((mapper.fallback,) if mapper.fallback else ()))
                if isinstance(mapper, HighCapacityGaugeMapper):
                    own = (*own, mapper.high_capacity)
                if own:
                    self.profile_columns.setdefault(group.profile, set()).update(own)
            if group.scalar:
                for mapper in group.mappers:
                    for oid in (*mapper.columns(), *[f for f in [mapper.fallback] if f]):
                        gets.setdefault(oid)
                        self.get_part.setdefault(oid, f"{group.profile}.scalars")
                for lc in label_cols:
                    if lc.column not in gets:
                        label_gets.setdefault(lc.column)
                        self.get_part.setdefault(lc.column, f"{group.profile}.scalars")
                continue
            metric_cols: dict[OID, str] = {}
            for mapper in group.mappers:
                for column in mapper.columns():
                    metric_cols.setdefault(column, mapper.part)
            self.metric_columns[group.name] = tuple(metric_cols)
            for i, root in enumerate(group.walk):
                name = group.name if len(group.walk) == 1 else f"{group.name}[{i}]"
                wanted.setdefault(root, Walk(root, name, table=group.name))
            for column, part in metric_cols.items():
                needed.add(column)
                wanted.setdefault(column, Walk(column, part, table=group.name))
            for mapper in group.mappers:
                if mapper.fallback is not None:
                    needed.add(mapper.fallback)
                    wanted.setdefault(
                        mapper.fallback,
                        Walk(mapper.fallback, mapper.part, "fallback", table=group.name),
                    )
            for lc in label_cols:
                needed.add(lc.column)
                wanted.setdefault(
                    lc.column, Walk(lc.column, f"{group.name}.{lc.label}", "label", group.name)
                )
        # Walk only the outermost roots: a column inside a walked entry comes with it, and the
        # entry is then walked every poll if any metric column needs it.
        self.walks: dict[OID, Walk] = {}
        for root in sorted(wanted, key=len):
            walk = wanted[root]
            cover = _under(root, self.walks)
            if cover is None:
                self.walks[root] = walk
            elif walk.kind == "metric" and self.walks[cover].kind != "metric":
                self.walks[cover] = Walk(cover, self.walks[cover].part, table=walk.table)
        #: The walk that serves each column, and for each walked root the columns inside it
        #: (by OID length) to index on their own.
        self.root_of: dict[OID, OID] = {}
        inner: dict[OID, dict[int, set[OID]]] = {}
        for column in needed:
            cover = column if column in self.walks else _under(column, self.walks)
            assert cover is not None
            self.root_of[column] = cover
            if cover != column:
                inner.setdefault(cover, {}).setdefault(len(column), set()).add(column)
        self.splits: dict[OID, dict[int, frozenset[OID]]] = {
            root: {width: frozenset(columns) for width, columns in widths.items()}
            for root, widths in inner.items()
        }
        #: Walked roots that are columns themselves (not entries walked for their columns).
        self.direct: frozenset[OID] = frozenset(c for c, root in self.root_of.items() if c == root)
        self.gets: tuple[OID, ...] = tuple(gets)
        self.label_gets: tuple[OID, ...] = tuple(label_gets)
        self.checked = tuple(
            (slot, mapper.part)
            for slot, (_, mapper) in enumerate(self.slots)
            if mapper.check is not None
        )
        #: The labels of each checked object's count of invalid values, made once.
        self._invalid_labels: dict[str, Labels] = {
            part: (("object", part),) for _, part in self.checked
        }

    def families(self) -> list[Family]:
        seen: dict[str, Family] = {}
        for _, mapper in self.slots:
            seen.setdefault(mapper.family.name, mapper.family)
        if self.checked:
            seen.setdefault(INVALID_VALUES.name, INVALID_VALUES)
        return list(seen.values())

    # -- per poll ---------------------------------------------------------------------------

    def walk_roots(self, state: DeviceState, *, refresh: bool) -> list[Walk]:
        """The subtrees to walk now: metric walks always, label walks on a refresh, fallback
        walks while the device needs them."""
        return [
            walk
            for walk in self.walks.values()
            if walk.kind == "metric"
            or (walk.kind == "label" and refresh)
            or (walk.kind == "fallback" and walk.root in state.fallback_needed)
        ]

    def columns(
        self, values: Mapping[OID, VarBind], walked: Mapping[OID, list[VarBind]]
    ) -> dict[OID, ColumnValues]:
        """Index what was fetched by column, then by row index."""
        cols: dict[OID, ColumnValues] = {}
        for oid, vb in values.items():
            if vb.tag not in MISSING_TAGS:
                cols[oid] = {(): vb}
        splits, direct = self.splits, self.direct
        for root, vbs in walked.items():
            if root in direct:
                depth = len(root)
                cols[root] = {vb.oid[depth:]: vb for vb in vbs}
            inner = splits.get(root)
            if inner is None:
                continue
            for width, columns in inner.items():
                for vb in vbs:
                    column = vb.oid[:width]
                    if column in columns:
                        rows = cols.get(column)
                        if rows is None:
                            rows = cols[column] = {}
                        rows[vb.oid[width:]] = vb
        return cols

    def fallbacks_missing(self, state: DeviceState, cols: Mapping[OID, ColumnValues]) -> list[Walk]:
        """Fallback walks needed now because their primary column lacks rows of its table;
        remembered, so later polls walk them together with the rest."""
        out: list[Walk] = []
        for group, mapper in self.slots:
            primary, fallback = mapper.column, mapper.fallback
            if group.scalar or primary is None or fallback is None:
                continue
            root = self.root_of[fallback]
            if cols.get(fallback) or root in state.fallback_needed:
                continue
            have = cols.get(primary, {})
            columns = self.metric_columns[group.name]
            # Cheap test first: the primary has as many rows as the fullest column.
            if len(have) >= max(len(cols.get(c, ())) for c in columns):
                continue
            if _table_rows(columns, cols).keys() - have.keys():
                state.fallback_needed.add(root)
                if self.walks[root].kind == "fallback":
                    out.append(self.walks[root])
        return out

    def unknown_rows(self, state: DeviceState, cols: Mapping[OID, ColumnValues]) -> bool:
        """Whether a table has rows the label cache has not seen (a new interface …)."""
        for group in self.groups:
            if group.scalar:
                continue
            known = state.rows.get(group.name, {})
            for column in self.metric_columns[group.name]:
                rows = cols.get(column)
                if rows and not rows.keys() <= known.keys():
                    return True
        return False

    def refresh_labels(self, state: DeviceState, cols: Mapping[OID, ColumnValues]) -> None:
        """Rebuild label values and row labels from this poll's columns."""
        values: dict[OID, dict[Index, str]] = {}
        for group in self.groups:
            for lc in self.label_columns[group.name]:
                got = cols.get(lc.column)
                if got is None:
                    # A label column that did not answer keeps its last known values.
                    values[lc.column] = state.label_values.get(lc.column, {})
                else:
                    values[lc.column] = {
                        i: label_text(vb, lc.decode, lc.enum, state.charset)
                        for i, vb in got.items()
                    }
        state.label_values = values
        state.rows = {}
        # One index object per row of the device, however many columns it was read from and
        # however many refreshes it has seen: everything the state keeps by row index holds
        # that one (a counter row outlives refreshes).
        kept = state.indexes
        indexes: dict[Index, Index] = {}
        for group in self.groups:
            if group.scalar:
                state.rows[group.name] = _SCALAR_ROWS
                continue
            rows = _table_rows(self.metric_columns[group.name], cols)
            for lc in group.labels:
                rows.update(dict.fromkeys(values.get(lc.column, {})))
            state.rows[group.name] = {
                indexes.setdefault(index, kept.get(index, index)): (
                    *decode_index(group.index, index, state.charset),
                    *((lc.label, values.get(lc.column, {}).get(index, "")) for lc in group.labels),
                )
                for index in rows
            }
        for column, by_index in values.items():
            values[column] = {
                indexes.setdefault(i, kept.get(i, i)): text for i, text in by_index.items()
            }
        state.indexes = indexes
        state.label_cache = {}
        state.missing_v1.clear()
        # Forget the counters of rows not seen lately (an interface that went away).
        for counter_rows in state.counters.values():
            stale = [i for i, r in counter_rows.items() if r.generation < state.generation - 1]
            for index in stale:
                del counter_rows[index]

    def map(self, state: DeviceState, cols: dict[OID, ColumnValues]) -> tuple[Columns, set[str]]:
        """Every sample of the profiles from this poll's columns, with the invalid values
        counted so far; and the parts that received values of the wrong kind."""
        ctx = MapContext(cols, state)
        out = Columns()
        for slot, (group, mapper) in enumerate(self.slots):
            mapper.emit(ctx, group, slot, out)
        if self.checked:
            counts: dict[str, int] = {}
            for slot, part in self.checked:
                counts[part] = counts.get(part, 0) + state.invalid[slot]
            labels = self._invalid_labels
            for part, n in counts.items():
                out.add(INVALID_VALUES, n, labels[part])
        return out, ctx.malformed

    def absent_profiles(self, cols: Mapping[OID, ColumnValues], failed: Iterable[OID]) -> list[str]:
        """The profiles none of whose objects the agent has: every fetch of them worked and
        brought nothing."""
        broken = set(failed)
        return [
            profile
            for profile, columns in self.profile_columns.items()
            if not any(cols.get(c) for c in columns)
            and not any(self.root_of.get(c, c) in broken for c in columns)
        ]


#: The one row of a group of scalars, with no labels of its own: shared by every device (a
#: device's rows are replaced at a label refresh, never written).
_SCALAR_ROWS: Final[dict[Index, Labels]] = {(): ()}


def _table_rows(columns: Iterable[OID], cols: Mapping[OID, ColumnValues]) -> dict[Index, None]:
    rows: dict[Index, None] = {}
    for column in columns:
        got = cols.get(column)
        if got:
            rows.update(dict.fromkeys(got))
    return rows

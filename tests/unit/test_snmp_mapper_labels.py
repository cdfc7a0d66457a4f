"""Where a gauge or counter finds its rows' labels: the rows of the last label refresh, and for a
row that refresh has not seen, labels made from its index alone, without making it known (the
poll asks the device for a new row's labels while it is unknown)."""

from __future__ import annotations

from probes.base import Family, Sample
from probes.snmp.codec import OID, Tag, VarBind
from probes.snmp.mappers import Columns, CounterMapper, GaugeMapper, Group, MapContext, Mapper
from probes.snmp.rows import ColumnValues, IndexPart, LabelColumn
from probes.snmp.state import DeviceState

TEMP: OID = (1, 3, 6, 1, 4, 1, 99, 1, 1, 2)
OCTETS: OID = (1, 3, 6, 1, 4, 1, 99, 1, 1, 3)
NAME: OID = (1, 3, 6, 1, 4, 1, 99, 1, 1, 1)
GAUGE = GaugeMapper(family=Family("trunkwatch_t", "gauge", "t"), column=TEMP, part="t")
COUNTER = CounterMapper(
    family=Family("trunkwatch_o_total", "counter", "o"), column=OCTETS, part="o"
)
# The same gauge with a label column of its own: its labels are kept per slot.
OWN = GaugeMapper(
    family=Family("trunkwatch_u", "gauge", "u"),
    column=TEMP,
    part="u",
    labels=(LabelColumn("descr", NAME),),
)
GROUP = Group(
    name="p.t",
    profile="p",
    scalar=False,
    mappers=(GAUGE, COUNTER, OWN),
    index=(IndexPart("index"),),
    labels=(LabelColumn("name", NAME),),
)


def emit(state: DeviceState, rows: dict[int, int]) -> list[Sample]:
    cols: dict[OID, ColumnValues] = {
        column: {(i,): VarBind((*column, i), tag, v) for i, v in rows.items()}
        for column, tag in ((TEMP, Tag.GAUGE32), (OCTETS, Tag.COUNTER64))
    }
    out = Columns()
    ctx = MapContext(cols, state)
    mapper: Mapper
    for slot, mapper in enumerate(GROUP.mappers):
        mapper.emit(ctx, GROUP, slot, out)
    return list(out.samples())


def test_a_row_the_refresh_has_not_seen_is_labelled_from_its_index_and_stays_unknown() -> None:
    known = (("index", "1"), ("name", "eth0"))
    state = DeviceState(slots=3, rows={GROUP.name: {(1,): known}})
    state.label_values = {NAME: {(1,): "eth0"}}
    for _ in range(2):
        out = emit(state, {1: 40, 2: 41})
        assert [(s.family.name, s.labels) for s in out] == [
            ("trunkwatch_t", known),
            ("trunkwatch_t", (("index", "2"), ("name", ""))),
            ("trunkwatch_o_total", known),
            ("trunkwatch_o_total", (("index", "2"), ("name", ""))),
            ("trunkwatch_u", (*known, ("descr", "eth0"))),
            ("trunkwatch_u", (("index", "2"), ("name", ""), ("descr", ""))),
        ]
        # The known row's labels are the refresh's own tuple; the new row is still unknown.
        assert out[0].labels is known and out[2].labels is known
        assert state.rows == {GROUP.name: {(1,): known}}
    # Only the mapper with labels of its own keeps a cache.
    assert list(state.label_cache) == [2]


def test_before_any_label_refresh_rows_are_labelled_from_their_index() -> None:
    state = DeviceState(slots=3)
    out = emit(state, {4: 40})
    assert [s.labels for s in out] == [
        (("index", "4"), ("name", "")),
        (("index", "4"), ("name", "")),
        (("index", "4"), ("name", ""), ("descr", "")),
    ]
    assert state.rows == {}  # still unknown: the group's rows are made by a refresh only

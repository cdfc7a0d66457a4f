"""A state set's series, poll after poll: one per named state, 1 for the current value, with
the very same label tuples until a label refresh, whatever values the device sends."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from probes.base import Family, Sample
from probes.snmp.codec import OID, Tag, VarBind
from probes.snmp.mappers import Columns, Group, MapContext, StateSetMapper
from probes.snmp.rows import Index, Labels
from probes.snmp.state import DeviceState

COLUMN: OID = (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)
STATES = {1: "up", 2: "down", 3: "testing", 7: "lowerLayerDown"}
FAMILY = Family("trunkwatch_if_oper_status", "gauge", "status")
MAPPER = StateSetMapper(family=FAMILY, column=COLUMN, part="ifOperStatus", states=STATES)
GROUP = Group(name="if_mib.ifTable", profile="if_mib", scalar=False, mappers=(MAPPER,))
ROWS: dict[Index, Labels] = {(1,): (("ifIndex", "1"),), (2,): (("ifIndex", "2"),)}


def poll(state: DeviceState, values: dict[tuple[int, ...], int]) -> list[Sample]:
    cols = {COLUMN: {i: VarBind((*COLUMN, *i), Tag.INTEGER, v) for i, v in values.items()}}
    out = Columns()
    MAPPER.emit(MapContext(cols, state), GROUP, 0, out)
    return list(out.samples())


# Values named and not (0, 5, 99), and many of them.
codes = st.sampled_from([*STATES, 0, 5, 99, *range(20, 40)])


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(codes, codes), min_size=1, max_size=60))
def test_each_poll_has_one_series_per_state_at_the_current_value(
    polls: list[tuple[int, int]],
) -> None:
    state = DeviceState(slots=1, rows={GROUP.name: ROWS})
    labelled: dict[tuple[int, ...], list[Labels]] = {}
    for first, second in polls:
        got = poll(state, {(1,): first, (2,): second})
        expected = [
            (FAMILY, float(code == value), (*ROWS[index], ("state", name)), "")
            for index, value in (((1,), first), ((2,), second))
            for code, name in STATES.items()
        ]
        assert [tuple(s) for s in got] == expected
        for k, index in enumerate(((1,), (2,))):
            mine = got[k * len(STATES) : (k + 1) * len(STATES)]
            # Whatever the value, the row's label tuples are the ones of its first poll: a
            # result's series can then be shared with the last one's.
            labels = labelled.setdefault(index, [s.labels for s in mine])
            assert all(s.labels is t for s, t in zip(mine, labels, strict=True))

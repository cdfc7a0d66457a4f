"""MIB views (GET / GETNEXT / GETBULK semantics) and the agreement between the OID table in
``oids.py``, the shipped TRUNKWATCH-SIM-MIB text and what the views actually serve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.simulator import oids as O
from monitor.simulator.fleet import DEFAULT_FLEET, Fleet
from monitor.simulator.mib import MibBuilder, MibView, Syntax
from monitor.simulator.oids import Oid

MIB_TEXT = Path(O.__file__).parent / "mibs" / "TRUNKWATCH-SIM-MIB.txt"
T0 = 1467331200.0


def small_view() -> MibView:
    b = MibBuilder()
    state = {"alarm": False}
    # Registered out of order on purpose: the view sorts once.
    b.column((1, 3, 6, 1, 2, 1, 2, 2, 1, 2), (10,), Syntax.OCTET_STRING, lambda: "ten")
    b.column((1, 3, 6, 1, 2, 1, 2, 2, 1, 2), (2,), Syntax.OCTET_STRING, lambda: "two")
    b.scalar((1, 3, 6, 1, 2, 1, 1, 3), Syntax.TIMETICKS, lambda: 2**32 + 5)
    b.scalar((1, 3, 6, 1, 2, 1, 1, 5), Syntax.OCTET_STRING, lambda: "名")
    b.column(
        (1, 3, 6, 1, 2, 1, 2, 2, 1, 8), (2,), Syntax.INTEGER, lambda: 1 if state["alarm"] else None
    )
    b.scalar((1, 3, 6, 1, 2, 1, 31, 1), Syntax.COUNTER64, lambda: -1)
    return b.build()


def test_next_walks_in_lexicographic_order_and_ends_with_end_of_mib_view() -> None:
    view = small_view()
    oid: Oid = (1, 3)
    seen = []
    while True:
        binding = view.next(oid)
        if binding.tag == Syntax.END_OF_MIB_VIEW:
            assert binding.oid == oid and binding.value is None
            break
        seen.append(binding.oid)
        oid = binding.oid
    assert seen == [
        (1, 3, 6, 1, 2, 1, 1, 3, 0),
        (1, 3, 6, 1, 2, 1, 1, 5, 0),
        (1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 2),
        (1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 10),  # 2 before 10: numeric arcs, not text
        (1, 3, 6, 1, 2, 1, 31, 1, 0),  # the absent row .8.2 is skipped
    ]
    assert view.next((1, 3, 6, 1, 2, 1, 1, 3)).oid == (1, 3, 6, 1, 2, 1, 1, 3, 0)
    assert view.next((1, 3, 6, 1, 2, 1, 1, 3, 0)).oid == (1, 3, 6, 1, 2, 1, 1, 5, 0)
    assert view.next((9,)).tag == Syntax.END_OF_MIB_VIEW


def test_get_coerces_values_and_tells_missing_objects_from_missing_instances() -> None:
    view = small_view()
    assert view.get((1, 3, 6, 1, 2, 1, 1, 3, 0)).value == 5  # TimeTicks wrap at 2^32
    assert view.get((1, 3, 6, 1, 2, 1, 31, 1, 0)).value == 2**64 - 1
    assert view.get((1, 3, 6, 1, 2, 1, 1, 5, 0)).value == "名".encode()
    assert view.get((1, 3, 6, 1, 2, 1, 1, 5, 1)).tag == Syntax.NO_SUCH_INSTANCE
    assert view.get((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 3)).tag == Syntax.NO_SUCH_INSTANCE
    assert view.get((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 2)).tag == Syntax.NO_SUCH_INSTANCE
    assert view.get((1, 3, 6, 1, 2, 1, 1, 4, 0)).tag == Syntax.NO_SUCH_OBJECT
    assert view.get((1, 3, 6, 1, 2, 1, 99, 1)).tag == Syntax.NO_SUCH_OBJECT


def test_bulk_repeats_after_non_repeaters_and_stops_at_the_end() -> None:
    view = small_view()
    sys_uptime = (1, 3, 6, 1, 2, 1, 1, 3)
    if_descr = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
    answer = view.bulk([sys_uptime, if_descr, (1, 3, 6, 1, 2, 1, 31)], 1, 3)
    assert [b.oid for b in answer] == [
        (*sys_uptime, 0),  # non-repeater: one GETNEXT
        (*if_descr, 2),
        (1, 3, 6, 1, 2, 1, 31, 1, 0),
        (*if_descr, 10),
        (1, 3, 6, 1, 2, 1, 31, 1, 0),  # end of view: the OID asked for comes back
        (1, 3, 6, 1, 2, 1, 31, 1, 0),
        (1, 3, 6, 1, 2, 1, 31, 1, 0),
    ]
    assert [b.tag for b in answer[4:]] == [Syntax.END_OF_MIB_VIEW, Syntax.COUNTER64,
                                            Syntax.END_OF_MIB_VIEW]  # fmt: skip
    # Once every repeater is at the end, the remaining repetitions are not sent.
    tail = view.bulk([(1, 3, 6, 1, 2, 1, 31, 1, 0)], 0, 10)
    assert [b.tag for b in tail] == [Syntax.END_OF_MIB_VIEW]
    assert view.bulk([sys_uptime], 5, 10) == [view.next(sys_uptime)]
    assert view.bulk([], 0, 10) == []


def test_duplicate_oid_is_refused() -> None:
    b = MibBuilder()
    b.scalar((1, 3, 6, 1, 2, 1, 1, 5), Syntax.OCTET_STRING, lambda: "a")
    b.scalar((1, 3, 6, 1, 2, 1, 1, 5), Syntax.OCTET_STRING, lambda: "b")
    with pytest.raises(ValueError, match="registered twice"):
        b.build()


# -- the MIB text and the OID table ------------------------------------------------------------

_DEFINITION = re.compile(
    r"^([a-z][A-Za-z0-9-]*)\s+"
    r"(OBJECT-TYPE|OBJECT IDENTIFIER|OBJECT-IDENTITY|NOTIFICATION-TYPE|OBJECT-GROUP|"
    r"NOTIFICATION-GROUP|MODULE-COMPLIANCE|MODULE-IDENTITY)\b"
    r"(.*?)::=\s*\{\s*([A-Za-z][\w-]*)((?:\s+\d+)+)\s*\}",
    re.DOTALL | re.MULTILINE,
)


def parse_mib(text: str) -> dict[str, tuple[Oid, str, str]]:
    """name → (OID, macro, MAX-ACCESS) of every assignment, resolved from ``enterprises``."""
    text = re.sub(r"--[^\n]*", "", text)  # no comment line in this MIB closes on the same line
    known: dict[str, Oid] = {"enterprises": O.ENTERPRISES}
    out: dict[str, tuple[Oid, str, str]] = {}
    for match in _DEFINITION.finditer(text):
        name, macro, body, parent, numbers = match.groups()
        assert parent in known, f"{name}: parent {parent} is not declared before it"
        oid = (*known[parent], *(int(n) for n in numbers.split()))
        access = re.search(r"MAX-ACCESS\s+([\w-]+)", body)
        known[name] = oid
        out[name] = (oid, macro, access.group(1) if access else "")
    return out


def test_mib_text_declares_exactly_the_oid_table() -> None:
    declared = parse_mib(MIB_TEXT.read_text(encoding="utf-8"))
    assert {name: oid for name, (oid, _, _) in declared.items()} == O.SIM_OIDS
    assert declared["trunkwatchSimMIB"][0] == (1, 3, 6, 1, 4, 1, 32473, 77)


def test_every_served_enterprise_oid_is_a_declared_readable_object() -> None:
    declared = parse_mib(MIB_TEXT.read_text(encoding="utf-8"))
    readable = {
        oid: name
        for name, (oid, macro, access) in declared.items()
        if macro == "OBJECT-TYPE" and access == "read-only"
    }
    products = {oid for _, (oid, macro, _) in declared.items() if macro == "OBJECT-IDENTITY"}
    fleet = Fleet({**DEFAULT_FLEET, "start": T0})
    served_objects = set()
    for device in fleet:
        view = fleet.view(device.asset_id)
        if view is None:
            continue
        sys_object_id = view.get((*O.SYS_OBJECT_ID, 0)).value
        assert sys_object_id in products, device.asset_id
        for oid in view.oids:
            if oid[: len(O.DOCUMENTATION_PEN)] != O.DOCUMENTATION_PEN:
                continue
            obj = next((oid[:n] for n in range(len(oid) - 1, 0, -1) if oid[:n] in readable), None)
            assert obj is not None, f"{device.asset_id} serves undeclared {oid}"
            served_objects.add(readable[obj])
    # And everything readable is served by some device.
    assert served_objects == set(readable.values())

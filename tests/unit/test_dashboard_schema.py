"""The built dashboards are valid to Grafana's own schema as grafana-foundation-sdk has it:
every file decodes strictly (``tests/schema/foundation.py``: no key the schema lacks, no value
of the wrong type, no ``null`` where only absence is allowed), and each error planted in a
built board (``tests/schema/plants.py``) is caught at its place. The same files and plants are
type-checked against ``@grafana/schema`` in tests/integration/test_dashboard_types.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grafanalib._gen import DashboardEncoder

from monitor.dashboards import DEFAULT_OUT, LEGACY_KEYS, ROW_KEYS, load, schema_json
from tests.schema.foundation import problems
from tests.schema.plants import PLANTS, Plant

JSON_FILES = sorted(DEFAULT_OUT.glob("*.json"))
SOURCES = sorted(DEFAULT_OUT.parent.glob("*.dashboard.py"))


def _nulls(value: Any, path: str = "$") -> Iterator[str]:
    """The path of every null member below ``value``, but a threshold step's value."""
    if isinstance(value, dict):
        for key, item in value.items():
            if item is None and not (key == "value" and ".steps[" in path):
                yield f"{path}.{key}"
            yield from _nulls(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nulls(item, f"{path}[{index}]")


@pytest.mark.parametrize("path", JSON_FILES, ids=lambda p: p.stem)
def test_every_built_board_decodes_strictly_with_the_foundation_sdk(path: Path) -> None:
    assert problems(json.loads(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("plant", PLANTS, ids=lambda p: p.name)
def test_a_planted_error_fails_the_foundation_check_at_its_place(plant: Plant) -> None:
    board, where = plant.planted()
    found = problems(board)
    places = [p.split(": ", 1)[0] for p in found]
    # The path itself, or the nearest member the SDK could not decode at all (a panel's
    # field config whose table cell type it does not know), never just "the dashboard".
    assert any(
        where == place or where.startswith(f"{place}.") for place in places if place != "$"
    ), found


def test_the_check_rejects_what_grafanalib_writes_unrepaired() -> None:
    """grafanalib's own JSON (before ``schema_json``) fails where the issue said it did:
    legacy keys and ``"datasource": null``; so the passing boards passed on their merits."""
    board = load(DEFAULT_OUT.parent / "noc-overview.dashboard.py")
    raw = json.loads(json.dumps(board.to_json_data(), cls=DashboardEncoder))
    found = "\n".join(problems(raw))
    assert "$.rows: not in the schema" in found
    assert "].datasource: null where the schema allows only absence" in found
    assert ".targets[0].step: not in the schema" in found


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name.removesuffix(".dashboard.py"))
def test_the_build_drops_legacy_keys_and_nulls(source: Path) -> None:
    data = schema_json(load(source))
    found = [f"{path}: null" for path in _nulls(data)]
    panels = [p for p in data["panels"] if p["type"] != "row"]
    rows = [p for p in data["panels"] if p["type"] == "row"]
    kept = {
        "dashboard": [data],
        "panel": panels,
        "target": [t for p in panels for t in p.get("targets", [])],
        "variable": data["templating"]["list"],
        "not interval": [v for v in data["templating"]["list"] if v["type"] != "interval"],
        "timepicker": [data.get("timepicker", {})],
    }
    assert kept.keys() == LEGACY_KEYS.keys()
    for kind, objects in kept.items():
        found += [
            f"{kind}: {sorted(LEGACY_KEYS[kind] & o.keys())}"
            for o in objects
            if LEGACY_KEYS[kind] & o.keys()
        ]
    found += [
        f"row {r['title']}: {sorted(r.keys() - ROW_KEYS)}" for r in rows if r.keys() - ROW_KEYS
    ]
    assert not found
    # What the boards' queries and the integration tests read stays where it was.
    assert kept["target"] and all(t["expr"] and t["refId"] for t in kept["target"])
    assert data["templating"]["list"][0]["name"] == "centre"


def test_a_threshold_base_step_keeps_its_null() -> None:
    """null is the schema's minus infinity for the first step: the one null that stays."""
    data = schema_json(load(DEFAULT_OUT.parent / "noc-overview.dashboard.py"))
    steps = [
        p["fieldConfig"]["defaults"]["thresholds"]["steps"]
        for p in data["panels"]
        if p["type"] != "row"
    ]
    assert steps and all(s[0]["value"] is None for s in steps)

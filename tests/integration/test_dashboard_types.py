"""The built dashboards type-check as Grafana's own ``@grafana/schema`` types under
``tsc --strict`` (``tests/schema/typescript.py``; Node.js and the npm packages that .ci/run
installs), every error planted in a built board (``tests/schema/plants.py``) fails the check in
that board alone, and ``SCHEMA_VERSION`` is the dashboard model version of those types.

One compiler run checks the boards and the plants together (a few seconds); a missing ``node``
or ``npm`` fails with an install hint.
"""

from __future__ import annotations

import json

import pytest

from monitor.dashboards import DEFAULT_OUT, SCHEMA_VERSION
from tests.schema.plants import PLANTS, Plant
from tests.schema.typescript import grafana_schema_version, typecheck

pytestmark = pytest.mark.integration

JSON_FILES = sorted(DEFAULT_OUT.glob("*.json"))


def _plant_name(plant: Plant) -> str:
    return "plant-" + plant.name.replace(" ", "-")


@pytest.fixture(scope="module")
def diagnostics() -> dict[str, list[str]]:
    boards = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in JSON_FILES}
    for plant in PLANTS:
        boards[_plant_name(plant)] = plant.planted()[0]
    return typecheck(boards)


@pytest.mark.parametrize("name", [p.stem for p in JSON_FILES])
def test_every_built_board_type_checks_as_a_grafana_dashboard(
    name: str, diagnostics: dict[str, list[str]]
) -> None:
    assert diagnostics[name] == []


@pytest.mark.parametrize("plant", PLANTS, ids=lambda p: p.name)
def test_a_planted_error_fails_tsc(plant: Plant, diagnostics: dict[str, list[str]]) -> None:
    # The board it is planted in passes (the test above), so the error is the plant's.
    assert diagnostics[plant.board] == []
    assert diagnostics[_plant_name(plant)], f"tsc accepted {plant.name}"


def test_schema_version_is_that_of_the_grafana_types() -> None:
    assert grafana_schema_version() == SCHEMA_VERSION
    assert {json.loads(p.read_text())["schemaVersion"] for p in JSON_FILES} == {SCHEMA_VERSION}

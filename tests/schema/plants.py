"""Errors planted in a copy of a built board, each of which Grafana's schema rejects: both
validators (``foundation.problems`` and ``typescript.typecheck``) must fail on every one.

Each plant names the board it is planted in, changes one thing and returns the JSON path of
what it changed (``$.panels[4].targets[0].step``), which the foundation check must name.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.dashboards import DEFAULT_OUT

__all__ = ["PLANTS", "Plant"]

Board = dict[str, Any]


@dataclass(frozen=True)
class Plant:
    """One injected error: ``apply`` changes the board in place and returns the path."""

    name: str
    board: str
    apply: Callable[[Board], str]

    def planted(self, out: Path = DEFAULT_OUT) -> tuple[Board, str]:
        """A copy of the built board with the error in it, and the path of the error."""
        board = copy.deepcopy(json.loads((out / f"{self.board}.json").read_text("utf-8")))
        return board, self.apply(board)


def _panel(board: Board, kind: str) -> tuple[int, dict[str, Any]]:
    for index, panel in enumerate(board["panels"]):
        if panel["type"] == kind:
            return index, panel
    raise LookupError(f"no {kind} panel to plant an error in")


def _set(board: Board, kind: str, keys: tuple[str | int, ...], value: Any) -> str:
    """Set ``keys`` (a path below the first ``kind`` panel, or the dashboard for ``""``)."""
    target: Any = board
    path = "$"
    if kind:
        index, target = _panel(board, kind)
        path = f"$.panels[{index}]"
    for key in keys[:-1]:
        target = target[key]
        path += f"[{key}]" if isinstance(key, int) else f".{key}"
    target[keys[-1]] = value
    last = keys[-1]
    return path + (f"[{last}]" if isinstance(last, int) else f".{last}")


PLANTS: tuple[Plant, ...] = (
    # Keys the schema does not have: grafanalib's legacy ones, one at each level.
    Plant("dashboard rows", "site-detail", lambda b: _set(b, "", ("rows",), [])),
    Plant("panel span", "site-detail", lambda b: _set(b, "stat", ("span",), 12)),
    Plant(
        "target step",
        "site-detail",
        lambda b: _set(b, "timeseries", ("targets", 0, "step"), 10),
    ),
    Plant(
        "variable useTags",
        "site-detail",
        lambda b: _set(b, "", ("templating", "list", 0, "useTags"), False),
    ),
    Plant(
        "graph-era field option",
        "site-detail",
        lambda b: _set(
            b, "timeseries", ("fieldConfig", "defaults", "custom", "nullPointMode"), "null"
        ),
    ),
    Plant(
        "unknown stat option",
        "noc-overview",
        lambda b: _set(b, "stat", ("options", "valueFontSize"), 12),
    ),
    # Values of the wrong type.
    Plant("grid height as text", "site-detail", lambda b: _set(b, "stat", ("gridPos", "h"), "5")),
    Plant(
        "instant as text",
        "site-detail",
        lambda b: _set(b, "timeseries", ("targets", 0, "instant"), "true"),
    ),
    Plant("refresh in seconds", "noc-overview", lambda b: _set(b, "", ("refresh",), 30)),
    Plant(
        "tooltip mode by name", "noc-overview", lambda b: _set(b, "", ("graphTooltip",), "shared")
    ),
    Plant(
        "line width as text",
        "site-detail",
        lambda b: _set(b, "timeseries", ("fieldConfig", "defaults", "custom", "lineWidth"), "1"),
    ),
    Plant(
        "table cell type unknown",
        "noc-overview",
        lambda b: _set(
            b, "table", ("fieldConfig", "defaults", "custom", "cellOptions", "type"), "fancy"
        ),
    ),
    # null where the schema allows only absence (what grafanalib wrote everywhere).
    Plant("panel datasource null", "site-detail", lambda b: _set(b, "stat", ("datasource",), None)),
    Plant("description null", "noc-overview", lambda b: _set(b, "", ("description",), None)),
)

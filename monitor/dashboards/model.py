"""The dashboard JSON model as Grafana's current schema has it (``schema_json``), and its
text as ``trunkwatch dashboards build`` writes it (``render``).

grafanalib 0.7 still writes keys of Grafana's older JSON model and ``null`` for every unset
field; the schema (``@grafana/schema``, grafana-foundation-sdk) has neither, so they are
dropped here, by the kind of object they stand in. tests/schema holds the files to the schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

__all__ = ["LEGACY_KEYS", "ROW_KEYS", "render", "schema_json"]


#: Keys grafanalib 0.7 still writes from Grafana's older JSON model that the current schema no
#: longer has (Grafana ignores or migrates them on load), by the kind of object they stand in.
LEGACY_KEYS: Mapping[str, frozenset[str]] = {
    # Rows of panels before the grid, the dashboard export's inputs, the old theme switch.
    "dashboard": frozenset({"__inputs", "hideControls", "rows", "sharedCrosshair", "style"}),
    # Grid sizing before gridPos and the edit-mode flags of every panel.
    "panel": frozenset({"editable", "error", "height", "minSpan", "span"}),
    # Graphite's target and metric, the copy of expr as query, Grafana 6's step and the
    # deprecated intervalFactor (the panel's maxDataPoints sets the resolution).
    "target": frozenset({"intervalFactor", "metric", "query", "step", "target"}),
    # Tag-based variables, removed in Grafana 8.
    "variable": frozenset({"tagValuesQuery", "tags", "tagsQuery", "useTags"}),
    # The automatic step of an interval variable, written for every kind of variable.
    "not interval": frozenset({"auto", "auto_count", "auto_min"}),
    # The relative ranges of the time picker, removed at schema version 41.
    "timepicker": frozenset({"time_options"}),
}
#: What a row holds (the schema's RowPanel); grafanalib gives it a graph panel's keys as well.
ROW_KEYS = frozenset(
    {"collapsed", "datasource", "gridPos", "id", "panels", "repeat", "title", "type"}
)


def _without_nulls(value: Any, *, keep_value: bool = False) -> Any:
    """``value`` with every ``null`` member removed: the schema marks an unset field by its
    absence. A threshold step's ``value`` is the exception: there ``null`` is the schema's
    minus infinity, the base step every threshold list starts with."""
    if isinstance(value, dict):
        return {
            key: _without_nulls(item, keep_value=key == "steps")
            for key, item in value.items()
            if item is not None or (keep_value and key == "value")
        }
    if isinstance(value, list):
        return [_without_nulls(item, keep_value=keep_value) for item in value]
    return value


def _without(data: dict[str, Any], kind: str) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in LEGACY_KEYS[kind]}


def _panel(panel: dict[str, Any]) -> dict[str, Any]:
    if panel.get("type") == "row":
        row = {key: value for key, value in panel.items() if key in ROW_KEYS}
        row["panels"] = [_panel(p) for p in row.get("panels", [])]
        return row
    out = _without(panel, "panel")
    if "targets" in out:
        out["targets"] = [_without(t, "target") for t in out["targets"]]
    return out


def _variable(variable: dict[str, Any]) -> dict[str, Any]:
    out = _without(variable, "variable")
    if out.get("type") != "interval":
        out = _without(out, "not interval")
    current = {k: v for k, v in out.get("current", {}).items() if k not in LEGACY_KEYS["variable"]}
    # grafanalib writes an empty selection ({"selected": false}) for a query variable; the
    # schema's current option needs a text and a value, and Grafana picks one on load anyway.
    if "text" in current and "value" in current:
        out["current"] = current
    else:
        out.pop("current", None)
    return out


def schema_json(board: g.Dashboard) -> dict[str, Any]:
    """The dashboard's JSON model as Grafana's current schema has it: grafanalib's output
    without its legacy keys (``LEGACY_KEYS``; rows reduced to ``ROW_KEYS``) and without
    ``null`` where the schema allows only absence."""
    data = json.loads(json.dumps(board.to_json_data(), cls=DashboardEncoder))
    data = _without_nulls(_without(data, "dashboard"))
    data["panels"] = [_panel(p) for p in data.get("panels", [])]
    data["templating"]["list"] = [_variable(v) for v in data["templating"]["list"]]
    if "timepicker" in data:
        data["timepicker"] = _without(data["timepicker"], "timepicker")
    return cast(dict[str, Any], data)


def render(board: g.Dashboard) -> str:
    """The dashboard's JSON model (``schema_json``), deterministic: sorted keys, two-space
    indent, UTF-8 text."""
    return json.dumps(schema_json(board), sort_keys=True, indent=2, ensure_ascii=False) + "\n"

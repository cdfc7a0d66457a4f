"""Grafana dashboards as code: the panel vocabulary the sources in ``dashboards/`` share, and
the build that turns them into dashboard JSON and Grafana provisioning files.

Each ``dashboards/<name>.dashboard.py`` defines a grafanalib ``Dashboard`` called
``dashboard``; ``build()`` runs every source and writes ``dashboards/json/<name>.json``
(sorted keys, so a rebuild is byte-identical and a test can compare it with what is committed)
plus ``dashboards/provisioning/datasources/prometheus.yaml`` and
``dashboards/provisioning/dashboards/trunkwatch.yaml``. The JSON is Grafana 13's dashboard
model (``SCHEMA_VERSION``): ``model`` drops what grafanalib still writes from older ones.

grafanalib 0.7 writes most panels in Grafana's current field-config form, but has no Geomap
panel and writes bar gauges and tables in Grafana 6's form; ``Geomap``, ``BarGauge`` and
``Table`` below write them in grafanalib's own way (attrs classes with ``to_json_data``), so
the NOC map is generated like every other panel. Every panel, target and template variable refers
to the one provisioned Prometheus datasource by uid.

Every board starts with a ``centre`` variable and every query is scoped to it
(``monitor.core.promql.scope``: the matcher on each selector, ``centre`` in each ``by``/``on``),
so the same boards read one centre's Prometheus (no ``centre`` label; "All" matches its
absence) and a region's VictoriaMetrics (one centre or several, kept apart).
"""

from __future__ import annotations

import re
import runpy
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attr
import yaml
from grafanalib import core as g

from monitor.core.promql import scope
from monitor.dashboards.model import LEGACY_KEYS, ROW_KEYS, render, schema_json

__all__ = [
    "BLUE",
    "DATASOURCE",
    "DATASOURCE_UID",
    "DEFAULT_OUT",
    "DEFAULT_SOURCES",
    "GREEN",
    "LEGACY_KEYS",
    "ORANGE",
    "RED",
    "ROW_KEYS",
    "SCHEMA_VERSION",
    "SEVERITY_COLOURS",
    "STATUS_MAPPINGS",
    "STATUS_THRESHOLDS",
    "YELLOW",
    "BarGauge",
    "DashboardSourceError",
    "Geomap",
    "Table",
    "at",
    "bargauge",
    "build",
    "custom_variable",
    "dashboard",
    "geomap",
    "load",
    "render",
    "row",
    "schema_json",
    "stat",
    "state_timeline",
    "steps",
    "table",
    "target",
    "timeseries",
    "variable",
]

DATASOURCE_UID = "trunkwatch-prometheus"
DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": DATASOURCE_UID}
#: The dashboard JSON model version written: the latest of Grafana 13 (README: Grafana), the
#: default of the ``@grafana/schema`` 13 types the tests check against; Grafana loads it as it
#: is, without migrating.
SCHEMA_VERSION = 42
#: The label a region's VictoriaMetrics tells centres apart by (each centre's Prometheus adds
#: it as an external label); every query is scoped to the board's ``$centre``.
CENTRE = "centre"
CENTRE_MATCHER = 'centre=~"$centre"'
DEFAULT_SOURCES = Path(__file__).resolve().parents[2] / "dashboards"
DEFAULT_OUT = DEFAULT_SOURCES / "json"
#: Where Grafana reads the JSON from; the provisioning file names it. Copy or link
#: dashboards/json there (README: Grafana).
GRAFANA_DASHBOARD_PATH = "/var/lib/grafana/dashboards/trunkwatch"
PROMETHEUS_URL = "http://127.0.0.1:9090"

GREEN, ORANGE, YELLOW, RED, BLUE = "green", "orange", "yellow", "red", "blue"


#: asset:trunkwatch_status:code and site:trunkwatch_status:code, for status tiles and maps.
def value_mappings(*states: tuple[int | str, str, str]) -> list[dict[str, Any]]:
    """A Grafana value mapping: each (raw value, text, colour) in order of severity."""
    options = {
        str(value): {"text": text, "color": color, "index": index}
        for index, (value, text, color) in enumerate(states)
    }
    return [{"type": "value", "options": options}]


#: Colours in order of rising severity: every state mapping uses them in this order, so a worse
#: state never looks milder (up green, maintenance and tests blue, degraded amber,
#: unreachable orange, down red).
SEVERITY_COLOURS = (GREEN, BLUE, YELLOW, ORANGE, RED)

STATUS_MAPPINGS = value_mappings(
    (0, "正常 Up", GREEN),
    (1, "部分故障 Degraded", YELLOW),
    (2, "不可达 Unreachable", ORANGE),
    (3, "中断 Down", RED),
)
STATUS_THRESHOLDS: list[dict[str, Any]] = [
    {"color": GREEN, "value": None},
    {"color": YELLOW, "value": 1},
    {"color": ORANGE, "value": 2},
    {"color": RED, "value": 3},
]


#: Options Grafana's schema requires that grafanalib 0.7 does not write, at Grafana's defaults
#: (what Grafana itself would save), so the JSON is complete as it stands.
_STAT_OPTIONS: dict[str, Any] = {
    "wideLayout": True,
    "showPercentChange": False,
    "percentChangeColorMode": "standard",
}
_STATE_TIMELINE_OPTIONS: dict[str, Any] = {
    "legend": {"showLegend": True, "calcs": []},
    "tooltip": {"sort": "none"},
}


def steps(*pairs: tuple[str, float | None]) -> list[dict[str, Any]]:
    """Threshold steps: ``steps((GREEN, None), (RED, 0.9))``."""
    return [{"color": color, "value": value} for color, value in pairs]


def at(x: int, y: int, w: int, h: int) -> g.GridPos:
    return g.GridPos(h=h, w=w, x=x, y=y)


def target(
    expr: str,
    legend: str = "",
    ref: str = "A",
    *,
    instant: bool = False,
    table: bool = False,
) -> g.Target:
    """A Prometheus query of the provisioned datasource."""
    return g.Target(
        expr=scope(expr, CENTRE, CENTRE_MATCHER),
        legendFormat=legend,
        refId=ref,
        instant=instant,
        format="table" if table else "time_series",
        datasource=DATASOURCE,
    )


def _targets(queries: Iterable[g.Target | str]) -> list[g.Target]:
    out = []
    for i, q in enumerate(queries):
        t = target(q) if isinstance(q, str) else q
        out.append(attr.evolve(t, refId=chr(ord("A") + i)))
    return out


def timeseries(
    title: str,
    queries: Sequence[g.Target | str],
    pos: g.GridPos,
    *,
    unit: str = "short",
    description: str = "",
    thresholds: list[dict[str, Any]] | None = None,
    threshold_lines: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    stacked: bool = False,
    time_from: str | None = None,
    overrides: list[dict[str, Any]] | None = None,
) -> g.TimeSeries:
    return g.TimeSeries(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        gridPos=pos,
        unit=unit,
        thresholds=thresholds or steps((GREEN, None)),
        thresholdsStyleMode="line" if threshold_lines else "off",
        valueMin=minimum,
        valueMax=maximum,
        stacking={"mode": "normal", "group": "A"} if stacked else {"mode": "none"},
        fillOpacity=30 if stacked else 10,
        legendDisplayMode="table",
        legendPlacement="right",
        legendCalcs=["lastNotNull", "max"],
        tooltipMode="multi",
        timeFrom=time_from,
        overrides=overrides or [],
        spanNulls=True,
        extraJson={"options": {"legend": {"showLegend": True}, "tooltip": {"sort": "none"}}},
    )


def stat(
    title: str,
    queries: Sequence[g.Target | str],
    pos: g.GridPos,
    *,
    unit: str = "none",
    description: str = "",
    mappings: list[dict[str, Any]] | None = None,
    thresholds: list[dict[str, Any]] | None = None,
    background: bool = True,
    decimals: int | None = None,
) -> g.Stat:
    return g.Stat(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        gridPos=pos,
        format=unit,
        mappings=mappings or [],
        thresholds=thresholds or steps((GREEN, None)),
        colorMode="background" if background else "value",
        graphMode="none",
        reduceCalc="lastNotNull",
        textMode="value_and_name",
        decimals=decimals,
        noValue="无数据 No data",
        extraJson={"options": _STAT_OPTIONS},
    )


def table(
    title: str,
    queries: Sequence[g.Target | str],
    pos: g.GridPos,
    *,
    description: str = "",
    hide: Sequence[str] = ("Time", "__name__"),
    rename: Mapping[str, str] | None = None,
    merge: bool = False,
    overrides: list[dict[str, Any]] | None = None,
    mappings: list[dict[str, Any]] | None = None,
    sort_by: str | None = None,
) -> g.Table:
    """An instant-query table; ``merge`` joins several queries' columns on their labels."""
    instant = [
        attr.evolve(q, instant=True, format="table") if isinstance(q, g.Target) else q
        for q in queries
    ]
    instant = [target(q, instant=True, table=True) if isinstance(q, str) else q for q in instant]
    transformations: list[dict[str, Any]] = []
    if merge:
        transformations.append({"id": "merge", "options": {}})
    transformations.append(
        {
            "id": "organize",
            "options": {
                "excludeByName": {name: True for name in hide},
                "renameByName": dict(rename or {}),
                "indexByName": {},
            },
        }
    )
    # grafanalib's Table fields are invisible to mypy (the library is untyped): pass them on.
    fields: dict[str, Any] = {
        "title": title,
        "description": description,
        "dataSource": DATASOURCE,
        "targets": _targets(instant),
        "gridPos": pos,
        "transformations": transformations,
        "overrides": overrides or [],
        "mappings": mappings or [],
        "thresholds": steps((GREEN, None)),
        "filterable": True,
        "sortBy": [g.TableSortByField(displayName=sort_by)] if sort_by else [],
    }
    return Table(**fields)


def state_timeline(
    title: str,
    queries: Sequence[g.Target | str],
    pos: g.GridPos,
    *,
    mappings: list[dict[str, Any]],
    thresholds: list[dict[str, Any]],
    description: str = "",
) -> g.StateTimeline:
    return g.StateTimeline(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        gridPos=pos,
        mappings=mappings,
        thresholds=thresholds,
        mergeValues=True,
        showValue="never",
        rowHeight=0.8,
        extraJson={"options": _STATE_TIMELINE_OPTIONS},
    )


def row(title: str, y: int) -> g.RowPanel:
    return g.RowPanel(title=title, gridPos=at(0, y, 24, 1), collapsed=False, panels=[])


def variable(
    name: str,
    label: str,
    query: str,
    *,
    include_all: bool = False,
    multi: bool = False,
    regex: str | None = None,
) -> g.Template:
    """A query variable; with ``include_all`` "All" stands for every value (regex ``.*``).
    The series of ``label_values(SERIES, LABEL)`` are scoped to the chosen centre."""
    values = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
    if values is not None and values.group(2) != CENTRE:
        series = scope(values.group(1), CENTRE, CENTRE_MATCHER)
        query = f"label_values({series}, {values.group(2)})"
    return g.Template(
        name=name,
        label=label,
        query=query,
        dataSource=DATASOURCE,
        includeAll=include_all,
        allValue=".*" if include_all else None,
        multi=multi,
        regex=regex,
        refresh=2,  # on time-range change, so new sites appear without a reload
        sort=1,
    )


def centre_variable() -> g.Template:
    """The centre, first on every board: one centre's Prometheus has no ``centre`` label and
    "All" (``.*``) matches its absence; a region's VictoriaMetrics has one per centre."""
    return variable(
        CENTRE,
        "中心 Centre",
        f"label_values(trunkwatch_site_info, {CENTRE})",
        include_all=True,
        multi=True,
    )


def custom_variable(
    name: str, label: str, values: Sequence[str], *, include_all: bool = True
) -> g.Template:
    """A fixed list of values, "All" (regex ``.*``) selected first when ``include_all``."""
    options = [{"selected": False, "text": v, "value": v} for v in values]
    if include_all:
        options.insert(0, {"selected": True, "text": "All", "value": "$__all"})
    else:
        options[0]["selected"] = True
    return g.Template(
        name=name,
        label=label,
        query=",".join(values),
        type="custom",
        includeAll=include_all,
        allValue=".*" if include_all else None,
        options=options,
    )


def dashboard(
    uid: str,
    title: str,
    panels: Sequence[g.Panel],
    *,
    description: str,
    variables: Sequence[g.Template] = (),
    tags: Sequence[str] = (),
    time_from: str = "now-6h",
    refresh: str = "30s",
) -> g.Dashboard:
    """A dashboard in the centre's conventions: local time, shared crosshair, panel ids set."""
    return g.Dashboard(
        uid=uid,
        title=title,
        description=description,
        tags=["trunkwatch", *tags],
        panels=list(panels),
        templating=g.Templating(list=[centre_variable(), *variables]),
        timezone="Asia/Shanghai",
        time=g.Time(time_from, "now"),
        refresh=refresh,
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        schemaVersion=SCHEMA_VERSION,
        editable=False,
        links=[
            g.DashboardLink(
                title="trunkwatch",
                type="dashboards",
                tags=["trunkwatch"],
                asDropdown=True,
                includeVars=True,
                keepTime=True,
            )
        ],
    ).auto_panel_ids()


@attr.s
class Table(g.Table):  # type: ignore[misc]  # grafanalib is untyped
    """A table in Grafana's current form. grafanalib 0.7's ``Table`` still writes Grafana 6's
    panel-level ``color``, ``columns``, ``fontSize`` and ``mappings`` (the field config is
    where mappings act now) and the cell ``displayMode`` that schema version 38 replaced with
    ``cellOptions``."""

    def to_json_data(self) -> dict[str, Any]:
        data: dict[str, Any] = super().to_json_data()
        for key in ("color", "columns", "fontSize"):
            data.pop(key, None)
        defaults = data["fieldConfig"]["defaults"]
        defaults["mappings"] = data.pop("mappings", [])
        defaults["custom"] = {
            "align": self.align,
            "cellOptions": {"type": self.displayMode},
            "filterable": self.filterable,
            "inspect": False,
        }
        data["options"]["frameIndex"] = 0
        return data


@attr.s
class Geomap(g.Panel):  # type: ignore[misc]  # grafanalib is untyped
    """Grafana's Geomap panel (plugin id ``geomap``), which grafanalib 0.7 lacks.

    One marker layer places each row of the query at its ``latitude`` and ``longitude``
    fields (string labels in Prometheus, converted to numbers by a transformation) and colours
    it by ``color_field`` through the panel's thresholds; the base layer is the default map.

    The view fits the markers (Grafana's "Fit to data"), zoomed in no closer than
    ``max_zoom``: one centre's board frames its own sites and a region's frames all of them.
    A fixed centre would not do: Grafana's schema types the view's latitude, longitude and
    zoom as integers, and a whole degree (111 km) is too coarse to centre a city.
    """

    max_zoom: int = attr.ib(default=9)
    padding: int = attr.ib(default=10)
    latitude_field: str = attr.ib(default="latitude")
    longitude_field: str = attr.ib(default="longitude")
    color_field: str = attr.ib(default="Value")
    text_field: str = attr.ib(default="name")
    layer_name: str = attr.ib(default="sites")
    marker_size: int = attr.ib(default=12)
    mappings: list[dict[str, Any]] = attr.ib(factory=list)

    def to_json_data(self) -> dict[str, Any]:
        result: dict[str, Any] = self.panel_json(
            {
                "type": "geomap",
                "fieldConfig": {
                    "defaults": {
                        "color": {"mode": "thresholds"},
                        "mappings": self.mappings,
                        "custom": {"hideFrom": {"legend": False, "tooltip": False, "viz": False}},
                    },
                    "overrides": [],
                },
                "options": {
                    "view": {
                        "id": "fit",
                        "allLayers": True,
                        "padding": self.padding,
                        "maxZoom": self.max_zoom,
                    },
                    "controls": {
                        "showZoom": True,
                        "mouseWheelZoom": True,
                        "showAttribution": True,
                        "showScale": True,
                    },
                    "basemap": {"type": "default", "name": "basemap", "config": {}},
                    "layers": [
                        {
                            "type": "markers",
                            "name": self.layer_name,
                            "tooltip": True,
                            "location": {
                                "mode": "coords",
                                "latitude": self.latitude_field,
                                "longitude": self.longitude_field,
                            },
                            "config": {
                                "showLegend": True,
                                "style": {
                                    "size": {"fixed": self.marker_size},
                                    "color": {"field": self.color_field, "fixed": GREEN},
                                    "opacity": 0.8,
                                    "symbol": {
                                        "mode": "fixed",
                                        "fixed": "img/icons/marker/circle.svg",
                                    },
                                    "text": {
                                        "mode": "field",
                                        "field": self.text_field,
                                        "fixed": "",
                                    },
                                    "textConfig": {
                                        "fontSize": 12,
                                        "offsetX": 0,
                                        "offsetY": -16,
                                        "textAlign": "center",
                                        "textBaseline": "middle",
                                    },
                                },
                            },
                        }
                    ],
                    "tooltip": {"mode": "details"},
                },
                "transformations": [
                    {
                        "id": "convertFieldType",
                        "options": {
                            "conversions": [
                                {"targetField": self.latitude_field, "destinationType": "number"},
                                {"targetField": self.longitude_field, "destinationType": "number"},
                            ],
                            "fields": {},
                        },
                    },
                    *self.transformations,
                ],
            }
        )
        return result


@attr.s
class BarGauge(g.Panel):  # type: ignore[misc]  # grafanalib is untyped
    """A bar gauge in Grafana's current field-config form (grafanalib 0.7's ``BarGauge``
    still writes Grafana 6's ``fieldOptions``)."""

    unit: str = attr.ib(default="none")
    minimum: float | None = attr.ib(default=None)
    maximum: float | None = attr.ib(default=None)
    orientation: str = attr.ib(default="horizontal")
    display_mode: str = attr.ib(default="gradient")

    def to_json_data(self) -> dict[str, Any]:
        result: dict[str, Any] = self.panel_json(
            {
                "type": "bargauge",
                "fieldConfig": {
                    "defaults": {
                        "unit": self.unit,
                        "min": self.minimum,
                        "max": self.maximum,
                        "color": {"mode": "thresholds"},
                        "mappings": [],
                    },
                    "overrides": [],
                },
                "options": {
                    "displayMode": self.display_mode,
                    "orientation": self.orientation,
                    "showUnfilled": True,
                    "maxVizHeight": 300,
                    "minVizHeight": 10,
                    "minVizWidth": 0,
                    "valueMode": "color",
                    "namePlacement": "auto",
                    "sizing": "auto",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "legend": {
                        "showLegend": False,
                        "displayMode": "list",
                        "placement": "bottom",
                        "calcs": [],
                    },
                },
            }
        )
        return result


def bargauge(
    title: str,
    queries: Sequence[g.Target | str],
    pos: g.GridPos,
    *,
    unit: str = "none",
    minimum: float | None = None,
    maximum: float | None = None,
    thresholds: list[dict[str, Any]] | None = None,
    description: str = "",
) -> BarGauge:
    # grafanalib's Panel fields are invisible to mypy (the library is untyped): pass them on.
    common: dict[str, Any] = {
        "title": title,
        "description": description,
        "dataSource": DATASOURCE,
        "targets": _targets(queries),
        "gridPos": pos,
        "thresholds": thresholds or steps((GREEN, None)),
    }
    return BarGauge(unit=unit, minimum=minimum, maximum=maximum, **common)


def geomap(
    title: str,
    query: g.Target | str,
    pos: g.GridPos,
    *,
    max_zoom: int,
    thresholds: list[dict[str, Any]],
    mappings: list[dict[str, Any]] | None = None,
    description: str = "",
) -> Geomap:
    """A map with one marker per row of ``query`` (an instant table with latitude, longitude
    and name columns), coloured by its value, framing every marker (``Geomap``)."""
    q = target(query, instant=True, table=True) if isinstance(query, str) else query
    common: dict[str, Any] = {
        "title": title,
        "description": description,
        "dataSource": DATASOURCE,
        "targets": _targets([q]),
        "gridPos": pos,
        "thresholds": thresholds,
    }
    return Geomap(max_zoom=max_zoom, mappings=mappings or [], **common)


# -- build --------------------------------------------------------------------------------


class DashboardSourceError(ValueError):
    """A ``*.dashboard.py`` that fails to run or defines no dashboard; names the file."""


def load(source: Path) -> g.Dashboard:
    """Run a ``*.dashboard.py`` source and return its ``dashboard``."""
    try:
        namespace = runpy.run_path(str(source))
    except Exception as exc:  # any error of the source is the source's: report it as such
        raise DashboardSourceError(f"{source}: {type(exc).__name__}: {exc}") from exc
    board = namespace.get("dashboard")
    if not isinstance(board, g.Dashboard):
        raise DashboardSourceError(f"{source}: defines no grafanalib Dashboard called 'dashboard'")
    return board


def _datasource_provisioning() -> str:
    doc = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus (trunkwatch)",
                "uid": DATASOURCE_UID,
                "type": "prometheus",
                "access": "proxy",
                "url": PROMETHEUS_URL,
                "isDefault": True,
                "editable": False,
                # The scrape interval: $__rate_interval then spans at least four scrapes.
                "jsonData": {"timeInterval": "15s", "httpMethod": "POST"},
            }
        ],
    }
    header = (
        "# Grafana provisioning: the Prometheus that scrapes trunkwatch. Generated by\n"
        "# `trunkwatch dashboards build`; every dashboard refers to it by this uid.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _dashboard_provisioning() -> str:
    doc = {
        "apiVersion": 1,
        "providers": [
            {
                "name": "trunkwatch",
                "folder": "应急联动中心 trunkwatch",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": GRAFANA_DASHBOARD_PATH, "foldersFromFilesStructure": False},
            }
        ],
    }
    header = (
        "# Grafana provisioning: the trunkwatch dashboards. Generated by `trunkwatch dashboards\n"
        f"# build`; copy or link dashboards/json to {GRAFANA_DASHBOARD_PATH}.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def build(
    out_dir: Path = DEFAULT_OUT,
    *,
    sources: Path = DEFAULT_SOURCES,
    provisioning: Path | None = None,
) -> list[Path]:
    """Render every ``sources/*.dashboard.py`` to ``out_dir/<name>.json`` and write the
    provisioning files under ``provisioning`` (default: beside ``out_dir``). Returns the
    files written, in order. Dashboard JSON no source produces any more is removed."""
    provisioning = provisioning if provisioning is not None else out_dir.parent / "provisioning"
    files = sorted(sources.glob("*.dashboard.py"))
    if not files:
        raise ValueError(f"no *.dashboard.py in {sources}")
    written: list[Path] = []
    uids: dict[str, Path] = {}
    for source in files:
        board = load(source)
        if board.uid in uids:
            raise DashboardSourceError(
                f"{source}: uid {board.uid!r} is also used by {uids[board.uid]}"
            )
        uids[board.uid] = source
        name = source.name.removesuffix(".dashboard.py")
        written.append(_write(out_dir / f"{name}.json", render(board)))
    for stale in sorted(set(out_dir.glob("*.json")) - set(written)):
        stale.unlink()
    written.append(
        _write(provisioning / "datasources" / "prometheus.yaml", _datasource_provisioning())
    )
    written.append(
        _write(provisioning / "dashboards" / "trunkwatch.yaml", _dashboard_provisioning())
    )
    return written

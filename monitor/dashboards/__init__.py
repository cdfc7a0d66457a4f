"""Grafana dashboards as code: the panel vocabulary the sources in ``dashboards/`` share, and
the build that turns them into dashboard JSON and Grafana provisioning files.

Each ``dashboards/<name>.dashboard.py`` defines a grafanalib ``Dashboard`` called
``dashboard``; ``build()`` runs every source and writes ``dashboards/json/<name>.json``
(sorted keys, so a rebuild is byte-identical and a test can compare it with what is committed)
plus ``dashboards/provisioning/datasources/prometheus.yaml`` and
``dashboards/provisioning/dashboards/trunkwatch.yaml``. The JSON is Grafana 13's dashboard
model (``SCHEMA_VERSION``): ``model`` drops what grafanalib still writes from older ones.

grafanalib 0.7 writes most panels in Grafana's current field-config form, but writes bar
gauges and tables in Grafana 6's form; ``BarGauge`` and ``Table`` below write them in
grafanalib's own way (attrs classes with ``to_json_data``). The map (monitor.dashboards.map) and
the alert tables (monitor.dashboards.alerts) are built on this vocabulary. Every panel, target
and template variable refers to the one provisioned Prometheus datasource by uid.

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
from monitor.dashboards.panel_step import SAFE_RESOLUTION, duration_ms, max_data_points_for

__all__ = [
    "BLUE",
    "BOARD_UIDS",
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
    "SCRAPE_INTERVAL",
    "SEVERITY_COLOURS",
    "STATUS_MAPPINGS",
    "STATUS_THRESHOLDS",
    "TRUNKWATCH_URL",
    "YELLOW",
    "BarGauge",
    "DashboardSourceError",
    "Table",
    "asset_names",
    "at",
    "bargauge",
    "board_link",
    "build",
    "custom_variable",
    "dashboard",
    "load",
    "render",
    "row",
    "schema_json",
    "site_names",
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
#: Prometheus's scrape interval, the datasource's ``timeInterval``: the finest step a panel
#: asks for, and the step of every state timeline.
SCRAPE_INTERVAL = "15s"
#: Where the duty page (``/`` of ``trunkwatch run``) is, as the browser sees it: the default
#: of every board's hidden ``trunkwatch`` variable (override with ``?var-trunkwatch=URL``).
TRUNKWATCH_URL = "http://127.0.0.1:9750"
#: Where the repository's alerts/runbooks are published for the duty room: the default of
#: the hidden ``runbooks`` variable the alert tables link through (alerts/runbooks/README.md).
RUNBOOKS_URL = TRUNKWATCH_URL + "/runbooks"
#: The boards a link may open, by what they show.
BOARD_UIDS = {
    "noc": "trunkwatch-noc",
    "site": "trunkwatch-site",
    "lines": "trunkwatch-lines",
    "network": "trunkwatch-network",
    "inspections": "trunkwatch-inspections",
    "capacity": "trunkwatch-capacity",
}

GREEN, ORANGE, YELLOW, RED, BLUE = "green", "orange", "yellow", "red", "blue"


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

#: The codes of ``asset:trunkwatch_status:code`` (alerts/recording.rules.yml), in the duty
#: board's words and colours: an asset in planned maintenance shows blue whatever its probes
#: say, and a site takes its worst asset's code.
STATUS_MAPPINGS = value_mappings(
    (0, "正常 Up", GREEN),
    (1, "维护 Maintenance", BLUE),
    (2, "部分故障 Degraded", YELLOW),
    (3, "不可达 Unreachable", ORANGE),
    (4, "中断 Down", RED),
)
STATUS_THRESHOLDS: list[dict[str, Any]] = [
    {"color": GREEN, "value": None},
    {"color": BLUE, "value": 1},
    {"color": YELLOW, "value": 2},
    {"color": ORANGE, "value": 3},
    {"color": RED, "value": 4},
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
    """A Prometheus query of the provisioned datasource. Its step is the panel's
    (``intervalFactor`` 1: no hidden doubling of it)."""
    return g.Target(
        expr=scope(expr, CENTRE, CENTRE_MATCHER),
        legendFormat=legend,
        refId=ref,
        instant=instant,
        format="table" if table else "time_series",
        datasource=DATASOURCE,
        intervalFactor=1,
    )


def site_names(expr: str) -> str:
    """``expr`` (which keeps ``site``) with the site's name from ``trunkwatch_site_info`` as
    ``site_name``, for legends, tiles and map labels; a series of no configured site keeps
    no name rather than disappearing."""
    return (
        f"({expr}) * on (site) group_left (site_name) "
        "label_replace(max by (site, name) (trunkwatch_site_info),"
        ' "site_name", "$1", "name", "(.*)")'
    )


def asset_names(expr: str) -> str:
    """``expr`` (which keeps ``asset``) with the asset's name from ``trunkwatch_asset_info``
    as ``asset_name``."""
    return (
        f"({expr}) * on (asset) group_left (asset_name) "
        "label_replace(max by (asset, name) (trunkwatch_asset_info),"
        ' "asset_name", "$1", "name", "(.*)")'
    )


def board_link(title: str, board: str, **variables: str) -> dict[str, Any]:
    """A data link to another board (a key of ``BOARD_UIDS``), with ``var-NAME=VALUE`` for each
    of ``variables`` (values are Grafana expressions such as ``${__field.labels.site}``), the
    chosen centre and the time range kept."""
    query = [f"var-{name}={value}" for name, value in variables.items()]
    query += ["${centre:queryparam}", "${__url_time_range}"]
    return {"title": title, "url": f"/d/{BOARD_UIDS[board]}?{'&'.join(query)}"}


def _with_links(links: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The data links of a panel, as ``extraJson`` (grafanalib's panels have none)."""
    if not links:
        return None
    return {"fieldConfig": {"defaults": {"links": [dict(link) for link in links]}}}


def _extra(options: Mapping[str, Any], links: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A panel's ``extraJson``: its options in Grafana's current form, and its data links."""
    return {"options": dict(options), **(_with_links(links) or {})}


def _fixed_step(step: str | None, time_from: str | None) -> dict[str, Any]:
    """A panel's ``interval`` and ``maxDataPoints``: with ``step``, pinned to it over the
    panel's own range (``time_from``, e.g. "7d"); without, Grafana's: the panel's width in
    points, never finer than the scrape interval (the datasource's)."""
    if step is None:
        return {"interval": None, "maxDataPoints": None}
    if time_from is None:
        raise ValueError("a fixed step needs the panel's own time range (time_from)")
    return {
        "interval": step,
        "maxDataPoints": max_data_points_for(duration_ms(time_from), step),
    }


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
    step: str | None = None,
    links: Sequence[Mapping[str, Any]] = (),
) -> g.TimeSeries:
    """A graph. ``step`` pins the query step (with ``time_from``): for series recorded per
    hour or day, read once per hour or day, so none is skipped and none is read twice."""
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
        extraJson=_extra({"legend": {"showLegend": True}, "tooltip": {"sort": "none"}}, links),
        **_fixed_step(step, time_from),
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
    links: Sequence[Mapping[str, Any]] = (),
    text_mode: str = "value_and_name",
) -> g.Stat:
    """Tiles of instant values (``maxDataPoints`` does not apply)."""
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
        textMode=text_mode,
        decimals=decimals,
        noValue="无数据 No data",
        maxDataPoints=None,
        extraJson=_extra(_STAT_OPTIONS, links),
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
    order: Sequence[str] = (),
    sort_desc: bool = False,
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
                "indexByName": {name: i for i, name in enumerate(order)},
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
        "sortBy": [g.TableSortByField(displayName=sort_by, desc=sort_desc)] if sort_by else [],
        "maxDataPoints": None,
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
    links: Sequence[Mapping[str, Any]] = (),
) -> g.StateTimeline:
    """States over time at the scrape interval: one point per scrape up to Prometheus's
    11,000 points a series (6 hours at 15 s is 1,440), so an outage shows from its first
    scrape to its last, not sampled at a step longer than itself."""
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
        interval=SCRAPE_INTERVAL,
        maxDataPoints=SAFE_RESOLUTION,
        extraJson=_extra(_STATE_TIMELINE_OPTIONS, links),
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


def setting_variable(name: str, label: str, default: str) -> g.Template:
    """A hidden text variable holding a deployment setting (an address) the board links
    through; a link or a bookmark may override it with ``var-NAME=VALUE``."""
    return g.Template(
        name=name, label=label, query=default, default=default, type="textbox", hide=2
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
    """A dashboard in the centre's conventions: local time, shared crosshair, panel ids set;
    links back to the NOC overview (the chosen centre kept) and to trunkwatch's duty page,
    and a menu of every trunkwatch board."""
    settings = [
        setting_variable("trunkwatch", "值班页地址 Duty page address", TRUNKWATCH_URL),
        setting_variable("runbooks", "处置手册地址 Runbooks address", RUNBOOKS_URL),
    ]
    return g.Dashboard(
        uid=uid,
        title=title,
        description=description,
        tags=["trunkwatch", *tags],
        panels=list(panels),
        templating=g.Templating(list=[centre_variable(), *variables, *settings]),
        timezone="Asia/Shanghai",
        time=g.Time(time_from, "now"),
        refresh=refresh,
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        schemaVersion=SCHEMA_VERSION,
        editable=False,
        links=[
            g.DashboardLink(
                title="值班总览 NOC overview",
                type="link",
                uri=f"/d/{BOARD_UIDS['noc']}?${{centre:queryparam}}",
                icon="dashboard",
                keepTime=True,
                tooltip="回到值班总览 Back to the NOC overview",
            ),
            g.DashboardLink(
                title="值班页 Duty page",
                type="link",
                uri="${trunkwatch}/",
                icon="external link",
                keepTime=False,
                tooltip="trunkwatch 值班页：交接班、巡检与维护"
                " The duty page: shifts, rounds, planned work",
            ),
            g.DashboardLink(
                title="trunkwatch",
                type="dashboards",
                tags=["trunkwatch"],
                asDropdown=True,
                includeVars=True,
                keepTime=True,
            ),
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
class BarGauge(g.Panel):  # type: ignore[misc]  # grafanalib is untyped
    """A bar gauge in Grafana's current field-config form (grafanalib 0.7's ``BarGauge``
    still writes Grafana 6's ``fieldOptions``)."""

    unit: str = attr.ib(default="none")
    minimum: float | None = attr.ib(default=None)
    maximum: float | None = attr.ib(default=None)
    orientation: str = attr.ib(default="horizontal")
    display_mode: str = attr.ib(default="gradient")
    decimals: int | None = attr.ib(default=None)
    overrides: list[dict[str, Any]] = attr.ib(factory=list)

    def to_json_data(self) -> dict[str, Any]:
        result: dict[str, Any] = self.panel_json(
            {
                "type": "bargauge",
                "fieldConfig": {
                    "defaults": {
                        "unit": self.unit,
                        "min": self.minimum,
                        "max": self.maximum,
                        "decimals": self.decimals,
                        "color": {"mode": "thresholds"},
                        "mappings": [],
                    },
                    "overrides": self.overrides,
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
    links: Sequence[Mapping[str, Any]] = (),
    decimals: int | None = None,
    overrides: list[dict[str, Any]] | None = None,
) -> BarGauge:
    """Horizontal bars of instant values; ``overrides`` set a field's own options (its name,
    its thresholds) by Grafana's field matchers."""
    # grafanalib's Panel fields are invisible to mypy (the library is untyped): pass them on.
    common: dict[str, Any] = {
        "title": title,
        "description": description,
        "dataSource": DATASOURCE,
        "targets": _targets(queries),
        "gridPos": pos,
        "thresholds": thresholds or steps((GREEN, None)),
        "maxDataPoints": None,
        "extraJson": _with_links(links),
    }
    return BarGauge(
        unit=unit,
        minimum=minimum,
        maximum=maximum,
        decimals=decimals,
        overrides=overrides or [],
        **common,
    )


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
                "jsonData": {"timeInterval": SCRAPE_INTERVAL, "httpMethod": "POST"},
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

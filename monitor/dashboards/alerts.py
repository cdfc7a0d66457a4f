"""Alert tables for people: the alerts firing now (``ALERTS``, since when from
``ALERTS_FOR_STATE``) joined with the alert catalogue (``trunkwatch:alert_catalogue:info``,
monitor.dashboards.catalogue) for their titles in Chinese and English, severity and runbook, and
with ``trunkwatch_site_info`` / ``trunkwatch_asset_info`` for names; routing labels are
aggregated away. Faults and inspection rounds each get their own table.
"""

from __future__ import annotations

from collections.abc import Sequence

from grafanalib import core as g

from monitor.dashboards import BLUE, ORANGE, RED, board_link, table, target, value_mappings

__all__ = [
    "FAULT_DETAILS",
    "INSPECTION_DETAILS",
    "SEVERITY_MAPPINGS",
    "alert_table",
    "firing_alerts",
]

#: Labels of a firing alert a person reads beside its site and asset, with the words put
#: before each value: which carrier, circuit, port, service or trap alarm it is about.
FAULT_DETAILS = (
    ("carrier", "载波 carrier "),
    ("circuit", ""),
    ("name", ""),
    ("alias", ""),
    ("descr", ""),
    ("probe", ""),
    ("alarm", ""),
    ("replica", "副本 replica "),
)
#: An inspection alert's round and the person it waits for.
INSPECTION_DETAILS = (("plan", ""), ("owner", "责任人 owner "))
#: Severity ranks of the alert catalogue (monitor.dashboards.catalogue), worst first.
SEVERITY_MAPPINGS = value_mappings(
    ("1", "严重 Critical", RED),
    ("2", "警告 Warning", ORANGE),
    ("3", "提示 Info", BLUE),
)


def _detail(expr: str, details: Sequence[tuple[str, str]]) -> str:
    """``expr`` with a ``detail`` label: the non-empty ``details`` labels, each after its
    words, joined by spaces (each step adds one part into a label of its own, joins it and
    trims the spaces an empty part leaves)."""
    out = f'label_replace({expr}, "detail", "", "", "")'
    for i, (label, words) in enumerate(details):
        part = f"detail_{i}"
        out = f'label_replace({out}, "{part}", "{words}$1", "{label}", "(.+)")'
        out = f'label_join({out}, "detail", " ", "detail", "{part}")'
        out = f'label_replace({out}, "detail", "$1", "detail", " *(.*?) *")'
    return out


def _named(expr: str, label: str, info: str) -> str:
    """``expr`` with ``<label>_name`` from ``info`` (``trunkwatch_site_info`` or
    ``trunkwatch_asset_info``); a series without ``label`` (a fleet-wide alert) shows "-"."""
    # The "-" entry is made from ALERTS aggregated first: labelling every alert "-" as it
    # is would give two alerts of different sites one label set.
    names = (
        f'label_replace(max by ({label}, name) ({info}), "{label}_name", "$1", "name", "(.*)")'
        f" or max by ({label}) ("
        f'label_replace(max by (alertstate) (ALERTS), "{label}", "-", "", ""))'
    )
    return (
        f'label_replace({expr}, "{label}", "-", "{label}", "")'
        f" * on ({label}) group_left ({label}_name) ({names})"
    )


def firing_alerts(category: str, details: Sequence[tuple[str, str]], matchers: str = "") -> str:
    """The alerts of ``category`` (fault | inspection) firing now, one series per alert with
    only what a person reads: the catalogue's titles and severity rank, the site's and the
    asset's names, the ``detail`` and the runbook; the value is when it started
    (``ALERTS_FOR_STATE``), in milliseconds for a date column. Routing labels (``route``,
    ``escalation``, ``owner``, ``parent``, ``root`` …) are left out by the aggregation."""
    extra = f", {matchers}" if matchers else ""
    firing = (
        f'ALERTS_FOR_STATE{{alertname!="Watchdog"{extra}}}'
        f' and ignoring (alertstate) ALERTS{{alertstate="firing"{extra}}}'
    )
    texts = (
        f"({firing}) * on (alertname, severity)"
        " group_left (title_zh, title_en, runbook, severity_rank)"
        f' trunkwatch:alert_catalogue:info{{category="{category}"}}'
    )
    kept = (
        "max by (alertname, severity_rank, title_zh, title_en, runbook, site, asset, detail) ("
        f"{_detail(texts, details)})"
    )
    named = _named(_named(kept, "site", "trunkwatch_site_info"), "asset", "trunkwatch_asset_info")
    return f"{named} * 1000"


def alert_table(
    title: str,
    category: str,
    pos: g.GridPos,
    *,
    details: Sequence[tuple[str, str]],
    matchers: str = "",
    description: str = "",
) -> g.Table:
    """A table of the alerts of ``category`` firing now, for people: severity in colour,
    the problem in Chinese and English, site and asset by name, what it concerns, since
    when, and its runbook (a link through the board's ``runbooks`` address); the site opens
    its board."""
    since = "起始 Since"
    runbook = "处置手册 Runbook"
    site = "站点 Site"
    return table(
        title,
        [target(firing_alerts(category, details, matchers), instant=True, table=True)],
        pos,
        description=description,
        # site stays in the frame (hidden, not removed): the site column's link reads it.
        hide=("Time", "__name__", "alertname", "asset"),
        rename={
            "severity_rank": "级别 Severity",
            "title_zh": "告警 Problem",
            "title_en": "Problem",
            "site_name": site,
            "asset_name": "设备 Asset",
            "detail": "详情 Detail",
            "Value": since,
            "runbook": runbook,
        },
        order=(
            "severity_rank",
            "title_zh",
            "title_en",
            "site_name",
            "asset_name",
            "detail",
            "Value",
            "runbook",
        ),
        sort_by="级别 Severity",
        overrides=[
            {
                "matcher": {"id": "byName", "options": "severity_rank"},
                "properties": [
                    {"id": "mappings", "value": SEVERITY_MAPPINGS},
                    {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                    {"id": "custom.width", "value": 110},
                ],
            },
            {
                "matcher": {"id": "byName", "options": "Value"},
                "properties": [{"id": "unit", "value": "dateTimeAsLocal"}],
            },
            {
                "matcher": {"id": "byName", "options": "site"},
                "properties": [{"id": "custom.hidden", "value": True}],
            },
            {
                "matcher": {"id": "byName", "options": "runbook"},
                "properties": [
                    {
                        "id": "links",
                        "value": [
                            {
                                "title": "处置手册 Runbook",
                                "url": "${runbooks}/${__data.fields.runbook}",
                                "targetBlank": True,
                            }
                        ],
                    }
                ],
            },
            {
                "matcher": {"id": "byName", "options": "site_name"},
                "properties": [
                    {
                        "id": "links",
                        "value": [
                            board_link("站点详情 Site detail", "site", site="${__data.fields.site}")
                        ],
                    }
                ],
            },
        ],
    )

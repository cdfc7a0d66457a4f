"""巡检 Inspections: rounds due today, overdue and failed, open follow-ups, every round's state
and due time, and this month's compliance by person (责任到人)."""

from monitor.dashboards import (
    GREEN,
    ORANGE,
    RED,
    at,
    bargauge,
    row,
    stat,
    steps,
    table,
    target,
    timeseries,
    variable,
)
from monitor.dashboards import dashboard as make_dashboard

OWNER = 'owner=~"$owner"'

panels = [
    row("今日 Today", 0),
    stat(
        "今日待检 Due today",
        [
            target(
                f'count(trunkwatch_inspection_state{{state=~"upcoming|open", {OWNER}}} == 1'
                " and on (plan, site, asset, system, owner)"
                " (trunkwatch_inspection_due_timestamp_seconds < time() + 86400)) or vector(0)",
                "待检 due",
                instant=True,
            )
        ],
        at(0, 1, 6, 4),
        thresholds=steps((GREEN, None)),
        background=False,
    ),
    stat(
        "逾期 Overdue",
        [
            target(
                f"sum(trunkwatch_inspection_overdue{{{OWNER}}}) or vector(0)",
                "逾期 overdue",
                instant=True,
            )
        ],
        at(6, 1, 6, 4),
        thresholds=steps((GREEN, None), (RED, 1)),
    ),
    stat(
        "不合格项 Failed items",
        [
            target(
                f"sum(trunkwatch_inspection_failed_items{{{OWNER}}}) or vector(0)",
                "不合格 failed",
                instant=True,
            )
        ],
        at(12, 1, 6, 4),
        thresholds=steps((GREEN, None), (ORANGE, 1)),
    ),
    stat(
        "未关闭整改 Open follow-ups",
        [
            target(
                f"sum(trunkwatch_inspection_follow_ups_open{{{OWNER}}}) or vector(0)",
                "整改 follow-ups",
                instant=True,
            )
        ],
        at(18, 1, 6, 4),
        thresholds=steps((GREEN, None), (ORANGE, 1)),
    ),
    row("合规率 Compliance", 5),
    bargauge(
        "本月合规率（按责任人）Compliance this month by person",
        [
            target(
                f"avg by (owner) (trunkwatch_inspection_compliance_ratio{{{OWNER}}})",
                "{{owner}}",
                instant=True,
            )
        ],
        at(0, 6, 12, 9),
        unit="percentunit",
        minimum=0,
        maximum=1,
        thresholds=steps((RED, None), (ORANGE, 0.9), (GREEN, 0.95)),
        description="本月已到期巡检中按时签字的比例。"
        " Share of this month's due rounds signed on time.",
    ),
    timeseries(
        "合规率趋势 Compliance trend",
        [target(f"avg by (plan) (trunkwatch_inspection_compliance_ratio{{{OWNER}}})", "{{plan}}")],
        at(12, 6, 12, 9),
        unit="percentunit",
        minimum=0,
        maximum=1,
        thresholds=steps((RED, None), (GREEN, 0.9)),
        threshold_lines=True,
        time_from="30d",
    ),
    row("巡检计划 Rounds", 15),
    table(
        "巡检状态 Round states",
        [f"trunkwatch_inspection_state{{{OWNER}}} == 1"],
        at(0, 16, 14, 10),
        hide=("Time", "__name__", "Value", "job", "instance"),
        rename={
            "plan": "巡检计划 Plan",
            "site": "站点 Site",
            "asset": "设备 Asset",
            "system": "系统 System",
            "owner": "责任人 Owner",
            "state": "状态 State",
        },
        sort_by="状态 State",
    ),
    table(
        "到期时间 Due",
        [f"max by (plan, owner) (trunkwatch_inspection_due_timestamp_seconds{{{OWNER}}}) * 1000"],
        at(14, 16, 10, 10),
        hide=("Time",),
        rename={"plan": "巡检计划 Plan", "owner": "责任人 Owner", "Value": "到期 Due"},
        overrides=[
            {
                "matcher": {"id": "byName", "options": "到期 Due"},
                "properties": [{"id": "unit", "value": "dateTimeAsLocal"}],
            }
        ],
        sort_by="到期 Due",
    ),
    stat(
        "巡检记录库 Inspection store",
        [target("max(trunkwatch_inspection_store_up)", "记录库 store", instant=True)],
        at(0, 26, 6, 4),
        mappings=[
            {
                "type": "value",
                "options": {
                    "1": {"text": "可用 Available", "color": GREEN, "index": 0},
                    "0": {"text": "不可用 Unavailable", "color": RED, "index": 1},
                },
            }
        ],
        thresholds=steps((RED, None), (GREEN, 1)),
    ),
]

dashboard = make_dashboard(
    "trunkwatch-inspections",
    "巡检 Inspections",
    panels,
    description="日检、月检、季检的到期、逾期与合规率（责任到人）。"
    " Daily, monthly and quarterly rounds: due, overdue, and compliance by person.",
    variables=[
        variable(
            "owner",
            "责任人 Owner",
            "label_values(trunkwatch_inspection_compliance_ratio, owner)",
            include_all=True,
            multi=True,
        )
    ],
    tags=["inspections"],
    time_from="now-7d",
    refresh="1m",
)

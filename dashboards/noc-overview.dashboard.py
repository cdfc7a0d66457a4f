"""值班总览 NOC overview: every site, line group, network segment and platform server as a
status tile, the sites on a map, the alerts firing now, today's inspection rounds, and the
availability of each system over 30 days. The duty technician's one screen."""

from monitor.dashboards import (
    GREEN,
    ORANGE,
    RED,
    STATUS_MAPPINGS,
    STATUS_THRESHOLDS,
    at,
    custom_variable,
    geomap,
    row,
    stat,
    steps,
    table,
    target,
    variable,
)
from monitor.dashboards import dashboard as make_dashboard

SYSTEMS = ["radio", "line", "network", "platform", "power"]


def tiles(title, expr, legend, pos, description):
    return stat(
        title,
        [target(expr, legend, instant=True)],
        pos,
        mappings=STATUS_MAPPINGS,
        thresholds=STATUS_THRESHOLDS,
        description=description,
    )


panels = [
    row("状态 Status", 0),
    tiles(
        "基站 Radio sites",
        'max by (site) (asset:trunkwatch_status:code{system=~"radio|power", site=~"$site"})',
        "{{site}}",
        at(0, 1, 24, 5),
        "每个基站一块：正常 / 部分故障 / 不可达（上游故障）/ 中断。"
        " One tile per radio site: up, degraded, unreachable (behind a failed asset) or down.",
    ),
    tiles(
        "有线通信 Lines",
        'asset:trunkwatch_status:code{system="line", site=~"$site"}',
        "{{asset}}",
        at(0, 6, 8, 5),
        "E1 中继网关与 SIP 中继、专线。 E1 trunk gateways, SIP trunks and dedicated lines.",
    ),
    tiles(
        "计算机网络 Network",
        'asset:trunkwatch_status:code{system="network", site=~"$site"}',
        "{{asset}}",
        at(8, 6, 8, 5),
        "路由器与交换机。 Routers and switches.",
    ),
    tiles(
        "应急平台 Platform",
        'asset:trunkwatch_status:code{system="platform", site=~"$site"}',
        "{{asset}}",
        at(16, 6, 8, 5),
        "接处警、地理信息、录音与政府应急平台服务器。"
        " Dispatch, GIS, recording and platform servers.",
    ),
    row("地图与告警 Map and alerts", 11),
    geomap(
        "站点地图 Site map",
        'max by (site, name, latitude, longitude) (trunkwatch_site_info{site=~"$site"})'
        " * on (site) group_left () site:trunkwatch_status:code",
        at(0, 12, 12, 14),
        max_zoom=9,
        thresholds=STATUS_THRESHOLDS,
        mappings=STATUS_MAPPINGS,
        description="颜色表示站点状态（绿 正常，橙 部分故障，黄 不可达，红 中断）。"
        " Colour is the site's status (green up, orange degraded, yellow unreachable, red down).",
    ),
    table(
        "当前告警 Active alerts",
        [
            'ALERTS{alertstate="firing", alertname!="Watchdog", system=~"$system", site=~"$site"}',
        ],
        at(12, 12, 12, 14),
        description="Prometheus 正在触发的告警（含被 Alertmanager 抑制的）。"
        " Alerts firing in Prometheus, including those Alertmanager inhibits.",
        hide=("Time", "__name__", "alertstate", "Value", "job", "instance"),
        rename={
            "alertname": "告警 Alert",
            "severity": "级别 Severity",
            "site": "站点 Site",
            "asset": "设备 Asset",
            "system": "系统 System",
        },
        sort_by="级别 Severity",
    ),
    row("巡检与可用率 Inspections and availability", 26),
    table(
        "今日巡检 Inspections due today",
        [
            'trunkwatch_inspection_state{state=~"upcoming|open|overdue", site=~"$site",'
            ' system=~"$system"} == 1'
            " and on (plan, site, asset, system, owner)"
            " (trunkwatch_inspection_due_timestamp_seconds < time() + 86400)",
        ],
        at(0, 27, 16, 9),
        description="24 小时内到期或已逾期的巡检，责任人与状态。"
        " Rounds due within 24 hours or overdue, with their owner and state.",
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
    stat(
        "可用率（30 天）Availability (30 days)",
        [
            target(
                'avg_over_time(system:trunkwatch_availability:ratio_avg1h{system=~"$system"}[30d])',
                "{{system}}",
                instant=True,
            )
        ],
        at(16, 27, 8, 9),
        unit="percentunit",
        decimals=3,
        thresholds=steps((RED, None), (ORANGE, 0.99), (GREEN, 0.999)),
        description="各系统设备有响应的时间比例。 Share of time each system's devices answered.",
    ),
]

dashboard = make_dashboard(
    "trunkwatch-noc",
    "值班总览 NOC overview",
    panels,
    description="应急联动中心值班总览。 The emergency linkage centre's duty overview.",
    variables=[
        custom_variable("system", "系统 System", SYSTEMS),
        variable(
            "site",
            "站点 Site",
            "label_values(trunkwatch_site_info, site)",
            include_all=True,
            multi=True,
        ),
    ],
    tags=["noc"],
    time_from="now-6h",
    refresh="15s",
)

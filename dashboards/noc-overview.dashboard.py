"""值班总览 NOC overview: every site, line group, network segment and platform server as a
status tile, the sites on a map, the alerts firing now, today's inspection rounds, and each
system's availability this month against its target. The duty technician's one screen."""

from monitor.dashboards import (
    STATUS_MAPPINGS,
    STATUS_THRESHOLDS,
    asset_names,
    at,
    board_link,
    custom_variable,
    row,
    site_names,
    stat,
    table,
    target,
    variable,
)
from monitor.dashboards import dashboard as make_dashboard
from monitor.dashboards.alerts import FAULT_DETAILS, INSPECTION_DETAILS, alert_table
from monitor.dashboards.availability import availability_against_targets
from monitor.dashboards.map import geomap

SYSTEMS = ["radio", "line", "network", "platform", "power"]
SITE = "${__field.labels.site}"
ASSET = "${__field.labels.asset}"


def tiles(title, expr, legend, pos, description, links):
    return stat(
        title,
        [target(expr, legend, instant=True)],
        pos,
        mappings=STATUS_MAPPINGS,
        thresholds=STATUS_THRESHOLDS,
        description=description,
        links=links,
    )


def assets(system):
    return asset_names(f'asset:trunkwatch_status:code{{system="{system}", site=~"$site"}}')


panels = [
    row("状态 Status", 0),
    tiles(
        "基站 Radio sites",
        site_names(
            'max by (site) (asset:trunkwatch_status:code{system=~"radio|power", site=~"$site"})'
        ),
        "{{site_name}}",
        at(0, 1, 24, 5),
        "每个基站一块：正常 / 维护（计划检修中）/ 部分故障 / 不可达（上游故障）/ 中断；"
        "点击打开基站详情。"
        " One tile per radio site: up, maintenance (planned work in force), degraded,"
        " unreachable (behind a failed asset) or down; click for the site's board.",
        [board_link("基站详情 Site detail", "site", site=SITE)],
    ),
    tiles(
        "有线通信 Lines",
        assets("line"),
        "{{asset_name}}",
        at(0, 6, 8, 5),
        "E1 中继网关与 SIP 中继、专线；点击打开有线通信。"
        " E1 trunk gateways, SIP trunks and dedicated lines; click for the line's board.",
        [board_link("有线通信 Phone lines", "lines", line=ASSET)],
    ),
    tiles(
        "计算机网络 Network",
        assets("network"),
        "{{asset_name}}",
        at(8, 6, 8, 5),
        "路由器与交换机；点击打开计算机网络。 Routers and switches; click for the network board.",
        [board_link("计算机网络 Network", "network", asset=ASSET)],
    ),
    tiles(
        "应急平台 Platform",
        assets("platform"),
        "{{asset_name}}",
        at(16, 6, 8, 5),
        "接处警、地理信息、录音与政府应急平台服务器；点击打开计算机网络。"
        " Dispatch, GIS, recording and platform servers; click for the network board.",
        [board_link("计算机网络 Network", "network", asset=ASSET)],
    ),
    row("地图与告警 Map and alerts", 11),
    geomap(
        "站点地图 Site map",
        'max by (site, name, district, latitude, longitude) (trunkwatch_site_info{site=~"$site"})'
        " * on (site) group_left () site:trunkwatch_status:code",
        at(0, 12, 10, 14),
        max_zoom=9,
        thresholds=STATUS_THRESHOLDS,
        mappings=STATUS_MAPPINGS,
        links=[board_link("基站详情 Site detail", "site", site="${__data.fields.site}")],
        # Each district's name at the configured coordinates of one of its sites.
        districts=(
            "topk by (district) (1,"
            ' max by (district, latitude, longitude) (trunkwatch_site_info{district!=""}))',
            "district",
        ),
        description="颜色表示站点状态（绿 正常，蓝 维护，黄 部分故障，橙 不可达，红 中断），"
        "点击站点打开其详情。"
        " 底图为 Grafana 自带的离线轮廓（可改为本地瓦片服务）。"
        " Colour is the site's status (green up, blue maintenance, yellow degraded, orange"
        " unreachable, red down); click a site for its board. The base layer is an outline"
        " Grafana serves itself (or the centre's own tile server), so the map works on a"
        " closed network.",
    ),
    alert_table(
        "当前故障 Active problems",
        "fault",
        at(10, 12, 14, 14),
        details=FAULT_DETAILS,
        matchers='system=~"$system", site=~"$site|"',
        description="正在触发的故障告警（含被 Alertmanager 抑制的），最严重的在前；"
        "点击站点打开其详情，点击处置手册查看处置步骤。巡检告警见下方。"
        " Faults firing now (including those Alertmanager holds back), the worst first; click"
        " a site for its board, a runbook for what to do. Inspection alerts are below.",
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
        at(0, 27, 10, 9),
        description="24 小时内到期或已逾期的巡检，责任人与状态；点击责任人打开巡检看板。"
        " Rounds due within 24 hours or overdue, with their owner and state; click an owner"
        " for the inspections board.",
        hide=("Time", "__name__", "Value", "job", "instance", "replica", "member"),
        rename={
            "plan": "巡检计划 Plan",
            "site": "站点 Site",
            "asset": "设备 Asset",
            "system": "系统 System",
            "owner": "责任人 Owner",
            "state": "状态 State",
        },
        sort_by="状态 State",
        overrides=[
            {
                "matcher": {"id": "byName", "options": "owner"},
                "properties": [
                    {
                        "id": "links",
                        "value": [
                            board_link(
                                "巡检 Inspections", "inspections", owner="${__data.fields.owner}"
                            )
                        ],
                    }
                ],
            }
        ],
    ),
    alert_table(
        "巡检告警 Inspection alerts",
        "inspection",
        at(10, 27, 8, 9),
        details=INSPECTION_DETAILS,
        matchers='system=~"$system|", site=~"$site|"',
        description="逾期、不合格与读数不符的巡检，与故障分开显示。"
        " Overdue rounds, failed items and readings that disagree, kept apart from the faults.",
    ),
    availability_against_targets("本月可用率 Availability this month", at(18, 27, 6, 9)),
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

"""容量规划 Capacity: busy-hour traffic of every radio site against what its channels carry at
the grade-of-service target, with the trend and a 90-day projection; the trunk group against
its P.01 capacity. The expansion (扩容) report itself is `trunkwatch capacity`."""

from monitor.dashboards import (
    GREEN,
    ORANGE,
    RED,
    asset_names,
    at,
    bargauge,
    row,
    site_names,
    steps,
    table,
    target,
    timeseries,
    variable,
)
from monitor.dashboards import dashboard as make_dashboard

S = '{site=~"$site"}'
ERLANGS = "suffix: E"

panels = [
    row("基站 Radio sites", 0),
    bargauge(
        "忙时话务量 / 容量 Busy-hour traffic / capacity",
        [
            target(
                site_names(
                    f"site:trunkwatch_bs_busy_hour_traffic_erlangs:max1d{S}"
                    " / on (site) site:trunkwatch_bs_gos_capacity:erlangs"
                ),
                "{{site_name}}",
                instant=True,
            )
        ],
        at(0, 1, 12, 10),
        unit="percentunit",
        minimum=0,
        maximum=1.2,
        thresholds=steps((GREEN, None), (ORANGE, 0.8), (RED, 1.0)),
        description="近一日忙时话务量占配置信道在服务等级目标下容量的比例；超过 100 % 需扩容。"
        " The last day's busy-hour traffic as a share of what the configured channels carry at"
        " the GoS target (P(wait > 5 s) ≤ 5 %); above 100 % the site needs carriers.",
    ),
    table(
        "容量表 Capacity table",
        [
            target(f"site:trunkwatch_bs_busy_hour_traffic_erlangs:max1d{S}", "", "A"),
            target(f"site:trunkwatch_bs_gos_capacity:erlangs{S}", "", "B"),
            target(f"site:trunkwatch_bs_traffic_channels:sum{S}", "", "C"),
            target(f"site:trunkwatch_bs_wait_over_5s:max1d{S}", "", "D"),
        ],
        at(12, 1, 12, 10),
        merge=True,
        hide=("Time",),
        rename={
            "site": "站点 Site",
            "Value #A": "忙时话务量 Busy hour (E)",
            "Value #B": "容量 Capacity (E)",
            "Value #C": "业务信道 Channels",
            "Value #D": "最差小时 P(等待 wait > 5 s) worst hour",
        },
        overrides=[
            {
                "matcher": {"id": "byName", "options": "最差小时 P(等待 wait > 5 s) worst hour"},
                "properties": [{"id": "unit", "value": "percentunit"}],
            }
        ],
        sort_by="忙时话务量 Busy hour (E)",
    ),
    timeseries(
        "忙时话务量趋势 Busy-hour traffic trend",
        [
            target(
                site_names(f"site:trunkwatch_bs_busy_hour_traffic_erlangs:max1d{S}"),
                "{{site_name}}",
            ),
            target(
                site_names(
                    "predict_linear("
                    f"site:trunkwatch_bs_busy_hour_traffic_erlangs:max1d{S}[30d], 90 * 86400)"
                ),
                "{{site_name}} 90 天后 in 90 days",
            ),
        ],
        at(0, 11, 12, 9),
        unit=ERLANGS,
        minimum=0,
        time_from="30d",
        step="1d",
        description="每日忙时话务量及按近 30 天线性趋势外推的 90 天后数值。"
        " Daily busy-hour traffic, and its 30-day linear trend projected 90 days ahead.",
    ),
    timeseries(
        "服务等级（每小时）Grade of service (hourly)",
        [
            target(
                site_names(f"site:trunkwatch_bs_wait_over_5s:ratio_rate1h{S}"),
                "{{site_name}}",
            )
        ],
        at(12, 11, 12, 9),
        unit="percentunit",
        minimum=0,
        thresholds=steps((GREEN, None), (RED, 0.05)),
        threshold_lines=True,
        time_from="7d",
        step="1h",
        description="每个点是该整点前一小时的 P(等待>5秒)，一小时一个点，忙时不会被跳过。"
        " Each point is P(wait > 5 s) over the hour before it, one point an hour, so the busy"
        " hour is never skipped.",
    ),
    timeseries(
        "信道利用率 Channel utilisation (hourly)",
        [
            target(
                site_names(f"site:trunkwatch_bs_traffic_utilisation:ratio_rate1h{S}"),
                "{{site_name}}",
            )
        ],
        at(0, 20, 24, 8),
        unit="percentunit",
        minimum=0,
        maximum=1,
        time_from="7d",
        step="1h",
    ),
    row("中继群 Trunk group", 28),
    timeseries(
        "中继群忙时话务量 / P.01 容量 Trunk group busy hour vs P.01 capacity",
        [
            target(
                asset_names("asset:trunkwatch_trunk_busy_hour_traffic_erlangs:max1d"),
                "忙时 busy hour {{asset_name}}",
            ),
            target(
                asset_names("asset:trunkwatch_trunk_gos_capacity:erlangs"),
                "P.01 容量 capacity {{asset_name}}",
            ),
        ],
        at(0, 29, 24, 8),
        unit=ERLANGS,
        minimum=0,
        time_from="30d",
        step="1d",
    ),
]

dashboard = make_dashboard(
    "trunkwatch-capacity",
    "容量规划 Capacity",
    panels,
    description="各基站忙时话务量与服务等级目标下的容量及趋势。"
    " Busy-hour traffic per site against capacity at the GoS target, with the trend.",
    variables=[
        variable(
            "site",
            "站点 Site",
            "label_values(trunkwatch_bs_carriers, site)",
            include_all=True,
            multi=True,
        )
    ],
    tags=["capacity"],
    time_from="now-7d",
    refresh="5m",
)

"""基站详情 Site detail: one site — its status and every asset's, and for a radio site its
carriers in service against those configured, traffic channels busy against available,
traffic in Erlangs and grade of service, RF (transmit power, VSWR, RSSI and noise floor),
power and battery, backhaul, and the cabinet environment. The NOC's tiles and map open it."""

from monitor.dashboards import (
    BLUE,
    GREEN,
    ORANGE,
    RED,
    STATUS_MAPPINGS,
    STATUS_THRESHOLDS,
    asset_names,
    at,
    row,
    site_names,
    stat,
    state_timeline,
    steps,
    target,
    timeseries,
    value_mappings,
    variable,
)
from monitor.dashboards import dashboard as make_dashboard

S = '{site="$site"}'
UP_DOWN = value_mappings(
    (1, "正常 Up", GREEN),
    (0, "故障 Down", RED),
)
MAINS = value_mappings(
    (1, "市电 Mains", GREEN),
    (0, "电池供电 On battery", RED),
)
ERLANGS = "suffix: E"


def carriers_in_service() -> str:
    """The share of the configured carriers in service, labelled with both counts."""
    in_service = f"site:trunkwatch_bs_carriers_in_service:sum{S}"
    configured = f"site:trunkwatch_bs_carriers:sum{S}"
    return (
        f"({in_service} / ({configured} > 0))"
        f' * on (site) group_left (in_service) count_values by (site) ("in_service", {in_service})'
        f' * on (site) group_left (configured) count_values by (site) ("configured", {configured})'
    )


# Everything below the overview and the site's assets is this far down the grid.
DY = 4

panels = [
    row("概况 Overview", 0),
    stat(
        "站点状态 Status",
        [target(site_names(f"site:trunkwatch_status:code{S}"), "{{site_name}}", instant=True)],
        at(0, 1, 4, 4),
        mappings=STATUS_MAPPINGS,
        thresholds=STATUS_THRESHOLDS,
    ),
    stat(
        "在用载波 Carriers in service",
        [
            target(
                carriers_in_service(),
                "在用 {{in_service}} / 配置 {{configured}} in service",
                instant=True,
            )
        ],
        at(4, 1, 5, 4),
        unit="percentunit",
        thresholds=steps((RED, None), (ORANGE, 0.01), (GREEN, 1)),
        description="在用载波占配置载波的比例：全部在用为绿，部分退服为橙，全部退服为红。"
        " Carriers in service out of those configured: green when all are, orange when some"
        " are out, red when none is left.",
    ),
    stat(
        "市电 Mains",
        [target(f"max(trunkwatch_bs_mains_present{S})", "市电 mains", instant=True)],
        at(9, 1, 4, 4),
        mappings=MAINS,
        thresholds=steps((RED, None), (GREEN, 1)),
    ),
    stat(
        "蓄电池剩余时间 Battery time left",
        [target(f"min(trunkwatch_bs_battery_runtime_seconds{S})", "蓄电池 battery", instant=True)],
        at(13, 1, 5, 4),
        unit="s",
        thresholds=steps((RED, None), (ORANGE, 1800), (GREEN, 3600)),
        description="当前负载下的估计值；市电正常时为满充电量可支撑的时间。"
        " Estimated at the present load; with mains present, what a full battery would last.",
    ),
    stat(
        "传输 Backhaul",
        [target(f"max(trunkwatch_bs_backhaul_up{S})", "传输 backhaul", instant=True)],
        at(18, 1, 6, 4),
        mappings=UP_DOWN,
        thresholds=steps((RED, None), (GREEN, 1)),
    ),
    stat(
        "站点设备 Assets at the site",
        [
            target(
                asset_names(f"asset:trunkwatch_status:code{S}"),
                "{{asset_name}}",
                instant=True,
            )
        ],
        at(0, 5, 24, 4),
        mappings=STATUS_MAPPINGS,
        thresholds=STATUS_THRESHOLDS,
        description="站点的每台设备：基站、电源，或中心的网络、线路与平台设备。"
        " Every asset of the site: base station and power, or the centre's network, lines and"
        " platform.",
    ),
    row("载波与话务 Carriers and traffic", 5 + DY),
    state_timeline(
        "载波状态 Carrier state",
        [target(f"max by (carrier) (trunkwatch_bs_carrier_up{S})", "载波 carrier {{carrier}}")],
        at(0, 6 + DY, 12, 6),
        mappings=UP_DOWN,
        thresholds=steps((RED, None), (GREEN, 1)),
    ),
    timeseries(
        "业务信道 Traffic channels: busy vs available",
        [
            target(f"site:trunkwatch_bs_traffic_channels_busy:sum{S}", "占用 busy"),
            target(f"site:trunkwatch_bs_traffic_channels_available:sum{S}", "可用 available"),
            target(f"site:trunkwatch_bs_traffic_channels:sum{S}", "配置 configured"),
        ],
        at(12, 6 + DY, 12, 6),
        minimum=0,
    ),
    timeseries(
        "话务量 Traffic (Erlangs)",
        [
            target(f"site:trunkwatch_bs_traffic_erlangs:rate5m{S}", "5 分钟 5 min"),
            target(f"site:trunkwatch_bs_traffic_erlangs:rate1h{S}", "1 小时 1 h"),
            target(f"site:trunkwatch_bs_gos_capacity:erlangs{S}", "服务等级容量 capacity at GoS"),
        ],
        at(0, 12 + DY, 12, 8),
        unit=ERLANGS,
        minimum=0,
        description="承载话务量与配置信道在服务等级目标（P(等待>5秒) ≤ 5 %）下可承载的话务量。"
        " Carried traffic, and what the configured channels carry at the GoS target"
        " (P(wait > 5 s) ≤ 5 %).",
    ),
    timeseries(
        "服务等级 Grade of service",
        [
            target(f"site:trunkwatch_bs_wait_over_5s:ratio_rate15m{S}", "P(等待 wait > 5 s)"),
            target(f"site:trunkwatch_bs_calls_queued:ratio_rate15m{S}", "排队 queued"),
            target(f"site:trunkwatch_bs_calls_blocked:ratio_rate15m{S}", "呼损 lost"),
        ],
        at(12, 12 + DY, 12, 8),
        unit="percentunit",
        minimum=0,
        thresholds=steps((GREEN, None), (RED, 0.05)),
        threshold_lines=True,
    ),
    timeseries(
        "排队与登记 Queue and registrations",
        [
            target(f"sum(trunkwatch_bs_calls_waiting{S})", "排队呼叫 calls waiting"),
            target(
                f"site:trunkwatch_bs_queue_wait_seconds:mean_rate15m{S}", "平均等待 mean wait (s)"
            ),
        ],
        at(0, 20 + DY, 12, 6),
        minimum=0,
    ),
    timeseries(
        "登记终端 Registered terminals",
        [target(f"sum(trunkwatch_bs_registered_terminals{S})", "终端 terminals")],
        at(12, 20 + DY, 12, 6),
        minimum=0,
    ),
    row("射频 RF", 26 + DY),
    timeseries(
        "发射功率 TX forward power",
        [target(f"trunkwatch_bs_tx_forward_power_watts{S}", "载波 carrier {{carrier}}")],
        at(0, 27 + DY, 8, 8),
        unit="watt",
        minimum=0,
    ),
    timeseries(
        "驻波比 VSWR",
        [target(f"trunkwatch_bs_vswr_ratio{S}", "载波 carrier {{carrier}}")],
        at(8, 27 + DY, 8, 8),
        minimum=1,
        thresholds=steps((GREEN, None), (ORANGE, 1.5), (RED, 2.0)),
        threshold_lines=True,
        description="维护门限 1.5，严重 2.0。 Maintenance limit 1.5, critical 2.0.",
    ),
    timeseries(
        "接收电平与底噪 RSSI and noise floor",
        [
            target(f"trunkwatch_bs_rssi_dbm{S}", "RSSI {{carrier}} {{path}}"),
            target(f"trunkwatch_bs_noise_floor_dbm{S}", "底噪 noise {{carrier}} {{path}}"),
        ],
        at(16, 27 + DY, 8, 8),
        unit="dBm",
    ),
    row("电源与环境 Power and environment", 35 + DY),
    timeseries(
        "蓄电池电量 Battery charge",
        [
            target(f"max(trunkwatch_bs_battery_charge_ratio{S})", "基站 base station"),
            target(f"max(trunkwatch_ups_battery_charge_ratio{S})", "UPS"),
        ],
        at(0, 36 + DY, 8, 8),
        unit="percentunit",
        minimum=0,
        maximum=1,
    ),
    timeseries(
        "电压 Voltages",
        [
            target(f"max(trunkwatch_bs_battery_volts{S})", "蓄电池 battery"),
            target(f"max(trunkwatch_bs_rectifier_volts{S})", "整流器 rectifier"),
        ],
        at(8, 36 + DY, 8, 8),
        unit="volt",
    ),
    timeseries(
        "站点负载 Site load",
        [target(f"max(trunkwatch_bs_site_load_watts{S})", "直流负载 DC load")],
        at(16, 36 + DY, 8, 8),
        unit="watt",
        minimum=0,
    ),
    timeseries(
        "机柜温度 Cabinet temperature",
        [
            target(f"max(trunkwatch_bs_cabinet_temperature_celsius{S})", "基站 base station"),
            target(
                'max by (name) (trunkwatch_entity_sensor_value{site="$site", type="celsius"})',
                "传感器 sensor {{name}}",
            ),
        ],
        at(0, 44 + DY, 12, 8),
        unit="celsius",
        thresholds=steps((GREEN, None), (ORANGE, 40), (RED, 50)),
        threshold_lines=True,
    ),
    timeseries(
        "回传流量 Backhaul traffic",
        [
            target(
                'sum(rate(trunkwatch_if_receive_bytes_total{site="$site", kind="tetra_bs"}'
                "[$__rate_interval])) * 8",
                "接收 in",
            ),
            target(
                'sum(rate(trunkwatch_if_transmit_bytes_total{site="$site", kind="tetra_bs"}'
                "[$__rate_interval])) * 8",
                "发送 out",
            ),
        ],
        at(12, 44 + DY, 12, 8),
        unit="bps",
        minimum=0,
        overrides=[
            {
                "matcher": {"id": "byName", "options": "发送 out"},
                "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": BLUE}}],
            }
        ],
    ),
]

dashboard = make_dashboard(
    "trunkwatch-site",
    "基站详情 Site detail",
    panels,
    description="一个基站的载波、话务、射频、电源与环境。"
    " One radio site's carriers, traffic, RF, power and environment.",
    variables=[variable("site", "站点 Site", "label_values(trunkwatch_site_info, site)")],
    tags=["radio"],
)

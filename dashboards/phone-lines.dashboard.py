"""有线通信 Phone lines: E1 spans (line state, errored seconds of the current 15-minute
interval), trunk group occupancy, traffic and blocking against its P.01 capacity, and the SIP
trunks' state and OPTIONS round-trip time."""

from monitor.dashboards import (
    BLUE,
    GREEN,
    ORANGE,
    RED,
    YELLOW,
    asset_names,
    at,
    row,
    state_timeline,
    steps,
    table,
    target,
    timeseries,
    value_mappings,
    variable,
)
from monitor.dashboards import dashboard as make_dashboard

LINE = 'asset=~"$line"'
GW = "{" + LINE + "}"
#: Every dsx1LineStatus condition the ds1_mib profile exports (its `status` label), as the
#: state it shows and its rank: the line shows its highest-ranked condition, the most basic
#: cause first among the outages (LOS before LOF before AIS before "unavailable"), and the
#: colours rise with the rank (monitor.dashboards.SEVERITY_COLOURS).
E1_CONDITIONS = [
    # (status label, rank, 中文, English, colour)
    ("test_code", 10, "测试码", "test code", BLUE),
    ("loopback", 11, "环回", "loopback", BLUE),
    ("tx_far_end_lof", 20, "发送远端告警", "sending RAI", YELLOW),
    ("tx_far_end_lomf", 21, "发送远端复帧告警", "sending far-end LOMF", YELLOW),
    ("tx_ais", 22, "发送告警指示", "sending AIS", YELLOW),
    ("far_end_lof", 30, "远端告警", "RAI", YELLOW),
    ("far_end_lomf", 31, "远端复帧失步", "far-end LOMF", YELLOW),
    ("ts16_ais", 40, "TS16 告警指示", "TS16 AIS", ORANGE),
    ("other_failure", 50, "其他故障", "other failure", RED),
    ("net_equipment_oos", 51, "网络设备停用", "network equipment out of service", RED),
    ("unavailable", 52, "不可用", "unavailable", RED),
    ("ais", 60, "告警指示", "AIS", RED),
    ("lof", 70, "帧失步", "LOF", RED),
    ("los", 80, "信号丢失", "LOS", RED),
]
E1_STATE = value_mappings(
    (0, "正常 OK", GREEN),
    *((rank, f"{zh} {en}", colour) for _, rank, zh, en, colour in E1_CONDITIONS),
)
SIP_STATE = value_mappings(
    (1, "在用 In service", GREEN),
    (0, "中断 Down", RED),
)


def line_state() -> str:
    """The highest-ranked condition of each line (0 when it has none)."""
    terms = " or ".join(
        f'{rank} * trunkwatch_ds1_line_status{{asset=~"$line", status="{status}"}}'
        for status, rank, *_ in E1_CONDITIONS
    )
    return f"max by (asset, circuit) ({terms})"


panels = [
    row("E1 线路 E1 spans", 0),
    state_timeline(
        "E1 线路状态 E1 line state",
        [target(line_state(), "{{circuit}}")],
        at(0, 1, 24, 6),
        mappings=E1_STATE,
        thresholds=steps((GREEN, None), (BLUE, 10), (YELLOW, 20), (ORANGE, 40), (RED, 50)),
        description="最基本的告警优先：LOS，LOF，AIS，不可用，TS16 AIS，远端告警 RAI，环回与测试。"
        " The most basic condition first: LOS, LOF, AIS, unavailable, TS16 AIS, the remote"
        " alarms (RAI), then loopback and test code.",
    ),
    timeseries(
        "误码秒（当前 15 分钟）Errored seconds (current 15 min)",
        [
            target(f"trunkwatch_ds1_current_errored_seconds{GW}", "ES {{circuit}}"),
            target(f"trunkwatch_ds1_current_severely_errored_seconds{GW}", "SES {{circuit}}"),
            target(f"trunkwatch_ds1_current_unavailable_seconds{GW}", "UAS {{circuit}}"),
        ],
        at(0, 7, 12, 8),
        unit="none",  # counts of seconds: 65 ES reads "65", not "1.08 min"
        minimum=0,
        thresholds=steps((GREEN, None), (ORANGE, 65)),
        threshold_lines=True,
        description="计数每 15 分钟清零；门限 ES 65（GR-820）。"
        " The counters restart every 15 minutes; threshold ES 65 (GR-820).",
    ),
    timeseries(
        "中继占用 Trunk occupancy",
        [
            target(f"trunkwatch_e1_channels_busy{GW}", "占用 busy, span {{span}}"),
            target(f"asset:trunkwatch_e1_channels_available:sum{GW}", "可用 in service"),
        ],
        at(12, 7, 12, 8),
        minimum=0,
    ),
    row("中继群 Trunk group", 15),
    timeseries(
        "中继话务量 Trunk traffic (Erlangs)",
        [
            target(
                asset_names(f"asset:trunkwatch_trunk_traffic_erlangs:rate5m{GW}"),
                "承载 carried {{asset_name}}",
            ),
            target(
                asset_names(f"asset:trunkwatch_trunk_gos_capacity:erlangs{GW}"),
                "P.01 容量 capacity {{asset_name}}",
            ),
        ],
        at(0, 16, 12, 8),
        unit="suffix: E",
        minimum=0,
    ),
    timeseries(
        "呼损率 Blocking",
        [
            target(
                asset_names(f"asset:trunkwatch_trunk_calls_blocked:ratio_rate15m{GW}"),
                "{{asset_name}}",
            )
        ],
        at(12, 16, 12, 8),
        unit="percentunit",
        minimum=0,
        thresholds=steps((GREEN, None), (ORANGE, 0.01), (RED, 0.05)),
        threshold_lines=True,
    ),
    row("SIP 中继 SIP trunks", 24),
    state_timeline(
        "SIP 中继状态 SIP trunk state",
        [
            target(
                asset_names(
                    f'max by (asset) (trunkwatch_probe_success{{kind="sip_trunk", {LINE}}})'
                ),
                "{{asset_name}}",
            )
        ],
        at(0, 25, 12, 7),
        mappings=SIP_STATE,
        thresholds=steps((RED, None), (GREEN, 1)),
    ),
    timeseries(
        "SIP 往返时延 SIP OPTIONS round trip",
        [
            target(
                asset_names(
                    f'max by (asset) (trunkwatch_sip_rtt_seconds{{kind="sip_trunk", {LINE}}})'
                ),
                "{{asset_name}}",
            )
        ],
        at(12, 25, 12, 7),
        unit="s",
        minimum=0,
        thresholds=steps((GREEN, None), (ORANGE, 0.5)),
        threshold_lines=True,
    ),
    table(
        "SIP 应答 SIP responses",
        [f'max by (asset, site) (trunkwatch_sip_response_code{{kind="sip_trunk", {LINE}}})'],
        at(0, 32, 24, 6),
        hide=("Time",),
        rename={"asset": "中继 Trunk", "site": "站点 Site", "Value": "应答码 Response code"},
    ),
]

dashboard = make_dashboard(
    "trunkwatch-lines",
    "有线通信 Phone lines",
    panels,
    description="E1 线路、中继群与 SIP 中继。 E1 spans, the trunk group and the SIP trunks.",
    variables=[
        variable(
            "line",
            "线路 Line",
            'label_values(asset:trunkwatch_status:code{system="line"}, asset)',
            include_all=True,
            multi=True,
        )
    ],
    tags=["lines"],
)

"""计算机网络 Network: devices, the state of every documented link, utilisation, throughput,
errors and discards per port, and the platform servers' processors and storage."""

from monitor.dashboards import (
    GREEN,
    ORANGE,
    RED,
    STATUS_MAPPINGS,
    STATUS_THRESHOLDS,
    asset_names,
    at,
    row,
    stat,
    state_timeline,
    steps,
    target,
    timeseries,
    value_mappings,
    variable,
)
from monitor.dashboards import dashboard as make_dashboard

A = 'asset=~"$asset"'
LINK = value_mappings(
    (1, "正常 Up", GREEN),
    (0, "中断 Down", RED),
)

panels = [
    row("设备与链路 Devices and links", 0),
    stat(
        "网络设备 Network devices",
        [
            target(
                asset_names(f'asset:trunkwatch_status:code{{system="network", {A}}}'),
                "{{asset_name}}",
                instant=True,
            )
        ],
        at(0, 1, 24, 4),
        mappings=STATUS_MAPPINGS,
        thresholds=STATUS_THRESHOLDS,
    ),
    state_timeline(
        "链路状态 Link state (ports with a description)",
        [
            target(
                asset_names(
                    "max by (asset, name, alias) ("
                    f'trunkwatch_if_oper_status{{{A}, state="up", alias!=""}})'
                ),
                "{{asset_name}} {{name}} {{alias}}",
            )
        ],
        at(0, 5, 24, 9),
        mappings=LINK,
        thresholds=steps((RED, None), (GREEN, 1)),
    ),
    row("流量 Traffic", 14),
    timeseries(
        "端口利用率（前 10）Utilisation (top 10)",
        [
            target(
                asset_names(f"topk(10, interface:trunkwatch_if_utilisation:ratio_rate5m{{{A}}})"),
                "{{asset_name}} {{name}}",
            )
        ],
        at(0, 15, 12, 8),
        unit="percentunit",
        minimum=0,
        thresholds=steps((GREEN, None), (ORANGE, 0.7), (RED, 0.9)),
        threshold_lines=True,
    ),
    timeseries(
        "吞吐量 Throughput (ports with a description)",
        [
            target(
                asset_names(
                    "sum by (asset, name) (max by (asset, name, index) ("
                    f'rate(trunkwatch_if_receive_bytes_total{{{A}, alias!=""}}[$__rate_interval])'
                    ")) * 8"
                ),
                "{{asset_name}} {{name}} 接收 in",
            ),
            target(
                asset_names(
                    "sum by (asset, name) (max by (asset, name, index) ("
                    f'rate(trunkwatch_if_transmit_bytes_total{{{A}, alias!=""}}[$__rate_interval])'
                    ")) * 8"
                ),
                "{{asset_name}} {{name}} 发送 out",
            ),
        ],
        at(12, 15, 12, 8),
        unit="bps",
        minimum=0,
    ),
    timeseries(
        "错包（前 10）Errors (top 10)",
        [
            target(
                asset_names(f"topk(10, interface:trunkwatch_if_errors:rate5m{{{A}}})"),
                "{{asset_name}} {{name}}",
            )
        ],
        at(0, 23, 12, 8),
        unit="pps",
        minimum=0,
        thresholds=steps((GREEN, None), (ORANGE, 1)),
        threshold_lines=True,
    ),
    timeseries(
        "丢弃（前 10）Discards (top 10)",
        [
            target(
                asset_names(
                    "topk(10, sum by (asset, name) (max by (asset, name, index) ("
                    f"rate(trunkwatch_if_receive_discards_total{{{A}}}[$__rate_interval]))))"
                ),
                "{{asset_name}} {{name}}",
            )
        ],
        at(12, 23, 12, 8),
        unit="pps",
        minimum=0,
    ),
    row("平台服务器 Platform servers", 31),
    timeseries(
        "处理器负载 Processor load",
        [
            target(
                asset_names(
                    "avg by (asset) ("
                    f'trunkwatch_host_processor_load_ratio{{system="platform", {A}}})'
                ),
                "{{asset_name}}",
            )
        ],
        at(0, 32, 12, 8),
        unit="percentunit",
        minimum=0,
        maximum=1,
    ),
    timeseries(
        "磁盘使用率 Disk use",
        [
            target(
                asset_names(
                    "max by (asset, descr) ("
                    f'trunkwatch_host_storage_used_bytes{{type="fixed_disk", {A}}}'
                    f' / (trunkwatch_host_storage_size_bytes{{type="fixed_disk", {A}}} > 0))'
                ),
                "{{asset_name}} {{descr}}",
            )
        ],
        at(12, 32, 12, 8),
        unit="percentunit",
        minimum=0,
        maximum=1,
        thresholds=steps((GREEN, None), (RED, 0.9)),
        threshold_lines=True,
    ),
]

dashboard = make_dashboard(
    "trunkwatch-network",
    "计算机网络 Network",
    panels,
    description="链路、错包、利用率与平台服务器。"
    " Links, errors, utilisation and the platform servers.",
    variables=[
        variable(
            "asset",
            "设备 Device",
            'label_values(asset:trunkwatch_status:code{system=~"network|platform"}, asset)',
            include_all=True,
            multi=True,
        )
    ],
    tags=["network"],
)

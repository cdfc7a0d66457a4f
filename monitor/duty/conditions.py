"""The degraded conditions the duty board sees in a probe's latest samples: the alert rules'
expressions (alerts/*.rules.yml), evaluated by the daemon itself so the board says "on
battery" or "carrier 2 down" with or without a Prometheus beside it.

Each condition mirrors one alert rule: the same series, the same comparisons and the same
numbers, named once in ``THRESHOLDS`` (a test parses the rule files and fails when the two
differ). What the board cannot evaluate from one poll is left to Prometheus: rates and
histories (traffic congestion, TX power against its daily median, link errors and
saturation). The rules' ``for:`` durations are not applied either: the board shows a
condition from the first poll that sees it, and since when.

A condition is a finding of one job's result, with its reason in Chinese and English; the
asset answers (or it would be down), so every finding makes the asset *degraded*.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Final

from monitor.results import Result
from probes.base import Samples

__all__ = [
    "CONDITIONS",
    "THRESHOLDS",
    "Condition",
    "Finding",
    "Threshold",
    "evaluate",
    "human_duration",
]


@dataclass(frozen=True, slots=True)
class Threshold:
    """A number an alert rule compares a series with (``metric``), at one severity."""

    alert: str
    severity: str
    metric: str
    value: float


#: Every number the conditions compare with, each as its alert rule has it.
THRESHOLDS: Final = {
    "battery_runtime_bs": Threshold(
        "SiteBatteryLow", "critical", "trunkwatch_bs_battery_runtime_seconds", 1800
    ),
    "battery_runtime_ups": Threshold(
        "SiteBatteryLow", "critical", "trunkwatch_ups_battery_runtime_seconds", 1800
    ),
    "cabinet_warning": Threshold(
        "SiteCabinetTemperatureHigh", "warning", "trunkwatch_bs_cabinet_temperature_celsius", 40
    ),
    "cabinet_critical": Threshold(
        "SiteCabinetTemperatureHigh", "critical", "trunkwatch_bs_cabinet_temperature_celsius", 50
    ),
    "vswr_warning": Threshold("RadioVswrHigh", "warning", "trunkwatch_bs_vswr_ratio", 1.5),
    "vswr_critical": Threshold("RadioVswrHigh", "critical", "trunkwatch_bs_vswr_ratio", 2.0),
    "e1_errored_seconds": Threshold(
        "E1ErroredSeconds", "warning", "trunkwatch_ds1_current_errored_seconds", 65
    ),
    "e1_severely_errored_seconds": Threshold(
        "E1ErroredSeconds", "warning", "trunkwatch_ds1_current_severely_errored_seconds", 10
    ),
    "sip_rtt": Threshold("SipTrunkLatencyHigh", "warning", "trunkwatch_sip_rtt_seconds", 0.5),
    "storage_used": Threshold(
        "HostStorageAlmostFull", "warning", "trunkwatch_host_storage_used_bytes", 0.9
    ),
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One degraded condition in one job's latest result."""

    #: The condition and what it concerns (``carrier_down carrier=2``): its since-when is
    #: kept under this key while it holds.
    key: str
    #: The alert rule it mirrors; its runbook is alerts/runbooks/<alert>.md.
    alert: str
    severity: str
    zh: str
    en: str
    #: The finding is why the probe failed (a SIP trunk answering 503), not a condition
    #: beside a successful poll: the failure is not listed again on its own.
    explains_failure: bool = False


Labels = dict[str, str]


Pairs = tuple[tuple[str, str], ...]

_FAMILY_SUFFIX = itemgetter(0, 3)
_PAIRS_VALUE = itemgetter(2, 1)


def _label(pairs: Pairs, key: str) -> str | None:
    """``dict(pairs).get(key)`` without the dictionary: the last pair is tried first, where a
    state set or a table's own label (``state``, ``index``) usually is."""
    if pairs and pairs[-1][0] == key:
        return pairs[-1][1]
    for name, value in reversed(pairs):
        if name == key:
            return value
    return None


class SeriesByName:
    """A result's samples by series name, for the conditions to look up.

    A table's rows are kept as the samples carry them and made into dictionaries only when a
    condition asks for them: an interface table of 200 ports has 2,800 status series, of which
    a condition reads the few in one state.
    """

    def __init__(self, result: Result) -> None:
        self.result = result
        self._by_name: dict[str, list[tuple[Pairs, float]]] = {}
        #: (metric, label) → label value → rows: built on first use, so a lookup per port
        #: or per state does not scan the whole table again.
        self._index: dict[tuple[str, str], dict[str | None, list[tuple[Pairs, float]]]] = {}
        watched, by_name = WATCHED, self._by_name
        # A probe writes a family's samples together: one name and one look-up a run of them,
        # the runs cut and the unwatched ones passed over in C.
        for (family, suffix), run in groupby(Samples.rows_of(result.samples), _FAMILY_SUFFIX):
            name = family.name + suffix if suffix else family.name
            if name in watched:
                by_name.setdefault(name, []).extend(map(_PAIRS_VALUE, run))

    def _matching(self, metric: str, match: dict[str, str]) -> Sequence[tuple[Pairs, float]]:
        """The rows of ``metric`` whose labels have ``match``'s values, as the samples
        carry them."""
        found = self._by_name.get(metric, ())
        if not match:
            return found
        (key, wanted), *rest = match.items()
        index = self._index.get((metric, key))
        if index is None:
            index = {}
            for row in found:
                index.setdefault(_label(row[0], key), []).append(row)
            self._index[(metric, key)] = index
        matching = index.get(wanted, ())
        if not rest:
            return matching
        return [row for row in matching if all(_label(row[0], k) == v for k, v in rest)]

    def rows(self, metric: str, **match: str) -> list[tuple[Labels, float]]:
        return [(dict(pairs), value) for pairs, value in self._matching(metric, match)]

    def holding(self, metric: str, **match: str) -> list[Labels]:
        """The labels of the matching series whose value is 1: of a state set, the rows in
        the state asked for. Only those are made into dictionaries (a port table's status
        has a row in every state for every port)."""
        return [dict(pairs) for pairs, value in self._matching(metric, match) if value == 1]

    def label_holding(self, label: str, metric: str, **match: str) -> set[str]:
        """``label``'s values of the matching series whose value is 1."""
        return {
            _label(pairs, label) or ""
            for pairs, value in self._matching(metric, match)
            if value == 1
        }

    def value(self, metric: str, **match: str) -> float | None:
        rows = self.rows(metric, **match)
        return rows[0][1] if rows else None

    def by(self, label: str, metric: str, **match: str) -> dict[str, float]:
        """``label`` value → the series' value (one series per carrier, line, port …)."""
        return {labels.get(label, ""): value for labels, value in self.rows(metric, **match)}


@dataclass(frozen=True, slots=True)
class Condition:
    """One alert rule as the board evaluates it: the series it reads and how."""

    name: str
    alert: str
    metrics: tuple[str, ...]
    find: Callable[[SeriesByName], Iterable[Finding]]


def human_duration(seconds: float) -> tuple[str, str]:
    """A duration as a duty technician says it, in Chinese and in English."""
    minutes = max(0, round(seconds / 60))
    if minutes < 120:
        return f"{minutes} 分钟", f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} 小时 {rest} 分", f"{hours} h {rest} min"


def _t(name: str) -> float:
    return THRESHOLDS[name].value


def _number(value: float) -> str:
    return f"{value:g}"


# -- power ------------------------------------------------------------------------------------

MAINS = "trunkwatch_bs_mains_present"
BS_RUNTIME = "trunkwatch_bs_battery_runtime_seconds"
UPS_SOURCE = "trunkwatch_ups_output_source"
UPS_RUNTIME = "trunkwatch_ups_battery_runtime_seconds"
UPS_BATTERY = "trunkwatch_ups_battery_status"
RECTIFIER = "trunkwatch_bs_rectifier_state"
CABINET = "trunkwatch_bs_cabinet_temperature_celsius"
SENSOR = "trunkwatch_entity_sensor_value"


def _mains_failure(s: SeriesByName) -> Iterator[Finding]:
    if s.value(MAINS) != 0:
        return
    zh, en = "市电中断，蓄电池供电", "Mains failure: on battery"
    runtime = s.value(BS_RUNTIME)
    if runtime is not None:
        left_zh, left_en = human_duration(runtime)
        zh, en = f"{zh}，剩余约 {left_zh}", f"{en}, about {left_en} left"
    yield Finding("mains_failure", "SiteMainsFailure", "critical", zh, en)


def _battery_low(s: SeriesByName) -> Iterator[Finding]:
    runtime: float | None = None
    bs_runtime = s.value(BS_RUNTIME)
    if bs_runtime is not None and bs_runtime < _t("battery_runtime_bs") and s.value(MAINS) == 0:
        runtime = bs_runtime
    ups_runtime = s.value(UPS_RUNTIME)
    on_battery = s.value(UPS_SOURCE, state="battery") == 1
    if ups_runtime is not None and ups_runtime < _t("battery_runtime_ups") and on_battery:
        runtime = ups_runtime if runtime is None else min(runtime, ups_runtime)
    if s.value(UPS_BATTERY, state="depleted") == 1:
        runtime = 0.0
    if runtime is None:
        return
    if runtime == 0:
        zh, en = "蓄电池已耗尽", "Battery depleted"
    else:
        left_zh, left_en = human_duration(runtime)
        zh, en = f"蓄电池即将耗尽：剩余约 {left_zh}", f"Battery low: about {left_en} left"
    yield Finding("battery_low", "SiteBatteryLow", "critical", zh, en)


def _ups_on_battery(s: SeriesByName) -> Iterator[Finding]:
    if s.value(UPS_SOURCE, state="battery") == 1:
        yield Finding("ups_on_battery", "UpsOnBattery", "warning", "UPS 电池供电", "UPS on battery")


def _rectifier_fault(s: SeriesByName) -> Iterator[Finding]:
    if s.value(RECTIFIER, state="fault") == 1:
        yield Finding(
            "rectifier_fault",
            "SiteRectifierFault",
            "warning",
            "整流器故障，蓄电池不再充电",
            "Rectifier fault: the battery no longer charges",
        )


def _cabinet_hot(s: SeriesByName) -> Iterator[Finding]:
    readings = [v for _, v in s.rows(CABINET)]
    readings += [
        v
        for labels, v in s.rows(SENSOR, type="celsius")
        if labels.get("name", "").lower().startswith("cabinet")
    ]
    if not readings:
        return
    hottest = max(readings)
    for name, severity in (("cabinet_critical", "critical"), ("cabinet_warning", "warning")):
        limit = _t(name)
        if hottest > limit:
            yield Finding(
                "cabinet_hot",
                "SiteCabinetTemperatureHigh",
                severity,
                f"机柜温度 {hottest:.1f} °C，超过 {_number(limit)} °C",
                f"Cabinet at {hottest:.1f} °C, above {_number(limit)} °C",
            )
            return


# -- radio ------------------------------------------------------------------------------------

MCCH = "trunkwatch_bs_mcch_carrier"
CARRIER_UP = "trunkwatch_bs_carrier_up"
CHANNELS = "trunkwatch_bs_traffic_channels"
CHANNELS_AVAILABLE = "trunkwatch_bs_traffic_channels_available"
VSWR = "trunkwatch_bs_vswr_ratio"
BACKHAUL = "trunkwatch_bs_backhaul_up"


def _off_air(s: SeriesByName) -> Iterator[Finding]:
    if s.value(MCCH) == 0:
        yield Finding(
            "off_air",
            "RadioSiteOffAir",
            "critical",
            "基站退服：无载波承载主控制信道",
            "Off the air: no carrier holds the main control channel",
        )


def _carrier_down(s: SeriesByName) -> Iterator[Finding]:
    for carrier, up in sorted(s.by("carrier", CARRIER_UP).items()):
        if up == 0:
            yield Finding(
                f"carrier_down carrier={carrier}",
                "RadioCarrierDown",
                "warning",
                f"载波 {carrier} 退出服务",
                f"Carrier {carrier} out of service",
            )


def _capacity_lost(s: SeriesByName) -> Iterator[Finding]:
    available, configured = s.value(CHANNELS_AVAILABLE), s.value(CHANNELS)
    if available is None or configured is None or available >= configured:
        return
    # A failed carrier or a site off the air has its own condition.
    if 0 in s.by("carrier", CARRIER_UP).values() or s.value(MCCH) == 0:
        return
    yield Finding(
        "capacity_lost",
        "RadioCapacityLost",
        "warning",
        f"容量下降：业务信道 {available:g}/{configured:g} 可用",
        f"Capacity lost: {available:g} of {configured:g} traffic channels in service",
    )


def _vswr_high(s: SeriesByName) -> Iterator[Finding]:
    carriers_up = s.by("carrier", CARRIER_UP)
    for carrier, vswr in sorted(s.by("carrier", VSWR).items()):
        if carriers_up.get(carrier) != 1:
            continue
        for name, severity in (("vswr_critical", "critical"), ("vswr_warning", "warning")):
            limit = _t(name)
            if vswr > limit:
                yield Finding(
                    f"vswr_high carrier={carrier}",
                    "RadioVswrHigh",
                    severity,
                    f"载波 {carrier} 驻波比 {vswr:.2f}，超过 {_number(limit)}",
                    f"Carrier {carrier} VSWR {vswr:.2f}, above {_number(limit)}",
                )
                break


def _backhaul_down(s: SeriesByName) -> Iterator[Finding]:
    if s.value(BACKHAUL) == 0:
        yield Finding(
            "backhaul_down",
            "RadioBackhaulDown",
            "critical",
            "传输中断：单站集群，与交换中心失去联系",
            "Backhaul down: trunking locally, cut off from the switching centre",
        )


# -- lines ------------------------------------------------------------------------------------

LINE_STATUS = "trunkwatch_ds1_line_status"
ES = "trunkwatch_ds1_current_errored_seconds"
SES = "trunkwatch_ds1_current_severely_errored_seconds"
SIP_CODE = "trunkwatch_sip_response_code"
SIP_RTT = "trunkwatch_sip_rtt_seconds"
#: The line-down alarms, most basic first (E1LineDown reports the first that is set).
LINE_DOWN: Final = (
    ("los", "信号丢失 LOS", "loss of signal (LOS)"),
    ("lof", "帧失步 LOF", "loss of frame (LOF)"),
    ("ais", "告警指示信号 AIS", "alarm indication signal (AIS)"),
)
#: dsx1LineStatus bits of a healthy line, and of the alarms with rules of their own.
_LINE_RULED: Final = frozenset({"no_alarm", "los", "lof", "ais", "far_end_lof"})


def _line_name(labels: Labels) -> tuple[str, str]:
    line, circuit = labels.get("line", "?"), labels.get("circuit", "")
    name = f"{line}（{circuit}）" if circuit else line
    return f"E1 线路 {name}", f"E1 line {line}" + (f" ({circuit})" if circuit else "")


def _lines(s: SeriesByName) -> dict[str, tuple[Labels, set[str]]]:
    """Line → its labels and the status bits set on it."""
    lines: dict[str, tuple[Labels, set[str]]] = {}
    for labels, value in s.rows(LINE_STATUS):
        entry = lines.setdefault(labels.get("line", ""), (labels, set()))
        if value == 1:
            entry[1].add(labels.get("status", ""))
    return lines


def _e1_alarms(s: SeriesByName) -> Iterator[Finding]:
    for line, (labels, bits) in sorted(_lines(s).items()):
        zh_line, en_line = _line_name(labels)
        down = next(((zh, en) for bit, zh, en in LINE_DOWN if bit in bits), None)
        if down is not None:
            yield Finding(
                f"e1_down line={line}",
                "E1LineDown",
                "critical",
                f"{zh_line}中断：{down[0]}，30 个话路全部中断",
                f"{en_line} down: {down[1]}, all 30 channels lost",
            )
            continue
        if "far_end_lof" in bits:
            yield Finding(
                f"e1_remote line={line}",
                "E1RemoteAlarm",
                "warning",
                f"{zh_line}远端告警 RAI：对端收不到本端信号",
                f"{en_line}: remote alarm (RAI), the far end does not receive us",
            )
            continue
        others = sorted(bits - _LINE_RULED)
        if others:
            # No rule of its own (loopback, test code, unavailable …), but not a healthy line.
            yield Finding(
                f"e1_status line={line}",
                "E1LineDown",
                "warning",
                f"{zh_line}状态异常：{', '.join(others)}",
                f"{en_line} not clear: {', '.join(others)}",
            )


def _e1_errored(s: SeriesByName) -> Iterator[Finding]:
    lines = _lines(s)
    errored = s.by("line", ES)
    severely = s.by("line", SES)
    for line in sorted(set(errored) | set(severely)):
        es, ses = errored.get(line, 0.0), severely.get(line, 0.0)
        if es <= _t("e1_errored_seconds") and ses <= _t("e1_severely_errored_seconds"):
            continue
        labels, bits = lines.get(line, ({"line": line}, set()))
        if bits & {"los", "lof", "ais"}:
            continue  # the line is down: that is its condition
        zh_line, en_line = _line_name(labels)
        es_limit = _number(_t("e1_errored_seconds"))
        ses_limit = _number(_t("e1_severely_errored_seconds"))
        yield Finding(
            f"e1_errored line={line}",
            "E1ErroredSeconds",
            "warning",
            f"{zh_line}误码：本 15 分钟误码秒 {es:g}、严重误码秒 {ses:g}"
            f"（门限 ES > {es_limit} 或 SES > {ses_limit}）",
            f"{en_line} errored: {es:g} ES, {ses:g} SES this 15 minutes"
            f" (limit ES > {es_limit} or SES > {ses_limit})",
        )


def _sip_out_of_service(s: SeriesByName) -> Iterator[Finding]:
    result = s.result
    if result.success or result.reason != "unavailable" or result.job.module != "sip":
        return
    code = s.value(SIP_CODE)
    answer = f"{code:g}" if code is not None else result.message
    yield Finding(
        "sip_out_of_service",
        "SipTrunkOutOfService",
        "critical",
        f"SIP 中继停止服务：OPTIONS 应答 {answer}",
        f"SIP trunk out of service: OPTIONS answered {answer}",
        explains_failure=True,
    )


def _sip_slow(s: SeriesByName) -> Iterator[Finding]:
    rtt = s.value(SIP_RTT)
    limit = _t("sip_rtt")
    if rtt is not None and rtt > limit:
        yield Finding(
            "sip_slow",
            "SipTrunkLatencyHigh",
            "warning",
            f"SIP 中继时延高：OPTIONS 往返 {rtt * 1000:.0f} ms，超过 {limit * 1000:.0f} ms",
            f"SIP trunk slow: OPTIONS round trip {rtt * 1000:.0f} ms, above {limit * 1000:.0f} ms",
        )


# -- network and hosts ------------------------------------------------------------------------

OPER = "trunkwatch_if_oper_status"
ADMIN = "trunkwatch_if_admin_status"
STORAGE_USED = "trunkwatch_host_storage_used_bytes"
STORAGE_SIZE = "trunkwatch_host_storage_size_bytes"
_LINK_DOWN_STATES: Final = ("down", "lower_layer_down")
_DISKS: Final = frozenset({"fixed_disk", "network_disk"})


def _link_down(s: SeriesByName) -> Iterator[Finding]:
    admin_up = s.label_holding("index", ADMIN, state="up")
    ports: dict[str, Labels] = {}
    for state in _LINK_DOWN_STATES:
        for labels in s.holding(OPER, state=state):
            index = labels.get("index", "")
            if index in admin_up:
                ports[index] = labels
    for index, labels in sorted(ports.items(), key=lambda item: _sort_key(item[0])):
        name, alias = labels.get("name") or index, labels.get("alias", "")
        # A port with a description is a documented link (critical); an undocumented port a
        # warning, as the two NetworkLinkDown rules have it.
        severity = "critical" if alias else "warning"
        where_zh = f"{name}（{alias}）" if alias else name
        where_en = f"{name} ({alias})" if alias else name
        yield Finding(
            f"link_down index={index}",
            "NetworkLinkDown",
            severity,
            f"端口 {where_zh} 链路中断",
            f"Port {where_en} link down",
        )


def _storage_full(s: SeriesByName) -> Iterator[Finding]:
    sizes = {
        labels.get("index", ""): value
        for labels, value in s.rows(STORAGE_SIZE)
        if labels.get("type") in _DISKS
    }
    limit = _t("storage_used")
    for labels, used in s.rows(STORAGE_USED):
        index = labels.get("index", "")
        size = sizes.get(index)
        if labels.get("type") not in _DISKS or not size or used / size <= limit:
            continue
        descr = labels.get("descr") or index
        yield Finding(
            f"storage_full index={index}",
            "HostStorageAlmostFull",
            "warning",
            f"磁盘将满：{descr} 已用 {used / size:.0%}",
            f"Disk almost full: {descr} {used / size:.0%} used",
        )


def _sort_key(index: str) -> tuple[int, str]:
    return (int(index), "") if index.isdigit() else (1 << 30, index)


#: The conditions, in the order their findings are listed for one result.
CONDITIONS: Final = (
    Condition("mains_failure", "SiteMainsFailure", (MAINS,), _mains_failure),
    Condition(
        "battery_low", "SiteBatteryLow", (BS_RUNTIME, UPS_RUNTIME, UPS_BATTERY), _battery_low
    ),
    Condition("ups_on_battery", "UpsOnBattery", (UPS_SOURCE,), _ups_on_battery),
    Condition("rectifier_fault", "SiteRectifierFault", (RECTIFIER,), _rectifier_fault),
    Condition("cabinet_hot", "SiteCabinetTemperatureHigh", (CABINET, SENSOR), _cabinet_hot),
    Condition("off_air", "RadioSiteOffAir", (MCCH,), _off_air),
    Condition("carrier_down", "RadioCarrierDown", (CARRIER_UP,), _carrier_down),
    Condition("capacity_lost", "RadioCapacityLost", (CHANNELS_AVAILABLE, CHANNELS), _capacity_lost),
    Condition("vswr_high", "RadioVswrHigh", (VSWR, CARRIER_UP), _vswr_high),
    Condition("backhaul_down", "RadioBackhaulDown", (BACKHAUL,), _backhaul_down),
    Condition("e1_down", "E1LineDown", (LINE_STATUS,), _e1_alarms),
    Condition("e1_errored", "E1ErroredSeconds", (ES, SES, LINE_STATUS), _e1_errored),
    Condition("sip_out_of_service", "SipTrunkOutOfService", (), _sip_out_of_service),
    Condition("sip_slow", "SipTrunkLatencyHigh", (SIP_RTT,), _sip_slow),
    Condition("link_down", "NetworkLinkDown", (OPER, ADMIN), _link_down),
    Condition("storage_full", "HostStorageAlmostFull", (STORAGE_USED, STORAGE_SIZE), _storage_full),
)

#: Every series a condition reads; the others are not even indexed.
WATCHED: Final = frozenset(
    {m for c in CONDITIONS for m in c.metrics} | {MAINS, SIP_CODE, UPS_SOURCE, CARRIER_UP}
)


def evaluate(result: Result) -> list[Finding]:
    """The degraded conditions ``result``'s samples show (none for most results)."""
    if not result.samples and result.success:
        return []
    samples = SeriesByName(result)
    return [finding for condition in CONDITIONS for finding in condition.find(samples)]

"""A fault drill (应急演练) of the alert chain: inject a fault into the running simulation, time
how long the monitor takes to see it and Alertmanager to raise it, clear it, and write a report
a supervisor can keep.

Detection is judged on the monitor's own /metrics, by a rule per fault: the series that must
change for the fault to count as seen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from monitor.simulator.fleet import Fault

__all__ = ["DETECTION", "DrillError", "DrillReport", "run_drill"]

POLL_SECONDS = 1.0

Labels = dict[str, str]


@dataclass(frozen=True, slots=True)
class Detection:
    """The fault counts as seen when some series ``metric`` of the target asset whose labels
    include ``match`` satisfies ``seen``."""

    metric: str
    seen: Callable[[float], bool]
    match: tuple[tuple[str, str], ...] = ()
    describe: str = ""


def _zero(v: float) -> bool:
    return v == 0


def _one(v: float) -> bool:
    return v == 1


DETECTION: dict[Fault, Detection] = {
    Fault.SITE_DOWN: Detection("trunkwatch_probe_success", _zero, (), "probe_success = 0"),
    Fault.BACKHAUL_DOWN: Detection("trunkwatch_probe_success", _zero, (), "probe_success = 0"),
    Fault.MAINS_FAILURE: Detection("trunkwatch_bs_mains_present", _zero, (), "mains absent"),
    Fault.VSWR_HIGH: Detection("trunkwatch_bs_vswr_ratio", lambda v: v >= 1.5, (), "VSWR ≥ 1.5"),
    Fault.CARRIER_FAILURE: Detection("trunkwatch_bs_carrier_up", _zero, (), "carrier down"),
    Fault.E1_LOS: Detection("trunkwatch_ds1_line_status", _one, (("status", "los"),), "LOS"),
    Fault.E1_LOF: Detection("trunkwatch_ds1_line_status", _one, (("status", "lof"),), "LOF"),
    Fault.E1_AIS: Detection("trunkwatch_ds1_line_status", _one, (("status", "ais"),), "AIS"),
    Fault.E1_RAI: Detection(
        "trunkwatch_ds1_line_status", _one, (("status", "far_end_lof"),), "RAI"
    ),
    Fault.SIP_503: Detection("trunkwatch_probe_success", _zero, (), "probe_success = 0"),
    Fault.SIP_SILENT: Detection("trunkwatch_probe_success", _zero, (), "probe_success = 0"),
    Fault.PORT_DOWN: Detection(
        "trunkwatch_if_oper_status", _one, (("state", "down"),), "a port oper-down"
    ),
}


class DrillError(Exception):
    """The drill could not run (simulator or monitor not reachable, fault refused)."""


@dataclass(slots=True)
class DrillReport:
    fault: Fault
    target: str
    params: dict[str, Any]
    started_at: float
    rule: str
    detected_after: float | None = None
    alerted_after: float | None = None
    alerts: list[str] = field(default_factory=list)
    recovered_after: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def detected(self) -> bool:
        return self.detected_after is not None

    def markdown(self) -> str:
        def secs(v: float | None) -> str:
            return "—" if v is None else f"{v:.1f} s"

        when = datetime.fromtimestamp(self.started_at).astimezone().isoformat(timespec="seconds")
        lines = [
            f"# 应急演练报告 Drill report — {self.fault} @ {self.target}",
            "",
            f"- 开始 started: {when}",
            f"- 故障 fault: `{self.fault}` on `{self.target}` {self.params or ''}".rstrip(),
            f"- 判据 detection rule: {self.rule}",
            f"- 发现 detected after: {secs(self.detected_after)}",
            f"- 告警 alert raised after: {secs(self.alerted_after)}"
            + (f" ({', '.join(self.alerts)})" if self.alerts else ""),
            f"- 恢复 recovered after clearing: {secs(self.recovered_after)}",
        ]
        lines += [f"- 备注 note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _series(text: str, name: str) -> list[tuple[Labels, float]]:
    out = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out.append((dict(sample.labels), float(sample.value)))
    return out


def _seen(rule: Detection, text: str, target: str) -> bool:
    for labels, value in _series(text, rule.metric):
        if labels.get("asset") != target:
            continue
        if all(labels.get(k) == v for k, v in rule.match) and rule.seen(value):
            return True
    return False


async def _get_text(session: aiohttp.ClientSession, url: str) -> str:
    """The monitor's /metrics text; DrillError says in words when there is none."""
    base = url.removesuffix("/metrics")
    try:
        async with session.get(url) as response:
            if response.status != 200:
                raise DrillError(f"{base} is not a trunkwatch monitor (HTTP {response.status})")
            return await response.text()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DrillError(
            f"no trunkwatch monitor answers at {base} (is `trunkwatch demo` running? "
            "else give --monitor URL)"
        ) from exc


async def _post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Any:
    """POST to the simulator's control API; DrillError carries its refusal as it is worded."""
    base = url.split("/api/", 1)[0]
    try:
        async with session.post(url, json=body) as response:
            try:
                payload = await response.json()
            except (aiohttp.ContentTypeError, ValueError):
                payload = None
            if not isinstance(payload, dict):
                raise DrillError(
                    f"{base} is not a trunkwatch simulator (HTTP {response.status}); "
                    "give its control API as --control-url"
                )
            if response.status >= 400:
                raise DrillError(str(payload.get("error", f"refused (HTTP {response.status})")))
            return payload
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DrillError(
            f"no simulator control API answers at {base} (is `trunkwatch demo` running? "
            "else give --control-url URL)"
        ) from exc


async def _alerts_for(session: aiohttp.ClientSession, base: str, target: str) -> list[str]:
    try:
        async with session.get(f"{base}/api/v2/alerts?active=true&silenced=false") as response:
            alerts = await response.json()
    except (aiohttp.ClientError, ValueError):
        return []
    names = []
    for alert in alerts:
        labels = alert.get("labels", {})
        if target in (labels.get("asset"), labels.get("site"), f"bs-{labels.get('site')}"):
            names.append(str(labels.get("alertname")))
    return sorted(set(names))


async def run_drill(
    fault: Fault,
    target: str,
    params: dict[str, Any],
    *,
    control: str,
    monitor: str,
    alertmanager: str | None = None,
    wait_seconds: float = 300.0,
    keep: bool = False,
) -> DrillReport:
    rule = DETECTION.get(fault)
    metrics_url = f"{monitor.rstrip('/')}/metrics"
    timeouts = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeouts) as session:
        baseline = await _get_text(session, metrics_url)
        report = DrillReport(
            fault, target, params, time.time(), rule.describe if rule else "none (watch the boards)"
        )
        if rule is not None and _seen(rule, baseline, target):
            report.notes.append("the condition was already present before the fault")
        await _post(
            session,
            f"{control.rstrip('/')}/api/v1/faults",
            {"fault": str(fault), "target": target, "params": params},
        )
        t0 = time.monotonic()
        deadline = t0 + wait_seconds
        try:
            while time.monotonic() < deadline:
                text = await _get_text(session, metrics_url)
                if report.detected_after is None and rule is not None and _seen(rule, text, target):
                    report.detected_after = time.monotonic() - t0
                if alertmanager and report.alerted_after is None:
                    names = await _alerts_for(session, alertmanager.rstrip("/"), target)
                    if names:
                        report.alerted_after = time.monotonic() - t0
                        report.alerts = names
                done_detect = rule is None or report.detected_after is not None
                done_alert = not alertmanager or report.alerted_after is not None
                if done_detect and done_alert:
                    break
                await asyncio.sleep(POLL_SECONDS)
            else:
                report.notes.append(f"gave up after {wait_seconds:.0f} s")
        finally:
            if not keep:
                await _post(
                    session,
                    f"{control.rstrip('/')}/api/v1/faults/clear",
                    {"fault": str(fault), "target": target, "params": params},
                )
        if not keep and rule is not None and report.detected:
            t1 = time.monotonic()
            while time.monotonic() < t1 + wait_seconds:
                if not _seen(rule, await _get_text(session, metrics_url), target):
                    report.recovered_after = time.monotonic() - t1
                    break
                await asyncio.sleep(POLL_SECONDS)
    return report

"""The availability account as the contract's JSON (a list of rows), as CSV (one line per row)
and as one self-contained HTML page (``monitor/templates/availability_report.html``, Chinese and
English labels, no scripts). Times are the centre's local times; durations are seconds, whole
where they are whole."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from monitor.availability.calculator import AvailabilityReport, AvailabilityRow
from monitor.availability.g826 import E1Line
from monitor.availability.outages import Outage
from monitor.web.pages import environment

__all__ = ["CSV_COLUMNS", "render_csv", "render_html", "render_json", "report_rows"]

CSV_COLUMNS = (
    "level",
    "id",
    "name",
    "site",
    "system",
    "period",
    "availability",
    "up_seconds",
    "down_seconds",
    "maintenance_seconds",
    "unknown_seconds",
    "outages",
    "mttr_seconds",
    "mtbf_seconds",
)

_SYSTEM_NAMES = {
    "line": "有线通信 lines",
    "radio": "无线集群 radio",
    "network": "计算机网络 network",
    "platform": "应急平台 platform",
    "power": "电源 power",
}


def _seconds(milliseconds: int) -> int | float:
    return milliseconds // 1000 if milliseconds % 1000 == 0 else milliseconds / 1000


def _mean(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == int(value) else round(value, 3)


def _local(milliseconds: int, report: AvailabilityReport) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, report.period.start.tzinfo)


def _outage_json(o: Outage, report: AvailabilityReport) -> dict[str, Any]:
    return {
        "start": _local(o.start, report).isoformat(),
        "end": _local(o.end, report).isoformat(),
        "duration_seconds": _seconds(o.duration),
        "cause": o.cause.kind,
        "root": o.cause.root,
        "assets": list(o.assets),
    }


def _e1_json(line: E1Line) -> dict[str, Any]:
    return {
        "line": line.line,
        "circuit": line.circuit,
        "errored_seconds": line.errored_seconds,
        "severely_errored_seconds": line.severely_errored_seconds,
        "unavailable_seconds": line.unavailable_seconds,
        "intervals": line.intervals,
        "errored_ratio": line.errored_ratio,
        "severely_errored_ratio": line.severely_errored_ratio,
    }


def _row_json(r: AvailabilityRow, report: AvailabilityReport) -> dict[str, Any]:
    out: dict[str, Any] = {
        "level": r.level,
        "id": r.id,
        "name": r.name,
        "site": r.site,
        "system": r.system,
        "period": report.period.label,
        "start": report.period.start.isoformat(),
        "end": report.period.end.isoformat(),
        "availability": r.availability,
        "up_seconds": _seconds(r.up_ms),
        "down_seconds": _seconds(r.down_ms),
        "maintenance_seconds": _seconds(r.maintenance_ms),
        "unknown_seconds": _seconds(r.unknown_ms),
        "outages": [_outage_json(o, report) for o in r.outages],
        "mttr_seconds": _mean(r.mttr_seconds),
        "mtbf_seconds": _mean(r.mtbf_seconds),
    }
    if r.level == "asset":
        out["e1_lines"] = [_e1_json(line) for line in r.e1_lines]
    else:
        out["assets"] = list(r.assets)
    return out


def report_rows(report: AvailabilityReport) -> list[dict[str, Any]]:
    """The contract's rows: one per asset, site and system."""
    return [_row_json(r, report) for r in report.rows]


def render_json(report: AvailabilityReport) -> str:
    return json.dumps(report_rows(report), ensure_ascii=False, indent=2) + "\n"


def render_csv(report: AvailabilityReport) -> str:
    """One line per row; ``outages`` is their number; an empty cell is no value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in report_rows(report):
        values = r | {"outages": len(r["outages"])}
        writer.writerow(["" if values[c] is None else values[c] for c in CSV_COLUMNS])
    return out.getvalue()


# --- the page -------------------------------------------------------------------------------


def _pct(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    if ratio == 1:
        return "100 %"
    # Never round up to 100 %: an interruption must show.
    return f"{min(ratio * 100, 99.999):.3f} %"


def _duration(seconds: float | None) -> str:
    """``2 d 3 h``, ``1 h 45 min``, ``47 min 15 s``, ``12 s``."""
    if seconds is None:
        return "—"
    s = round(seconds)
    days, s = divmod(s, 86_400)
    hours, s = divmod(s, 3_600)
    minutes, s = divmod(s, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (s, "s")]
    shown = [f"{n} {unit}" for n, unit in parts if n][:2]
    return " ".join(shown) if shown else "0 s"


def _when(milliseconds: int, report: AvailabilityReport) -> str:
    return _local(milliseconds, report).strftime("%Y-%m-%d %H:%M:%S")


def _system_name(system: str | None) -> str:
    return _SYSTEM_NAMES.get(system or "", system or "—")


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2e}"


def _e1_rows(report: AvailabilityReport) -> list[tuple[AvailabilityRow, E1Line]]:
    return [(r, line) for r in report.level("asset") for line in r.e1_lines]


_ENV = environment(
    filters={
        "pct": _pct,
        "duration": _duration,
        "system_name": _system_name,
        "ratio": _ratio,
    },
    globals={"when": _when},
)


def render_html(report: AvailabilityReport, *, title: str = "", centre: str = "") -> str:
    """The account as one self-contained HTML page: inline CSS, no scripts."""
    rows = {level: report.level(level) for level in ("system", "site", "asset")}
    by_id = {r.id: r for r in rows["asset"]}
    start, end = (round(t.timestamp() * 1000) for t in (report.period.start, report.period.end))
    return _ENV.get_template("availability_report.html").render(
        report=report,
        heading=title or "可用率报告",
        centre=centre,
        systems=rows["system"],
        sites=rows["site"],
        assets=rows["asset"],
        assets_by_id=by_id,
        outages=report.outages,
        period_ms=(start, end),
        e1=_e1_rows(report),
    )

"""The duty board's content, from the estate status (``/api/v1/status``): counts per system
and state, each site's worst state and place on the map, and the active problems, worst first,
each with its reason in Chinese and English, since when, and its runbook.

A problem is one thing a duty technician acts on: an asset that does not answer, one that is
unreachable behind a failed asset (named), a probe that fails while the rest of the asset
answers, a degraded condition of the alert rules (``monitor.duty.conditions``), or an
inspection follow-up (整改) open past its due date (the status's ``follow_ups``: the item, its
owner, overdue since when). Assets in planned maintenance are listed apart and raise no
problem. Problems are sorted by severity (critical first), then by state (down before
unreachable before degraded before overdue), newest first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any, Final

from monitor.duty.sitemap import MapSite, site_map

__all__ = [
    "PROBLEM_ORDER",
    "REASONS",
    "SEVERITIES",
    "STATES",
    "SUMMARY_STATES",
    "SYSTEMS",
    "WORST_FIRST",
    "active_problems",
    "board",
    "worst",
]

#: A site takes its worst asset's state; planned maintenance is milder than any fault, so a
#: site in maintenance with one fault elsewhere still shows the fault.
WORST_FIRST: Final = ("down", "unreachable", "degraded", "pending", "maintenance", "up")
#: Each state in Chinese and English.
STATES: Final = {
    "up": ("正常", "up"),
    "degraded": ("降级", "degraded"),
    "down": ("故障", "down"),
    "unreachable": ("不可达", "unreachable"),
    "maintenance": ("维护", "maintenance"),
    "pending": ("等待", "pending"),
    # Of a problem only: an inspection follow-up past its due date.
    "overdue": ("逾期", "overdue"),
}
#: The order of the problems' states, worst first.
PROBLEM_ORDER: Final = (*WORST_FIRST, "overdue")
#: The columns of the summary; "pending" joins them only while some asset has no result.
SUMMARY_STATES: Final = ("up", "degraded", "down", "unreachable", "maintenance")
SYSTEMS: Final = {
    "radio": ("无线集群", "Radio"),
    "line": ("有线通信", "Lines"),
    "network": ("计算机网络", "Network"),
    "platform": ("应急平台", "Platform"),
    "power": ("动力环境", "Power"),
}
SEVERITIES: Final = {
    "critical": ("严重", "critical"),
    "warning": ("警告", "warning"),
    "info": ("提示", "info"),
}
#: A failed probe's reason (``probes.base.REASONS``) in words.
REASONS: Final = {
    "timeout": ("无应答（超时）", "no answer (timeout)"),
    "unreachable": ("不可达", "unreachable"),
    "refused": ("连接被拒绝", "connection refused"),
    "auth": ("认证失败", "authentication failed"),
    "malformed": ("应答无法解析", "malformed reply"),
    "no_such_object": ("设备不支持所需对象", "object not supported"),
    "unavailable": ("对端停止服务", "peer out of service"),
    "unexpected": ("意外应答", "unexpected reply"),
    "config": ("探测配置错误", "probe misconfigured"),
    "error": ("探测失败", "probe failed"),
    "internal": ("内部错误", "internal error"),
}
RUNBOOKS: Final = "/runbooks/"


def worst(states: Iterable[str]) -> str:
    """The worst of ``states`` (pending when there are none)."""
    return min(states, key=WORST_FIRST.index, default="pending")


def active_problems(status: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The active problems of the estate, worst first (the board's list; the shift log's
    faults)."""
    assets: list[dict[str, Any]] = status["assets"]
    names = {a["id"]: a["name"] for a in assets}
    sites_by_id = {s["id"]: s for s in status["sites"]}
    problems = [p for a in assets for p in _problems(a, names, sites_by_id)]
    problems += [_follow_up(f, sites_by_id) for f in status.get("follow_ups", ())]
    problems.sort(
        key=lambda p: (
            list(SEVERITIES).index(p["severity"]),
            PROBLEM_ORDER.index(p["state"]),
            -(p["since"] or 0.0),
            p["asset"],
        )
    )
    return problems


def board(status: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the board shows, as plain values (the page and its live updates)."""
    assets: list[dict[str, Any]] = status["assets"]
    sites_by_id = {s["id"]: s for s in status["sites"]}
    by_site: dict[str, list[dict[str, Any]]] = {}
    for asset in assets:
        by_site.setdefault(asset["site"], []).append(asset)
    sites = [
        {
            **site,
            "state": worst(a["state"] for a in by_site.get(site["id"], [])),
            "assets": by_site.get(site["id"], []),
            "counts": dict(Counter(a["state"] for a in by_site.get(site["id"], []))),
        }
        for site in status["sites"]
    ]
    problems = active_problems(status)
    for site in sites:
        site["problems"] = []
    shown = {s["id"]: s for s in sites}
    for problem in problems:
        if problem["site"] in shown:
            shown[problem["site"]]["problems"].append(problem)
    drawn = site_map(
        [
            MapSite(
                s["id"],
                s["name"],
                s.get("name_en"),
                tuple(s["coordinates"]) if s.get("coordinates") else None,
                s.get("parent"),
            )
            for s in sites
        ]
    )
    at = {p.id: p for p in drawn.sites}
    return {
        "generated_at": status.get("generated_at"),
        "summary": _summary(assets),
        "sites": sites,
        "problems": problems,
        "maintenance": [_in_maintenance(a, sites_by_id) for a in assets if a.get("maintenance")],
        "map": {
            "width": drawn.width,
            "height": drawn.height,
            "sites": [{**asdict(p), **_named(shown[p.id])} for p in drawn.sites],
            "links": [
                {
                    "parent": parent,
                    "child": child,
                    "state": shown[child]["state"],
                    "x1": at[parent].x,
                    "y1": at[parent].y,
                    "x2": at[child].x,
                    "y2": at[child].y,
                }
                for parent, child in drawn.links
            ],
            "unplaced": [_named(shown[i]) for i in drawn.unplaced],
        },
    }


def _named(site: Mapping[str, Any]) -> dict[str, Any]:
    return {k: site.get(k) for k in ("id", "name", "name_en", "state")}


def _summary(assets: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of assets per system and state, systems in the centre's usual order."""
    counts: dict[str, Counter[str]] = {}
    for asset in assets:
        counts.setdefault(asset["system"], Counter())[asset["state"]] += 1
    order = [s for s in SYSTEMS if s in counts] + sorted(set(counts) - set(SYSTEMS))
    total: Counter[str] = Counter(a["state"] for a in assets)
    columns = list(SUMMARY_STATES) + (["pending"] if total["pending"] else [])
    return {
        "columns": columns,
        "rows": [
            {
                "system": system,
                "zh": SYSTEMS.get(system, (system, system))[0],
                "en": SYSTEMS.get(system, (system, system))[1],
                "counts": {state: counts[system][state] for state in columns},
                "total": sum(counts[system].values()),
            }
            for system in order
        ],
        "total": {"counts": {state: total[state] for state in columns}, "total": len(assets)},
    }


def _problems(
    asset: dict[str, Any], names: Mapping[str, str], sites: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    if asset.get("maintenance") or asset["state"] in ("up", "pending"):
        return []
    site = sites.get(asset["site"], {})
    common = {
        "asset": asset["id"],
        "asset_name": asset["name"],
        "site": asset["site"],
        "site_name": site.get("name", asset["site"]),
        "site_name_en": site.get("name_en"),
        "system": asset["system"],
        "state": asset["state"],
    }
    failed = [p for p in asset["probes"] if not p["success"]]
    found: list[dict[str, Any]] = []
    if asset["state"] == "unreachable":
        behind = asset.get("behind")
        behind_name = names.get(behind, behind) if behind else None
        zh, en = (
            (f"不可达：上级设备 {behind_name} 故障", f"Unreachable: behind {behind_name}, down")
            if behind_name
            else ("不可达", "Unreachable")
        )
        found.append(_problem(common, "SiteUnreachable", "info", zh, en, _earliest(failed), failed))
    elif asset["state"] == "down" and failed:
        zh_reasons, en_reasons = _reasons(failed)
        critical = asset["kind"] == "sip_trunk" or asset["system"] != "power"
        found.append(
            _problem(
                common,
                "SipTrunkDown" if asset["kind"] == "sip_trunk" else "AssetDown",
                "critical" if critical else "warning",
                f"设备无响应：{zh_reasons}",
                f"Not answering: {en_reasons}",
                _earliest(failed),
                failed,
            )
        )
    else:
        explained = {c["probe"] for c in asset.get("conditions", []) if c["explains_failure"]}
        for probe in failed:
            if probe["probe"] in explained:
                continue
            zh_reason, en_reason = REASONS.get(probe["reason"] or "error", REASONS["error"])
            alert, severity = {
                "sip": ("SipTrunkDown", "critical"),
                "snmp": ("AssetDown", "warning"),
            }.get(probe.get("module") or "", ("ServiceDown", "critical"))
            found.append(
                _problem(
                    common,
                    alert,
                    severity,
                    f"探测 {probe['probe']} 失败：{zh_reason}",
                    f"Probe {probe['probe']} failing: {en_reason}",
                    probe.get("failing_since"),
                    [probe],
                )
            )
    for condition in asset.get("conditions", []):
        found.append(
            {
                **common,
                "key": f"{asset['id']} {condition['condition']}",
                "alert": condition["alert"],
                "severity": condition["severity"],
                "zh": condition["zh"],
                "en": condition["en"],
                "since": condition["since"],
                "detail": "",
                "runbook": f"{RUNBOOKS}{condition['alert']}.md",
            }
        )
    return found


def _follow_up(
    follow_up: Mapping[str, Any], sites: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """An inspection follow-up past its due date, as a problem: where (the site, else the
    system), what (the item of which plan), who acts on it, overdue since its due date."""
    f = follow_up
    site = sites.get(f["site"], {}) if f["site"] else {}
    system_zh, system_en = SYSTEMS.get(f["system"], (f["system"], f["system"]))
    plan_en = f["plan_title_en"] or f["plan_title"]
    item_en = f["item_title_en"] or f["item_title"]
    return {
        "asset": f["asset"],
        # The asset a round per asset inspects, else the plan (a site's or system's round).
        "asset_name": f["target_name"] if f["asset"] else f["plan_title"],
        "site": f["site"],
        "site_name": site.get("name", f["site"]) if f["site"] else system_zh,
        "site_name_en": site.get("name_en") if f["site"] else system_en,
        "system": f["system"],
        "state": "overdue",
        "key": f"follow-up {f['id']}",
        "alert": "InspectionFollowUpOverdue",
        "severity": "warning",
        "zh": f"整改逾期：{f['item_title']}（{f['plan_title']}），责任人 {f['owner_name']}",
        "en": f"Follow-up overdue: {item_en} ({plan_en}), owner {f['owner_name']}",
        "since": f["due_at"],
        "detail": f["note"],
        "runbook": f"{RUNBOOKS}InspectionFollowUpOverdue.md",
    }


def _problem(
    common: dict[str, Any],
    alert: str,
    severity: str,
    zh: str,
    en: str,
    since: float | None,
    probes: list[dict[str, Any]],
) -> dict[str, Any]:
    detail = "; ".join(f"{p['probe']}: {p['detail']}" for p in probes if p.get("detail"))
    return {
        **common,
        "key": f"{common['asset']} {alert}",
        "alert": alert,
        "severity": severity,
        "zh": zh,
        "en": en,
        "since": since,
        "detail": detail,
        "runbook": f"{RUNBOOKS}{alert}.md",
    }


def _reasons(failed: list[dict[str, Any]]) -> tuple[str, str]:
    reasons = sorted({p["reason"] or "error" for p in failed})
    zh = "、".join(REASONS.get(r, REASONS["error"])[0] for r in reasons)
    en = ", ".join(REASONS.get(r, REASONS["error"])[1] for r in reasons)
    return zh, en


def _earliest(probes: list[dict[str, Any]]) -> float | None:
    times = [p["failing_since"] for p in probes if p.get("failing_since") is not None]
    return min(times) if times else None


def _in_maintenance(
    asset: dict[str, Any], sites: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    window = asset["maintenance"]
    site = sites.get(asset["site"], {})
    return {
        "asset": asset["id"],
        "asset_name": asset["name"],
        "site_name": site.get("name", asset["site"]),
        "measured": asset.get("measured", "pending"),
        "until": window.get("until"),
        "owner": window.get("owner"),
        "reason": window.get("reason"),
        "window": window.get("window"),
    }

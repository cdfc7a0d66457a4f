"""The inspection pages and the printable report, rendered from monitor/templates/inspections/:
bilingual (Chinese first), self-contained (no external assets), large touch targets for a
tablet, and stable ids and names on every control so a browser test can drive them."""

from __future__ import annotations

from monitor.web.pages import environment

__all__ = ["STATE_NAMES", "render"]

STATE_NAMES = {
    "upcoming": "未开始 upcoming",
    "open": "待检 open",
    "done": "已完成 done",
    "done_late": "逾期完成 done late",
    "overdue": "逾期 overdue",
    "missed": "漏检 missed",
    "unknown": "暂无法读取 store unavailable",
}
OUTCOME_NAMES = {
    "pass": "合格 pass",
    "fail": "不合格 fail",
    "no_data": "无数据 no data",
    "pending": "待填 pending",
}

#: The duty pages and the printable report: monitor/templates/inspections/*.html.
_ENV = environment()


def render(name: str, **context: object) -> str:
    """Render a template; every value is HTML-escaped unless marked safe."""
    context.setdefault("state_names", STATE_NAMES)
    context.setdefault("outcome_names", OUTCOME_NAMES)
    context.setdefault("person", None)
    context.setdefault("csrf", "")
    return _ENV.get_template(f"inspections/{name}").render(**context)

"""The duty board as HTML: the page (monitor/templates/board.html) and the parts of it a live
update replaces (summary, problems, map, sites), each rendered by its macro in
board_parts.html, the same macros the page uses: a screen updated over the feed shows exactly
what a reload would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, Final

from monitor.duty.board import SEVERITIES, STATES, SYSTEMS, board
from monitor.duty.conditions import human_duration
from monitor.duty.feed import BoardEvent
from monitor.web.pages import environment

__all__ = ["PARTS", "board_event", "render_page", "render_parts"]

#: The elements of the page a live update replaces, by id; each is a macro of board.html.
PARTS: Final = ("summary", "problems", "map", "sites")


def _clock(epoch: float | None) -> str:
    """A time of day on the daemon's clock; the page's script shows it in the screen's own
    time zone."""
    return time.strftime("%H:%M:%S", time.localtime(epoch)) if epoch else "—"


def _age(since: float | None, now: float | None = None) -> str:
    if not since:
        return ""
    zh, en = human_duration((now or time.time()) - since)
    return f"{zh} {en}"


def _state(state: str) -> str:
    zh, en = STATES.get(state, (state, state))
    return f"{zh} {en}"


_PAGES = environment(
    filters={"clock": _clock, "age": _age, "state": _state},
    globals={"states": STATES, "severities": SEVERITIES, "systems": SYSTEMS},
)


def render_page(content: Mapping[str, Any], *, tick: float, events: str) -> str:
    """The whole page, for a browser's first load (and for one without scripts)."""
    return _PAGES.get_template("board.html").render(board=content, tick=tick, events=events)


def render_parts(content: Mapping[str, Any]) -> dict[str, str]:
    """Each replaceable part's inner HTML, by element id."""
    macros = _PAGES.get_template("board_parts.html").module
    return {part: str(getattr(macros, part)(content)) for part in PARTS}


def board_event(status: Mapping[str, Any]) -> BoardEvent:
    """The feed's event for ``status``: the board's parts and its counts."""
    content = board(status)
    parts = render_parts(content)
    counts = {
        "summary": content["summary"],
        "sites": {s["id"]: s["state"] for s in content["sites"]},
        "problems": len(content["problems"]),
    }
    body = json.dumps({"parts": parts, "counts": counts}, ensure_ascii=False, sort_keys=True)
    generated_at = content["generated_at"] or time.time()
    payload = json.dumps(
        {"generated_at": generated_at, "parts": parts, "counts": counts}, ensure_ascii=False
    )
    return BoardEvent(body, payload, generated_at)

"""The runbooks (alerts/runbooks/*.md) as read-only pages at ``/runbooks/NAME.md``: the duty
board's problems and the Grafana boards' alert tables link there.

Only the names of the Markdown files in that one folder are served (``/runbooks/`` is its
README); any other name is 404, so no path reaches outside it. The Markdown is rendered with
raw HTML escaped, never passed through; a page is re-rendered when its file changes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Final

from aiohttp import web

from monitor.web.pages import environment

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

__all__ = ["RUNBOOKS_DIR", "Runbooks"]

#: The repository's runbooks, beside the package.
RUNBOOKS_DIR: Final = Path(__file__).resolve().parents[2] / "alerts" / "runbooks"
#: A runbook is a page of text: anything larger is not one.
MAX_BYTES: Final = 1 << 20
_PAGES = environment()


class Runbooks:
    def __init__(self, folder: Path = RUNBOOKS_DIR) -> None:
        self.folder = folder
        self._markdown: MarkdownIt | None = None  # made for the first page asked for
        self._rendered: dict[str, tuple[float, str]] = {}

    def names(self) -> frozenset[str]:
        """The pages there are: the Markdown files in the folder, by file name."""
        try:
            return frozenset(p.name for p in self.folder.glob("*.md") if p.is_file())
        except OSError:
            return frozenset()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/runbooks", self.to_index),
            web.get("/runbooks/", self.page),
            web.get("/runbooks/{name}", self.page),
        ]

    async def to_index(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/runbooks/")

    async def page(self, request: web.Request) -> web.Response:
        name = request.match_info.get("name", "README.md")
        if not name.endswith(".md"):
            name += ".md"  # /runbooks/SiteMainsFailure, as people type it
        if name not in await asyncio.to_thread(self.names):
            raise web.HTTPNotFound(text=f"no runbook {name!r}\n")
        html = await asyncio.to_thread(self._render, name)
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    def _render(self, name: str) -> str:
        path = self.folder / name
        stat = path.stat()
        cached = self._rendered.get(name)
        if cached is not None and cached[0] == stat.st_mtime:
            return cached[1]
        with path.open("rb") as handle:
            text = handle.read(MAX_BYTES).decode("utf-8", errors="replace")
        title = next(
            (line.lstrip("# ").strip() for line in text.splitlines() if line.strip()), name
        )
        if self._markdown is None:
            from markdown_it import MarkdownIt  # ~4 MB: loaded by the first runbook read

            self._markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
        page = _PAGES.get_template("runbook.html").render(
            title=title, name=name, body=self._markdown.render(text)
        )
        self._rendered[name] = (stat.st_mtime, page)
        return page

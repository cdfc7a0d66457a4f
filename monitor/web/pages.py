"""Pages: every HTML page trunkwatch serves or writes is a Jinja template in monitor/templates/.

One loader and one set of rules for all of them — autoescaping, undefined names are errors,
block tags leave no blank lines — so the duty board, the inspection pages and the reports are
made the same way. A package adds its own filters and globals to the environment it asks for.

Jinja (~9 MB) is imported when the first page is drawn, not when a module that draws pages is
imported: a daemon nobody opens a page of never loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Environment, Template

__all__ = ["Pages", "environment"]


class Pages:
    """The templates of one package's environment, made on first use."""

    def __init__(
        self,
        filters: Mapping[str, Callable[..., Any]] | None,
        globals: Mapping[str, Any] | None,
        finalize: Callable[[Any], Any] | None,
    ) -> None:
        self._filters = dict(filters or {})
        self._globals = dict(globals or {})
        self._finalize = finalize
        self._env: Environment | None = None

    @property
    def env(self) -> Environment:
        if self._env is None:
            from jinja2 import Environment, PackageLoader, StrictUndefined

            env = Environment(
                loader=PackageLoader("monitor", "templates"),
                autoescape=True,
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                finalize=self._finalize,
            )
            env.filters.update(self._filters)
            env.globals.update(self._globals)
            self._env = env
        return self._env

    def get_template(self, name: str) -> Template:
        return self.env.get_template(name)


def environment(
    *,
    filters: Mapping[str, Callable[..., Any]] | None = None,
    globals: Mapping[str, Any] | None = None,
    finalize: Callable[[Any], Any] | None = None,
) -> Pages:
    """A Jinja environment over monitor/templates/ with the project's rules."""
    return Pages(filters, globals, finalize)

"""Pages: every HTML page trunkwatch serves or writes is a Jinja template in monitor/templates/.

One loader and one set of rules for all of them — autoescaping, undefined names are errors,
block tags leave no blank lines — so the duty board, the inspection pages and the reports are
made the same way. A package adds its own filters and globals to the environment it asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

__all__ = ["environment"]


def environment(
    *,
    filters: Mapping[str, Callable[..., Any]] | None = None,
    globals: Mapping[str, Any] | None = None,
    finalize: Callable[[Any], Any] | None = None,
) -> Environment:
    """A Jinja environment over monitor/templates/ with the project's rules."""
    env = Environment(
        loader=PackageLoader("monitor", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=finalize,
    )
    env.filters.update(filters or {})
    env.globals.update(globals or {})
    return env

"""The optional top-level sections other packages own (``traps:``, ``inspections:``,
``simulator:`` …): each is a ``ConfigSection`` — its key, the model its value is validated
with, and the cross-checks it runs against the rest of the file — registered, not imported.

Sections are found in an explicit table of the built-in ones, extended by the
``trunkwatch.config_sections`` entry-point group (name: the top-level key, value:
``module:attribute`` of a ``ConfigSection``), the same scheme as the probe modules. A section's
module is imported only when a file has its key, so this package depends on none of them, and
a file without ``inspections:`` never loads the inspection service. The owning package reads
the validated value back with ``SECTION.of(config)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Final, Generic, TypeVar, cast

from pydantic import TypeAdapter

from monitor.config.schema import Config, ConfigModel
from monitor.core.sources import Problem, SourceMap

__all__ = [
    "BUILTIN",
    "GROUP",
    "ConfigSection",
    "SectionCheck",
    "SectionUnavailable",
    "load_section",
    "section_keys",
]

#: The entry-point group third-party sections register in.
GROUP: Final = "trunkwatch.config_sections"

#: top-level key → "python.module:attribute" of its ConfigSection; checked in this order.
BUILTIN: Final[dict[str, str]] = {
    "simulator": "monitor.simulator.section:SIMULATOR",
    "inspections": "monitor.inspections.section:INSPECTIONS",
    "traps": "monitor.traps.section:TRAPS",
    "cluster": "monitor.cluster.section:CLUSTER",
}

T = TypeVar("T")

#: ``check(value, model, smap, base)``: the problems of a section whose shape is valid,
#: against the rest of the file; ``base`` is the folder relative paths are read from.
SectionCheck = Callable[[T, ConfigModel, SourceMap, Path], Iterator[Problem]]


@dataclass(frozen=True, slots=True)
class ConfigSection(Generic[T]):
    """An optional top-level section: its key, its model, its cross-checks."""

    key: str
    model: type[T]
    check: SectionCheck[T]
    _adapter: TypeAdapter[T] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_adapter", TypeAdapter(self.model))

    def validate(self, value: object) -> T:
        """The section's value as its model; raises pydantic's ValidationError, whose
        locations are relative to the section."""
        return self._adapter.validate_python(value)

    def of(self, config: Config) -> T | None:
        """The validated value of this section in ``config``; None when the file has none."""
        # load_config stored under this key what this section's model validated.
        return cast("T | None", config.sections.get(self.key))

    def replaced(self, config: Config, value: T) -> Config:
        """``config`` with this section's value replaced (checked when it was loaded)."""
        return replace(config, sections={**config.sections, self.key: value})


class SectionUnavailable(LookupError):
    """A registered section cannot be loaded (its package is broken or not installed)."""


def _entry_point_table() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def section_keys() -> list[str]:
    """The registered top-level keys: the built-in ones first, then the entry points'; a key
    that names one of the file's own sections is never a registered one."""
    own = ConfigModel.model_fields.keys()
    extra = sorted(set(_entry_point_table()) - set(BUILTIN))
    return [key for key in [*BUILTIN, *extra] if key not in own]


def load_section(key: str) -> ConfigSection[Any]:
    """The section registered under ``key``. Raises SectionUnavailable."""
    target = BUILTIN.get(key) or _entry_point_table().get(key)
    if target is None:
        raise SectionUnavailable(f"no section {key!r} is registered")
    module_name, _, attr = target.partition(":")
    try:
        section = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise SectionUnavailable(f"section {key!r} cannot be loaded from {target}: {exc}") from exc
    if not isinstance(section, ConfigSection) or section.key != key:
        raise SectionUnavailable(f"{target} is not the ConfigSection of {key!r}")
    return section

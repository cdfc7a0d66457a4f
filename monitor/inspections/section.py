"""The ``inspections:`` section of monitor.yaml as a registered configuration section: kept as
written, and checked by ``validate_inspections`` against the sites and assets of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from monitor.config import ConfigModel, ConfigSection
from monitor.core.sources import Problem, SourceMap
from monitor.inspections.config import validate_inspections

__all__ = ["INSPECTIONS", "check_inspections"]


def check_inspections(
    section: dict[str, Any], model: ConfigModel, smap: SourceMap, base: Path
) -> Iterator[Problem]:
    """Every problem of the section: its shape, then its references."""
    _, found = validate_inspections(
        section,
        smap,
        ("inspections",),
        assets=model.assets,
        sites={s.id: s for s in model.sites},
        timezone=model.centre.timezone,
        base=base,
    )
    yield from found


#: The ``inspections:`` section as registered; ``INSPECTIONS.of(config)`` is the mapping
#: written, which ``monitor.inspections.plans.build_setup`` validates into plans.
INSPECTIONS: Final = ConfigSection("inspections", dict[str, Any], check_inspections)

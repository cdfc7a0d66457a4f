"""The ``simulator:`` section of monitor.yaml as a registered configuration section: kept as
written, and checked by building the fleet it describes (``Fleet`` reports every problem).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from monitor.config import ConfigModel, ConfigSection
from monitor.core.sources import Problem, SourceMap
from monitor.simulator.fleet import Fleet, SimulatorConfigError

__all__ = ["SIMULATOR", "check_simulator", "parse_path"]

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(text: str) -> list[str | int]:
    """'simulator.sites[3].carriers' → ['simulator', 'sites', 3, 'carriers']."""
    return [int(index) if index else name for name, index in _PATH_PART.findall(text)]


def check_simulator(
    section: dict[str, Any], model: ConfigModel, smap: SourceMap, base: Path
) -> Iterator[Problem]:
    """The fleet's own problems, each at its line of the ``simulator:`` section."""
    try:
        Fleet(section)
    except SimulatorConfigError as exc:
        for where, reason in exc.problems:
            path = parse_path(where)
            if not path or path[0] != "simulator":
                path = ["simulator", *path]
            yield smap.problem(path, reason)


#: The ``simulator:`` section as registered; ``SIMULATOR.of(config)`` is the mapping written.
SIMULATOR: Final = ConfigSection("simulator", dict[str, Any], check_simulator)

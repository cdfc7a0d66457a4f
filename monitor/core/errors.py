"""The root of trunkwatch's own exceptions.

Every error the project raises on purpose derives from ``TrunkwatchError``, so a caller at a
boundary (the CLI, an HTTP handler, the scheduler) can tell an expected failure from a bug::

    TrunkwatchError
    ├── monitor.core.sources.ConfigError        a configuration (or profile) with problems
    ├── probes.base.ProbeError                  a probe run failed, with a reason label
    └── …                                       each feature package's own tree
"""

from __future__ import annotations

__all__ = ["TrunkwatchError"]


class TrunkwatchError(Exception):
    """An expected failure of trunkwatch, with a message fit to show a person."""

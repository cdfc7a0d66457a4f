"""The configuration: ``monitor.yaml`` read, validated and resolved into a typed ``Config``.

The parts, one concept each: ``schema`` (the file's own sections as pydantic models, and
``Config``), ``secrets`` (``${ENV}`` and ``file:`` references), ``checks`` (cross-references
between sites, assets, credentials and probes), ``sections`` (the optional sections other
packages own, registered rather than imported) and ``load`` (``load_config`` and
``reload_problems``). Every problem is reported at once as ``file:line: field: reason``.
"""

from __future__ import annotations

from monitor.config.load import load_config, reload_problems
from monitor.config.schema import (
    SYSTEMS,
    AssetConfig,
    CentreConfig,
    Config,
    ConfigModel,
    DefaultsConfig,
    Identifier,
    LimitsConfig,
    ProbeConfig,
    ServerConfig,
    SiteConfig,
    probe_name,
)
from monitor.config.secrets import resolve_secret
from monitor.config.sections import ConfigSection, SectionUnavailable
from monitor.core.sources import ConfigError, Problem

__all__ = [
    "SYSTEMS",
    "AssetConfig",
    "CentreConfig",
    "Config",
    "ConfigError",
    "ConfigModel",
    "ConfigSection",
    "DefaultsConfig",
    "Identifier",
    "LimitsConfig",
    "ProbeConfig",
    "Problem",
    "SectionUnavailable",
    "ServerConfig",
    "SiteConfig",
    "load_config",
    "probe_name",
    "reload_problems",
    "resolve_secret",
]

"""The shape of ``monitor.yaml``'s own sections as pydantic models (centre, server, defaults,
limits, alerting, credentials, sites, assets and their probes), and ``Config``, a file once
validated.

The optional sections other packages own (``traps:``, ``inspections:``, ``simulator:`` …) are
not fields here: they are registered (``monitor.config.sections``) and their validated values
kept in ``Config.sections``, read through the owning package's ``ConfigSection.of``.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from monitor.core.durations import Duration
from monitor.core.sources import SourceMap, Strict

__all__ = [
    "SYSTEMS",
    "AlertingConfig",
    "AssetConfig",
    "CentreConfig",
    "Config",
    "ConfigModel",
    "DefaultsConfig",
    "Identifier",
    "LimitsConfig",
    "ProbeConfig",
    "ServerConfig",
    "SiteConfig",
    "System",
    "probe_name",
]

SYSTEMS = ("radio", "line", "network", "platform", "power")
System = Literal["radio", "line", "network", "platform", "power"]

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
LabelName = Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]


class CentreConfig(Strict):
    name: str = "应急联动中心 Emergency Linkage Centre"
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class DefaultsConfig(Strict):
    interval: Duration = 60.0
    timeout: Duration = 10.0


class LimitsConfig(Strict):
    concurrency: int = Field(256, ge=1, le=100_000)
    per_device: int = Field(4, ge=1, le=1000)


class ServerConfig(Strict):
    listen: str = "127.0.0.1:9750"
    data_dir: str = "var"


def _http_urls(value: Any) -> Any:
    """One URL or a list of them (the peers of an Alertmanager cluster, tried in order)."""
    return [value] if isinstance(value, str) else value


def _http_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL such as http://127.0.0.1:9093")
    if parts.username is not None or parts.password is not None:
        # Whatever is in the URL ends up in log lines and error messages.
        raise ValueError("credentials in the URL are not accepted")
    if parts.query or parts.fragment:
        raise ValueError("expected the base URL, without ?query or #fragment")
    return value.strip().rstrip("/")


class AlertingConfig(Strict):
    """Where trunkwatch itself talks to Alertmanager (planned maintenance makes silences).
    Prometheus still sends the alerts: this is not its ``alerting:`` block."""

    alertmanager_url: Annotated[
        list[Annotated[str, AfterValidator(_http_url)]],
        BeforeValidator(_http_urls),
        Field(max_length=8),
    ] = Field(default_factory=list)
    #: How long one request to Alertmanager may take.
    timeout: Duration = 5.0


class ProbeConfig(BaseModel):
    """A probe entry: scheduling keys here, everything else is the module's parameters."""

    model_config = ConfigDict(extra="allow", frozen=True)

    module: Identifier
    name: Identifier | None = None
    interval: Duration | None = None
    timeout: Duration | None = None

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def probe_name(probe: ProbeConfig) -> str:
    """The probe's name on its asset: explicit, else module[:profile]."""
    if probe.name:
        return probe.name
    profile = probe.params.get("profile")
    return f"{probe.module}:{profile}" if isinstance(profile, str) else probe.module


class SiteConfig(Strict):
    id: Identifier
    name: str
    name_en: str | None = None
    district: str | None = None
    coordinates: (
        tuple[Annotated[float, Field(ge=-90, le=90)], Annotated[float, Field(ge=-180, le=180)]]
        | None
    ) = None
    parent: Identifier | None = None
    backhaul: Identifier | None = None
    labels: dict[LabelName, str] = Field(default_factory=dict)


def _charset(value: Any) -> Any:
    """A text encoding Python knows (gb18030, gbk, big5, latin-1 …), by its canonical name."""
    if not isinstance(value, str):
        return value
    try:
        name = codecs.lookup(value).name
        b"".decode(name)
    except LookupError:
        raise ValueError(f"unknown character set {value!r}") from None
    return name


class AssetConfig(Strict):
    id: Identifier
    site: Identifier
    system: System
    kind: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")]
    address: str
    name: str | None = None
    credentials: Identifier | None = None
    parent: Identifier | None = None
    labels: dict[LabelName, str] = Field(default_factory=dict)
    #: How the device's text that is not UTF-8 is read (SNMP DisplayStrings …); the probes'
    #: default (GB18030 for SNMP) when unset.
    charset: Annotated[str, BeforeValidator(_charset)] | None = None
    probes: list[ProbeConfig] = Field(default_factory=list)


class ConfigModel(Strict):
    """The sections every file has; a registered section's key is not a field (see above)."""

    # Lets a reload drop more than half of the running assets (see reload_problems).
    allow_shrink: bool = False
    centre: CentreConfig = Field(default_factory=CentreConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    defaults: DefaultsConfig = Field(default_factory=DefaultsConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    alerting: AlertingConfig = Field(default_factory=AlertingConfig)
    credentials: dict[Identifier, dict[Identifier, str | int]] = Field(default_factory=dict)
    sites: list[SiteConfig] = Field(default_factory=list)
    assets: list[AssetConfig] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Config:
    """A validated configuration, its source path, the resolved secrets by credential, and
    the validated values of the registered sections present, by top-level key."""

    path: Path
    model: ConfigModel
    secrets: Mapping[str, Mapping[str, str]]
    source: SourceMap
    sections: Mapping[str, object] = field(default_factory=dict)

    @property
    def sites(self) -> list[SiteConfig]:
        return self.model.sites

    @property
    def assets(self) -> list[AssetConfig]:
        return self.model.assets

"""Load and validate ``monitor.yaml`` into a typed configuration.

Validation reports every problem at once, each as ``file:line: field: reason``: the shape and
types by pydantic, then the cross-references (sites, assets, parents, credentials, probe
modules and their parameters, secrets) by the checks below. Secrets are resolved here from
``${ENV}`` / ``${ENV:-default}`` / ``file:PATH`` references and kept out of every message; a
secret file is read only when it is a regular file of at most 64 KiB of UTF-8 text.

A file must say which assets it monitors: an empty file, or one without ``assets:``, is
refused (``assets: []`` says "none" on purpose). ``reload_problems`` refuses a reload that
would drop more than half of the running assets unless the new file sets
``allow_shrink: true``.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from monitor.core.addresses import split_address
from monitor.core.durations import Duration, format_duration
from monitor.core.sources import (
    ConfigError,
    Problem,
    SourceMap,
    Strict,
    load_yaml,
    pydantic_problems,
    read_secret_file,
)
from probes.traps import TrapsConfig
from probes.traps import config_problems as _trap_problems

__all__ = [
    "SYSTEMS",
    "AssetConfig",
    "Config",
    "ConfigError",
    "ProbeConfig",
    "Problem",
    "SiteConfig",
    "load_config",
    "reload_problems",
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
    # Lets a reload drop more than half of the running assets (see reload_problems).
    allow_shrink: bool = False
    centre: CentreConfig = Field(default_factory=CentreConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    defaults: DefaultsConfig = Field(default_factory=DefaultsConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    credentials: dict[Identifier, dict[Identifier, str | int]] = Field(default_factory=dict)
    sites: list[SiteConfig] = Field(default_factory=list)
    assets: list[AssetConfig] = Field(default_factory=list)
    # Validated by the capabilities that own them.
    simulator: dict[str, Any] | None = None
    inspections: dict[str, Any] | None = None
    traps: TrapsConfig | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """A validated configuration, its source path, and the resolved secrets by credential."""

    path: Path
    model: ConfigModel
    secrets: Mapping[str, Mapping[str, str]]
    source: SourceMap

    @property
    def sites(self) -> list[SiteConfig]:
        return self.model.sites

    @property
    def assets(self) -> list[AssetConfig]:
        return self.model.assets


_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?\}$")


def resolve_secret(value: str | int, base: Path) -> str:
    """Resolve ``${ENV}``, ``${ENV:-default}`` or ``file:PATH``; a plain value is itself.

    Raises ValueError whose message never contains the secret.
    """
    text = str(value)
    if m := _ENV_REF.match(text):
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ValueError(f"environment variable {name} is not set")
    if text.startswith("file:"):
        path = Path(text[5:]).expanduser()
        if not path.is_absolute():
            path = base / path
        return read_secret_file(path)
    return text


@dataclass(frozen=True, slots=True)
class _Origin:
    """Where the validated lists' items stand in the document, and the ids of items that
    failed validation (so references to them are not reported a second time)."""

    sites: list[int]
    assets: list[int]
    broken_site_ids: frozenset[str] = frozenset()
    broken_asset_ids: frozenset[str] = frozenset()


def _cross_checks(
    model: ConfigModel, smap: SourceMap, base: Path, origin: _Origin
) -> Iterator[Problem]:
    from probes import UnknownProbeModule, load_factory
    from probes.base import ProbeParamsError

    site_ids: dict[str, int] = dict.fromkeys(origin.broken_site_ids, -1)
    for i, site in enumerate(model.sites):
        if site.id in site_ids:
            yield smap.problem(("sites", origin.sites[i], "id"), f"duplicate site id {site.id!r}")
        site_ids.setdefault(site.id, i)
    asset_index: dict[str, int] = dict.fromkeys(origin.broken_asset_ids, -1)
    for i, asset in enumerate(model.assets):
        if asset.id in asset_index:
            yield smap.problem(
                ("assets", origin.assets[i], "id"), f"duplicate asset id {asset.id!r}"
            )
        asset_index.setdefault(asset.id, i)

    for i, site in enumerate(model.sites):
        at = ("sites", origin.sites[i])
        if site.parent is not None and site.parent not in site_ids:
            yield smap.problem((*at, "parent"), f"no site {site.parent!r}")
        if site.backhaul is not None and site.backhaul not in asset_index:
            yield smap.problem((*at, "backhaul"), f"no asset {site.backhaul!r}")
    parents = {s.id: s.parent for s in reversed(model.sites)}  # the first of a duplicate wins
    for i, site in enumerate(model.sites):
        if site_ids.get(site.id) != i:
            continue  # a duplicate, already reported
        seen, cur = {site.id}, site.parent
        while cur is not None and cur in parents:
            if cur in seen:
                yield smap.problem(("sites", origin.sites[i], "parent"), "parent chain loops back")
                break
            seen.add(cur)
            cur = parents[cur]

    for name, fields in model.credentials.items():
        for key, value in fields.items():
            try:
                resolve_secret(value, base)
            except ValueError as exc:
                yield smap.problem(("credentials", name, key), str(exc))

    for i, asset in enumerate(model.assets):
        where: tuple[str | int, ...] = ("assets", origin.assets[i])
        if asset.site not in site_ids:
            yield smap.problem((*where, "site"), f"no site {asset.site!r}")
        if asset.parent is not None:
            if asset.parent not in asset_index:
                yield smap.problem((*where, "parent"), f"no asset {asset.parent!r}")
            elif asset.parent == asset.id:
                yield smap.problem((*where, "parent"), "an asset cannot be its own parent")
        if asset.credentials is not None and asset.credentials not in model.credentials:
            yield smap.problem((*where, "credentials"), f"no credentials {asset.credentials!r}")
        try:
            split_address(asset.address)
        except ValueError as exc:
            yield smap.problem((*where, "address"), str(exc))
        names: set[str] = set()
        for j, probe in enumerate(asset.probes):
            pwhere = (*where, "probes", j)
            pname = probe_name(probe)
            if pname in names:
                yield smap.problem((*pwhere, "name"), f"duplicate probe name {pname!r}")
            names.add(pname)
            interval = probe.interval or model.defaults.interval
            timeout = probe.timeout or model.defaults.timeout
            if interval < timeout:
                yield smap.problem(
                    (*pwhere, "interval"),
                    f"interval {format_duration(interval)} is below the timeout "
                    f"{format_duration(timeout)}",
                )
            try:
                factory = load_factory(probe.module)
            except UnknownProbeModule as exc:
                yield smap.problem((*pwhere, "module"), str(exc))
                continue
            try:
                factory(probe.params, timeout=timeout)
            except ProbeParamsError as exc:
                for key, reason in exc.problems:
                    parts: list[str | int] = [int(p) if p.isdigit() else p for p in key.split(".")]
                    yield smap.problem((*pwhere, *parts), reason)


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(text: str) -> list[str | int]:
    """'simulator.sites[3].carriers' → ['simulator', 'sites', 3, 'carriers']."""
    return [int(index) if index else name for name, index in _PATH_PART.findall(text)]


def _check_simulator(model: ConfigModel, smap: SourceMap) -> Iterator[Problem]:
    if model.simulator is None:
        return
    from monitor.simulator.fleet import Fleet, SimulatorConfigError

    try:
        Fleet(model.simulator)
    except SimulatorConfigError as exc:
        for where, reason in exc.problems:
            path = parse_path(where)
            if not path or path[0] != "simulator":
                path = ["simulator", *path]
            yield smap.problem(path, reason)


def _check_inspections(model: ConfigModel, smap: SourceMap, base: Path) -> Iterator[Problem]:
    if model.inspections is None:
        return
    from monitor.inspections.config import validate_inspections

    _, found = validate_inspections(
        model.inspections,
        smap,
        ("inspections",),
        assets=model.assets,
        sites={s.id: s for s in model.sites},
        timezone=model.centre.timezone,
        base=base,
    )
    yield from found


def probe_name(probe: ProbeConfig) -> str:
    """The probe's name on its asset: explicit, else module[:profile]."""
    if probe.name:
        return probe.name
    profile = probe.params.get("profile")
    return f"{probe.module}:{profile}" if isinstance(profile, str) else probe.module


def _check_remainder(
    document: dict[str, Any], exc: ValidationError, smap: SourceMap, base: Path
) -> list[Problem]:
    """Cross-check the parts of a document that passed validation when others did not."""
    broken: dict[str, set[int]] = {"sites": set(), "assets": set()}
    pruned = dict(document)
    for err in exc.errors(include_url=False, include_input=False):
        loc = err["loc"]
        if len(loc) >= 2 and loc[0] in broken and isinstance(loc[1], int):
            broken[str(loc[0])].add(loc[1])
        elif loc:
            pruned.pop(str(loc[0]), None)  # a broken section: fall back to its defaults
    kept: dict[str, list[int]] = {}
    broken_ids: dict[str, frozenset[str]] = {}
    for section, bad in broken.items():
        items = document.get(section)
        if not isinstance(items, list):
            kept[section] = []
            continue
        kept[section] = [i for i in range(len(items)) if i not in bad]
        pruned[section] = [items[i] for i in kept[section]]
        broken_ids[section] = frozenset(
            str(items[i]["id"]) for i in bad if isinstance(items[i], dict) and "id" in items[i]
        )
    try:
        model = ConfigModel.model_validate(pruned)
    except ValidationError:
        return []  # nothing more can be said reliably
    origin = _Origin(
        kept["sites"],
        kept["assets"],
        broken_ids.get("sites", frozenset()),
        broken_ids.get("assets", frozenset()),
    )
    return list(_cross_checks(model, smap, base, origin))


_NO_ASSETS = "list the assets to monitor (write assets: [] for none)"


def reload_problems(running: Config, new: Config) -> list[Problem]:
    """Why ``new`` must not replace ``running`` although it is valid on its own.

    A reload that drops more than half of the running assets is far more often a truncated
    or wrong file than a decision; the file says so with ``allow_shrink: true``.
    """
    before = {asset.id for asset in running.assets}
    dropped = before - {asset.id for asset in new.assets}
    if new.model.allow_shrink or len(dropped) * 2 <= len(before):
        return []
    reason = (
        f"the reload would drop {len(dropped)} of the {len(before)} running assets; "
        "set allow_shrink: true in the file to allow that"
    )
    return [new.source.problem(("assets",), reason)]


def load_config(path: str | Path) -> Config:
    """Read, validate and resolve a configuration file. Raises ConfigError listing every
    problem."""
    path = Path(path)
    document, smap = load_yaml(path)
    if document is None:
        reason = f"missing, the file is empty: {_NO_ASSETS}"
        raise ConfigError([Problem(str(path), 1, "assets", reason)])
    if not isinstance(document, dict):
        raise ConfigError(
            [Problem(str(path), smap.line_of(()), "(document)", "expected a mapping")]
        )
    # Checked first and reported with the rest: a file that lost its assets (truncated, or
    # the wrong file) would otherwise start a monitor that watches nothing and says so nowhere.
    missing = (
        [] if "assets" in document else [Problem(str(path), 1, "assets", f"missing: {_NO_ASSETS}")]
    )
    base = path.resolve().parent
    try:
        model = ConfigModel.model_validate(document)
    except ValidationError as exc:
        # Report the shape errors, then check what remains valid, so one run lists them all.
        problems = missing + list(pydantic_problems(exc, smap))
        problems += _check_remainder(document, exc, smap, base)
        raise ConfigError(problems) from None
    origin = _Origin(list(range(len(model.sites))), list(range(len(model.assets))))
    problems = missing + list(_cross_checks(model, smap, base, origin))
    problems += _check_simulator(model, smap)
    problems += _check_inspections(model, smap, base)
    problems += _trap_problems(model, smap)
    if problems:
        raise ConfigError(problems)
    secrets = {
        name: {key: resolve_secret(value, base) for key, value in fields.items()}
        for name, fields in model.credentials.items()
    }
    return Config(path=path, model=model, secrets=secrets, source=smap)

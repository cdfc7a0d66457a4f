"""SNMP profiles compiled: the library of profile files a probe can name, each loaded once,
checked with file:line errors and compiled into poll groups and trap rules.

Built-in profiles live in ``probes/snmp/profiles/`` (their format in ``probes.snmp.profile_schema``
and ``probes/snmp/profiles/README.md``); a probe's ``profile_dirs`` are searched first. Symbolic
OIDs (``MODULE::object``) are resolved through ``probes.snmp.mibs`` when a profile is loaded.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from monitor.core.sources import ConfigError, Problem, load_yaml
from probes.base import Family
from probes.snmp.codec import OID, CodecError, parse_oid
from probes.snmp.mappers import (
    BitsMapper,
    CounterMapper,
    GaugeMapper,
    Group,
    HighCapacityGaugeMapper,
    InfoMapper,
    Mapper,
    StateSetMapper,
    ValueCheck,
)
from probes.snmp.mibs import MibError, MibResolver
from probes.snmp.plan import PollPlan
from probes.snmp.profile_schema import LabelSpec, MetricSpec, ProfileSpec, check_profile, oid_fields
from probes.snmp.rows import IndexPart, LabelColumn

__all__ = [
    "BUILTIN_PROFILE_DIR",
    "Profile",
    "ProfileConflict",
    "ProfileLibrary",
    "TrapRule",
    "UnknownProfile",
    "library",
    "load_profile",
]

BUILTIN_PROFILE_DIR: Final = Path(__file__).resolve().parent / "profiles"


# ---------------------------------------------------------------------------------------------
# Compiled profiles


@dataclass(frozen=True, slots=True)
class TrapRule:
    """One mapped notification, resolved: what the trap receiver does when it arrives.

    ``instance`` is the varbind OID (without its index) whose index part keys the alarm,
    exported under ``instance_label``; ``clear_when`` turns a raising trap into a clearing one
    when that varbind's value is in the set. ``hold`` None means the receiver's default.
    """

    name: str
    oid: OID
    profile: str
    help: str = ""
    raises: str | None = None
    severity: str | None = None
    clears: tuple[str, ...] = ()
    instance: OID | None = None
    instance_label: str = "index"
    clear_when: tuple[OID, frozenset[int]] | None = None
    hold: float | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """A validated, resolved profile: its groups are ready to poll, its traps to map."""

    name: str
    description: str
    includes: tuple[str, ...]
    groups: tuple[Group, ...]
    path: Path
    traps: tuple[TrapRule, ...] = ()

    @property
    def families(self) -> tuple[Family, ...]:
        seen: dict[str, Family] = {}
        for group in self.groups:
            for mapper in group.mappers:
                seen.setdefault(mapper.family.name, mapper.family)
        return tuple(seen.values())


def _number(value: float) -> float:
    """A whole number as an int, so integer values stay exact integers."""
    return int(value) if float(value).is_integer() else value


def _scaling(scale: float) -> dict[str, Any]:
    """``scale`` as a multiplier, or as a whole divisor when it is one's reciprocal (0.1 →
    ÷ 10), which keeps decimal results exact."""
    if 0 < abs(scale) < 1:
        inverse = 1 / scale
        if abs(inverse - round(inverse)) < 1e-9:
            return {"scale": 1, "divisor": round(inverse)}
    return {"scale": _number(scale)}


def _compile(name: str, spec: ProfileSpec, oids: Mapping[str, OID], path: Path) -> Profile:
    families: dict[str, Family] = {}

    def family(m: MetricSpec) -> Family:
        full = f"trunkwatch_{m.name}" + ("_total" if m.type == "counter" else "")
        found = families.get(full)
        if found is None:
            found = families[full] = Family(
                full, "counter" if m.type == "counter" else "gauge", " ".join(m.help.split())
            )
        return found

    def label_columns(items: Mapping[str, LabelSpec]) -> tuple[LabelColumn, ...]:
        return tuple(
            LabelColumn(label, oids[spec_.oid], spec_.decode, spec_.enum)
            for label, spec_ in items.items()
        )

    def mapper(m: MetricSpec, part: str) -> Mapper:
        common: dict[str, Any] = {
            "family": family(m),
            "part": part,
            "fallback": oids[m.fallback] if m.fallback else None,
            "labels": label_columns(m.labels),
            "const": tuple(m.const_labels.items()),
            "optional": m.optional,
        }
        column = oids[m.oid] if m.oid else None
        if m.type == "info":
            return InfoMapper(column=None, **common)
        assert column is not None
        if m.type == "counter":
            return CounterMapper(column=column, **_scaling(m.scale), **common)
        if m.type in ("stateset", "enum"):
            assert m.enum is not None
            return StateSetMapper(
                column=column, states=dict(m.enum), label=m.state_label or "state", **common
            )
        if m.bits is not None:
            return BitsMapper(
                column=column, bits=dict(m.bits), label=m.state_label or "bit", **common
            )
        if m.high_capacity is not None:
            return HighCapacityGaugeMapper(
                column=column,
                high_capacity=oids[m.high_capacity.oid],
                factor=m.high_capacity.factor,
                **_scaling(m.scale),
                **common,
            )
        sensor = m.sensor_scale
        check = None
        if m.range is not None or m.invalid:
            low, high = m.range or (None, None)
            check = ValueCheck(low, high, frozenset(m.invalid))
        return GaugeMapper(
            column=column,
            check=check,
            **_scaling(m.scale),
            decode=m.decode,
            multiply_by=oids[m.multiply_by] if m.multiply_by else None,
            scale_column=oids[sensor.scale] if sensor else None,
            precision_column=oids[sensor.precision] if sensor and sensor.precision else None,
            value_map={k: _number(v) for k, v in m.map.items()} if m.map is not None else None,
            **common,
        )

    groups: list[Group] = []
    if spec.scalars:
        groups.append(
            Group(
                name=f"{name}.scalars",
                profile=name,
                scalar=True,
                mappers=tuple(mapper(m, f"{name}.{m.name}") for m in spec.scalars),
            )
        )
    for table in spec.tables:
        groups.append(
            Group(
                name=f"{name}.{table.name}",
                profile=name,
                scalar=False,
                mappers=tuple(mapper(m, f"{name}.{table.name}.{m.name}") for m in table.metrics),
                index=tuple(IndexPart(p.label, p.type, p.length or 0, p.enum) for p in table.index),
                labels=label_columns(table.labels),
                walk=tuple(oids[w] for w in table.walk),
            )
        )
    traps = tuple(
        TrapRule(
            name=t.name,
            oid=oids[t.oid],
            profile=name,
            help=" ".join((t.help or "").split()),
            raises=t.raises,
            severity=t.severity,
            clears=tuple(t.clears),
            instance=oids[t.instance.oid] if t.instance is not None else None,
            instance_label=t.instance.label if t.instance is not None else "index",
            clear_when=(
                (oids[t.clear_when.oid], frozenset(t.clear_when.values))
                if t.clear_when is not None
                else None
            ),
            hold=t.hold,
        )
        for t in spec.traps
    )
    return Profile(
        name, " ".join(spec.description.split()), tuple(spec.include), tuple(groups), path, traps
    )


def load_profile(path: Path, resolver: MibResolver | None = None) -> Profile:
    """Read, validate and compile one profile file; ConfigError lists every problem with its
    file:line. Symbolic OIDs need ``resolver``."""
    document, smap = load_yaml(path)
    if not isinstance(document, dict):
        raise ConfigError([Problem(str(path), 1, "(document)", "expected a mapping")])
    spec, problems = check_profile(document, smap)
    oids: dict[str, OID] = {}
    for where, text in oid_fields(spec):
        if text in oids:
            continue
        try:
            if "::" in text:
                if resolver is None:
                    raise MibError("symbolic names need MIB folders (mib_dirs)")
                oids[text] = resolver.resolve(text)
            else:
                oids[text] = parse_oid(text)
        except (MibError, CodecError) as exc:
            problems.append(smap.problem(where, str(exc)))
    if problems:
        raise ConfigError(problems)
    return _compile(path.stem, spec, oids, path)


# ---------------------------------------------------------------------------------------------
# The library of profiles a probe can name


_PROFILE_NAME = re.compile(r"[a-z][a-z0-9_]*")


class UnknownProfile(LookupError):
    """A probe names a profile no folder has."""


class ProfileConflict(ValueError):
    """Profiles polled together disagree on a metric's type."""


class ProfileLibrary:
    """The profiles in ``dirs`` (searched first) and the built-in ones.

    Loaded profiles and plans are cached and reused while their files are unchanged, so the
    thousands of probes naming ``if_mib`` share one compiled profile and one plan.
    """

    def __init__(
        self,
        dirs: Iterable[str | Path] = (),
        mib_dirs: Iterable[str | Path] = (),
        *,
        mib_cache: Path | None = None,
    ) -> None:
        self.dirs: tuple[Path, ...] = (*(Path(d).expanduser() for d in dirs), BUILTIN_PROFILE_DIR)
        self._mib_dirs = tuple(Path(d).expanduser() for d in mib_dirs)
        self._mib_cache = mib_cache
        self._resolver: MibResolver | None = None
        self._profiles: dict[Path, tuple[tuple[int, int], Profile]] = {}
        self._plans: dict[tuple[tuple[Path, int, int], ...], PollPlan] = {}
        self._candidates: dict[str, list[tuple[Path, str]]] = {}

    @property
    def resolver(self) -> MibResolver:
        if self._resolver is None:
            self._resolver = MibResolver(self._mib_dirs, self._mib_cache)
        return self._resolver

    def available(self) -> list[str]:
        names: set[str] = set()
        for folder in self.dirs:
            if folder.is_dir():
                names.update(p.stem for p in folder.glob("*.yaml"))
        return sorted(names)

    def path(self, name: str) -> Path | None:
        found = self._find(name)
        return found[0] if found is not None else None

    def _find(self, name: str) -> tuple[Path, tuple[int, int]] | None:
        """The first file of this name in the folders, with its (mtime, size) stamp.

        Asked once per probe built, thousands of times per load: the candidates are computed
        once per name and each is looked at with a single stat.
        """
        candidates = self._candidates.get(name)
        if candidates is None:
            # A name that is not a plain word never names a file (no path tricks).
            candidates = self._candidates[name] = [
                (folder / f"{name}.yaml", os.fspath(folder / f"{name}.yaml"))
                for folder in (self.dirs if _PROFILE_NAME.fullmatch(name) else ())
            ]
        for path, text in candidates:
            try:
                info = os.stat(text)
            except (OSError, ValueError):
                continue
            if stat.S_ISREG(info.st_mode):
                return path, (info.st_mtime_ns, info.st_size)
        return None

    def profile(self, name: str) -> Profile:
        """One profile, loaded (or reused while its file is unchanged)."""
        found = self._find(name)
        if found is None:
            raise UnknownProfile(
                f"unknown profile {name!r} (available: {', '.join(self.available())})"
            )
        path, stamp = found
        cached = self._profiles.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        profile = load_profile(path, self.resolver)
        self._profiles[path] = (stamp, profile)
        return profile

    def expand(self, names: Sequence[str], skip_included: Iterable[str] = ()) -> list[Profile]:
        """The profiles named and those they include (included first), each once; a profile
        in ``skip_included`` is left out where it is only included, not named."""
        out: dict[str, Profile] = {}
        visiting: list[str] = []
        skipped = set(skip_included).difference(names)

        def visit(name: str) -> None:
            if name in out or name in skipped:
                return
            if name in visiting:
                raise ConfigError(
                    [
                        Problem(
                            str(self.path(name)),
                            1,
                            "include",
                            f"profiles include each other: {' → '.join([*visiting, name])}",
                        )
                    ]
                )
            visiting.append(name)
            profile = self.profile(name)
            for included in profile.includes:
                try:
                    visit(included)
                except UnknownProfile as exc:
                    raise ConfigError(
                        [Problem(str(profile.path), 1, "include", str(exc))]
                    ) from None
            visiting.pop()
            out[name] = profile

        for name in names:
            visit(name)
        return list(out.values())

    def plan(self, names: Sequence[str], skip_included: Iterable[str] = ()) -> PollPlan:
        """The poll plan for these profiles (with their includes), shared while unchanged."""
        profiles = self.expand(names, skip_included)
        key = tuple(
            (p.path, *self._profiles[p.path][0]) for p in profiles if p.path in self._profiles
        )
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        kinds: dict[str, tuple[str, str]] = {}
        for profile in profiles:
            for family in profile.families:
                first = kinds.setdefault(family.name, (family.type, profile.name))
                if first[0] != family.type:
                    raise ProfileConflict(
                        f"{family.name} is a {family.type} in profile {profile.name} but a "
                        f"{first[0]} in profile {first[1]}"
                    )
        plan = PollPlan([g for p in profiles for g in p.groups])
        self._plans[key] = plan
        return plan


@functools.lru_cache(maxsize=32)
def _library(dirs: tuple[str, ...], mib_dirs: tuple[str, ...]) -> ProfileLibrary:
    return ProfileLibrary(dirs, mib_dirs)


def library(dirs: Sequence[str] = (), mib_dirs: Sequence[str] = ()) -> ProfileLibrary:
    """The process-wide library for these folders (shared by every probe naming them)."""
    return _library(tuple(dirs), tuple(mib_dirs))

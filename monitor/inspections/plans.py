"""The inspections as the service runs them: each plan with its schedule, its targets from the
inventory, its parsed checks and from when it owes rounds, and the roster with the SHA-256 of
each person's token and the names of its teams.

Built from a loaded ``monitor.config.Config``; tokens are read from their environment
variable or file once, hashed, and the plaintext dropped. A plan without a configured
``start`` owes rounds from when it first appeared in the store, which the service fills in
(``InspectionSetup.started``).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.config import Config, resolve_secret
from monitor.core.sources import ConfigError, read_secret_file
from monitor.inspections.calendar import Frequency, Period, Schedule
from monitor.inspections.checklist import Condition, Selector, parse_condition, parse_selector
from monitor.inspections.config import (
    AutomatedItem,
    InspectionPlan,
    InspectionsConfig,
    LabelSettings,
    Person,
    ReadingItem,
    build_schedule,
    plan_start,
    select_targets,
    validate_inspections,
)
from monitor.inspections.handover.setup import DutySetup, build_duty_setup
from monitor.inspections.maintenance.setup import MaintenanceSetup, build_maintenance_setup
from monitor.inspections.records import RoundTarget
from monitor.inspections.section import INSPECTIONS

__all__ = [
    "FREQUENCY_NAMES",
    "MIN_TOKEN_LENGTH",
    "InspectionSetup",
    "Roster",
    "ScheduledPlan",
    "build_setup",
    "hash_token",
]

log = logging.getLogger("trunkwatch.inspections")

#: 日检 / 周检 / 月检 / 季检 / 年检, as the glossary names them.
FREQUENCY_NAMES: dict[Frequency, str] = {
    Frequency.DAILY: "日检 daily",
    Frequency.WEEKLY: "周检 weekly",
    Frequency.MONTHLY: "月检 monthly",
    Frequency.QUARTERLY: "季检 quarterly",
    Frequency.YEARLY: "年检 yearly",
    Frequency.RRULE: "巡检 inspection",
}

#: Shorter tokens are ignored: they could be guessed.
MIN_TOKEN_LENGTH = 16


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ScheduledPlan:
    plan: InspectionPlan
    schedule: Schedule
    targets: tuple[RoundTarget, ...]
    conditions: Mapping[str, Condition]
    live: Mapping[str, Selector]
    #: From when rounds are owed (Unix time): the configured ``start``, else when the plan
    #: first appeared in the store; None owes every round (a setup not yet on a store).
    start: float | None = None

    @property
    def id(self) -> str:
        return self.plan.id

    def owes(self, period: Period) -> bool:
        """Whether the round of ``period`` is owed: it is due at or after the plan's start.
        One due before is not applicable: never overdue, never missed, never counted."""
        return self.start is None or self.schedule.due(period).timestamp() >= self.start

    def current(self, now: float) -> Period | None:
        """The round that stands for the plan at ``now``: the period containing ``now`` when
        it is owed, else the first owed one after it (still to come). None before an
        RRULE's first occurrence."""
        period = self.schedule.period_at(now)
        if period is None or self.owes(period):
            return period
        # Every due time lies inside its period, so this walks at most to the period that
        # contains the start, and one further.
        assert self.start is not None
        period = self.schedule.period_at(self.start) or next(
            self.schedule.periods(self.start, float("inf"))
        )
        while not self.owes(period):
            period = self.schedule.following(period)
        return period

    @property
    def title(self) -> str:
        plan = self.plan
        return f"{plan.title} {plan.title_en}" if plan.title_en else plan.title

    @property
    def frequency_name(self) -> str:
        return FREQUENCY_NAMES[self.schedule.frequency]

    def target(self, key: str) -> RoundTarget | None:
        """A target by key (``asset:ID``, ``site:ID``, ``system:ID``) or by bare id."""
        for target in self.targets:
            if key in (target.key, target.id):
                return target
        return None

    def owner_of(self, target: RoundTarget) -> str:
        return self.plan.assignment(target.site).owner

    def deputy_of(self, target: RoundTarget) -> str | None:
        return self.plan.assignment(target.site).deputy


@dataclass(frozen=True, slots=True)
class Roster:
    people: Mapping[str, Person]
    teams: Mapping[str, tuple[str, ...]]
    _by_hash: Mapping[str, str] = field(repr=False)
    #: Team id → "name name_en", from ``inspections.teams``.
    team_names: Mapping[str, str] = field(default_factory=dict)

    def authenticate(self, token: str | None) -> Person | None:
        """The person whose token this is, or None."""
        if not token:
            return None
        # Looked up by the token's SHA-256, which a caller cannot steer towards a stored one,
        # so the lookup's timing says nothing about how close a guess was.
        person_id = self._by_hash.get(hash_token(token))
        return None if person_id is None else self.people[person_id]

    def token_hash(self, person_id: str) -> str | None:
        return next((h for h, p in self._by_hash.items() if p == person_id), None)

    def members(self, who: str | None) -> tuple[str, ...]:
        """The people a person-or-team id stands for."""
        if who is None:
            return ()
        if who in self.people:
            return (who,)
        return self.teams.get(who, ())

    def label(self, who: str | None) -> str:
        if who is None:
            return ""
        if who in self.people:
            return self.people[who].label
        return self.team_names.get(who) or f"{who} 组"


@dataclass(frozen=True, slots=True)
class InspectionSetup:
    zone: ZoneInfo
    roster: Roster
    plans: Mapping[str, ScheduledPlan]
    store_url: str | None
    data_dir: Path
    #: Seconds between tries of the once-only leader lock (inspections.store.leader_interval).
    leader_interval: float = 30.0
    centre: str = "应急联动中心 Emergency Linkage Centre"
    #: Site id → "name name_en", for pages and reports.
    site_names: Mapping[str, str] = field(default_factory=dict)
    #: The estate and the Alertmanager, for planned maintenance windows.
    maintenance: MaintenanceSetup = field(default_factory=MaintenanceSetup)
    #: The duty shifts and their handover; None without ``inspections.duty``.
    duty: DutySetup | None = None
    #: The QR labels: base URL, and the PDF's font (a path relative to the configuration
    #: resolved).
    labels: LabelSettings = field(default_factory=LabelSettings)

    def responsible(self, plan: ScheduledPlan, target: RoundTarget) -> tuple[str, ...]:
        """Everyone named as owner or deputy of this round (teams expanded)."""
        return self.roster.members(plan.owner_of(target)) + self.roster.members(
            plan.deputy_of(target)
        )

    def may_sign(self, person: Person, plan: ScheduledPlan, target: RoundTarget) -> bool:
        """Owner and deputy (or their team members) sign their rounds; a supervisor any."""
        return person.role == "supervisor" or person.id in self.responsible(plan, target)

    def started(self, first_seen: Mapping[str, float]) -> InspectionSetup:
        """This setup with each plan that has no configured ``start`` owing rounds from when
        it first appeared in the store (``first_seen``, plan id → Unix time)."""
        plans = {
            plan_id: replace(plan, start=first_seen[plan_id])
            if plan.start is None and plan_id in first_seen
            else plan
            for plan_id, plan in self.plans.items()
        }
        return replace(self, plans=plans)


def _read_token(person: Person, base: Path) -> str | None:
    if person.token_sha256 is not None:
        return None
    token: str | None = None
    if person.token_env is not None:
        token = os.environ.get(person.token_env)
        if not token:
            log.warning(
                "no token for %s: %s is not set, they cannot sign in", person.id, person.token_env
            )
            return None
    elif person.token_file is not None:
        path = Path(person.token_file).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            token = read_secret_file(path)
        except ValueError as exc:
            log.warning("no token for %s: %s", person.id, exc)
            return None
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        log.warning(
            "token of %s is shorter than %d characters and is ignored", person.id, MIN_TOKEN_LENGTH
        )
        return None
    return token


def build_roster(model: InspectionsConfig, base: Path, *, read_tokens: bool = True) -> Roster:
    """The roster; without ``read_tokens`` (read-only use) only ``token_sha256`` entries can
    sign in and nobody's token variable or file is read, or missed."""
    people = {p.id: p for p in model.roster}
    teams: dict[str, tuple[str, ...]] = {}
    for person in model.roster:
        if person.team is not None:
            teams[person.team] = (*teams.get(person.team, ()), person.id)
    by_hash: dict[str, str] = {}
    for person in model.roster:
        token = _read_token(person, base) if read_tokens else None
        digest = person.token_sha256 or (hash_token(token) if token else None)
        if digest is None:
            continue
        if digest in by_hash:
            # Two people with one token: neither could be told apart, so neither signs in.
            log.error("%s and %s share a token; both are refused", by_hash[digest], person.id)
            by_hash[digest] = ""
            continue
        by_hash[digest] = person.id
    return Roster(
        people,
        teams,
        {h: p for h, p in by_hash.items() if p},
        {t.id: t.label for t in model.teams},
    )


def build_setup(config: Config, *, sign_in: bool = True) -> InspectionSetup:
    """Resolve the inspections of a loaded configuration. Raises ConfigError. Without
    ``sign_in`` (commands that only read) the people's tokens are not looked for."""
    base = config.path.resolve().parent
    timezone = config.model.centre.timezone
    raw = INSPECTIONS.of(config)
    smap = config.source
    sites = {s.id: s for s in config.sites}
    model, problems = validate_inspections(
        raw, smap, assets=config.assets, sites=sites, timezone=timezone, base=base
    )
    if model is None or problems:
        raise ConfigError(problems)
    zone = ZoneInfo(timezone)
    plans: dict[str, ScheduledPlan] = {}
    for plan in model.plans:
        conditions = {
            item.id: parse_condition(item.check, model.metrics)
            for item in plan.checklist
            if isinstance(item, AutomatedItem)
        }
        live = {
            item.id: parse_selector(item.live.metric, model.metrics)
            for item in plan.checklist
            if isinstance(item, ReadingItem) and item.live is not None
        }
        plans[plan.id] = ScheduledPlan(
            plan,
            build_schedule(plan, zone),
            tuple(select_targets(plan.scope, config.assets, sites)),
            conditions,
            live,
            plan_start(plan, zone),
        )
    url = resolve_secret(model.store.url, base) if model.store.url else None
    data_dir = Path(config.model.server.data_dir).expanduser()
    labels = model.labels
    if labels.font is not None:
        font = Path(labels.font).expanduser()
        font = font if font.is_absolute() else base / font
        labels = labels.model_copy(update={"font": str(font)})
    return InspectionSetup(
        zone=zone,
        roster=build_roster(model, base, read_tokens=sign_in),
        plans=plans,
        store_url=url or None,
        data_dir=data_dir if data_dir.is_absolute() else base / data_dir,
        leader_interval=model.store.leader_interval.total_seconds(),
        centre=config.model.centre.name,
        site_names={s.id: f"{s.name} {s.name_en}" if s.name_en else s.name for s in config.sites},
        maintenance=build_maintenance_setup(config),
        duty=None if model.duty is None else build_duty_setup(model.duty, zone),
        labels=labels,
    )

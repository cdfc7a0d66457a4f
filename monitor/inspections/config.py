"""The ``inspections:`` section of monitor.yaml: the roster, the plans with their scope,
recurrence, due window, owner and checklist, and where records are stored.

``validate_inspections`` checks the section's shape (pydantic) and its cross-references
(people, teams, sites, assets, recurrence rules, due windows, check expressions) and reports
every problem as a ``Problem`` naming the file line, so ``monitor.config`` can list them with
its own. Example::

    inspections:
      store: {url: "${TRUNKWATCH_INSPECTIONS_DB:-}"}   # empty: SQLite under server.data_dir
      metrics: {vswr: trunkwatch_bs_vswr_ratio}       # aliases used as $vswr in checks
      roster:
        - {id: zhangwei, name: 张伟, name_en: Zhang Wei, team: radio, token_env: TW_TOKEN_ZHANGWEI}
        - {id: zhaomin, name: 赵敏, role: supervisor, token_sha256: 5e88…}
      teams:                                  # optional: how pages name a team (else "radio 组")
        - {id: radio, name: 无线组, name_en: Radio team}
      plans:
        - id: quarterly-vswr
          title: 天馈驻波比季检
          title_en: Quarterly antenna VSWR check
          scope: {per: asset, system: radio}
          recurrence: quarterly               # daily|weekly|monthly|quarterly|yearly|FREQ=…
          start: 2028-04-01                   # optional: no round due before it is owed
          due: {month: 1, day: 20}            # by the end of the 20th of the first month
          grace: 1d
          owner: radio                         # a person or a team
          deputy: zhaomin
          follow_up_within: 7d                 # a failed item's follow-up is due this long after
          checklist:
            - {id: vswr, kind: automated, title: 各载波驻波比 ≤ 1.5, check: "all $vswr <= 1.5"}
            - {id: vswr-meter, kind: reading, title: 驻波比实测, unit: "", accept: {le: 1.5},
               live: {metric: $vswr, tolerance: 0.1}}
            - {id: feeder, kind: confirmation, title: 馈线接头无松动、无进水, photo: optional}
            - {id: sweep, kind: confirmation, title: 天馈线扫频测试, offline: 30m, photo: required}
      labels: {base_url: "https://trunkwatch.centre.example"}   # what the QR labels open

An item with ``offline:`` takes the equipment off line: opening its round opens a planned
maintenance window on the round's asset or site for that long, and signing ends it. An item
with ``photo: required`` cannot be signed without a photo taken on the round page (``optional``:
photos may be added). ``labels.base_url`` is how the tablets reach this server: the QR labels
of ``trunkwatch inspections labels`` open ``BASE_URL/inspections/asset/ID``.

A plan owes the rounds due from its ``start`` (a date in the centre's time zone) on; without
one, from when it first appeared in the inspection store, so a new plan (or a new install)
does not begin with rounds overdue from before anyone kept them. ``starts`` is something else:
the first occurrence an RRULE counts from (its DTSTART), which may lie long before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol
from zoneinfo import ZoneInfo

from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    model_validator,
)

from monitor.config import resolve_secret
from monitor.core.sources import Problem, SourceMap, Strict, pydantic_problems, read_secret_file
from monitor.inspections.calendar import DueRule, Frequency, Schedule, parse_rrule
from monitor.inspections.checklist import parse_condition, parse_selector
from monitor.inspections.labels.settings import LabelSettings, check_base_url
from monitor.inspections.records import RoundTarget

__all__ = [
    "SYSTEM_NAMES",
    "AssetLike",
    "AutomatedItem",
    "ChecklistItem",
    "ConfirmationItem",
    "DueWindow",
    "DutySettings",
    "InspectionPlan",
    "InspectionsConfig",
    "LabelSettings",
    "Person",
    "ReadingItem",
    "Scope",
    "SiteLike",
    "Team",
    "build_schedule",
    "check_base_url",
    "plan_start",
    "select_targets",
    "validate_inspections",
]

#: The glossary's names of the systems, for rounds that cover a whole system.
SYSTEM_NAMES: dict[str, str] = {
    "radio": "无线集群系统 wireless trunking system",
    "line": "有线通信系统 wired communication system",
    "network": "计算机网络 computer network",
    "platform": "政府应急平台 government emergency platform",
    "power": "电源系统 power system",
}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: What an item's ``offline:`` may ask for: the bounds of a maintenance window.
MIN_OFFLINE, MAX_OFFLINE = timedelta(minutes=1), timedelta(days=7)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, None: 1.0}


def _duration(value: Any) -> timedelta:
    """'0', '30m', '2h', '1d', '2w' or a number of seconds → timedelta (zero allowed)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30m, 2h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    else:
        raise ValueError("expected a duration such as 30m, 2h or 1d")
    if seconds < 0:
        raise ValueError("must not be negative")
    return timedelta(seconds=seconds)


def _names(value: Any) -> Any:
    """A scope filter may name one value or a list of them."""
    return [value] if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
LabelName = Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]
MetricName = Annotated[str, Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
Names = Annotated[list[str], BeforeValidator(_names)]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class Person(Strict):
    """Someone on the roster. Their API/web token comes from exactly one source; only its
    SHA-256 is kept in memory."""

    id: Identifier
    name: Text
    name_en: str | None = None
    team: Identifier | None = None
    role: Literal["technician", "supervisor"] = "technician"
    token_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    token_file: str | None = None
    token_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None

    @model_validator(mode="after")
    def _one_token_source(self) -> Person:
        given = [self.token_env, self.token_file, self.token_sha256]
        if sum(x is not None for x in given) > 1:
            raise ValueError("give one of token_env, token_file, token_sha256")
        return self

    @property
    def label(self) -> str:
        return f"{self.name} {self.name_en}" if self.name_en else self.name


class Team(Strict):
    """How the pages name a team of the roster (the ``team`` its people share)."""

    id: Identifier
    name: Text
    name_en: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} {self.name_en}" if self.name_en else self.name


class Scope(Strict):
    """Which assets a plan covers, and whether a round is per asset, per site or per system."""

    per: Literal["asset", "site", "system"] = "asset"
    system: Names = Field(default_factory=list)
    kind: Names = Field(default_factory=list)
    site: Names = Field(default_factory=list)
    asset: Names = Field(default_factory=list)
    labels: dict[LabelName, str] = Field(default_factory=dict)


class DueWindow(Strict):
    """When a round is due inside its period; see calendar.DueRule."""

    after: Duration | None = None
    month: Annotated[int, Field(ge=1, le=12)] | None = None
    day: Annotated[int, Field(ge=1, le=31)] | None = None
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] | None = None
    time: Annotated[str, Field(pattern=r"^([01]?\d|2[0-3]):[0-5]\d$|^24:00$")] | None = None
    opens_before: Duration | None = None

    @property
    def minutes(self) -> int:
        if self.time is None:
            return 1440
        hours, minutes = self.time.split(":")
        return int(hours) * 60 + int(minutes)


class AcceptRange(Strict):
    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> AcceptRange:
        if all(v is None for v in (self.lt, self.le, self.gt, self.ge)):
            raise ValueError("give at least one of lt, le, gt, ge")
        return self


class LiveReading(Strict):
    """The live metric a reading is compared with, and how far apart they may be."""

    metric: str
    tolerance: Annotated[float, Field(ge=0)] | None = None
    tolerance_ratio: Annotated[float, Field(ge=0, le=1)] | None = None

    @model_validator(mode="after")
    def _one_tolerance(self) -> LiveReading:
        if (self.tolerance is None) == (self.tolerance_ratio is None):
            raise ValueError("give one of tolerance (absolute) or tolerance_ratio")
        return self


class _Item(Strict):
    id: Identifier
    title: Text
    title_en: str | None = None
    guide: str | None = None
    #: The item takes the equipment off line for about this long (a generator run, a
    #: battery discharge): opening the round opens a maintenance window on its target for
    #: this long, and signing it ends the window.
    offline: Duration | None = None
    #: Photos taken on the round page: ``required`` (no signature without one) or
    #: ``optional``; none when absent.
    photo: Literal["required", "optional"] | None = None


class AutomatedItem(_Item):
    kind: Literal["automated"]
    check: str


class ReadingItem(_Item):
    kind: Literal["reading"]
    unit: str = ""
    accept: AcceptRange
    live: LiveReading | None = None


class ConfirmationItem(_Item):
    kind: Literal["confirmation"]


ChecklistItem = Annotated[
    AutomatedItem | ReadingItem | ConfirmationItem, Field(discriminator="kind")
]
_ITEM_TAGS = frozenset({"automated", "reading", "confirmation"})


class Assignment(Strict):
    owner: Identifier
    deputy: Identifier | None = None


class InspectionPlan(Strict):
    id: Identifier
    title: Text
    title_en: str | None = None
    scope: Scope = Field(default_factory=Scope)
    recurrence: str
    #: The first occurrence of an RRULE (its DTSTART).
    starts: datetime | date | None = None
    #: From when rounds are owed (the day's start, in the centre's time zone): one due before
    #: it is not applicable (never overdue, never missed, not counted). None: from when the
    #: plan first appeared in the store.
    start: date | None = None
    due: DueWindow
    grace: Duration = timedelta(0)
    owner: Identifier
    deputy: Identifier | None = None
    by_site: dict[Identifier, Assignment] = Field(default_factory=dict)
    #: How long the follow-up (整改) a failed item opens has before it is overdue.
    follow_up_within: Duration = Field(default=timedelta(days=7), gt=timedelta(0))
    checklist: Annotated[list[ChecklistItem], Field(min_length=1)]

    @property
    def frequency(self) -> Frequency:
        text = self.recurrence.strip().lower()
        return Frequency(text) if text in _KEYWORDS else Frequency.RRULE

    def assignment(self, site: str) -> Assignment:
        """Owner and deputy for a target at ``site`` (a per-site override, else the plan's)."""
        return self.by_site.get(site) or Assignment(owner=self.owner, deputy=self.deputy)


_KEYWORDS = {f.value for f in Frequency if f is not Frequency.RRULE}


class StoreSettings(Strict):
    """``url``: empty for SQLite in ``server.data_dir``; ``sqlite:///PATH``;
    ``postgresql://…``. May be a ``${ENV}`` or ``file:PATH`` reference.
    ``leader_interval``: how often each instance sharing a PostgreSQL store tries the
    once-only leader lock, so the longest the work waits after its holder dies."""

    url: str | None = None
    leader_interval: Duration = Field(default=timedelta(seconds=30), gt=timedelta(0))


ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class DutySettings(Strict):
    """The duty shifts and their handover (交接班): when each shift begins (``HH:MM`` in the
    centre's time zone; a shift runs until the next one begins), how long before the change
    the outgoing technician may sign, how long after it both signatures are due, and who is
    told when they are not (a person or a team; default: the roster's supervisors)."""

    shifts: Annotated[list[ClockTime], Field(min_length=1, max_length=12)]
    sign_from: Duration = timedelta(hours=1)
    sign_within: Duration = Field(default=timedelta(minutes=30), gt=timedelta(0))
    supervisor: Identifier | None = None


class InspectionsConfig(Strict):
    store: StoreSettings = Field(default_factory=StoreSettings)
    labels: LabelSettings = Field(default_factory=LabelSettings)
    metrics: dict[Identifier, MetricName] = Field(default_factory=dict)
    roster: list[Person] = Field(default_factory=list)
    teams: list[Team] = Field(default_factory=list)
    plans: list[InspectionPlan] = Field(default_factory=list)
    duty: DutySettings | None = None


class AssetLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def site(self) -> str: ...
    @property
    def system(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def labels(self) -> Mapping[str, str]: ...


class SiteLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def name_en(self) -> str | None: ...


# -- schedules and targets -------------------------------------------------------------------


DEFAULT_RRULE_START = datetime(2024, 1, 1)


def build_schedule(plan: InspectionPlan, zone: ZoneInfo) -> Schedule:
    """The plan's Schedule. Raises ValueError for a bad RRULE."""
    due = plan.due
    rule = DueRule(
        minutes=due.minutes,
        after=due.after,
        month=due.month,
        day=due.day,
        weekday=WEEKDAYS.index(due.weekday) if due.weekday else None,
        opens_before=due.opens_before,
    )
    frequency = plan.frequency
    if frequency is Frequency.RRULE:
        starts = plan.starts or DEFAULT_RRULE_START
        if not isinstance(starts, datetime):
            starts = datetime(starts.year, starts.month, starts.day)
        if starts.tzinfo is not None:
            starts = starts.astimezone(zone).replace(tzinfo=None)
        return Schedule(
            frequency, zone, rule, plan.grace, rule=parse_rrule(plan.recurrence, starts)
        )
    return Schedule(frequency, zone, rule, plan.grace)


def plan_start(plan: InspectionPlan, zone: ZoneInfo) -> float | None:
    """The configured ``start`` as a Unix time: the local midnight that begins the day."""
    start = plan.start
    if start is None:
        return None
    return datetime(start.year, start.month, start.day, tzinfo=zone).timestamp()


def select_targets(
    scope: Scope, assets: Sequence[AssetLike], sites: Mapping[str, SiteLike]
) -> list[RoundTarget]:
    """The rounds a scope asks for: one per matching asset, site or system, in config order."""
    labels = scope.labels.items()
    chosen = [
        a
        for a in assets
        if (not scope.system or a.system in scope.system)
        and (not scope.kind or a.kind in scope.kind)
        and (not scope.site or a.site in scope.site)
        and (not scope.asset or a.id in scope.asset)
        and (not labels or all(a.labels.get(k) == v for k, v in labels))
    ]
    if scope.per == "asset":
        return [
            RoundTarget("asset", a.id, a.name or a.id, a.site, a.id, a.system, (a.id,))
            for a in chosen
        ]
    groups: dict[str, list[str]] = {}
    if scope.per == "site":
        only_sites = not (scope.system or scope.kind or scope.asset or scope.labels)
        for site_id in scope.site if only_sites else []:
            groups.setdefault(site_id, [])
        for a in chosen:
            groups.setdefault(a.site, []).append(a.id)
        out = []
        for site_id, members in groups.items():
            site = sites.get(site_id)
            name = site_id if site is None else site.name
            if site is not None and site.name_en:
                name += f" {site.name_en}"
            out.append(RoundTarget("site", site_id, name, site=site_id, assets=tuple(members)))
        return out
    for a in chosen:
        groups.setdefault(a.system, []).append(a.id)
    return [
        RoundTarget(
            "system", system, SYSTEM_NAMES.get(system, system), system=system, assets=tuple(members)
        )
        for system, members in groups.items()
    ]


# -- validation ------------------------------------------------------------------------------


def _not_a_discriminator(loc: list[str | int], part: str | int) -> bool:
    # pydantic names the checklist item's kind after its index; it is not a document key.
    return not (isinstance(part, str) and part in _ITEM_TAGS and loc and isinstance(loc[-1], int))


def _pydantic_problems(
    exc: ValidationError, smap: SourceMap, prefix: tuple[str | int, ...]
) -> Iterator[Problem]:
    return pydantic_problems(exc, smap, prefix, keep=_not_a_discriminator)


_DUE_FIELDS: dict[Frequency, tuple[set[str], set[str]]] = {
    # frequency: (required calendar fields, allowed calendar fields)
    Frequency.DAILY: (set(), {"time"}),
    Frequency.WEEKLY: ({"weekday"}, {"weekday", "time"}),
    Frequency.MONTHLY: ({"day"}, {"day", "time"}),
    Frequency.QUARTERLY: ({"day"}, {"month", "day", "time"}),
    Frequency.YEARLY: ({"month", "day"}, {"month", "day", "time"}),
    Frequency.RRULE: (set(), set()),
}

#: Periods that include the shortest month, a leap February and every quarter: a due window
#: that fits all of them fits every period of a fixed recurrence.
_PROBE_INSTANTS = [datetime(y, m, 15, 12) for y in (2027, 2028) for m in range(1, 13)]


def _check_due(
    plan: InspectionPlan, at: tuple[str | int, ...], smap: SourceMap, zone: ZoneInfo
) -> Iterator[Problem]:
    frequency = plan.frequency
    due = plan.due
    given = {f for f in ("month", "day", "weekday", "time") if getattr(due, f) is not None}
    if due.after is not None:
        if given:
            yield smap.problem((*at, "due"), "give either `after` or a calendar position, not both")
            return
    elif frequency is Frequency.RRULE:
        yield smap.problem((*at, "due"), "a plan with an RRULE is due `after` a duration")
        return
    else:
        required, allowed = _DUE_FIELDS[frequency]
        for name in sorted(given - allowed):
            yield smap.problem((*at, "due", name), f"not used by a {frequency} plan")
        for name in sorted(required - given):
            yield smap.problem((*at, "due"), f"a {frequency} plan needs `{name}`")
        if frequency is Frequency.QUARTERLY and due.month is not None and due.month > 3:
            yield smap.problem((*at, "due", "month"), "the month within the quarter: 1, 2 or 3")
            return
        if given - allowed or required - given:
            return
    if plan.starts is not None and frequency is not Frequency.RRULE:
        yield smap.problem(
            (*at, "starts"),
            "only an RRULE plan has a first occurrence; `start` says from when rounds are owed",
        )
    try:
        schedule = build_schedule(plan, zone)
    except ValueError as exc:
        yield smap.problem((*at, "recurrence"), str(exc))
        return
    if frequency is Frequency.RRULE:
        first = schedule.periods(0, float("inf"))
        probes = [next(first) for _ in range(60)]
    else:
        probes = [
            p
            for t in _PROBE_INSTANTS
            if (p := schedule.period_at(t.replace(tzinfo=zone).timestamp())) is not None
        ]
    for period in probes:
        if schedule.deadline(period) >= period.end:
            yield smap.problem(
                (*at, "grace" if plan.grace else "due"),
                f"due time plus grace reaches the end of period {period.key}: "
                "a round could never be overdue",
            )
            return
        if schedule.due(period) <= period.start:
            yield smap.problem((*at, "due"), "the due time must be after the period starts")
            return


def _check_plan(
    plan: InspectionPlan,
    at: tuple[str | int, ...],
    smap: SourceMap,
    *,
    zone: ZoneInfo,
    people: Mapping[str, Person],
    teams: set[str],
    site_ids: set[str],
    assets: Sequence[AssetLike],
    sites: Mapping[str, SiteLike],
    aliases: Mapping[str, str],
) -> Iterator[Problem]:
    text = plan.recurrence.strip()
    if text.lower() not in _KEYWORDS and not text.upper().removeprefix("RRULE:").startswith(
        "FREQ="
    ):
        yield smap.problem(
            (*at, "recurrence"),
            "expected daily, weekly, monthly, quarterly, yearly or an RRULE (FREQ=…)",
        )
    else:
        yield from _check_due(plan, at, smap, zone)

    def responsible(who: str | None, where: tuple[str | int, ...]) -> Iterator[Problem]:
        if who is not None and who not in people and who not in teams:
            yield smap.problem(where, f"no person or team {who!r} in inspections.roster")

    yield from responsible(plan.owner, (*at, "owner"))
    yield from responsible(plan.deputy, (*at, "deputy"))
    for site_id, assignment in plan.by_site.items():
        if site_id not in site_ids:
            yield smap.problem((*at, "by_site", site_id), f"no site {site_id!r}")
        yield from responsible(assignment.owner, (*at, "by_site", site_id, "owner"))
        yield from responsible(assignment.deputy, (*at, "by_site", site_id, "deputy"))

    asset_ids = {a.id for a in assets} if plan.scope.asset else set()
    for i, site_id in enumerate(plan.scope.site):
        if site_id not in site_ids:
            yield smap.problem((*at, "scope", "site", i), f"no site {site_id!r}")
    for i, asset_id in enumerate(plan.scope.asset):
        if asset_id not in asset_ids:
            yield smap.problem((*at, "scope", "asset", i), f"no asset {asset_id!r}")
    if not select_targets(plan.scope, assets, sites):
        yield smap.problem((*at, "scope"), "selects nothing to inspect")

    seen: set[str] = set()
    for j, item in enumerate(plan.checklist):
        where = (*at, "checklist", j)
        if item.offline is not None:
            if plan.scope.per == "system":
                yield smap.problem(
                    (*where, "offline"),
                    "a round per system takes no single asset or site off line: "
                    "scope the plan per asset or per site",
                )
            elif not MIN_OFFLINE <= item.offline <= MAX_OFFLINE:
                yield smap.problem((*where, "offline"), "between 1m and 7d")
        if item.id in seen:
            yield smap.problem((*where, "id"), f"duplicate item id {item.id!r}")
        seen.add(item.id)
        try:
            if isinstance(item, AutomatedItem):
                parse_condition(item.check, aliases)
            elif isinstance(item, ReadingItem) and item.live is not None:
                parse_selector(item.live.metric, aliases)
        except ValueError as exc:
            field = ("check",) if isinstance(item, AutomatedItem) else ("live", "metric")
            yield smap.problem((*where, *field), str(exc))


def _check_duty(
    duty: DutySettings,
    at: tuple[str | int, ...],
    smap: SourceMap,
    people: Mapping[str, Person],
    teams: set[str],
) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, text in enumerate(duty.shifts):
        if text in seen:
            yield smap.problem((*at, "shifts", i), f"shift {text} is given twice")
        seen.add(text)
    day = timedelta(days=1)
    if duty.sign_from >= day or duty.sign_within >= day:
        yield smap.problem(at, "sign_from and sign_within must each be under a day")
    if duty.supervisor is not None and duty.supervisor not in {*people, *teams}:
        yield smap.problem(
            (*at, "supervisor"), f"{duty.supervisor!r} is neither a person nor a team"
        )
    if duty.supervisor is None and not any(p.role == "supervisor" for p in people.values()):
        yield smap.problem(
            (*at, "supervisor"), "no supervisor on the roster: name who is told of late handovers"
        )


def validate_inspections(
    raw: Any,
    smap: SourceMap,
    path_prefix: tuple[str | int, ...] = ("inspections",),
    *,
    assets: Sequence[AssetLike] = (),
    sites: Mapping[str, SiteLike] | None = None,
    timezone: str = "Asia/Shanghai",
    base: Path | None = None,
) -> tuple[InspectionsConfig | None, list[Problem]]:
    """Validate the ``inspections:`` section against the sites and assets of the same file.

    Returns the model (None when its shape is wrong) and every problem found. ``base`` is the
    folder relative token files are read from (the configuration file's).
    """
    sites = sites or {}
    if raw is None:
        return InspectionsConfig(), []
    try:
        model = InspectionsConfig.model_validate(raw)
    except ValidationError as exc:
        return None, list(_pydantic_problems(exc, smap, path_prefix))
    problems: list[Problem] = []
    zone = ZoneInfo(timezone)

    people: dict[str, Person] = {}
    for i, person in enumerate(model.roster):
        if person.id in people:
            problems.append(
                smap.problem((*path_prefix, "roster", i, "id"), f"duplicate person {person.id!r}")
            )
        people.setdefault(person.id, person)
        if person.token_file is not None:
            path = Path(person.token_file).expanduser()
            if not path.is_absolute() and base is not None:
                path = base / path
            try:
                read_secret_file(path)
            except ValueError as exc:
                problems.append(smap.problem((*path_prefix, "roster", i, "token_file"), str(exc)))
    teams = {p.team for p in model.roster if p.team is not None}
    named: set[str] = set()
    for i, team in enumerate(model.teams):
        where = (*path_prefix, "teams", i, "id")
        if team.id in named:
            problems.append(smap.problem(where, f"team {team.id!r} is named twice"))
        elif team.id not in teams:
            problems.append(smap.problem(where, f"no one on the roster has team: {team.id}"))
        named.add(team.id)
    for i, person in enumerate(model.roster):
        if person.id in teams:
            problems.append(
                smap.problem(
                    (*path_prefix, "roster", i, "id"),
                    f"{person.id!r} is both a person and a team",
                )
            )

    if model.store.url:
        try:
            url = resolve_secret(model.store.url, base or Path.cwd())
        except ValueError as exc:
            problems.append(smap.problem((*path_prefix, "store", "url"), str(exc)))
        else:
            if url and not url.startswith(("sqlite:", "postgresql://", "postgres://")):
                problems.append(
                    smap.problem(
                        (*path_prefix, "store", "url"),
                        "expected sqlite:///PATH or postgresql://…",
                    )
                )

    if model.duty is not None:
        problems.extend(_check_duty(model.duty, (*path_prefix, "duty"), smap, people, teams))

    plan_ids: set[str] = set()
    for i, plan in enumerate(model.plans):
        at = (*path_prefix, "plans", i)
        if plan.id in plan_ids:
            problems.append(smap.problem((*at, "id"), f"duplicate plan id {plan.id!r}"))
        plan_ids.add(plan.id)
        problems.extend(
            _check_plan(
                plan,
                at,
                smap,
                zone=zone,
                people=people,
                teams=teams,
                site_ids=set(sites),
                assets=assets,
                sites=sites,
                aliases=model.metrics,
            )
        )
    return model, problems

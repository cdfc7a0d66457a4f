"""The probe contract: what a probe is given, what it returns, and how it fails.

A probe is a small object with one coroutine, ``run(target) -> ProbeResult``. It is built once
per configuration load from its validated parameters (so any expensive preparation, such as
resolving MIB names, happens at load time, never per poll) and then called every interval by
the scheduler.

A probe never lets a third-party exception escape: each protocol module converts its
library's errors into this tree, most specific first, ``raise … from exc``::

    ProbeError                      reason
    ├── ProbeTimeout                timeout          no answer within the probe timeout
    ├── Unreachable                 unreachable      no route, host down, parent link down
    │   └── ConnectionRefused       refused          the port is closed
    ├── AuthError                   auth             wrong community, v3 key, token …
    ├── MalformedReply              malformed        the peer answered something we cannot parse
    ├── NoSuchObject                no_such_object   the agent lacks what the profile asks for
    ├── ServiceUnavailable          unavailable      reachable, but says it cannot serve (503)
    ├── UnexpectedReply             unexpected       a well-formed answer that is not success
    └── ProbeConfigError            config           the probe's parameters are unusable

The ``reason`` values form the small, fixed set exported as
``trunkwatch_probe_failure_info{reason=…}``; anything that is not a ProbeError is recorded by
the scheduler as ``internal`` (a bug in a probe, logged with its traceback once).
"""

from __future__ import annotations

import ssl
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import is_, itemgetter
from typing import (
    Any,
    ClassVar,
    Literal,
    NamedTuple,
    Protocol,
    TypeVar,
    cast,
    overload,
    runtime_checkable,
)

from pydantic import BaseModel, ValidationError

from monitor.core.errors import TrunkwatchError

__all__ = [
    "REASONS",
    "AuthError",
    "ConnectionRefused",
    "Family",
    "MalformedReply",
    "NoSuchObject",
    "Probe",
    "ProbeConfigError",
    "ProbeError",
    "ProbeFactory",
    "ProbeParamsError",
    "ProbeResult",
    "ProbeTimeout",
    "Sample",
    "Samples",
    "SeriesKeys",
    "ServiceUnavailable",
    "Target",
    "UnexpectedReply",
    "Unreachable",
    "client_tls_context",
    "validate_params",
]


class ProbeError(TrunkwatchError):
    """A probe failed in a way worth recording; ``reason`` is one of REASONS.

    ``samples`` are the measurements of the failed run that are still true and must not vanish
    with the failure: an ICMP run that lost every echo measured a loss ratio of 1, a SIP trunk
    that answered 503 measured its response time. A failure is data (DESIGN §5).
    """

    reason: ClassVar[str] = "error"

    def __init__(self, *args: object, samples: Sequence[Sample] = ()) -> None:
        super().__init__(*args)
        self.samples: tuple[Sample, ...] = tuple(samples)


class ProbeTimeout(ProbeError):
    reason = "timeout"


class Unreachable(ProbeError):
    reason = "unreachable"


class ConnectionRefused(Unreachable):
    reason = "refused"


class AuthError(ProbeError):
    reason = "auth"


class MalformedReply(ProbeError):
    reason = "malformed"


class NoSuchObject(ProbeError):
    reason = "no_such_object"


class ServiceUnavailable(ProbeError):
    reason = "unavailable"


class UnexpectedReply(ProbeError):
    reason = "unexpected"


class ProbeConfigError(ProbeError):
    reason = "config"


#: Every value ``trunkwatch_probe_failure_info`` can carry in its ``reason`` label.
REASONS: tuple[str, ...] = (
    "timeout",
    "unreachable",
    "refused",
    "auth",
    "malformed",
    "no_such_object",
    "unavailable",
    "unexpected",
    "config",
    "error",
    "internal",
)

M = TypeVar("M", bound=BaseModel)

MetricType = Literal["gauge", "counter", "histogram"]


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family: its exposition name, type and help text.

    Families are created once (per probe module or profile) and shared by every sample, so a
    sample costs a pointer, not a copy of its help text. Counter names end in ``_total``.
    """

    name: str
    type: MetricType
    help: str
    #: The family describes the run rather than the device (varbinds fetched, bytes read), so
    #: its series carry the ``probe`` label: two probes of one asset never collide on them.
    per_probe: bool = False

    def __post_init__(self) -> None:
        if self.type == "counter" and not self.name.endswith("_total"):
            raise ValueError(f"counter family {self.name!r} must end in _total")

    def __hash__(self) -> int:
        # Families key the dictionaries every result is grouped by: the name's hash is cached
        # by the string, where the generated hash would hash all four fields each time.
        # Equal families have equal names, so this agrees with the generated equality.
        return hash(self.name)


class Sample(NamedTuple):
    """One value of one series. ``labels`` are the series' own labels, beyond the asset's.

    ``suffix`` is empty except for histogram parts (``_bucket``, ``_sum``, ``_count``).
    """

    family: Family
    value: float
    labels: tuple[tuple[str, str], ...] = ()
    suffix: str = ""


Labels = tuple[tuple[str, str], ...]

_FAMILY = itemgetter(0)
_VALUE = itemgetter(1)
_LABELS = itemgetter(2)
_SUFFIX = itemgetter(3)


class SeriesKeys:
    """What tells a result's samples apart, in order: each one's family, labels and suffix
    (``suffixes`` is None when none has one, as outside histograms). A job keeps one of these
    for all its results while their families and label tuples are the very same objects (a
    device's mappers hand out the same ones between label refreshes)."""

    __slots__ = ("families", "labels", "suffixes")

    def __init__(
        self,
        families: tuple[Family, ...],
        labels: tuple[Labels, ...],
        suffixes: tuple[str, ...] | None,
    ) -> None:
        self.families = families
        self.labels = labels
        self.suffixes = suffixes

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, SeriesKeys):
            return NotImplemented
        # Tuple comparison checks identity before equality, item by item, in C: the label
        # tuples of an unchanged device are the very same objects.
        return (
            self.labels == other.labels
            and self.families == other.families
            and self.suffixes == other.suffixes
        )

    __hash__ = None  # type: ignore[assignment]


class Samples(Sequence[Sample]):
    """A result's samples kept by column: their ``keys`` (the job's last result's, see
    ``share``) and their ``values``. A poll of a base station brings a few hundred samples;
    kept as ``Sample`` tuples each costs some 70 bytes more, which at 10,000 devices is about
    a sixth of the daemon's memory. Read as a sequence, it hands out ``Sample``s."""

    __slots__ = ("keys", "values")

    def __init__(self, samples: Iterable[Sample] = ()) -> None:
        rows = samples if isinstance(samples, list | tuple) else list(samples)
        suffixes: tuple[str, ...] | None = tuple(map(_SUFFIX, rows))
        if not any(suffixes):  # type: ignore[arg-type]
            suffixes = None
        self.keys = SeriesKeys(tuple(map(_FAMILY, rows)), tuple(map(_LABELS, rows)), suffixes)
        self.values: tuple[float, ...] = tuple(map(_VALUE, rows))

    @classmethod
    def of_columns(
        cls, families: Iterable[Family], values: Iterable[float], labels: Iterable[Labels]
    ) -> Samples:
        """Samples with no suffix, from their columns."""
        made = cls.__new__(cls)
        made.keys = SeriesKeys(tuple(families), tuple(labels), None)
        made.values = tuple(values)
        if not len(made.keys.families) == len(made.values) == len(made.keys.labels):
            raise ValueError("columns of different lengths")
        return made

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> Samples:
        """``samples`` as they are when they are kept by column already, else by column."""
        return samples if isinstance(samples, Samples) else cls(samples)

    @staticmethod
    def rows_of(samples: Iterable[Sample]) -> Iterable[tuple[Family, float, Labels, str]]:
        """Any samples as tuples of ``Sample``'s fields: by column (``rows``) when they are
        kept so, else as they are (a ``Sample`` is such a tuple)."""
        return samples.rows() if isinstance(samples, Samples) else samples

    def share(self, keys: SeriesKeys) -> bool:
        """Whether these samples have the series ``keys`` tell apart, one by one. If their
        families and label tuples are the very objects of ``keys`` (a device's mappers hand out
        the same ones poll after poll), they keep ``keys`` from now on and their own go; if
        they are only equal (a label refresh made them again), they keep their own, so that
        the tuples from before the refresh can go."""
        mine = self.keys
        if mine is keys:
            return True
        if (
            len(mine.labels) == len(keys.labels)
            and all(map(is_, mine.labels, keys.labels))
            and all(map(is_, mine.families, keys.families))
            and mine.suffixes == keys.suffixes
        ):
            self.keys = keys
            return True
        return mine == keys

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self) -> Iterator[Sample]:
        return map(Sample._make, self.rows())

    def rows(self) -> Iterator[tuple[Family, float, Labels, str]]:
        """The samples as plain tuples, their fields in ``Sample``'s order: for a reader that
        goes through every sample of every result, without making a ``Sample`` of each."""
        keys, values = self.keys, self.values
        suffixes = keys.suffixes if keys.suffixes is not None else repeat("", len(values))
        return zip(keys.families, values, keys.labels, suffixes, strict=False)

    @overload
    def __getitem__(self, index: int) -> Sample: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Sample, ...]: ...

    def __getitem__(self, index: int | slice) -> Sample | tuple[Sample, ...]:
        if isinstance(index, slice):
            return tuple(self)[index]
        keys = self.keys
        suffix = keys.suffixes[index] if keys.suffixes is not None else ""
        return Sample(keys.families[index], self.values[index], keys.labels[index], suffix)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Samples):
            return self.values == other.values and self.keys == other.keys
        if isinstance(other, tuple | list):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Samples({list(self)!r})"


@dataclass(slots=True)
class ProbeResult:
    """What one successful run of a probe saw.

    ``partial`` names the parts of the run that failed while the rest succeeded (an SNMP
    subtree the agent would not serve, one of several SIP transports), each with a reason from
    REASONS; the samples of the parts that worked are kept.
    """

    samples: Sequence[Sample] = field(default_factory=list)
    partial: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Target:
    """Where and with what a probe runs: the asset's address and resolved credentials.

    ``secrets`` holds resolved secret values (community strings, keys); it is never logged and
    its repr hides the values. ``charset`` is how the device's text that is not UTF-8 is read
    (the asset's ``charset``; None: the probe's default).
    """

    asset: str
    host: str
    port: int | None = None
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    charset: str | None = None

    def secret(self, name: str) -> str | None:
        return self.secrets.get(name)


@runtime_checkable
class Probe(Protocol):
    """One configured check, ready to run against a target."""

    async def run(self, target: Target) -> ProbeResult: ...


class ProbeFactory(Protocol):
    """A probe module's entry point: validate parameters and build a Probe.

    ``params`` is the probe's mapping from the configuration without the scheduling keys
    (``module``, ``name``, ``interval``, ``timeout``). It raises ``ProbeParamsError`` listing
    every bad key at once.
    """

    def __call__(self, params: Mapping[str, Any], *, timeout: float) -> Probe: ...


class ProbeParamsError(ValueError):
    """Bad probe parameters: a list of (dotted key inside the probe's mapping, reason)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{key}: {reason}" for key, reason in problems))


def client_tls_context(ca_file: str | None, verify: bool) -> ssl.SSLContext:
    """A TLS client context for probes: the system's (or ``ca_file``'s) trust, or no
    verification at all when a probe is told to check reachability of a self-signed service."""
    context = ssl.create_default_context(cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


#: Validated parameters of frozen models, by model and the ``repr`` of the parameters, for as
#: long as a probe holds them. The jobs of one kind mostly share their parameters (the 30,000
#: SNMP probes of 10,000 base stations have a few), so they share one object (about 1 KiB
#: each) and are validated once. The shared object is frozen; its lists must not be changed.
_VALIDATED: weakref.WeakValueDictionary[tuple[type[BaseModel], str], BaseModel] = (
    weakref.WeakValueDictionary()
)
#: The types of YAML's scalars, which ``_plain`` takes as they are (not their subclasses).
_ATOMS = frozenset({str, int, float, bool, type(None)})


def _plain(value: object) -> bool:
    """Whether ``value`` is made of what YAML gives (text, numbers, booleans, null, lists and
    mappings by text of them), whose ``repr`` tells any two apart (``1``, ``"1"`` and ``True``
    too). Checked by exact type: with the ``repr``, no longer than a validation takes."""
    if type(value) in _ATOMS:
        return True
    if type(value) is list:
        return all(map(_plain, value))
    if type(value) is dict:
        return all(type(k) is str for k in value) and all(map(_plain, value.values()))
    return False


def validate_params(model: type[M], params: Mapping[str, Any]) -> M:
    """Validate a probe's parameters with its pydantic model, every problem at once.

    A frozen model's parameters are validated once while a probe holds them: the same
    parameters again give the same object."""
    key: tuple[type[BaseModel], str] | None = None
    given = dict(params)
    if model.model_config.get("frozen") and _plain(given):
        key = (model, repr(sorted(given.items())))
        kept = _VALIDATED.get(key)
        if kept is not None:
            return cast(M, kept)
    try:
        parsed = model.model_validate(given)
    except ValidationError as exc:
        problems = [
            (".".join(str(part) for part in err["loc"]) or "(probe)", err["msg"])
            for err in exc.errors(include_url=False)
        ]
        raise ProbeParamsError(problems) from exc
    if key is not None:
        _VALIDATED[key] = parsed
    return parsed

"""The scrape path: Prometheus text exposition of every result, kept current as results arrive.

``Exposition`` keeps, per metric family, the text lines of every job, re-rendered only when
that job's result changes, and packed when they are long (``monitor.exposition.packed``: a
quarter of the memory, and a gzip scrape sends them as they are kept); a scrape joins
prepared parts. Rendering through prometheus-client costs ~20 µs per sample at every scrape,
which at 10,000 assets × 50 samples every 15 s would take most of a core; this costs a join
(and, for a scrape in text, inflating the packed parts).
``render_results`` is the same path for a handful of results (``trunkwatch probe``), so the
desk sees what Prometheus scrapes.

A repeated series is refused (the first holder keeps it) and counted in ``duplicates``.

A device's next poll brings the same series in the same order (its profile's mappers hand out
the same label tuples poll after poll), so what comes before each value on a line (the sample
name, the asset's labels, the series' own, and whether it repeats an earlier series) is worked
out once per job and kept as its ``_Shape``; a result of the same shape only formats its values.
"""

from __future__ import annotations

import logging
import math
from array import array
from collections import Counter
from collections.abc import Iterable
from itertools import accumulate
from typing import Any

from monitor.exposition.families import (
    STANDARD_FAMILIES,
    Series,
    inventory_series,
    result_series,
    standard_series,
)
from monitor.exposition.packed import Part, pack, unpack
from monitor.inventory import Inventory, Job, render_labels
from monitor.results import JobKey, Result, ResultStore
from probes.base import Family, Samples

__all__ = ["Exposition", "format_value", "render_results", "result_lines"]

log = logging.getLogger(__name__)


def format_value(value: float) -> str:
    if isinstance(value, int) and abs(value) < 2**53:
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


#: Integers print as themselves up to here (``format_value``); the common case of a device
#: value, formatted without a call.
_EXACT_INT = 2**53


def _line(name: str, labels: str, value: float) -> str:
    return f"{name}{{{labels}}} {format_value(value)}\n"


def _series_key(line: str) -> str:
    """``name{labels}`` of an exposition line: what identifies its series."""
    return line[: line.rindex(" ")]


def result_lines(result: Result, refused: Counter[str] | None = None) -> dict[Family, list[str]]:
    """The exposition lines of one result, by family, each series once.

    A repeated series (a table whose rows decode to the same labels, a profile included twice)
    keeps its first value; the repeats are counted in ``refused`` by family name.
    """
    out: dict[Family, list[str]] = {}
    _add_lines(result.job.asset.label_text, result_series(result), out, refused)
    return out


def _add_lines(
    asset_labels: str,
    series: Iterable[Series],
    out: dict[Family, list[str]],
    refused: Counter[str] | None,
) -> None:
    seen: set[str] = set()
    for family, name, labels, value in series:
        text = f"{asset_labels},{render_labels(labels)}" if labels else asset_labels
        key = f"{name}{{{text}}}"
        if key in seen:
            if refused is not None:
                refused[family.name] += 1
            continue
        seen.add(key)
        out.setdefault(family, []).append(f"{key} {format_value(value)}\n")


_STANDARD_NAMES = frozenset(f.name for f in STANDARD_FAMILIES)


def _value_text(v: Any) -> str:
    return str(v) if v.__class__ is int and -_EXACT_INT < v < _EXACT_INT else format_value(v)


class _Shape:
    """The series of one job's samples, as its last result rendered them.

    Its families (``families``, in order of first appearance) each have the text of their
    series (``texts``, packed when long), and in one array for the whole shape (``places``)
    where in that text each value goes: for the n kept samples of a family, one after another,
    the position of each in the result (``places[b + j]``), the length of its line up to the
    value (``places[b + n + j]``) and the length of its whole line (``places[b + 2n + j]``),
    where ``b`` is three times the samples of the families before (``sizes``). The text before a
    value is read back from the last rendering rather than kept apart, and where each line
    starts is summed from the lengths when a result is rendered: a job's shape costs twelve
    bytes a series and a few objects, whatever its families. Its series are the last
    result's ``keys``, shared with it; of its values it keeps the last result's.

    ``refused`` holds the repeats dropped (None when there are none), counted again each time
    a result of this shape is rendered (as ``result_lines`` counts). A value of the same type
    and equal to the last one has the same line: runs of them are copied whole.
    """

    __slots__ = (
        "clash",
        "families",
        "job",
        "keys",
        "places",
        "refused",
        "sizes",
        "texts",
        "values",
    )

    def __init__(self, job: Job, samples: Samples) -> None:
        self.job = job
        keys, values = samples.keys, samples.values
        families = keys.families
        suffixes = keys.suffixes if keys.suffixes is not None else ("",) * len(values)
        #: A sample of one of the run's own families (success, duration …): its series may
        #: repeat one that depends on the result, so such results take the general path.
        self.clash = any(f.name in _STANDARD_NAMES for f in set(families))
        refused: Counter[str] = Counter()
        self.keys, self.values = keys, values
        asset_labels = job.asset.label_text
        probe = (("probe", job.name),)
        seen: set[str] = set()
        lines: dict[Family, list[str]] = {}
        #: Per family: positions, heads and lengths, as ``places`` keeps them.
        places: dict[Family, tuple[list[int], list[int], list[int]]] = {}
        for i, (family, own, suffix) in enumerate(
            zip(families, keys.labels, suffixes, strict=True)
        ):
            if family.per_probe:
                own = (*probe, *own)
            text = f"{asset_labels},{render_labels(own)}" if own else asset_labels
            key = f"{family.name}{suffix}{{{text}}}"
            if key in seen:
                refused[family.name] += 1
                continue
            seen.add(key)
            place = places.get(family)
            if place is None:
                place = places[family] = ([], [], [])
                lines[family] = []
            line = f"{key} {_value_text(values[i])}\n"
            place[0].append(i)
            place[1].append(len(key) + 1)
            place[2].append(len(line))
            lines[family].append(line)
        self.refused: Counter[str] | None = refused or None
        self.families: tuple[Family, ...] = tuple(places)
        self.sizes: array[int] = array("I", [len(place[0]) for place in places.values()])
        self.places: array[int] = array("I")
        for place in places.values():
            for part in place:
                self.places.extend(part)
        self.texts: list[Part] = [pack("".join(lines[family])) for family in self.families]

    def fits(self, job: Job, samples: Samples) -> bool:
        """Whether ``samples`` have the families, labels and suffixes of the last result, one
        by one (``Samples.share``: they take the last result's keys when they hold the very
        same objects). The shape then holds their keys: after a label refresh, the new label
        tuples rather than the old."""
        if job is not self.job or not samples.share(self.keys):
            return False
        self.keys = samples.keys
        return True

    def rendered(self) -> dict[Family, Part]:
        """The text of each family as last rendered (``pack``ed)."""
        return dict(zip(self.families, self.texts, strict=True))

    def render(self, samples: Samples) -> dict[Family, Part]:
        """The text of each family for ``samples``, a result of this shape (``pack``ed). A
        family none of whose values changed keeps its text as it is, unread."""
        previous, self.values = self.values, samples.values
        values = samples.values
        out: dict[Family, Part] = {}
        exact = _EXACT_INT
        places, texts = self.places, self.texts
        base = 0  # where the current family's part of ``places`` starts
        for g, (family, n) in enumerate(zip(self.families, self.sizes, strict=True)):
            text: str | None = None  # read (unpacked) at the first changed value
            heads, lengths = base + n, base + 2 * n  # where they start in ``places``
            starts = array("q", accumulate(places[lengths : lengths + n], initial=0))
            parts: list[str] = []
            append = parts.append
            run = -1  # where the current run of unchanged lines starts in ``text``
            for j, i in enumerate(places[base:heads]):
                v: Any = values[i]
                last = previous[i]
                if v is last or (v.__class__ is last.__class__ and v == last):
                    if run < 0:
                        run = starts[j]
                    continue
                if text is None:
                    text = unpack(texts[g])
                start = starts[j]
                if run >= 0:
                    append(text[run:start])
                    run = -1
                head = text[start : start + places[heads + j]]
                if v.__class__ is int and -exact < v < exact:
                    line = f"{head}{v}\n"
                else:
                    line = f"{head}{format_value(v)}\n"
                places[lengths + j] = len(line)
                append(line)
            base += 3 * n
            if text is None:
                out[family] = texts[g]
                continue
            if run >= 0:
                append(text[run : starts[-1]])
            texts[g] = out[family] = pack("".join(parts))
        return out


def _inventory_lines(inventory: Inventory) -> dict[Family, list[str]]:
    out: dict[Family, list[str]] = {}
    for family, name, labels, value in inventory_series(inventory):
        out.setdefault(family, []).append(_line(name, render_labels(labels), value))
    return out


def _header(family: Family) -> str:
    help_text = family.help.replace("\\", "\\\\").replace("\n", "\\n")
    return f"# HELP {family.name} {help_text}\n# TYPE {family.name} {family.type}\n"


_NO_NAMES: frozenset[str] = frozenset()


class _NameSets:
    """Sets of family names, each kept once: the jobs of one kind hold the same families, so
    30,000 jobs share a few dozen sets instead of a list each."""

    __slots__ = ("_sets",)

    #: Beyond this many distinct sets a new one is no longer kept for sharing.
    LIMIT = 4096

    def __init__(self) -> None:
        self._sets: dict[frozenset[str], frozenset[str]] = {}

    def get(self, names: Iterable[str]) -> frozenset[str]:
        made = frozenset(names)
        kept = self._sets.get(made)
        if kept is not None:
            return kept
        if len(self._sets) < self.LIMIT:
            self._sets[made] = made
        return made


class Exposition:
    """Prometheus text exposition of every result, kept current as results arrive."""

    def __init__(self, store: ResultStore) -> None:
        #: Per family name: the family and each holder's text (``pack``ed).
        self._families: dict[str, tuple[Family, dict[JobKey | str, Part]]] = {}
        #: The names of the families each job holds lines of, one set shared by every job of
        #: the same families (``_NameSets``).
        self._of_job: dict[JobKey, frozenset[str]] = {}
        self._name_sets = _NameSets()
        #: Asset id → its jobs holding lines of any family. Two jobs of one asset holding
        #: the same family are the only place a series can repeat: only then are its lines
        #: compared.
        self._asset_jobs: dict[str, list[JobKey]] = {}
        self._static_names: list[str] = []
        self._conflicts: set[str] = set()
        #: Series refused as duplicates, by family name, since start.
        self.duplicates: Counter[str] = Counter()
        self._warned: set[tuple[JobKey, str]] = set()
        self._shapes: dict[JobKey, _Shape] = {}
        store.subscribe(self._on_result)

    def set_inventory(self, inventory: Inventory) -> None:
        for name in self._static_names:
            self._drop(name, "inventory")
        self._static_names = []
        for family, lines in _inventory_lines(inventory).items():
            self._add(family, "inventory", "".join(lines))
            self._static_names.append(family.name)

    def _drop(self, name: str, owner: JobKey | str) -> None:
        entry = self._families.get(name)
        if entry is not None:
            entry[1].pop(owner, None)
            if not entry[1]:
                del self._families[name]

    def _refuse_held(
        self, key: JobKey, name: str, lines: list[str], others: list[JobKey]
    ) -> list[str]:
        """``lines`` less the series another job of the same asset (``others``) holds."""
        texts = self._families[name][1] if name in self._families else {}
        held = {
            _series_key(line)
            for other in others
            for line in unpack(texts.get(other, "")).splitlines(keepends=True)
        }
        kept = [line for line in lines if _series_key(line) not in held]
        if len(kept) < len(lines):
            self.duplicates[name] += len(lines) - len(kept)
            if (key, name) not in self._warned:
                self._warned.add((key, name))
                log.warning(
                    "duplicate series refused asset=%s probe=%s family=%s held_by=%s",
                    key[0],
                    key[1],
                    name,
                    ",".join(o[1] for o in others),
                )
        return kept

    def _add(self, family: Family, owner: JobKey | str, text: Part) -> None:
        if isinstance(text, str):
            text = pack(text)
        entry = self._families.get(family.name)
        if entry is None:
            self._families[family.name] = (family, {owner: text})
        else:
            if entry[0].type != family.type:
                # Two probes disagree on a family's type; keep the first, count the clash.
                self._conflicts.add(family.name)
                return
            entry[1][owner] = text

    def _on_result(self, key: JobKey, result: Result | None) -> None:
        old = self._of_job.pop(key, _NO_NAMES)
        names: list[str] = []
        jobs = self._asset_jobs.get(key[0])
        if result is not None:
            # The asset's other jobs holding anything: a family's series may repeat theirs.
            others = [j for j in jobs if j != key] if jobs else []
            # Replacing in place keeps each job's series where they were in their family.
            for family, text in self._result_texts(key, result).items():
                name = family.name
                if others and not family.per_probe:
                    text = self._unique_text(key, name, text, others)
                    if not text:
                        continue
                self._add(family, key, text)
                names.append(name)
        else:
            self._shapes.pop(key, None)
        held = self._name_sets.get(names)
        if held:
            self._of_job[key] = held
            if jobs is None:
                self._asset_jobs[key[0]] = [key]
            elif key not in jobs:
                jobs.append(key)
        elif jobs is not None and key in jobs:
            jobs.remove(key)
            if not jobs:
                del self._asset_jobs[key[0]]
        for name in old.difference(held):
            self._drop(name, key)

    def _unique_text(self, key: JobKey, name: str, text: Part, others: list[JobKey]) -> Part:
        """``text`` less the series the asset's ``others`` jobs hold; the text itself when
        none of them holds the family (the usual case), so it is not split."""
        of_job = self._of_job
        holders = [o for o in others if name in of_job.get(o, _NO_NAMES)]
        if not holders:
            return text
        lines = unpack(text).splitlines(keepends=True)
        return "".join(self._refuse_held(key, name, lines, holders))

    def _result_texts(self, key: JobKey, result: Result) -> dict[Family, Part]:
        """The text of each family of ``result``: what ``result_lines(result,
        self.duplicates)`` joins to, from the job's shape when it fits."""
        samples, job = Samples.of(result.samples), result.job
        out: dict[Family, list[str]] = {}
        shape = self._shapes.get(key)
        if shape is not None and shape.fits(job, samples):
            texts = shape.render(samples)
        else:
            shape = self._shapes[key] = _Shape(job, samples)
            texts = shape.rendered()
        if shape.clash:
            out = result_lines(result, self.duplicates)
            return {family: "".join(lines) for family, lines in out.items()}
        _add_lines(job.asset.label_text, standard_series(result), out, self.duplicates)
        if shape.refused:
            self.duplicates.update(shape.refused)
        return {**{family: "".join(lines) for family, lines in out.items()}, **texts}

    def render(self) -> str:
        return "".join(map(unpack, self.render_parts()))

    def render_parts(self) -> list[Part]:
        """What ``render`` joins, family by family, some of it packed (``unpack`` reads it):
        taken at once, so a scrape can write the parts out while results keep arriving,
        without a copy of the whole body."""
        parts: list[Part] = []
        for name in sorted(self._families):
            family, texts = self._families[name]
            parts.append(_header(family))
            parts.extend(texts.values())
        return parts

    @property
    def conflicts(self) -> set[str]:
        return set(self._conflicts)


def render_results(results: Iterable[Result]) -> str:
    """The exposition the daemon would serve for these results, through the same path."""
    store = ResultStore()
    exposition = Exposition(store)
    for result in results:
        store.put(result)
    return exposition.render()

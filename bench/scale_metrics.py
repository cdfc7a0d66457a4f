"""What the scale bench reads from the daemon: its poll counters, lag histogram and full
garbage collections from a /metrics body, quantiles and growth between fleet sizes, a py-spy
profile's shares, and the report's cells.
Pure functions over text, so they are unit-tested apart (tests/unit/test_bench_scale.py)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.processes import REPO

__all__ = [
    "DaemonCounters",
    "bound_cell",
    "growth",
    "histogram_quantile",
    "largest_bound",
    "ms_cell",
    "py_spy_summary",
    "track_cell",
]

#: A sample line of the scheduler's series, of probe_success or of the collector's pauses:
#: name, labels, value (a label value may hold braces: they are skipped inside quotes).
_SERIES = re.compile(
    rb"^(trunkwatch_scheduler_\w+|trunkwatch_probe_success|trunkwatch_gc_pause_seconds_(?:sum|count))"
    rb'(?:\{((?:[^"}\n]|"(?:[^"\\\n]|\\.)*")*)\})? (\S+)$',
    re.MULTILINE,
)
#: py-spy's ":LINE)" at the end of a frame, so that a function's lines count together.
_PY_SPY_LINE = re.compile(r":\d+\)$")
#: Frames on every stack of the daemon's main thread.
_PY_SPY_TRUNK = re.compile(r"\((asyncio/|<frozen runpy>|monitor/cli/|threading\.py|concurrent/)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


# -- reading the daemon's metrics -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DaemonCounters:
    """What the daemon says about its polls in one /metrics body."""

    runs: dict[str, float]
    skipped: float
    #: Cumulative lag buckets: (upper bound, observations at or below it), +Inf last.
    lag_buckets: tuple[tuple[float, float], ...]
    jobs: float
    results: int
    failing: int
    #: The full (generation 2) garbage collections, and the seconds they held the process.
    full_collections: float = 0.0
    full_collection_s: float = 0.0

    @classmethod
    def parse(cls, body: bytes) -> DaemonCounters:
        runs: dict[str, float] = {}
        skipped = jobs = 0.0
        buckets: dict[float, float] = {}
        results = failing = 0
        full: dict[str, float] = {}
        for match in _SERIES.finditer(body):
            name, labels, value = match.group(1).decode(), match.group(2), float(match.group(3))
            pairs = dict(_LABEL.findall(labels.decode())) if labels else {}
            if name == "trunkwatch_probe_success":
                results += 1
                failing += value == 0
            elif name == "trunkwatch_scheduler_runs_total":
                runs[pairs["outcome"]] = runs.get(pairs["outcome"], 0.0) + value
            elif name == "trunkwatch_scheduler_skipped_runs_total":
                skipped += value
            elif name == "trunkwatch_scheduler_lag_seconds_bucket":
                buckets[float(pairs["le"])] = value
            elif name == "trunkwatch_scheduler_jobs":
                jobs = value
            elif name.startswith("trunkwatch_gc_pause_seconds_") and pairs.get("generation") == "2":
                full[name.rsplit("_", 1)[1]] = value
        return cls(
            runs,
            skipped,
            tuple(sorted(buckets.items())),
            jobs,
            results,
            failing,
            full.get("count", 0.0),
            full.get("sum", 0.0),
        )

    def minus(self, before: DaemonCounters) -> DaemonCounters:
        """The counters' growth since ``before`` (the gauges as they are now)."""
        earlier = dict(before.lag_buckets)
        return DaemonCounters(
            {k: v - before.runs.get(k, 0.0) for k, v in self.runs.items()},
            self.skipped - before.skipped,
            tuple((le, n - earlier.get(le, 0.0)) for le, n in self.lag_buckets),
            self.jobs,
            self.results,
            self.failing,
            self.full_collections - before.full_collections,
            self.full_collection_s - before.full_collection_s,
        )


def ms_cell(seconds: float | None) -> str:
    return "-" if seconds is None or math.isnan(seconds) else f"{seconds * 1e3:.1f}"


def bound_cell(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    return "> 30 s" if math.isinf(seconds) else f"≤ {seconds * 1e3:g}"


def track_cell(track: Sequence[tuple[float, float]]) -> str:
    """The daemon's RSS after the window's first scrape and after its last."""
    return f"{track[0][1]:.0f}→{track[-1][1]:.0f}" if track else "-"


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float:
    """The q-quantile (0 < q < 1) of cumulative ``(upper bound, count)`` buckets, +Inf last,
    interpolated linearly inside its bucket as Prometheus's ``histogram_quantile`` does (the
    first bucket starts at 0; a quantile in the +Inf bucket is the largest finite bound).
    NaN without observations."""
    if not buckets or buckets[-1][1] <= 0:
        return math.nan
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if math.isinf(upper):
                return lower
            if count == below:
                return upper
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return lower


def largest_bound(buckets: Sequence[tuple[float, float]]) -> float:
    """The smallest bucket bound at or below which every observation lies: the histogram's
    word on the largest one (+Inf when some exceed every finite bound; NaN when empty)."""
    if not buckets or buckets[-1][1] <= 0:
        return math.nan
    total = buckets[-1][1]
    return next(upper for upper, count in buckets if count >= total)


def growth(
    sizes: Sequence[float], values: Sequence[float]
) -> list[tuple[float, float, float] | None]:
    """For each size after the first: (size ratio, value ratio, exponent), where the exponent
    log(value ratio) / log(size ratio) is 1 for linear growth, 2 for quadratic, 0 for flat;
    None where either value is missing, zero or negative."""
    out: list[tuple[float, float, float] | None] = []
    for i in range(1, len(sizes)):
        a, b = values[i - 1], values[i]
        n = sizes[i] / sizes[i - 1]
        if not (a > 0 and b > 0) or math.isnan(a) or math.isnan(b) or n == 1:
            out.append(None)
            continue
        out.append((n, b / a, math.log(b / a) / math.log(n)))
    return out


def py_spy_summary(path: Path, top: int = 15) -> dict[str, Any]:
    """Shares of the daemon's busy samples by function: its own time (the innermost frame)
    and its inclusive time (anywhere on the stack, leaving out the frames every stack runs
    through: the interpreter, asyncio's loop, the command). Samples waiting in the event
    loop's ``select`` are idle and counted apart."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = idle = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = [_PY_SPY_LINE.sub(")", f.replace(str(REPO) + "/", "")) for f in stack.split(";")]
        frames = [f for f in frames if " (" in f]
        if not frames:
            continue
        n = int(count)
        if frames[-1].endswith("(selectors.py)"):
            idle += n
            continue
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            if not _PY_SPY_TRUNK.search(frame):
                inclusive[frame] += n
    return {
        "busy_samples": total,
        "idle_samples": idle,
        "own": [(c / total, f) for f, c in own.most_common(top)] if total else [],
        "inclusive": [(c / total, f) for f, c in inclusive.most_common(top)] if total else [],
    }

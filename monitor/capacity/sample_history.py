"""``SampleHistory``: hourly traffic from the monitor's own polls, a rolling window of counter
readings for a centre without Prometheus (the daemon keeps one and re-analyses it hourly)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.capacity.busy_hours import HourlyTraffic
from monitor.capacity.forecasting import SiteTraffic
from monitor.capacity.history import (
    HOUR_S,
    GroupSystem,
    MeasuredGroup,
    Objectives,
    Progress,
    call_count,
    local_hour_floor,
    plan_from_counts,
)
from monitor.results import JobKey, Result
from probes.base import Sample, Samples

__all__ = ["SampleHistory"]

#: Counter fields kept per asset, in this order.
_FIELDS = ("channel_seconds", "attempts", "queued", "blocked", "queue_wait_seconds")
_RADIO_COUNTERS = {
    "trunkwatch_bs_channel_seconds_total": 0,
    "trunkwatch_bs_calls_total": 1,
    "trunkwatch_bs_calls_queued_total": 2,
    "trunkwatch_bs_calls_blocked_total": 3,
    "trunkwatch_bs_queue_wait_seconds_total": 4,
}
_LINE_COUNTERS = {
    "trunkwatch_trunk_channel_seconds_total": 0,
    "trunkwatch_trunk_calls_total": 1,
    "trunkwatch_trunk_calls_blocked_total": 3,
}
_NAN = float("nan")


@dataclass(slots=True)
class _AssetWindow:
    """One asset's counters, unwrapped across resets, interpolated at local hour boundaries."""

    system: GroupSystem
    site: str
    asset: str
    title: str
    last_t: float | None = None
    last_raw: list[float] = field(default_factory=lambda: [_NAN] * len(_FIELDS))
    total: list[float] = field(default_factory=lambda: [0.0] * len(_FIELDS))
    #: Unwrapped counter values at local hour boundaries (epoch seconds), oldest first.
    boundaries: dict[int, tuple[float, ...]] = field(default_factory=dict)
    units: int | None = None
    channels: int | None = None

    def hours(self, first: int, last: int) -> Iterator[tuple[int, tuple[float, ...]]]:
        """``(hour start, counter increases)`` for every whole hour in ``[first, last)``."""
        for b, at_start in self.boundaries.items():
            if b < first or b >= last:
                continue
            at_end = self.boundaries.get(b + HOUR_S)
            if at_end is not None:
                yield b, tuple(e - s for s, e in zip(at_start, at_end, strict=True))


class SampleHistory:
    """A rolling window of counter readings from the monitor's own polls: the traffic history
    of a centre without Prometheus.

    Only what hourly traffic needs is kept: each asset's counters at every local hour boundary,
    interpolated between the two readings around it when they are at most ``max_gap_s`` apart
    (a reading exactly on a boundary is used whatever the gap), for ``retention``. Counter
    resets (a device reboot) are unwrapped as Prometheus' ``increase()`` does. Memory is about
    24 × 6 floats per asset per day retained.

    Feed it with ``observe(result)`` (or make it a ``ResultStore`` listener, ``on_result``);
    results of the ``trunked_bs`` and ``trunk_gateway`` profiles are used, others ignored.
    """

    def __init__(
        self,
        *,
        timezone: str = "Asia/Shanghai",
        objectives: Objectives | None = None,
        retention: timedelta = timedelta(days=400),
        max_gap_s: float = 600.0,
        titles: Mapping[str, str] | None = None,
    ) -> None:
        if retention <= timedelta(0):
            raise ValueError("retention must be positive")
        if max_gap_s <= 0:
            raise ValueError("max_gap_s must be positive")
        self.tz = ZoneInfo(timezone)
        self.objectives = objectives or Objectives()
        self.retention_s = retention.total_seconds()
        self.max_gap_s = float(max_gap_s)
        #: Display names by site id (radio) or asset id (trunk groups).
        self.titles: dict[str, str] = dict(titles or {})
        self._assets: dict[str, _AssetWindow] = {}
        # Jobs whose first successful run carried no traffic counters (an if_mib poll, an
        # ICMP probe …): their later runs are not scanned sample by sample again.
        self._unrelated: set[tuple[str, str, str]] = set()

    # -- input -----------------------------------------------------------------------------

    def on_result(self, key: JobKey, result: Result | None) -> None:
        """A ``ResultStore`` listener: ``store.subscribe(history.on_result)``."""
        if result is not None:
            self.observe(result)

    def observe(self, result: Result) -> None:
        """Take the counters of one probe run (failed runs carry none and are skipped)."""
        if not result.success:
            return
        job = result.job
        identity = (*job.key, job.fingerprint)
        if identity in self._unrelated:
            return
        asset = job.asset
        if not self.observe_samples(
            site=asset.site,
            asset=asset.id,
            t=result.finished_at,
            samples=result.samples,
            title=asset.name,
        ):
            self._unrelated.add(identity)

    def observe_samples(
        self, *, site: str, asset: str, t: float, samples: Iterable[Sample], title: str = ""
    ) -> bool:
        """Take one reading of an asset's samples at epoch time ``t``; False when they hold no
        traffic counters."""
        radio = [_NAN] * len(_FIELDS)
        line = [_NAN] * len(_FIELDS)
        carriers = tch = None
        spans = trunk_channels = 0
        # Read by column when kept so: no Sample made per sample.
        for family, value, _, _ in Samples.rows_of(samples):
            name = family.name
            if name in _RADIO_COUNTERS:
                radio[_RADIO_COUNTERS[name]] = float(value)
            elif name in _LINE_COUNTERS:
                line[_LINE_COUNTERS[name]] = float(value)
            elif name == "trunkwatch_bs_carriers":
                carriers = int(value)
            elif name == "trunkwatch_bs_traffic_channels":
                tch = int(value)
            elif name == "trunkwatch_e1_channels":
                spans += 1
                trunk_channels += int(value)
        if not math.isnan(radio[0]):
            self.record(
                system="radio",
                site=site,
                asset=asset,
                t=t,
                counters=radio,
                units=carriers,
                channels=tch,
                title=title,
            )
        elif not math.isnan(line[0]):
            self.record(
                system="line",
                site=site,
                asset=asset,
                t=t,
                counters=line,
                units=spans or None,
                channels=trunk_channels or None,
                title=title,
            )
        else:
            return False
        return True

    def record(
        self,
        *,
        system: GroupSystem,
        site: str,
        asset: str,
        t: float,
        counters: Sequence[float],
        units: int | None = None,
        channels: int | None = None,
        title: str = "",
    ) -> None:
        """One reading of ``counters`` (in ``_FIELDS`` order, NaN where not measured)."""
        window = self._assets.get(asset)
        if window is None or window.system != system or window.site != site:
            window = self._assets[asset] = _AssetWindow(system, site, asset, title or asset)
        if units is not None:
            window.units = units
        if channels is not None:
            window.channels = channels
        raw = [float(v) for v in counters]
        last_t = window.last_t
        if last_t is not None and t <= last_t:
            return  # out of order or repeated: the window only moves forward
        if last_t is None:
            delta = [_NAN] * len(_FIELDS)
        else:
            # A counter that went down was reset (the device rebooted): it counted `raw` since.
            delta = [
                (r if r < p else r - p) if not (math.isnan(r) or math.isnan(p)) else _NAN
                for r, p in zip(raw, window.last_raw, strict=True)
            ]
        previous = list(window.total)
        window.total = [
            p + d if not math.isnan(d) else p for p, d in zip(previous, delta, strict=True)
        ]
        # Boundaries in (last_t, t], inserted oldest first: every stored one is <= last_t.
        found: list[tuple[int, tuple[float, ...]]] = []
        b = local_hour_floor(t, self.tz)
        if b == t:
            # On a boundary: the counters there are known whatever came before.
            known = [
                tot if not math.isnan(r) else _NAN for tot, r in zip(window.total, raw, strict=True)
            ]
            found.append((b, tuple(known)))
            b -= HOUR_S
        if last_t is not None and t - last_t <= self.max_gap_s:
            gap = t - last_t
            while b > last_t:
                frac = (b - last_t) / gap
                found.append((b, tuple(p + frac * d for p, d in zip(previous, delta, strict=True))))
                b -= HOUR_S
        for boundary, values in reversed(found):
            window.boundaries[boundary] = values
        window.last_t = t
        window.last_raw = raw
        self._prune(window, t)

    def _prune(self, window: _AssetWindow, now: float) -> None:
        oldest = now - self.retention_s
        while window.boundaries:
            first = next(iter(window.boundaries))
            if first >= oldest:
                return
            del window.boundaries[first]

    # -- output ----------------------------------------------------------------------------

    async def fetch(
        self, start: datetime, end: datetime, *, progress: Progress | None = None
    ) -> list[MeasuredGroup]:
        groups = self.groups(start, end)
        if progress is not None:
            progress(1, 1, "rolling window")
        return groups

    def groups(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[MeasuredGroup]:
        """The measured groups, hours starting in ``[start, end)`` (default: all retained).

        Radio sites first, then trunk groups, each by name. A radio site sums its base
        stations; a trunk group is one gateway. Groups whose channel plan was never read are
        left out: without it there is no capacity to compare with.
        """
        first = -(2**62) if start is None else round(start.timestamp())
        last = 2**62 if end is None else round(end.timestamp())
        by_group: dict[tuple[GroupSystem, str], list[_AssetWindow]] = defaultdict(list)
        for window in self._assets.values():
            key = window.site if window.system == "radio" else window.asset
            by_group[(window.system, key)].append(window)
        out = []
        for (system, name), windows in sorted(
            by_group.items(), key=lambda kv: (kv[0][0] != "radio", kv[0][1])
        ):
            units = sum(w.units or 0 for w in windows) or None
            channels = sum(w.channels or 0 for w in windows) or None
            plan = plan_from_counts(system, units, channels)
            if plan is None:
                continue
            sums: dict[int, list[float]] = {}
            for window in windows:
                for b, increase in window.hours(first, last):
                    acc = sums.setdefault(b, [0.0] * len(_FIELDS))
                    for i, value in enumerate(increase):
                        acc[i] += value  # NaN propagates: that field was not measured
            hours = []
            waits: dict[datetime, float] = {}
            for b in sorted(sums):
                values = sums[b]
                if math.isnan(values[0]):
                    continue
                start_dt = datetime.fromtimestamp(b, self.tz)
                hours.append(
                    HourlyTraffic(
                        start_dt,
                        max(0.0, values[0] / HOUR_S),
                        attempts=call_count(values[1]),
                        queued=call_count(values[2]),
                        blocked=call_count(values[3]),
                    )
                )
                if system == "radio" and not math.isnan(values[4]):
                    waits[start_dt] = max(0.0, values[4])
            site = windows[0].site
            title = self.titles.get(name) or (windows[0].title if system == "line" else name)
            traffic = SiteTraffic(name, plan, self.objectives.for_system(system), tuple(hours))
            assets = tuple(sorted(w.asset for w in windows))
            out.append(MeasuredGroup(system, site, assets, title, traffic, waits))
        return out

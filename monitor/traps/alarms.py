"""The trap receiver's state: counts per (asset, trap), drops per reason, and the alarms traps
raise until their clearing trap or the end of their hold; exported at scrape time by a
prometheus-client collector::

    trunkwatch_snmp_traps_received_total{site,asset,system,kind,trap}
    trunkwatch_snmp_trap_last_received_timestamp_seconds{site,asset,system,kind,trap}
    trunkwatch_snmp_traps_dropped_total{reason}   unknown_source | bad_community | malformed |
                                                  auth | over_budget
    trunkwatch_snmp_trap_alarm{site,asset,system,kind,alarm,severity,trap[,<instance>]} 1
    trunkwatch_snmp_trap_alarms_refused_total

The series of an asset also carry the process's ``replica`` and ``member`` (in a cluster), as
its polled series do: both replicas of a pair receive each trap.

``trap`` on an alarm names the trap that raised it last. Its instance label is the one its
mapping names (``index`` for interfaces, ``line`` for E1 lines, ``carrier`` for carriers), never
``instance``, which Prometheus sets on every target.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.core.clock import Clock, SystemClock
from monitor.traps.sources import TrapSource
from probes.snmp.codec import OID, format_oid
from probes.snmp.profiles import TrapRule

__all__ = ["DROP_REASONS", "OTHER_TRAP", "ActiveAlarm", "TrapBook"]

#: Why a datagram was dropped: the fixed values of trunkwatch_snmp_traps_dropped_total{reason}.
DROP_REASONS: Final = ("unknown_source", "bad_community", "malformed", "auth", "over_budget")
#: The trap label of unmapped trap OIDs beyond ``max_trap_oids``.
OTHER_TRAP: Final = "other"


@dataclass(slots=True)
class _TrapCount:
    count: int = 0
    last_seen: float = 0.0


@dataclass(frozen=True, slots=True)
class ActiveAlarm:
    """An alarm raised by a trap; ``expires_at`` is on the monotonic clock."""

    asset: str
    alarm: str
    severity: str
    instance_label: str
    instance: str
    trap: str
    raised_at: float
    expires_at: float


_RECEIVED = ("trunkwatch_snmp_traps_received", "Notifications received, by asset and trap.")
_LAST = (
    "trunkwatch_snmp_trap_last_received_timestamp_seconds",
    "Unix time of the last notification received, by asset and trap.",
)
_DROPPED = (
    "trunkwatch_snmp_traps_dropped",
    "Datagrams dropped by the trap receiver, by reason (unknown_source, bad_community, "
    "malformed, auth).",
)
_ALARM = (
    "trunkwatch_snmp_trap_alarm",
    "1 while an alarm raised by a trap is active (until its clearing trap, or its hold ends).",
)
_REFUSED = (
    "trunkwatch_snmp_trap_alarms_refused",
    "Alarm raises refused because max_alarms alarms were already active.",
)


class TrapBook:
    """Counts per (asset, trap), drops per reason, and the active alarms; exported by a
    prometheus-client Collector at scrape time. Expired alarms are swept when read."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.sources: dict[str, TrapSource] = {}
        self.counts: dict[tuple[str, str], _TrapCount] = {}
        self.dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)
        self.refused = 0
        # (asset, alarm) → instance → alarm: a clear without instance ends every instance.
        self._alarms: dict[tuple[str, str], dict[str, ActiveAlarm]] = {}
        self._alarm_count = 0
        self._unmapped: set[str] = set()
        self.collector = _TrapCollector(self)

    # -- counting --------------------------------------------------------------------------

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1

    def trap_label(self, oid: OID, rule: TrapRule | None, cap: int) -> str:
        if rule is not None:
            return rule.name
        text = format_oid(oid)
        if text in self._unmapped:
            return text
        if len(self._unmapped) < cap:
            self._unmapped.add(text)
            return text
        return OTHER_TRAP

    def count(self, asset: str, trap: str) -> None:
        entry = self.counts.get((asset, trap))
        if entry is None:
            entry = self.counts[(asset, trap)] = _TrapCount()
        entry.count += 1
        entry.last_seen = self.clock.time()

    # -- alarms ----------------------------------------------------------------------------

    def raise_alarm(
        self,
        asset: str,
        rule: TrapRule,
        instance: str,
        hold: float,
        max_alarms: int,
    ) -> bool:
        """Raise (or refresh) the rule's alarm; False when refused for lack of room."""
        assert rule.raises is not None
        assert rule.severity is not None
        now = self.clock.monotonic()
        instances = self._alarms.setdefault((asset, rule.raises), {})
        if instance not in instances and self._alarm_count >= max_alarms:
            self.sweep()
            if self._alarm_count >= max_alarms:
                self.refused += 1
                if not instances:
                    del self._alarms[(asset, rule.raises)]
                return False
        if instance not in instances:
            self._alarm_count += 1
        previous = instances.get(instance)
        instances[instance] = ActiveAlarm(
            asset=asset,
            alarm=rule.raises,
            severity=rule.severity,
            instance_label=rule.instance_label,
            instance=instance,
            trap=rule.name,
            raised_at=previous.raised_at if previous else self.clock.time(),
            expires_at=now + hold,
        )
        return True

    def clear_alarm(self, asset: str, alarm: str, instance: str | None) -> int:
        """End the alarm's instance (every instance when None); returns how many ended."""
        instances = self._alarms.get((asset, alarm))
        if not instances:
            return 0
        if instance is None:
            ended = len(instances)
            instances.clear()
        else:
            ended = 1 if instances.pop(instance, None) is not None else 0
        if not instances:
            del self._alarms[(asset, alarm)]
        self._alarm_count -= ended
        return ended

    def sweep(self) -> None:
        """Forget alarms whose hold has ended."""
        now = self.clock.monotonic()
        for key in list(self._alarms):
            instances = self._alarms[key]
            for instance in [i for i, a in instances.items() if a.expires_at <= now]:
                del instances[instance]
                self._alarm_count -= 1
            if not instances:
                del self._alarms[key]

    def active_alarms(self) -> list[ActiveAlarm]:
        """The alarms active now, by asset, alarm and instance."""
        self.sweep()
        return sorted(
            (a for instances in self._alarms.values() for a in instances.values()),
            key=lambda a: (a.asset, a.alarm, a.instance),
        )

    # -- sources ---------------------------------------------------------------------------

    def set_sources(self, sources: Iterable[TrapSource]) -> None:
        """Assets known now; counters and alarms of assets no longer configured are dropped."""
        self.sources = {s.asset: s for s in sources}
        for key in [k for k in self.counts if k[0] not in self.sources]:
            del self.counts[key]
        for key in [k for k in self._alarms if k[0] not in self.sources]:
            self._alarm_count -= len(self._alarms.pop(key))

    # -- exposition ------------------------------------------------------------------------

    def families(self) -> Iterator[Metric]:
        received = CounterMetricFamily(*_RECEIVED)
        last = GaugeMetricFamily(*_LAST)
        for (asset, trap), entry in sorted(self.counts.items()):
            source = self.sources.get(asset)
            if source is None:
                continue
            labels = {**source.labels, "trap": trap}
            received.add_sample(f"{_RECEIVED[0]}_total", labels, entry.count)
            last.add_sample(_LAST[0], labels, entry.last_seen)
        dropped = CounterMetricFamily(*_DROPPED, labels=("reason",))
        for reason in DROP_REASONS:
            dropped.add_metric([reason], self.dropped[reason])
        alarm = Metric(_ALARM[0], _ALARM[1], "gauge")
        for active in self.active_alarms():
            source = self.sources.get(active.asset)
            if source is None:
                continue
            labels = source.labels
            labels["alarm"] = active.alarm
            labels["severity"] = active.severity
            labels["trap"] = active.trap
            if active.instance:
                labels[active.instance_label] = active.instance
            alarm.add_sample(_ALARM[0], labels, 1)
        refused = CounterMetricFamily(*_REFUSED, value=self.refused)
        yield from (received, last, dropped, alarm, refused)


class _TrapCollector(Collector):
    def __init__(self, book: TrapBook) -> None:
        self._book = book

    def describe(self) -> Iterator[Metric]:
        # Names only, so registering never reads (or sweeps) the state.
        yield CounterMetricFamily(*_RECEIVED)
        yield GaugeMetricFamily(*_LAST)
        yield CounterMetricFamily(*_DROPPED)
        yield Metric(_ALARM[0], _ALARM[1], "gauge")
        yield CounterMetricFamily(*_REFUSED)

    def collect(self) -> Iterator[Metric]:
        return self._book.families()

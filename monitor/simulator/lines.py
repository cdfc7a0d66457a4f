"""Wired lines (有线通信): an E1 trunk gateway with DS1-MIB line status, 15-minute performance
counters and Erlang-B call traffic on its 30-channel spans, and SIP trunk endpoints whose
OPTIONS answer (200, 503 or silence, after a delay) a SIP responder serves.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from enum import Enum, IntFlag

from monitor.simulator.device import Device, IfType, Interface
from monitor.simulator.signals import DailyProfile, key_of, unit_noise
from monitor.simulator.traffic import CallEngine, OfferedTraffic

__all__ = [
    "CHANNELS_PER_E1",
    "INTERVAL_S",
    "E1Alarm",
    "E1Gateway",
    "E1Span",
    "GatewaySpec",
    "IntervalCounters",
    "LineStatus",
    "SipAnswer",
    "SipState",
    "SipTrunk",
    "SipTrunkSpec",
]

CHANNELS_PER_E1 = 30
INTERVAL_S = 900
#: Consecutive severely errored seconds after which a line is declared unavailable (G.826).
_UNAVAILABLE_AFTER_S = 10


class LineStatus(IntFlag):
    """DS1-MIB dsx1LineStatus bits."""

    NO_ALARM = 1
    RCV_FAR_END_LOF = 2
    XMT_FAR_END_LOF = 4
    RCV_AIS = 8
    XMT_AIS = 16
    LOSS_OF_FRAME = 32
    LOSS_OF_SIGNAL = 64
    LOOPBACK = 128


class E1Alarm(Enum):
    """Faults a span can be given, and the dsx1LineStatus bits each sets.

    A loss of signal also loses framing, so LOS reads 96 (LOS + LOF), as framers report it.
    """

    LOS = "los"
    LOF = "lof"
    AIS = "ais"
    RAI = "rai"

    @property
    def status_bits(self) -> LineStatus:
        return _ALARM_BITS[self]

    @property
    def takes_channels(self) -> bool:
        """Whether the span's channels leave service (all but a far-end alarm)."""
        return self is not E1Alarm.RAI


_ALARM_BITS = {
    E1Alarm.LOS: LineStatus.LOSS_OF_SIGNAL | LineStatus.LOSS_OF_FRAME,
    E1Alarm.LOF: LineStatus.LOSS_OF_FRAME,
    E1Alarm.AIS: LineStatus.RCV_AIS,
    E1Alarm.RAI: LineStatus.RCV_FAR_END_LOF,
}


@dataclass(frozen=True, slots=True)
class IntervalCounters:
    """dsx1CurrentTable values for the running 15-minute interval."""

    es: int = 0
    ses: int = 0
    sefs: int = 0
    uas: int = 0
    css: int = 0
    pcv: int = 0
    les: int = 0
    bes: int = 0
    dm: int = 0
    lcv: int = 0


@dataclass(slots=True)
class _AlarmEpisode:
    alarm: E1Alarm
    start: float
    end: float | None = None


@dataclass(slots=True)
class E1Span:
    """One 2.048 Mbit/s E1 (CRC-4 multiframe, HDB3), 30 voice channels."""

    index: int
    circuit_id: str
    seed_key: int
    episodes: list[_AlarmEpisode] = field(default_factory=list)
    status_changed_at: float = 0.0

    def active_alarms(self) -> set[E1Alarm]:
        return {e.alarm for e in self.episodes if e.end is None}

    @property
    def line_status(self) -> int:
        bits = LineStatus(0)
        for alarm in self.active_alarms():
            bits |= alarm.status_bits
        return int(bits) if bits else int(LineStatus.NO_ALARM)

    @property
    def in_service(self) -> bool:
        return not any(a.takes_channels for a in self.active_alarms())

    def set_alarm(self, alarm: E1Alarm, active: bool, t: float) -> None:
        if active and alarm not in self.active_alarms():
            self.episodes.append(_AlarmEpisode(alarm, t))
            self.status_changed_at = t
        elif not active:
            for episode in self.episodes:
                if episode.alarm is alarm and episode.end is None:
                    episode.end = t
                    self.status_changed_at = t
        # Episodes that ended before the running interval no longer count anywhere.
        floor = math.floor(t / INTERVAL_S) * INTERVAL_S
        self.episodes = [e for e in self.episodes if e.end is None or e.end > floor]

    def interval_counters(self, t: float) -> IntervalCounters:
        """Counters of the 15-minute interval containing ``t``, up to ``t``."""
        start = math.floor(t / INTERVAL_S) * INTERVAL_S
        interval = int(start // INTERVAL_S)
        elapsed = t - start
        # Background errors: a few errored seconds now and then, placed reproducibly in the
        # interval, so the same instant always reads the same counts.
        key = self.seed_key
        mean_es = 0.6
        u = (unit_noise(key, interval) + 1.0) / 2.0
        n_es, p, cdf = 0, math.exp(-mean_es), math.exp(-mean_es)
        while u > cdf and n_es < 20:
            n_es += 1
            p *= mean_es / n_es
            cdf += p
        es = ses = pcv = lcv = 0
        for i in range(n_es):
            offset = (unit_noise(key + 1, interval * 31 + i) + 1.0) / 2.0 * INTERVAL_S
            if offset > elapsed:
                continue
            es += 1
            errors = 1 + int((unit_noise(key + 2, interval * 31 + i) + 1.0) * 12)
            pcv += errors
            lcv += errors + 1
            if errors > 22:
                ses += 1
        sefs = uas = alarm_es = 0
        for episode in self.episodes:
            if not episode.alarm.takes_channels:
                continue
            begin = max(episode.start, start)
            end = min(t if episode.end is None else episode.end, t)
            seconds = int(max(0.0, end - begin))
            if seconds <= 0:
                continue
            sefs += seconds
            total = (episode.end if episode.end is not None else t) - episode.start
            if total >= _UNAVAILABLE_AFTER_S:
                # Ten consecutive SES declare unavailability, back-dated to the first of them;
                # ES and SES are not counted while unavailable.
                uas += seconds
            else:
                alarm_es += seconds
        les = es + (alarm_es if any(e.alarm is E1Alarm.LOS for e in self.episodes) else 0)
        return IntervalCounters(
            es=min(es + alarm_es, INTERVAL_S),
            ses=min(ses + alarm_es, INTERVAL_S),
            sefs=min(sefs, INTERVAL_S),
            uas=min(uas, INTERVAL_S),
            css=0,
            pcv=pcv,
            les=min(les, INTERVAL_S),
            bes=0,
            dm=0,
            lcv=lcv,
        )


@dataclass(frozen=True, slots=True)
class GatewaySpec:
    """One E1 trunk gateway: its spans and the calls offered to them (a loss system)."""

    asset_id: str
    name: str
    spans: int = 1
    busy_hour_erlangs: float = 10.2
    mean_hold_s: float = 95.0
    growth_per_week: float = 0.0
    location: str = ""
    parent: str | None = None
    parent_port: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.spans <= 4:
            raise ValueError("spans must be 1–4")


class E1Gateway(Device):
    """An E1 trunk gateway for the 110 hotline: spans, trunk-group traffic and IF-MIB rows.

    ifIndex 1..n are the spans (dsx1LineIndex equals ifIndex); ifIndex n+1 its Ethernet port.
    Calls hunt spans in ascending order; a span in LOS/LOF/AIS takes its 30 channels out of
    the trunk group and cuts off the calls it carried.
    """

    kind = "e1_gateway"

    def __init__(
        self, spec: GatewaySpec, *, start: float, seed: int, profile: DailyProfile
    ) -> None:
        super().__init__(
            spec,
            start=start,
            seed=seed,
            profile=profile,
            descr=f"E1 trunk gateway, {spec.spans} x E1 CRC-4 MF, trunkwatch simulator",
        )
        self.spec = spec
        self.spans = [
            E1Span(i, f"{spec.asset_id}/E1-{i}", key_of(self.seed_key, "span", i), [], start)
            for i in range(1, spec.spans + 1)
        ]
        self.offered = OfferedTraffic(
            spec.busy_hour_erlangs,
            spec.mean_hold_s,
            profile,
            growth_per_week=spec.growth_per_week,
            growth_epoch=start,
        )
        self.engine = CallEngine(
            [CHANNELS_PER_E1] * spec.spans,
            self.offered,
            rng=random.Random(key_of(self.seed_key, "calls")),
            start=start,
            queue_timeout_s=0.0,
            hunting="sequential",
        )
        self.interfaces = [
            Interface.create(
                span.index,
                f"E1 {span.index - 1}/0",
                f"e1-{span.index - 1}/0",
                alias=span.circuit_id,
                if_type=IfType.DS1,
                mtu=0,
                speed_bps=2_048_000,
                busy_utilisation=0.3,
                out_in_ratio=1.0,
                seed_key=self.seed_key,
                start=start,
            )
            for span in self.spans
        ]
        self.interfaces.append(
            Interface.create(
                spec.spans + 1,
                "GigabitEthernet0/0",
                "ge0/0",
                alias="management",
                seed_key=self.seed_key,
                start=start,
                busy_utilisation=0.001,
            )
        )

    def _advance(self, t: float) -> None:
        self.engine.advance(t)
        self._advance_interfaces(t)

    def _on_service_change(self, t: float) -> None:
        self._apply_spans(t)

    def _apply_spans(self, t: float) -> None:
        self.engine.set_in_service(self.answering, t)
        for span in self.spans:
            channels = CHANNELS_PER_E1 if span.in_service and self.answering else 0
            self.engine.set_group_capacity(span.index - 1, channels, t)
            self.interfaces[span.index - 1].link_up = span.in_service

    def span(self, index: int) -> E1Span:
        if not 1 <= index <= len(self.spans):
            raise ValueError(f"{self.asset_id} has spans 1–{len(self.spans)}, not {index}")
        return self.spans[index - 1]

    def set_alarm(self, index: int, alarm: E1Alarm, active: bool, t: float) -> None:
        self.advance(t)
        span = self.span(index)
        span.set_alarm(alarm, active, t)
        self.mark_link_change(self.interfaces[index - 1])
        self._apply_spans(t)

    def set_surge(self, multiplier: float, t: float) -> None:
        if multiplier <= 0:
            raise ValueError("surge multiplier must be positive")
        self.advance(t)
        self.offered.surge = multiplier
        self.engine.reschedule(t)

    def reboot(self, t: float) -> None:
        super().reboot(t)
        self.engine.reset_counters()

    # -- readings --------------------------------------------------------------------------

    @property
    def time_elapsed(self) -> int:
        """dsx1TimeElapsed: seconds into the running 15-minute interval (0–899)."""
        return int(self.now % INTERVAL_S)

    @property
    def valid_intervals(self) -> int:
        """Complete intervals since the gateway booted, at most the 96 kept."""
        first = math.ceil(self.boot_time / INTERVAL_S) * INTERVAL_S
        return max(0, min(96, int((self.now - first) // INTERVAL_S)))

    def span_busy(self, index: int) -> int:
        return self.engine.group_busy(index - 1)

    def span_available(self, index: int) -> int:
        return self.engine.group_capacity(index - 1)

    def status_last_change_ticks(self, span: E1Span) -> int:
        return int(max(0.0, span.status_changed_at - self.boot_time) * 100) % (1 << 32)


class SipState(Enum):
    """What a SIP trunk endpoint does with an OPTIONS request."""

    OK = "ok"
    UNAVAILABLE = "503"
    SILENT = "silent"


@dataclass(frozen=True, slots=True)
class SipAnswer:
    """The endpoint's answer to one OPTIONS: status code and how long it takes to send it."""

    status: int
    reason: str
    delay_s: float


@dataclass(frozen=True, slots=True)
class SipTrunkSpec:
    asset_id: str
    name: str
    response_delay_s: float = 0.02
    location: str = ""
    parent: str | None = None
    parent_port: int | None = None


class SipTrunk(Device):
    """A SIP trunk endpoint (a carrier's SBC or a dedicated hotline's PBX).

    It has no SNMP agent; the SIP responder asks ``answer()`` what to send for each OPTIONS.
    """

    kind = "sip_trunk"

    def __init__(
        self, spec: SipTrunkSpec, *, start: float, seed: int, profile: DailyProfile
    ) -> None:
        super().__init__(
            spec,
            start=start,
            seed=seed,
            profile=profile,
            descr="SIP trunk endpoint, trunkwatch simulator",
        )
        self.spec = spec
        self.state = SipState.OK
        self.extra_delay_s = 0.0
        self._requests = 0

    def answer(self) -> SipAnswer | None:
        """The answer to the next OPTIONS, or ``None`` when the endpoint stays silent."""
        if not self.answering or self.state is SipState.SILENT:
            return None
        self._requests += 1
        jitter = (unit_noise(self.seed_key, self._requests) + 1.0) / 2.0
        delay = self.spec.response_delay_s * (0.75 + 0.5 * jitter) + self.extra_delay_s
        if self.state is SipState.UNAVAILABLE:
            return SipAnswer(503, "Service Unavailable", delay)
        return SipAnswer(200, "OK", delay)

    def set_state(self, state: SipState, t: float) -> None:
        self.advance(t)
        self.state = state

    def set_extra_delay(self, seconds: float, t: float) -> None:
        if seconds < 0:
            raise ValueError("delay must be >= 0")
        self.advance(t)
        self.extra_delay_s = seconds

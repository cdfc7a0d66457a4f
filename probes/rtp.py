"""Passive RTP voice-quality analysis: per-stream loss, jitter, reordering and an E-model MOS.

Packets come from a pcap/pcapng file (``trunkwatch rtp analyze``) or, as the ``rtp`` probe, from
a capture window on an interface fed by a mirror port; scapy does the link, IP and UDP
dissection there (VLAN tags, cooked captures, IPv6), the RTP header itself is read with
``struct``. Statistics follow RFC 3550 appendix A: extended highest sequence number, expected
versus received, and the interarrival jitter estimator. MOS comes from a simplified ITU-T
G.107 E-model (see ``r_factor``).

scapy is imported only by this module, and only when a capture or a file is read.
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from probes.base import (
    Family,
    MalformedReply,
    ProbeConfigError,
    ProbeParamsError,
    ProbeResult,
    Sample,
    Target,
    validate_params,
)

__all__ = [
    "CODECS",
    "Codec",
    "RtpPacket",
    "RtpParams",
    "RtpProbe",
    "StreamKey",
    "StreamStats",
    "analyze",
    "create",
    "mos_from_r",
    "parse_rtp",
    "r_factor",
    "read_pcap",
]

STREAMS = Family("trunkwatch_rtp_streams", "gauge", "RTP streams seen in the capture window.")
PACKETS = Family("trunkwatch_rtp_packets", "gauge", "RTP packets received in the window.")
LOSS = Family(
    "trunkwatch_rtp_loss_ratio",
    "gauge",
    "Packets lost over packets expected, all streams of the window together (RFC 3550 A.3).",
)
JITTER = Family(
    "trunkwatch_rtp_jitter_seconds",
    "gauge",
    "RFC 3550 interarrival jitter at the end of the window: mean and max over streams.",
)
OUT_OF_ORDER = Family(
    "trunkwatch_rtp_out_of_order_packets",
    "gauge",
    "Packets that arrived after a packet with a higher sequence number, in the window.",
)
MOS = Family(
    "trunkwatch_rtp_mos",
    "gauge",
    "Estimated MOS (ITU-T G.107 E-model, simplified): mean and min over streams.",
)


# -- E-model -------------------------------------------------------------------------------


class Codec(NamedTuple):
    name: str
    clock_rate: int
    ie: float  # equipment impairment factor (ITU-T G.113 Appendix I)
    bpl: float  # packet-loss robustness factor, with packet loss concealment


#: Static payload types (RFC 3551) the centre's trunks use; anything else is treated as G.711.
CODECS: Final[dict[int, Codec]] = {
    0: Codec("PCMU", 8000, 0.0, 25.1),
    8: Codec("PCMA", 8000, 0.0, 25.1),
    4: Codec("G723", 8000, 15.0, 16.1),
    18: Codec("G729", 8000, 11.0, 19.0),
    9: Codec("G722", 8000, 0.0, 25.1),  # wideband: the narrowband model is a floor here
}
DEFAULT_CODEC: Final = Codec("unknown", 8000, 0.0, 25.1)


def r_factor(loss_ratio: float, one_way_delay: float, codec: Codec) -> float:
    """Transmission rating R = 93.2 − Idd − Ie,eff (G.107 with default values otherwise).

    ``Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl + Bpl)`` for random loss (BurstR = 1), Ppl in
    percent; ``Idd`` is G.107's delay impairment, zero up to 100 ms mouth-to-ear. Echo is
    assumed to be controlled (talker echo loudness at its default), so Idte is left out.
    """
    ppl = max(0.0, min(1.0, loss_ratio)) * 100.0
    ie_eff = codec.ie + (95.0 - codec.ie) * ppl / (ppl + codec.bpl)
    ta = one_way_delay * 1000.0
    idd = 0.0
    if ta > 100.0:
        x = math.log(ta / 100.0) / math.log(2.0)
        idd = 25.0 * ((1 + x**6) ** (1 / 6) - 3 * (1 + (x / 3) ** 6) ** (1 / 6) + 2)
    return 93.2 - idd - ie_eff


def mos_from_r(r: float) -> float:
    """G.107 Annex B: MOS = 1 + 0.035R + 7e-6·R(R − 60)(100 − R), 1 for R ≤ 0, 4.5 for R ≥ 100."""
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)


# -- RTP -----------------------------------------------------------------------------------


class RtpPacket(NamedTuple):
    arrival: float  # seconds (capture timestamp)
    src: str
    sport: int
    dst: str
    dport: int
    ssrc: int
    seq: int
    timestamp: int
    payload_type: int


class StreamKey(NamedTuple):
    src: str
    sport: int
    dst: str
    dport: int
    ssrc: int


_RTP_HEADER = struct.Struct("!BBHII")


def parse_rtp(payload: bytes) -> tuple[int, int, int, int] | None:
    """(payload type, sequence, timestamp, SSRC) of an RTP packet, or None if it is not one.

    RTCP shares the version bits; its packet types 200–204 read as marker + PT 72–76 here.
    """
    if len(payload) < 12:
        return None
    first, second, seq, timestamp, ssrc = _RTP_HEADER.unpack_from(payload)
    if first >> 6 != 2:
        return None
    pt = second & 0x7F
    if 72 <= pt <= 76:
        return None
    csrc = (first & 0x0F) * 4
    if len(payload) < 12 + csrc:
        return None
    return pt, seq, timestamp, ssrc


@dataclass(slots=True)
class StreamStats:
    """One RTP stream's counters (RFC 3550 A.1, A.3, A.8)."""

    key: StreamKey
    payload_type: int
    clock_rate: int
    first_arrival: float
    base_seq: int
    max_seq: int  # extended (cycles included)
    received: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    jitter_units: float = 0.0
    _transit: float | None = None
    _seen: set[int] = field(default_factory=set)
    last_arrival: float = 0.0

    @classmethod
    def start(cls, packet: RtpPacket, clock_rate: int) -> StreamStats:
        key = StreamKey(packet.src, packet.sport, packet.dst, packet.dport, packet.ssrc)
        return cls(key, packet.payload_type, clock_rate, packet.arrival, packet.seq, packet.seq)

    def add(self, packet: RtpPacket) -> None:
        highest = self.max_seq
        delta = (packet.seq - highest) & 0xFFFF
        # Extend the 16-bit number to the side of the highest one it is nearest to.
        extended = highest + delta if delta < 0x8000 else highest - (0x10000 - delta)
        if extended in self._seen:
            self.duplicates += 1
            return
        self._seen.add(extended)
        if extended > highest:
            self.max_seq = extended
        elif self.received:
            self.out_of_order += 1  # arrived after a packet with a higher number
        self.base_seq = min(self.base_seq, extended)
        self.received += 1
        self.last_arrival = packet.arrival
        # Interarrival jitter in timestamp units: J += (|D| - J) / 16.
        transit = packet.arrival * self.clock_rate - packet.timestamp
        if self._transit is not None:
            d = abs(transit - self._transit)
            # Timestamps wrap at 2^32: a jump of more than half the space is a wrap.
            if d > 2**31:
                d = abs(d - 2**32)
            self.jitter_units += (d - self.jitter_units) / 16.0
        self._transit = transit

    @property
    def expected(self) -> int:
        return self.max_seq - self.base_seq + 1

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.received)

    @property
    def loss_ratio(self) -> float:
        return self.lost / self.expected if self.expected > 0 else 0.0

    @property
    def jitter_seconds(self) -> float:
        return self.jitter_units / self.clock_rate

    @property
    def codec(self) -> Codec:
        return CODECS.get(self.payload_type, DEFAULT_CODEC)

    def mos(self, one_way_delay: float) -> float:
        # The receiver's jitter buffer adds about twice the jitter to the mouth-to-ear delay.
        delay = one_way_delay + 2 * self.jitter_seconds
        return mos_from_r(r_factor(self.loss_ratio, delay, self.codec))


def analyze(
    packets: Iterable[RtpPacket], *, clock_rate: int | None = None, min_packets: int = 1
) -> list[StreamStats]:
    """Per-stream statistics of ``packets`` (in capture order), streams with few packets out."""
    streams: dict[StreamKey, StreamStats] = {}
    for packet in packets:
        key = StreamKey(packet.src, packet.sport, packet.dst, packet.dport, packet.ssrc)
        stats = streams.get(key)
        if stats is None:
            rate = clock_rate or CODECS.get(packet.payload_type, DEFAULT_CODEC).clock_rate
            stats = streams[key] = StreamStats.start(packet, rate)
        stats.add(packet)
    return [s for s in streams.values() if s.received >= min_packets]


# -- sources (scapy) -----------------------------------------------------------------------


def _rtp_of(packet: Any, ports: tuple[int, int] | None) -> RtpPacket | None:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6

    udp = packet.getlayer(UDP)
    if udp is None:
        return None
    if ports is not None and not (
        ports[0] <= udp.sport <= ports[1] or ports[0] <= udp.dport <= ports[1]
    ):
        return None
    ip = packet.getlayer(IP) or packet.getlayer(IPv6)
    if ip is None:
        return None
    header = parse_rtp(bytes(udp.payload))
    if header is None:
        return None
    pt, seq, timestamp, ssrc = header
    return RtpPacket(
        float(packet.time), str(ip.src), int(udp.sport), str(ip.dst), int(udp.dport),
        ssrc, seq, timestamp, pt,
    )  # fmt: skip


def read_pcap(path: str | Path, ports: tuple[int, int] | None = None) -> Iterator[RtpPacket]:
    """The RTP packets of a pcap or pcapng file, streamed (the file is not loaded whole)."""
    from scapy.error import Scapy_Exception
    from scapy.utils import PcapReader

    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, whatever scapy does
    except OSError as exc:
        raise MalformedReply(f"{path}: cannot open ({exc.strerror})") from exc
    with handle:
        if handle.read(4) not in _CAPTURE_MAGICS:
            raise MalformedReply(f"{path}: not a pcap or pcapng file")
        handle.seek(0)
        try:
            reader = PcapReader(handle)  # type: ignore[arg-type]  # a file object works
            for packet in reader:
                rtp = _rtp_of(packet, ports)
                if rtp is not None:
                    yield rtp
        except (Scapy_Exception, struct.error, EOFError, ValueError) as exc:
            raise MalformedReply(f"{path}: damaged capture ({exc})") from exc


_CAPTURE_MAGICS: Final = {
    bytes.fromhex(m) for m in ("a1b2c3d4", "d4c3b2a1", "a1b23c4d", "4d3cb2a1", "0a0d0d0a")
}


# -- the probe -----------------------------------------------------------------------------


class RtpParams(BaseModel):
    """Capture ``duration`` seconds on ``interface`` (a mirror port) with a BPF ``filter``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interface: str = Field(min_length=1)
    duration: float = Field(10.0, gt=0, le=600)
    filter: str = Field("udp", description="BPF: keep it tight, every packet is dissected")
    ports: tuple[int, int] | None = Field(None, description="UDP port range of the media")
    clock_rate: int | None = Field(None, ge=1000, le=192000)
    one_way_delay: float = Field(0.05, ge=0, le=2, description="assumed network delay, s")
    min_packets: int = Field(10, ge=1)


def summarise(streams: list[StreamStats], one_way_delay: float) -> list[Sample]:
    """The per-trunk samples of one window's streams."""
    samples = [
        Sample(STREAMS, len(streams)),
        Sample(PACKETS, sum(s.received for s in streams)),
    ]
    if not streams:
        return samples  # no call in progress: nothing to grade
    expected = sum(s.expected for s in streams)
    lost = sum(s.lost for s in streams)
    jitters = [s.jitter_seconds for s in streams]
    scores = [s.mos(one_way_delay) for s in streams]
    samples += [
        Sample(LOSS, lost / expected if expected else 0.0),
        Sample(JITTER, sum(jitters) / len(jitters), (("stat", "mean"),)),
        Sample(JITTER, max(jitters), (("stat", "max"),)),
        Sample(OUT_OF_ORDER, sum(s.out_of_order for s in streams)),
        Sample(MOS, sum(scores) / len(scores), (("stat", "mean"),)),
        Sample(MOS, min(scores), (("stat", "min"),)),
    ]
    return samples


class RtpProbe:
    def __init__(self, params: RtpParams, timeout: float) -> None:
        self.params = params
        self.timeout = timeout

    def _capture(self) -> list[RtpPacket]:
        from scapy.error import Scapy_Exception
        from scapy.sendrecv import sniff

        packets: list[RtpPacket] = []

        def keep(packet: Any) -> None:
            rtp = _rtp_of(packet, self.params.ports)
            if rtp is not None:
                packets.append(rtp)

        try:
            sniff(
                iface=self.params.interface,
                filter=self.params.filter,
                prn=keep,
                store=False,
                timeout=self.params.duration,
            )
        except (Scapy_Exception, OSError) as exc:
            raise ProbeConfigError(f"cannot capture on {self.params.interface}: {exc}") from exc
        return packets

    async def run(self, target: Target) -> ProbeResult:
        # The capture blocks for the window; a worker thread keeps the loop free meanwhile.
        packets = await asyncio.to_thread(self._capture)
        streams = analyze(
            packets, clock_rate=self.params.clock_rate, min_packets=self.params.min_packets
        )
        return ProbeResult(summarise(streams, self.params.one_way_delay))


def create(params: Mapping[str, Any], *, timeout: float) -> RtpProbe:
    parsed = validate_params(RtpParams, params)
    if parsed.duration >= timeout:
        raise ProbeParamsError(
            [("duration", f"the capture window must end before the {timeout:g}s timeout")]
        )
    return RtpProbe(parsed, timeout)

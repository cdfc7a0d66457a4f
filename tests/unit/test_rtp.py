"""RTP analysis on captures the tests write with scapy: known loss, jitter and reordering."""

from __future__ import annotations

import argparse
import json
import random
import struct
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Packet, Raw
from scapy.utils import wrpcap

from monitor.cli.rtp import register
from probes.base import MalformedReply, ProbeParamsError
from probes.rtp import (
    CODECS,
    analyze,
    create,
    mos_from_r,
    parse_rtp,
    r_factor,
    read_pcap,
    summarise,
)

#: Explicit addresses: scapy would otherwise look the MACs up, on the real network.
MAC_A, MAC_B = "02:00:00:00:00:01", "02:00:00:00:00:02"
FRAME = 0.020  # 20 ms of G.711 per packet
SAMPLES = 160  # … at 8 kHz


def rtp(seq: int, timestamp: int, ssrc: int, pt: int = 0) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc) + bytes(160)


def packet(
    arrival: float,
    seq: int,
    ssrc: int = 0x1234ABCD,
    *,
    pt: int = 0,
    sport: int = 40000,
    v6: bool = False,
    vlan: bool = False,
    base_ts: int = 1000,
) -> Packet:
    ip = IPv6(src="fd00::1", dst="fd00::2") if v6 else IP(src="10.1.1.1", dst="10.2.2.2")
    link = Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=110) if vlan else Ether(src=MAC_A, dst=MAC_B)
    p = link / ip / UDP(sport=sport, dport=50000) / Raw(rtp(seq, base_ts + seq * SAMPLES, ssrc, pt))
    p.time = arrival
    return p


def expected_jitter(arrivals: list[float], timestamps: list[int], rate: int = 8000) -> float:
    """RFC 3550 A.8 written out independently of the module: seconds."""
    j = 0.0
    for i in range(1, len(arrivals)):
        d = (arrivals[i] - arrivals[i - 1]) * rate - (timestamps[i] - timestamps[i - 1])
        j += (abs(d) - j) / 16
    return j / rate


def test_known_loss_in_a_pcap(tmp_path: Path) -> None:
    dropped = {10, 20, 30, 150}
    pcap = tmp_path / "loss.pcap"
    wrpcap(str(pcap), [packet(i * FRAME, i) for i in range(200) if i not in dropped])
    (stream,) = analyze(read_pcap(pcap))
    assert stream.expected == 200
    assert stream.received == 196
    assert stream.lost == 4
    assert stream.loss_ratio == pytest.approx(0.02)
    assert stream.out_of_order == 0
    assert stream.jitter_seconds == pytest.approx(0.0, abs=1e-9)


def test_known_jitter_matches_rfc3550(tmp_path: Path) -> None:
    rng = random.Random(3)
    delays = [rng.uniform(0, 0.010) for _ in range(300)]
    arrivals = [i * FRAME + d for i, d in enumerate(delays)]
    pcap = tmp_path / "jitter.pcap"
    wrpcap(str(pcap), [packet(t, i) for i, t in enumerate(arrivals)])
    (stream,) = analyze(read_pcap(pcap))
    want = expected_jitter(arrivals, [1000 + i * SAMPLES for i in range(300)])
    # pcap keeps microseconds: at most 1 µs off per arrival.
    assert stream.jitter_seconds == pytest.approx(want, abs=2e-6)
    # Uniform 0–10 ms delay: E|D| = 10/3 ms, which the estimator settles around.
    assert 0.002 < stream.jitter_seconds < 0.005


def test_constant_offset_two_step_jitter() -> None:
    """Delays alternating 0 and 5 ms: |D| is always 5 ms, so J tends to 5 ms."""
    from probes.rtp import RtpPacket

    packets = [
        RtpPacket(i * FRAME + (0.005 if i % 2 else 0), "a", 1, "b", 2, 7, i, i * SAMPLES, 0)
        for i in range(400)
    ]
    (stream,) = analyze(packets)
    assert stream.jitter_seconds == pytest.approx(0.005 * (1 - (15 / 16) ** 399), rel=1e-9)


def test_reordering_is_counted_and_not_lost(tmp_path: Path) -> None:
    order = list(range(100))
    order[40], order[41] = order[41], order[40]
    order[70], order[73] = order[73], order[70]
    pcap = tmp_path / "reorder.pcap"
    wrpcap(str(pcap), [packet(n * FRAME, seq) for n, seq in enumerate(order)])
    (stream,) = analyze(read_pcap(pcap))
    assert stream.lost == 0
    # 40 arrives after 41; 71, 72 and 70 all arrive after 73.
    assert stream.out_of_order == 4
    assert stream.received == 100


def test_duplicates_and_sequence_wrap(tmp_path: Path) -> None:
    seqs = [65530 + i for i in range(12)]  # crosses 65535 → 0
    frames = [packet(n * FRAME, s) for n, s in enumerate(seqs)]
    frames.append(packet(12 * FRAME, seqs[5]))  # a duplicate
    pcap = tmp_path / "wrap.pcap"
    wrpcap(str(pcap), frames)
    (stream,) = analyze(read_pcap(pcap))
    assert stream.expected == 12
    assert stream.lost == 0
    assert stream.duplicates == 1


def test_streams_are_separated_by_ssrc_and_ports_across_ipv6_and_vlan(tmp_path: Path) -> None:
    frames = [packet(i * FRAME, i, ssrc=1) for i in range(50)]
    frames += [packet(i * FRAME, i, ssrc=2, v6=True, pt=8) for i in range(0, 50, 2)]
    frames += [packet(i * FRAME, i, ssrc=3, vlan=True, sport=40002) for i in range(50)]
    frames.sort(key=lambda p: float(p.time))
    pcap = tmp_path / "multi.pcap"
    wrpcap(str(pcap), frames)
    streams = {s.key.ssrc: s for s in analyze(read_pcap(pcap))}
    assert set(streams) == {1, 2, 3}
    assert streams[2].key.src == "fd00::1"
    assert streams[2].codec.name == "PCMA"
    assert streams[2].loss_ratio == pytest.approx(24 / 49)
    assert streams[3].lost == 0


def test_non_rtp_udp_and_rtcp_are_ignored(tmp_path: Path) -> None:
    dns = (
        Ether(src=MAC_A, dst=MAC_B) / IP() / UDP(sport=53, dport=53) / Raw(b"\x12\x34" + bytes(30))
    )
    rtcp = Ether(src=MAC_A, dst=MAC_B) / IP() / UDP() / Raw(bytes([0x80, 200]) + bytes(26))
    assert parse_rtp(bytes(rtcp[Raw])) is None
    pcap = tmp_path / "other.pcap"
    wrpcap(str(pcap), [dns, rtcp])
    assert analyze(read_pcap(pcap)) == []


def test_damaged_file_is_a_malformed_failure(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"this is not a capture file at all")
    with pytest.raises(MalformedReply):
        list(read_pcap(bad))


def test_emodel_reference_values() -> None:
    g711, g729 = CODECS[0], CODECS[18]
    # No impairment: R = 93.2, the G.107 default, MOS 4.41.
    assert r_factor(0, 0.05, g711) == pytest.approx(93.2)
    assert mos_from_r(93.2) == pytest.approx(4.409, abs=1e-3)
    # 5 % random loss on G.711 with PLC: Ie,eff = 95·5/(5+25.1) = 15.78 → R 77.42, MOS 3.92.
    assert r_factor(0.05, 0.05, g711) == pytest.approx(93.2 - 95 * 5 / 30.1)
    assert mos_from_r(r_factor(0.05, 0.05, g711)) == pytest.approx(3.923, abs=1e-3)
    # G.729 without loss: Ie 11 → R 82.2.
    assert r_factor(0, 0, g729) == pytest.approx(82.2)
    # Delay beyond 100 ms costs (G.107 Idd): 200 ms → X = 1 → Idd ≈ 5.6.
    assert 93.2 - r_factor(0, 0.2, g711) == pytest.approx(
        25 * ((2) ** (1 / 6) - 3 * (1 + (1 / 3) ** 6) ** (1 / 6) + 2), rel=1e-9
    )
    assert mos_from_r(-5) == 1.0
    assert mos_from_r(120) == 4.5


def test_trunk_samples_aggregate_streams(tmp_path: Path) -> None:
    frames = [packet(i * FRAME, i, ssrc=1) for i in range(100) if i % 10 != 5]  # 10 % loss
    frames += [packet(i * FRAME, i, ssrc=2, sport=40002) for i in range(100)]
    pcap = tmp_path / "trunk.pcap"
    wrpcap(str(pcap), frames)
    samples = summarise(analyze(read_pcap(pcap)), one_way_delay=0.05)
    values = {(s.family.name, s.labels): s.value for s in samples}
    assert values[("trunkwatch_rtp_streams", ())] == 2
    assert values[("trunkwatch_rtp_loss_ratio", ())] == pytest.approx(10 / 200)
    assert (
        values[("trunkwatch_rtp_mos", (("stat", "min"),))]
        < values[("trunkwatch_rtp_mos", (("stat", "mean"),))]
    )
    empty = {s.family.name: s.value for s in summarise([], 0.05)}
    assert empty == {"trunkwatch_rtp_streams": 0, "trunkwatch_rtp_packets": 0}


def test_probe_parameters_are_checked() -> None:
    with pytest.raises(ProbeParamsError) as caught:
        create({"interface": "eth9", "duration": 20, "bogus": 1}, timeout=10)
    assert {key for key, _ in caught.value.problems} == {"bogus"}
    with pytest.raises(ProbeParamsError, match="duration"):
        create({"interface": "eth9", "duration": 20}, timeout=10)


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", default="monitor.yaml")


def _run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    register(sub, _add_config)
    args = parser.parse_args(list(argv))
    return int(args.func(args))


def test_cli_analyze_prints_every_stream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = [packet(i * FRAME, i, ssrc=0xAA) for i in range(100) if i != 50]
    pcap = tmp_path / "call.pcap"
    wrpcap(str(pcap), frames)
    assert _run_cli("rtp", "analyze", str(pcap), "--json") == 0
    report = json.loads(capsys.readouterr().out)
    (row,) = report["streams"]
    assert row["ssrc"] == "0x000000aa"
    assert row["lost"] == 1
    assert row["codec"] == "PCMU"
    assert _run_cli("rtp", "analyze", str(pcap)) == 0
    table = capsys.readouterr().out
    assert "10.1.1.1:40000" in table and "0x000000aa" in table


def test_cli_analyze_reports_unreadable_and_empty_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"garbage")
    assert _run_cli("rtp", "analyze", str(bad)) == 2
    empty = tmp_path / "empty.pcap"
    wrpcap(
        str(empty), [Ether(src=MAC_A, dst=MAC_B) / IP() / UDP(sport=53, dport=53) / Raw(b"x" * 20)]
    )
    assert _run_cli("rtp", "analyze", str(empty)) == 1
    assert "no RTP streams" in capsys.readouterr().err


@pytest.mark.integration
async def test_probe_grades_live_rtp_captured_on_loopback() -> None:
    """The daemon's path: a capture window on an interface, one trunk's samples out."""
    import asyncio
    import socket

    from probes.base import Target

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        port = receiver.getsockname()[1]
        probe = create(
            {"interface": "lo", "duration": 1.5, "filter": f"udp and dst port {port}"},
            timeout=3,
        )
        capture = asyncio.create_task(probe.run(Target("trunk-110", "127.0.0.1")))
        await asyncio.sleep(0.4)  # the capture thread opens its socket
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for seq in range(60):
                if seq % 20 != 7:  # 3 of 60 lost
                    sender.sendto(rtp(seq, seq * SAMPLES, 0xBEEF), ("127.0.0.1", port))
                await asyncio.sleep(0.01)
        result = await capture
    values = {(s.family.name, s.labels): s.value for s in result.samples}
    assert values[("trunkwatch_rtp_streams", ())] == 1
    assert values[("trunkwatch_rtp_packets", ())] == 57
    assert values[("trunkwatch_rtp_loss_ratio", ())] == pytest.approx(3 / 60)

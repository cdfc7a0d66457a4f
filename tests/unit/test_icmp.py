"""ICMP probe pieces: reply parsing against crafted (scapy) packets, checksums, statistics,
parameter checks, and the shared raw socket's kernel filter on loopback."""

from __future__ import annotations

import asyncio
import random
import socket
import struct

import pytest
from scapy.layers.inet import ICMP, IP, ICMPerror, IPerror
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6TimeExceeded,
    IPerror6,
)
from scapy.utils import checksum

from probes.base import ProbeParamsError, Target
from probes.icmp import (
    EchoEvent,
    _acquire,
    _checksum_sum,
    _release,
    create,
    echo_request_v4,
    parse_dgram,
    parse_raw_v4,
    parse_raw_v6,
    rfc3550_jitter,
)

IDENT = 0x4242


def test_echo_reply_with_our_id_is_matched_by_sequence() -> None:
    reply = bytes(IP(src="10.0.0.9", dst="10.0.0.1") / ICMP(type=0, id=IDENT, seq=77) / (b"x" * 8))
    assert parse_raw_v4(reply, "10.0.0.9", IDENT) == EchoEvent(77, "10.0.0.9")
    assert parse_raw_v4(reply, "10.0.0.9", IDENT + 1) is None


def test_our_own_request_read_back_is_not_a_reply() -> None:
    request = bytes(IP(dst="127.0.0.1") / ICMP(type=8, id=IDENT, seq=1))
    assert parse_raw_v4(request, "127.0.0.1", IDENT) is None


def test_host_unreachable_names_the_target_and_the_router() -> None:
    quoted = IPerror(src="10.0.0.1", dst="10.7.7.7") / ICMPerror(type=8, id=IDENT, seq=5)
    error = bytes(IP(src="10.0.0.254", dst="10.0.0.1") / ICMP(type=3, code=1) / quoted)
    event = parse_raw_v4(error, "10.0.0.254", IDENT)
    assert event == EchoEvent(5, "10.7.7.7", "host unreachable from 10.0.0.254")
    exceeded = bytes(IP(src="10.0.0.254") / ICMP(type=11, code=0) / quoted)
    assert "time exceeded" in parse_raw_v4(exceeded, "10.0.0.254", IDENT).error  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "crafted",
    [
        b"",
        b"\x45",
        bytes(IP(ihl=15) / ICMP(type=0, id=IDENT))[:40],  # header length beyond the data
        bytes(IP(ihl=2) / ICMP(type=0, id=IDENT)),  # header length below the minimum
        bytes(IP() / ICMP(type=3, code=1))[:30],  # error cut before the quoted header
        bytes(IP() / ICMP(type=3) / IPerror(dst="10.7.7.7"))[:50],  # quote without the echo
        bytes(IP() / ICMP(type=3) / IPerror() / ICMPerror(type=0, id=IDENT)),  # quotes a reply
        bytes(IP() / ICMP(type=3) / IPerror() / ICMPerror(type=8, id=IDENT + 1)),  # not our id
        bytes(IP() / ICMP(type=5, code=1) / IPerror() / ICMPerror(type=8, id=IDENT)),  # redirect
    ],
)
def test_hostile_or_foreign_ipv4_packets_are_ignored(crafted: bytes) -> None:
    assert parse_raw_v4(crafted, "10.0.0.254", IDENT) is None


def test_ipv6_reply_and_error() -> None:
    reply = bytes(ICMPv6EchoReply(id=IDENT, seq=9))
    assert parse_raw_v6(reply, "fd00::9", IDENT) == EchoEvent(9, "fd00::9")
    quoted = IPerror6(src="fd00::1", dst="fd00:7::7") / ICMPv6EchoRequest(id=IDENT, seq=3)
    error = bytes(ICMPv6DestUnreach(code=3) / quoted)
    assert parse_raw_v6(error, "fd00::fe", IDENT) == EchoEvent(
        3, "fd00:7::7", "address unreachable from fd00::fe"
    )
    exceeded = bytes(ICMPv6TimeExceeded() / quoted)
    assert parse_raw_v6(exceeded, "fd00::fe", IDENT).error.startswith("time exceeded")  # type: ignore[union-attr]
    assert parse_raw_v6(bytes(ICMPv6EchoRequest(id=IDENT)), "::1", IDENT) is None
    assert parse_raw_v6(error[:50], "fd00::fe", IDENT) is None


def test_ping_socket_replies_match_on_sequence_only() -> None:
    data = bytes(ICMP(type=0, id=999, seq=12))
    assert parse_dgram(data, "10.0.0.9", v6=False) == EchoEvent(12, "10.0.0.9")
    assert parse_dgram(bytes(ICMPv6EchoReply(id=1, seq=4)), "fd00::9", v6=True) == EchoEvent(
        4, "fd00::9"
    )
    assert parse_dgram(b"\x00\x00", "10.0.0.9", v6=False) is None


def test_random_bytes_never_raise() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 120)))
        parse_raw_v4(data, "10.0.0.1", IDENT)
        parse_raw_v6(data, "fd00::1", IDENT)
        parse_dgram(data, "10.0.0.1", v6=False)


@pytest.mark.parametrize("size", [0, 1, 56, 1000])
def test_incremental_checksum_is_valid_for_every_sequence(size: int) -> None:
    payload = bytes(range(256)) * 4
    payload = payload[:size]
    partial = _checksum_sum(struct.pack("!BBHHH", 8, 0, 0, IDENT, 0) + payload)
    for seq in (0, 1, 2, 255, 0x7FFF, 0xFFFE, 0xFFFF):
        packet = echo_request_v4(IDENT, seq, payload, partial)
        assert checksum(packet) == 0, seq
        parsed = ICMP(packet)
        assert (parsed.type, parsed.id, parsed.seq) == (8, IDENT, seq)


def test_rfc3550_jitter_known_sequence() -> None:
    # |D| = 2 ms at every step: J_n = 2 ms · (1 − (15/16)^n).
    rtts = [0.010 + (0.002 if i % 2 else 0.0) for i in range(20)]
    assert rfc3550_jitter(rtts) == pytest.approx(0.002 * (1 - (15 / 16) ** 19))
    assert rfc3550_jitter([0.01]) == 0.0
    assert rfc3550_jitter([0.01, 0.01], start=0.016) == pytest.approx(0.015)


def test_parameters_are_checked_together() -> None:
    with pytest.raises(ProbeParamsError) as caught:
        create({"count": 0, "buckets": [0.1, 0.05], "ttl": 3}, timeout=5)
    assert {key for key, _ in caught.value.problems} == {"count", "buckets", "ttl"}
    with pytest.raises(ProbeParamsError, match="do not fit"):
        create({"count": 50, "spacing": 0.2}, timeout=5)
    create({"count": "5", "spacing": "0.1"}, timeout=5)  # as typed on the command line


async def test_loopback_raw_socket_filter_drops_requests_and_foreign_replies() -> None:
    # Other programs may be using ICMP on loopback meanwhile (pings, port unreachables of
    # UDP sent to closed ports): the filter lets ICMP errors through by design, so the test
    # tells its own packets apart by identifier and sequence number, as ping does.
    shared = _acquire(False, "raw")
    seq = random.randrange(1, 0xFFFF)
    try:
        asyncio.get_running_loop().remove_reader(shared.sock.fileno())
        payload = b"trunkwatch"
        partial = _checksum_sum(struct.pack("!BBHHH", 8, 0, 0, shared.ident, 0) + payload)
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as other:
            # An echo reply with someone else's id, as another pinger on this host would get,
            # sent before our request so that it would be read before our reply.
            foreign = bytes(ICMP(type=0, id=shared.ident ^ 0xFFFF, seq=seq) / payload)
            other.sendto(foreign, ("127.0.0.1", 0))
        shared.sock.sendto(echo_request_v4(shared.ident, seq, payload, partial), ("127.0.0.1", 0))
        seen: list[tuple[int, int, int]] = []  # (type, id, seq) of every packet let through
        for _ in range(200):
            try:
                data = shared.sock.recv(2048)
            except BlockingIOError:
                await asyncio.sleep(0.01)
                continue
            ihl = (data[0] & 0x0F) * 4
            kind = data[ihl]
            ident, number = struct.unpack_from("!HH", data, ihl + 4)
            seen.append((kind, ident, number))
            if (kind, ident, number) == (0, shared.ident, seq):
                break
        assert (0, shared.ident, seq) in seen  # our reply
        # Neither our own request (type 8) nor anyone else's reply came through.
        assert [p for p in seen if p[0] == 8] == []
        assert [p for p in seen if p[0] == 0 and p[1] != shared.ident] == []
        assert {p[0] for p in seen} <= {0, 3, 11}
    finally:
        asyncio.get_running_loop().add_reader(shared.sock.fileno(), shared._on_readable)
        _release(shared, "raw")


async def test_loopback_probe_ipv4_and_ipv6() -> None:
    probe = create({"count": 3, "spacing": 0.01}, timeout=2)
    for host in ("::1", "[::1]", "127.0.0.1", "127.0.0.1"):
        result = await probe.run(Target("lo", host))
        values = {(s.family.name + s.suffix, s.labels): s.value for s in result.samples}
        assert values[("trunkwatch_icmp_loss_ratio", ())] == 0
        assert 0 < values[("trunkwatch_icmp_rtt_seconds", (("stat", "min"),))] < 0.05
    # The histogram accumulates across runs of one target (a Prometheus histogram).
    assert values[("trunkwatch_icmp_rtt_histogram_seconds_count", ())] == 6
    assert values[("trunkwatch_icmp_rtt_histogram_seconds_bucket", (("le", "+Inf"),))] == 6


async def test_unresolvable_name_is_unreachable() -> None:
    from probes.base import Unreachable

    with pytest.raises(Unreachable, match="cannot resolve"):
        await create({"count": 1}, timeout=2).run(Target("x", "no-such-host.invalid"))

"""ICMP echo probe: N echo requests per run, giving loss, RTT min/avg/max, jitter and a histogram.

Every probe on the event loop shares one ICMP socket per address family (a raw socket when the
process may open one, else an unprivileged datagram "ping" socket), read by a callback on the
loop; replies are matched to their request by sequence number and source address.

Cost matters here: one process pings thousands of targets, so an echo is a ``struct`` pack
with an incrementally updated checksum, one ``sendto`` and one ``recvfrom``. Raw IPv4 sockets
get a kernel filter (classic BPF) so that only our echo replies and ICMP errors wake the loop —
on loopback a raw socket would otherwise read back its own requests, and on a busy host every
other program's ICMP traffic.

Outcome of a run: partial loss is a success with ``trunkwatch_icmp_loss_ratio`` above 0; a run
in which no echo was answered fails, with reason ``unreachable`` when an ICMP destination
unreachable (or time exceeded) came back for one of its echoes — a router says the host or
network cannot be reached — and ``timeout`` when nothing came back at all.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import ipaddress
import itertools
import math
import os
import random
import socket
import struct
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from probes.base import (
    Family,
    ProbeConfigError,
    ProbeParamsError,
    ProbeResult,
    ProbeTimeout,
    Sample,
    Target,
    Unreachable,
    validate_params,
)

__all__ = [
    "DEFAULT_BUCKETS",
    "EchoEvent",
    "IcmpParams",
    "IcmpProbe",
    "create",
    "echo_request_v4",
    "parse_dgram",
    "parse_raw_v4",
    "parse_raw_v6",
    "rfc3550_jitter",
]

LOSS_RATIO = Family(
    "trunkwatch_icmp_loss_ratio", "gauge", "Share of the run's echo requests left unanswered."
)
RTT = Family(
    "trunkwatch_icmp_rtt_seconds", "gauge", "Round-trip time of the run's answered echoes."
)
JITTER = Family(
    "trunkwatch_icmp_jitter_seconds",
    "gauge",
    "Interarrival jitter of the echo round trips, RFC 3550 estimator carried across runs.",
)
RTT_HISTOGRAM = Family(
    "trunkwatch_icmp_rtt_histogram_seconds",
    "histogram",
    "Round-trip times of every answered echo since the probe started.",
)
ECHO_REQUESTS = Family(
    "trunkwatch_icmp_echo_requests_total", "counter", "Echo requests sent since the probe started."
)
ECHO_REPLIES = Family(
    "trunkwatch_icmp_echo_replies_total",
    "counter",
    "Echo replies received in time since the probe started.",
)

#: Round-trip buckets (seconds): LAN below a millisecond up to a congested satellite backhaul.
DEFAULT_BUCKETS: Final = (
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1.0,
    2.5,
)

ICMP_ECHO_REPLY, ICMP_DEST_UNREACH, ICMP_ECHO_REQUEST, ICMP_TIME_EXCEEDED = 0, 3, 8, 11
ICMP6_DEST_UNREACH, ICMP6_TIME_EXCEEDED, ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY = 1, 3, 128, 129

# Linux constants the socket module does not name.
SO_ATTACH_FILTER: Final = 26
IP_RECVERR: Final = 11
IPV6_RECVERR: Final = 25
SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6 = 2, 3

#: Margin kept between the end of a run and the scheduler's timeout, so a run with late
#: echoes still returns its samples instead of being cancelled.
_TIMEOUT_MARGIN: Final = 0.9
#: Datagrams read per wake-up before yielding to the loop, so a flood cannot starve others.
_READ_BATCH: Final = 256
_RECV_BUFFER: Final = 1 << 20

_UNREACH_V4 = {
    0: "network unreachable",
    1: "host unreachable",
    2: "protocol unreachable",
    3: "port unreachable",
    9: "network administratively prohibited",
    10: "host administratively prohibited",
    13: "communication administratively prohibited",
}
_UNREACH_V6 = {
    0: "no route to destination",
    1: "communication administratively prohibited",
    3: "address unreachable",
    4: "port unreachable",
}

_HEADER = struct.Struct("!BBHHH")
_ID_SEQ = struct.Struct("!HH")
_EXTENDED_ERR = struct.Struct("=IBBBBII")


class IcmpParams(BaseModel):
    """An ICMP probe's parameters; times in seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(5, ge=1, le=1000, description="echo requests per run")
    spacing: float = Field(0.2, ge=0.001, le=10.0, description="between two requests")
    wait: float = Field(1.0, gt=0.0, le=60.0, description="an echo later than this is lost")
    size: int = Field(56, ge=0, le=1452, description="payload bytes")
    family: Literal["auto", "ipv4", "ipv6"] = "auto"
    socket: Literal["auto", "raw", "dgram"] = "auto"
    buckets: tuple[float, ...] = DEFAULT_BUCKETS

    @field_validator("buckets")
    @classmethod
    def _increasing(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(b <= 0 or not math.isfinite(b) for b in value):
            raise ValueError("buckets must be positive, finite seconds")
        if any(b >= c for b, c in itertools.pairwise(value)):
            raise ValueError("buckets must be strictly increasing")
        return value


# -- parsing replies -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EchoEvent:
    """What one received datagram says about one of our echoes.

    ``address`` is the pinged target the event is about: the reply's source for an echo
    reply, the original destination quoted inside an ICMP error. ``error`` is empty for a
    reply, else what the router said ("host unreachable from 10.0.0.1").
    """

    seq: int
    address: str
    error: str = ""


def _error_text(table: Mapping[int, str], kind: int, code: int, sender: str, v6: bool) -> str:
    if kind == (ICMP6_TIME_EXCEEDED if v6 else ICMP_TIME_EXCEEDED):
        what = "time exceeded in transit"
    else:
        what = table.get(code, f"destination unreachable (code {code})")
    return f"{what} from {sender}"


def parse_raw_v4(data: bytes, source: str, ident: int) -> EchoEvent | None:
    """A datagram read from a raw IPv4 ICMP socket (IP header included), or None if not ours."""
    if len(data) < 20:
        return None
    ihl = (data[0] & 0x0F) * 4
    if ihl < 20 or len(data) < ihl + 8:
        return None
    kind = data[ihl]
    if kind == ICMP_ECHO_REPLY:
        pid, seq = _ID_SEQ.unpack_from(data, ihl + 4)
        return EchoEvent(seq, source) if pid == ident else None
    if kind not in (ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED):
        return None
    # The error quotes our request: its IP header, then at least 8 bytes of the ICMP echo.
    inner = ihl + 8
    if len(data) < inner + 20:
        return None
    inner_ihl = (data[inner] & 0x0F) * 4
    quoted = inner + inner_ihl
    if inner_ihl < 20 or len(data) < quoted + 8 or data[quoted] != ICMP_ECHO_REQUEST:
        return None
    pid, seq = _ID_SEQ.unpack_from(data, quoted + 4)
    if pid != ident:
        return None
    target = socket.inet_ntop(socket.AF_INET, data[inner + 16 : inner + 20])
    return EchoEvent(seq, target, _error_text(_UNREACH_V4, kind, data[ihl + 1], source, False))


def parse_raw_v6(data: bytes, source: str, ident: int) -> EchoEvent | None:
    """A datagram read from a raw ICMPv6 socket (starts at the ICMPv6 header), or None."""
    if len(data) < 8:
        return None
    kind = data[0]
    if kind == ICMP6_ECHO_REPLY:
        pid, seq = _ID_SEQ.unpack_from(data, 4)
        return EchoEvent(seq, source) if pid == ident else None
    if kind not in (ICMP6_DEST_UNREACH, ICMP6_TIME_EXCEEDED):
        return None
    # 8 bytes of ICMPv6 error header, the quoted 40-byte IPv6 header, then our echo request.
    if len(data) < 56 or data[48] != ICMP6_ECHO_REQUEST:
        return None
    pid, seq = _ID_SEQ.unpack_from(data, 52)
    if pid != ident:
        return None
    target = socket.inet_ntop(socket.AF_INET6, data[32:48])
    return EchoEvent(seq, target, _error_text(_UNREACH_V6, kind, data[1], source, True))


def parse_dgram(data: bytes, source: str, v6: bool) -> EchoEvent | None:
    """A datagram read from a ping socket: the kernel already matched the id and stripped IP."""
    if len(data) < 8 or data[0] != (ICMP6_ECHO_REPLY if v6 else ICMP_ECHO_REPLY):
        return None
    return EchoEvent(_ID_SEQ.unpack_from(data, 4)[1], source)


def _sockaddr_host(raw: bytes, v6: bool) -> str:
    """The address in a struct sockaddr_in / sockaddr_in6 (the offender of an ICMP error)."""
    if v6 and len(raw) >= 24:
        return socket.inet_ntop(socket.AF_INET6, raw[8:24])
    if not v6 and len(raw) >= 8:
        return socket.inet_ntop(socket.AF_INET, raw[4:8])
    return "?"


# -- the shared socket ---------------------------------------------------------------------


def _bpf_v4_replies_and_errors(ident: int) -> list[tuple[int, int, int, int]]:
    """Classic BPF for a raw IPv4 ICMP socket: keep our echo replies and ICMP errors."""
    return [
        (0xB1, 0, 0, 0),  # ldxb 4*([0]&0xf)       X = IP header length
        (0x50, 0, 0, 0),  # ldb [x+0]              A = ICMP type
        (0x15, 3, 0, ICMP_ECHO_REPLY),  # jeq echo reply → check id
        (0x15, 4, 0, ICMP_DEST_UNREACH),  # jeq → accept
        (0x15, 3, 0, ICMP_TIME_EXCEEDED),  # jeq → accept
        (0x06, 0, 0, 0),  # ret 0                  drop
        (0x48, 0, 0, 4),  # ldh [x+4]              A = echo id
        (0x15, 0, 1, ident),  # jeq ident → accept, else drop
        (0x06, 0, 0, 0x40000),  # ret: accept the whole packet
        (0x06, 0, 0, 0),
    ]


def _bpf_v6_replies_and_errors(ident: int) -> list[tuple[int, int, int, int]]:
    """Classic BPF for a raw ICMPv6 socket (data starts at the ICMPv6 header)."""
    return [
        (0x30, 0, 0, 0),  # ldb [0]                A = ICMPv6 type
        (0x15, 3, 0, ICMP6_ECHO_REPLY),
        (0x15, 4, 0, ICMP6_DEST_UNREACH),
        (0x15, 3, 0, ICMP6_TIME_EXCEEDED),
        (0x06, 0, 0, 0),
        (0x28, 0, 0, 4),  # ldh [4]                A = echo id
        (0x15, 0, 1, ident),
        (0x06, 0, 0, 0x40000),
        (0x06, 0, 0, 0),
    ]


def _attach_filter(sock: socket.socket, program: Sequence[tuple[int, int, int, int]]) -> None:
    code = b"".join(struct.pack("HBBI", *ins) for ins in program)
    buffer = ctypes.create_string_buffer(code, len(code))
    # struct sock_fprog { unsigned short len; struct sock_filter *filter; } (native layout)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def echo_request_v4(ident: int, seq: int, payload: bytes, partial: int) -> bytes:
    """An ICMPv4 echo request; ``partial`` is ``_checksum_sum`` of it with id set, seq 0.

    Only the sequence number changes between echoes, so the checksum is the cached sum plus
    the sequence, folded: a few integer operations instead of a pass over the packet.
    """
    total = partial + seq
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return _HEADER.pack(ICMP_ECHO_REQUEST, 0, ~total & 0xFFFF, ident, seq) + payload


def _checksum_sum(data: bytes) -> int:
    """One's-complement sum of 16-bit words, not yet folded or inverted."""
    if len(data) % 2:
        data += b"\0"
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


@dataclass(slots=True)
class _Run:
    """One probe run's echoes: send times, round trips and errors, by index."""

    address: str
    sent_ns: list[int]
    rtt_ns: list[int | None]
    errors: list[str]
    done: asyncio.Future[None]
    expected: int = 0
    settled: int = 0
    seqs: list[int] = field(default_factory=list)

    def settle(self) -> None:
        self.settled += 1
        if self.settled >= self.expected and not self.done.done():
            self.done.set_result(None)


@dataclass(slots=True)
class _EchoSocket:
    """The ICMP socket of one address family, shared by every run on one event loop."""

    loop: asyncio.AbstractEventLoop
    sock: socket.socket
    v6: bool
    raw: bool
    ident: int
    pending: dict[int, tuple[_Run, int]] = field(default_factory=dict)
    users: int = 0
    _seq: int = 0
    _templates: dict[int, tuple[bytes, int]] = field(default_factory=dict)

    @classmethod
    def open(
        cls, loop: asyncio.AbstractEventLoop, v6: bool, mode: Literal["auto", "raw", "dgram"]
    ) -> _EchoSocket:
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
        problems: list[str] = []
        sock: socket.socket | None = None
        raw = False
        if mode in ("auto", "raw"):
            try:
                sock, raw = socket.socket(fam, socket.SOCK_RAW, proto), True
            except PermissionError:
                problems.append("raw socket: no CAP_NET_RAW")
        if sock is None and mode in ("auto", "dgram"):
            try:
                sock = socket.socket(fam, socket.SOCK_DGRAM, proto)
            except PermissionError:
                problems.append("ping socket: group not in net.ipv4.ping_group_range")
        if sock is None:
            raise ProbeConfigError("cannot open an ICMP socket (" + "; ".join(problems) + ")")
        # Random rather than the pid: two loops in one process must not share an id.
        ident = (os.getpid() ^ random.getrandbits(16)) & 0xFFFF
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECV_BUFFER)
            if raw:
                program = (_bpf_v6_replies_and_errors if v6 else _bpf_v4_replies_and_errors)(ident)
                _attach_filter(sock, program)
            elif v6:
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        except OSError as exc:
            sock.close()
            raise ProbeConfigError(f"cannot set up the ICMP socket: {exc.strerror}") from exc
        self = cls(loop, sock, v6, raw, ident)
        loop.add_reader(sock.fileno(), self._on_readable)
        return self

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        for run, index in self.pending.values():
            run.errors[index] = run.errors[index] or "socket closed"
        self.pending.clear()

    # -- sending --

    def _template(self, size: int) -> tuple[bytes, int]:
        """Payload and the partial checksum of everything in the request but the sequence."""
        cached = self._templates.get(size)
        if cached is None:
            payload = bytes((0x20 + i % 64) for i in range(size))
            kind = ICMP6_ECHO_REQUEST if self.v6 else ICMP_ECHO_REQUEST
            partial = _checksum_sum(_HEADER.pack(kind, 0, 0, self.ident, 0) + payload)
            cached = self._templates[size] = (payload, partial)
        return cached

    def _next_seq(self) -> int:
        for _ in range(0x10000):
            self._seq = (self._seq + 1) & 0xFFFF
            if self._seq not in self.pending:
                return self._seq
        raise ProbeTimeout("every ICMP sequence number is waiting for a reply")

    def send(self, run: _Run, index: int, sockaddr: tuple[Any, ...], size: int) -> None:
        payload, partial = self._template(size)
        seq = self._next_seq()
        if self.v6 or not self.raw:
            # The kernel checksums ICMPv6 and ping-socket requests itself.
            kind = ICMP6_ECHO_REQUEST if self.v6 else ICMP_ECHO_REQUEST
            packet = _HEADER.pack(kind, 0, 0, self.ident, seq) + payload
        else:
            packet = echo_request_v4(self.ident, seq, payload, partial)
        self.pending[seq] = (run, index)
        run.seqs.append(seq)
        run.sent_ns[index] = time.perf_counter_ns()
        try:
            self.sock.sendto(packet, sockaddr)
        except BlockingIOError:
            del self.pending[seq]
            run.errors[index] = "send buffer full"
            run.settle()
        except OSError as exc:
            # Refused by the local stack: no route, network down, or an address we may not use.
            del self.pending[seq]
            run.errors[index] = exc.strerror or errno.errorcode.get(exc.errno or 0, "send failed")
            run.settle()

    def forget(self, run: _Run) -> None:
        pending = self.pending
        for seq in run.seqs:
            entry = pending.get(seq)
            if entry is not None and entry[0] is run:
                del pending[seq]

    # -- receiving --

    def _on_readable(self) -> None:
        sock = self.sock
        parse = self._parse
        for _ in range(_READ_BATCH):
            try:
                data, address = sock.recvfrom(2048)
            except BlockingIOError:
                break
            except OSError:
                # A ping socket reports an ICMP error as a pending socket error; the error
                # queue, read below, says which echo it was about.
                break
            now = time.perf_counter_ns()
            event = parse(data, address[0])
            if event is not None:
                self._deliver(event, now)
        if not self.raw:
            self._drain_error_queue()

    def _parse(self, data: bytes, source: str) -> EchoEvent | None:
        if not self.raw:
            return parse_dgram(data, source, self.v6)
        if self.v6:
            return parse_raw_v6(data, source, self.ident)
        return parse_raw_v4(data, source, self.ident)

    def _drain_error_queue(self) -> None:
        level, kind = (
            (socket.IPPROTO_IPV6, IPV6_RECVERR) if self.v6 else (socket.IPPROTO_IP, IP_RECVERR)
        )
        for _ in range(_READ_BATCH):
            try:
                data, ancdata, _, address = self.sock.recvmsg(64, 512, socket.MSG_ERRQUEUE)
            except OSError:
                return
            if len(data) < 8:
                continue
            seq = _ID_SEQ.unpack_from(data, 4)[1]
            for cmsg_level, cmsg_type, cdata in ancdata:
                if cmsg_level != level or cmsg_type != kind or len(cdata) < _EXTENDED_ERR.size:
                    continue
                _, origin, icmp_type, code, _, _, _ = _EXTENDED_ERR.unpack_from(cdata)
                if origin not in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
                    continue
                sender = _sockaddr_host(cdata[_EXTENDED_ERR.size :], self.v6)
                table = _UNREACH_V6 if self.v6 else _UNREACH_V4
                text = _error_text(table, icmp_type, code, sender, self.v6)
                self._deliver(EchoEvent(seq, address[0], text), time.perf_counter_ns())

    def _deliver(self, event: EchoEvent, now: int) -> None:
        entry = self.pending.get(event.seq)
        if entry is None:
            return  # late, duplicate, or another socket's echo
        run, index = entry
        if _host(event.address) != run.address:
            return  # same sequence number from a host we did not ping: not an answer
        del self.pending[event.seq]
        if event.error:
            run.errors[index] = event.error
        else:
            run.rtt_ns[index] = now - run.sent_ns[index]
        run.settle()


def _host(address: str) -> str:
    return address.partition("%")[0]


_SOCKETS: dict[tuple[asyncio.AbstractEventLoop, bool, str], _EchoSocket] = {}


def _acquire(v6: bool, mode: Literal["auto", "raw", "dgram"]) -> _EchoSocket:
    loop = asyncio.get_running_loop()
    key = (loop, v6, mode)
    shared = _SOCKETS.get(key)
    if shared is None or shared.sock.fileno() < 0:
        shared = _SOCKETS[key] = _EchoSocket.open(loop, v6, mode)
    shared.users += 1
    return shared


def _release(shared: _EchoSocket, mode: str) -> None:
    shared.users -= 1
    if shared.users <= 0:
        # Idle: close it rather than keep a reader on a loop that may be about to close.
        _SOCKETS.pop((shared.loop, shared.v6, mode), None)
        shared.close()


# -- statistics ----------------------------------------------------------------------------


def rfc3550_jitter(rtts: Sequence[float], start: float = 0.0) -> float:
    """RFC 3550 §6.4.1 interarrival jitter over successive round trips (seconds).

    ``J += (|D| - J) / 16`` where D is the difference between two successive transit times;
    for echoes the round trip stands in for the transit time. ``start`` carries the estimate
    from earlier runs, so that a short run continues the stream instead of restarting at 0.
    """
    jitter = start
    for previous, current in itertools.pairwise(rtts):
        jitter += (abs(current - previous) - jitter) / 16.0
    return jitter


@dataclass(slots=True)
class _History:
    """Per-target state carried across runs: the jitter estimate, the RTT histogram and the
    echo counters."""

    buckets: list[int]
    jitter: float = 0.0
    last_rtt: float | None = None
    total: float = 0.0
    count: int = 0
    requests: int = 0


# -- the probe -----------------------------------------------------------------------------


class IcmpProbe:
    def __init__(self, params: IcmpParams, timeout: float) -> None:
        self.params = params
        self.timeout = timeout
        self._history: dict[str, _History] = {}
        labels = [f"{b:g}" for b in params.buckets]
        self._le = (*labels, "+Inf")

    async def _resolve(self, host: str) -> tuple[str, tuple[Any, ...], bool]:
        text = host.strip("[]")
        want = self.params.family
        try:
            ip = ipaddress.ip_address(text.partition("%")[0])
        except ValueError:
            pass
        else:
            v6 = ip.version == 6
            if (want == "ipv4" and v6) or (want == "ipv6" and not v6):
                raise ProbeConfigError(f"{host} is not an {want} address")
            if not (v6 and "%" in text):
                return str(ip), ((str(ip), 0, 0, 0) if v6 else (str(ip), 0)), v6
        family = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}.get(want, socket.AF_UNSPEC)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                text, None, family=family, type=socket.SOCK_RAW
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise Unreachable(f"cannot resolve {host!r}") from exc
        if not infos:
            raise Unreachable(f"cannot resolve {host!r}")
        fam, _, _, _, sockaddr = infos[0]
        v6 = fam == socket.AF_INET6
        return _host(str(sockaddr[0])), sockaddr, v6

    async def run(self, target: Target) -> ProbeResult:
        address, sockaddr, v6 = await self._resolve(target.host)
        shared = _acquire(v6, self.params.socket)
        try:
            run = await self._ping(shared, address, sockaddr)
        finally:
            _release(shared, self.params.socket)
        return self._summarise(target.host, run)

    async def _ping(self, shared: _EchoSocket, address: str, sockaddr: tuple[Any, ...]) -> _Run:
        p = self.params
        loop = asyncio.get_running_loop()
        run = _Run(
            address=address,
            sent_ns=[0] * p.count,
            rtt_ns=[None] * p.count,
            errors=[""] * p.count,
            done=loop.create_future(),
            expected=p.count,
        )
        started = loop.time()
        deadline = started + self.timeout * _TIMEOUT_MARGIN
        try:
            for index in range(p.count):
                shared.send(run, index, sockaddr, p.size)
                if index + 1 < p.count:
                    # An absolute schedule, so that loop lag does not stretch the run.
                    await asyncio.sleep(max(0.0, started + (index + 1) * p.spacing - loop.time()))
            until = min(deadline, loop.time() + p.wait)
            if not run.done.done():
                try:
                    async with asyncio.timeout_at(until):
                        await asyncio.shield(run.done)
                except TimeoutError:
                    pass  # the echoes still pending are lost
        finally:
            shared.forget(run)
        return run

    def _summarise(self, host: str, run: _Run) -> ProbeResult:
        p = self.params
        limit_ns = int(p.wait * 1e9)
        rtts = [r / 1e9 for r in run.rtt_ns if r is not None and r <= limit_ns]
        history = self._history.get(host)
        if history is None:
            history = self._history[host] = _History(buckets=[0] * (len(p.buckets) + 1))
        history.requests += p.count
        if not rtts:
            # Total loss is a measurement: the loss ratio and the counters stay, only the
            # round-trip figures (nothing came back) are absent.
            kept = [Sample(LOSS_RATIO, 1.0), *self._counters(history)]
            errors = [e for e in run.errors if e]
            if errors:
                raise Unreachable(f"{run.address}: {errors[-1]}", samples=kept)
            raise ProbeTimeout(
                f"{run.address}: no echo reply to {p.count} request(s)", samples=kept
            )
        series = rtts if history.last_rtt is None else [history.last_rtt, *rtts]
        history.jitter = rfc3550_jitter(series, history.jitter)
        history.last_rtt = rtts[-1]
        for rtt in rtts:
            history.buckets[_bucket_index(p.buckets, rtt)] += 1
            history.total += rtt
        history.count += len(rtts)
        samples = [
            Sample(LOSS_RATIO, 1.0 - len(rtts) / p.count),
            Sample(RTT, min(rtts), (("stat", "min"),)),
            Sample(RTT, sum(rtts) / len(rtts), (("stat", "avg"),)),
            Sample(RTT, max(rtts), (("stat", "max"),)),
            Sample(JITTER, history.jitter),
            *self._counters(history),
        ]
        return ProbeResult(samples)

    def _counters(self, history: _History) -> list[Sample]:
        """The echo counters and the RTT histogram: true whether or not this run got replies."""
        samples = [Sample(ECHO_REQUESTS, history.requests), Sample(ECHO_REPLIES, history.count)]
        cumulative = 0
        for le, count in zip(self._le, history.buckets, strict=True):
            cumulative += count
            samples.append(Sample(RTT_HISTOGRAM, cumulative, (("le", le),), "_bucket"))
        samples.append(Sample(RTT_HISTOGRAM, history.total, (), "_sum"))
        samples.append(Sample(RTT_HISTOGRAM, history.count, (), "_count"))
        return samples


def _bucket_index(bounds: Sequence[float], value: float) -> int:
    for i, bound in enumerate(bounds):
        if value <= bound:
            return i
    return len(bounds)


def create(params: Mapping[str, Any], *, timeout: float) -> IcmpProbe:
    parsed = validate_params(IcmpParams, params)
    if (parsed.count - 1) * parsed.spacing >= timeout * _TIMEOUT_MARGIN:
        raise ProbeParamsError(
            [
                (
                    "spacing",
                    f"{parsed.count} echoes {parsed.spacing:g}s apart do not fit in the "
                    f"{timeout:g}s timeout",
                )
            ]
        )
    return IcmpProbe(parsed, timeout)

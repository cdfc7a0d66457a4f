"""A network lab for tests: namespaces, veth links, an echo responder; always torn down.

Everything lives in namespaces the lab creates, named ``tw<tag>-<role>`` with a random tag, so
concurrent test runs never collide and the host's own interfaces and routes are untouched.
A test reaches the lab by moving its own thread into one of the namespaces
(``with lab.inside("client"):``): sockets opened there belong to that namespace for their
whole life. Addresses are 10.x / fd00::/8 inside the lab only; traffic never leaves it.

Delay, jitter and loss are imposed by ``EchoResponder``, which answers ICMP echo requests in
a namespace itself (the kernel's own replies switched off there) after a chosen delay, and
drops every n-th request. The kernels these tests run on are built without ``sch_netem``
(``tc qdisc … netem`` answers "Specified qdisc kind is unknown"), so the lab does not rely
on it; the responder also makes loss exact and the delays reproducible (seeded).

Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2's ``ip``.
"""

from __future__ import annotations

import contextlib
import ctypes
import heapq
import os
import random
import re
import secrets
import select
import shutil
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

__all__ = ["EchoResponder", "NetLab", "netlab", "sweep_stale_labs"]

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@dataclass
class NetLab:
    """Namespaces joined by veth pairs. Create with ``netlab()``, which always cleans up."""

    #: ``<pid>x<random>``: unique, and says which process a leftover lab belonged to.
    tag: str = field(default_factory=lambda: f"{os.getpid():x}x{secrets.token_hex(1)}")
    namespaces: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)

    def ns(self, role: str) -> str:
        """The namespace of ``role``, created on first use."""
        name = self.namespaces.get(role)
        if name is None:
            name = f"tw{self.tag}-{role}"
            _ip("netns", "add", name)
            self.namespaces[role] = name
            self.exec(role, "ip", "link", "set", "lo", "up")
            # No duplicate address detection: link-local addresses usable at once, so the
            # first echoes of a test are not lost to a tentative address.
            for scope in ("all", "default"):
                self.sysctl(role, f"net.ipv6.conf.{scope}.accept_dad", "0")
            # Fast, unthrottled ICMP errors and neighbour failures, so that "host down"
            # answers in a fraction of a second instead of three.
            self.sysctl(role, "net.ipv4.icmp_ratelimit", "0")
            self.sysctl(role, "net.ipv6.icmp.ratelimit", "0")
        return name

    def exec(self, role: str, *argv: str, check: bool = True) -> str:
        done = subprocess.run(
            ["ip", "netns", "exec", self.ns(role), *argv],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} in {role}: {done.stderr.strip()}")
        return done.stdout

    def sysctl(self, role: str, key: str, value: str) -> None:
        self.exec(role, "sysctl", "-q", "-w", f"{key}={value}")

    def link(
        self,
        a: str,
        b: str,
        a_addrs: Sequence[str],
        b_addrs: Sequence[str],
    ) -> tuple[str, str]:
        """A veth pair between roles ``a`` and ``b``, with addresses (CIDR) on each end."""
        index = len(self.links)
        dev_a, dev_b = f"tw{self.tag}{index}a", f"tw{self.tag}{index}b"
        _ip(
            "link",
            "add",
            dev_a,
            "netns",
            self.ns(a),
            "type",
            "veth",
            "peer",
            "name",
            dev_b,
            "netns",
            self.ns(b),
        )
        for role, dev, addrs in ((a, dev_a, a_addrs), (b, dev_b, b_addrs)):
            for addr in addrs:
                self.exec(role, "ip", "addr", "add", addr, "dev", dev)
            self.exec(role, "ip", "link", "set", dev, "up")
        self.links.append((dev_a, dev_b))
        return dev_a, dev_b

    def route(self, role: str, *spec: str) -> None:
        family = ["-6"] if any(":" in part for part in spec) else []
        self.exec(role, "ip", *family, "route", "add", *spec)

    def forwarding(self, role: str) -> None:
        self.sysctl(role, "net.ipv4.ip_forward", "1")
        self.sysctl(role, "net.ipv6.conf.all.forwarding", "1")

    @contextlib.contextmanager
    def responder(
        self,
        role: str,
        *,
        delay: float = 0.0,
        jitter: float = 0.0,
        drop_every: int = 0,
        seed: int = 7,
    ) -> Iterator[EchoResponder]:
        """Answer echo requests in ``role`` from user space, with delay, jitter and loss."""
        self.sysctl(role, "net.ipv4.icmp_echo_ignore_all", "1")
        self.sysctl(role, "net.ipv6.icmp.echo_ignore_all", "1")
        thread = EchoResponder(
            f"/run/netns/{self.ns(role)}", delay, jitter, drop_every, random.Random(seed)
        )
        thread.start()
        try:
            thread.ready.wait(5)
            if thread.failure is not None:
                raise RuntimeError(f"echo responder: {thread.failure}")
            yield thread
        finally:
            thread.stop.set()
            thread.join(5)
            self.sysctl(role, "net.ipv4.icmp_echo_ignore_all", "0")
            self.sysctl(role, "net.ipv6.icmp.echo_ignore_all", "0")

    def spawn(self, role: str, *argv: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(role), *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.processes.append(proc)
        return proc

    @contextlib.contextmanager
    def inside(self, role: str) -> Iterator[None]:
        """Run the calling thread in ``role``'s namespace, and always come back."""
        with (
            open("/proc/thread-self/ns/net", "rb") as home,
            open(f"/run/netns/{self.ns(role)}", "rb") as there,
        ):
            _setns(there.fileno())
            try:
                yield
            finally:
                _setns(home.fileno())

    def close(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            if proc.stderr is not None:
                proc.stderr.close()
        problems = []
        for name in self.namespaces.values():
            # Deleting a namespace deletes the veth ends inside it, and with them their peers.
            done = subprocess.run(
                ["ip", "netns", "delete", name], capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                problems.append(f"{name}: {done.stderr.strip()}")
        self.namespaces.clear()
        if problems:
            raise RuntimeError("network lab not fully removed: " + "; ".join(problems))


class EchoResponder(threading.Thread):
    """Answers ICMP and ICMPv6 echo requests inside a namespace, late and lossy on purpose.

    Request n (counted from 1 per responder) is dropped when ``drop_every`` divides n; the
    others are answered after ``delay ± jitter`` (uniform, from the seeded generator).
    """

    def __init__(
        self, netns_path: str, delay: float, jitter: float, drop_every: int, rng: random.Random
    ) -> None:
        super().__init__(name="echo-responder", daemon=True)
        self.netns_path = netns_path
        self.delay, self.jitter, self.drop_every, self.rng = delay, jitter, drop_every, rng
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.failure: str | None = None
        self.requests = 0
        self.dropped = 0
        self.delays: list[float] = []

    def run(self) -> None:
        try:
            with open(self.netns_path, "rb") as there:
                _setns(there.fileno())  # this thread only: the test thread stays where it is
            v4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            v6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        except OSError as exc:
            self.failure = str(exc)
            self.ready.set()
            return
        self.ready.set()
        due: list[tuple[float, int, socket.socket, bytes, tuple[str, int]]] = []
        order = 0
        with v4, v6:
            while not self.stop.is_set():
                wait = 0.05 if not due else max(0.0, min(0.05, due[0][0] - time.monotonic()))
                readable, _, _ = select.select([v4, v6], [], [], wait)
                for sock in readable:
                    data, addr = sock.recvfrom(4096)
                    reply = _echo_reply(data, sock is v6)
                    if reply is None:
                        continue
                    self.requests += 1
                    if self.drop_every and self.requests % self.drop_every == 0:
                        self.dropped += 1
                        continue
                    late = max(0.0, self.delay + self.rng.uniform(-self.jitter, self.jitter))
                    self.delays.append(late)
                    order += 1
                    heapq.heappush(due, (time.monotonic() + late, order, sock, reply, addr))
                now = time.monotonic()
                while due and due[0][0] <= now:
                    _, _, sock, reply, addr = heapq.heappop(due)
                    sock.sendto(reply, (addr[0], 0))


def _echo_reply(data: bytes, v6: bool) -> bytes | None:
    """The echo reply to an echo request read from a raw socket, or None if it is not one."""
    if v6:
        if len(data) < 8 or data[0] != 128:
            return None
        return bytes([129, 0, 0, 0]) + data[4:]  # the kernel fills in the ICMPv6 checksum
    ihl = (data[0] & 0x0F) * 4
    icmp = data[ihl:]
    if len(icmp) < 8 or icmp[0] != 8:
        return None
    body = bytes([0, 0, 0, 0]) + icmp[4:]
    padded = body + b"\0" * (len(body) % 2)
    total = sum(struct.unpack(f"!{len(padded) // 2}H", padded))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return body[:2] + struct.pack("!H", ~total & 0xFFFF) + body[4:]


_LAB_NAME = re.compile(r"^tw([0-9a-f]+)x[0-9a-f]{2}-\S+")


def sweep_stale_labs() -> list[str]:
    """Delete labs whose test process died without cleaning up (killed, power cut)."""
    listed = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, timeout=10, check=False
    )
    removed = []
    for line in listed.stdout.splitlines():
        match = _LAB_NAME.match(line)
        if match and not os.path.exists(f"/proc/{int(match.group(1), 16)}"):
            name = line.split()[0]
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)
            removed.append(name)
    return removed


def _ip(*argv: str) -> None:
    done = subprocess.run(["ip", *argv], capture_output=True, text=True, timeout=10, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(argv)}: {done.stderr.strip()}")


@contextlib.contextmanager
def netlab() -> Iterator[NetLab]:
    """A fresh lab, deleted on the way out whatever happened inside."""
    missing = [tool for tool in ("ip",) if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"network lab needs {', '.join(missing)} (Debian: iproute2)")
    if os.geteuid() != 0:
        raise RuntimeError("network lab needs root")
    sweep_stale_labs()
    lab = NetLab()
    try:
        yield lab
    finally:
        lab.close()

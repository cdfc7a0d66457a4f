"""The benches' child processes: start one pinned to a CPU in a process group of its own and
always stop it, read its CPU time and memory from /proc, fetch from it over loopback HTTP, and
wait for it to be ready within a bound."""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "REPO",
    "STOP_GRACE_SECONDS",
    "fetch",
    "free_tcp_port",
    "get",
    "pin",
    "proc_cpu",
    "proc_status",
    "process",
    "status_count",
    "stop",
    "timed_fetch",
    "wait_for",
]

REPO = Path(__file__).resolve().parents[1]
#: How long a stopped process gets between SIGTERM and SIGKILL.
STOP_GRACE_SECONDS = 30.0


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid: int, key: str) -> float:
    """A ``kB`` field of /proc/PID/status in MiB (VmHWM, VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def status_count(pid: int, key: str) -> int:
    """A per-thread count of /proc/PID/task/*/status (``nonvoluntary_ctxt_switches`` …) summed
    over the process's live threads (the process's own status has its first thread's only);
    0 once the process is gone. A thread that ends takes its count with it: over a window,
    the difference counts only threads that outlive it (the daemon's and the exporter's do)."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return 0
    total = 0
    for task in tasks:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread that ended
            for line in (task / "status").read_text().splitlines():
                if line.startswith(key + ":"):
                    total += int(line.split()[1])
    return total


def pin(pid: int, cpu: int | None) -> None:
    """Keep a process on one CPU (where there is such a CPU)."""
    if cpu is not None and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(pid, {cpu})


@contextlib.contextmanager
def process(
    argv: list[str], log: Path, cpu: int | None, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` from the repository root, output to ``log``, pinned to ``cpu``, in a
    process group of its own; on leaving, the group gets SIGTERM, then SIGKILL if it has not
    ended within ``STOP_GRACE_SECONDS``."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env, start_new_session=True
        )
    try:
        pin(proc.pid, cpu)
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> float | None:
    """Stop a process ``process`` started as a service manager stops a service: SIGTERM to its
    group, then SIGKILL if it has not ended within ``STOP_GRACE_SECONDS``. Returns the seconds
    from SIGTERM to its exit, None when it had to be killed."""
    started = time.monotonic()
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        return None
    return time.monotonic() - started


def timed_fetch(url: str, timeout: float = 30.0, headers: dict[str, str] | None = None) -> float:
    """Seconds to read the body of a GET (loopback only), as a scraper reads it: by curl, which
    reads and drops hundreds of MB as fast as Prometheus does, where Python's chunked reader
    takes a second per 200 MB itself. Without curl, by ``fetch``."""
    curl = shutil.which("curl")
    if curl is None:
        started = time.perf_counter()
        fetch(url, timeout, headers)
        return time.perf_counter() - started
    argv = [curl, "--silent", "--show-error", "--fail", "--output", "/dev/null",
            "--max-time", f"{timeout:g}"]  # fmt: skip
    for name, value in (headers or {}).items():
        argv += ["--header", f"{name}: {value}"]
    started = time.perf_counter()
    done = subprocess.run([*argv, url], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise OSError(f"curl {url}: {done.stderr.strip() or done.returncode}")
    return elapsed


def fetch(url: str, timeout: float = 30.0, headers: dict[str, str] | None = None) -> bytes:
    """The body of a GET (loopback only)."""
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body: bytes = response.read()
    return body


def get(url: str, timeout: float = 30.0) -> str:
    return fetch(url, timeout).decode()


def fetch_gzip(url: str, timeout: float = 30.0) -> tuple[bytes, bool]:
    """The body of a GET that asks for gzip, as Prometheus does at every scrape, as it came
    over the wire, and whether it is compressed (as the server chose)."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        wire: bytes = response.read()
        return wire, response.headers.get("Content-Encoding") == "gzip"


def text_of(wire: bytes, compressed: bool) -> str:
    """The text of a body ``fetch_gzip`` read."""
    return (gzip.decompress(wire) if compressed else wire).decode()


def wait_for(
    what: str,
    check: Callable[[], bool],
    proc: subprocess.Popen[bytes],
    log: Path,
    limit: float,
    every: float = 0.2,
) -> None:
    """Until ``check()`` is true (an OSError counts as not yet); raises RuntimeError when the
    process exits or ``limit`` seconds pass first."""
    deadline = time.monotonic() + limit
    while True:
        try:
            if check():
                return
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.returncode}; see {log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {limit:.0f} s; see {log}")
        time.sleep(every)


def run_in_namespace(interfaces: int, command: list[str], prefix: str = "twbench") -> int:
    """Run ``command`` inside a new network namespace holding ``lo`` and about ``interfaces``
    more (veth pairs: kernels without the dummy module have them); the namespace is deleted
    afterwards. Needs root and iproute2."""
    name = f"{prefix}{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        batch = "link set lo up\n" + "".join(
            f"link add twa{i} type veth peer name twb{i}\nlink set twa{i} up\n"
            for i in range((interfaces + 1) // 2)
        )
        subprocess.run(["ip", "-n", name, "-batch", "-"], input=batch.encode(), check=True)
        return subprocess.run(["ip", "netns", "exec", name, *command], check=False).returncode
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)

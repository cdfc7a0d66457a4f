"""Serve recorded walks of real devices with snmpsim's command responder on a free loopback port.

``start_snmpsim(recordings)`` is a context manager yielding an ``SnmpsimInstance``: each
``.snmprec`` file answers SNMPv1/v2c under the community named after it (``ups-eaton-93e``),
and ``run_tool`` runs net-snmp's tools against it as the oracle. The responder is always
stopped on exit.

snmpsim refuses to run as root, so as root it runs as ``nobody``. That user cannot read an
interpreter under root's home (a pyenv build, say), so snmpsim lives in a virtualenv of its own
made with the system's ``/usr/bin/python3`` (``$TRUNKWATCH_SNMPSIM_PYTHON`` to choose another),
built once and reused while its pinned requirements are unchanged: under
``$TRUNKWATCH_SNMPSIM_VENV``, by default ``/var/cache/trunkwatch/snmpsim`` as root and
``~/.cache/trunkwatch/snmpsim`` otherwise. ``python -m tests.integration.snmpsim`` builds it
ahead of a test run. The recordings are copied into a world-readable temporary folder.

Anything missing (the interpreter, its ``venv`` module, the package index, net-snmp's tools)
is a failure with an install hint, never a skip.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypedDict

from tests.helpers import await_peer, stop_process
from tests.integration.snmpd import free_udp_port

__all__ = ["SnmpsimError", "SnmpsimInstance", "snmpsim_venv", "start_snmpsim"]

#: What the responder's virtualenv holds. snmpsim imports pysmi without declaring it.
REQUIREMENTS: tuple[str, ...] = ("snmpsim==1.2.2", "pysnmp==7.1.30", "pysmi==2.0.0")
SYSTEM_PYTHON = "/usr/bin/python3"
#: Indexing the recordings happens before the responder answers; ~1 MB takes a few seconds.
START_TIMEOUT_S = 60.0
BUILD_TIMEOUT_S = 600.0


class SnmpsimError(RuntimeError):
    """snmpsim could not be installed, exited at start, or did not answer in time."""


def _default_venv() -> Path:
    if os.geteuid() == 0:
        return Path("/var/cache/trunkwatch/snmpsim")
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "trunkwatch" / "snmpsim"


def _base_python() -> str:
    chosen = os.environ.get("TRUNKWATCH_SNMPSIM_PYTHON")
    if chosen:
        return chosen
    if Path(SYSTEM_PYTHON).is_file():
        return SYSTEM_PYTHON
    if os.geteuid() != 0:
        return sys.executable  # not dropping privileges: any interpreter will do
    raise SnmpsimError(
        f"{SYSTEM_PYTHON} not found: snmpsim runs as nobody from a virtualenv of the system "
        "Python (apt-get install -y python3 python3-venv), or set TRUNKWATCH_SNMPSIM_PYTHON"
    )


def _run(command: Sequence[str], what: str) -> None:
    try:
        proc = subprocess.run(command, capture_output=True, timeout=BUILD_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SnmpsimError(f"{what} failed: {exc}") from exc
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).decode(errors="replace")[-1500:]
        raise SnmpsimError(f"{what} exited {proc.returncode}:\n{output}")


def snmpsim_venv() -> Path:
    """The virtualenv holding snmpsim, built first if it is missing or out of date.

    Built under an exclusive lock (parallel test runs wait for one build) and marked complete
    by a stamp listing its requirements, written last: a half-built one is built again.
    """
    venv = Path(os.environ.get("TRUNKWATCH_SNMPSIM_VENV") or _default_venv())
    stamp = venv / "trunkwatch-requirements.txt"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    responder = venv / "bin" / "snmpsim-command-responder"
    if stamp.is_file() and stamp.read_text() == wanted and responder.is_file():
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and stamp.read_text() == wanted and responder.is_file():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        python = _base_python()
        _run(
            [python, "-m", "venv", str(venv)],
            f"{python} -m venv (Debian: apt-get install -y python3-venv)",
        )
        _run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *REQUIREMENTS,
            ],
            f"pip install {' '.join(REQUIREMENTS)} into {venv}",
        )
        # Readable and runnable by nobody, whatever the umask was.
        for path in (venv.parent, *venv.rglob("*"), venv):
            if not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod(mode | 0o444 | (0o111 if path.is_dir() or mode & 0o100 else 0))
        stamp.write_text(wanted)
        stamp.chmod(0o644)
    return venv


@dataclass(frozen=True)
class SnmpsimInstance:
    """A running responder: where it listens and the communities (recordings) it serves."""

    host: str
    port: int
    communities: tuple[str, ...]
    workdir: Path
    process: subprocess.Popen[bytes] = field(repr=False, compare=False)

    @property
    def address(self) -> str:
        return f"udp:{self.host}:{self.port}"

    def tool_env(self) -> dict[str, str]:
        """Environment for net-snmp tools: no MIB loading, state kept in the work folder."""
        env = dict(os.environ)
        env["MIBS"] = ""
        env["SNMP_PERSISTENT_DIR"] = str(self.workdir / "tools")
        return env

    def run_tool(
        self,
        tool: str,
        community: str,
        *operands: str,
        options: Sequence[str] = ("-On",),
        timeout: float = 60.0,
    ) -> str:
        """Run ``tool -v2c -c COMMUNITY options ADDRESS operands``; stdout, or raise."""
        proc = subprocess.run(
            [tool, "-v2c", "-c", community, *options, self.address, *operands],
            capture_output=True,
            env=self.tool_env(),
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise SnmpsimError(
                f"{tool} exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-500:]}"
            )
        return proc.stdout.decode("ascii", errors="replace")


def _answers(instance: SnmpsimInstance) -> bool:
    proc = subprocess.run(
        [
            "snmpgetnext",
            "-v2c",
            "-c",
            instance.communities[0],
            "-t",
            "0.5",
            "-r",
            "0",
            instance.address,
            "1.3.6",
        ],
        capture_output=True,
        env=instance.tool_env(),
        timeout=10,
        check=False,
    )
    return proc.returncode == 0


class _Identity(TypedDict, total=False):
    user: int
    group: int
    extra_groups: list[int]


def _as_nobody() -> _Identity:
    """Popen arguments that drop root to nobody (snmpsim will not run as root)."""
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam("nobody")
    return {"user": user.pw_uid, "group": grp.getgrgid(user.pw_gid).gr_gid, "extra_groups": []}


@contextlib.contextmanager
def start_snmpsim(recordings: Iterable[Path], host: str = "127.0.0.1") -> Iterator[SnmpsimInstance]:
    """Serve ``recordings`` (``.snmprec`` files, one community each) until the block ends."""
    if shutil.which("snmpgetnext") is None:
        raise SnmpsimError("snmpgetnext not found: install net-snmp's tools (apt-get install snmp)")
    venv = snmpsim_venv()
    workdir = Path(tempfile.mkdtemp(prefix="trunkwatch-snmpsim-"))
    try:
        workdir.chmod(0o755)
        data, cache = workdir / "data", workdir / "cache"
        data.mkdir(mode=0o755)
        cache.mkdir(mode=0o777)
        cache.chmod(0o777)  # written by the responder as nobody
        communities = []
        for recording in recordings:
            copy = data / recording.name
            shutil.copyfile(recording, copy)
            copy.chmod(0o644)
            communities.append(recording.stem)
        if not communities:
            raise SnmpsimError("no recordings to serve")
        yield from _serve(venv, workdir, tuple(communities), host)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _serve(
    venv: Path, workdir: Path, communities: tuple[str, ...], host: str
) -> Iterator[SnmpsimInstance]:
    last_error = "not started"
    # The free port can be taken between our probe and the responder's bind: try a few.
    for _attempt in range(3):
        port = free_udp_port(host)
        log_path = workdir / f"snmpsim-{port}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    str(venv / "bin" / "snmpsim-command-responder"),
                    f"--data-dir={workdir / 'data'}",
                    f"--cache-dir={workdir / 'cache'}",
                    f"--agent-udpv4-endpoint={host}:{port}",
                    "--log-level=error",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=workdir,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir)},
                **_as_nobody(),
            )
        instance = SnmpsimInstance(host, port, communities, workdir, proc)
        try:
            failed = await_peer(
                "snmpsim", proc, partial(_answers, instance), log_path, START_TIMEOUT_S, 0.2
            )
            if failed is not None:
                last_error = failed
                continue
            yield instance
            return
        finally:
            stop_process(proc)
    raise SnmpsimError(f"could not start snmpsim on {host}: {last_error}")


if __name__ == "__main__":
    print(snmpsim_venv())

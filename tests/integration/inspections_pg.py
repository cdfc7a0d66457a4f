"""A throwaway PostgreSQL cluster on a free loopback port, for the inspection store tests.

Debian's server binaries live in /usr/lib/postgresql/VERSION/bin. PostgreSQL refuses to run as
root, so under root the cluster belongs to the ``postgres`` user and is driven with
``subprocess``'s ``user``/``group`` (so the process signalled at the end is the server itself,
not a wrapper). A missing server fails the tests that need it; it never skips them.
``stop_fast`` and ``start_again`` take the same cluster down (``pg_ctl stop -m fast``: SIGINT)
and up again on the same port, for the tests of a restarting database.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import free_tcp_port

_names = itertools.count(1)


def _server_bin() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    pytest.fail(
        "PostgreSQL server binaries (initdb, postgres) not found: install Debian's "
        "`postgresql` package (.ci/run does)"
    )


@dataclass
class PostgresCluster:
    port: int
    root: Path
    process: subprocess.Popen[bytes]
    log: Path
    command: list[str] = field(default_factory=list)
    run_as: dict[str, object] = field(default_factory=dict)
    databases: list[str] = field(default_factory=list)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"tw_{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return self.url(name)

    def stop_fast(self) -> None:
        """Fast shutdown, as ``pg_ctl stop -m fast``: clients are cut off, nothing is lost."""
        self.process.send_signal(signal.SIGINT)
        self.process.wait(30)

    def start_again(self) -> None:
        """Start the stopped server on the same data and port; returns once it answers."""
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                self.command, stdout=out, stderr=subprocess.STDOUT, cwd=self.root,
                **self.run_as,  # type: ignore[call-overload]
            )  # fmt: skip
        _wait_ready(self)


def _wait_ready(cluster: PostgresCluster) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(cluster.url(), connect_timeout=2):
                return
        except psycopg.OperationalError:
            if cluster.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"PostgreSQL did not start: {cluster.log.read_text()[-2000:]}")
            time.sleep(0.1)


@contextlib.contextmanager
def start_postgres() -> Iterator[PostgresCluster]:
    bin_dir = _server_bin()
    as_root = os.geteuid() == 0
    # Under /tmp, not pytest's tmp_path: its parents are private to root and the server runs
    # as postgres.
    root = Path(tempfile.mkdtemp(prefix="tw-pg-"))
    run_as: dict[str, object] = {}
    if as_root:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root needs a `postgres` user to own the test cluster")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
    data = root / "data"
    log = root / "server.log"
    init = subprocess.run(
        [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
         "-E", "UTF8", "--locale=C", "--no-sync"],
        capture_output=True, text=True, check=False, cwd=root, **run_as,  # type: ignore[call-overload]
    )  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed: {init.stderr[-2000:]}")
    port = free_tcp_port()
    command = [str(bin_dir / "postgres"), "-D", str(data), "-k", str(root), "-p", str(port),
               "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=40",
               "-c", "shared_buffers=16MB"]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=root,
            **run_as,  # type: ignore[call-overload]
        )  # fmt: skip
    cluster = PostgresCluster(port, root, process, log, command, run_as)
    try:
        _wait_ready(cluster)
        yield cluster
    finally:
        process = cluster.process
        process.terminate()  # SIGTERM: "smart" shutdown
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with start_postgres() as cluster:
        yield cluster

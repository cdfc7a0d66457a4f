"""How a ``trunkwatch`` process ends: a daemon command run as the program ends its process as
soon as it has stopped, without the interpreter's teardown (``monitor.cli._leave``: freeing the
heap of 10,000 devices object by object took 6 s), its log flushed; any other command returns
through the interpreter's usual exit.

The program is run through a wrapper that registers an ``atexit`` hook printing a line: the
hook runs in the interpreter's teardown, so its line is in the output exactly when the process
went through it. The wrapper also prints a line to stdout without flushing it: redirected to a
file, stdout is block-buffered, so the line is there only if the process flushed it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers import free_tcp_port
from tests.integration.daemons import start_daemon
from tests.integration.simcity import REPO

TEARDOWN = "interpreter teardown ran"
UNFLUSHED = "written to stdout, not flushed"

#: ``trunkwatch`` as its console script runs it: ``main()`` reading ``sys.argv``.
WRAPPER = (
    "import atexit, sys\n"
    f"atexit.register(lambda: print({TEARDOWN!r}, file=sys.stderr, flush=True))\n"
    f"print({UNFLUSHED!r})\n"
    "from monitor.cli import main\n"
    "raise SystemExit(main())\n"
)


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "sites: [{id: hq, name: HQ}]\n"
        "assets:\n"
        f"  - {{id: sw1, site: hq, system: network, kind: switch,"
        f" address: '127.0.0.1:{free_tcp_port()}', probes: [{{module: tcp}}]}}\n",
        encoding="utf-8",
    )
    return config


@contextmanager
def _trunkwatch(*args: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``trunkwatch ARGS…`` through the wrapper, stdout block-buffered."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", WRAPPER, *args],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**env, "PYTHONPATH": str(REPO), "TRUNKWATCH_LOG_LEVEL": "info"},
        )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_a_stopped_daemon_ends_its_process_without_the_teardown(tmp_path: Path) -> None:
    config, log = _config(tmp_path), tmp_path / "run.log"
    with start_daemon(
        config, log, env={"TRUNKWATCH_LOG_LEVEL": "info"}, program=("-c", WRAPPER), unbuffered=False
    ) as (process, _):
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    output = log.read_text()
    assert code == 0, output
    assert "trunkwatch.daemon stopped" in output
    assert UNFLUSHED in output
    assert TEARDOWN not in output


def test_a_daemon_refused_its_configuration_ends_the_same_way(tmp_path: Path) -> None:
    config, log = tmp_path / "monitor.yaml", tmp_path / "run.log"
    config.write_text("defaults: {interval: never}\n", encoding="utf-8")
    with _trunkwatch("run", "-c", str(config), "--listen", "127.0.0.1:0", log=log) as process:
        code = process.wait(60)
    output = log.read_text()
    assert code == 1, output
    assert f"{config}:1: defaults.interval: expected a duration" in output
    assert UNFLUSHED in output
    assert TEARDOWN not in output


def test_other_commands_end_through_the_interpreter(tmp_path: Path) -> None:
    config, log = _config(tmp_path), tmp_path / "check.log"
    with _trunkwatch("check-config", "-c", str(config), log=log) as process:
        code = process.wait(60)
    output = log.read_text()
    assert code == 0, output
    assert TEARDOWN in output
    assert UNFLUSHED in output

"""How a ``trunkwatch`` process ends: a daemon command run as the program ends its process as
soon as it has stopped, without the interpreter's teardown (``monitor.cli._leave``: freeing the
heap of 10,000 devices object by object took 6 s), its log flushed; any other command returns
through the interpreter's usual exit.

The program is run through a wrapper that registers an ``atexit`` hook printing a line: the
hook runs in the interpreter's teardown, so its line is in the output exactly when the process
went through it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.helpers import free_tcp_port, http_get, wait_until
from tests.integration.simcity import REPO

TEARDOWN = "interpreter teardown ran"

#: ``trunkwatch`` as its console script runs it: ``main()`` reading ``sys.argv``.
WRAPPER = (
    "import atexit, sys\n"
    f"atexit.register(lambda: print({TEARDOWN!r}, file=sys.stderr, flush=True))\n"
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


def _trunkwatch(*args: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", WRAPPER, *args],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip


def test_a_stopped_daemon_ends_its_process_without_the_teardown(tmp_path: Path) -> None:
    config, log, port = _config(tmp_path), tmp_path / "run.log", free_tcp_port()
    process = _trunkwatch("run", "-c", str(config), "--listen", f"127.0.0.1:{port}", log=log)
    try:

        def ready() -> bool:
            assert process.poll() is None, log.read_text()
            try:
                return http_get(f"http://127.0.0.1:{port}/-/ready", timeout=1)[0] == 200
            except OSError:
                return False

        wait_until(ready, 30, "trunkwatch run to be ready")
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    output = log.read_text()
    assert code == 0, output
    # The log written up to the end is all there: flushed before the process ended.
    assert output.rstrip().endswith("trunkwatch.daemon stopped"), output[-2000:]
    assert TEARDOWN not in output


def test_other_commands_end_through_the_interpreter(tmp_path: Path) -> None:
    config, log = _config(tmp_path), tmp_path / "check.log"
    process = _trunkwatch("check-config", "-c", str(config), log=log)
    assert process.wait(60) == 0, log.read_text()
    assert TEARDOWN in log.read_text()

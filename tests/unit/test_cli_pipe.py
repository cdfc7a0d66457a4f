"""A command whose reader goes away (``trunkwatch cluster plan | head -1``) stops quietly:
no traceback on stderr, the shell's status for SIGPIPE."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_closed_pipe_ends_the_command_without_a_traceback(tmp_path: Path) -> None:
    sites = "".join(f"  - {{id: s{i}, name: site {i}}}\n" for i in range(3000))
    assets = "".join(
        f"  - {{id: a{i}, site: s{i}, system: network, kind: switch, address: 127.0.0.1}}\n"
        for i in range(3000)
    )
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"sites:\n{sites}assets:\n{assets}cluster:\n  members: [m1, m2]\n", encoding="utf-8"
    )
    command = [sys.executable, "-m", "monitor.cli", "cluster", "plan", "-c", str(config)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert process.stdout is not None
    first = process.stdout.readline()
    process.stdout.close()  # the reader goes away with most of the plan unread
    _, err = process.communicate(timeout=60)
    assert first.startswith(b"m1: ")
    assert b"Traceback" not in err, err.decode()
    assert process.returncode == 141, err.decode()

"""The fixtures' shared start-up wait says why a peer did not come up, and stops it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers import await_peer


def test_a_peer_that_answers_is_waited_for_and_left_running(tmp_path: Path) -> None:
    proc = subprocess.Popen(["sleep", "30"])
    calls = iter([False, False, True])
    try:
        assert await_peer("peer", proc, lambda: next(calls), tmp_path / "log", 5, 0.01) is None
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_a_silent_peer_is_stopped_and_named_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "peer.log"
    log.write_text("bind: address in use\n")
    proc = subprocess.Popen(["sleep", "30"])
    reason = await_peer("peer", proc, lambda: False, log, 0.2, 0.05)
    assert reason is not None
    assert reason.startswith("peer did not answer within 0 s")
    assert "bind: address in use" in reason
    assert proc.poll() is not None


def test_a_peer_that_exits_is_reported_with_its_exit_code(tmp_path: Path) -> None:
    proc = subprocess.Popen(["sh", "-c", "exit 3"])
    proc.wait()
    reason = await_peer("peer", proc, lambda: False, tmp_path / "missing.log", 5, 0.01)
    assert reason == "peer exited with 3; log:\n(no log)"

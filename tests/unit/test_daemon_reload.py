"""The daemon's reload answers with problems whatever goes wrong, and the gauge follows."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.app.daemon import Daemon, Loaded


async def test_an_unexpected_failure_is_a_problem_and_the_gauge_drops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("assets: []\n")
    daemon = Daemon(config, "127.0.0.1:0")
    daemon.reloads.set(1)

    def broken() -> Loaded:
        raise RuntimeError("a bug in a section's builder")

    monkeypatch.setattr(daemon, "_load", broken)
    problems = await daemon.reload()
    assert problems == [f"{config}:1: (reload): internal error (RuntimeError); see the log"]
    assert daemon.registry.get_sample_value("trunkwatch_config_last_reload_successful") == 0


async def test_a_bad_file_is_a_problem_and_the_gauge_drops(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("")
    daemon = Daemon(config, "127.0.0.1:0")
    daemon.reloads.set(1)
    assert await daemon.reload() == [
        f"{config}:1: assets: missing, the file is empty: list the assets to monitor "
        "(write assets: [] for none)"
    ]
    assert daemon.registry.get_sample_value("trunkwatch_config_last_reload_successful") == 0

"""The daemon's reload answers with problems whatever goes wrong, and the gauge follows."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest

from monitor.app.daemon import Daemon, Loaded
from monitor.config.schema import AssetConfig, Config, ConfigModel


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


def _fleet(count: int) -> str:
    lines = ["sites: [{id: hq, name: HQ}]", "assets:"]
    lines += [
        f"  - {{id: a{i}, site: hq, system: network, kind: switch, address: 127.0.0.1}}"
        for i in range(count)
    ]
    return "\n".join(lines) + "\n"


async def test_a_running_daemon_keeps_no_validated_file_and_still_refuses_a_shrink(
    tmp_path: Path,
) -> None:
    # The file's models take some 6 KiB an asset; a running daemon keeps its inventory and
    # the ids of the file's assets, which is all a reload checks against.
    config = tmp_path / "monitor.yaml"
    config.write_text(_fleet(4))
    daemon = Daemon(config, "127.0.0.1:0")
    started = asyncio.Event()
    async with asyncio.timeout(20), asyncio.TaskGroup() as tasks:
        tasks.create_task(daemon.run(started))
        await started.wait()
        gc.unfreeze()  # the daemon froze what it installed, out of ``gc.get_objects()``'s view
        gc.collect()
        kept = [o for o in gc.get_objects() if isinstance(o, Config | ConfigModel | AssetConfig)]
        assert daemon.loaded is not None
        assert daemon.loaded.asset_ids == {"a0", "a1", "a2", "a3"}
        config.write_text(_fleet(1))
        problems = await daemon.reload()
        daemon.stop()
    assert kept == []
    assert problems == [
        f"{config}:2: assets: the reload would drop 3 of the 4 running assets; "
        "set allow_shrink: true in the file to allow that"
    ]

"""The daemon's reload answers with problems whatever goes wrong, and the gauge follows."""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path

import pytest

from monitor.app.daemon import Daemon, Loaded
from monitor.config.schema import ConfigModel
from tests.unit.fleet import switch_fleet


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


async def test_a_running_daemon_keeps_no_validated_file_and_still_refuses_a_shrink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file's models take about 3 KiB an asset; a running daemon keeps its inventory and
    # the ids of the file's assets, which is all a reload checks against. Each model loaded
    # is watched by a weak reference, so what is left must have been freed as it went.
    models: list[weakref.ref[ConfigModel]] = []
    load = Daemon._load

    def watched(self: Daemon) -> Loaded:
        loaded = load(self)
        models.append(weakref.ref(loaded.config.model))
        return loaded

    monkeypatch.setattr(Daemon, "_load", watched)
    config = tmp_path / "monitor.yaml"
    config.write_text(switch_fleet(4))
    daemon = Daemon(config, "127.0.0.1:0")
    started = asyncio.Event()
    alive: dict[str, int] = {}
    async with asyncio.timeout(20), asyncio.TaskGroup() as tasks:
        tasks.create_task(daemon.run(started))
        await started.wait()
        alive["started"] = sum(ref() is not None for ref in models)
        assert daemon.loaded is not None
        assert daemon.loaded.asset_ids == {"a0", "a1", "a2", "a3"}
        config.write_text(switch_fleet(1))
        refused = await daemon.reload()
        config.write_text(switch_fleet(3))
        installed = await daemon.reload()
        # The loop's wake-up of this task still holds the loading thread's future (and what
        # it loaded) until the loop has run once more.
        await asyncio.sleep(0)
        alive["reloaded"] = sum(ref() is not None for ref in models)
        ids = daemon.loaded.asset_ids
        daemon.stop()
    assert (len(models), alive) == (3, {"started": 0, "reloaded": 0})
    assert refused == [
        f"{config}:2: assets: the reload would drop 3 of the 4 running assets; "
        "set allow_shrink: true in the file to allow that"
    ]
    assert installed == []
    assert ids == frozenset({"a0", "a1", "a2"})

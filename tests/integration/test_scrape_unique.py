"""One scrape, each series once: the whole demo city and ``trunkwatch probe`` of every asset.

Prometheus keeps one of two samples that share a name and labels and drops the other without
a word, so a duplicate is a reading lost (or, worse, a reading that flips between two devices'
values). The city runs the shipped monitor.yaml against the simulated fleet, through the real
SNMP, SIP and HTTP paths.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.app.probe_once import probe_asset
from monitor.config import load_config
from monitor.results import Result
from probes.snmp import close_shared_sessions
from tests.integration.simcity import REPO, SimulatedCity

pytestmark = pytest.mark.integration


def repeated_series(text: str) -> list[str]:
    identities = Counter(
        line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")
    )
    return sorted(identity for identity, count in identities.items() if count > 1)


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedCity]:
    with SimulatedCity(tmp_path_factory.mktemp("unique"), interval="2s") as running:
        yield running


def scrape_when_every_probe_ran(city: SimulatedCity, jobs: int) -> str:
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(city.metrics_url, timeout=10) as response:
            text: str = response.read().decode()
        ran = samples(text, "trunkwatch_probe_success")
        if len(ran) == jobs and all(value == 1 for _, value in ran):
            return text
        if time.monotonic() > deadline:
            failing = [labels for labels, value in ran if value != 1]
            raise AssertionError(f"{len(ran)}/{jobs} probes reported, failing: {failing}")
        time.sleep(0.5)


def test_the_whole_demo_scrape_has_each_series_once(city: SimulatedCity) -> None:
    config = load_config(city.config_path)
    jobs = sum(len(asset.probes) for asset in config.model.assets)
    text = scrape_when_every_probe_ran(city, jobs)
    assert repeated_series(text) == []
    assert samples(text, "trunkwatch_exposition_duplicate_series_total") == []
    # Assets polled by two SNMP probes export their agent's identity once, and each probe's
    # own count of varbinds under its probe label.
    two_probes = [
        a.id for a in config.model.assets if sum(p.module == "snmp" for p in a.probes) == 2
    ]
    assert len(two_probes) >= 12
    uptime = Counter(
        labels["asset"] for labels, _ in samples(text, "trunkwatch_snmp_uptime_seconds")
    )
    assert all(uptime[asset] == 1 for asset in two_probes), uptime
    varbinds = Counter(labels["asset"] for labels, _ in samples(text, "trunkwatch_snmp_varbinds"))
    assert all(varbinds[asset] == 2 for asset in two_probes), varbinds


def test_probe_prints_each_series_once_for_every_kind_of_asset(city: SimulatedCity) -> None:
    """``trunkwatch probe ASSET`` for one asset of each probe combination in the shipped
    configuration: every built-in profile the demo uses, and the assets with two SNMP probes."""
    config = load_config(city.config_path)
    chosen: dict[tuple[str, ...], str] = {}
    probes_of = {asset.id: len(asset.probes) for asset in config.model.assets}
    for asset in config.model.assets:
        combination = tuple(f"{p.module}:{p.params.get('profile', '')}" for p in asset.probes)
        chosen.setdefault(combination, asset.id)
    covered = {part.split(":")[1] for combination in chosen for part in combination}
    assert {"trunked_bs", "trunk_gateway", "ds1_mib", "ups_mib", "entity_sensor"} <= covered
    for asset_id in chosen.values():
        done = subprocess.run(
            [sys.executable, "-m", "monitor.cli", "probe", "-c", str(city.config_path), asset_id],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
            check=False,
        )
        assert done.returncode == 0, f"{asset_id}: {done.stdout}{done.stderr}"
        assert repeated_series(done.stdout) == [], asset_id
        assert len(samples(done.stdout, "trunkwatch_probe_success")) == probes_of[asset_id]


def test_probes_on_another_event_loop_leave_the_daemons_sockets_alone(
    city: SimulatedCity,
) -> None:
    """``probe_asset`` on a loop of its own, beside the running daemon: each loop has its own
    SNMP client, so neither closes the sockets the other is using."""
    config = load_config(city.config_path)
    jobs = sum(len(asset.probes) for asset in config.model.assets)
    bs = next(a.id for a in config.model.assets if a.kind == "tetra_bs")

    async def probe_twice() -> list[Result]:
        try:
            return [r for _ in range(2) for r in await probe_asset(str(city.config_path), bs, None)]
        finally:
            await close_shared_sessions()

    results = asyncio.run(probe_twice())
    assert len(results) == 4
    assert [(r.success, r.reason) for r in results] == [(True, None)] * 4
    scrape_when_every_probe_ran(city, jobs)

"""The ``cluster:`` section: its problems, rendezvous ownership, topology parents, the
replica/member labels on every exported series (both exposition paths) and the anti-phase
offsets of replicas; ``trunkwatch cluster plan`` on the shipped monitor.yaml."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.app.daemon import Daemon
from monitor.cli import main
from monitor.cluster import (
    CLUSTER,
    ClusterConfig,
    ClusterHealth,
    apply_role,
    owners,
    plan,
    resolve_role,
)
from monitor.config import Config, load_config
from monitor.core.sources import ConfigError
from monitor.exposition.collector import ResultsCollector
from monitor.exposition.text import Exposition
from monitor.inventory import Inventory, build_inventory
from monitor.results import Result, ResultStore
from probes.base import Family, Sample

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "monitor.yaml"

BASE = """\
sites:
  - {id: hq, name: HQ}
  - {id: north, name: North, backhaul: mw-north, parent: hq}
assets:
  - {id: core-sw, site: hq, system: network, kind: switch, address: 127.0.0.1,
     probes: [{module: icmp}]}
  - {id: mw-north, site: hq, system: network, kind: microwave, address: 127.0.0.2,
     parent: core-sw, probes: [{module: icmp}]}
  - {id: bs-north, site: north, system: radio, kind: tetra_bs, address: 127.0.0.3,
     probes: [{module: icmp}]}
  - {id: ups-north, site: north, system: power, kind: ups, address: 127.0.0.4,
     parent: bs-north, probes: [{module: icmp}]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


# -- the section ----------------------------------------------------------------------------


def test_a_cluster_section_is_read_back_typed(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE + "cluster: {replica: a, replicas: [a, b]}\n"))
    assert CLUSTER.of(config) == ClusterConfig(replica="a", replicas=["a", "b"])


def test_without_a_cluster_section_there_is_no_role(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    assert CLUSTER.of(config) is None
    assert resolve_role(config) is None


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            "cluster:\n  members: [m1, m2, m1]\n",
            "monitor.yaml:14: cluster.members[2]: 'm1' is listed twice",
        ),
        (
            "cluster:\n  members: [m1, m2]\n  replication: 3\n",
            "monitor.yaml:15: cluster.replication: must be between 1 and 2 (the number of members)",
        ),
        ("cluster:\n  members: [m1]\n  replication: 0\n", "monitor.yaml:15: cluster.replication:"),
        ("cluster:\n  replica: 'a b'\n", "monitor.yaml:14: cluster.replica:"),
        (
            "cluster:\n  replica: c\n  replicas: [a, b]\n",
            "monitor.yaml:14: cluster.replica: 'c' is not one of the replicas",
        ),
        (
            "cluster:\n  members: [m1]\n  addresses: {m9: 127.0.0.1:9750}\n",
            "monitor.yaml:15: cluster.addresses.m9: 'm9' is not one of the members",
        ),
        (
            "cluster:\n  members: [m1]\n  addresses: {m1: nowhere}\n",
            "monitor.yaml:15: cluster.addresses.m1: expected HOST:PORT",
        ),
        ("cluster:\n  members: [m1, parents]\n", "'parents' is a reserved name"),
    ],
)
def test_a_bad_cluster_section_is_one_problem_at_its_line(
    tmp_path: Path, section: str, expected: str
) -> None:
    found = problems(write(tmp_path, BASE + section))
    assert len(found) == 1
    assert expected in found[0]


def test_a_member_that_is_not_listed_is_refused_at_the_members_line(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE + "cluster:\n  members: [m1, m2]\n"))
    with pytest.raises(ConfigError) as info:
        resolve_role(config, member="m3")
    assert [str(p) for p in info.value.problems] == [
        f"{config.path}:14: cluster.members: --member 'm3' is not listed"
    ]
    with pytest.raises(ConfigError, match="needs --member"):
        resolve_role(config)


# -- ownership ------------------------------------------------------------------------------

MEMBERS = [f"m{i}" for i in range(1, 6)]
ASSETS = [f"asset-{i:04d}" for i in range(2000)]


def test_owners_are_stable_and_do_not_use_pythons_hash() -> None:
    # Fixed expectations: a salted hash() would give different owners in another process.
    # Pinned values: a salted hash() would give other owners in every process.
    assert owners("asset-0001", MEMBERS, 2) == ("m2", "m3")
    assert owners("bs-binyang", ["m1", "m2", "m3"]) == owners("bs-binyang", ["m3", "m1", "m2"])
    scores = {
        m: int.from_bytes(hashlib.blake2b(f"{m}\0bs-binyang".encode(), digest_size=8).digest())
        for m in MEMBERS
    }
    assert owners("bs-binyang", MEMBERS, 3) == tuple(
        sorted(MEMBERS, key=scores.__getitem__)[::-1][:3]
    )


@pytest.mark.parametrize("replication", [1, 2, 3])
def test_every_asset_is_owned_by_exactly_replication_members(replication: int) -> None:
    counts = dict.fromkeys(MEMBERS, 0)
    for asset in ASSETS:
        chosen = owners(asset, MEMBERS, replication)
        assert len(set(chosen)) == replication
        for member in chosen:
            counts[member] += 1
    share = len(ASSETS) * replication / len(MEMBERS)
    assert all(0.8 * share < count < 1.2 * share for count in counts.values()), counts


def test_a_member_joining_moves_only_its_share() -> None:
    before = {a: owners(a, MEMBERS)[0] for a in ASSETS}
    after = {a: owners(a, [*MEMBERS, "m6"])[0] for a in ASSETS}
    moved = [a for a in ASSETS if before[a] != after[a]]
    assert all(after[a] == "m6" for a in moved)  # nothing moves between the old members
    assert 0.8 * len(ASSETS) / 6 < len(moved) < 1.2 * len(ASSETS) / 6


def test_a_member_leaving_moves_only_what_it_held() -> None:
    before = {a: owners(a, MEMBERS)[0] for a in ASSETS}
    after = {a: owners(a, MEMBERS[:-1])[0] for a in ASSETS}
    moved = {a for a in ASSETS if before[a] != after[a]}
    assert moved == {a for a in ASSETS if before[a] == "m5"}


def _inventory(tmp_path: Path, section: str) -> tuple[Config, Inventory]:
    config = load_config(write(tmp_path, BASE + section))
    return config, build_inventory(config)


def test_a_member_polls_the_topology_parents_of_its_assets(tmp_path: Path) -> None:
    config, inventory = _inventory(tmp_path, "cluster: {members: [m1, m2, m3]}\n")
    section = CLUSTER.of(config)
    assert section is not None
    shares = plan(inventory, section)
    assert sorted(a for ids in shares.owned.values() for a in ids) == sorted(inventory.assets)
    holder = next(m for m, ids in shares.owned.items() if "ups-north" in ids)
    # ups-north hangs off bs-north, whose site is behind mw-north, behind core-sw.
    expected = {"bs-north", "mw-north", "core-sw"} - set(shares.owned[holder])
    assert set(shares.parents[holder]) == expected
    for member, ids in shares.owned.items():
        assert not set(shares.parents[member]) & set(ids)
        role = resolve_role(config, member=member)
        assert role is not None
        polled = {job.asset.id for job in apply_role(inventory, role).jobs}
        assert polled == {*ids, *shares.parents[member]}


# -- labels ---------------------------------------------------------------------------------

VSWR = Family("trunkwatch_bs_vswr_ratio", "gauge", "Voltage standing wave ratio.")


def _samples(text: str) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    return {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_every_series_carries_replica_and_member_in_both_exposition_paths(
    tmp_path: Path,
) -> None:
    config, inventory = _inventory(
        tmp_path, "cluster: {replica: b, replicas: [a, b], members: [m1, m2], replication: 2}\n"
    )
    role = resolve_role(config, member="m2")
    assert role is not None
    mine = apply_role(inventory, role)
    store = ResultStore()
    exposition = Exposition(store)
    exposition.set_inventory(mine)
    for i, job in enumerate(mine.jobs):
        samples = (Sample(VSWR, 1.5, (("carrier", "1"),)),)
        store.put(Result(job, i % 2 == 0, 0.01, 1.7e9, samples=samples, reason="timeout"))
    registry = CollectorRegistry()
    registry.register(ResultsCollector(store, mine))
    fast = _samples(exposition.render())
    reference = _samples(generate_latest(registry).decode())
    assert fast == reference
    assert len(fast) > 4 * len(mine.jobs)
    for name, labels, _ in fast:
        assert ("member", "m2") in labels, name
        assert ("replica", "b") in labels, name


def test_without_a_cluster_no_series_has_a_replica_or_member(tmp_path: Path) -> None:
    _, inventory = _inventory(tmp_path, "")
    store = ResultStore()
    exposition = Exposition(store)
    exposition.set_inventory(inventory)
    for job in inventory.jobs:
        store.put(Result(job, True, 0.01, 1.7e9))
    for _, labels, _ in _samples(exposition.render()):
        assert not {"replica", "member"} & {k for k, _ in labels}


def test_cluster_health_series(tmp_path: Path) -> None:
    config, inventory = _inventory(tmp_path, "cluster: {replica: a, members: [m1, m2, m3]}\n")
    role = resolve_role(config, member="m1")
    assert role is not None
    section = CLUSTER.of(config)
    assert section is not None
    health = ClusterHealth()
    health.install(role, apply_role(inventory, role))
    registry = CollectorRegistry()
    registry.register(health)
    labels = {"replica": "a", "member": "m1"}
    assert registry.get_sample_value("trunkwatch_cluster_members", labels) == 3
    owned = len(plan(inventory, section).owned["m1"])
    assert registry.get_sample_value("trunkwatch_cluster_owned_assets", labels) == owned
    assert registry.get_sample_value("trunkwatch_cluster_info", labels) == 1


# -- anti-phase -----------------------------------------------------------------------------


def test_two_replicas_poll_every_job_half_an_interval_apart(tmp_path: Path) -> None:
    config, inventory = _inventory(tmp_path, "cluster: {replicas: [a, b]}\n")
    offsets = {}
    for replica in ("a", "b"):
        role = resolve_role(config, replica=replica)
        assert role is not None
        offsets[replica] = {job.key: job for job in apply_role(inventory, role).jobs}
    assert offsets["a"].keys() == offsets["b"].keys() == {j.key for j in inventory.jobs}
    for key, a in offsets["a"].items():
        b = offsets["b"][key]
        assert (b.offset - a.offset) % a.interval == pytest.approx(a.interval / 2)
        assert 0 <= a.offset < a.interval and 0 <= b.offset < b.interval


def test_the_daemon_loads_its_share_with_its_labels(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "cluster: {members: [m1, m2]}\n")
    loaded = Daemon(path, "127.0.0.1:0", replica="x", member="m1")._load()
    assert loaded.role is not None
    assert loaded.role.labels == (("replica", "x"), ("member", "m1"))
    assert set(loaded.inventory.assets) == {"core-sw", "mw-north", "bs-north", "ups-north"}
    section = CLUSTER.of(loaded.config)
    assert section is not None
    shares = plan(build_inventory(loaded.config), section)
    assert {j.asset.id for j in loaded.inventory.jobs} == {
        *shares.owned["m1"],
        *shares.parents["m1"],
    }


# -- the command ----------------------------------------------------------------------------


def test_cluster_plan_json_on_the_shipped_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "monitor.yaml"
    shutil.copy(SHIPPED, config)
    with config.open("a", encoding="utf-8") as f:
        f.write("\ncluster:\n  members: [m1, m2, m3]\n  replication: 2\n")
    assert main(["cluster", "plan", "--json", "-c", str(config)]) == 0
    document = json.loads(capsys.readouterr().out)
    parents = document.pop("parents")
    assert set(document) == set(parents) == {"m1", "m2", "m3"}
    ids = [a.id for a in load_config(config).assets]
    for asset in ids:
        holders = [m for m, owned in document.items() if asset in owned]
        assert sorted(holders) == sorted(owners(asset, ["m1", "m2", "m3"], 2))
    inventory = build_inventory(load_config(config))
    for member, owned in document.items():
        needed = {p for a in owned for p in inventory.upstream(a)} - set(owned)
        assert set(parents[member]) == needed
    assert any(parents.values())


def test_cluster_prometheus_config_lists_every_member(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        BASE
        + "cluster:\n  members: [m1, m2]\n"
        + "  addresses: {m1: 127.0.0.1:9751, m2: 127.0.0.1:9752}\n",
    )
    assert main(["cluster", "prometheus-config", "--json", "-c", str(path)]) == 0
    (job,) = json.loads(capsys.readouterr().out)["scrape_configs"]
    assert job["honor_labels"] is True
    assert job["static_configs"] == [
        {"targets": ["127.0.0.1:9751"], "labels": {"member": "m1"}},
        {"targets": ["127.0.0.1:9752"], "labels": {"member": "m2"}},
    ]


def test_cluster_prometheus_config_names_a_member_without_an_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, BASE + "cluster:\n  members: [m1, m2]\n  addresses: {m1: 127.0.0.1:1}\n")
    assert main(["cluster", "prometheus-config", "-c", str(path)]) == 1
    assert capsys.readouterr().err.strip() == f"{path}:15: cluster.addresses: no address for m2"


def test_cluster_prometheus_config_of_sharded_replicas_names_member_and_replica(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    addresses = {
        f"m{m}.{r}": f"127.0.0.1:{9750 + 2 * m + (r == 'b')}" for m in (1, 2) for r in "ab"
    }
    path = write(
        tmp_path,
        BASE
        + "cluster:\n  members: [m1, m2]\n  replicas: [a, b]\n"
        + f"  addresses: {json.dumps(addresses)}\n",
    )
    assert main(["cluster", "prometheus-config", "--json", "-c", str(path)]) == 0
    (job,) = json.loads(capsys.readouterr().out)["scrape_configs"]
    assert job["static_configs"] == [
        {"targets": [addresses[f"{m}.{r}"]], "labels": {"member": m, "replica": r}}
        for m in ("m1", "m2")
        for r in ("a", "b")
    ]
    assert job["relabel_configs"] == [
        {"source_labels": ["member", "replica"], "separator": ".", "target_label": "instance"}
    ]


def test_cluster_addresses_of_sharded_replicas_are_member_dot_replica(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE
        + "cluster:\n  members: [m1]\n  replicas: [a, b]\n"
        + "  addresses: {m1: 127.0.0.1:1, m1.a: 127.0.0.1:2}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [(p.field, p.reason) for p in caught.value.problems] == [
        ("cluster.addresses.m1", "'m1' is not one of the MEMBER.REPLICA processes")
    ]

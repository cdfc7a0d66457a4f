"""The SNMP clients' counters as the daemon exports them: every counter of both clients under
its own name and labels, with its own value; a counter added to a client and not mapped would
fail the scrape, so it fails here first."""

from __future__ import annotations

import dataclasses

from prometheus_client import CollectorRegistry

from monitor.app.daemon import SnmpClientHealth, snmp_client_families
from probes.snmp import SnmpClientStats, SnmpV3ClientStats

PREFIX = "trunkwatch_snmp_client_"


def _expected(field: str) -> tuple[str, dict[str, str]]:
    """The series a counter of a client is documented under (README, "The daemon's own
    health")."""
    if field.startswith("dropped_"):
        return f"{PREFIX}dropped_total", {"reason": field.removeprefix("dropped_")}
    if field.endswith("_errors"):
        return f"{PREFIX}errors_total", {"reason": field.removesuffix("_errors")}
    return f"{PREFIX}{field}_total", {}


def test_every_counter_of_both_clients_is_exported_once_with_its_own_value() -> None:
    # Distinct values, so a counter exported under another's name would be seen.
    v1v2c = SnmpClientStats(
        **{f.name: 100 + i for i, f in enumerate(dataclasses.fields(SnmpClientStats))}
    )
    v3 = SnmpV3ClientStats(
        **{f.name: 1000 + i for i, f in enumerate(dataclasses.fields(SnmpV3ClientStats))}
    )
    exported = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in snmp_client_families({"v3": v3, "v1v2c": v1v2c})
        for s in family.samples
    }
    expected = {}
    for client, stats in (("v1v2c", v1v2c), ("v3", v3)):
        for field in dataclasses.fields(stats):
            name, labels = _expected(field.name)
            key = (name, tuple(sorted({**labels, "client": client}.items())))
            expected[key] = getattr(stats, field.name)
    assert exported == expected
    assert len(expected) == len(dataclasses.fields(SnmpClientStats)) + len(
        dataclasses.fields(SnmpV3ClientStats)
    )


def test_before_any_snmp_poll_the_families_are_there_without_samples() -> None:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(SnmpClientHealth())  # no loop yet: the daemon has not started
    families = {f.name: f.samples for f in registry.collect()}
    assert families[f"{PREFIX}requests"] == []
    assert families[f"{PREFIX}dropped"] == []
    assert sorted(families) == sorted(f.name for f in snmp_client_families({}))

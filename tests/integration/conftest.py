"""Fixtures for tests against real peers: a net-snmp snmpd on a free loopback port.

The helper itself lives in ``tests/integration/snmpd.py`` so tests that need their own agent
configuration can call ``start_snmpd`` directly, e.g. with ``extend`` or ``pass`` lines.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.snmpd import SnmpdInstance, start_snmpd


@pytest.fixture(scope="module")
def snmpd_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpdInstance]:
    """One snmpd shared by a test module (starting one costs ~0.2 s)."""
    with start_snmpd(tmp_path_factory.mktemp("snmpd")) as instance:
        yield instance
